//! The generator of the seed corpus in `fuzz/corpus/<target>/`: the project's own test vectors
//! (testdata/) and the worked examples of docs/format-*.md, plus valid values of every format
//! made with the example keys of [`crate::checks`], and a few invalid ones (named `bad-*`).
//!
//! The files are checked in; `tests/tests/fuzz_smoke.rs` fails if they differ from what this
//! generator makes, and rewrites them when run with `PROV_FUZZ_WRITE_SEEDS=1`. Everything here
//! is deterministic (Ed25519 signatures are).

use ed25519_dalek::SigningKey;

use hasher::manifest::{ItemCounts, ManifestHeader, ManifestWriter};
use hasher::meta::{leaf_meta_json, meta_digest};
use verifier::compliance::{BundleEntry, BundleSetProof, ComplianceBundle};
use verifier::entry::{Entry, EntryBody, OptOut, OptOutIds, Scope};
use verifier::note::NoteSigner;
use verifier::set::{SetLeaf, SetMembershipProof};
use verifier::tile::{encode_entry_bundle, TileId};
use verifier::tree::{self, MemoryHashes};
use verifier::{leaf_hash, Checkpoint, ContentId, Digest, LeafIndex, TlogProof, TreeSize};

use crate::checks::{
    known_logs, known_sets, log_root, log_signer, set_items, DOC_ENTRIES, LOG_ORIGIN,
};

/// The fuzz targets, in the order of their seeds.
pub const TARGETS: [&str; 16] = [
    "checkpoint",
    "note",
    "vkey",
    "ids",
    "tlog_proof",
    "entry",
    "tile",
    "set_proof",
    "compliance",
    "manifest",
    "upload_request",
    "key_file",
    "consistency_proof",
    "set_proof_file",
    "range_proof",
    "intoto_envelope",
];

