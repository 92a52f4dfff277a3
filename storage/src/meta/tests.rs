//! Tests of transactions, reference counts, group commit and journal verification against RocksDB.

use super::*;
use crate::journal::{BreakKind, JournalBreak};

fn open(dir: &tempfile::TempDir) -> MetaStore {
    MetaStore::open(dir.path().join("meta"), MetaOptions::default()).unwrap()
}

#[test]
fn commit_writes_records_and_a_chained_journal_entry_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut txn = Txn::new("alice", "akte.create", b"{\"az\":\"1\"}".to_vec());
    txn.put(Cf::Records, "akte/1", "one").put(Cf::Index, "az/1", "akte/1");
    let first = store.commit(txn).unwrap();
    assert_eq!(first.seq, 1);
    let second = store.commit(Txn::new("bob", "akte.close", Vec::new())).unwrap();
    assert_eq!(second.seq, 2);
    assert_eq!(store.get(Cf::Records, b"akte/1").unwrap().as_deref(), Some(&b"one"[..]));

    let entries = store.journal_entries(1, 10).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].actor, "alice");
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert_eq!(entries[1].hash, second.entry_hash);
    assert_eq!(store.journal_head().unwrap().seq, 2);
    assert_eq!(store.verify_journal().unwrap().first_break, None);
}

#[test]
fn failed_precondition_writes_nothing_not_even_a_journal_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut create = Txn::new("a", "create", Vec::new());
    create.require_absent(Cf::Index, "az/1").put(Cf::Index, "az/1", "x");
    store.commit(create.clone()).unwrap();
    create.put(Cf::Records, "other", "y");
    assert!(matches!(store.commit(create), Err(MetaError::Conflict(_))));
    assert_eq!(store.get(Cf::Records, b"other").unwrap(), None);
    assert_eq!(store.journal_head().unwrap().seq, 1);

    let mut cas = Txn::new("a", "bump", Vec::new());
    cas.require_value(Cf::Index, "az/1", Some(b"x".to_vec())).put(Cf::Index, "az/1", "z");
    store.commit(cas).unwrap();
    assert_eq!(store.get(Cf::Index, b"az/1").unwrap().as_deref(), Some(&b"z"[..]));
}

#[test]
fn blob_reference_counts_change_with_the_records_that_hold_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let digest = crate::hash::BlobDigest::of(b"scan");
    let mut txn = Txn::new("m", "doc.add", Vec::new());
    txn.put(Cf::Records, "doc/1", "v").add_blob_ref(digest).add_blob_ref(digest);
    store.commit(txn).unwrap();
    let record = store.blob_record(&digest.blake3).unwrap().unwrap();
    assert_eq!((record.refcount, record.size, record.sha256), (2, 4, digest.sha256));

    let mut drop_ref = Txn::new("m", "doc.remove", Vec::new());
    drop_ref.drop_blob_ref(digest.blake3);
    store.commit(drop_ref.clone()).unwrap();
    store.commit(drop_ref.clone()).unwrap();
    assert_eq!(store.blob_record(&digest.blake3).unwrap().unwrap().refcount, 0);
    assert!(matches!(store.commit(drop_ref), Err(MetaError::InvalidBlobRef { .. })));

    let mut lie = Txn::new("m", "doc.add", Vec::new());
    lie.add_blob_ref(crate::hash::BlobDigest { size: 99, ..digest });
    assert!(matches!(store.commit(lie), Err(MetaError::InvalidBlobRef { .. })));
    assert_eq!(store.blob_records().unwrap().len(), 1);
}

