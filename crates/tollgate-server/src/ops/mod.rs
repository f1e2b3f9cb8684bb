//! Running the service: whether it can work ([`health`]) and what it has
//! done ([`metrics`]).

pub mod health;
pub mod metrics;
