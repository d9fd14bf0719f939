//! The Provenance Ledger HTTP service (axum on tokio): the write API, the C2SP tlog-tiles read
//! path, the JSON read API under `/v1/`, and the explorer's files.
//!
//! Only this crate knows HTTP. It validates nothing the ledger validates: entries, sets and the
//! cross-entry rules are the ledger's; this crate parses requests, maps the ledger's answers and
//! errors to HTTP (errors in one place, [`problem`]), and enforces what only a network service
//! needs: body limits, timeouts, a rate limit on anonymous opt-outs, metrics.
//!
//! Deliberately not here: signing keys of clients, the CLI (crate `cli` wraps [`serve`]).

pub mod config;
pub mod explorer;
mod health;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod problem;
mod router;
mod serve;
pub mod state;

pub use config::{Config, ConfigError, Limits, ServeArgs};
pub use problem::{ApiError, Problem};
pub use router::router;
pub use serve::{serve, serve_blocking, shutdown_signal, ServeError, Server};
pub use state::AppState;
