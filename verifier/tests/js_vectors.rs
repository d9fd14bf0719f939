//! The explorer verifies set proofs, multi-proofs, signed notes, checkpoints and compliance
//! bundles in JavaScript (api/explorer/src/lib/{set,note,compliance}.js). This writes the
//! differential corpus its node test (api/explorer/test/differential.test.js) replays: the fuzz
//! seeds of `fuzz/corpus/{set_proof,note,checkpoint,compliance}`, proofs of every kind made here,
//! and mutations of both (a flipped byte, a dropped hash, swapped leaves, a wrong key, a tampered
//! body, extra signatures), each with what this crate decided. The committed file must be
//! current: `PROV_UPDATE_VECTORS=1 cargo test -p verifier --test js_vectors` rewrites it.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use verifier::compliance::{verify_bundle, ComplianceBundle};
use verifier::set::multi::{verify_multi, SetMultiProof};
use verifier::set::proof::{Membership, SetMembershipProof};
use verifier::set::{SetLeaf, SortedSet};
use verifier::{Checkpoint, ContentId, Digest, NoteSigner, VerifierKey};

/// The example log of the fuzz seeds (fuzz/src/checks.rs): its origin and key seed 0, 1, .., 31.
const LOG_ORIGIN: &str = "example.com/prov-log";
const C2SP_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const MIRROR_VKEY: &str =
    "mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O";

/// Holds the committed vectors file `rel` (from the repository root) equal to `text`;
/// `PROV_UPDATE_VECTORS=1` rewrites it.
fn check_current(rel: &str, text: &str) {
    let path = root_dir().join(rel);
    if std::env::var_os("PROV_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is stale: run `PROV_UPDATE_VECTORS=1 cargo test -p verifier --test js_vectors`",
        path.display()
    );
}

fn root_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn log_signer() -> NoteSigner {
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    NoteSigner::new(LOG_ORIGIN, SigningKey::from_bytes(&seed)).unwrap()
}

/// The seeds of one fuzz target, by file name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = root_dir().join("fuzz/corpus").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The sets of the fuzz seeds: empty, {hello, world}, item-0 .. item-10.
fn known_sets() -> Vec<(&'static str, SortedSet)> {
    let set = |items: Vec<Vec<u8>>| {
        let mut leaves: Vec<SetLeaf> = items
            .iter()
            .map(|i| SetLeaf {
                cid: ContentId::of(i),
                size: i.len() as u64,
                meta: Digest::default(),
            })
            .collect();
        leaves.sort_by_key(|l| l.cid);
        SortedSet::new(leaves).unwrap()
    };
    vec![
        ("empty", set(Vec::new())),
        (
            "hello-world",
            set(vec![b"hello".to_vec(), b"world".to_vec()]),
        ),
        (
            "items",
            set((0..11).map(|i| format!("item-{i}").into_bytes()).collect()),
        ),
    ]
}

fn cid(bytes: &[u8]) -> String {
    ContentId::of(bytes).to_string()
}

/// Flips the last hex digit of a 64-hex string (one byte of the hash changes).
fn flip_hex(s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    let last = c.len() - 1;
    c[last] = if c[last] == '0' { '1' } else { '0' };
    c.into_iter().collect()
}

/// Mutations of a membership proof in JSON (either variant, or a bare inclusion or exclusion).
fn membership_mutations(p: &Value) -> Vec<(&'static str, Value)> {
    let (kind, inner) = match p.as_object().and_then(|o| o.iter().next()) {
        Some((k, v)) if k == "included" || k == "excluded" => (k.clone(), v.clone()),
        _ => return Vec::new(),
    };
    let wrap = |v: Value| json!({ kind.clone(): v });
    let mut out = Vec::new();
    let mut size_up = inner.clone();
    size_up["tree_size"] = json!(size_up["tree_size"].as_u64().unwrap() + 1);
    out.push(("tree-size-plus-one", wrap(size_up)));
    let mut with_extra = inner.clone();
    with_extra["extra"] = json!(1);
    out.push(("unknown-field", wrap(with_extra)));
    if kind == "included" {
        let path = inner["path"].as_array().unwrap().clone();
        if let Some(h) = path.first() {
            let mut v = inner.clone();
            v["path"][0] = json!(flip_hex(h.as_str().unwrap()));
            out.push(("path-byte-flipped", wrap(v)));
            let mut v = inner.clone();
            v["path"].as_array_mut().unwrap().pop();
            out.push(("path-hash-dropped", wrap(v)));
            let mut v = inner.clone();
            v["path"]
                .as_array_mut()
                .unwrap()
                .push(json!(h.as_str().unwrap()));
            out.push(("path-hash-added", wrap(v)));
        }
        let mut v = inner.clone();
        v["index"] = json!(inner["index"].as_u64().unwrap() ^ 1);
        out.push(("index-swapped-with-sibling", wrap(v)));
        let mut v = inner.clone();
        v["leaf"]["size"] = json!(inner["leaf"]["size"].as_u64().unwrap() + 1);
        out.push(("leaf-size-changed", wrap(v)));
        let mut v = inner.clone();
        v["leaf"]["meta"] = json!(flip_hex(inner["leaf"]["meta"].as_str().unwrap()));
        out.push(("leaf-meta-flipped", wrap(v)));
        let mut v = inner.clone();
        v["leaf"]["extra"] = json!(1);
        out.push(("leaf-unknown-field", wrap(v)));
        let mut v = inner.clone();
        v["leaf"]["cid"] = json!(inner["leaf"]["cid"].as_str().unwrap().to_uppercase());
        out.push(("leaf-cid-uppercase", wrap(v)));
    } else {
        let mut v = inner.clone();
        v["id"] = json!(flip_hex(inner["id"].as_str().unwrap()));
        out.push(("id-byte-flipped", wrap(v)));
        let (l, r) = (inner.get("left").cloned(), inner.get("right").cloned());
        if let (Some(l), Some(r)) = (&l, &r) {
            let mut v = inner.clone();
            v["left"] = r.clone();
            v["right"] = l.clone();
            out.push(("neighbours-swapped", wrap(v)));
            let mut v = inner.clone();
            v.as_object_mut().unwrap().remove("left");
            out.push(("left-dropped", wrap(v)));
            let mut v = inner.clone();
            v.as_object_mut().unwrap().remove("right");
            out.push(("right-dropped", wrap(v)));
        }
        for side in ["left", "right"] {
            let Some(n) = inner.get(side) else { continue };
            if let Some(h) = n["path"].as_array().and_then(|p| p.first()) {
                let mut v = inner.clone();
                v[side]["path"][0] = json!(flip_hex(h.as_str().unwrap()));
                out.push((
                    if side == "left" {
                        "left-path-byte-flipped"
                    } else {
                        "right-path-byte-flipped"
                    },
                    wrap(v),
                ));
                let mut v = inner.clone();
                v[side]["path"].as_array_mut().unwrap().pop();
                out.push((
                    if side == "left" {
                        "left-path-hash-dropped"
                    } else {
                        "right-path-hash-dropped"
                    },
                    wrap(v),
                ));
            }
        }
        if l.is_none() && r.is_none() {
            let mut v = inner.clone();
            v["tree_size"] = json!(0);
            out.push(("empty-restated", wrap(v)));
        }
    }
    out
}

