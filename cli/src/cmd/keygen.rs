//! `prov keygen --out KEY [--name NAME]`: a new Ed25519 signing key for a publisher or a
//! rights holder, written to a new file with mode 0600; prints the public key.
//!
//! The file is one line in the signed-note private key format (Go's
//! `golang.org/x/mod/sumdb/note`, the same as a ledger's own `ledger.key`):
//!
//! ```text
//! PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 || 32-byte Ed25519 seed)>
//! ```
//!
//! The name is the default name `publisher register` binds to the key. `publish` and `attest`
//! do not trust it: they ask the ledger which name the key holds (`GET /v1/keys/{key}`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ledger::entry::Name;
use ledger::NoteSigner;
use serde_json::json;

use crate::exit::{say, say_json, Exit, Failure, OrExit, Outcome};

const PREFIX: &str = "PRIVATE+KEY+";

/// The name written into a key file when `--name` is not given.
pub const DEFAULT_NAME: &str = "publisher";

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key (a new file; an existing one is never overwritten).
    #[arg(long, value_name = "KEY")]
    pub out: PathBuf,
    /// The key's name: the publisher name the key is meant for (a-z, 0-9, '.', '_', '-').
    #[arg(long, default_value = DEFAULT_NAME)]
    pub name: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A signing key read from a key file, with the name it was made for.
pub struct KeyFile {
    pub name: String,
    pub key: SigningKey,
}

impl KeyFile {
    /// The public key as entries write it: standard base64 of the 32 bytes.
    pub fn public_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.verifying_key().as_bytes())
    }
}

pub fn run(args: &KeygenArgs) -> Outcome {
    Name::new(args.name.clone()).map_err(|n| {
        Failure::msg(
            Exit::Invalid,
            format!("--name {n:?}: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit"),
        )
    })?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    write_key(&args.out, &args.name, &key)?;
    let kf = KeyFile {
        name: args.name.clone(),
        key,
    };
    let public = kf.public_b64();
    if args.json {
        say_json(&json!({
            "key_file": args.out.display().to_string(),
            "name": kf.name,
            "public_key": public,
            "public_key_hex": hex::encode(kf.key.verifying_key().as_bytes()),
        }))?;
    } else {
        say(format!("wrote {} (mode 0600)", args.out.display()))?;
        say(format!("public key: {public}"))?;
    }
    Ok(Exit::Ok)
}

/// Writes `key` to a new file at `path`, mode 0600, made durable.
pub fn write_key(path: &Path, name: &str, key: &SigningKey) -> Result<(), Failure> {
    let signer = NoteSigner::new(name, key.clone()).or_exit(Exit::Invalid, "key name")?;
    let mut payload = vec![0x01u8];
    payload.extend_from_slice(&key.to_bytes());
    let line = format!(
        "{PREFIX}{name}+{:08x}+{}\n",
        signer.key_id(),
        base64::engine::general_purpose::STANDARD.encode(&payload)
    );
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let shown = path.display();
    let mut f = opts
        .open(path)
        .or_exit(Exit::Local, format!("creating {shown}"))?;
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_all())
        .or_exit(Exit::Local, format!("writing {shown}"))?;
    Ok(())
}

/// Reads a key file written by [`write_key`] (or by Go's `note.GenerateKey`).
pub fn read_key(path: &Path) -> Result<KeyFile, Failure> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).or_exit(Exit::Local, format!("reading key file {shown}"))?;
    parse_key(&text)
        .ok_or_else(|| Failure::msg(Exit::Local, format!("key file {shown} is malformed")))
}

fn parse_key(text: &str) -> Option<KeyFile> {
    let line = text.trim_end_matches(['\n', '\r']);
    let rest = line.strip_prefix(PREFIX)?;
    // A name cannot contain '+'; base64 can, so split from the left.
    let (name, rest) = rest.split_once('+')?;
    let (id, b64) = rest.split_once('+')?;
    let payload = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let (&alg, seed) = payload.split_first()?;
    let seed: [u8; 32] = seed.try_into().ok()?;
    if alg != 0x01 {
        return None;
    }
    let key = SigningKey::from_bytes(&seed);
    let signer = NoteSigner::new(name, key.clone()).ok()?;
    (format!("{:08x}", signer.key_id()) == id).then(|| KeyFile {
        name: name.to_string(),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips_and_refuses_a_wrong_key_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let key = SigningKey::from_bytes(&[7; 32]);
        write_key(&p, "alice", &key).unwrap();
        let back = read_key(&p).unwrap();
        assert_eq!(back.name, "alice");
        assert_eq!(back.key.to_bytes(), key.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_key(&p, "alice", &key).is_err());
        let text = std::fs::read_to_string(&p).unwrap();
        let (head, tail) = text.split_at(PREFIX.len() + "alice+".len());
        let bad = format!("{head}00000000{}", &tail[8..]);
        assert!(parse_key(&bad).is_none());
    }
}
