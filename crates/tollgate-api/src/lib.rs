//! Wire types of the APIs Tollgate speaks, spelled exactly as their JSON is.
//!
//! This crate owns the shape of every request and response body and the
//! validated newtypes that parse untrusted input at the edge (a value of
//! [`auth::Ttl`] or [`registry_rules::TokenName`] that exists is valid). It does no
//! I/O, so the server and any client can share it.

pub mod account;
pub mod artifacts;
pub mod audit;
pub mod auth;
pub mod error;
pub mod parse;
pub mod registry;
pub mod registry_rules;
pub mod repository;
pub mod strict;
