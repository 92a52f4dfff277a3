//! Evidence records end to end with a real TSA: trees of 1, 2, 3 and many leaves, tampered data and
//! records, timestamp renewal and hash-tree renewal (RFC 4998 §5.2), garbage input.

use std::time::Duration;

use der::Decode;
use proptest::prelude::*;
use registratur_evidence::record::ChainReport;
use registratur_evidence::token::TokenError;
use registratur_evidence::verify_der;
use registratur_evidence::{
    DataInput, DigestAlgorithm, EvidenceRecord, HashTree, HttpTsa, StampedTree, StoredStampedTreeError,
    TrustList, VerifyError, apply_hash_tree_renewal, apply_timestamp_renewal, evidence_record,
    hash_tree_renewal_leaf, timestamp, timestamp_renewal_leaf, verify,
};

use crate::support::{Behaviour, Pki, Signer, TestTsa, block_on};

/// Stamps a digest at the good test TSA and returns the token.
pub fn stamp(algorithm: DigestAlgorithm, digest: &[u8]) -> Vec<u8> {
    let tsa = TestTsa::start(Behaviour::Sign(Signer::Good));
    let client = HttpTsa::new(&tsa.url(), Duration::from_secs(30)).unwrap();
    block_on(timestamp(&client, algorithm, digest, &Pki::shared().trust())).unwrap().token_der
}

/// `n` documents, a SHA-256 tree over them, its token, and the record of each document.
pub fn stamped_documents(n: usize, tag: &str) -> (Vec<Vec<u8>>, HashTree, Vec<EvidenceRecord>) {
    let documents: Vec<Vec<u8>> =
        (0..n).map(|i| format!("{tag}: document {i} of {n}").into_bytes()).collect();
    let leaves: Vec<Vec<u8>> = documents.iter().map(|d| DigestAlgorithm::Sha256.digest(d)).collect();
    let tree = HashTree::build(DigestAlgorithm::Sha256, &leaves).unwrap();
    let token = stamp(DigestAlgorithm::Sha256, tree.root());
    let records = leaves.iter().map(|leaf| evidence_record(&tree, leaf, &token).unwrap()).collect();
    (documents, tree, records)
}

#[test]
fn records_for_trees_of_one_two_three_and_many_leaves_verify() {
    let trust = Pki::shared().trust();
    for n in [1, 2, 3, 17] {
        let (documents, _tree, records) = stamped_documents(n, "sizes");
        for (document, record) in documents.iter().zip(&records) {
            let der = record.to_der_bytes().unwrap();
            let report = verify_der(DataInput::Bytes(document), &der, &trust).unwrap();
            assert_eq!(report.chains.len(), 1);
            assert_eq!(report.chains[0].timestamps.len(), 1);
            let digests = [(DigestAlgorithm::Sha256, DigestAlgorithm::Sha256.digest(document))];
            verify(DataInput::Digests(&digests), record, &trust).unwrap();
            let ats = &record.archive_time_stamp_sequence[0][0];
            // BouncyCastle's shape: one leaf stamps the document itself, more leaves carry a path.
            assert_eq!(ats.reduced_hashtree.is_none(), n == 1, "n = {n}");
            assert_eq!(ats.digest_algorithm.is_none(), n == 1, "n = {n}");
        }
    }
}

