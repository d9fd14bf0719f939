//! `prov serve [--data DIR] [--listen ADDR] [--config FILE]`: serves one ledger over HTTP (crate
//! `api`). On a directory that does not exist it creates a ledger and says so; either way it
//! prints the origin, the verifier key and the explorer's address (one JSON line with `--json`).
//! A directory that exists but is not a ledger is refused. Stops gracefully on SIGINT or SIGTERM.
//! Only built with the `server` feature.

use serde_json::json;

use crate::exit::{say, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Args)]
pub struct ServeCmdArgs {
    #[command(flatten)]
    pub serve: api::ServeArgs,
    /// Announce the ledger as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ServeCmdArgs) -> Outcome {
    let config = api::Config::load(&args.serve).or_exit(Exit::Invalid, "configuration")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .or_exit(Exit::Local, "starting the runtime")?;
    rt.block_on(async {
        let dir = config.data_dir.display().to_string();
        let server = api::Server::bind(config)
            .await
            .or_exit(Exit::Local, format!("serving {dir}"))?;
        let addr = server.local_addr().or_exit(Exit::Local, "listening")?;
        let l = server.state().ledger();
        let explorer = format!("http://{addr}/");
        if args.json {
            say(json!({
                "created": server.created(),
                "data_dir": dir,
                "origin": l.origin(),
                "verifier_key": l.verifier_key().to_string(),
                "listen": addr.to_string(),
                "explorer": explorer,
            }))?;
        } else {
            let verb = if server.created() {
                "created a new"
            } else {
                "opened the"
            };
            say(format!("{verb} ledger in {dir}"))?;
            say(format!("origin: {}", l.origin()))?;
            say(format!("verifier key: {}", l.verifier_key()))?;
            say(format!("explorer: {explorer}"))?;
        }
        server.run().await.map_err(|e| Failure::new(Exit::Local, e))
    })?;
    Ok(Exit::Ok)
}
