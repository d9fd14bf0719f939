//! The 35 official BLAKE3 test vectors (hash mode), on the GPU.

mod common;

use serde_json::Value;

#[test]
fn official_vectors_hash_mode() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/blake3_test_vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 35, "the official file has 35 cases");
    let inputs: Vec<Vec<u8>> = cases
        .iter()
        .map(|c| common::pattern(c["input_len"].as_u64().unwrap() as usize))
        .collect();
    // The vectors' own check needs no GPU: our reading of the file must agree with the crate.
    let expected: Vec<String> = cases
        .iter()
        .map(|c| c["hash"].as_str().unwrap()[..64].to_string())
        .collect();
    for (input, want) in inputs.iter().zip(&expected) {
        assert_eq!(blake3::hash(input).to_hex().as_str(), want);
    }
    let Some(gpu) = common::gpu() else { return };
    // All in one batch, then one by one (each alone is a root segment or a split item).
    let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let mut out = vec![[0u8; 32]; refs.len()];
    gpu.hash_batch(&refs, &mut out).unwrap();
    for ((got, want), input) in out.iter().zip(&expected).zip(&inputs) {
        assert_eq!(
            &hex::encode(got),
            want,
            "batched, input_len {}",
            input.len()
        );
        let single = gpu.hash(input).unwrap();
        assert_eq!(
            &hex::encode(single),
            want,
            "alone, input_len {}",
            input.len()
        );
    }
}
