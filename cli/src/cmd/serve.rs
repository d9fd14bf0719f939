//! `prov serve [--data DIR] [--listen ADDR] [--config FILE]`: serves one ledger over HTTP (crate
//! `api`). On a directory that does not exist it creates a ledger and says so; either way it
//! prints the origin, the verifier key and the explorer's address (one JSON line with `--json`).
//! A directory that exists but is not a ledger is refused. Stops gracefully on SIGINT or SIGTERM.
//! Only built with the `server` feature.

use serde_json::json;

use crate::exit::{say, Exit, Failure, OrExit, Outcome};
use ledger::store::setdevice::RECORD_BYTES;

#[derive(Debug, clap::Args)]
pub struct ServeCmdArgs {
    #[command(flatten)]
    pub serve: api::ServeArgs,
    /// Announce the ledger as one line of JSON.
    #[arg(long)]
    pub json: bool,
    /// Create a new ledger in --data and seed it, without network, with the demo (SPDX licence
    /// texts, two dataset versions, opt-outs, a compliant and a violating checkpoint; see
    /// cli/src/demo.rs) before serving. When --data already exists it is served as it is: the
    /// demo never writes into an existing ledger.
    #[arg(long)]
    pub demo: bool,
}

pub fn run(args: &ServeCmdArgs) -> Outcome {
    // The service's own log (start-up, warnings, shutdown, failed writes) on stderr; stdout
    // keeps the announcement. `RUST_LOG` overrides the level (e.g. `RUST_LOG=debug`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = api::Config::load(&args.serve).or_exit(Exit::Invalid, "configuration")?;
    if config.publish.is_some() {
        publish_options_from_env(&mut config);
    }
    // Before the runtime's and RocksDB's threads exist (only the hasher's idle pool does):
    // `auto` looks for an adapter now, and that look may set `XDG_RUNTIME_DIR` (hasher::auto),
    // which is safe only while no thread runs C code that reads the environment; a server's
    // start-up can afford the ~40 ms, an upload's request thread should not wait for it.
    let device = set_hasher(config.sets.hasher).transpose()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .or_exit(Exit::Local, "starting the runtime")?;
    rt.block_on(async {
        let dir = config.data_dir.display().to_string();
        let server = api::Server::bind(config)
            .await
            .or_exit(Exit::Local, format!("serving {dir}"))?;
        if let Some(device) = device {
            server.set_record_roots(device);
        }
        // Before anything is announced: a SIGTERM from then on shuts down gracefully.
        let shutdown = api::shutdown_signal();
        if args.demo && !server.created() {
            // Running the README's demo command twice must work: the second time the ledger is
            // already there (seeded or not), and the demo never writes into an existing ledger.
            eprintln!(
                "prov: {dir} already exists: serving it as is (--demo seeds only a new ledger)"
            );
        } else if args.demo {
            let seeded = crate::demo::seed_server(&server).await;
            let seeded = seeded.or_exit(Exit::Local, "prov serve --demo")?;
            if !args.json {
                say(seeded)?;
            }
        }
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
        server
            .run_until(shutdown)
            .await
            .map_err(|e| Failure::new(Exit::Local, e))
    })?;
    Ok(Exit::Ok)
}

/// The set ingest's record hashing for `--set-hasher` (`sets.hasher`): `None` for `cpu` (the
/// ledger hashes on the request thread); for `auto` the `auto` backend, its adapter looked for
/// and calibrated now, and only where the calibration measured it faster on a batch of records
/// (never lavapipe: `None` then, as for `cpu`); for `gpu` the GPU backend on any adapter, opened
/// now, so that a missing one fails start-up.
fn set_hasher(
    choice: api::SetHasher,
) -> Option<Result<std::sync::Arc<dyn ledger::store::setdevice::RecordRoots>, Failure>> {
    let backend = match choice {
        api::SetHasher::Cpu => return None,
        api::SetHasher::Auto => {
            let auto = match hasher::auto::AutoHasher::new(None) {
                Ok(a) => a,
                Err(e) => return Some(Err(e).or_exit(Exit::Local, "--set-hasher auto")),
            };
            auto.probe_now();
            // No device, or one the calibration found slower on a batch of records: the ledger
            // hashes on the request thread, without gathering batches only to be declined.
            let batch = (hasher::records::BATCH_RECORDS * RECORD_BYTES) as u64;
            let wins = auto.calibration().is_some_and(|c| c.set_on_device(batch));
            if hasher::backend::ContentHasher::device(&auto).is_none() || !wins {
                return None;
            }
            let records = hasher::records::BackendRecordRoots::new(std::sync::Arc::new(auto));
            return Some(Ok(std::sync::Arc::new(records)));
        }
        api::SetHasher::Gpu => hasher::backend::BackendChoice::Gpu,
    };
    Some(
        hasher::backend::select(backend, None)
            .map(|b| {
                std::sync::Arc::new(hasher::records::BackendRecordRoots::new(b))
                    as std::sync::Arc<dyn ledger::store::setdevice::RecordRoots>
            })
            .or_exit(Exit::Local, format!("--set-hasher {}", backend)),
    )
}

/// The publish target's credentials and endpoint from the environment, as `object_store`'s
/// `from_env` builders read them (`AWS_*`, `GOOGLE_*`, `AZURE_*`, keys lower-cased); the config
/// file's `[publish_options]` win. The environment is read here, at the edge, and nowhere in `api`.
fn publish_options_from_env(config: &mut api::Config) {
    for (k, v) in std::env::vars() {
        if ["AWS_", "GOOGLE_", "AZURE_"]
            .iter()
            .any(|p| k.starts_with(p))
        {
            config
                .publish_options
                .entry(k.to_ascii_lowercase())
                .or_insert(v);
        }
    }
}