#[test]
fn tampered_data_and_tampered_records_are_refused_with_the_reason() {
    let trust = Pki::shared().trust();
    for n in [1, 5] {
        let (documents, _tree, records) = stamped_documents(n, "tamper");
        let record = &records[0];
        let error = verify(DataInput::Bytes(b"not the document"), record, &trust).unwrap_err();
        assert!(matches!(error, VerifyError::HashNotInTree { chain: 0, .. }), "n = {n}: {error}");
        assert!(error.to_string().contains("not in the record's hash tree"), "{error}");

        // The token's last byte is the last byte of the TSA's signature.
        let mut der = record.to_der_bytes().unwrap();
        let last = der.len() - 1;
        der[last] ^= 1;
        let error = verify_der(DataInput::Bytes(&documents[0]), &der, &trust).unwrap_err();
        assert!(
            matches!(error, VerifyError::Token { source: TokenError::BadSignature { .. }, .. }),
            "n = {n}: {error}"
        );

        let foreign = TrustList::from_pem_file(&Pki::shared().path("rogue-ca.pem")).unwrap();
        let error = verify(DataInput::Bytes(&documents[0]), record, &foreign).unwrap_err();
        assert!(matches!(error, VerifyError::Token { source: TokenError::Untrusted { .. }, .. }), "{error}");
    }
    // A sibling changed in the reduced hash tree: the path no longer leads to the stamped root.
    let (documents, _tree, records) = stamped_documents(4, "tamper-path");
    let mut record = records[1].clone();
    let nodes = record.archive_time_stamp_sequence[0][0].reduced_hashtree.as_mut().unwrap();
    nodes[1][0] = der::asn1::OctetString::new(vec![0u8; 32]).unwrap();
    let error = verify(DataInput::Bytes(&documents[1]), &record, &trust).unwrap_err();
    assert!(matches!(error, VerifyError::RootMismatch { chain: 0, stamp: 0, .. }), "{error}");
}

/// Renews a record's timestamp together with other records (one renewal tree over their leaves).
pub fn renew_timestamps(records: &[EvidenceRecord]) -> Vec<EvidenceRecord> {
    let leaves: Vec<Vec<u8>> = records.iter().map(|r| timestamp_renewal_leaf(r).unwrap().leaf).collect();
    let mut unique = leaves.clone();
    unique.sort();
    unique.dedup();
    let tree = HashTree::build(DigestAlgorithm::Sha256, &unique).unwrap();
    let token = stamp(DigestAlgorithm::Sha256, tree.root());
    records.iter().map(|r| apply_timestamp_renewal(r, &tree, &token).unwrap()).collect()
}

#[test]
fn timestamp_renewal_extends_the_chain_and_verifies() {
    let trust = Pki::shared().trust();
    let (documents_a, _, records_a) = stamped_documents(3, "renew-a");
    let (documents_b, _, records_b) = stamped_documents(1, "renew-b");
    // All leaves of one tree share a renewal leaf: tree a's three records and tree b's one make two leaves.
    let all: Vec<EvidenceRecord> = records_a.iter().chain(&records_b).cloned().collect();
    let once = renew_timestamps(&all);
    let twice = renew_timestamps(&once);
    let documents: Vec<&Vec<u8>> = documents_a.iter().chain(&documents_b).collect();
    for (document, record) in documents.iter().zip(&twice) {
        let report = verify(DataInput::Bytes(document), record, &trust).unwrap();
        let ChainReport { algorithm, timestamps } = &report.chains[0];
        assert_eq!(*algorithm, DigestAlgorithm::Sha256);
        assert_eq!(timestamps.len(), 3);
        assert!(timestamps[0].gen_time <= timestamps[2].gen_time);
        let der = record.to_der_bytes().unwrap();
        assert_eq!(&EvidenceRecord::from_der_checked(&der).unwrap(), record);
    }
    // A renewal whose group lost the previous timestamp's hash no longer covers it.
    let mut broken = twice[0].clone();
    let nodes = broken.archive_time_stamp_sequence[0][2].reduced_hashtree.as_mut().unwrap();
    nodes[0].clear();
    nodes[0].push(der::asn1::OctetString::new(vec![1u8; 32]).unwrap());
    let error = verify(DataInput::Bytes(documents[0]), &broken, &trust).unwrap_err();
    assert!(matches!(error, VerifyError::PreviousTimestampNotCovered { chain: 0, stamp: 2 }), "{error}");
}

