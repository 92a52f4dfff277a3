//! BouncyCastle 1.72 interop, both directions: records we write pass `ERSEvidenceRecord.validatePresent` and
//! `validate`; records BouncyCastle builds (over data objects, with a token from our test TSA) pass our
//! `verify`.

use registratur_evidence::{DataInput, DigestAlgorithm, EvidenceRecord, VerifyError, verify, verify_der};

use crate::records::{renew_hash_trees, renew_timestamps, stamped_documents};
use crate::support::{Behaviour, Pki, Signer, TestTsa, java};

/// Runs BouncyCastle's `validatePresent` and `validate` on each (record, data) pair in one JVM; returns
/// whether each pair is valid, and the program's output.
fn bouncycastle_validates(pairs: &[(&EvidenceRecord, &[u8])]) -> (Vec<bool>, String) {
    let pki = Pki::shared();
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["validate".to_owned(), pki.path("tsa.pem").display().to_string()];
    for (i, (record, document)) in pairs.iter().enumerate() {
        let ers = dir.path().join(format!("{i}.ers"));
        let data = dir.path().join(format!("{i}.data"));
        std::fs::write(&ers, record.to_der_bytes().unwrap()).unwrap();
        std::fs::write(&data, document).unwrap();
        args.push(ers.display().to_string());
        args.push(data.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, output) = java(&args);
    let valid = (0..pairs.len()).map(|i| output.lines().any(|l| l == format!("VALID {i}"))).collect();
    (valid, output)
}

#[test]
fn our_records_pass_bouncycastle_validate_present_and_validate() {
    for n in [1, 2, 3, 10] {
        let (documents, _, records) = stamped_documents(n, "to-bc");
        let mut pairs: Vec<(&EvidenceRecord, &[u8])> =
            records.iter().zip(&documents).map(|(r, d)| (r, d.as_slice())).collect();
        // The harness does refuse: the wrong data must fail BouncyCastle's validatePresent.
        pairs.push((&records[0], b"tampered"));
        let (valid, output) = bouncycastle_validates(&pairs);
        assert!(valid[..n].iter().all(|v| *v), "n = {n}: {output}");
        assert!(!valid[n], "BouncyCastle accepted tampered data for n = {n}: {output}");
    }
}

#[test]
fn our_renewed_records_pass_bouncycastle() {
    // Records of two trees renewed together: the renewal tree has two leaves, so each renewal carries a
    // path as well as its group of timestamp hashes.
    let (documents_a, _, records_a) = stamped_documents(3, "renewed-to-bc-a");
    let (documents_b, _, records_b) = stamped_documents(1, "renewed-to-bc-b");
    let documents: Vec<Vec<u8>> = documents_a.into_iter().chain(documents_b).collect();
    let records: Vec<EvidenceRecord> = records_a.into_iter().chain(records_b).collect();
    let twice = renew_timestamps(&renew_timestamps(&records));
    assert!(
        twice[0].archive_time_stamp_sequence[0][2].reduced_hashtree.as_ref().is_some_and(|t| t.len() == 2)
    );
    let rehashed = renew_hash_trees(&twice, &documents);
    let pairs: Vec<(&EvidenceRecord, &[u8])> = twice
        .iter()
        .chain(&rehashed)
        .zip(documents.iter().chain(&documents))
        .map(|(r, d)| (r, d.as_slice()))
        .collect();
    let (valid, output) = bouncycastle_validates(&pairs);
    assert!(valid.iter().all(|v| *v), "timestamp- and hash-tree-renewed records: {output}");
}

#[test]
fn bouncycastle_records_pass_our_verify() {
    let pki = Pki::shared();
    let trust = pki.trust();
    let tsa = TestTsa::start(Behaviour::Sign(Signer::Good));
    for n in [1, 2, 3, 12] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["build".to_owned(), tsa.url(), dir.path().display().to_string()];
        let mut documents = Vec::new();
        for i in 0..n {
            let document = format!("from bouncycastle: document {i} of {n}").into_bytes();
            let path = dir.path().join(format!("{i}.data"));
            std::fs::write(&path, &document).unwrap();
            args.push(path.display().to_string());
            documents.push(document);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, output) = java(&args);
        assert!(ok && output.contains(&format!("BUILT {n}")), "n = {n}: {output}");
        for (i, document) in documents.iter().enumerate() {
            let der = std::fs::read(dir.path().join(format!("{i}.ers"))).unwrap();
            let report = verify_der(DataInput::Bytes(document), &der, &trust)
                .unwrap_or_else(|e| panic!("n = {n}, record {i}: {e}"));
            assert_eq!(report.chains[0].algorithm, DigestAlgorithm::Sha256);
            // Decoding and encoding gives back BouncyCastle's bytes.
            assert_eq!(EvidenceRecord::from_der_checked(&der).unwrap().to_der_bytes().unwrap(), der);
            let record = EvidenceRecord::from_der_checked(&der).unwrap();
            let error = verify(DataInput::Bytes(b"tampered"), &record, &trust).unwrap_err();
            assert!(matches!(error, VerifyError::HashNotInTree { .. }), "{error}");
        }
    }
}

#[test]
fn bouncycastle_renewals_of_our_records_pass_our_verify() {
    let pki = Pki::shared();
    let trust = pki.trust();
    let tsa = TestTsa::start(Behaviour::Sign(Signer::Good));
    for n in [1, 3] {
        let (documents, _, records) = stamped_documents(n, "bc-renews");
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(path("0.ers"), records[0].to_der_bytes().unwrap()).unwrap();
        std::fs::write(path("data"), &documents[0]).unwrap();
        // Two timestamp renewals (the second stamps a group of two timestamp hashes), then a SHA-512
        // hash-tree renewal, each by BouncyCastle.
        for (from, to) in [("0.ers", "1.ers"), ("1.ers", "2.ers")] {
            let (ok, output) = java(&["renew-ts", &path(from), &tsa.url(), &path(to)]);
            assert!(ok, "n = {n}, {from}: {output}");
        }
        let (ok, output) = java(&["renew-hash", &path("2.ers"), &path("data"), &tsa.url(), &path("3.ers")]);
        assert!(ok, "n = {n}: {output}");
        for (name, chains, stamps) in [("1.ers", 1, 2), ("2.ers", 1, 3), ("3.ers", 2, 1)] {
            let der = std::fs::read(path(name)).unwrap();
            let report = verify_der(DataInput::Bytes(&documents[0]), &der, &trust)
                .unwrap_or_else(|e| panic!("n = {n}, {name}: {e}"));
            assert_eq!(report.chains.len(), chains, "{name}");
            assert_eq!(report.chains[chains - 1].timestamps.len(), stamps, "{name}");
            let error = verify_der(DataInput::Bytes(b"tampered"), &der, &trust).unwrap_err();
            assert!(matches!(error, VerifyError::HashNotInTree { chain: 0, .. }), "{error}");
        }
        assert_eq!(
            verify_der(DataInput::Bytes(&documents[0]), &std::fs::read(path("3.ers")).unwrap(), &trust)
                .unwrap()
                .chains[1]
                .algorithm,
            DigestAlgorithm::Sha512
        );
    }
}
