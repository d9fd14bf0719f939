//! The bodies of the fuzz targets: one function per parser of outside input, each taking
//! arbitrary bytes. A body never panics on any input; it panics (an assertion fails) only when
//! the code under test breaks one of the invariants below, which is then a bug.
//!
//! Every `fuzz_targets/<name>.rs` is a one-liner calling the function of the same name, and
//! `tests/tests/fuzz_smoke.rs` includes this file by path and runs the same bodies on stable, so
//! there is one source of truth. Each body returns what it [`Reached`], so the smoke test can
//! check that its seeds exercise the assertions rather than being refused early.
//!
//! The invariants, in general terms (each body's docs give its own):
//! - round trip: what parses serialises back to the same value, and to the same bytes where the
//!   format has one spelling (checkpoint bodies, tlog-proofs, entries, tile paths, bundles);
//! - soundness against fixed keys and fixed data: a note, checkpoint, tlog-proof, set proof or
//!   compliance bundle that verifies against one of the fixtures below says only what is true of
//!   that fixture (the fuzzer holds no private key, so it can only reuse signatures it was given);
//! - agreement between two ways of doing one thing (unverified and verified entry decoding,
//!   batch and single signature checks, a proof computed from tiles and its verification);
//! - the readers return errors, never panic (the manifest reader streams from any `BufRead`).

use std::io::Cursor;
use std::sync::OnceLock;

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::Value;

use hasher::manifest::{ItemCounts, ManifestHeader, ManifestReader, ManifestWriter, FORMAT};
use hasher::meta::{canonical, meta_digest};
use verifier::compliance::{
    bundle_optout_indices, verify_bundle, ComplianceBundle, Verdict, Violation,
};
use verifier::cosignature;
use verifier::entry::{
    verify_batch, Entry, EntryBody, EntryError, Name, SIGNATURE_CONTEXT, SIGNATURE_CONTEXT_V2,
};
use verifier::merkle;
use verifier::note::{self, NoteSigner, VerifierKey, MAX_NOTE_BYTES};
use verifier::range::{verify_range, verify_ranges, Range, RangeLeaf, RangeProof, RangeTree};
use verifier::set::{
    verify_multi, Membership, SetExclusionProof, SetInclusionProof, SetLeaf, SetMembershipProof,
    SetMultiProof, SortedSet,
};
use verifier::source::{source_key, Site};
use verifier::tile::{self, EntryBundleId, TileHashReader, TileId, TILE_HEIGHT, TILE_WIDTH};
use verifier::tree::{self, split_stored_hash_index, MAX_TREE_SIZE};
use verifier::{
    leaf_hash, Blake3Set, Checkpoint, ContentId, Digest, LeafIndex, Sha256Log, TlogProof, TreeSize,
};

// ---------------------------------------------------------------------------------------------
// Fixtures: public example keys and the data they signed. Never use these keys for anything else.

/// The origin and key name of the example log of docs/format-log.md.
pub const LOG_ORIGIN: &str = "example.com/prov-log";

/// The example log's note signer: the Ed25519 key with seed `00 01 .. 1f` (docs/format-log.md).
pub fn log_signer() -> &'static NoteSigner {
    static S: OnceLock<NoteSigner> = OnceLock::new();
    S.get_or_init(|| {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        NoteSigner::new(LOG_ORIGIN, SigningKey::from_bytes(&seed)).expect("a valid key name")
    })
}

/// The example log's verifier key.
pub fn log_key() -> &'static VerifierKey {
    static K: OnceLock<VerifierKey> = OnceLock::new();
    K.get_or_init(|| log_signer().verifier_key())
}

/// The entry signing key of docs/format-sets-entries.md: 32 bytes of `0x01`.
pub fn entry_key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::from_bytes(&[1; 32]))
}

/// The C2SP signed-note specification's example key and the one text it signed
/// (testdata/signed-note).
pub const C2SP_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
pub const C2SP_TEXT: &str = "This is an example message.\n";

/// The `cosignature/v1` witness key of testdata/tlog-tiles-300 and the one checkpoint it
/// cosigned.
pub const MIRROR_VKEY: &str =
    "mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O";
pub const MIRROR_TEXT: &str =
    "rome2026h1.example.org\n300\ngw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=\n";

fn c2sp_key() -> &'static VerifierKey {
    static K: OnceLock<VerifierKey> = OnceLock::new();
    K.get_or_init(|| VerifierKey::parse(C2SP_VKEY).expect("the C2SP example vkey"))
}

fn mirror_key() -> &'static VerifierKey {
    static K: OnceLock<VerifierKey> = OnceLock::new();
    K.get_or_init(|| VerifierKey::parse(MIRROR_VKEY).expect("the tlog-tiles-300 witness vkey"))
}

/// The four worked entries of docs/format-sets-entries.md, signed with [`entry_key`] (the
/// optout is anonymous), in log order: publisher, dataset_version, optout, model_checkpoint.
/// The checkpoint entry names the dataset version at index 1 and the horizon 3.
pub const DOC_ENTRIES: [&str; 4] = [
    r#"{"key":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","name":"acme","sig":"CdGtb23tTgg3VHuY6hp1vabHkBeMcA75sx9VPQdxq04BjJxpDyjLxd9678POG5j+jawayIJBlZhoWeVSZmkRBQ==","signer":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","time":1767225600,"type":"publisher"}"#,
    r#"{"corpus_mode":"jsonl:text","dataset":"greetings","item_count":2,"licence":"CC0-1.0","manifest_root":"819757fbddc33b994d5692aabf0b69cd672759e5a5e5b8ef140e9c7112d05357","publisher":"acme","sig":"oPddUspWZL+vJJqS8dUiNXM81nB/ioGVYc+oGk/2KAlYxSv6D5wzEKMWRRj7iMn+UoydNdjRAaW8ky+/RyfgCQ==","signer":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","time":1767225601,"total_bytes":10,"type":"dataset_version","version":"1.0"}"#,
    r#"{"ids":["blake3:ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"],"nonce":7,"scope":["train-ai"],"time":1767225602,"type":"optout"}"#,
    r#"{"checkpoint":"step-1","datasets":[{"dataset":"greetings","index":1,"manifest_root":"819757fbddc33b994d5692aabf0b69cd672759e5a5e5b8ef140e9c7112d05357","publisher":"acme","version":"1.0"}],"model":"tiny","optout_horizon":3,"publisher":"acme","sig":"n4TLZsHYQg8bcXsBUi1kElqHs5rdAh1wPQMJE6Je6Gx/igy+3NTV5FSmMtrHuKsgizIaHdhLs/8t1PDIeyUKDw==","signer":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=","time":1767225603,"type":"model_checkpoint","weights_count":0,"weights_root":"af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"}"#,
];

/// The logs whose checkpoints [`log_key`] signs in the seeds: the two-entry log `hello`,
/// `world` of docs/format-log.md, and the log of [`DOC_ENTRIES`].
pub fn known_logs() -> &'static [Vec<Vec<u8>>] {
    static L: OnceLock<Vec<Vec<Vec<u8>>>> = OnceLock::new();
    L.get_or_init(|| {
        vec![
            vec![b"hello".to_vec(), b"world".to_vec()],
            DOC_ENTRIES.iter().map(|e| e.as_bytes().to_vec()).collect(),
        ]
    })
}

