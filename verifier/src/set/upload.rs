//! The signed request that starts a set upload (`POST /v1/uploads`; docs/formats.md, "Upload
//! requests"). One owner of the format for the service, which checks it, and the clients that
//! sign it. No I/O: the clock and the quotas are the caller's.
//!
//! ## Encoding
//! One JSON object: `root` (64 lowercase hex, the set's claimed root), `size` (its number of
//! leaves), `format` (`leaves`: concatenated 72-byte leaves; `manifest`: a prov-manifest/v1
//! JSON Lines file; `passages`: concatenated 64-byte passage-tree leaves, strictly increasing,
//! `root`/`size` then being the range tree's), `time` (unix seconds), optionally `nonce` (an integer, so that two
//! otherwise identical requests in the same second differ: the service refuses a signed request
//! it has seen as a replay), and for a signed request `signer` (the Ed25519 public key, standard
//! base64 with padding) and `sig` (the signature, base64). Integers are at most 2^53 - 1; any
//! other field is refused. Without `signer` and `sig` the request is anonymous.
//!
//! ## Signature
//! The **body** is the request object without its `sig` field, canonicalised by RFC 8785 (JCS).
//! The signed message is `"prov-ledger/upload/v1\n" || body`, signed with Ed25519 and verified
//! strictly. The context differs from every entry signature's (`prov-ledger/v1\n...`), so an
//! upload request can never be read as an entry, nor an entry as an upload request.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{json, Map, Value};

use super::wire::parse_hex32;
use crate::entry::MAX_SAFE_INTEGER;
use crate::types::Digest;

/// The domain separation prefix of an upload request's signature.
pub const UPLOAD_CONTEXT: &str = "prov-ledger/upload/v1\n";
/// The media type of a `passages` upload's body.
pub const PASSAGE_LEAVES_CONTENT_TYPE: &str = "application/vnd.prov.passage-leaves";
/// The length of one passage-tree leaf: a passage id and a content id, 32 bytes each.
pub const PASSAGE_LEAF_LEN: usize = 64;
/// The largest upload request accepted, in bytes (a signed one is about 250).
pub const MAX_REQUEST_LEN: usize = 4096;

/// Why an upload request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UploadRequestError {
    #[error("upload request is {len} bytes, over the {MAX_REQUEST_LEN}-byte limit")]
    TooLarge { len: usize },
    #[error("upload request is not a json object: {0}")]
    Malformed(String),
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {field} has the wrong type")]
    WrongType { field: &'static str },
    #[error("unknown field {0:?}")]
    UnknownField(String),
    #[error("field root is not 64 lowercase hex")]
    MalformedRoot,
    #[error("field signer is not a base64 ed25519 public key")]
    MalformedKey,
    #[error("field {field} is above 2^53 - 1")]
    NumberOutOfRange { field: &'static str },
    #[error("unknown upload format {0:?} (leaves, manifest, passages)")]
    UnknownFormat(String),
    #[error("signature without a signer")]
    UnexpectedSignature,
    #[error("signer without a signature")]
    MissingSignature,
    #[error("bad signature")]
    BadSignature,
    #[error("canonical json encoding failed: {0}")]
    Encode(String),
}

/// How the upload's body is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UploadFormat {
    /// Concatenated 72-byte leaves (`application/octet-stream`).
    Leaves,
    /// A prov-manifest/v1 JSON Lines file (`application/x-ndjson`).
    Manifest,
    /// Concatenated 64-byte passage-tree leaves (`passage id || cid`, strictly increasing;
    /// `application/vnd.prov.passage-leaves`): a range tree, `root`/`size` its
    /// [`crate::range::RangeRootBuilder`] root and size. Any 64 bytes are a valid leaf.
    Passages,
}

impl UploadFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadFormat::Leaves => "leaves",
            UploadFormat::Manifest => "manifest",
            UploadFormat::Passages => "passages",
        }
    }

    pub fn from_label(s: &str) -> Option<Self> {
        match s {
            "leaves" => Some(UploadFormat::Leaves),
            "manifest" => Some(UploadFormat::Manifest),
            "passages" => Some(UploadFormat::Passages),
            _ => None,
        }
    }

    /// The media type a body in this format is sent with.
    pub fn content_type(self) -> &'static str {
        match self {
            UploadFormat::Leaves => "application/octet-stream",
            UploadFormat::Manifest => "application/x-ndjson",
            UploadFormat::Passages => PASSAGE_LEAVES_CONTENT_TYPE,
        }
    }

    /// The fixed length of one leaf of the body, for the two binary formats; `None` for a
    /// manifest (lines of any length).
    pub fn leaf_len(self) -> Option<usize> {
        match self {
            UploadFormat::Leaves => Some(super::SetLeaf::LEN),
            UploadFormat::Manifest => None,
            UploadFormat::Passages => Some(PASSAGE_LEAF_LEN),
        }
    }
}