/// Mutations of a multi-proof in JSON.
fn multi_mutations(p: &Value) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let hashes = p["hashes"].as_array().unwrap();
    if let Some(h) = hashes.first() {
        let mut v = p.clone();
        v["hashes"][0] = json!(flip_hex(h.as_str().unwrap()));
        out.push(("hash-byte-flipped", v));
        let mut v = p.clone();
        v["hashes"].as_array_mut().unwrap().pop();
        out.push(("hash-dropped", v));
        let mut v = p.clone();
        v["hashes"].as_array_mut().unwrap().push(h.clone());
        out.push(("hash-added", v));
    }
    let leaves = p["leaves"].as_array().unwrap();
    if leaves.len() >= 2 {
        let mut v = p.clone();
        v["leaves"].as_array_mut().unwrap().swap(0, 1);
        out.push(("leaves-swapped", v));
        let mut v = p.clone();
        let (a, b) = (leaves[0]["leaf"].clone(), leaves[1]["leaf"].clone());
        v["leaves"][0]["leaf"] = b;
        v["leaves"][1]["leaf"] = a;
        out.push(("leaf-bodies-swapped", v));
    }
    if !leaves.is_empty() {
        let mut v = p.clone();
        v["leaves"].as_array_mut().unwrap().remove(0);
        out.push(("first-leaf-dropped", v));
        let mut v = p.clone();
        let last = leaves.len() - 1;
        v["leaves"].as_array_mut().unwrap().remove(last);
        out.push(("last-leaf-dropped", v));
        let mut v = p.clone();
        v["leaves"][0]["leaf"]["meta"] =
            json!(flip_hex(leaves[0]["leaf"]["meta"].as_str().unwrap()));
        out.push(("leaf-meta-flipped", v));
    }
    let mut v = p.clone();
    v["tree_size"] = json!(p["tree_size"].as_u64().unwrap() + 1);
    out.push(("tree-size-plus-one", v));
    let mut v = p.clone();
    v["extra"] = json!(1);
    out.push(("unknown-field", v));
    if !leaves.is_empty() {
        let mut v = p.clone();
        v["leaves"][0]["extra"] = json!(1);
        out.push(("leaf-position-unknown-field", v));
    }
    out
}

fn membership_verdict(proof: &Value, id: &str, set: &SortedSet) -> Value {
    let Ok(p) = serde_json::from_value::<SetMembershipProof>(proof.clone()) else {
        return json!({"ok": false, "why": "does not parse"});
    };
    let Ok(id) = id.parse::<ContentId>() else {
        return json!({"ok": false, "why": "bad id"});
    };
    match p.verify(&id, &set.root(), set.size()) {
        Ok(Membership::Included) => json!({"ok": true, "membership": "included"}),
        Ok(Membership::Excluded) => json!({"ok": true, "membership": "excluded"}),
        Err(e) => json!({"ok": false, "why": e.to_string()}),
    }
}

fn multi_verdict(proof: &Value, ids: &[String], set: &SortedSet) -> Value {
    let Ok(p) = serde_json::from_value::<SetMultiProof>(proof.clone()) else {
        return json!({"ok": false, "why": "does not parse"});
    };
    let ids: Vec<ContentId> = ids.iter().map(|i| i.parse().unwrap()).collect();
    match verify_multi(&p, &ids, &set.root(), set.size()) {
        Ok(ms) => json!({
            "ok": true,
            "memberships": ms.iter().map(|m| match m {
                Membership::Included => "included",
                Membership::Excluded => "excluded",
            }).collect::<Vec<_>>(),
        }),
        Err(e) => json!({"ok": false, "why": e.to_string()}),
    }
}

