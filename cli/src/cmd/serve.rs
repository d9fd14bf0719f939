//! `prov serve [--data DIR] [--listen ADDR] [--config FILE]`: serves one ledger over HTTP (crate
//! `api`). On a directory that does not exist it creates a ledger and prints its origin, verifier
//! key and the explorer's address; a directory that exists but is not a ledger is refused.
//! Stops gracefully on SIGINT or SIGTERM. Only built with the `server` feature.

use crate::exit::{Exit, OrExit, Outcome};

#[derive(Debug, clap::Args)]
pub struct ServeCmdArgs {
    #[command(flatten)]
    pub serve: api::ServeArgs,
    /// Create a new ledger in --data and seed it, without network, with the demo (SPDX licence
    /// texts, two dataset versions, opt-outs, a compliant and a violating checkpoint; see
    /// api/src/demo.rs) before serving. Refused when --data exists: the demo never touches an
    /// existing ledger (to serve a demo ledger again, leave out --demo).
    #[arg(long)]
    pub demo: bool,
}

pub fn run(args: &ServeCmdArgs) -> Outcome {
    let config = api::Config::load(&args.serve).or_exit(Exit::Invalid, "configuration")?;
    if args.demo {
        let seeded = api::demo::create_for(&config).or_exit(Exit::Local, "prov serve --demo")?;
        println!("{seeded}");
    }
    api::serve_blocking(config).or_exit(Exit::Local, "prov serve")?;
    Ok(Exit::Ok)
}
