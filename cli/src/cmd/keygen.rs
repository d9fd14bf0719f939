//! `prov keygen --out KEY [--name NAME] [--witness]`: a new Ed25519 signing key for a publisher
//! or a rights holder (or, with `--witness`, for `prov witness serve`), written to a new file with
//! mode 0600; prints the public key (with `--witness`, the witness vkey).
//!
//! The file is one line in the signed-note private key format (Go's
//! `golang.org/x/mod/sumdb/note`, the same as a ledger's own `ledger.key`):
//!
//! ```text
//! PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 || 32-byte Ed25519 seed)>
//! ```
//!
//! Its one parser and printer is `verifier::keyfile`; the file I/O (a new file, mode 0600,
//! fsynced) is the ledger's `ledger::store::keyfile`, the same code that writes `ledger.key`.
//!
//! The name is the default name `publisher register` binds to the key. `publish` and `attest`
//! do not trust it: they ask the ledger which name the key holds (`GET /v1/keys/{key}`).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ledger::cosignature::WitnessSigner;
use ledger::entry::Name;
use ledger::store::keyfile::{self, KeyFileError};
use serde_json::json;

use crate::exit::{say, say_json, Exit, Failure, Outcome};

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
    /// A witness key (for `prov witness serve`): --name is the witness's name (a schema-less URL
    /// such as `witness.example.org/w1`), and the public key is printed as a witness vkey
    /// (C2SP tlog-cosignature, signature type 0x04).
    #[arg(long)]
    pub witness: bool,
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
    if args.witness {
        return witness(args);
    }
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

/// `prov keygen --witness`: the same key file, and the witness vkey.
fn witness(args: &KeygenArgs) -> Outcome {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let signer = WitnessSigner::new(&args.name, key.clone()).map_err(|_| {
        Failure::msg(
            Exit::Invalid,
            format!(
                "--name {:?}: a witness name has no spaces or '+'",
                args.name
            ),
        )
    })?;
    write_key(&args.out, &args.name, &key)?;
    let vkey = signer.witness_key().to_string();
    if args.json {
        say_json(&json!({
            "key_file": args.out.display().to_string(),
            "name": args.name,
            "witness_key": vkey,
        }))?;
    } else {
        say(format!("wrote {} (mode 0600)", args.out.display()))?;
        say(format!("witness key: {vkey}"))?;
    }
    Ok(Exit::Ok)
}

/// Writes `key` to a new file at `path`, mode 0600, made durable.
pub fn write_key(path: &Path, name: &str, key: &SigningKey) -> Result<(), Failure> {
    keyfile::write(path, name, key).map_err(|e| match e {
        KeyFileError::Io { .. } => Failure::new(Exit::Local, e),
        other => Failure::new(Exit::Invalid, other),
    })?;
    Ok(())
}

/// Reads a key file written by [`write_key`], by a ledger (`ledger.key`) or by Go's
/// `note.GenerateKey`.
pub fn read_key(path: &Path) -> Result<KeyFile, Failure> {
    let key = keyfile::read_private(path).map_err(|e| Failure::new(Exit::Local, e))?;
    Ok(KeyFile {
        name: key.name().to_string(),
        key: key.signing_key().clone(),
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
        let (head, tail) = text.split_at("PRIVATE+KEY+alice+".len());
        let bad = dir.path().join("bad");
        std::fs::write(&bad, format!("{head}00000000{}", &tail[8..])).unwrap();
        let err = read_key(&bad).err().unwrap();
        assert!(matches!(err.exit, Exit::Local));
    }

    /// A key file saved with CRLF line ends (an editor on Windows, a `git` checkout with
    /// `core.autocrlf`) once read in the CLI and was refused by the ledger: both now read it, as
    /// the same key, through the one parser `verifier::keyfile`.
    #[test]
    fn key_files_with_crlf_read_the_same_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[9; 32]);
        let lf = dir.path().join("lf.key");
        write_key(&lf, "example.org", &key).unwrap();
        let text = std::fs::read_to_string(&lf).unwrap();
        assert!(text.ends_with('\n') && !text.contains('\r'));
        let crlf = dir.path().join("crlf.key");
        std::fs::write(&crlf, text.replace('\n', "\r\n")).unwrap();

        let by_cli = read_key(&crlf).unwrap();
        let by_ledger = keyfile::read(&crlf).unwrap();
        assert_eq!(by_cli.name, "example.org");
        assert_eq!(by_cli.key.to_bytes(), key.to_bytes());
        assert_eq!(by_ledger.name(), by_cli.name);
        assert_eq!(
            *by_ledger.verifier_key().verifying_key(),
            key.verifying_key()
        );
        assert_eq!(
            by_ledger.verifier_key().to_string(),
            keyfile::read(&lf).unwrap().verifier_key().to_string()
        );
        let by_cli_lf = read_key(&lf).unwrap();
        assert_eq!(by_cli_lf.key.to_bytes(), by_cli.key.to_bytes());
    }
}