/// Every membership vector: each seed and each generated proof, with its mutations, against
/// every known set, for the id it is about and for one it is not.
fn membership_vectors(sets: &[(&str, SortedSet)]) -> Vec<Value> {
    let mut proofs: Vec<(String, Value)> = Vec::new();
    for (name, bytes) in seeds("set_proof") {
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        if v.get("leaves").is_some() {
            continue; // a multi-proof
        }
        let v = if v.get("included").is_some() || v.get("excluded").is_some() {
            v
        } else if v.get("id").is_some() {
            json!({ "excluded": v })
        } else {
            json!({ "included": v })
        };
        proofs.push((format!("seed:{name}"), v));
    }
    // Every kind, made here: inclusion of the first, a middle and the last leaf; exclusion
    // from the empty set, before the first, between two leaves and after the last.
    let (_, items) = &sets[2];
    let leaves = items.leaves();
    let first = leaves[0].cid;
    let last = leaves[leaves.len() - 1].cid;
    let mut between = leaves[4].cid;
    between.0[31] = between.0[31].wrapping_add(1);
    let mut before = first;
    before.0[31] = before.0[31].wrapping_sub(1);
    let mut after = last;
    after.0[31] = after.0[31].wrapping_add(1);
    let made = [
        ("items", "included-first", first),
        ("items", "included-middle", leaves[5].cid),
        ("items", "included-last", last),
        ("items", "excluded-before-first", before),
        ("items", "excluded-between", between),
        ("items", "excluded-after-last", after),
        ("empty", "excluded-empty", ContentId::of(b"x")),
        ("hello-world", "excluded-between-2", ContentId::of(b"x")),
    ];
    for (set, name, id) in made {
        let s = &sets.iter().find(|(n, _)| *n == set).unwrap().1;
        let p = s.membership_proof(&id).unwrap();
        proofs.push((
            format!("made:{set}:{name}"),
            serde_json::to_value(&p).unwrap(),
        ));
    }

    let mut out = Vec::new();
    for (name, proof) in proofs {
        let id = serde_json::from_value::<SetMembershipProof>(proof.clone())
            .unwrap()
            .id()
            .to_string();
        // The set the proof is about (where it verifies as it is): its mutations go against
        // that one only; the proof as it is against every set, for its id and another.
        let home = sets
            .iter()
            .position(|(_, s)| membership_verdict(&proof, &id, s)["ok"] == json!(true));
        let mut variants = vec![("as-is", proof.clone())];
        variants.extend(membership_mutations(&proof));
        for (mutation, p) in variants {
            for (k, (set_name, set)) in sets.iter().enumerate() {
                for (about, cid) in [("its-id", id.clone()), ("other-id", cid(b"never"))] {
                    if mutation != "as-is" && (about == "other-id" || home.is_some_and(|h| h != k))
                    {
                        continue;
                    }
                    out.push(json!({
                        "name": format!("{name} {mutation} vs {set_name} for {about}"),
                        "proof": p,
                        "cid": cid,
                        "set": set_name,
                        "expect": membership_verdict(&p, &cid, set),
                    }));
                }
            }
        }
    }
    out
}

fn multi_vectors(sets: &[(&str, SortedSet)]) -> Vec<Value> {
    let (_, items) = &sets[2];
    let leaves = items.leaves();
    let mut gap = leaves[6].cid;
    gap.0[31] = gap.0[31].wrapping_add(1);
    let ids = vec![
        leaves[0].cid,
        leaves[3].cid,
        gap,
        leaves[10].cid,
        ContentId::of(b"hello"),
    ];
    let mut proofs: Vec<(String, Value, Vec<String>)> = Vec::new();
    for (name, bytes) in seeds("set_proof") {
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        if v.get("leaves").is_none() {
            continue;
        }
        let p: SetMultiProof = serde_json::from_value(v.clone()).unwrap();
        // The ids it reveals, and their neighbours.
        let mut seed_ids: Vec<String> = p.leaves.iter().map(|l| l.leaf.cid.to_string()).collect();
        seed_ids.push(ContentId::of(b"item-3").to_string());
        seed_ids.push(ContentId::of(b"hello").to_string());
        proofs.push((format!("seed:{name}"), v, seed_ids));
    }
    let made = items.multi_proof(&ids).unwrap();
    let id_strings: Vec<String> = ids.iter().map(ToString::to_string).collect();
    proofs.push((
        "made:items".into(),
        serde_json::to_value(&made).unwrap(),
        id_strings,
    ));
    let hw = &sets[1].1;
    let hw_ids = [ContentId::of(b"hello"), ContentId::of(b"x")];
    proofs.push((
        "made:hello-world".into(),
        serde_json::to_value(hw.multi_proof(&hw_ids).unwrap()).unwrap(),
        hw_ids.iter().map(ToString::to_string).collect(),
    ));
    let empty = &sets[0].1;
    proofs.push((
        "made:empty".into(),
        serde_json::to_value(empty.multi_proof(&hw_ids).unwrap()).unwrap(),
        hw_ids.iter().map(ToString::to_string).collect(),
    ));

    let mut out = Vec::new();
    for (name, proof, ids) in proofs {
        let mut variants = vec![("as-is", proof.clone())];
        variants.extend(multi_mutations(&proof));
        let home = sets
            .iter()
            .position(|(_, s)| multi_verdict(&proof, &ids, s)["ok"] == json!(true));
        for (mutation, p) in variants {
            for (k, (set_name, set)) in sets.iter().enumerate() {
                if mutation != "as-is" && home.is_some_and(|h| h != k) {
                    continue;
                }
                out.push(json!({
                    "name": format!("{name} {mutation} vs {set_name}"),
                    "proof": p,
                    "ids": ids,
                    "set": set_name,
                    "expect": multi_verdict(&p, &ids, set),
                }));
            }
            // An id the proof does not reveal: undecided unless its neighbours are there.
            let mut more = ids.clone();
            more.push(cid(b"item-7"));
            let set = &sets[2].1;
            out.push(json!({
                "name": format!("{name} {mutation} vs items with item-7"),
                "proof": p,
                "ids": more,
                "set": "items",
                "expect": multi_verdict(&p, &more, set),
            }));
        }
    }
    out
}

