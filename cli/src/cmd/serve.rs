//! `prov serve [--data DIR] [--listen ADDR] [--config FILE]`: serves one ledger over HTTP (crate
//! `api`). On a directory that does not exist it creates a ledger and prints its origin, verifier
//! key and the explorer's address; a directory that exists but is not a ledger is refused.
//! Stops gracefully on SIGINT or SIGTERM. Only built with the `server` feature.

use crate::exit::{Exit, OrExit, Outcome};

#[derive(Debug, clap::Args)]
pub struct ServeCmdArgs {
    #[command(flatten)]
    pub serve: api::ServeArgs,
}

pub fn run(args: &ServeCmdArgs) -> Outcome {
    let config = api::Config::load(&args.serve).or_exit(Exit::Invalid, "configuration")?;
    api::serve_blocking(config).or_exit(Exit::Local, "prov serve")?;
    Ok(Exit::Ok)
}
