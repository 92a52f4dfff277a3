//! The TSA client against a real `openssl ts -reply` TSA on loopback: good tokens verify with our code and
//! with `openssl ts -verify`; each kind of bad answer is refused with its own error.

use std::process::Command;
use std::time::Duration;

use registratur_evidence::token::TokenError;
use registratur_evidence::{DigestAlgorithm, HttpTsa, StampError, TrustList, TsaError, timestamp};

use registratur_evidence::Stamper;

use crate::support::{Behaviour, DirectTsa, Pki, Signer, TestTsa, block_on, run};

fn stamp_with(
    behaviour: Behaviour,
    timeout: Duration,
    trust: &TrustList,
) -> Result<registratur_evidence::Timestamp, StampError> {
    let tsa = TestTsa::start(behaviour);
    let client = HttpTsa::new(&tsa.url(), timeout).unwrap();
    let digest = DigestAlgorithm::Sha256.digest(b"a tree root");
    block_on(timestamp(&client, DigestAlgorithm::Sha256, &digest, trust))
}

#[test]
fn a_real_token_verifies_with_us_and_with_openssl() {
    let pki = Pki::shared();
    for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
        let tsa = TestTsa::start(Behaviour::Sign(Signer::Good));
        let client = HttpTsa::new(&tsa.url(), Duration::from_secs(20)).unwrap();
        let digest = algorithm.digest(b"root of a tree");
        let stamped = block_on(timestamp(&client, algorithm, &digest, &pki.trust())).unwrap();
        assert_eq!(stamped.verified.imprint, digest);
        assert_eq!(stamped.verified.algorithm, algorithm);
        assert!(stamped.verified.tsa_subject.contains("CN=tsa"), "{}", stamped.verified.tsa_subject);
        assert!((chrono::Utc::now() - stamped.verified.gen_time).num_seconds().abs() < 60);

        let token = pki.dir.path().join(format!("token-{algorithm}.der"));
        std::fs::write(&token, &stamped.token_der).unwrap();
        let out = run(Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in"])
            .arg(&token)
            .args(["-digest", &hex::encode(&digest), "-CAfile"])
            .arg(pki.path("ca.pem"))
            .arg("-untrusted")
            .arg(pki.path("tsa.pem")));
        assert!(
            String::from_utf8_lossy(&out).contains("Verification: OK"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
}

/// The contract every [`Stamper`] keeps: an answer to each request, verified by [`timestamp`], for
/// each algorithm, with a fresh nonce and serial each time.
fn stamper_contract(stamper: &dyn Stamper) {
    let trust = Pki::shared().trust();
    for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512] {
        let digest = algorithm.digest(b"contract");
        let first = block_on(timestamp(stamper, algorithm, &digest, &trust)).unwrap();
        let second = block_on(timestamp(stamper, algorithm, &digest, &trust)).unwrap();
        assert_eq!(first.verified.imprint, digest);
        assert_eq!(first.verified.algorithm, algorithm);
        assert_ne!(first.verified.nonce, second.verified.nonce);
        assert_ne!(first.verified.serial, second.verified.serial);
    }
}

#[test]
fn both_stampers_keep_the_contract() {
    let tsa = TestTsa::start(Behaviour::Sign(Signer::Good));
    stamper_contract(&HttpTsa::new(&tsa.url(), Duration::from_secs(20)).unwrap());
    stamper_contract(&DirectTsa(Signer::Good));
}

#[test]
fn ecdsa_tokens_verify_with_us_and_with_openssl() {
    let pki = Pki::shared();
    for (signer, cert) in [(Signer::EcP256, "ec256-tsa.pem"), (Signer::EcP384, "ec384-tsa.pem")] {
        let digest = DigestAlgorithm::Sha256.digest(b"ecdsa");
        let stamped = block_on(timestamp(&DirectTsa(signer), DigestAlgorithm::Sha256, &digest, &pki.trust()))
            .unwrap_or_else(|e| panic!("{signer:?}: {e}"));
        assert!(stamped.verified.tsa_subject.contains(cert.trim_end_matches(".pem")));
        let token = pki.dir.path().join(format!("token-{signer:?}.der"));
        std::fs::write(&token, &stamped.token_der).unwrap();
        let out = run(Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in"])
            .arg(&token)
            .args(["-digest", &hex::encode(&digest), "-CAfile"])
            .arg(pki.path("ca.pem"))
            .arg("-untrusted")
            .arg(pki.path(cert)));
        assert!(String::from_utf8_lossy(&out).contains("Verification: OK"));
    }
}

#[test]
fn an_unreachable_tsa_is_a_transient_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = HttpTsa::new(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(5)).unwrap();
    let digest = DigestAlgorithm::Sha256.digest(b"x");
    let error =
        block_on(timestamp(&client, DigestAlgorithm::Sha256, &digest, &Pki::shared().trust())).unwrap_err();
    assert!(matches!(error, StampError::Tsa(TsaError::Unreachable { .. })), "{error}");
    assert!(error.is_transient());
}

