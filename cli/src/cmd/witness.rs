//! `prov witness serve --key KEY --log VKEY... --state DIR [--listen ADDR]`: a C2SP tlog-witness
//! v1 witness for other logs (the protocol and its checks: `api::witness`; the cosignature
//! format: `verifier::cosignature`). It prints its witness key (a vkey of signature type 0x04)
//! and its address, then cosigns, for each configured log, each checkpoint that the log signed
//! and that a consistency proof shows extends the last one it cosigned.
//!
//! The key file is the usual private key file (`prov keygen --witness --name NAME --out KEY`
//! makes one and prints the witness vkey); `--state` keeps the latest cosigned checkpoint of each
//! log, so a restarted witness goes on from where it was. Only built with the `server` feature.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ledger::cosignature::WitnessSigner;
use ledger::store::keyfile;

use crate::cmd::verify::load_vkey;
use crate::exit::{say, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum WitnessCmd {
    /// Run a tlog-witness v1 witness (`POST /add-checkpoint`) for the logs given by --log.
    Serve(WitnessServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct WitnessServeArgs {
    /// The witness's private key file (`prov keygen --witness`); its name is the witness's name.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// A log to witness: its verifier key (C2SP vkey, whose name is the log's origin), or a file
    /// holding it. Repeat for more logs (or more keys of one log).
    #[arg(long = "log", value_name = "VKEY", required = true)]
    pub logs: Vec<String>,
    /// The directory of the witness's state: the latest cosigned checkpoint of each log (created
    /// if missing). Losing it lets the witness be rolled back or forked once per log.
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Announce the witness as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: &WitnessCmd) -> Outcome {
    match cmd {
        WitnessCmd::Serve(a) => serve(a),
    }
}

fn serve(a: &WitnessServeArgs) -> Outcome {
    let key = keyfile::read_private(&a.key)
        .or_exit(Exit::Local, format!("reading --key {}", a.key.display()))?;
    if let Some(mode) = keyfile::loose_mode(&a.key) {
        crate::exit::warn(format!(
            "{} has mode {mode:o}: other users can read the witness key and cosign in its name",
            a.key.display()
        ));
    }
    let signer = WitnessSigner::new(key.name(), key.signing_key().clone())
        .or_exit(Exit::Invalid, "the witness key's name")?;
    let logs = a
        .logs
        .iter()
        .map(|l| load_vkey(l))
        .collect::<Result<Vec<_>, _>>()?;
    let witness = api::Witness::new(signer, logs, a.state.clone())
        .or_exit(Exit::Local, format!("--state {}", a.state.display()))?;
    let witness = Arc::new(witness);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .or_exit(Exit::Local, "starting the runtime")?;
    rt.block_on(async {
        let shutdown = api::shutdown_signal();
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .or_exit(Exit::Local, format!("listening on {}", a.listen))?;
        let addr = listener.local_addr().or_exit(Exit::Local, "listening")?;
        let vkey = witness.signer().witness_key().to_string();
        if a.json {
            say(serde_json::json!({"witness_key": vkey, "listen": addr.to_string()}))?;
        } else {
            say(format!("witness key: {vkey}"))?;
            say(format!("listening: http://{addr}/"))?;
        }
        api::serve_witness(listener, witness, shutdown)
            .await
            .map_err(|e| Failure::new(Exit::Local, e))
    })?;
    Ok(Exit::Ok)
}