/// Notes and checkpoints: the seeds, and a wrong key, a tampered body, extra signatures.
fn note_vectors() -> (Value, Vec<Value>, Vec<Value>) {
    let log = log_signer();
    let log_vkey = log.verifier_key().to_string();
    let impostor = NoteSigner::new(LOG_ORIGIN, SigningKey::from_bytes(&[9; 32])).unwrap();
    let witness = NoteSigner::new("example.com/witness", SigningKey::from_bytes(&[2; 32])).unwrap();
    let keys = [
        ("log", log_vkey.clone()),
        ("impostor", impostor.verifier_key().to_string()),
        ("witness", witness.verifier_key().to_string()),
        ("c2sp", C2SP_VKEY.to_string()),
        ("mirror", MIRROR_VKEY.to_string()),
    ];

    let mut texts: Vec<(String, String)> = Vec::new();
    for target in ["note", "checkpoint"] {
        for (name, bytes) in seeds(target) {
            let Ok(s) = String::from_utf8(bytes) else {
                continue;
            };
            texts.push((format!("seed:{target}/{name}"), s));
        }
    }
    let body = format!("{LOG_ORIGIN}\n5\n{}\n", Digest([7; 32]).to_base64());
    let signed = log.sign(&body).unwrap();
    let sig_line = |n: &str| n[n.rfind("\n\n").unwrap() + 2..].to_string();
    let by_witness = witness.sign(&body).unwrap();
    let by_impostor = impostor.sign(&body).unwrap();
    let mut made = vec![
        ("made:signed", signed.clone()),
        ("made:tampered-size", signed.replacen("\n5\n", "\n6\n", 1)),
        (
            "made:tampered-origin",
            signed.replacen("prov-log\n", "prov-log2\n", 1),
        ),
        (
            "made:extra-signature-after",
            format!("{signed}{}", sig_line(&by_witness)),
        ),
        (
            "made:extra-signature-before",
            format!("{body}\n{}{}", sig_line(&by_witness), sig_line(&signed)),
        ),
        (
            "made:impostor-line-too",
            format!("{signed}{}", sig_line(&by_impostor)),
        ),
        ("made:only-impostor", by_impostor.clone()),
        (
            "made:signature-twice",
            format!("{signed}{}", sig_line(&signed)),
        ),
        ("made:no-final-newline", signed.trim_end().to_string()),
        ("made:crlf", signed.replace('\n', "\r\n")),
        (
            "made:extension-line",
            log.sign(&format!("{body}ext one\n")).unwrap(),
        ),
        (
            "made:leading-zero-size",
            log.sign(&body.replacen("\n5\n", "\n05\n", 1)).unwrap(),
        ),
        (
            "made:short-root",
            log.sign(&format!("{LOG_ORIGIN}\n5\nAAAA\n")).unwrap(),
        ),
        ("made:plain-text", log.sign("hello\nworld\n").unwrap()),
    ];
    // A flipped byte in the signature: the last base64 digit before the newline.
    let mut flipped = signed.clone().into_bytes();
    let at = flipped.len() - 3;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    made.push((
        "made:signature-byte-flipped",
        String::from_utf8(flipped).unwrap(),
    ));
    // A bad line by the log key before its good one.
    let flipped_line = sig_line(made.last().map(|(_, t)| t.as_str()).unwrap());
    made.push((
        "made:bad-line-then-good",
        format!("{body}\n{flipped_line}{}", sig_line(&signed)),
    ));
    // The same signature bytes in non-canonical base64: the low (padding) bit of the last digit.
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut loose = signed.clone().into_bytes();
    let at = loose.len() - 3;
    let v = B64.iter().position(|c| *c == loose[at]).unwrap();
    loose[at] = B64[v ^ 1];
    made.push((
        "made:non-canonical-base64",
        String::from_utf8(loose).unwrap(),
    ));
    made.push((
        "made:trailing-space",
        format!("{} \n", signed.trim_end_matches('\n')),
    ));
    let many: String = (0..101).map(|_| sig_line(&by_witness)).collect();
    made.push(("made:101-signatures", format!("{signed}{many}")));
    for (name, text) in [
        ("made:unicode-body", "h\u{e9}llo \u{2014} \u{2713}\n"),
        ("made:blank-line-in-body", "a\n\nb\n"),
        ("made:tab-in-body", "a\tb\n"),
        ("made:cr-in-body", "a\rb\n"),
        ("made:body-without-newline", "abc"),
    ] {
        match log.sign(text) {
            Ok(t) => made.push((name, t)),
            // The signer refuses it: the same signature by hand.
            Err(_) => {
                let t = log.sign("x\n").unwrap();
                made.push((name, format!("{text}\n{}", sig_line(&t))));
            }
        }
    }
    texts.extend(made.into_iter().map(|(n, t)| (n.to_string(), t)));

    let mut notes = Vec::new();
    let mut checkpoints = Vec::new();
    for (name, text) in &texts {
        for (key_name, vkey) in &keys {
            let key = VerifierKey::parse(vkey).unwrap();
            let note = match verifier::verify_note(text, &key) {
                Ok(t) => json!({"ok": true, "text": t}),
                Err(e) => json!({"ok": false, "why": e.to_string()}),
            };
            // Only the cases where a key could verify are worth replaying for every key.
            notes.push(json!({
                "name": format!("{name} with {key_name}"),
                "note": name,
                "vkey": vkey,
                "expect": note,
            }));
            let cp = match Checkpoint::verify(text, &key) {
                Ok(c) => json!({
                    "ok": true,
                    "origin": c.origin,
                    "size": c.size.0,
                    "root": c.root.to_base64(),
                }),
                Err(e) => json!({"ok": false, "why": e.to_string()}),
            };
            checkpoints.push(json!({
                "name": format!("{name} with {key_name}"),
                "note": name,
                "vkey": vkey,
                "expect": cp,
            }));
        }
    }
    let texts: serde_json::Map<String, Value> =
        texts.into_iter().map(|(n, t)| (n, json!(t))).collect();
    (Value::Object(texts), notes, checkpoints)
}