#[test]
fn a_slow_tsa_times_out_transiently() {
    let error = stamp_with(
        Behaviour::Slow(Duration::from_secs(3)),
        Duration::from_millis(500),
        &Pki::shared().trust(),
    )
    .unwrap_err();
    assert!(matches!(error, StampError::Tsa(TsaError::Timeout { .. })), "{error}");
    assert!(error.is_transient());
}

#[test]
fn garbage_is_a_permanent_bad_answer() {
    let error = stamp_with(Behaviour::Garbage, Duration::from_secs(20), &Pki::shared().trust()).unwrap_err();
    assert!(matches!(error, StampError::Response(_)), "{error}");
    assert!(!error.is_transient());
}

#[test]
fn a_token_for_another_imprint_is_refused() {
    let error =
        stamp_with(Behaviour::OtherImprint, Duration::from_secs(20), &Pki::shared().trust()).unwrap_err();
    assert!(matches!(error, StampError::Token(TokenError::ImprintMismatch { .. })), "{error}");
    assert!(!error.is_transient());
}

#[test]
fn a_nonce_mismatch_is_refused() {
    let error =
        stamp_with(Behaviour::OtherNonce, Duration::from_secs(20), &Pki::shared().trust()).unwrap_err();
    assert!(matches!(error, StampError::Token(TokenError::NonceMismatch { .. })), "{error}");
}

#[test]
fn an_untrusted_ca_is_refused() {
    let error =
        stamp_with(Behaviour::Sign(Signer::Untrusted), Duration::from_secs(20), &Pki::shared().trust())
            .unwrap_err();
    assert!(matches!(error, StampError::Token(TokenError::Untrusted { .. })), "{error}");
    assert!(error.to_string().contains("rogue"), "{error}");
}

#[test]
fn an_expired_tsa_certificate_is_refused() {
    let error = stamp_with(Behaviour::Sign(Signer::Expired), Duration::from_secs(20), &Pki::shared().trust())
        .unwrap_err();
    assert!(matches!(error, StampError::Token(TokenError::CertificateNotValid { .. })), "{error}");
    assert!(error.to_string().contains("old-tsa"), "{error}");
}

#[test]
fn https_works_with_the_tsa_ca_and_fails_permanently_without_it() {
    let pki = Pki::shared();
    let tsa = TestTsa::start_tls(Behaviour::Sign(Signer::Good));
    let ca = std::fs::read(pki.path("ca.pem")).unwrap();
    let client =
        HttpTsa::new(&tsa.https_url(), Duration::from_secs(20)).unwrap().with_tls_roots_pem(&ca).unwrap();
    stamper_contract(&client);

    let rogue = std::fs::read(pki.path("rogue-ca.pem")).unwrap();
    let client =
        HttpTsa::new(&tsa.https_url(), Duration::from_secs(20)).unwrap().with_tls_roots_pem(&rogue).unwrap();
    let digest = DigestAlgorithm::Sha256.digest(b"tls");
    let error = block_on(timestamp(&client, DigestAlgorithm::Sha256, &digest, &pki.trust())).unwrap_err();
    assert!(matches!(error, StampError::Tsa(TsaError::Tls { .. })), "{error}");
    assert!(!error.is_transient());
}

#[test]
fn nonsense_urls_are_refused_up_front() {
    assert!(matches!(
        HttpTsa::new("ftp://tsa.example/", Duration::from_secs(1)),
        Err(TsaError::InvalidUrl { .. })
    ));
    assert!(matches!(HttpTsa::new("not a url", Duration::from_secs(1)), Err(TsaError::InvalidUrl { .. })));
    let plain = HttpTsa::new("http://127.0.0.1:1/", Duration::from_secs(1)).unwrap();
    assert!(matches!(plain.with_tls_roots_pem(b""), Err(TsaError::InvalidUrl { .. })));
}

/// Takes a good token apart with the `cms` types, changes one thing, and puts it together again.
fn altered_token(alter: impl FnOnce(&mut cms::signed_data::SignedData)) -> (Vec<u8>, Vec<u8>) {
    use der::{Decode, Encode};
    let digest = DigestAlgorithm::Sha256.digest(b"altered");
    let stamped = block_on(timestamp(
        &DirectTsa(Signer::Good),
        DigestAlgorithm::Sha256,
        &digest,
        &Pki::shared().trust(),
    ))
    .unwrap();
    let mut content_info = cms::content_info::ContentInfo::from_der(&stamped.token_der).unwrap();
    let mut signed_data: cms::signed_data::SignedData = content_info.content.decode_as().unwrap();
    alter(&mut signed_data);
    content_info.content = der::Any::encode_from(&signed_data).unwrap();
    (content_info.to_der().unwrap(), digest)
}

