//! The ledger's signing key file, `<dir>/ledger.key`, mode 0600, one line in the signed-note
//! private key format of Go's `golang.org/x/mod/sumdb/note`:
//!
//! ```text
//! PRIVATE+KEY+<name>+<key id, 8 hex digits>+<base64(0x01 || 32-byte Ed25519 seed)>\n
//! ```
//!
//! so that the same key can be used by Go tooling (witnesses, `note.NewSigner`).

use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::SigningKey;

use crate::note::NoteSigner;

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    #[error("key file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {0} is malformed")]
    Malformed(String),
    #[error("key file {path}: {why}")]
    Invalid { path: String, why: String },
}

const PREFIX: &str = "PRIVATE+KEY+";

/// Generates a key named `name`, writes it to a new file at `path` (never overwriting one) with
/// mode 0600, fsyncs it, and returns the signer.
pub fn generate(path: &Path, name: &str) -> Result<NoteSigner, KeyFileError> {
    write(path, name, &SigningKey::generate(&mut rand::rngs::OsRng))
}

/// Writes `key` named `name` to a new file at `path` (never overwriting one) with mode 0600,
/// fsyncs it, and returns the signer. [`generate`] with a key of the caller's (a fixture's).
pub fn write(path: &Path, name: &str, key: &SigningKey) -> Result<NoteSigner, KeyFileError> {
    let signer = NoteSigner::new(name, key.clone()).map_err(|e| KeyFileError::Invalid {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    let mut payload = vec![0x01u8];
    payload.extend_from_slice(&key.to_bytes());
    let line = format!(
        "{PREFIX}{}+{:08x}+{}\n",
        signer.name(),
        signer.key_id(),
        base64::engine::general_purpose::STANDARD.encode(&payload)
    );
    let io = |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(line.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(signer)
}

/// The key file's mode when other users may read it (any group or other permission bit), so that
/// the service can warn: a leaked log key lets anyone sign checkpoints in the log's name. `None`
/// when the mode is private, or not a Unix mode.
pub fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Reads the key file at `path`.
pub fn read(path: &Path) -> Result<NoteSigner, KeyFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: shown.clone(),
        source,
    })?;
    parse(&text).ok_or(KeyFileError::Malformed(shown))
}

fn parse(text: &str) -> Option<NoteSigner> {
    let line = text.strip_suffix('\n').unwrap_or(text);
    let rest = line.strip_prefix(PREFIX)?;
    // Names cannot contain '+' (signed-note forbids it); base64 can, so split from the left.
    let (name, rest) = rest.split_once('+')?;
    let (id, b64) = rest.split_once('+')?;
    let payload = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let (&alg, seed) = payload.split_first()?;
    let seed: [u8; 32] = seed.try_into().ok()?;
    if alg != 0x01 {
        return None;
    }
    let signer = NoteSigner::new(name, SigningKey::from_bytes(&seed)).ok()?;
    (format!("{:08x}", signer.key_id()) == id).then_some(signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips_with_mode_0600_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger.key");
        let s = generate(&p, "example.org/log").unwrap();
        let back = read(&p).unwrap();
        assert_eq!(
            back.verifier_key().to_string(),
            s.verifier_key().to_string()
        );
        // Regression: a '+' in the base64 once broke parsing. Generate until one has it.
        let mut saw_plus = false;
        for i in 0..200 {
            let q = dir.path().join(format!("k{i}"));
            let s = generate(&q, "example.org/log").unwrap();
            let text = std::fs::read_to_string(&q).unwrap();
            saw_plus |= text.rsplit('+').next().unwrap().len() < 44;
            assert_eq!(read(&q).unwrap().key_id(), s.key_id());
        }
        assert!(saw_plus);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(generate(&p, "x"), Err(KeyFileError::Io { .. })));
        std::fs::write(&p, "PRIVATE+KEY+example.org/log+00000000+AQ==\n").unwrap();
        assert!(matches!(read(&p), Err(KeyFileError::Malformed(_))));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_reported() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger.key");
        let key = SigningKey::from_bytes(&[7; 32]);
        let s = write(&p, "example.org/log", &key).unwrap();
        assert_eq!(read(&p).unwrap().key_id(), s.key_id());
        assert_eq!(loose_mode(&p), None);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(loose_mode(&p), Some(0o644));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(loose_mode(&p), Some(0o640));
    }
}