/// The compliance seeds (bundles about the log of the fuzz seeds), and mutations.
fn compliance_vectors() -> Vec<Value> {
    let key = log_signer().verifier_key();
    let mut out = Vec::new();
    for (name, bytes) in seeds("compliance") {
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let mut variants = vec![("as-is".to_string(), v.clone())];
        for field in ["optouts", "set_proofs", "multi_proofs", "datasets"] {
            if v[field].as_array().is_some_and(|a| !a.is_empty()) {
                let mut m = v.clone();
                m[field].as_array_mut().unwrap().pop();
                variants.push((format!("{field}-last-dropped"), m));
            }
        }
        if let Some(mp) = v["multi_proofs"].as_array().and_then(|a| a.first()) {
            for (mutation, p) in multi_mutations(&mp["proof"]) {
                let mut m = v.clone();
                m["multi_proofs"][0]["proof"] = p;
                variants.push((format!("multi-proof-{mutation}"), m));
            }
        }
        if let Some(sp) = v["set_proofs"].as_array().and_then(|a| a.first()) {
            for (mutation, p) in membership_mutations(&sp["proof"]) {
                let mut m = v.clone();
                m["set_proofs"][0]["proof"] = p;
                variants.push((format!("set-proof-{mutation}"), m));
            }
        }
        for (mutation, b) in variants {
            let expect = match serde_json::from_value::<ComplianceBundle>(b.clone()) {
                Err(_) => json!({"ok": false, "why": "does not parse"}),
                Ok(bundle) => match verify_bundle(&bundle, &key) {
                    Ok(verdict) => json!({"ok": true, "verdict": verdict}),
                    Err(e) => json!({"ok": false, "why": e.to_string()}),
                },
            };
            out.push(json!({
                "name": format!("seed:compliance/{name} {mutation}"),
                "bundle": b,
                "expect": expect,
            }));
        }
    }
    out
}

#[test]
fn explorer_differential_vectors_are_current() {
    let sets = known_sets();
    let (note_texts, notes, checkpoints) = note_vectors();
    let doc = json!({
        "about": "generated by verifier/tests/js_vectors.rs explorer_differential_vectors_are_current; do not edit",
        "log_vkey": log_signer().verifier_key().to_string(),
        "sets": sets.iter().map(|(n, s)| (n.to_string(), json!({
            "root": s.root().to_hex(),
            "size": s.size().0,
        }))).collect::<serde_json::Map<_, _>>(),
        "membership": membership_vectors(&sets),
        "multi": multi_vectors(&sets),
        "note_texts": note_texts,
        "notes": notes,
        "checkpoints": checkpoints,
        "compliance": compliance_vectors(),
    });
    let text = serde_json::to_string(&doc).unwrap() + "\n";
    assert!(text.len() < 1_000_000, "{} bytes", text.len());
    check_current("api/explorer/test/vectors/differential.json", &text);
}

// ---- Issue 13: source keys, sites and range proofs (api/explorer/test/vectors/sources.json,
// replayed by api/explorer/test/sources.test.js against lib/source.js and lib/range.js). ----

/// URIs whose keys the explorer must compute exactly as Rust does: the SPEC13 examples, case,
/// trailing dots, IDNA, ports, IPv4 in its odd spellings, IPv6, userinfo, fragments, queries,
/// percent-encoding, non-http schemes, and a URL long enough to be cut.
fn source_key_uris() -> Vec<String> {
    let mut v: Vec<String> = [
        "https://www.Example.com/a/b?x=1#f",
        "http://example.com",
        "https://例え.jp/",
        "ftp://x.org/",
        "not a url",
        "",
        "https://EXAMPLE.com./x",
        "https://example.com../x",
        "https://example.com/",
        "https://example.com",
        "https://example.com/?",
        "https://example.com/#frag",
        "https://example.com/a?b=c&d=e#f",
        "http://user:pass@example.com/private",
        "https://example.com:443/",
        "http://example.com:80/",
        "https://example.com:8443/p",
        "http://example.com:443/",
        "https://example.com:65535/",
        "http://1.2.3.4/x",
        "http://0x7f.1/",
        "http://127.1/",
        "http://[::1]:8080/",
        "http://[2001:DB8::1]/",
        "https://bücher.de/straße",
        "https://xn--bcher-kva.de/",
        "https://example.com/caf\u{e9}?q=\u{fc}ber",
        "https://example.com/a b",
        "https://example.com/%7Efoo",
        "https://example.com/a/../b/./c",
        "HTTPS://WWW.EXAMPLE.COM/UPPER",
        "https://notexample.com/",
        "https://example.com.evil.net/",
        "https://sub.sub.example.co.uk/deep/path/",
        "mailto:someone@example.com",
        "file:///etc/passwd",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "wss://example.com/socket",
        "//example.com/relative",
        "example.com",
        "https://",
        "http://a_b.example.com/",
        "https://example.com/\ttab",
        "  https://example.com/trimmed  ",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("https://example.com/{}", "a".repeat(1100)));
    v
}

/// Site strings: domains and URL prefixes, canonical or not, and refused ones.
const SITE_INPUTS: &[&str] = &[
    "example.com",
    "EXAMPLE.com.",
    "www.example.com",
    "例え.jp",
    "xn--r8jz45g.jp",
    "a.b.c",
    "a_b.example.com",
    "exa%6Dple.com",
    "https://example.com/blog",
    "HTTPS://Example.com/blog#x",
    "https://example.com./a",
    "https://e.com",
    "https://e.com:8443/a?b=c",
    "http://example.com/blog/",
    "com",
    "1.2.3.4",
    "3.4",
    "[::1]",
    "example.com/x",
    "user@example.com",
    "example.com:80",
    "exa mple.com",
    "",
    "*.example.com",
    "a..example.com",
    "ftp://e.com/",
    "https://1.2.3.4/",
    "https://[::1]/",
    "https://u@e.com/",
    "https://localhost/",
    "https://",
];

