//! Integration tests: the real service on a random port, a fresh store per
//! test, spoken to over HTTP. One test binary keeps link time low.

mod admin_cli;
mod attacks;
mod audit_trail;
mod auth_api;
mod auth_errors;
mod cli;
mod conformance;
mod console;
mod contracts;
mod defences;
mod durability;
mod gate;
mod hardening;
mod key_rotation;
mod lifecycle;
mod log_hygiene;
mod multi_node;
mod operations;
mod registries;
mod registry_e2e;
mod registry_token;
mod registry_tokens;
mod repositories;
mod restarts;
mod schema_fuzzer;
mod sdk;
mod support;
mod tls;
mod wire_format;
