//! The Provenance Ledger HTTP service (axum on tokio): the write API, the C2SP tlog-tiles read
//! path, the JSON read API under `/v1/`, and the explorer's files; and, as a separate service
//! with its own router and state, a C2SP tlog-witness for other logs ([`witness`]); and the log's
//! side of witnessing, submitting its checkpoints to its own witnesses ([`witnessing`]).
//!
//! Only this crate knows HTTP. It validates nothing the ledger validates: entries, sets and the
//! cross-entry rules are the ledger's; this crate parses requests, maps the ledger's answers and
//! errors to HTTP (errors in one place, [`problem`]), and enforces what only a network service
//! needs: body limits, timeouts, a rate limit on anonymous opt-outs, metrics.
//!
//! Deliberately not here: clients' signing keys, the CLI (crate `cli` wraps [`serve`]), and the
//! demo seeding of `prov serve --demo` (in `cli`, which builds its manifests by `hasher`'s rule:
//! this crate does not depend on `hasher`). Nor does it read the store's records: every read goes
//! through `ledger::ledger::Ledger`'s typed queries.

pub mod compliance;
pub mod config;
mod content;
mod datasets;
mod entries;
pub mod explorer;
mod extract;
mod health;
mod items;
mod keys;
pub mod limits;
pub mod metrics;
mod models;
pub mod openapi;
mod optouts;
mod page;
mod passages;
pub mod problem;
mod proofs;
pub mod publish;
mod router;
pub mod schemas;
mod serve;
pub mod setdevice;
mod sets;
mod sites;
pub mod state;
#[cfg(test)]
mod tests;
mod tiles;
mod uploads;
pub mod witness;
pub mod witnessing;

pub use config::{Config, ConfigError, Limits, ServeArgs, SetHasher};
pub use problem::{ApiError, Problem};
pub use router::router;
pub use serve::{serve, serve_blocking, shutdown_signal, ServeError, Server};
pub use state::AppState;
pub use witness::{serve_witness, witness_router, Witness};
