//! Shared helpers for the integration tests in tests/tests/: a real server on a random loopback
//! port over a real ledger in a temporary directory ([`server`]), and response validation against
//! the committed openapi.yaml ([`spec`]).

pub mod fixtures;
pub mod server;
pub mod spec;