/// A checked upload request: built by [`UploadRequest::sign`] or [`UploadRequest::anonymous`],
/// or parsed by [`UploadRequest::from_json`], which checks the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRequest {
    /// The set's claimed root.
    pub root: Digest,
    /// Its number of leaves.
    pub size: u64,
    pub format: UploadFormat,
    /// Unix seconds, as the client stamped it.
    pub time: u64,
    /// Makes two otherwise identical requests differ.
    pub nonce: Option<u64>,
    signer: Option<VerifyingKey>,
    signature: Option<Signature>,
}

impl UploadRequest {
    /// An anonymous request.
    pub fn anonymous(
        root: Digest,
        size: u64,
        format: UploadFormat,
        time: u64,
    ) -> Result<Self, UploadRequestError> {
        check_numbers(size, time)?;
        Ok(UploadRequest {
            root,
            size,
            format,
            time,
            nonce: None,
            signer: None,
            signature: None,
        })
    }

    /// The same request with a `nonce`.
    pub fn with_nonce(mut self, nonce: u64) -> Result<Self, UploadRequestError> {
        if nonce > MAX_SAFE_INTEGER {
            return Err(UploadRequestError::NumberOutOfRange { field: "nonce" });
        }
        self.nonce = Some(nonce);
        Ok(self)
    }

    /// A request signed with `key`.
    pub fn sign(
        root: Digest,
        size: u64,
        format: UploadFormat,
        time: u64,
        key: &SigningKey,
    ) -> Result<Self, UploadRequestError> {
        UploadRequest::anonymous(root, size, format, time)?.signed(key)
    }

    /// This request signed with `key` (set the nonce first: the signature covers it).
    pub fn signed(self, key: &SigningKey) -> Result<Self, UploadRequestError> {
        let mut r = self;
        r.signer = Some(key.verifying_key());
        let message = r.signing_message()?;
        r.signature = Some(key.sign(&message));
        Ok(r)
    }

    /// Parses a request and checks its signature, if it has one.
    pub fn from_json(bytes: &[u8]) -> Result<Self, UploadRequestError> {
        if bytes.len() > MAX_REQUEST_LEN {
            return Err(UploadRequestError::TooLarge { len: bytes.len() });
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| UploadRequestError::Malformed(e.to_string()))?;
        let Value::Object(mut m) = value else {
            return Err(UploadRequestError::Malformed("not an object".into()));
        };
        let signature = match m.remove("sig") {
            None => None,
            Some(Value::String(s)) => {
                let b = b64(&s).ok_or(UploadRequestError::BadSignature)?;
                Some(Signature::from_slice(&b).map_err(|_| UploadRequestError::BadSignature)?)
            }
            Some(_) => return Err(UploadRequestError::WrongType { field: "sig" }),
        };
        // What the client signed: its own object without `sig`, canonicalised.
        let body = canonical(&m)?;
        let root = match m.remove("root") {
            Some(Value::String(s)) => parse_hex32(&s).ok_or(UploadRequestError::MalformedRoot)?,
            Some(_) => return Err(UploadRequestError::WrongType { field: "root" }),
            None => return Err(UploadRequestError::MissingField("root")),
        };
        let size = take_u64(&mut m, "size")?;
        let time = take_u64(&mut m, "time")?;
        let nonce = if m.contains_key("nonce") {
            Some(take_u64(&mut m, "nonce")?)
        } else {
            None
        };
        let format = match m.remove("format") {
            Some(Value::String(s)) => {
                UploadFormat::from_label(&s).ok_or(UploadRequestError::UnknownFormat(s))?
            }
            Some(_) => return Err(UploadRequestError::WrongType { field: "format" }),
            None => return Err(UploadRequestError::MissingField("format")),
        };
        let signer = match m.remove("signer") {
            None => None,
            Some(Value::String(s)) => {
                let b = b64(&s).ok_or(UploadRequestError::MalformedKey)?;
                let arr: [u8; 32] = b.try_into().map_err(|_| UploadRequestError::MalformedKey)?;
                Some(VerifyingKey::from_bytes(&arr).map_err(|_| UploadRequestError::MalformedKey)?)
            }
            Some(_) => return Err(UploadRequestError::WrongType { field: "signer" }),
        };
        if let Some((k, _)) = m.into_iter().next() {
            return Err(UploadRequestError::UnknownField(k));
        }
        match (&signer, &signature) {
            (None, Some(_)) => return Err(UploadRequestError::UnexpectedSignature),
            (Some(_), None) => return Err(UploadRequestError::MissingSignature),
            (Some(key), Some(sig)) => {
                let mut message = UPLOAD_CONTEXT.as_bytes().to_vec();
                message.extend_from_slice(&body);
                key.verify_strict(&message, sig)
                    .map_err(|_| UploadRequestError::BadSignature)?;
            }
            (None, None) => {}
        }
        Ok(UploadRequest {
            root,
            size,
            format,
            time,
            nonce,
            signer,
            signature,
        })
    }