fn site_vectors() -> Vec<Value> {
    use verifier::source::Site;
    let mut long = "a".repeat(64);
    long.push_str(".com");
    let inputs: Vec<String> = SITE_INPUTS
        .iter()
        .map(|s| s.to_string())
        .chain([long])
        .collect();
    inputs
        .iter()
        .map(|input| match Site::parse(input) {
            Ok(s) => json!({
                "input": input,
                "site": s.to_string(),
                "canonical": s.to_string() == *input,
                "kind": match s { Site::Domain(_) => "domain", Site::UrlPrefix(_) => "url_prefix" },
                "prefix": s.prefix(),
            }),
            Err(e) => json!({"input": input, "site": null, "error": e.to_string()}),
        })
        .collect()
}

/// The source tree the range-proof vectors are made over, and a second one (another version).
fn vector_tree(seed: &str, urls: &[Option<&str>]) -> verifier::range::RangeTree {
    use verifier::range::{RangeLeaf, RangeTree};
    use verifier::source::{source_key, SourceKey};
    RangeTree::from_unsorted(
        urls.iter()
            .enumerate()
            .map(|(i, u)| {
                let key = u.map_or_else(SourceKey::none, source_key);
                RangeLeaf::source(&key, &ContentId::of(format!("{seed} {i}").as_bytes()))
            })
            .collect(),
    )
}

const TREE_URLS: &[Option<&str>] = &[
    Some("https://a.org/"),
    Some("https://example.com/"),
    Some("https://example.com/blog/1"),
    Some("https://example.com/blog/2"),
    Some("https://example.com/blog-post"),
    Some("https://www.example.com/x"),
    Some("https://shop.example.com:8443/y"),
    Some("https://notexample.com/"),
    Some("https://example.com.evil.net/"),
    Some("https://example.co/"),
    Some("https://zzz.net/"),
    Some("http://1.2.3.4/"),
    Some("http://[::1]/"),
    None,
    None,
    Some("https://例え.jp/"),
    Some("https://m.org/1"),
    Some("https://m.org/2"),
    Some("https://m.org/3"),
    Some("https://m.org/4"),
    Some("https://m.org/5"),
    Some("https://m.org/6"),
];

fn range_json(r: &verifier::range::Range) -> Value {
    json!({"lo": hex::encode(r.lo()), "hi": r.hi().map(hex::encode)})
}

/// What Rust decides for `proof` over (`root`, `size`, `range`), as the vector's `expect`.
fn range_expect(root: &Digest, size: u64, range: &verifier::range::Range, proof: &Value) -> Value {
    use verifier::range::{verify_range, RangeProof};
    let parsed: Result<RangeProof, _> = serde_json::from_value(proof.clone());
    let Ok(p) = parsed else {
        return json!({"ok": false, "error": "the proof does not parse"});
    };
    match verify_range(root, verifier::TreeSize(size), range, &p) {
        Ok(m) => json!({
            "ok": true,
            "start": m.start,
            "count": m.count,
            "revealed": m.revealed.iter().map(|(i, l)| json!({"index": i.0, "leaf": l.to_hex()})).collect::<Vec<_>>(),
        }),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}

/// Mutations a dishonest server could send, as JSON edits of an honest proof.
fn range_mutations(p: &Value) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let leaves = p["leaves"].as_array().cloned().unwrap_or_default();
    let hashes = p["hashes"].as_array().cloned().unwrap_or_default();
    if !leaves.is_empty() {
        let mut m = p.clone();
        let l = m["leaves"][0]["leaf"].as_str().unwrap().to_string();
        m["leaves"][0]["leaf"] = json!(flip_hex(&l));
        out.push(("flipped-leaf-bit", m));
        let mut m = p.clone();
        m["leaves"][0]["leaf"] = json!(l.to_uppercase());
        out.push(("uppercase-leaf-hex", m));
    }
    if !hashes.is_empty() {
        let mut m = p.clone();
        m["hashes"][0] = json!(flip_hex(hashes[0].as_str().unwrap()));
        out.push(("flipped-hash-bit", m));
        let mut m = p.clone();
        m["hashes"].as_array_mut().unwrap().pop();
        out.push(("dropped-hash", m));
    }
    let mut m = p.clone();
    m["hashes"]
        .as_array_mut()
        .unwrap()
        .push(json!("00".repeat(32)));
    out.push(("extra-hash", m));
    let mut m = p.clone();
    m["tree_size"] = json!(p["tree_size"].as_u64().unwrap() + 1);
    out.push(("wrong-tree-size", m));
    if leaves.len() >= 2 {
        let mut m = p.clone();
        m["leaves"].as_array_mut().unwrap().swap(0, 1);
        out.push(("swapped-leaves", m));
        let mut m = p.clone();
        let (a, b) = (leaves[0]["leaf"].clone(), leaves[1]["leaf"].clone());
        m["leaves"][0]["leaf"] = b;
        m["leaves"][1]["leaf"] = a;
        out.push(("swapped-leaf-bytes", m));
    }
    if leaves.len() >= 3 {
        // Dropping a middle leaf changes the hashes needed: refused (it never rebuilds).
        let mut m = p.clone();
        m["leaves"].as_array_mut().unwrap().remove(1);
        out.push(("dropped-middle-leaf", m));
    }
    let mut m = p.clone();
    m["extra"] = json!(1);
    out.push(("unknown-field", m));
    out
}

/// A proof revealing exactly `indices` of `tree`, with the hashes that rebuild its real root:
/// what a server hiding an in-range leaf would build.
fn reveal_only(tree: &verifier::range::RangeTree, indices: &[u64]) -> Value {
    use verifier::range::RangeSource;
    // The helper positions of rs_merkle's layout (as verifier/src/set/multi.rs computes them).
    let n = tree.size().0;
    let mut hashes = Vec::new();
    let mut cur = indices.to_vec();
    let (mut width, mut level) = (n, 0u32);
    while width > 1 && !cur.is_empty() {
        let mut i = 0;
        while i < cur.len() {
            let x = cur[i];
            if x & 1 == 0 && cur.get(i + 1) == Some(&(x + 1)) {
                i += 2;
                continue;
            }
            if (x ^ 1) < width {
                hashes.push(tree.node(level, x ^ 1).unwrap().to_hex());
            }
            i += 1;
        }
        cur.iter_mut().for_each(|x| *x >>= 1);
        cur.dedup();
        width = width.div_ceil(2);
        level += 1;
    }
    json!({
        "tree_size": n,
        "leaves": indices.iter().map(|&i| json!({"index": i, "leaf": tree.leaves()[i as usize].to_hex()})).collect::<Vec<_>>(),
        "hashes": hashes,
    })
}

