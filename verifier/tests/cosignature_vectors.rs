//! A cosignature made by another implementation: Sunlight's test witness (Go,
//! `filippo.io/sunlight`, testdata/tlog-tiles-300, see testdata/README.md) cosigned the
//! checkpoint of a 300-leaf log with its `cosignature/v1` key. Our parser of witness vkeys and
//! our verification of cosignature lines must accept it, and refuse it on any other body.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use verifier::cosignature::{cosignatures, CosignatureError, WitnessKey};

fn testdata(path: &str) -> String {
    let p = format!(
        "{}/../testdata/tlog-tiles-300/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn sunlight_witness() -> WitnessKey {
    let v: serde_json::Value = serde_json::from_str(&testdata("mirror.v0.json")).unwrap();
    WitnessKey::parse(v["verifier_keys"][0].as_str().unwrap()).unwrap()
}

const CHECKPOINT: &str =
    "000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706/checkpoint";

#[test]
fn a_cosignature_made_by_sunlight_verifies() {
    let w = sunlight_witness();
    assert_eq!(w.name(), "mirror.example.org");
    assert_eq!(w.key_id(), 0x3fb1_48ef);
    let got = cosignatures(&testdata(CHECKPOINT), &[w]).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].witness, "mirror.example.org");
    // The timestamp bytes of the line: 00 00 00 00 69 54 67 80.
    assert_eq!(got[0].timestamp, 0x6954_6780);
}

#[test]
fn sunlights_cosignature_on_another_body_is_refused() {
    let note = testdata(CHECKPOINT).replacen("\n300\n", "\n301\n", 1);
    assert!(matches!(
        cosignatures(&note, &[sunlight_witness()]),
        Err(CosignatureError::BadCosignature { .. })
    ));
}