    /// The request as canonical JSON, with its signature if it has one: what a client sends.
    pub fn to_json(&self) -> Result<Vec<u8>, UploadRequestError> {
        let mut m = self.body();
        if let Some(sig) = &self.signature {
            m.insert("sig".into(), json!(to_b64(&sig.to_bytes())));
        }
        canonical(&m)
    }

    /// The key that signed the request; `None` for an anonymous one.
    pub fn signer(&self) -> Option<&VerifyingKey> {
        self.signer.as_ref()
    }

    /// The signature's 64 bytes (a signed request is identified by them, so that a replayed
    /// request can be recognised); `None` for an anonymous one.
    pub fn signature_bytes(&self) -> Option<[u8; 64]> {
        self.signature.map(|s| s.to_bytes())
    }

    /// `"prov-ledger/upload/v1\n" || JCS(request without sig)`.
    pub fn signing_message(&self) -> Result<Vec<u8>, UploadRequestError> {
        let mut msg = UPLOAD_CONTEXT.as_bytes().to_vec();
        msg.extend_from_slice(&canonical(&self.body())?);
        Ok(msg)
    }

    fn body(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("root".into(), json!(self.root.to_hex()));
        m.insert("size".into(), json!(self.size));
        m.insert("format".into(), json!(self.format.as_str()));
        m.insert("time".into(), json!(self.time));
        if let Some(n) = self.nonce {
            m.insert("nonce".into(), json!(n));
        }
        if let Some(k) = &self.signer {
            m.insert("signer".into(), json!(to_b64(k.as_bytes())));
        }
        m
    }
}

fn check_numbers(size: u64, time: u64) -> Result<(), UploadRequestError> {
    for (field, n) in [("size", size), ("time", time)] {
        if n > MAX_SAFE_INTEGER {
            return Err(UploadRequestError::NumberOutOfRange { field });
        }
    }
    Ok(())
}

fn take_u64(m: &mut Map<String, Value>, field: &'static str) -> Result<u64, UploadRequestError> {
    let v = m
        .remove(field)
        .ok_or(UploadRequestError::MissingField(field))?;
    let n = v.as_u64().ok_or(UploadRequestError::WrongType { field })?;
    if n > MAX_SAFE_INTEGER {
        return Err(UploadRequestError::NumberOutOfRange { field });
    }
    Ok(n)
}

fn canonical(m: &Map<String, Value>) -> Result<Vec<u8>, UploadRequestError> {
    serde_json_canonicalizer::to_vec(m).map_err(|e| UploadRequestError::Encode(e.to_string()))
}

fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn to_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[5u8; 32])
    }

    #[test]
    fn signed_request_round_trips_and_verifies() {
        let r = UploadRequest::sign(
            Digest([1; 32]),
            3,
            UploadFormat::Manifest,
            1_700_000_000,
            &key(),
        )
        .unwrap();
        let bytes = r.to_json().unwrap();
        let back = UploadRequest::from_json(&bytes).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.signer(), Some(&key().verifying_key()));
        // The documented example (docs/formats.md): fields in JCS order, the message's prefix.
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("{\"format\":\"manifest\",\"root\":\"0101"),
            "{text}"
        );
        assert!(r
            .signing_message()
            .unwrap()
            .starts_with(b"prov-ledger/upload/v1\n{"));
    }

    #[test]
    fn any_change_to_a_signed_request_breaks_its_signature() {
        let r = UploadRequest::sign(
            Digest([1; 32]),
            3,
            UploadFormat::Leaves,
            1_700_000_000,
            &key(),
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&r.to_json().unwrap()).unwrap();
        for (field, new) in [
            ("root", json!(Digest([2; 32]).to_hex())),
            ("size", json!(4)),
            ("format", json!("manifest")),
            ("time", json!(1_700_000_001u64)),
            ("nonce", json!(7)),
        ] {
            let mut w = v.clone();
            w[field] = new;
            let bytes = serde_json::to_vec(&w).unwrap();
            assert_eq!(
                UploadRequest::from_json(&bytes),
                Err(UploadRequestError::BadSignature),
                "{field}"
            );
        }
        // Non-canonical spelling of the same object still verifies: JCS is recomputed.
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        assert_eq!(UploadRequest::from_json(&pretty).unwrap(), r);
    }

    #[test]
    fn malformed_requests_are_refused_with_their_cause() {
        let anon = UploadRequest::anonymous(Digest([1; 32]), 3, UploadFormat::Leaves, 1)
            .unwrap()
            .to_json()
            .unwrap();
        assert!(UploadRequest::from_json(&anon).unwrap().signer().is_none());
        let mut v: Value = serde_json::from_slice(&anon).unwrap();
        v["sig"] = json!(to_b64(&[0u8; 64]));
        assert_eq!(
            UploadRequest::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(UploadRequestError::UnexpectedSignature)
        );
        let mut v: Value = serde_json::from_slice(&anon).unwrap();
        v["signer"] = json!(to_b64(key().verifying_key().as_bytes()));
        assert_eq!(
            UploadRequest::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(UploadRequestError::MissingSignature)
        );
        let mut v: Value = serde_json::from_slice(&anon).unwrap();
        v["extra"] = json!(1);
        assert!(matches!(
            UploadRequest::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(UploadRequestError::UnknownField(_))
        ));
        let mut v: Value = serde_json::from_slice(&anon).unwrap();
        v["format"] = json!("csv");
        assert!(matches!(
            UploadRequest::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(UploadRequestError::UnknownFormat(_))
        ));
        let mut v: Value = serde_json::from_slice(&anon).unwrap();
        v["root"] = json!(Digest([0xab; 32]).to_hex().to_uppercase());
        assert_eq!(
            UploadRequest::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(UploadRequestError::MalformedRoot)
        );
        let mut v: Value = serde_json::from_slice(&anon).unwrap();
        v["size"] = json!(1u64 << 60);
        assert_eq!(
            UploadRequest::from_json(&serde_json::to_vec(&v).unwrap()),
            Err(UploadRequestError::NumberOutOfRange { field: "size" })
        );
        assert!(matches!(
            UploadRequest::from_json(b"[1]"),
            Err(UploadRequestError::Malformed(_))
        ));
        assert!(matches!(
            UploadRequest::from_json(&vec![b' '; MAX_REQUEST_LEN + 1]),
            Err(UploadRequestError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_passages_format_round_trips_with_its_label_and_media_type() {
        let r = UploadRequest::sign(
            Digest([3; 32]),
            4096,
            UploadFormat::Passages,
            1_700_000_000,
            &key(),
        )
        .unwrap();
        let bytes = r.to_json().unwrap();
        assert!(String::from_utf8(bytes.clone())
            .unwrap()
            .contains("\"format\":\"passages\""));
        assert_eq!(UploadRequest::from_json(&bytes).unwrap(), r);
        assert_eq!(
            UploadFormat::from_label("passages"),
            Some(UploadFormat::Passages)
        );
        assert_eq!(
            UploadFormat::Passages.content_type(),
            "application/vnd.prov.passage-leaves"
        );
        assert_eq!(UploadFormat::Passages.leaf_len(), Some(64));
        assert_eq!(UploadFormat::Leaves.leaf_len(), Some(72));
        assert_eq!(
            UploadRequestError::UnknownFormat("csv".into()).to_string(),
            "unknown upload format \"csv\" (leaves, manifest, passages)"
        );
    }

    /// The worked example of docs/formats.md ("Upload requests"), byte for byte.
    #[test]
    fn documented_example() {
        let r = UploadRequest::anonymous(Digest([1; 32]), 3, UploadFormat::Leaves, 1_780_000_000)
            .unwrap()
            .with_nonce(42)
            .unwrap()
            .signed(&key())
            .unwrap();
        let body = concat!(
            r#"{"format":"leaves","nonce":42,"root":"0101010101010101010101010101010101010101010101010101010101010101","#,
            r#""signer":"bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E=","size":3,"time":1780000000}"#
        );
        assert_eq!(
            r.signing_message().unwrap(),
            format!("prov-ledger/upload/v1\n{body}").into_bytes()
        );
        let json = concat!(
            r#"{"format":"leaves","nonce":42,"root":"0101010101010101010101010101010101010101010101010101010101010101","#,
            r#""sig":"BLbmILpQYBzMVSFNU1aH/TRbfKEIQOgVwGWeo/X9NuJpR+Rkk8gTsOczVRKeMWTUtdtzCiIh6Ofq2fxBUIDFCA==","#,
            r#""signer":"bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E=","size":3,"time":1780000000}"#
        );
        assert_eq!(String::from_utf8(r.to_json().unwrap()).unwrap(), json);
        assert_eq!(UploadRequest::from_json(json.as_bytes()).unwrap(), r);
    }
}
