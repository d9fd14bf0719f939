//! What a verifier spends its time on: RFC 6962 inclusion-proof verification in a log of 2^20
//! leaves (20 hashes), a tlog-proof end to end, and checkpoint signature verification.
//!
//! `cargo bench -p verifier --bench verify -- --warm-up-time 1 --measurement-time 3`
//! Throughput is printed as elements/s: proofs (or notes) verified per second on one core.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use verifier::merkle::{inclusion_proof, root, verify_inclusion};
use verifier::{
    leaf_hash, Checkpoint, Digest, LeafIndex, NoteSigner, Sha256Log, TlogProof, TreeSize,
};

/// 2^20 leaves: a proof in a log of about a million entries has 20 hashes.
const LOG_SIZE: u64 = 1 << 20;

fn bench_verify(c: &mut Criterion) {
    let leaves: Vec<Digest> = (0..LOG_SIZE).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let root_hash = root::<Sha256Log>(&leaves);
    let index = LeafIndex(LOG_SIZE / 3);
    let proof = inclusion_proof::<Sha256Log>(&leaves, index).expect("index is in range");
    assert_eq!(proof.len(), 20);
    let leaf = leaves[index.0 as usize];
    let size = TreeSize(LOG_SIZE);

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("inclusion_proof_2^20", |b| {
        b.iter(|| {
            verify_inclusion::<Sha256Log>(
                black_box(&leaf),
                black_box(index),
                size,
                black_box(&proof),
                &root_hash,
            )
            .expect("proof verifies")
        })
    });

    let signer = NoteSigner::new("example.com/bench-log", SigningKey::from_bytes(&[9; 32]))
        .expect("valid name");
    let vkey = signer.verifier_key();
    let checkpoint = Checkpoint {
        origin: signer.name().to_string(),
        size,
        root: root_hash,
    };
    let note = checkpoint.sign(&signer).expect("origin is the key name");
    g.bench_function("checkpoint_signature", |b| {
        b.iter(|| Checkpoint::verify(black_box(&note), &vkey).expect("checkpoint verifies"))
    });

    let entry = (index.0).to_be_bytes();
    let tlog_proof = TlogProof {
        extra: None,
        index,
        proof: proof.clone(),
        checkpoint: note.clone(),
    };
    let text = tlog_proof.to_text();
    g.bench_function("tlog_proof_parse_and_verify_2^20", |b| {
        b.iter(|| {
            TlogProof::parse(black_box(&text))
                .expect("proof parses")
                .verify(&vkey, &entry)
                .expect("proof verifies")
        })
    });
    g.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