fn range_proof_vectors() -> Vec<Value> {
    use verifier::range::{range_proof, Range, RangeTree};
    use verifier::source::Site;
    let tree = vector_tree("doc", TREE_URLS);
    let other = vector_tree("other", &TREE_URLS[..10]);
    let empty = RangeTree::new(vec![]).unwrap();
    let late = vector_tree("late", &[Some("https://m.org/"), Some("https://n.org/")]);
    let mut out = Vec::new();
    let mut case = |name: String,
                    t: &RangeTree,
                    root: &Digest,
                    size: u64,
                    site: Option<&str>,
                    range: &Range,
                    proof: Value| {
        let expect = range_expect(root, size, range, &proof);
        let mut v = json!({
            "name": name,
            "root": root.to_hex(),
            "size": size,
            "proof": proof,
            "expect": expect,
        });
        match site {
            Some(s) => v["site"] = json!(s),
            None => v["range"] = range_json(range),
        }
        let _ = t;
        out.push(v);
    };
    let site = |s: &str| Range::site(&Site::parse(s).unwrap());
    // Honest proofs: members, truncated reveals, and exclusions in every position.
    for s in [
        "example.com",
        "www.example.com",
        "https://example.com/blog",
        "https://example.com/blog/",
        "notexample.com",
        "example.co",
        "m.org",
        "xn--r8jz45g.jp",
        "absent.example",
        "aaa.aaa",
        "zzzz.zzzz",
    ] {
        for reveal in [0u64, 2, 100] {
            let p = serde_json::to_value(range_proof(&tree, &site(s), reveal).unwrap()).unwrap();
            case(
                format!("{s} reveal {reveal}"),
                &tree,
                &tree.root(),
                tree.size().0,
                Some(s),
                &site(s),
                p,
            );
        }
    }
    let p = serde_json::to_value(range_proof(&empty, &site("example.com"), 10).unwrap()).unwrap();
    case(
        "empty tree".into(),
        &empty,
        &empty.root(),
        0,
        Some("example.com"),
        &site("example.com"),
        p,
    );
    let p = serde_json::to_value(range_proof(&late, &site("a.com"), 10).unwrap()).unwrap();
    case(
        "before the first leaf".into(),
        &late,
        &late.root(),
        2,
        Some("a.com"),
        &site("a.com"),
        p,
    );
    // Raw ranges: the no-source items (an exact key), and everything.
    let none = Range::exact_key(&verifier::source::SourceKey::none());
    let p = serde_json::to_value(range_proof(&tree, &none, 10).unwrap()).unwrap();
    case(
        "no-source items".into(),
        &tree,
        &tree.root(),
        tree.size().0,
        None,
        &none,
        p,
    );
    let all = Range::prefix(b"");
    let p = serde_json::to_value(range_proof(&tree, &all, 4).unwrap()).unwrap();
    case(
        "everything, truncated".into(),
        &tree,
        &tree.root(),
        tree.size().0,
        None,
        &all,
        p,
    );
    // Mutations of honest proofs: a member proof, an exclusion and a truncated one.
    for (s, reveal) in [
        ("example.com", 100u64),
        ("absent.example", 100),
        ("m.org", 2),
    ] {
        let honest = serde_json::to_value(range_proof(&tree, &site(s), reveal).unwrap()).unwrap();
        for (what, m) in range_mutations(&honest) {
            case(
                format!("{s} reveal {reveal}: {what}"),
                &tree,
                &tree.root(),
                tree.size().0,
                Some(s),
                &site(s),
                m,
            );
        }
    }
    // Hiding attacks with real hashes: skipping the first or last member, brackets only.
    let r = site("example.com");
    let members: Vec<u64> = (0..tree.size().0)
        .filter(|&i| r.contains(tree.leaves()[i as usize].as_bytes()))
        .collect();
    let (s, e) = (members[0], *members.last().unwrap());
    for (what, idx) in [
        ("skips the first member", vec![s - 1, s + 1, e, e + 1]),
        ("skips the last member", vec![s - 1, s, e - 1, e + 1]),
        ("brackets only (claims none)", vec![s - 1, e + 1]),
        ("one leaf below only", vec![s - 1]),
    ] {
        case(
            format!("example.com: {what}"),
            &tree,
            &tree.root(),
            tree.size().0,
            Some("example.com"),
            &r,
            reveal_only(&tree, &idx),
        );
    }
    // A proof made for one site verified for another (its brackets are in range).
    let p =
        serde_json::to_value(range_proof(&tree, &site("www.example.com"), 100).unwrap()).unwrap();
    case(
        "www.example.com's proof for example.com".into(),
        &tree,
        &tree.root(),
        tree.size().0,
        Some("example.com"),
        &r,
        p,
    );
    // Another version's proof against this version's root.
    let p = serde_json::to_value(range_proof(&other, &r, 100).unwrap()).unwrap();
    case(
        "another tree's proof".into(),
        &other,
        &tree.root(),
        tree.size().0,
        Some("example.com"),
        &r,
        p,
    );
    out
}