/// One seed file: `fuzz/corpus/<target>/<name>`.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push(Seed {
            target,
            name: name.to_string(),
            bytes,
        })
    };

    // Checkpoints of the two known logs, signed with the example log key.
    let head = |log: usize, size: usize| {
        let entries = &known_logs()[log][..size];
        Checkpoint {
            origin: LOG_ORIGIN.to_string(),
            size: TreeSize(size as u64),
            root: log_root(entries),
        }
    };
    let sign = |c: &Checkpoint| c.sign(log_signer()).expect("the log key signs its origin");
    let doc_head = head(0, 2);
    let doc_note = sign(&doc_head);
    let entries_note = sign(&head(1, 4));
    let tiles_300_note = include_str!(
        "../../testdata/tlog-tiles-300/\
         000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706/checkpoint"
    );

    // checkpoint
    add("checkpoint", "doc-body", doc_head.to_body().into_bytes());
    add("checkpoint", "doc-note", doc_note.clone().into_bytes());
    add(
        "checkpoint",
        "entries-1-note",
        sign(&head(1, 1)).into_bytes(),
    );
    add(
        "checkpoint",
        "entries-4-note",
        entries_note.clone().into_bytes(),
    );
    add(
        "checkpoint",
        "empty-log-note",
        sign(&head(0, 0)).into_bytes(),
    );
    let ext = format!("{}extension one\n— opaque\n", doc_head.to_body());
    add("checkpoint", "extensions-body", ext.into_bytes());
    add(
        "checkpoint",
        "tiles-300-cosigned-note",
        tiles_300_note.into(),
    );
    let bad = doc_head.to_body().replace("\n2\n", "\n02\n");
    add("checkpoint", "bad-leading-zero-body", bad.into_bytes());

    // note
    let c2sp_note = include_str!("../../testdata/signed-note/c2sp-example.note");
    add("note", "c2sp-example", c2sp_note.into());
    add("note", "doc-checkpoint", doc_note.clone().into_bytes());
    add("note", "tiles-300-cosigned", tiles_300_note.into());
    let witness = NoteSigner::new("example.com/witness", SigningKey::from_bytes(&[2; 32]))
        .expect("a valid key name");
    let text = "hello\nworld\n\nafter a blank line\n";
    let second = witness.sign(text).expect("a valid text");
    let both = format!(
        "{}{}",
        log_signer().sign(text).expect("a valid text"),
        &second[text.len() + 1..]
    );
    add("note", "two-signatures", both.into_bytes());
    add(
        "note",
        "bad-no-separator",
        b"hello\n\xe2\x80\x94 x AAAAAAA=\n".to_vec(),
    );

    // vkey
    let doc_vkey = log_signer().verifier_key().to_string();
    add("vkey", "doc-log", doc_vkey.clone().into_bytes());
    add("vkey", "c2sp-example", crate::checks::C2SP_VKEY.into());
    add(
        "vkey",
        "tiles-300-witness",
        crate::checks::MIRROR_VKEY.into(),
    );
    let id = &doc_vkey[LOG_ORIGIN.len() + 1..LOG_ORIGIN.len() + 9];
    let upper = doc_vkey.replacen(id, &id.to_ascii_uppercase(), 1);
    add("vkey", "uppercase-key-id", upper.into_bytes());
    add(
        "vkey",
        "bad-key-id",
        doc_vkey.replacen(id, "00000000", 1).into_bytes(),
    );

    // ids
    let hello_leaf = leaf_hash(b"hello");
    add(
        "ids",
        "content-id",
        ContentId::of(b"hello").to_string().into_bytes(),
    );
    add("ids", "digest-hex", hello_leaf.to_hex().into_bytes());
    let upper = hello_leaf.to_hex().to_ascii_uppercase();
    add("ids", "digest-hex-uppercase", upper.into_bytes());
    add(
        "ids",
        "digest-base64",
        doc_head.root.to_base64().into_bytes(),
    );
    add("ids", "digest-raw", hello_leaf.0.to_vec());
    add("ids", "name", b"greetings-v1.0_final".to_vec());
    let bad = ContentId::of(b"hello").to_string().to_ascii_uppercase();
    add("ids", "bad-content-id-uppercase", bad.into_bytes());

    // tlog_proof
    let proof = |log: usize, size: usize, index: u64, note: &str, extra: Option<&[u8]>| {
        let leaves: Vec<Digest> = known_logs()[log][..size]
            .iter()
            .map(|e| leaf_hash(e))
            .collect();
        let tree = MemoryHashes::from_leaf_hashes(&leaves);
        TlogProof {
            extra: extra.map(<[u8]>::to_vec),
            index: LeafIndex(index),
            proof: tree::inclusion_proof(TreeSize(size as u64), LeafIndex(index), &tree)
                .expect("index below size"),
            checkpoint: note.to_string(),
        }
    };
    let world = proof(0, 2, 1, &doc_note, None).to_text();
    add("tlog_proof", "doc-world", world.clone().into_bytes());
    let hello = proof(0, 2, 0, &doc_note, Some(b"hello")).to_text();
    add("tlog_proof", "doc-hello-extra", hello.into_bytes());
    let entry_proofs: Vec<TlogProof> = (0..4)
        .map(|i| proof(1, 4, i, &entries_note, None))
        .collect();
    for (i, p) in entry_proofs.iter().enumerate() {
        add(
            "tlog_proof",
            &format!("entries-{i}"),
            p.to_text().into_bytes(),
        );
    }
    let bad = world.replace("tlog-proof@v1", "tlog-proof@v2");
    add("tlog_proof", "bad-header", bad.into_bytes());

    // entry
    let names = [
        "publisher",
        "dataset-version",
        "optout-anonymous",
        "model-checkpoint",
    ];
    for (name, e) in names.iter().zip(DOC_ENTRIES) {
        add("entry", &format!("doc-{name}"), e.into());
    }
    let set_optout_body = || {
        EntryBody::OptOut(OptOut {
            ids: Some(OptOutIds::Set {
                root: known_sets()[2].root(),
                size: known_sets()[2].size().0,
            }),
            sites: vec![],
            scope: vec![Scope::AiUse, Scope::TrainAi],
            passages: None,
        })
    };
    // A v1 entry (no `log`), as logs written before issue 11 hold them.
    let set_optout = Entry::sign_v1(
        set_optout_body(),
        1_767_225_604,
        Some(9_007_199_254_740_991),
        crate::checks::entry_key(),
    )
    .expect("a valid entry");
    add("entry", "optout-set-signed", set_optout.as_bytes().to_vec());
    // The same, as a v2 entry bound to the example log.
    let bound = Entry::sign(
        LOG_ORIGIN,
        set_optout_body(),
        1_767_225_604,
        Some(9_007_199_254_740_991),
        crate::checks::entry_key(),
    )
    .expect("a valid entry");
    add("entry", "optout-set-signed-v2", bound.as_bytes().to_vec());
    // Issue 14: an opt-out of a work by its cid and its passage tree.
    let passages = Entry::sign(
        LOG_ORIGIN,
        EntryBody::OptOut(OptOut {
            ids: Some(OptOutIds::Inline(vec![ContentId::of(b"hello")])),
            sites: vec![],
            scope: vec![Scope::TrainAi],
            passages: Some(verifier::entry::SetRef {
                root: known_sets()[2].root(),
                size: 4096,
            }),
        }),
        1_767_225_605,
        None,
        crate::checks::entry_key(),
    )
    .expect("a valid entry");
    add("entry", "optout-passages-v2", passages.as_bytes().to_vec());
    let bad = DOC_ENTRIES[0].replacen(",", ", ", 1);
    add("entry", "bad-not-canonical", bad.into_bytes());

    // tile
    let with_path = |path: &str, data: &[u8]| [path.as_bytes(), b"\n", data].concat();
    let t300 = |p: &str| format!("tile/{p}");
    add(
        "tile",
        "tiles-300-0-000",
        with_path(
            &t300("0/000"),
            include_bytes!(concat!(
                "../../testdata/tlog-tiles-300/",
                "000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706/tile/0/000"
            )),
        ),
    );
    add(
        "tile",
        "tiles-300-0-001.p-44",
        with_path(
            &t300("0/001.p/44"),
            include_bytes!(concat!(
                "../../testdata/tlog-tiles-300/",
                "000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706/tile/0/001.p/44"
            )),
        ),
    );
    add(
        "tile",
        "tiles-300-1-000.p-1",
        with_path(
            &t300("1/000.p/1"),
            include_bytes!(concat!(
                "../../testdata/tlog-tiles-300/",
                "000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706/tile/1/000.p/1"
            )),
        ),
    );
    let entries = &known_logs()[1];
    let level0: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e).0).collect();
    let t = TileId::new(0, 0, 4).expect("a valid tile");
    add("tile", "entries-0-000.p-4", with_path(&t.path(), &level0));
    let bundle = encode_entry_bundle(entries).expect("small entries");
    add(
        "tile",
        "entries-bundle-000.p-4",
        with_path("tile/entries/000.p/4", &bundle),
    );
    let far = TileId::new(2, 1_234_067, 2).expect("a valid tile");
    add(
        "tile",
        "far-2-x001-x234-067.p-2",
        with_path(&far.path(), &[0xab; 64]),
    );
    let mut lookup = 300u64.to_be_bytes().to_vec();
    lookup.extend_from_slice(&tree::stored_hash_index(5, 8).to_be_bytes());
    add(
        "tile",
        "stored-hash-lookup",
        with_path("tile/0/001", &lookup),
    );

    // set_proof
    let [empty, doc_set, items] = known_sets() else {
        unreachable!("three known sets")
    };
    let x = ContentId::of(b"x");
    add(
        "set_proof",
        "doc-exclusion-before-first",
        json(&doc_set.exclusion_proof(&x).expect("x is not in the set")),
    );
    let hello_id = ContentId::of(b"hello");
    add(
        "set_proof",
        "doc-inclusion-hello",
        json(
            &doc_set
                .inclusion_proof(&hello_id)
                .expect("hello is in the set"),
        ),
    );
    let item3 = ContentId::of(b"item-3");
    add(
        "set_proof",
        "items-membership-included",
        json(&items.membership_proof(&item3).expect("a proof")),
    );
    add(
        "set_proof",
        "items-membership-excluded",
        json(&items.membership_proof(&x).expect("a proof")),
    );
    let after = ContentId([0xff; 32]);
    add(
        "set_proof",
        "items-exclusion-after-last",
        json(&items.membership_proof(&after).expect("a proof")),
    );
    add(
        "set_proof",
        "empty-exclusion",
        json(
            &empty
                .exclusion_proof(&x)
                .expect("nothing is in the empty set"),
        ),
    );
    let probe: Vec<ContentId> = [&b"x"[..], b"item-3", b"item-7", b"hello"]
        .into_iter()
        .map(ContentId::of)
        .collect();
    add(
        "set_proof",
        "items-multi",
        json(&items.multi_proof(&probe).expect("a proof")),
    );

    // compliance
    let doc_entries: Vec<Entry> = DOC_ENTRIES
        .iter()
        .map(|e| Entry::from_bytes(e.as_bytes()).expect("the documented entries are valid"))
        .collect();
    let bundle_entry = |i: usize| BundleEntry::new(&doc_entries[i], &entry_proofs[i]);
    let mut bundle = ComplianceBundle {
        checkpoint: entries_note.clone(),
        model_checkpoint: bundle_entry(3),
        datasets: vec![bundle_entry(1)],
        optouts: vec![bundle_entry(2)],
        optout_sets: Vec::new(),
        set_proofs: vec![BundleSetProof {
            dataset: "acme/greetings@1.0".into(),
            proof: doc_set.membership_proof(&hello_id).expect("a proof"),
        }],
        multi_proofs: Vec::new(),
        horizon_entry: None,
        source_proofs: Vec::new(),
        passage_optouts: Vec::new(),
        passage_proofs: Vec::new(),
    };
    add("compliance", "doc-entries-violated", json(&bundle));
    bundle.optouts.clear();
    add("compliance", "doc-entries-without-optouts", json(&bundle));

    // manifest: the worked example of docs/format-manifest.md, with and without metadata
    let hi = SetLeaf {
        cid: ContentId::of(b"hi"),
        size: 2,
        meta: Digest::default(),
    };
    let counts = ItemCounts {
        items: 2,
        bytes: 4,
        skipped: 0,
    };
    add(
        "manifest",
        "doc-example-meta-none",
        manifest(
            ManifestHeader::new("file", None, "none"),
            &[(hi, None)],
            counts,
        ),
    );
    let sources = leaf_meta_json([&br#"{"path":"a.txt"}"#[..], br#"{"path":"b.txt"}"#]);
    let hi_full = SetLeaf {
        meta: meta_digest(Some(&sources)),
        ..hi
    };
    add(
        "manifest",
        "doc-example-meta-full",
        manifest(
            ManifestHeader::new("file", None, "full"),
            &[(hi_full, Some(sources))],
            counts,
        ),
    );
    let mut item_leaves: Vec<(SetLeaf, Option<Vec<u8>>)> = set_items()
        .iter()
        .enumerate()
        .map(|(line, item)| {
            let entry = format!(
                r#"{{"line":{},"path":"items.jsonl","source":"https://e.x/{line}"}}"#,
                line + 1
            );
            let meta = leaf_meta_json([entry.as_bytes()]);
            let leaf = SetLeaf {
                cid: ContentId::of(item),
                size: item.len() as u64,
                meta: meta_digest(Some(&meta)),
            };
            (leaf, Some(meta))
        })
        .collect();
    item_leaves.sort_by_key(|(l, _)| l.cid);
    let mut header = ManifestHeader::new("jsonl", Some("text"), "full");
    header.meta_fields.insert("source".into(), "url".into());
    let items_counts = ItemCounts {
        items: 12,
        bytes: 80,
        skipped: 1,
    };
    let items_manifest = manifest(header.clone(), &item_leaves, items_counts);
    add("manifest", "items-meta-full", items_manifest.clone());
    // The same leaves with their source tree named in the header, and a header naming another.
    let mut tree = hasher::SourceTreeBuilder::new(1 << 20, None);
    for (leaf, meta) in &item_leaves {
        let m: serde_json::Value =
            serde_json::from_slice(meta.as_deref().expect("meta full")).expect("canonical JSON");
        tree.push_meta(&m, &leaf.cid).expect("in memory");
    }
    let tree = tree.finish().expect("sorted by the builder");
    let with_tree = manifest_with_sources(header, &item_leaves, items_counts, tree);
    add("manifest", "items-sources", with_tree.clone());
    let other = String::from_utf8(with_tree)
        .expect("a manifest is UTF-8")
        .replacen(&tree.root.to_hex(), &Digest([9; 32]).to_hex(), 1);
    add("manifest", "bad-sources-root", other.into_bytes());
    let empty_counts = ItemCounts::default();
    add(
        "manifest",
        "empty",
        manifest(
            ManifestHeader::new("lines", None, "none"),
            &[],
            empty_counts,
        ),
    );
    let text = String::from_utf8(items_manifest).expect("a manifest is UTF-8");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(2, 3);
    add(
        "manifest",
        "bad-unsorted",
        format!("{}\n", lines.join("\n")).into_bytes(),
    );

    // upload_request: the worked example of docs/formats.md, its anonymous form, a tampered one
    {
        use verifier::set::upload::{UploadFormat, UploadRequest};
        let doc_key = SigningKey::from_bytes(&[5u8; 32]);
        let anon =
            UploadRequest::anonymous(Digest([1; 32]), 3, UploadFormat::Leaves, 1_780_000_000)
                .and_then(|r| r.with_nonce(42))
                .expect("in range");
        let signed = anon.clone().signed(&doc_key).expect("signs");
        let signed_json = signed.to_json().expect("serialises");
        add("upload_request", "doc-example", signed_json.clone());
        add(
            "upload_request",
            "doc-example-anonymous",
            anon.to_json().expect("serialises"),
        );
        let manifest = UploadRequest::anonymous(
            Digest([0xab; 32]),
            1_000_000,
            UploadFormat::Manifest,
            1_780_000_000,
        )
        .and_then(|r| r.signed(&doc_key))
        .and_then(|r| r.to_json())
        .expect("signs");
        add("upload_request", "manifest-no-nonce", manifest);
        let tampered = String::from_utf8(signed_json)
            .expect("JSON is UTF-8")
            .replace("\"size\":3", "\"size\":4");
        add("upload_request", "bad-tampered-size", tampered.into_bytes());
    }

    // intoto_envelope: the fixture statement signed (pretty and compact), with a bogus
    // signature before the good one, under another payload type, and not an envelope.
    {
        use verifier::export::intoto::{Envelope, EnvelopeSignature};
        let env = Envelope::sign(
            &crate::checks::intoto_statement(),
            &crate::checks::intoto_key(),
        )
        .expect("signs");
        add(
            "intoto_envelope",
            "signed",
            serde_json::to_vec_pretty(&env).expect("json"),
        );
        add(
            "intoto_envelope",
            "compact",
            serde_json::to_vec(&env).expect("json"),
        );
        let mut two = env.clone();
        two.signatures.insert(
            0,
            EnvelopeSignature {
                keyid: "00".repeat(32),
                sig: "AAAA".into(),
            },
        );
        add(
            "intoto_envelope",
            "two-signatures",
            serde_json::to_vec(&two).expect("json"),
        );
        let mut other = env;
        other.payload_type = "application/json".into();
        add(
            "intoto_envelope",
            "other-payload-type",
            serde_json::to_vec(&other).expect("json"),
        );
        add(
            "intoto_envelope",
            "bad-not-an-envelope",
            br#"{"payload":1,"payloadType":"application/vnd.in-toto+json"}"#.to_vec(),
        );
    }

    // key_file: the example log key, a publisher key, the v1 fixture's ledger.key, CRLF and
    // no-newline spellings, and a wrong key id.
    {
        use verifier::keyfile::{print, PrivateKey};
        let log_seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let log_key = PrivateKey::new(LOG_ORIGIN, SigningKey::from_bytes(&log_seed))
            .expect("the log's name is a key name");
        let log_file = print(&log_key);
        add("key_file", "example-log-key", log_file.clone().into_bytes());
        let acme =
            PrivateKey::new("acme-labs", SigningKey::from_bytes(&[42; 32])).expect("a key name");
        add("key_file", "publisher-key", print(&acme).into_bytes());
        add(
            "key_file",
            "ledger-dir-v1",
            include_bytes!("../../testdata/ledger-dir-v1/ledger.key").to_vec(),
        );
        add(
            "key_file",
            "crlf",
            log_file.replace('\n', "\r\n").into_bytes(),
        );
        add(
            "key_file",
            "no-newline",
            log_file.trim_end().as_bytes().to_vec(),
        );
        let wrong = log_file.replacen(&format!("+{:08x}+", log_key.key_id()), "+00000000+", 1);
        add("key_file", "bad-wrong-key-id", wrong.into_bytes());
    }

    // consistency_proof: proofs between prefixes of the documented log, in both forms.
    {
        use verifier::consistency_proof::{print_json, print_text};
        let leaves: Vec<Digest> = known_logs()[1].iter().map(|e| leaf_hash(e)).collect();
        let tree = MemoryHashes::from_leaf_hashes(&leaves);
        let proof = |m: u64, n: u64| {
            tree::consistency_proof(TreeSize(m), TreeSize(n), &tree)
                .expect("a proof between two sizes of the tree")
        };
        for (m, n) in [(1, 4), (2, 4), (3, 4), (2, 3)] {
            add(
                "consistency_proof",
                &format!("text-{m}-{n}"),
                print_text(&proof(m, n)).into_bytes(),
            );
        }
        add(
            "consistency_proof",
            "json-1-3",
            print_json(&proof(1, 3)).into_bytes(),
        );
        let answer = serde_json::json!({
            "old": 2,
            "new": 4,
            "hashes": proof(2, 4).iter().map(Digest::to_hex).collect::<Vec<_>>(),
        });
        add(
            "consistency_proof",
            "api-answer-2-4",
            answer.to_string().into_bytes(),
        );
        let crlf = print_text(&proof(3, 4)).replace('\n', "\r\n\r\n");
        add("consistency_proof", "text-crlf-3-4", crlf.into_bytes());
        let short = print_text(&proof(1, 4))[4..].to_string();
        add("consistency_proof", "bad-short-hash", short.into_bytes());
    }

    // set_proof_file: every wrapping the CLI reads.
    {
        let [_, doc_set, items] = known_sets() else {
            unreachable!("three known sets")
        };
        let included = items
            .membership_proof(&ContentId::of(b"item-3"))
            .expect("a proof");
        let excluded = doc_set
            .membership_proof(&ContentId::of(b"x"))
            .expect("a proof");
        add(
            "set_proof_file",
            "printed-included",
            verifier::set::print_membership_proof(&included).into_bytes(),
        );
        add(
            "set_proof_file",
            "printed-excluded",
            verifier::set::print_membership_proof(&excluded).into_bytes(),
        );
        let bare = |p: &SetMembershipProof| {
            match p {
                SetMembershipProof::Included(p) => serde_json::to_value(p),
                SetMembershipProof::Excluded(p) => serde_json::to_value(p),
            }
            .expect("proofs serialise")
        };
        add(
            "set_proof_file",
            "bare-inclusion",
            bare(&included).to_string().into_bytes(),
        );
        add(
            "set_proof_file",
            "bare-exclusion",
            bare(&excluded).to_string().into_bytes(),
        );
        let answer = serde_json::json!({
            "dataset": "acme/items@1",
            "proof": bare(&included),
        });
        add(
            "set_proof_file",
            "api-answer",
            answer.to_string().into_bytes(),
        );
        add("set_proof_file", "bad-empty-object", b"{}".to_vec());
    }

    // range_proof: honest proofs over the known source trees (members, truncated, exclusions),
    // the worked examples of docs/formats.md among them, and a few refused ones.
    {
        use verifier::range::range_proof;
        let trees = crate::checks::known_range_trees();
        let ranges = crate::checks::known_ranges();
        for (t, tree) in trees.iter().enumerate() {
            for (k, range) in ranges.iter().enumerate() {
                for reveal in [0u64, 100] {
                    let p = range_proof(tree, range, reveal).expect("a proof");
                    add(
                        "range_proof",
                        &format!("tree{t}-range{k}-reveal{reveal}"),
                        serde_json::to_vec(&p).expect("a proof serialises"),
                    );
                }
            }
        }
        // Multi-range proofs (issue 14): some sorted, disjoint pairs of known ranges (the body
        // checks every pair).
        for (t, tree) in trees.iter().enumerate() {
            for (a, b) in crate::checks::disjoint_range_pairs().into_iter().step_by(7) {
                let p = verifier::range::range_multi_proof(
                    tree,
                    &[ranges[a].clone(), ranges[b].clone()],
                    1,
                )
                .expect("a proof");
                add(
                    "range_proof",
                    &format!("multi-tree{t}-ranges{a}-{b}-reveal1"),
                    serde_json::to_vec(&p).expect("a proof serialises"),
                );
            }
        }
        let p = range_proof(&trees[1], &ranges[0], 100).expect("a proof");
        let mut hidden = serde_json::to_value(&p).expect("a proof serialises");
        hidden["leaves"].as_array_mut().expect("leaves").remove(1);
        add(
            "range_proof",
            "bad-hidden-member",
            hidden.to_string().into_bytes(),
        );
        add("range_proof", "bad-empty-object", b"{}".to_vec());
        add(
            "range_proof",
            "bad-uppercase-leaf",
            br#"{"tree_size":1,"leaves":[{"index":0,"leaf":"0A"}],"hashes":[]}"#.to_vec(),
        );
    }

    out
}

fn manifest(
    header: ManifestHeader,
    leaves: &[(SetLeaf, Option<Vec<u8>>)],
    counts: ItemCounts,
) -> Vec<u8> {
    let mut w = ManifestWriter::new(std::io::Cursor::new(Vec::new()), header).expect("in memory");
    for (leaf, meta) in leaves {
        w.push(leaf, meta.as_deref())
            .expect("sorted leaves, matching metadata");
    }
    w.finish(counts).expect("in memory").1.into_inner()
}

fn manifest_with_sources(
    mut header: ManifestHeader,
    leaves: &[(SetLeaf, Option<Vec<u8>>)],
    counts: ItemCounts,
    tree: hasher::SourceTree,
) -> Vec<u8> {
    (header.sources_root, header.sources_size) = (Some(Digest::default()), Some(0));
    let mut w = ManifestWriter::new(std::io::Cursor::new(Vec::new()), header).expect("in memory");
    for (leaf, meta) in leaves {
        w.push(leaf, meta.as_deref())
            .expect("sorted leaves, matching metadata");
    }
    w.set_sources(tree.root, tree.size).expect("room reserved");
    w.finish(counts).expect("in memory").1.into_inner()
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("proofs and bundles serialise")
}