fn refusal(token: &[u8], digest: &[u8]) -> TokenError {
    registratur_evidence::verify_token(token, DigestAlgorithm::Sha256, digest, None, &Pki::shared().trust())
        .unwrap_err()
}

#[test]
fn each_broken_part_of_a_token_has_its_own_error() {
    use der::Encode;
    use registratur_evidence::tsp::ID_AA_SIGNING_CERTIFICATE_V2;

    // The untouched token verifies: the alterations below are what breaks it.
    let (token, digest) = altered_token(|_| {});
    registratur_evidence::verify_token(
        &token,
        DigestAlgorithm::Sha256,
        &digest,
        None,
        &Pki::shared().trust(),
    )
    .unwrap();

    // The TSTInfo changed after signing (here: its serial number's last byte).
    let (token, digest) = altered_token(|sd| {
        let econtent = sd.encap_content_info.econtent.as_mut().unwrap();
        let mut octets: der::asn1::OctetString = econtent.decode_as().unwrap();
        let mut tst = registratur_evidence::tsp::TstInfo::from_der_bytes(octets.as_bytes()).unwrap();
        let mut serial = tst.serial_number.as_bytes().to_vec();
        *serial.last_mut().unwrap() ^= 1;
        tst.serial_number = der::asn1::Int::new(&serial).unwrap();
        octets = der::asn1::OctetString::new(tst.to_der().unwrap()).unwrap();
        *econtent = der::Any::encode_from(&octets).unwrap();
    });
    assert_eq!(refusal(&token, &digest), TokenError::MessageDigestMismatch);

    // No certificates: offline verification cannot find the TSA's key.
    let (token, digest) = altered_token(|sd| sd.certificates = None);
    assert_eq!(refusal(&token, &digest), TokenError::SignerCertificateMissing);

    // The ESS signing-certificate attribute removed.
    let (token, digest) = altered_token(|sd| {
        let mut signers: Vec<cms::signed_data::SignerInfo> = sd.signer_infos.0.iter().cloned().collect();
        let attrs = signers[0].signed_attrs.as_mut().unwrap();
        let kept: Vec<x509_cert::attr::Attribute> =
            attrs.iter().filter(|a| a.oid != ID_AA_SIGNING_CERTIFICATE_V2).cloned().collect();
        *attrs = der::asn1::SetOfVec::try_from(kept).unwrap();
        sd.signer_infos = cms::signed_data::SignerInfos(der::asn1::SetOfVec::try_from(signers).unwrap());
    });
    assert_eq!(refusal(&token, &digest), TokenError::EssSigningCertificateMissing);

    // The signature itself changed.
    let (token, digest) = altered_token(|sd| {
        let mut signers: Vec<cms::signed_data::SignerInfo> = sd.signer_infos.0.iter().cloned().collect();
        let mut signature = signers[0].signature.as_bytes().to_vec();
        signature[10] ^= 0x80;
        signers[0].signature = der::asn1::OctetString::new(signature).unwrap();
        sd.signer_infos = cms::signed_data::SignerInfos(der::asn1::SetOfVec::try_from(signers).unwrap());
    });
    assert!(matches!(refusal(&token, &digest), TokenError::BadSignature { .. }));

    // Not a token at all, and a token for another digest.
    assert!(matches!(refusal(b"\x30\x03\x02\x01\x01", &digest), TokenError::Decode(_)));
    assert!(matches!(refusal(&token, &[0u8; 32]), TokenError::ImprintMismatch { .. }));
}

#[test]
fn a_signer_without_critical_timestamping_usage_is_refused() {
    use der::Decode;
    let pki = Pki::shared();
    let digest = DigestAlgorithm::Sha256.digest(b"eku");
    let good = block_on(timestamp(&DirectTsa(Signer::Good), DigestAlgorithm::Sha256, &digest, &pki.trust()))
        .unwrap();
    let content_info = cms::content_info::ContentInfo::from_der(&good.token_der).unwrap();
    let signed_data: cms::signed_data::SignedData = content_info.content.decode_as().unwrap();
    let econtent = signed_data.encap_content_info.econtent.unwrap();
    let tst_info = econtent.decode_as::<der::asn1::OctetString>().unwrap().as_bytes().to_vec();

    // The same TSTInfo signed by a certificate with the usage critical verifies: the harness is sound.
    let token = pki.cms_token("tsa", &tst_info);
    registratur_evidence::verify_token(&token, DigestAlgorithm::Sha256, &digest, None, &pki.trust()).unwrap();

    let token = pki.cms_token("weak-eku", &tst_info);
    assert!(matches!(refusal(&token, &digest), TokenError::ExtendedKeyUsageNotCritical { .. }));
    let token = pki.cms_token("no-eku", &tst_info);
    assert!(matches!(refusal(&token, &digest), TokenError::NotTimeStampingCertificate { .. }));
}
