//! Keeps docs/format-sets-entries.md honest: every worked example there is recomputed here and
//! must appear in the document verbatim. On failure the test prints every expected value.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use ed25519_dalek::SigningKey;
use ledger::entry::{
    CorpusMode, DatasetRef, DatasetVersion, Entry, EntryBody, ModelCheckpoint, Name, OptOut,
    OptOutIds, Publisher, Scope,
};
use ledger::set::{SetLeaf, SortedSet};
use ledger::{Blake3Set, ContentId, Digest, LeafIndex, TreeHasher};

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

/// (what, exact text that must appear in the document).
fn examples() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    // Set leaf: the item "hello", 5 bytes, no metadata.
    let hello = SetLeaf {
        cid: ContentId::of(b"hello"),
        size: 5,
        meta: Digest::default(),
    };
    out.push(("hello cid", hello.cid.to_string()));
    out.push(("hello leaf bytes", hex::encode(hello.to_bytes())));
    out.push(("hello leaf hash", hello.leaf_hash().to_hex()));
    let world = SetLeaf {
        cid: ContentId::of(b"world"),
        size: 5,
        meta: Digest::default(),
    };
    out.push(("world cid", world.cid.to_string()));
    out.push(("world leaf hash", world.leaf_hash().to_hex()));
    let mut leaves = vec![hello, world];
    leaves.sort_by_key(|l| l.cid);
    let set = SortedSet::new(leaves).unwrap();
    let node = Blake3Set::node_hash(&set.leaf_hashes()[0], &set.leaf_hashes()[1]);
    out.push(("two-leaf root", node.to_hex()));
    assert_eq!(node, set.root());
    out.push(("empty root", Blake3Set::empty_root().to_hex()));
    // Exclusion of "x" from {hello, world}.
    let x = ContentId::of(b"x");
    out.push(("x cid", x.to_string()));
    let p = set.exclusion_proof(&x).unwrap();
    out.push(("exclusion json", serde_json::to_string(&p).unwrap()));
    out.push(("exclusion case", format!("{:?}", p.case())));

    // Entries, signed with the test key whose 32 secret bytes are all 0x01.
    let k = SigningKey::from_bytes(&[1; 32]);
    out.push(("test public key", hex::encode(k.verifying_key().as_bytes())));
    let publisher = Entry::sign_v1(
        EntryBody::Publisher(Publisher {
            name: name("acme"),
            key: k.verifying_key(),
        }),
        1767225600,
        None,
        &k,
    )
    .unwrap();
    let dataset = Entry::sign_v1(
        EntryBody::DatasetVersion(DatasetVersion {
            publisher: name("acme"),
            dataset: name("greetings"),
            version: name("1.0"),
            manifest_root: set.root(),
            item_count: 2,
            total_bytes: 10,
            corpus_mode: CorpusMode::JsonLines {
                field: "text".into(),
            },
            licence: "CC0-1.0".into(),
            previous: None,
            sources: None,
            passages: None,
        }),
        1767225601,
        None,
        &k,
    )
    .unwrap();
    let optout = Entry::anonymous_v1(
        OptOut {
            ids: Some(OptOutIds::Inline(vec![ContentId::of(b"hello")])),
            sites: vec![],
            scope: vec![Scope::TrainAi],
            passages: None,
        },
        1767225602,
        Some(7),
    )
    .unwrap();
    let model = Entry::sign_v1(
        EntryBody::ModelCheckpoint(ModelCheckpoint {
            publisher: name("acme"),
            model: name("tiny"),
            checkpoint: name("step-1"),
            weights_root: Blake3Set::empty_root(),
            weights_count: 0,
            datasets: vec![DatasetRef {
                publisher: name("acme"),
                dataset: name("greetings"),
                version: name("1.0"),
                index: LeafIndex(1),
                manifest_root: set.root(),
            }],
            optout_horizon: 3,
        }),
        1767225603,
        None,
        &k,
    )
    .unwrap();
    for (what, e) in [
        ("publisher entry", &publisher),
        ("dataset_version entry", &dataset),
        ("optout entry", &optout),
        ("model_checkpoint entry", &model),
    ] {
        out.push((what, String::from_utf8(e.as_bytes().to_vec()).unwrap()));
        out.push((what, e.leaf_hash().to_hex()));
    }
    // The signed message of the publisher entry, in hex.
    let mut body: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(publisher.as_bytes()).unwrap();
    body.remove("sig");
    let mut msg = b"prov-ledger/v1\npublisher\n".to_vec();
    msg.extend(serde_json_canonicalizer::to_vec(&body).unwrap());
    out.push((
        "publisher signed message (text)",
        String::from_utf8(msg.clone()).unwrap().replace('\n', "\\n"),
    ));
    out.push(("publisher signed message hex", hex::encode(&msg)));

    // The same publisher entry as a v2 entry, bound to the log "example.org/log".
    let v2 = Entry::sign(
        "example.org/log",
        EntryBody::Publisher(Publisher {
            name: name("acme"),
            key: k.verifying_key(),
        }),
        1767225600,
        None,
        &k,
    )
    .unwrap();
    out.push((
        "v2 publisher entry",
        String::from_utf8(v2.as_bytes().to_vec()).unwrap(),
    ));
    out.push(("v2 publisher leaf hash", v2.leaf_hash().to_hex()));
    let mut body: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(v2.as_bytes()).unwrap();
    body.remove("sig");
    let mut msg = b"prov-ledger/v2\npublisher\n".to_vec();
    msg.extend(serde_json_canonicalizer::to_vec(&body).unwrap());
    out.push((
        "v2 publisher signed message (text)",
        String::from_utf8(msg.clone()).unwrap().replace('\n', "\\n"),
    ));
    out.push(("v2 publisher signed message hex", hex::encode(&msg)));
    let anon = Entry::anonymous(
        "example.org/log",
        OptOut {
            ids: Some(OptOutIds::Inline(vec![ContentId::of(b"hello")])),
            sites: vec![],
            scope: vec![Scope::TrainAi],
            passages: None,
        },
        1767225602,
        Some(7),
    )
    .unwrap();
    out.push((
        "v2 optout entry",
        String::from_utf8(anon.as_bytes().to_vec()).unwrap(),
    ));
    out
}

#[test]
fn documented_examples_match_the_code() {
    // The v1 examples are in format-sets-entries.md, the v2 ones in formats.md.
    let doc = [
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/format-sets-entries.md"
        ),
        concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/formats.md"),
    ]
    .map(|p| std::fs::read_to_string(p).unwrap_or_default())
    .concat();
    let doc_flat: String = doc.split_whitespace().collect();
    let ex = examples();
    let missing: Vec<&(&str, String)> = ex
        .iter()
        .filter(|(_, v)| {
            let flat: String = v.split_whitespace().collect();
            !doc_flat.contains(&flat)
        })
        .collect();
    if !missing.is_empty() {
        for (what, v) in &ex {
            println!("== {what}\n{v}");
        }
        panic!(
            "{} documented values drifted: {:?}",
            missing.len(),
            missing.iter().map(|m| m.0).collect::<Vec<_>>()
        );
    }
}