/// The RFC 6962 root of a log's entries.
pub fn log_root(entries: &[Vec<u8>]) -> Digest {
    let leaves: Vec<Digest> = entries.iter().map(|e| leaf_hash(e)).collect();
    merkle::root::<Sha256Log>(&leaves)
}

/// The entries of the known log prefix with this size and root, if there is one.
pub fn known_head(size: TreeSize, root: &Digest) -> Option<&'static [Vec<u8>]> {
    known_logs().iter().find_map(|log| {
        let prefix = log.get(..usize::try_from(size.0).ok()?)?;
        (log_root(prefix) == *root).then_some(prefix)
    })
}

/// A set leaf for an item without metadata.
pub fn item_leaf(item: &[u8]) -> SetLeaf {
    SetLeaf {
        cid: ContentId::of(item),
        size: item.len() as u64,
        meta: Digest::default(),
    }
}

/// The items of the larger known set.
pub fn set_items() -> Vec<Vec<u8>> {
    (0..11).map(|i| format!("item-{i}").into_bytes()).collect()
}

/// The sets the seed set proofs are about: the empty set, `{hello, world}` of
/// docs/format-sets-entries.md (the manifest of the dataset version in [`DOC_ENTRIES`]), and
/// eleven items `item-0` .. `item-10`.
pub fn known_sets() -> &'static [SortedSet] {
    static S: OnceLock<Vec<SortedSet>> = OnceLock::new();
    S.get_or_init(|| {
        let set = |items: Vec<Vec<u8>>| {
            let mut leaves: Vec<SetLeaf> = items.iter().map(|i| item_leaf(i)).collect();
            leaves.sort_by_key(|l| l.cid);
            SortedSet::new(leaves).expect("distinct items")
        };
        vec![
            set(Vec::new()),
            set(vec![b"hello".to_vec(), b"world".to_vec()]),
            set(set_items()),
        ]
    })
}

/// The verdict on the model checkpoint of [`DOC_ENTRIES`]: the opt-out at index 2 names
/// `hello`, which the dataset version's set contains.
pub fn doc_violations() -> Vec<Violation> {
    vec![Violation {
        optout_index: LeafIndex(2),
        cid: ContentId::of(b"hello"),
        dataset: "acme/greetings@1.0".into(),
    }]
}

/// What a body got to on one input: whether the parser accepted it, and whether the deepest
/// check (a signature or proof that verified, a manifest read to its end, tile data checked
/// against a root) ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    pub parsed: bool,
    pub verified: bool,
}