#[test]
fn concurrent_writers_share_fsyncs_and_keep_one_unbroken_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    std::thread::scope(|scope| {
        for writer in 0..16 {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..25 {
                    let mut txn = Txn::new(format!("w{writer}"), "put", Vec::new());
                    txn.put(Cf::Records, format!("k/{writer}/{i}"), "v");
                    store.commit(txn).unwrap();
                }
            });
        }
    });
    assert_eq!(store.journal_head().unwrap().seq, 400);
    assert_eq!(store.scan_prefix(Cf::Records, b"k/").unwrap().len(), 400);
    let report = store.verify_journal().unwrap();
    assert_eq!((report.entries_checked, report.first_break), (400, None));
    // Shared: sixteen writers waiting at once do not get a sync each.
    let syncs = store.log_syncs();
    assert!((1..400).contains(&syncs), "{syncs} log syncs for 400 commits");
}

#[test]
fn without_group_commit_every_commit_syncs_the_log_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = MetaStore::open(
        dir.path().join("meta"),
        MetaOptions { sync: true, max_group: 1, ..MetaOptions::default() },
    )
    .unwrap();
    for i in 0..5 {
        let mut txn = Txn::new("a", "put", Vec::new());
        txn.put(Cf::Records, format!("k/{i}"), "v");
        store.commit(txn).unwrap();
    }
    assert_eq!(store.log_syncs(), 5);
    let lone_dir = tempfile::tempdir().unwrap();
    let lone = open(&lone_dir);
    lone.commit(Txn::new("a", "put", Vec::new())).unwrap();
    assert_eq!(lone.log_syncs(), 1, "a lone writer's commit is synced before it is answered");
}

#[test]
fn the_chain_continues_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        store.commit(Txn::new("a", "one", Vec::new())).unwrap();
    }
    let store = open(&dir);
    assert_eq!(store.commit(Txn::new("a", "two", Vec::new())).unwrap().seq, 2);
    assert_eq!(store.verify_journal().unwrap().entries_checked, 2);
}

#[test]
fn tampering_with_a_stored_entry_is_named_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    for i in 0..5 {
        store.commit(Txn::new("clerk", "note", format!("{{\"i\":{i}}}"))).unwrap();
    }
    let mut raw = store.get(Cf::Journal, &3u64.to_be_bytes()).unwrap().unwrap();
    let at = raw.windows(5).position(|w| w == b"clerk").unwrap();
    raw[at..at + 5].copy_from_slice(b"admin");
    store.raw_put_for_tests(Cf::Journal, &3u64.to_be_bytes(), &raw).unwrap();
    let report = store.verify_journal().unwrap();
    assert_eq!(report.entries_checked, 2);
    assert_eq!(report.first_break, Some(JournalBreak { seq: 3, problem: BreakKind::HashMismatch }));
}

#[test]
fn prefix_scan_stops_at_the_prefix_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut txn = Txn::new("a", "seed", Vec::new());
    txn.put(Cf::Queues, "ocr/1", "a").put(Cf::Queues, "ocr/2", "b").put(Cf::Queues, "ocs/1", "c");
    store.commit(txn).unwrap();
    let keys: Vec<_> = store.scan_prefix(Cf::Queues, b"ocr/").unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec![b"ocr/1".to_vec(), b"ocr/2".to_vec()]);
}

#[test]
fn journal_entries_can_be_indexed_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    for (i, doc) in ["doc/a", "doc/b", "doc/a"].into_iter().enumerate() {
        let mut txn = Txn::new("clerk", "doc.change", format!("{i}"));
        txn.index_journal_entry(Cf::Index, format!("hist/{doc}/"));
        store.commit(txn).unwrap();
    }
    let seqs = store.journal_seqs_under(Cf::Index, b"hist/doc/a/").unwrap();
    assert_eq!(seqs, vec![1, 3]);
    assert_eq!(store.journal_entry(3).unwrap().unwrap().payload, b"2".to_vec());
    assert_eq!(store.journal_entry(9).unwrap(), None);
}