/// Hash-tree renewal of records with SHA-512 (one new tree over all of them).
pub fn renew_hash_trees(records: &[EvidenceRecord], documents: &[Vec<u8>]) -> Vec<EvidenceRecord> {
    let leaves: Vec<Vec<u8>> = records
        .iter()
        .zip(documents)
        .map(|(r, d)| hash_tree_renewal_leaf(r, DataInput::Bytes(d), DigestAlgorithm::Sha512).unwrap())
        .collect();
    let tree = HashTree::build(DigestAlgorithm::Sha512, &leaves).unwrap();
    let token = stamp(DigestAlgorithm::Sha512, tree.root());
    records
        .iter()
        .zip(&leaves)
        .map(|(r, leaf)| apply_hash_tree_renewal(r, &tree, leaf, &token).unwrap())
        .collect()
}

#[test]
fn hash_tree_renewal_starts_a_new_chain_and_verifies() {
    let trust = Pki::shared().trust();
    let (documents, _, records) = stamped_documents(3, "rehash");
    let renewed = renew_hash_trees(&renew_timestamps(&records), &documents);
    for (document, record) in documents.iter().zip(&renewed) {
        let report = verify(DataInput::Bytes(document), record, &trust).unwrap();
        assert_eq!(report.chains.len(), 2);
        assert_eq!(report.chains[0].timestamps.len(), 2);
        assert_eq!(report.chains[1].algorithm, DigestAlgorithm::Sha512);
        assert_eq!(record.digest_algorithms.len(), 2);
        let only_sha256 = [(DigestAlgorithm::Sha256, DigestAlgorithm::Sha256.digest(document))];
        let error = verify(DataInput::Digests(&only_sha256), record, &trust).unwrap_err();
        assert!(matches!(error, VerifyError::DigestMissing { algorithm: "sha512" }), "{error}");
        let error = verify(DataInput::Bytes(b"forged"), record, &trust).unwrap_err();
        assert!(matches!(error, VerifyError::HashNotInTree { chain: 0, .. }), "{error}");
    }
    // The new chain covers the old chains: altering chain 0 breaks chain 1's leaf.
    let mut altered = renewed[0].clone();
    altered.archive_time_stamp_sequence[0].pop();
    let error = verify(DataInput::Bytes(&documents[0]), &altered, &trust).unwrap_err();
    assert!(matches!(error, VerifyError::HashNotInTree { chain: 1, .. }), "{error}");
}

#[test]
fn a_stamped_tree_survives_its_stored_form() {
    let trust = Pki::shared().trust();
    let documents: Vec<Vec<u8>> = (0..6).map(|i| format!("stored {i}").into_bytes()).collect();
    let tree =
        HashTree::build(DigestAlgorithm::Sha256, documents.iter().map(|d| DigestAlgorithm::Sha256.digest(d)))
            .unwrap();
    let token = stamp(DigestAlgorithm::Sha256, tree.root());
    let stamped = StampedTree::new(tree, token).unwrap();
    let stored = stamped.to_stored();
    let loaded = StampedTree::from_stored(&stored).unwrap();
    assert_eq!(loaded, stamped);
    for document in &documents {
        let record = loaded.record_for(&DigestAlgorithm::Sha256.digest(document)).unwrap();
        verify(DataInput::Bytes(document), &record, &trust).unwrap();
    }
    assert!(StampedTree::from_stored(&stored[..stored.len() - 3]).is_err());
    let mut wrong = stored.clone();
    wrong[0] = 2;
    assert!(matches!(StampedTree::from_stored(&wrong), Err(StoredStampedTreeError::Version(2))));
    let other_tree =
        HashTree::build(DigestAlgorithm::Sha256, [DigestAlgorithm::Sha256.digest(b"x")]).unwrap();
    assert!(StampedTree::new(other_tree, stamped.token_der().to_vec()).is_err());
}