#[test]
fn explorer_source_vectors_are_current() {
    let tree = vector_tree("doc", TREE_URLS);
    let doc = json!({
        "about": "generated by verifier/tests/js_vectors.rs explorer_source_vectors_are_current; do not edit",
        "source_keys": source_key_uris().iter().map(|u| json!({
            "uri": u,
            "key": verifier::source::source_key(u).as_str(),
        })).collect::<Vec<_>>(),
        "sites": site_vectors(),
        "tree": {
            "root": tree.root().to_hex(),
            "size": tree.size().0,
            "leaves": tree.leaves().iter().map(|l| l.to_hex()).collect::<Vec<_>>(),
        },
        "range_proofs": range_proof_vectors(),
    });
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    assert!(text.len() < 1_000_000, "{} bytes", text.len());
    check_current("api/explorer/test/vectors/sources.json", &text);
}

// ---- Issue 13: leaf metadata and statistics (api/explorer/test/vectors/meta.json, replayed by
// api/explorer/test/meta.test.js against lib/stats.js): the metadata digest, the entry shape,
// the source leaves of each leaf, the hosts of source keys and the statistics of a set, as
// `verifier::set::{meta, stats}` (the one owner) computes them.

/// The metadata of the vector set's leaves: consent arrays, sources that are not strings,
/// licences that are not strings, hosts with ports and hosts whose keys interleave.
fn meta_leaves() -> Vec<Value> {
    vec![
        json!({"sources":[{"path":"a","source":"https://www.Example.com/a?x=1#f","license":"MIT","consent":"aipref:train-ai=n"}]}),
        json!({"sources":[{"path":"b","source":"https://a.com/x","license":"MIT"},{"path":"c","source":"https://a.com/x","license":"CC-BY-4.0","consent":["aipref:train-ai=n","robots:disallow"]}]}),
        json!({"sources":[{"path":"d","source":3,"license":7},{"path":"e","source":null,"license":1.5},{"path":"f","source":{"u":"https://a.com/"},"license":{"b":1,"a":[2,"é"]}}]}),
        json!({"sources":[{"path":"g","source":["https://a.com/"],"consent":["tdmrep:1"]},{"path":"h","license":true}]}),
        json!({"sources":[{"path":"i","source":"http://a.com:8080/x"},{"path":"j","source":"http://0.a.com/"},{"path":"k","source":"https://a.com/z","consent":"robots:allow"}]}),
        json!({"sources":[{"path":"l","source":"http://1.2.3.4/"},{"path":"m","source":"http://[::1]:81/"},{"path":"n","source":"https://例え.jp/"}]}),
        json!({"sources":[{"path":"o","source":"ftp://x.org/","license":"é\u{2028}\"\\"},{"path":"p","source":"not a url","consent":[]}]}),
        json!({"sources":[{"path":"q","source":"https://a.com/x","license":"MIT","consent":["aipref:train-ai=n","robots:disallow"]}]}),
    ]
}

/// Metadata values and whether they have the shape the ledger stores.
fn meta_shapes() -> Vec<Value> {
    [
        json!({}),
        json!({"sources":[]}),
        json!({"sources":[1]}),
        json!({"sources":[{"path":"a"},null]}),
        json!({"sources":{}}),
        json!([]),
        json!("x"),
        json!({"sources":[{}]}),
        json!({"other":1,"sources":[{"source":"https://a.com/"}]}),
    ]
    .into_iter()
    .map(|m| {
        let ok = verifier::set::meta::LeafMeta::from_value(&m).is_ok();
        json!({"metadata": m, "ok": ok})
    })
    .collect()
}

#[test]
fn explorer_meta_vectors_are_current() {
    use verifier::range::RangeLeaf;
    use verifier::set::meta::{canonical, meta_digest, LeafMeta};
    use verifier::set::stats::StatsBuilder;
    use verifier::source::SourceKey;

    let mut leaves: Vec<(ContentId, u64, Value)> = meta_leaves()
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            (
                ContentId::of(format!("c{i}").as_bytes()),
                10 * i as u64 + 1,
                m,
            )
        })
        .collect();
    leaves.sort_by_key(|l| l.0);
    let mut stats = StatsBuilder::new();
    let mut source: std::collections::BTreeSet<(SourceKey, ContentId)> = Default::default();
    let mut sizes = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for (cid, size, m) in &leaves {
        let bytes = canonical(m).unwrap();
        let meta = LeafMeta::verified(m, &meta_digest(Some(&bytes))).unwrap();
        stats.add_leaf(*size, &meta);
        sizes.insert(*cid, *size);
        let keys = meta.source_keys();
        for k in &keys {
            source.insert((k.clone(), *cid));
        }
        out.push(json!({
            "cid": cid.to_string(),
            "size": size,
            "meta": meta_digest(Some(&bytes)).to_hex(),
            "canonical": String::from_utf8(bytes).unwrap(),
            "metadata": m,
            "licences": meta.licences(),
            "consent": meta.consents(),
            "source_keys": keys.iter().map(SourceKey::as_str).collect::<Vec<_>>(),
        }));
    }
    let tree = verifier::range::RangeTree::new(
        source
            .iter()
            .map(|(k, c)| RangeLeaf::source(k, c))
            .collect(),
    )
    .unwrap();
    let mut by_host: Vec<(String, u64)> = Vec::new();
    for (k, c) in &source {
        match k.host() {
            Some(h) => by_host.push((h, sizes[c])),
            None => stats.add_no_source(sizes[c]),
        }
    }
    by_host.sort();
    for (h, size) in &by_host {
        stats.add_host_leaf(h, *size);
    }
    let hosts: Vec<Value> = source
        .iter()
        .map(|(k, _)| k)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|k| json!({"key": k.as_str(), "host": k.host()}))
        .collect();
    let doc = json!({
        "about": "generated by verifier/tests/js_vectors.rs explorer_meta_vectors_are_current; do not edit",
        "leaves": out,
        "source_tree": {
            "root": tree.root().to_hex(),
            "size": tree.size().0,
            "leaves": tree.leaves().iter().map(|l| l.to_hex()).collect::<Vec<_>>(),
        },
        "hosts": hosts,
        "stats": stats.finish(),
        "shapes": meta_shapes(),
    });
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    check_current("api/explorer/test/vectors/meta.json", &text);
}
