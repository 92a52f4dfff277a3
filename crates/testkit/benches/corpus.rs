//! Corpus documents generated per second on one core. The search benchmark indexes a million of them,
//! so generating must cost a small fraction of indexing: the goal is at least 100,000 documents per
//! second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use registratur_testkit::corpus::GermanCorpus;

fn corpus(c: &mut Criterion) {
    let corpus = GermanCorpus::new(1);
    let mut group = c.benchmark_group("corpus");
    group.measurement_time(Duration::from_secs(5)).throughput(Throughput::Elements(1));
    let mut index = 0u64;
    group.bench_function("document", |b| {
        b.iter(|| {
            index += 1;
            black_box(corpus.document(index))
        })
    });
    group.finish();
}

criterion_group!(benches, corpus);
criterion_main!(benches);