#[test]
fn a_token_for_another_root_is_not_assembled() {
    let (_, tree, _) = stamped_documents(2, "wrong-root");
    let other = stamp(DigestAlgorithm::Sha256, &DigestAlgorithm::Sha256.digest(b"other root"));
    let leaf = tree.leaves().next().unwrap().to_vec();
    let error = evidence_record(&tree, &leaf, &other).unwrap_err();
    assert!(error.to_string().contains("belongs to another tree"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_decode_as_a_record_and_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        // Random bytes are never a valid record; decoding must fail cleanly.
        prop_assert!(EvidenceRecord::from_der_checked(&bytes).is_err());
        let _ = registratur_evidence::tsp::TimeStampResp::from_der(&bytes);
        let _ = registratur_evidence::tsp::TstInfo::from_der(&bytes);
    }
}

#[test]
fn corrupted_records_fail_without_panicking() {
    let trust = Pki::shared().trust();
    let (documents, _, records) = stamped_documents(3, "corrupt");
    let der = records[0].to_der_bytes().unwrap();
    let original = verify_der(DataInput::Bytes(&documents[0]), &der, &trust).unwrap();
    let mut accepted = 0;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut bytes = der.clone();
        let position = (state % bytes.len() as u64) as usize;
        bytes[position] ^= 1 << ((state >> 32) % 8);
        if (state >> 40).is_multiple_of(4) {
            bytes.truncate(position);
        }
        // A change is refused, or it lies in a field no signature covers (such as the CMS SignedData's
        // digestAlgorithms set) and changes nothing of what the record proves.
        if let Ok(report) = verify_der(DataInput::Bytes(&documents[0]), &bytes, &trust) {
            assert_eq!(report, original, "flip at {position} changed what the record proves");
            accepted += 1;
        }
    }
    assert!(accepted < 150, "{accepted} of 3000 corruptions were accepted");
}

/// A TSTInfo stamped in the past (`genTime` 2020-06-01) by the TSA certificate that expired in 2021,
/// signed with `openssl cms`: what an old record looks like.
fn token_from_2020(algorithm: DigestAlgorithm, root: &[u8]) -> Vec<u8> {
    use der::Encode;
    use registratur_evidence::tsp::{MessageImprint, TstInfo};
    let tst = TstInfo {
        version: 1,
        policy: der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
        message_imprint: MessageImprint {
            hash_algorithm: algorithm.algorithm_identifier(),
            hashed_message: der::asn1::OctetString::new(root.to_vec()).unwrap(),
        },
        serial_number: der::asn1::Int::new(&[0x20, 0x20]).unwrap(),
        gen_time: der::Any::new(der::Tag::GeneralizedTime, b"20200601120000Z".as_slice()).unwrap(),
        accuracy: None,
        ordering: false,
        nonce: None,
        tsa: None,
        extensions: None,
    };
    Pki::shared().cms_token("old-tsa", &tst.to_der().unwrap())
}

#[test]
fn certificates_count_at_gen_time_and_renewals_must_come_before_expiry() {
    let trust = Pki::shared().trust();
    let documents: Vec<Vec<u8>> = (0..2).map(|i| format!("archived in 2020: {i}").into_bytes()).collect();
    let leaves: Vec<Vec<u8>> = documents.iter().map(|d| DigestAlgorithm::Sha256.digest(d)).collect();
    let tree = HashTree::build(DigestAlgorithm::Sha256, &leaves).unwrap();
    let record =
        evidence_record(&tree, &leaves[0], &token_from_2020(DigestAlgorithm::Sha256, tree.root())).unwrap();

    // The TSA certificate expired in 2021 but was valid at genTime: the record proves existence in 2020.
    let report = verify(DataInput::Bytes(&documents[0]), &record, &trust).unwrap();
    assert_eq!(report.existed_at.to_rfc3339(), "2020-06-01T12:00:00+00:00");
    assert_eq!(report.renew_before.to_rfc3339(), "2021-01-01T00:00:00+00:00");

    // Renewed today, years after that certificate expired: the chain is broken and verify says so.
    let late = renew_timestamps(std::slice::from_ref(&record)).remove(0);
    let error = verify(DataInput::Bytes(&documents[0]), &late, &trust).unwrap_err();
    assert!(matches!(error, VerifyError::RenewedTooLate { chain: 0, stamp: 1, .. }), "{error}");
    assert!(error.to_string().contains("2021-01-01"), "{error}");
}