#[test]
fn visit_prefix_pages_and_last_key_finds_the_end_of_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut txn = Txn::new("a", "seed", Vec::new());
    for key in ["a/1", "a/2", "a/3", "b/1", "a0"] {
        txn.put(Cf::Records, key, "v");
    }
    store.commit(txn).unwrap();
    let mut seen = Vec::new();
    store
        .visit_prefix(Cf::Records, b"a/", Some(b"a/1"), |key, _| {
            seen.push(String::from_utf8_lossy(key).to_string());
            if seen.len() == 1 {
                std::ops::ControlFlow::Continue(())
            } else {
                std::ops::ControlFlow::Break(())
            }
        })
        .unwrap();
    assert_eq!(seen, vec!["a/2", "a/3"]);
    assert_eq!(store.last_key_with_prefix(Cf::Records, b"a/").unwrap(), Some(b"a/3".to_vec()));
    assert_eq!(store.last_key_with_prefix(Cf::Records, b"b/").unwrap(), Some(b"b/1".to_vec()));
    assert_eq!(store.last_key_with_prefix(Cf::Records, b"c/").unwrap(), None);
    assert_eq!(store.last_key_with_prefix(Cf::Records, b"0").unwrap(), None);
}

#[test]
fn a_lone_writer_after_a_crowd_is_answered_and_continues_the_chain() {
    // After sixteen writers the syncer expects sixteen transactions per sync; when only one writer is
    // left it must stop waiting for the others and still answer every commit.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let commit = |writer: usize, i: usize| {
        let mut txn = Txn::new(format!("w{writer}"), "put", Vec::new());
        txn.put(Cf::Records, format!("k/{writer}/{i}"), "v");
        store.commit(txn).unwrap()
    };
    std::thread::scope(|scope| {
        for writer in 0..16 {
            scope.spawn(move || (0..10).for_each(|i| _ = commit(writer, i)));
        }
    });
    let receipts: Vec<_> = (0..20).map(|i| commit(99, i)).collect();
    assert!(receipts.windows(2).all(|pair| pair[1].seq == pair[0].seq + 1));
    assert_eq!(store.journal_head().unwrap().seq, 180);
    let report = store.verify_journal().unwrap();
    assert_eq!((report.entries_checked, report.first_break), (180, None));
}

#[test]
fn journal_entries_are_stamped_by_the_stores_clock() {
    let dir = tempfile::tempdir().unwrap();
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(2_208_988_800_000).unwrap();
    let clock = crate::clock::ManualClock::new(at);
    let options = MetaOptions { clock: Arc::new(clock.clone()), ..MetaOptions::default() };
    let store = MetaStore::open(dir.path().join("meta"), options).unwrap();
    store.commit(Txn::new("a", "first", Vec::new())).unwrap();
    clock.advance(chrono::Duration::seconds(90));
    store.commit(Txn::new("a", "second", Vec::new())).unwrap();
    let times: Vec<i64> = store.journal_entries(1, 10).unwrap().iter().map(|e| e.time_ms).collect();
    assert_eq!(times, [at.timestamp_millis(), at.timestamp_millis() + 90_000]);
    assert_eq!(store.clock().now(), at + chrono::Duration::seconds(90));
}

#[test]
fn a_snapshot_does_not_see_later_commits() {
    use crate::table::MetaRead;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut txn = Txn::new("a", "put", Vec::new());
    txn.put(Cf::Records, "k/1", "old");
    store.commit(txn).unwrap();
    let snapshot = store.snapshot();
    let mut txn = Txn::new("a", "put", Vec::new());
    txn.put(Cf::Records, "k/1", "new").put(Cf::Records, "k/2", "added");
    store.commit(txn).unwrap();
    assert_eq!(snapshot.get(Cf::Records, b"k/1").unwrap().as_deref(), Some(b"old".as_slice()));
    let mut seen = Vec::new();
    MetaRead::visit_prefix(&snapshot, Cf::Records, b"k/", None, &mut |key, _| {
        seen.push(key.to_vec());
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(seen, [b"k/1".to_vec()]);
    assert_eq!(store.get(Cf::Records, b"k/1").unwrap().as_deref(), Some(b"new".as_slice()));
}
