//! Evidence-record benchmarks: building a tree over a million leaves (time and memory), the size of one
//! record for trees of 10, 10^3 and 10^6 leaves (must grow with log n), exporting 10,000 records, and
//! verifying one record (hash path, RSA signature, certificate chain). Tokens come from a real
//! `openssl ts -reply` TSA on loopback, as in the tests.

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use registratur_evidence::{
    DataInput, DigestAlgorithm, HashTree, HttpTsa, evidence_record, timestamp, verify,
};

#[allow(dead_code)]
#[path = "../tests/it/support.rs"]
mod support;

use support::{Behaviour, Pki, Signer, TestTsa, block_on};

/// The large tree size: a million leaves under `cargo bench`; ten thousand when the bench runs as a test
/// (`cargo test`/nextest run benches unoptimised and without `--bench`, only to show they still work).
fn big() -> usize {
    if std::env::args().any(|a| a == "--bench") { 1_000_000 } else { 10_000 }
}

fn leaves(n: usize) -> Vec<u8> {
    let mut flat = Vec::with_capacity(n * 32);
    for i in 0..n as u64 {
        flat.extend_from_slice(&DigestAlgorithm::Sha256.digest(&i.to_be_bytes()));
    }
    flat
}

fn stamp(tsa: &TestTsa, root: &[u8]) -> Vec<u8> {
    let client = HttpTsa::new(&tsa.url(), Duration::from_secs(30)).expect("test TSA URL");
    block_on(timestamp(&client, DigestAlgorithm::Sha256, root, &Pki::shared().trust()))
        .expect("test TSA token")
        .token_der
}

fn tree_build(c: &mut Criterion) {
    let n = big();
    let flat = leaves(n);
    let tree = HashTree::from_flat_leaves(DigestAlgorithm::Sha256, flat.clone()).expect("tree");
    eprintln!(
        "tree of {n} SHA-256 leaves: {:.1} MiB on the heap, stored form {:.1} MiB",
        tree.heap_bytes() as f64 / (1 << 20) as f64,
        tree.to_stored().len() as f64 / (1 << 20) as f64
    );
    let mut group = c.benchmark_group("tree");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("build_1m_leaves", |b| {
        b.iter_batched(
            || flat.clone(),
            |flat| HashTree::from_flat_leaves(DigestAlgorithm::Sha256, flat).expect("tree"),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn record_size_and_export(c: &mut Criterion) {
    let tsa = TestTsa::start(Behaviour::Sign(Signer::Good));
    for n in [10usize, 1_000, big()] {
        let tree = HashTree::from_flat_leaves(DigestAlgorithm::Sha256, leaves(n)).expect("tree");
        let token = stamp(&tsa, tree.root());
        let leaf = tree.leaves().next().expect("a leaf").to_vec();
        let der = evidence_record(&tree, &leaf, &token).expect("record").to_der_bytes().expect("der");
        eprintln!(
            "evidence record for a tree of {n} leaves: {} bytes ({} of them the timestamp token), path of {} hashes",
            der.len(),
            token.len(),
            tree.path(&leaf).expect("path").len()
        );
    }

    let tree = HashTree::from_flat_leaves(DigestAlgorithm::Sha256, leaves(big() / 100)).expect("tree");
    let token = stamp(&tsa, tree.root());
    let all: Vec<Vec<u8>> = tree.leaves().map(<[u8]>::to_vec).collect();
    let mut group = c.benchmark_group("export");
    group.sample_size(10);
    group.throughput(Throughput::Elements(all.len() as u64));
    group.bench_function("records_der_10k", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for leaf in &all {
                bytes +=
                    evidence_record(&tree, leaf, &token).expect("record").to_der_bytes().expect("der").len();
            }
            bytes
        })
    });
    group.finish();

    let document = b"benchmark document".to_vec();
    let mut flat = leaves(999);
    flat.extend_from_slice(&DigestAlgorithm::Sha256.digest(&document));
    let tree = HashTree::from_flat_leaves(DigestAlgorithm::Sha256, flat).expect("tree");
    let token = stamp(&tsa, tree.root());
    let record = evidence_record(&tree, &DigestAlgorithm::Sha256.digest(&document), &token).expect("record");
    let trust = Pki::shared().trust();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_record_1000_leaf_tree", |b| {
        b.iter(|| verify(DataInput::Bytes(&document), &record, &trust).expect("verifies"))
    });
    group.finish();
}

criterion_group!(benches, tree_build, record_size_and_export);
criterion_main!(benches);
