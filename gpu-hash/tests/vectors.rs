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

/// The same vectors streamed from a reader in 4 KiB blocks of 2 KiB segments, so that every
/// input above 4 KiB is several blocks merged on the CPU (the large-file path).
#[test]
fn official_vectors_streamed_in_small_blocks() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/blake3_test_vectors.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let Some(gpu) = common::gpu_with(gpu_hash::GpuConfig {
        batch_bytes: 64 << 10,
        segment_chunks: 2,
        stream_block_bytes: 4 << 10,
        ..gpu_hash::GpuConfig::default()
    }) else {
        return;
    };
    assert_eq!(gpu.stream_block_bytes(), 4 << 10);
    for case in doc["cases"].as_array().unwrap() {
        let len = case["input_len"].as_u64().unwrap() as usize;
        let want = &case["hash"].as_str().unwrap()[..64];
        let got = gpu.hash_reader(common::pattern(len).as_slice()).unwrap();
        assert_eq!(hex::encode(got), want, "streamed, input_len {len}");
    }
}
