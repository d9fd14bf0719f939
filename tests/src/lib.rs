//! Shared helpers for the integration tests in tests/tests/: a real server on a random loopback
//! port over a real ledger in a temporary directory ([`server`]), and response validation against
//! the committed openapi.yaml ([`spec`]); a real Garage object store on loopback ([`garage`]).

pub mod fixtures;
pub mod garage;
pub mod server;
pub mod spec;