impl Reached {
    fn or(self, other: Reached) -> Reached {
        Reached {
            parsed: self.parsed || other.parsed,
            verified: self.verified || other.verified,
        }
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

// ---------------------------------------------------------------------------------------------
// checkpoint

/// A checkpoint body, or a checkpoint note (its text is parsed too), or a note verified with the
/// example log key.
///
/// - A body that parses is canonical: origin, size and root lines plus the extension lines give
///   back the input byte for byte, and the body without extensions parses to the same value.
/// - It signs and verifies: with a key named after its origin, `sign` then `verify` gives the
///   same checkpoint; `sign` refuses only an origin that is not a valid key name or holds a
///   control character.
/// - A note that verifies with [`log_key`] is a checkpoint of one of [`known_logs`].
pub fn checkpoint(data: &[u8]) -> Reached {
    let Some(s) = text(data) else {
        return Reached::default();
    };
    let mut r = Reached {
        parsed: checkpoint_body(s),
        verified: false,
    };
    if let Ok((body, _)) = note::split_note(s) {
        r.parsed |= checkpoint_body(body);
    }
    if let Ok(c) = Checkpoint::verify(s, log_key()) {
        assert!(
            known_head(c.size, &c.root).is_some(),
            "a checkpoint no one signed verifies: {c:?}"
        );
        assert_eq!(c.origin, LOG_ORIGIN);
        r.verified = true;
    }
    r
}

fn checkpoint_body(s: &str) -> bool {
    let Ok((c, extensions)) = Checkpoint::parse_body_with_extensions(s) else {
        return false;
    };
    let mut again = c.to_body();
    for e in &extensions {
        assert!(!e.is_empty() && !e.contains('\n'), "extension line {e:?}");
        again.push_str(e);
        again.push('\n');
    }
    assert_eq!(again, s, "checkpoint body is not canonical");
    assert_eq!(Checkpoint::parse_body(s).as_ref(), Ok(&c));
    assert_eq!(Checkpoint::parse_body(&c.to_body()).as_ref(), Ok(&c));

    // Sign with a key named after the origin, then verify.
    if let Ok(signer) = NoteSigner::new(&c.origin, SigningKey::from_bytes(&[7; 32])) {
        match c.sign(&signer) {
            Ok(note) => {
                assert_eq!(
                    Checkpoint::verify(&note, &signer.verifier_key()).as_ref(),
                    Ok(&c),
                    "a checkpoint it signed does not verify: {note:?}"
                );
            }
            Err(e) => assert!(
                c.origin.bytes().any(|b| b < 0x20),
                "signing refused a checkpoint with a valid origin: {e}"
            ),
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// note

/// A signed note, verified with the example log key, the C2SP example key and the
/// tlog-tiles-300 witness key.
///
/// - What verifies is what that key signed: the C2SP key's text, the witness's checkpoint, or for
///   the log key a text whose (deterministic Ed25519) signature line is in the note.
/// - `verify_note` returns the text `split_note` finds (the note up to its last blank line).
/// - Any note text that `split_note` accepts can be signed, and the signed note verifies to it.
/// - `cosignature::cosignatures` finds a valid cosignature by the tlog-tiles-300 witness only on
///   the checkpoint it cosigned, and agrees with `verify_note` on it.
pub fn note(data: &[u8]) -> Reached {
    let Some(s) = text(data) else {
        return Reached::default();
    };
    let mut r = Reached::default();
    if let Ok((body, lines)) = note::split_note(s) {
        r.parsed = true;
        assert!(s.starts_with(body) && body.ends_with('\n') && lines >= 1);
        if body.len() < MAX_NOTE_BYTES - 1000 {
            let signed = log_signer()
                .sign(body)
                .unwrap_or_else(|e| panic!("cannot sign a note text that parsed: {e}"));
            assert_eq!(note::verify_note(&signed, log_key()).as_deref(), Ok(body));
            assert_eq!(note::split_note(&signed), Ok((body, 1)));
        }
    }
    let keys: [(&VerifierKey, Option<&str>); 3] = [
        (log_key(), None),
        (c2sp_key(), Some(C2SP_TEXT)),
        (mirror_key(), Some(MIRROR_TEXT)),
    ];
    for (key, signed_text) in keys {
        let Ok(t) = note::verify_note(s, key) else {
            continue;
        };
        r.verified = true;
        assert_eq!(
            note::split_note(s).map(|(b, _)| b),
            Ok(t.as_str()),
            "verify_note and split_note disagree on the text"
        );
        match signed_text {
            Some(want) => assert_eq!(t, want, "a text {} never signed verifies", key.name()),
            None => {
                let ours = log_signer().sign(&t).unwrap_or_else(|e| panic!("{e}"));
                let line = ours[t.len() + 1..].trim_end_matches('\n');
                assert!(
                    s[t.len()..].lines().any(|l| l == line),
                    "a note verifies without the log's signature line: {s:?}"
                );
            }
        }
    }
    if let Ok(found) = cosignature::cosignatures(s, std::slice::from_ref(mirror_witness())) {
        if !found.is_empty() {
            r.verified = true;
            assert_eq!(
                note::split_note(s).map(|(b, _)| b),
                Ok(MIRROR_TEXT),
                "a cosignature verifies on a text the witness never cosigned"
            );
            assert!(
                note::verify_note(s, mirror_key()).is_ok(),
                "cosignatures() and verify_note disagree"
            );
        }
    }
    r
}

fn mirror_witness() -> &'static cosignature::WitnessKey {
    static K: OnceLock<cosignature::WitnessKey> = OnceLock::new();
    K.get_or_init(|| {
        cosignature::WitnessKey::parse(MIRROR_VKEY).expect("the tlog-tiles-300 witness vkey")
    })
}

// ---------------------------------------------------------------------------------------------
// vkey

/// A verifier key, `name+keyid+base64(type || key)`.
///
/// - What parses prints back the same, except that the key id is printed in lowercase hex, and
///   parses again to an equal key; `FromStr` agrees with `parse`.
/// - A parsed key verifies the C2SP example note only if it is the C2SP example key.
pub fn vkey(data: &[u8]) -> Reached {
    let Some(s) = text(data) else {
        return Reached::default();
    };
    let parsed = VerifierKey::parse(s);
    assert_eq!(s.parse::<VerifierKey>(), parsed);
    let Ok(k) = parsed else {
        return Reached::default();
    };
    let (name, rest) = s.split_once('+').expect("a parsed vkey has a name");
    let (id, key) = rest.split_once('+').expect("a parsed vkey has a key id");
    assert_eq!(k.name(), name);
    assert_eq!(format!("{:08x}", k.key_id()), id.to_ascii_lowercase());
    let printed = k.to_string();
    assert_eq!(printed, format!("{name}+{}+{key}", id.to_ascii_lowercase()));
    assert_eq!(VerifierKey::parse(&printed).as_ref(), Ok(&k));
    let example = include_str!("../../testdata/signed-note/c2sp-example.note");
    if note::verify_note(example, &k).is_ok() {
        assert_eq!(&k, c2sp_key(), "another key verifies the C2SP example note");
    }
    Reached {
        parsed: true,
        verified: true,
    }
}

// ---------------------------------------------------------------------------------------------
// ids

/// The ids: a digest as 32 raw bytes, in hex (`FromStr`) or base64, a content id
/// `blake3:<hex>`, an entry name. Each parses only its one spelling (hex: either case) and
/// prints it back; the JSON forms round-trip.
pub fn ids(data: &[u8]) -> Reached {
    let mut r = Reached::default();
    match Digest::from_slice(data) {
        Ok(d) => {
            r.parsed = true;
            assert_eq!(&d.0[..], data);
        }
        Err(_) => assert_ne!(data.len(), 32),
    }
    let Some(s) = text(data) else {
        return r;
    };
    if let Ok(d) = s.parse::<Digest>() {
        r.parsed = true;
        assert_eq!(d.to_hex(), s.to_ascii_lowercase());
        assert_eq!(Digest::from_hex(&d.to_hex()), Ok(d));
        let json = serde_json::to_string(&d).expect("a digest serialises");
        assert_eq!(serde_json::from_str::<Digest>(&json).ok(), Some(d));
    }
    if let Ok(d) = Digest::from_base64(s) {
        r.parsed = true;
        assert_eq!(d.to_base64(), s, "base64 digest is not canonical");
    }
    if let Ok(c) = s.parse::<ContentId>() {
        r.parsed = true;
        assert_eq!(c.to_string(), s);
        let json = serde_json::to_string(&c).expect("a content id serialises");
        assert_eq!(serde_json::from_str::<ContentId>(&json).ok(), Some(c));
    }
    if let Ok(n) = Name::new(s) {
        r.parsed = true;
        assert_eq!(n.as_str(), s);
        assert!((1..=64).contains(&s.len()) && !s.contains(['/', '@']));
    }
    r.verified = r.parsed;
    r
}

// ---------------------------------------------------------------------------------------------
// tlog_proof

/// A `c2sp.org/tlog-proof@v1` file.
///
/// - What parses is canonical: `to_text` gives back the input byte for byte.
/// - Sound: if it verifies with [`log_key`] for some entry, the checkpoint is one of
///   [`known_logs`] and the entry is the one at the proof's index in that log; `verify` and
///   `verify_leaf_hash` agree.
/// - Complete: for a checkpoint that verifies, the audit path the tree computes for the index
///   verifies.
pub fn tlog_proof(data: &[u8]) -> Reached {
    let Some(s) = text(data) else {
        return Reached::default();
    };
    let Ok(p) = TlogProof::parse(s) else {
        return Reached::default();
    };
    let mut r = Reached {
        parsed: true,
        verified: false,
    };
    assert_eq!(p.to_text(), s, "tlog-proof is not canonical");
    assert_eq!(TlogProof::parse(&p.to_text()).as_ref(), Ok(&p));

    let index = usize::try_from(p.index.0).ok();
    let mut candidates: Vec<&[u8]> = known_logs()
        .iter()
        .filter_map(|log| log.get(index?).map(Vec::as_slice))
        .collect();
    candidates.extend(p.extra.as_deref());
    candidates.push(b"hello");
    for entry in candidates {
        let got = p.verify(log_key(), entry);
        assert_eq!(got, p.verify_leaf_hash(log_key(), &leaf_hash(entry)));
        if let Ok(c) = got {
            r.verified = true;
            let log = known_head(c.size, &c.root).expect("a verified checkpoint is known");
            let at = index.and_then(|i| log.get(i));
            assert_eq!(
                at.map(Vec::as_slice),
                Some(entry),
                "a proof for an entry not there"
            );
        }
    }

    if let Ok(c) = Checkpoint::verify(&p.checkpoint, log_key()) {
        let log = known_head(c.size, &c.root).expect("a verified checkpoint is known");
        if let Some(entry) = index.and_then(|i| log.get(i)) {
            let leaves: Vec<Digest> = log.iter().map(|e| leaf_hash(e)).collect();
            let tree = tree::MemoryHashes::from_leaf_hashes(&leaves);
            let path = tree::inclusion_proof(c.size, p.index, &tree).expect("index below size");
            let good = TlogProof {
                proof: path,
                ..p.clone()
            };
            assert_eq!(good.verify(log_key(), entry), Ok(c));
            r.verified = true;
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// entry

/// A log entry as submitted: `Entry::from_bytes` (what the sequencer and the verifiers use) and
/// `Entry::from_bytes_unverified` (the API's batch path).
///
/// - An accepted entry is canonical (its bytes are the input) and decodes again to itself.
/// - The two decoders agree: unverified decoding accepts whatever full decoding accepts, and a
///   decoded entry whose signature fails is refused with `BadSignature` by `verify`, by
///   `verify_batch` and by `from_bytes`; `verify_batch` answers as `verify` does.
/// - An accepted entry can be signed again (and an unsigned opt-out re-made) with its body.
/// - The documented signature: the input re-signed with [`entry_key`] as
///   `"prov-ledger/v1\n" || type || "\n" || JCS(object without sig)` decodes with and without
///   the signature check alike (so only the signature ever makes the difference).
pub fn entry(data: &[u8]) -> Reached {
    let mut r = Reached::default();
    let full = Entry::from_bytes(data);
    match (Entry::from_bytes_unverified(data), &full) {
        (Ok(u), Ok(e)) => {
            r.parsed = true;
            r.verified = true;
            assert_eq!(u.as_bytes(), data);
            assert_eq!(e.as_bytes(), data);
            assert_eq!(Entry::from_bytes(e.as_bytes()).as_ref(), Ok(e));
            assert_eq!(e.leaf_hash(), leaf_hash(data));
            assert_eq!(u.clone().verify().as_ref(), Ok(e));
            let batch = verify_batch(vec![u.clone(), u]);
            assert!(batch.iter().all(|b| b.as_ref() == Ok(e)), "{batch:?}");
            accepted_entry(e);
        }
        (Ok(u), Err(err)) => {
            r.parsed = true;
            assert_eq!(u.as_bytes(), data);
            assert_eq!(err, &EntryError::BadSignature);
            assert!(
                u.signature_parts().is_some(),
                "an unsigned entry failed: {err}"
            );
            assert_eq!(u.clone().verify(), Err(EntryError::BadSignature));
            assert_eq!(verify_batch(vec![u]), vec![Err(EntryError::BadSignature)]);
        }
        (Err(err), Ok(e)) => panic!("from_bytes accepted {e:?}, from_bytes_unverified: {err}"),
        (Err(_), Err(_)) => {}
    }
    if resigned(data) {
        r.verified = true;
    }
    r
}

fn accepted_entry(e: &Entry) {
    assert_eq!(e.kind(), e.body().kind());
    assert_eq!(
        e.publisher().is_none(),
        matches!(e.body(), EntryBody::OptOut(_))
    );
    assert_eq!(
        e.dataset_key().is_some(),
        matches!(e.body(), EntryBody::DatasetVersion(_))
    );
    for i in [0, 1, 2, 3, 4, e.time(), u64::MAX] {
        let _ = e.validate_at(LeafIndex(i));
    }
    let resigned = match e.log() {
        Some(log) => Entry::sign(log, e.body().clone(), e.time(), e.nonce(), entry_key()),
        None => Entry::sign_v1(e.body().clone(), e.time(), e.nonce(), entry_key()),
    };
    match resigned {
        Ok(s) => {
            assert_eq!(Entry::from_bytes(s.as_bytes()).as_ref(), Ok(&s));
            assert_eq!(s.body(), e.body());
            assert_eq!(
                (s.time(), s.nonce(), s.log()),
                (e.time(), e.nonce(), e.log())
            );
            assert_eq!(s.signer(), Some(&entry_key().verifying_key()));
        }
        // An anonymous entry near the size limit can outgrow it with a signature.
        Err(EntryError::TooLarge { .. }) if e.signer().is_none() => {}
        Err(err) => panic!("cannot re-sign an accepted entry: {err}"),
    }
    if let (EntryBody::OptOut(o), None) = (e.body(), e.signer()) {
        let again = match e.log() {
            Some(log) => Entry::anonymous(log, o.clone(), e.time(), e.nonce()),
            None => Entry::anonymous_v1(o.clone(), e.time(), e.nonce()),
        };
        assert_eq!(again.as_ref(), Ok(e));
    }
}

/// Re-signs the JSON object in `data` with [`entry_key`], by the documented message format,
/// and checks that full and unverified decoding then agree. True if the result was accepted.
fn resigned(data: &[u8]) -> bool {
    let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(data) else {
        return false;
    };
    let Some(Value::String(kind)) = m.get("type").cloned() else {
        return false;
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    m.remove("sig");
    let public = entry_key().verifying_key();
    m.insert(
        "signer".into(),
        Value::String(b64.encode(public.as_bytes())),
    );
    let Ok(body) = serde_json_canonicalizer::to_vec(&m) else {
        return false;
    };
    // v2 (bound to a log) when the object has `log`, v1 otherwise.
    let context = if m.contains_key("log") {
        SIGNATURE_CONTEXT_V2
    } else {
        SIGNATURE_CONTEXT
    };
    let mut message = format!("{context}{kind}\n").into_bytes();
    message.extend_from_slice(&body);
    let sig = entry_key().sign(&message);
    m.insert("sig".into(), Value::String(b64.encode(sig.to_bytes())));
    let Ok(bytes) = serde_json_canonicalizer::to_vec(&m) else {
        return false;
    };
    let full = Entry::from_bytes(&bytes);
    let unverified = Entry::from_bytes_unverified(&bytes);
    assert_eq!(
        full.is_ok(),
        unverified.is_ok(),
        "a correctly signed entry: {full:?} but unverified {:?}",
        unverified.as_ref().map(|u| u.as_bytes().len())
    );
    match full {
        Ok(e) => {
            assert_eq!(e.as_bytes(), &bytes[..]);
            assert_eq!(e.signer(), Some(&public));
            true
        }
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// tile

/// A tlog-tiles path and the data served under it, as `<path>\n<data>`: a hash tile path and
/// tile, an entry bundle path and bundle, or (first 16 data bytes) a tree size and a stored hash
/// index.
///
/// - Paths are canonical: what parses prints back the same; an entry bundle's level 0 tile has
///   the same index path.
/// - A tile's stored hash indexes are its hashes' (level, index), or an error exactly when the
///   tile lies beyond the largest tree.
/// - Tile data of the right length is accepted by `TileHashReader`, any other length refused; a
///   tile at index 0 gives the root of its tree, and audit paths and consistency proofs computed
///   from it verify against that root.
/// - An entry bundle that decodes encodes back to the same bytes, with at most 256 entries.
/// - `tile_for_stored_hash` names a tile that is in the tree it was asked about.
pub fn tile(data: &[u8]) -> Reached {
    let (path, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let mut r = Reached::default();

    if let Some(head) = rest.get(..16) {
        let (size, index) = head.split_at(8);
        let size = TreeSize(u64::from_be_bytes(size.try_into().expect("8 bytes")));
        let index = u64::from_be_bytes(index.try_into().expect("8 bytes"));
        // Found by this target: `tree::split_stored_hash_index(u64::MAX)` used to loop forever
        // (its search saturated at u64::MAX); fuzz/artifacts-found/tile/ replays it.
        for size in [size, TreeSize(size.0 % (MAX_TREE_SIZE + 1))] {
            if let Ok(t) = tile::tile_for_stored_hash(size, index) {
                assert!(t.is_in_tree(size), "{t:?} is not in the tree of {size:?}");
            }
        }
    }

    let bundle = tile::decode_entry_bundle(rest);
    if let Ok(entries) = &bundle {
        assert!(entries.len() <= usize::from(TILE_WIDTH));
        let again = tile::encode_entry_bundle(entries).expect("decoded entries encode");
        assert_eq!(again, rest, "entry bundle is not canonical");
    }

    let Some(path) = text(path) else {
        return r;
    };
    if let Ok(b) = EntryBundleId::parse_path(path) {
        r.parsed = true;
        assert_eq!(b.path(), path);
        assert_eq!(EntryBundleId::new(b.n, b.width).ok(), Some(b));
        assert_eq!(
            b.tile().path(),
            path.replacen("tile/entries/", "tile/0/", 1)
        );
        if let Ok(entries) = &bundle {
            r.verified |= entries.len() == usize::from(b.width);
        }
    }
    if let Ok(t) = TileId::parse_path(path) {
        r.parsed = true;
        r = r.or(hash_tile(t, path, rest));
    }
    r
}

fn hash_tile(t: TileId, path: &str, data: &[u8]) -> Reached {
    let mut r = Reached {
        parsed: true,
        verified: false,
    };
    assert_eq!(t.path(), path, "tile path is not canonical");
    assert_eq!(TileId::new(t.level, t.n, t.width).ok(), Some(t));
    assert_eq!(t.is_partial(), t.width < TILE_WIDTH);
    assert_eq!(t.byte_len(), usize::from(t.width) * 32);
    match t.stored_hash_indexes() {
        Ok(indexes) => {
            assert!(t.is_in_tree(TreeSize(MAX_TREE_SIZE)));
            assert_eq!(indexes.len(), usize::from(t.width));
            for (i, &x) in indexes.iter().enumerate() {
                let want = (t.level * TILE_HEIGHT, (t.n << TILE_HEIGHT) + i as u64);
                assert_eq!(
                    split_stored_hash_index(x),
                    want,
                    "stored hash {x} of {path}"
                );
            }
        }
        Err(_) => assert!(!t.is_in_tree(TreeSize(MAX_TREE_SIZE))),
    }

    let mut reader = TileHashReader::new();
    if reader.insert(t, data).is_err() {
        assert_ne!(
            data.len(),
            t.byte_len(),
            "tile data of the right length refused"
        );
        return r;
    }
    assert_eq!(data.len(), t.byte_len());
    let hashes: Vec<Digest> = data
        .chunks_exact(32)
        .map(|c| Digest::from_slice(c).expect("32 bytes"))
        .collect();
    let shift = u32::from(t.level) * u32::from(TILE_HEIGHT);
    let Some(size) = u64::from(t.width)
        .checked_shl(shift)
        .filter(|&s| s <= MAX_TREE_SIZE && s >> shift == u64::from(t.width))
    else {
        return r;
    };
    let size = TreeSize(size);
    if t.n != 0 {
        // Other tiles are needed for any root; asking must not panic.
        let _ = tree::tree_hash(size, &reader);
        return r;
    }
    let root = merkle::root::<Sha256Log>(&hashes);
    if !t.is_partial() {
        // A full tile's root is a hash of the next tile level.
        let Ok(parent) = TileId::new(t.level + 1, 0, 1) else {
            return r;
        };
        reader.insert(parent, &root.0).expect("one hash");
    }
    let got = tree::tree_hash(size, &reader).expect("a tile at index 0 holds its tree");
    assert_eq!(got, root, "root of {path}");
    let needed = tile::tiles_needed(size, |h| tree::tree_hash(size, h)).expect("in the tree");
    assert!(needed.iter().all(|n| n.is_in_tree(size)), "{needed:?}");
    r.verified = true;
    if t.level != 0 {
        return r;
    }
    let w = u64::from(t.width);
    for i in [0, w / 2, w - 1] {
        let proof = tree::inclusion_proof(size, LeafIndex(i), &reader).expect("leaf in the tile");
        let leaf = &hashes[i as usize];
        merkle::verify_inclusion::<Sha256Log>(leaf, LeafIndex(i), size, &proof, &root)
            .unwrap_or_else(|e| panic!("audit path of leaf {i} in {path}: {e}"));
    }
    for old in [1, w / 2 + 1, w - 1].into_iter().filter(|&o| o >= 1) {
        let proof = tree::consistency_proof(TreeSize(old), size, &reader).expect("in the tile");
        let old_root = merkle::root::<Sha256Log>(&hashes[..old as usize]);
        merkle::verify_consistency::<Sha256Log>(TreeSize(old), size, &old_root, &root, &proof)
            .unwrap_or_else(|e| panic!("consistency {old} -> {w} in {path}: {e}"));
    }
    r
}

// ---------------------------------------------------------------------------------------------
// set_proof

/// A set proof in JSON: membership (`{"included":..}` / `{"excluded":..}`), inclusion,
/// exclusion or multi-proof.
///
/// - What parses round-trips through its JSON form.
/// - Sound: verified against one of [`known_sets`] (its root and size), a proof says only what
///   is true of that set, for every id it decides; it never verifies for an id other than its
///   own.
/// - An inclusion proof verifies against the root its own path implies.
pub fn set_proof(data: &[u8]) -> Reached {
    let mut r = Reached::default();
    if let Ok(p) = serde_json::from_slice::<SetMembershipProof>(data) {
        assert_eq!(json_round_trip(&p), p);
        r = r.or(membership(&p));
    }
    if let Ok(p) = serde_json::from_slice::<SetInclusionProof>(data) {
        assert_eq!(json_round_trip(&p), p);
        if let Ok(root) = merkle::root_from_inclusion_proof::<Blake3Set>(
            &p.leaf.leaf_hash(),
            p.index,
            p.size,
            &p.path,
        ) {
            verifier::set::verify_inclusion(&p, &p.leaf.cid, &root, p.size)
                .unwrap_or_else(|e| panic!("inclusion proof against its own root: {e}"));
        }
        r = r.or(membership(&SetMembershipProof::Included(p)));
    }
    if let Ok(p) = serde_json::from_slice::<SetExclusionProof>(data) {
        assert_eq!(json_round_trip(&p), p);
        r = r.or(membership(&SetMembershipProof::Excluded(p)));
    }
    if let Ok(p) = serde_json::from_slice::<SetMultiProof>(data) {
        assert_eq!(json_round_trip(&p), p);
        r = r.or(multi(&p));
    }
    r
}

fn json_round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
    let json = serde_json::to_vec(v).expect("a parsed proof serialises");
    serde_json::from_slice(&json).expect("a serialised proof parses")
}

fn membership(p: &SetMembershipProof) -> Reached {
    let mut r = Reached {
        parsed: true,
        verified: false,
    };
    let id = p.id();
    let other = ContentId::of(b"never in any set");
    for set in known_sets() {
        if let Ok(m) = p.verify(&id, &set.root(), set.size()) {
            r.verified = true;
            assert_eq!(
                m == Membership::Included,
                set.contains(&id),
                "a set proof lies about {id} in a set of {}",
                set.size().0
            );
        }
        if other != id {
            assert!(p.verify(&other, &set.root(), set.size()).is_err());
        }
    }
    r
}

fn multi(p: &SetMultiProof) -> Reached {
    let mut r = Reached {
        parsed: true,
        verified: false,
    };
    let mut ids: Vec<ContentId> = p.leaves.iter().map(|l| l.leaf.cid).take(16).collect();
    for l in p.leaves.iter().take(4) {
        let mut below = l.leaf.cid;
        below.0[31] = below.0[31].wrapping_sub(1);
        let mut above = l.leaf.cid;
        above.0[31] = above.0[31].wrapping_add(1);
        ids.extend([below, above]);
    }
    ids.extend([b"hello".as_slice(), b"x", b"item-3"].map(ContentId::of));
    for set in known_sets() {
        if let Ok(ms) = verify_multi(p, &ids, &set.root(), set.size()) {
            r.verified = true;
            assert_eq!(ms.len(), ids.len());
            for (m, id) in ms.iter().zip(&ids) {
                assert_eq!(
                    *m == Membership::Included,
                    set.contains(id),
                    "a multi-proof lies about {id} in a set of {}",
                    set.size().0
                );
            }
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// compliance

/// A compliance bundle (JSON), verified with [`log_key`].
///
/// - What parses round-trips through its JSON form; `bundle_optout_indices` never panics.
/// - Sound: a bundle that verifies is about the log of [`DOC_ENTRIES`], so its verdict is the
///   true one ([`doc_violations`]), or `Compliant` only when it leaves out the opt-out at index 2
///   (the gap `bundle_optout_indices` lets a `--complete` verifier close).
pub fn compliance(data: &[u8]) -> Reached {
    let Ok(b) = serde_json::from_slice::<ComplianceBundle>(data) else {
        return Reached::default();
    };
    let mut r = Reached {
        parsed: true,
        verified: false,
    };
    assert_eq!(json_round_trip(&b), b);
    let indices = bundle_optout_indices(&b);
    if let Ok(verdict) = verify_bundle(&b, log_key()) {
        r.verified = true;
        match verdict {
            Verdict::Violated {
                violations,
                site_violations,
            } => {
                assert_eq!(violations, doc_violations());
                assert!(
                    site_violations.is_empty(),
                    "the documented bundle names no sites"
                );
            }
            Verdict::Compliant => {
                let listed = indices.expect("a verified bundle's proofs parse");
                assert!(
                    !listed.contains(&LeafIndex(2)),
                    "compliant although the opt-out at index 2 is in the bundle"
                );
            }
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// manifest

/// A manifest file (`prov-manifest/v1`, JSON Lines), read with `ManifestReader` from memory.
///
/// - Any bytes: errors, never a panic; after an error the reader yields nothing more.
/// - A manifest read to its end without error satisfies docs/format-manifest.md "What a reader
///   checks": `leaves` lines with strictly increasing cids, `leaf_bytes` their sum,
///   `items == leaves + duplicates`, the metadata present exactly with `meta: full` and hashing
///   to each leaf's meta, and the root of the leaves.
/// - Written again by `ManifestWriter` from what was read, it reads back to the same header, and
///   the writer's output is a fixed point (writing it again gives the same bytes).
pub fn manifest(data: &[u8]) -> Reached {
    let Ok(reader) = ManifestReader::new(Cursor::new(data)) else {
        return Reached::default();
    };
    let mut r = Reached {
        parsed: true,
        verified: false,
    };
    let header = reader.header().clone();
    assert_eq!(header.format, FORMAT);
    assert!(header.meta == "full" || header.meta == "none");
    let mut reader = reader;
    let mut entries = Vec::new();
    for e in reader.by_ref() {
        match e {
            Ok(e) => entries.push(e),
            Err(_) => {
                assert!(reader.next().is_none(), "the reader goes on after an error");
                return r;
            }
        }
    }
    r.verified = true;

    assert_eq!(header.leaves, entries.len() as u64);
    let sum = entries
        .iter()
        .try_fold(0u64, |a, e| a.checked_add(e.leaf.size));
    assert_eq!(sum, Some(header.leaf_bytes), "leaf_bytes");
    assert_eq!(
        header.leaves.checked_add(header.duplicates),
        Some(header.items),
        "items == leaves + duplicates"
    );
    assert!(entries.windows(2).all(|w| w[0].leaf.cid < w[1].leaf.cid));
    let leaves: Vec<Digest> = entries.iter().map(|e| e.leaf.leaf_hash()).collect();
    assert_eq!(merkle::root::<Blake3Set>(&leaves), header.root);
    let mut metas = Vec::with_capacity(entries.len());
    for e in &entries {
        assert_eq!(e.meta.is_some(), header.meta == "full");
        let m = e
            .meta
            .as_ref()
            .map(|m| canonical(m).expect("verified metadata"));
        assert_eq!(meta_digest(m.as_deref()), e.leaf.meta);
        metas.push(m);
    }

    let written = write_manifest(&header, &entries, &metas);
    let back = ManifestReader::new(Cursor::new(&written))
        .and_then(|m| m.verify_to_end())
        .unwrap_or_else(|e| panic!("a manifest written from a verified one: {e}"));
    assert_eq!(back, header);
    let entries_again: Vec<_> = ManifestReader::new(Cursor::new(&written))
        .expect("read above")
        .map(|e| e.expect("read above"))
        .collect();
    assert_eq!(
        write_manifest(&header, &entries_again, &metas),
        written,
        "the writer's output is not a fixed point"
    );
    r
}

// ---------------------------------------------------------------------------------------------
// upload_request

/// A set upload request (`verifier::set::upload`, docs/formats.md "Upload requests").
///
/// - What parses serialises to canonical JSON that parses back to an equal request, and that
///   serialisation is a fixed point.
/// - A parsed signed request's signature verifies (strictly) over its recomputed signing
///   message; a parsed anonymous one has no signature.
pub fn upload_request(data: &[u8]) -> Reached {
    use verifier::set::upload::{UploadRequest, UPLOAD_CONTEXT};
    let Ok(req) = UploadRequest::from_json(data) else {
        return Reached::default();
    };
    let bytes = req.to_json().expect("a parsed request serialises");
    let back = UploadRequest::from_json(&bytes)
        .unwrap_or_else(|e| panic!("its own serialisation does not parse: {e}"));
    assert_eq!(back, req);
    assert_eq!(
        back.to_json().expect("serialises"),
        bytes,
        "not a fixed point"
    );
    let message = req.signing_message().expect("signing message");
    assert!(message.starts_with(UPLOAD_CONTEXT.as_bytes()));
    match (req.signer(), req.signature_bytes()) {
        (Some(key), Some(sig)) => {
            let sig = ed25519_dalek::Signature::from_bytes(&sig);
            key.verify_strict(&message, &sig)
                .expect("a parsed signed request verifies");
            Reached {
                parsed: true,
                verified: true,
            }
        }
        (None, None) => Reached {
            parsed: true,
            verified: false,
        },
        _ => panic!("a signer without a signature, or the reverse, parsed"),
    }
}

fn write_manifest(
    header: &ManifestHeader,
    entries: &[hasher::ManifestEntry],
    metas: &[Option<Vec<u8>>],
) -> Vec<u8> {
    let mut h = ManifestHeader::new(&header.mode, header.field.as_deref(), &header.meta);
    h.meta_fields = header.meta_fields.clone();
    (h.sources_root, h.sources_size) = (header.sources_root, header.sources_size);
    let mut w = ManifestWriter::new(Cursor::new(Vec::new()), h).expect("in memory");
    if let Some((root, size)) = header.sources() {
        w.set_sources(root, size)
            .expect("a verified source tree comes with metadata");
    }
    for (e, m) in entries.iter().zip(metas) {
        w.push(&e.leaf, m.as_deref())
            .unwrap_or_else(|err| panic!("writing back a verified leaf: {err}"));
    }
    let counts = ItemCounts {
        items: header.items,
        bytes: header.bytes,
        skipped: header.skipped,
    };
    let (_, out) = w.finish(counts).expect("in memory");
    out.into_inner()
}

// ---------------------------------------------------------------------------------------------
// key_file

/// A private key file (`ledger.key`, `prov keygen`), parsed by `verifier::keyfile`.
///
/// - What parses prints back byte for byte, once its line ends (any run of CR and LF after the
///   one line) are replaced by one `\n`; the printed file parses to the same key and name.
/// - The key id printed is the one the name and public key imply, and the key signs a note that
///   verifies with the verifier key of that name and id.
pub fn key_file(data: &[u8]) -> Reached {
    let Ok(k) = verifier::keyfile::parse(data) else {
        return Reached::default();
    };
    let printed = verifier::keyfile::print(&k);
    let line = text(data)
        .expect("a parsed key file is UTF-8")
        .trim_end_matches(['\r', '\n']);
    assert_eq!(
        printed,
        format!("{line}\n"),
        "a key file prints back as read"
    );
    let back = verifier::keyfile::parse(printed.as_bytes()).expect("a printed key file parses");
    assert_eq!(back.name(), k.name());
    assert_eq!(back.signing_key().to_bytes(), k.signing_key().to_bytes());
    let vkey = VerifierKey::ed25519(k.name(), k.signing_key().verifying_key())
        .expect("a parsed key's name is a key name");
    assert_eq!(vkey.key_id(), k.key_id());
    let note = k.signer().sign("a note\n").expect("a key file's key signs");
    note::verify_note(&note, &vkey).expect("its own signature verifies");
    Reached {
        parsed: true,
        verified: true,
    }
}

// ---------------------------------------------------------------------------------------------
// consistency_proof

/// A consistency-proof file, text (base64 lines) or JSON (`{"hashes": [hex]}`), parsed by
/// `verifier::consistency_proof`.
///
/// - What parses prints back, in both forms, to text that parses to the same hashes.
/// - Sound: a proof that verifies between a prefix of one of [`known_logs`] and a prefix of one
///   of them (any sizes) is only ever one between two prefixes where the smaller is a prefix of
///   the larger.
pub fn consistency_proof(data: &[u8]) -> Reached {
    use verifier::consistency_proof as cp;
    let Ok(hashes) = cp::parse(data) else {
        return Reached::default();
    };
    let text_form = cp::print_text(&hashes);
    assert_eq!(
        cp::parse(text_form.as_bytes()).expect("text parses"),
        hashes
    );
    let json_form = cp::print_json(&hashes);
    assert_eq!(
        cp::parse(json_form.as_bytes()).expect("JSON parses"),
        hashes
    );
    let mut r = Reached {
        parsed: true,
        verified: false,
    };
    for a in known_logs() {
        for b in known_logs() {
            for m in 1..=a.len() {
                for n in m..=b.len() {
                    let (old, new) = (&a[..m], &b[..n]);
                    let ok = merkle::verify_consistency::<Sha256Log>(
                        TreeSize(m as u64),
                        TreeSize(n as u64),
                        &log_root(old),
                        &log_root(new),
                        &hashes,
                    )
                    .is_ok();
                    if ok {
                        r.verified = true;
                        assert_eq!(old, &new[..m], "a consistency proof between unrelated logs");
                    }
                }
            }
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// set_proof_file

/// Any JSON form of one set proof (`{"included"|"excluded": ..}`, a bare proof, an answer with a
/// `proof` member), parsed by `verifier::set::parse_membership_proof`.
///
/// - Where the strict `SetMembershipProof` JSON parses, the lenient parser gives the same proof.
/// - What parses prints (`print_membership_proof`) to JSON that parses to the same proof.
/// - Sound against [`known_sets`], as [`set_proof`].
pub fn set_proof_file(data: &[u8]) -> Reached {
    let lenient = verifier::set::parse_membership_proof(data);
    if let Ok(strict) = serde_json::from_slice::<SetMembershipProof>(data) {
        assert_eq!(
            lenient.as_ref().ok(),
            Some(&strict),
            "strict and lenient disagree"
        );
    }
    let Ok(p) = lenient else {
        return Reached::default();
    };
    let printed = verifier::set::print_membership_proof(&p);
    let back = verifier::set::parse_membership_proof(printed.as_bytes())
        .expect("a printed set proof parses");
    assert_eq!(back, p);
    membership(&p)
}

// ---------------------------------------------------------------------------------------------
// range_proof

/// The source trees range proofs are checked against: the worked example of docs/formats.md
/// ("Range trees and range proofs") and a larger one with lookalike hosts, ports, IP hosts and
/// no-source items.
pub fn known_range_trees() -> &'static [RangeTree] {
    static TREES: OnceLock<Vec<RangeTree>> = OnceLock::new();
    TREES.get_or_init(|| {
        let tree = |items: &[(&str, &str)]| {
            RangeTree::from_unsorted(
                items
                    .iter()
                    .map(|(u, t)| RangeLeaf::source(&source_key(u), &ContentId::of(t.as_bytes())))
                    .collect(),
            )
        };
        vec![
            tree(&[
                ("https://a.org/", "a"),
                ("https://example.com/", "b"),
                ("https://www.example.com/x", "c"),
                ("https://notexample.com/", "d"),
            ]),
            tree(&[
                ("https://example.com/blog/1", "1"),
                ("https://example.com/blog/2", "2"),
                ("https://example.com/blog-post", "3"),
                ("https://shop.example.com:8443/y", "4"),
                ("https://example.com.evil.net/", "5"),
                ("https://example.co/", "6"),
                ("http://1.2.3.4/", "7"),
                ("http://[::1]/", "8"),
                ("not a url", "9"),
                ("ftp://example.com/", "10"),
                ("https://m.org/1", "11"),
                ("https://m.org/2", "12"),
                ("https://m.org/3", "13"),
                ("https://zzz.net/", "14"),
            ]),
            RangeTree::new(Vec::new()).expect("the empty tree"),
        ]
    })
}

/// The ranges a range proof is verified for: sites (domains, URL prefixes, absent ones), the
/// no-source items, and everything.
pub fn known_ranges() -> Vec<Range> {
    let mut out: Vec<Range> = [
        "example.com",
        "www.example.com",
        "https://example.com/blog",
        "https://example.com/blog/",
        "notexample.com",
        "example.net",
        "a.org",
        "m.org",
        "aaa.aaa",
        "zzzz.zzzz",
    ]
    .iter()
    .map(|s| Range::site(&Site::parse(s).expect("a valid site")))
    .collect();
    out.push(Range::exact_key(&verifier::source::SourceKey::none()));
    out.push(Range::prefix(b""));
    out
}

/// The pairs `(a, b)` of [`known_ranges`] that are sorted and disjoint (`a`'s end at most `b`'s
/// start): what a multi-range proof is verified for.
pub fn disjoint_range_pairs() -> Vec<(usize, usize)> {
    let ranges = known_ranges();
    let mut out = Vec::new();
    for (a, ra) in ranges.iter().enumerate() {
        for (b, rb) in ranges.iter().enumerate() {
            if ra.hi().is_some_and(|hi| hi <= rb.lo()) {
                out.push((a, b));
            }
        }
    }
    out
}

/// A range proof (`RangeProof` JSON), verified with `verify_range` against [`known_range_trees`]
/// for [`known_ranges`], and with `verify_ranges` for every pair of [`disjoint_range_pairs`].
///
/// - What parses serialises to JSON that parses back equal.
/// - Sound: whenever it verifies, `start` and `count` are the tree's true ones for the range
///   (brute force), and every revealed leaf is the tree's leaf at that index and in the range.
///   A proof that hides an in-range leaf, or claims a range empty that is not, never verifies.
///   The same for each range of a multi-range verification.
pub fn range_proof(data: &[u8]) -> Reached {
    let Ok(p) = serde_json::from_slice::<RangeProof>(data) else {
        return Reached::default();
    };
    let mut r = Reached {
        parsed: true,
        verified: false,
    };
    let json = serde_json::to_vec(&p).expect("a proof serialises");
    assert_eq!(
        serde_json::from_slice::<RangeProof>(&json).expect("printed JSON parses"),
        p
    );
    let ranges = known_ranges();
    for tree in known_range_trees() {
        for range in &ranges {
            let Ok(m) = verify_range(&tree.root(), tree.size(), range, &p) else {
                continue;
            };
            r.verified = true;
            assert_range_members(tree, range, &m);
        }
        for (a, b) in disjoint_range_pairs() {
            let pair = [ranges[a].clone(), ranges[b].clone()];
            let Ok(ms) = verify_ranges(&tree.root(), tree.size(), &pair, &p) else {
                continue;
            };
            r.verified = true;
            assert_eq!(ms.len(), 2);
            for (range, m) in pair.iter().zip(&ms) {
                assert_range_members(tree, range, m);
            }
        }
    }
    r
}

/// `m` is the brute-force truth of `range` in `tree`, and shows only its leaves.
fn assert_range_members(tree: &RangeTree, range: &Range, m: &verifier::range::RangeMembers) {
    let inside: Vec<u64> = (0..tree.size().0)
        .filter(|&i| range.contains(tree.leaves()[i as usize].as_bytes()))
        .collect();
    assert_eq!(m.count, inside.len() as u64, "count");
    let start = inside
        .first()
        .copied()
        .unwrap_or_else(|| tree.leaves().partition_point(|l| l.as_bytes() < range.lo()) as u64);
    assert_eq!(m.start, start, "start");
    for (i, leaf) in &m.revealed {
        assert_eq!(&tree.leaves()[i.0 as usize], leaf, "revealed leaf {i}");
        assert!(range.contains(leaf.as_bytes()));
    }
}

// ---------------------------------------------------------------------------------------------
// intoto_envelope

/// The publisher key of the in-toto fixture: 32 bytes of `0x07` (as in docs/formats.md's
/// worked example).
pub fn intoto_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// The one statement [`intoto_key`] signs in the fixtures: a checkpoint of the example log
/// (its checkpoint at size 4 over the root of 32 bytes of `0x5a`, signed by [`log_signer`]).
pub fn intoto_statement() -> verifier::export::intoto::Statement {
    use std::collections::BTreeMap;
    use verifier::export::intoto::*;
    let checkpoint = Checkpoint {
        origin: LOG_ORIGIN.into(),
        size: TreeSize(4),
        root: Digest([0x5a; 32]),
    }
    .sign(log_signer())
    .expect("the example log signs");
    Statement {
        type_: STATEMENT_TYPE.into(),
        subject: vec![ResourceDescriptor {
            name: Some("model.safetensors".into()),
            digest: BTreeMap::from([(SUBJECT_DIGEST.into(), "ab".repeat(32))]),
            ..Default::default()
        }],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.into(),
                external_parameters: ExternalParameters {
                    model: "acme/lm@c1".into(),
                    datasets: vec!["acme/web@v1".into()],
                    optout_horizon: 3,
                },
                internal_parameters: InternalParameters {
                    log: LOG_ORIGIN.into(),
                    model_checkpoint: ModelCheckpointRef {
                        entry_index: 3,
                        weights_root: "22".repeat(32),
                        weights_count: 1,
                        log_checkpoint: checkpoint.clone(),
                    },
                    compliance: ComplianceVerdict {
                        conclusion: "compliant".into(),
                        exit: 0,
                        horizon: 3,
                        checkpoint_size: 4,
                        optouts_checked: 0,
                        violations: 0,
                        complete: Some(true),
                    },
                },
                resolved_dependencies: vec![ResourceDescriptor {
                    uri: Some(dataset_uri(LOG_ORIGIN, "acme", "web", "v1")),
                    digest: BTreeMap::from([(DEPENDENCY_DIGEST.into(), "11".repeat(32))]),
                    annotations: Some(DependencyAnnotations {
                        entry_index: 1,
                        log_checkpoint: checkpoint,
                    }),
                    ..Default::default()
                }],
            },
            run_details: RunDetails {
                builder: Builder {
                    id: builder_id(LOG_ORIGIN, "acme"),
                },
            },
        },
    }
}

/// A DSSE envelope (JSON) as `prov verify provenance` reads it
/// (`verifier::export::intoto::Envelope`), verified with [`intoto_key`].
///
/// - What parses serialises to JSON that parses back equal.
/// - Any statement in the payload, signed or not, is checked (shape, and against the example
///   log's key) without panicking.
/// - Sound: an envelope verifies only if its payload is byte for byte the fixture's signed
///   statement ([`intoto_statement`], the only one the key signed), and then its log
///   checkpoints verify with the example log's key.
pub fn intoto_envelope(data: &[u8]) -> Reached {
    use verifier::export::intoto::{Envelope, Statement};
    let Ok(env) = serde_json::from_slice::<Envelope>(data) else {
        return Reached::default();
    };
    let json = serde_json::to_vec(&env).expect("an envelope serialises");
    let back: Envelope = serde_json::from_slice(&json).expect("a serialised envelope parses");
    assert_eq!(back, env, "an envelope round-trips");
    let payload = base64::engine::general_purpose::STANDARD.decode(&env.payload);
    if let Some(st) = payload
        .as_ref()
        .ok()
        .and_then(|p| serde_json::from_slice::<Statement>(p).ok())
    {
        let _ = st.check();
        let _ = st.verify_log(log_key());
    }
    let Ok(st) = env.verify(&intoto_key().verifying_key()) else {
        return Reached {
            parsed: true,
            verified: false,
        };
    };
    let want = intoto_statement();
    assert_eq!(
        payload.expect("a verified payload is base64"),
        serde_json::to_vec(&want).expect("a statement serialises"),
        "only the signed payload verifies"
    );
    assert_eq!(st, want);
    st.verify_log(log_key())
        .expect("the fixture's checkpoints are the log's");
    Reached {
        parsed: true,
        verified: true,
    }
}
