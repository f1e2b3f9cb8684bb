//! Running the service: whether it can work ([`health`]) and what it has
//! done ([`metrics`], with the per-thread request metrics in
//! `request_metrics`).

pub mod health;
pub mod metrics;
mod request_metrics;
pub mod striped;
