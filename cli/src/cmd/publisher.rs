//! `prov publisher register --key KEY --name NAME`: binds a publisher name to the key (a signed
//! `publisher` entry; first come, first served). Also the helpers every signing command shares:
//! entry time and nonce, submission, and the receipt's output.

use std::path::PathBuf;

use ledger::entry::{Entry, EntryBody, Name, Publisher};
use serde_json::json;

use crate::client::{Client, Receipt, DEFAULT_SERVER};
use crate::cmd::keygen::{read_key, KeyFile};
use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum PublisherCmd {
    /// Register a publisher name, bound to a key.
    Register(RegisterArgs),
}

#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    /// The private key file (from `prov keygen`).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The publisher name [default: the key file's name].
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub remote: Remote,
}

/// Flags of every command that talks to a server.
#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// The ledger's URL.
    #[arg(long, value_name = "URL", default_value = DEFAULT_SERVER, env = "PROV_SERVER")]
    pub server: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl Remote {
    pub fn client(&self) -> Result<Client, Failure> {
        Client::new(&self.server)
    }
}

pub fn run(cmd: &PublisherCmd) -> Outcome {
    match cmd {
        PublisherCmd::Register(a) => register(a),
    }
}

fn register(args: &RegisterArgs) -> Outcome {
    let kf = read_key(&args.key)?;
    let name = name_arg("--name", args.name.as_deref().unwrap_or(&kf.name))?;
    let body = EntryBody::Publisher(Publisher {
        name: name.clone(),
        key: kf.key.verifying_key(),
    });
    let client = args.remote.client()?;
    let entry = sign(&origin(&client)?, body, &kf)?;
    let receipt: Receipt = client.post_json("/v1/publishers", entry.as_bytes())?;
    if args.remote.json {
        say_json(&json!({
            "publisher": name.as_str(),
            "public_key": kf.public_b64(),
            "receipt": receipt,
        }))?;
    } else {
        say(format!(
            "registered publisher {name} (key {}) at index {}",
            kf.public_b64(),
            receipt.index
        ))?;
    }
    Ok(Exit::Ok)
}

/// The publisher name to sign as: `explicit` (from `--publisher` or a `PUBLISHER/` prefix) when
/// given, else the name the ledger has bound to the key (`GET /v1/keys/{key}`). The key file's
/// own name is only a suggestion made at `keygen`; the ledger's binding is what the sequencer
/// checks. A key that holds no name is refused here (exit 4) with the command that registers
/// one; a key that holds several picks the key file's name if it is one of them, else asks for
/// `--publisher` (exit 2).
pub fn publisher_name(
    client: &Client,
    kf: &KeyFile,
    key_path: &std::path::Path,
    explicit: Option<&str>,
) -> Result<Name, Failure> {
    if let Some(p) = explicit {
        return name_arg("--publisher", p);
    }
    let names = client.names_of_key(&kf.key.verifying_key())?;
    let chosen = match names.as_slice() {
        [] => {
            return Err(Failure::msg(
                Exit::Refused,
                format!(
                    "the key in {} ({}) holds no publisher name on {}: register one first with\n  \
                     prov publisher register --key {} --name NAME",
                    key_path.display(),
                    kf.public_b64(),
                    client.base(),
                    key_path.display()
                ),
            ))
        }
        [one] => one.publisher.clone(),
        many => match many.iter().find(|n| n.publisher == kf.name) {
            Some(n) => n.publisher.clone(),
            None => {
                let all: Vec<&str> = many.iter().map(|n| n.publisher.as_str()).collect();
                return Err(Failure::msg(
                    Exit::Invalid,
                    format!(
                        "the key in {} holds several publisher names ({}): pass --publisher NAME",
                        key_path.display(),
                        all.join(", ")
                    ),
                ));
            }
        },
    };
    name_arg("the key's publisher name", &chosen)
}

/// A publisher, dataset, version, model or checkpoint name, checked.
pub fn name_arg(flag: &str, s: &str) -> Result<Name, Failure> {
    Name::new(s).map_err(|n| {
        Failure::msg(
            Exit::Invalid,
            format!(
                "{flag} {n:?}: a name is 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit"
            ),
        )
    })
}

/// Signs `body` with the key for the log named `log` (see [`origin`]), stamped now and with a
/// random nonce, so that two submissions of the same statement are two entries, never a replay.
pub fn sign(log: &str, body: EntryBody, kf: &KeyFile) -> Result<Entry, Failure> {
    let (time, nonce) = stamp();
    Entry::sign(log, body, time, Some(nonce), &kf.key).or_exit(Exit::Invalid, "signing the entry")
}

/// The server's log origin, which every new entry names (and a signature covers): the first line
/// of its checkpoint.
pub fn origin(client: &Client) -> Result<String, Failure> {
    let note = client.get_text("/checkpoint")?;
    match note.split_once('\n') {
        Some((origin, _)) if !origin.is_empty() => Ok(origin.to_string()),
        _ => Err(Failure::msg(
            Exit::Server,
            "GET /checkpoint: not a checkpoint (no origin line)",
        )),
    }
}

/// The current unix time and a random nonce below 2^53 (entries carry integers up to 2^53 - 1).
pub fn stamp() -> (u64, u64) {
    use rand::Rng as _;
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let nonce = rand::rngs::OsRng.gen_range(0..=ledger::entry::MAX_SAFE_INTEGER);
    (time, nonce)
}

/// Submits an entry (`POST /v1/entries`).
pub fn submit(client: &Client, entry: &Entry) -> Result<Receipt, Failure> {
    client.post_json("/v1/entries", entry.as_bytes())
}
