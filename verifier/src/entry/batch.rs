//! Checking many entry signatures at once (issue #3): [`Entry::from_bytes_unverified`] decodes
//! an entry and hands out what a signature check needs, and [`verify_batch`] checks many
//! signatures with one multiscalar multiplication (`ed25519_dalek::verify_batch`).
//!
//! `ed25519_dalek::verify_batch` on its own accepts more than `verify_strict`, which
//! [`Entry::from_bytes`] and every verifier apply: it refuses neither small-order keys and nonces
//! (R) nor a non-canonical encoding of R, and its coefficients cancel a torsion component of R or
//! of the key half of the time or more. A signer could then get an entry into the log that
//! `Entry::from_bytes` refuses. So a signature joins the batch only if R is canonically encoded
//! and R and the key are of prime order (not small order, torsion-free); then the batch equation
//! holds (but with negligible probability) only if every signature's strict equation does. Every
//! other signature, and every signature of a batch that fails, is verified on its own, so one
//! bad entry never costs the good ones theirs.
//!
//! The cost: the torsion check on each R is a scalar multiplication, about what the batch saves,
//! so on the `bench/store.sh submit` load this is no faster than verifying one by one (measured
//! slower), and the sequencer verifies one by one. Cofactored verification everywhere (ZIP 215)
//! would make the unchecked batch sound, but it changes which entries are valid.

use std::collections::HashMap;

use ed25519_dalek::{Signature, VerifyingKey};

use super::{Entry, EntryBody, EntryError, EntryKind};

/// An entry decoded and checked in every way but its signature (size, JSON, fields, canonical
/// form): what [`Entry::from_bytes_unverified`] returns. Only [`UnverifiedEntry::verify`] and
/// [`verify_batch`] turn it into an [`Entry`].
#[derive(Clone, Debug)]
pub struct UnverifiedEntry {
    entry: Entry,
    /// The signing message; empty for an anonymous opt-out.
    message: Vec<u8>,
}

impl UnverifiedEntry {
    pub(super) fn new(entry: Entry, message: Vec<u8>) -> Self {
        UnverifiedEntry { entry, message }
    }

    /// What checking the signature needs: the signer's key, the signed message
    /// (`"prov-ledger/v2\n" || type || "\n" || body`, or `v1` without `log`) and the signature. `None` for an anonymous
    /// opt-out, which has no signature.
    pub fn signature_parts(&self) -> Option<(&VerifyingKey, &[u8], &Signature)> {
        match (&self.entry.signer, &self.entry.signature) {
            (Some(key), Some(sig)) => Some((key, &self.message, sig)),
            _ => None,
        }
    }

    /// The entry's canonical bytes (its signature not yet checked).
    pub fn as_bytes(&self) -> &[u8] {
        &self.entry.bytes
    }

    /// The entry's type (its signature not yet checked).
    pub fn kind(&self) -> EntryKind {
        self.entry.kind()
    }

    /// The entry's body (its signature not yet checked).
    pub fn body(&self) -> &EntryBody {
        self.entry.body()
    }

    /// The key the entry names as its signer (its signature not yet checked).
    pub fn signer(&self) -> Option<&VerifyingKey> {
        self.entry.signer()
    }

    /// Whether the signature verifies (Ed25519, strictly; an anonymous opt-out has none): what
    /// [`UnverifiedEntry::verify`] checks, for a caller that must know before it decides.
    pub fn signature_ok(&self) -> bool {
        match self.signature_parts() {
            Some((key, message, sig)) => key.verify_strict(message, sig).is_ok(),
            None => true,
        }
    }

    /// Checks the signature on its own (Ed25519, strictly).
    pub fn verify(self) -> Result<Entry, EntryError> {
        if !self.signature_ok() {
            return Err(EntryError::BadSignature);
        }
        Ok(self.entry)
    }
}

/// Checks the signatures of `entries` together: the same outcome as [`UnverifiedEntry::verify`]
/// on each, answered in order (see the module docs for why it is not cheaper yet).
pub fn verify_batch(entries: Vec<UnverifiedEntry>) -> Vec<Result<Entry, EntryError>> {
    // Publishers sign many entries with one key: check each key's order once.
    let mut key_ok: HashMap<[u8; 32], bool> = HashMap::new();
    let mut batched = vec![false; entries.len()];
    let (mut messages, mut signatures, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for (i, u) in entries.iter().enumerate() {
        let Some((key, message, sig)) = u.signature_parts() else {
            continue;
        };
        let key_ok = *key_ok
            .entry(key.to_bytes())
            .or_insert_with(|| prime_order(key));
        if key_ok && nonce_ok(sig) {
            batched[i] = true;
            messages.push(message);
            signatures.push(*sig);
            keys.push(*key);
        }
    }
    // A batch of one is no cheaper than verifying it alone.
    let batch_holds =
        keys.len() > 1 && ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok();
    entries
        .into_iter()
        .zip(batched)
        .map(|(u, in_batch)| {
            if in_batch && batch_holds {
                Ok(u.entry)
            } else {
                u.verify()
            }
        })
        .collect()
}

/// Whether `point` is in the prime-order subgroup and not the identity.
fn prime_order(point: &VerifyingKey) -> bool {
    !point.is_weak() && point.to_edwards().is_torsion_free()
}

/// Whether the signature's R is a canonically encoded point of prime order.
fn nonce_ok(sig: &Signature) -> bool {
    let r = sig.r_bytes();
    VerifyingKey::from_bytes(r)
        .is_ok_and(|point| point.to_edwards().compress().as_bytes() == r && prime_order(&point))
}
