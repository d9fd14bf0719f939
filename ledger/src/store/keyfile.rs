//! The ledger's signing key file, `<dir>/ledger.key`: the file itself (created new, never
//! overwritten, mode 0600, fsynced; its mode checked). The bytes in it are the private key file
//! format, one line in the signed-note private key format of Go's `golang.org/x/mod/sumdb/note`,
//! parsed and printed only by [`verifier::keyfile`] (the same format, and the same parser, as
//! the keys of `prov keygen`), so that the same key can be used by Go tooling (witnesses,
//! `note.NewSigner`).

use std::io::Write as _;
use std::path::Path;

use ed25519_dalek::SigningKey;
use verifier::keyfile::{self as format, KeyFileFormatError, PrivateKey};

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
    #[error("key file {path} is malformed: {source}")]
    Malformed {
        path: String,
        #[source]
        source: KeyFileFormatError,
    },
    #[error("key file {path}: {source}")]
    Invalid {
        path: String,
        #[source]
        source: KeyFileFormatError,
    },
}

/// Generates a key named `name`, writes it to a new file at `path` (never overwriting one) with
/// mode 0600, fsyncs it, and returns the signer.
pub fn generate(path: &Path, name: &str) -> Result<NoteSigner, KeyFileError> {
    write(path, name, &SigningKey::generate(&mut rand::rngs::OsRng))
}

/// Writes `key` named `name` to a new file at `path` (never overwriting one) with mode 0600,
/// fsyncs it, and returns the signer. [`generate`] with a key of the caller's (a fixture's).
pub fn write(path: &Path, name: &str, key: &SigningKey) -> Result<NoteSigner, KeyFileError> {
    let key = PrivateKey::new(name, key.clone()).map_err(|source| KeyFileError::Invalid {
        path: path.display().to_string(),
        source,
    })?;
    write_new_private(path, format::print(&key).as_bytes()).map_err(|source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(key.into_signer())
}

/// Creates a new file at `path` (an existing one is an error, never overwritten) with mode 0600
/// on Unix, writes `bytes` and fsyncs it. Shared with `prov keygen`, which writes publisher keys
/// the same way.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
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
    read_private(path).map(PrivateKey::into_signer)
}

/// Reads the key file at `path` as the private key and its name (the signing key itself, for
/// callers that sign entries rather than notes).
pub fn read_private(path: &Path) -> Result<PrivateKey, KeyFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| KeyFileError::Io {
        path: shown.clone(),
        source,
    })?;
    format::parse(&bytes).map_err(|source| KeyFileError::Malformed {
        path: shown,
        source,
    })
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
        assert!(matches!(read(&p), Err(KeyFileError::Malformed { .. })));
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
