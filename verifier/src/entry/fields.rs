//! Taking typed fields out of a decoded JSON object, with an error that names the field. Entries
//! are decoded by hand rather than by derive so that every failure is a precise [`EntryError`]
//! (missing field, wrong type, unknown field) instead of a formatted serde message.

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde_json::{Map, Value};

use super::{EntryError, Name, MAX_SAFE_INTEGER};
use crate::set::wire::parse_hex32;
use crate::source::Site;
use crate::types::{ContentId, Digest};

/// A JSON object being taken apart; whatever is left at [`Fields::finish`] is unknown.
pub(super) struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    pub(super) fn new(value: Value, field: &'static str) -> Result<Self, EntryError> {
        match value {
            Value::Object(map) => Ok(Fields { map }),
            _ => Err(EntryError::WrongType { field }),
        }
    }

    pub(super) fn take(&mut self, field: &'static str) -> Result<Value, EntryError> {
        self.map
            .remove(field)
            .ok_or(EntryError::MissingField(field))
    }

    pub(super) fn has(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    pub(super) fn string(&mut self, field: &'static str) -> Result<String, EntryError> {
        match self.take(field)? {
            Value::String(s) => Ok(s),
            _ => Err(EntryError::WrongType { field }),
        }
    }

    pub(super) fn name(&mut self, field: &'static str) -> Result<Name, EntryError> {
        Name::new(self.string(field)?).map_err(|value| EntryError::BadName { field, value })
    }

    pub(super) fn opt_name(&mut self, field: &'static str) -> Result<Option<Name>, EntryError> {
        if self.has(field) {
            self.name(field).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A non-negative integer no larger than 2^53 - 1: RFC 8785 writes numbers as IEEE doubles,
    /// so a larger integer would not survive canonicalisation unchanged.
    pub(super) fn u64(&mut self, field: &'static str) -> Result<u64, EntryError> {
        let v = self.take(field)?;
        let n = v.as_u64().ok_or(EntryError::WrongType { field })?;
        if n > MAX_SAFE_INTEGER {
            return Err(EntryError::NumberOutOfRange { field });
        }
        Ok(n)
    }

    pub(super) fn opt_u64(&mut self, field: &'static str) -> Result<Option<u64>, EntryError> {
        if self.has(field) {
            self.u64(field).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(super) fn digest(&mut self, field: &'static str) -> Result<Digest, EntryError> {
        parse_hex32(&self.string(field)?).ok_or(EntryError::MalformedHash { field })
    }

    pub(super) fn key(&mut self, field: &'static str) -> Result<VerifyingKey, EntryError> {
        let bytes = b64(&self.string(field)?).ok_or(EntryError::MalformedKey { field })?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| EntryError::MalformedKey { field })?;
        VerifyingKey::from_bytes(&arr).map_err(|_| EntryError::MalformedKey { field })
    }

    pub(super) fn array(&mut self, field: &'static str) -> Result<Vec<Value>, EntryError> {
        match self.take(field)? {
            Value::Array(a) => Ok(a),
            _ => Err(EntryError::WrongType { field }),
        }
    }

    pub(super) fn finish(self) -> Result<(), EntryError> {
        match self.map.into_iter().next() {
            Some((k, _)) => Err(EntryError::UnknownField(k)),
            None => Ok(()),
        }
    }
}

pub(super) fn cid(v: Value, field: &'static str) -> Result<ContentId, EntryError> {
    match v {
        Value::String(s) => s.parse().map_err(|_| EntryError::MalformedCid(s)),
        _ => Err(EntryError::WrongType { field }),
    }
}

/// A site in canonical form (`Site::parse_canonical`): one meaning, one encoding.
pub(super) fn site(v: Value) -> Result<Site, EntryError> {
    match v {
        Value::String(s) => {
            Site::parse_canonical(&s).map_err(|cause| EntryError::BadSite { value: s, cause })
        }
        _ => Err(EntryError::WrongType { field: "sites" }),
    }
}

pub(super) fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

pub(super) fn to_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
