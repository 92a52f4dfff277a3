//! Test fixtures: a real PKI made with `openssl` (test CA, TSA certificates with extendedKeyUsage
//! timeStamping critical, an untrusted CA, an expired TSA certificate), a real TSA (`openssl ts -reply`, one
//! process per request) behind a small HTTP/1.1 responder on loopback, and BouncyCastle's ERS driven by a
//! small Java program compiled with `javac` on first use.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use der::{Decode, Encode};
use registratur_evidence::tsa::StampFuture;
use registratur_evidence::tsp::TimeStampReq;
use registratur_evidence::{DigestAlgorithm, Stamper, TrustList};

/// Runs a command and fails the test with its output if it does not succeed.
pub fn run(command: &mut Command) -> Vec<u8> {
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot run {command:?}: {e}; install it (scripts/install-deps: openssl, default-jdk-headless, libbcpkix-java)")
    });
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn openssl(dir: &Path, args: &[&str]) {
    run(Command::new("openssl").current_dir(dir).args(args));
}

/// Which TSA certificate signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signer {
    /// Chains to the trusted test CA.
    Good,
    /// Chains to a CA that is not on the trust list.
    Untrusted,
    /// Chains to the trusted CA, but expired in 2021.
    Expired,
    /// An ECDSA P-256 key (signing with SHA-256), chaining to the trusted CA.
    EcP256,
    /// An ECDSA P-384 key (signing with SHA-384), chaining to the trusted CA.
    EcP384,
}

/// The test PKI in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    /// One PKI per test process: generating RSA keys costs a second.
    pub fn shared() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(Pki::create)
    }

    fn create() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::write(
            d.join("ext.cnf"),
            "[req]\ndistinguished_name=dn\n[dn]\n[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n\
             [tsa]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n\
             subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n\
             [weak-eku]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=timeStamping\nkeyUsage=critical,digitalSignature\n\
             [no-eku]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             [server]\nbasicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n",
        )
        .unwrap();
        // `openssl ca` can set dates in the past: the CAs are valid from 2019 (records stamped in 2020 must
        // chain to them at their genTime), the expired TSA certificate only in 2020.
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("ca.srl.db"), "1000\n").unwrap();
        std::fs::write(
            d.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca=test\n[test]\ndir={}\ndatabase=$dir/index.txt\nnew_certs_dir=$dir\nserial=$dir/ca.srl.db\n\
                 default_md=sha256\npolicy=any\ncopy_extensions=none\n[any]\norganizationName=optional\ncommonName=supplied\n",
                d.display()
            ),
        )
        .unwrap();
        for ca in ["ca", "rogue-ca"] {
            openssl(d, &["genrsa", "-out", &format!("{ca}.key"), "2048"]);
            openssl(
                d,
                &[
                    "req",
                    "-new",
                    "-key",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.csr"),
                    "-subj",
                    &format!("/O=registratur test/CN={ca}"),
                    "-config",
                    "ext.cnf",
                ],
            );
            openssl(
                d,
                &[
                    "ca",
                    "-batch",
                    "-selfsign",
                    "-config",
                    "ca.cnf",
                    "-keyfile",
                    &format!("{ca}.key"),
                    "-in",
                    &format!("{ca}.csr"),
                    "-out",
                    &format!("{ca}.pem"),
                    "-startdate",
                    "20190101000000Z",
                    "-enddate",
                    "20400101000000Z",
                    "-extfile",
                    "ext.cnf",
                    "-extensions",
                    "ca",
                    "-notext",
                ],
            );
        }
        // The good and the untrusted TSA certificates: valid now for ten years.
        for (tsa, ca) in [("tsa", "ca"), ("rogue-tsa", "rogue-ca")] {
            openssl(d, &["genrsa", "-out", &format!("{tsa}.key"), "2048"]);
            openssl(
                d,
                &[
                    "req",
                    "-new",
                    "-key",
                    &format!("{tsa}.key"),
                    "-out",
                    &format!("{tsa}.csr"),
                    "-subj",
                    &format!("/O=registratur test/CN={tsa}"),
                    "-config",
                    "ext.cnf",
                ],
            );
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{tsa}.csr"),
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-out",
                    &format!("{tsa}.pem"),
                    "-days",
                    "3650",
                    "-sha256",
                    "-extfile",
                    "ext.cnf",
                    "-extensions",
                    "tsa",
                ],
            );
        }
        // Signers that `openssl ts` refuses to use, for tokens made with `openssl cms`: extendedKeyUsage
        // timeStamping not critical, and none at all.
        for signer in ["weak-eku", "no-eku"] {
            openssl(d, &["genrsa", "-out", &format!("{signer}.key"), "2048"]);
            openssl(
                d,
                &[
                    "req",
                    "-new",
                    "-key",
                    &format!("{signer}.key"),
                    "-out",
                    &format!("{signer}.csr"),
                    "-subj",
                    &format!("/O=registratur test/CN={signer}"),
                    "-config",
                    "ext.cnf",
                ],
            );
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{signer}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &format!("{signer}.pem"),
                    "-days",
                    "3650",
                    "-sha256",
                    "-extfile",
                    "ext.cnf",
                    "-extensions",
                    signer,
                ],
            );
        }
        // The TLS server certificate of the https TSA, for 127.0.0.1.
        openssl(d, &["genrsa", "-out", "server.key", "2048"]);
        openssl(
            d,
            &[
                "req",
                "-new",
                "-key",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
                "-config",
                "ext.cnf",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "3650",
                "-sha256",
                "-extfile",
                "ext.cnf",
                "-extensions",
                "server",
            ],
        );
        // ECDSA TSA certificates, signed by the trusted (RSA) CA.
        for (tsa, curve) in [("ec256-tsa", "P-256"), ("ec384-tsa", "P-384")] {
            openssl(
                d,
                &[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    &format!("ec_paramgen_curve:{curve}"),
                    "-out",
                    &format!("{tsa}.key"),
                ],
            );
            openssl(
                d,
                &[
                    "req",
                    "-new",
                    "-key",
                    &format!("{tsa}.key"),
                    "-out",
                    &format!("{tsa}.csr"),
                    "-subj",
                    &format!("/O=registratur test/CN={tsa}"),
                    "-config",
                    "ext.cnf",
                ],
            );
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{tsa}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &format!("{tsa}.pem"),
                    "-days",
                    "3650",
                    "-sha256",
                    "-extfile",
                    "ext.cnf",
                    "-extensions",
                    "tsa",
                ],
            );
        }
        // The expired TSA certificate (valid in 2020 only).
        openssl(d, &["genrsa", "-out", "old-tsa.key", "2048"]);
        openssl(
            d,
            &[
                "req",
                "-new",
                "-key",
                "old-tsa.key",
                "-out",
                "old-tsa.csr",
                "-subj",
                "/O=registratur test/CN=old-tsa",
                "-config",
                "ext.cnf",
            ],
        );
        openssl(
            d,
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-in",
                "old-tsa.csr",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-out",
                "old-tsa.pem",
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20210101000000Z",
                "-extfile",
                "ext.cnf",
                "-extensions",
                "tsa",
                "-notext",
            ],
        );
        let mut config = String::from("[tsa]\ndefault_tsa=good\n");
        for (section, cert, key, ess, digest) in [
            ("good", "tsa", "tsa", "sha256", "sha256"),
            ("untrusted", "rogue-tsa", "rogue-tsa", "sha1", "sha256"),
            ("expired", "old-tsa", "old-tsa", "sha1", "sha256"),
            ("ec256", "ec256-tsa", "ec256-tsa", "sha256", "sha256"),
            ("ec384", "ec384-tsa", "ec384-tsa", "sha1", "sha384"),
        ] {
            config.push_str(&format!(
                "[{section}]\nserial={dir}/{section}.serial\ncrypto_device=builtin\nsigner_cert={dir}/{cert}.pem\n\
                 signer_key={dir}/{key}.key\nsigner_digest={digest}\ndefault_policy=1.3.6.1.4.1.99999.1\n\
                 digests=sha256,sha384,sha512\naccuracy=secs:1\nordering=no\ntsa_name=no\ness_cert_id_chain=no\n\
                 ess_cert_id_alg={ess}\n",
                dir = d.display()
            ));
            std::fs::write(d.join(format!("{section}.serial")), "01\n").unwrap();
        }
        std::fs::write(d.join("tsa.cnf"), config).unwrap();
        Pki { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The trust list with the test CA only.
    pub fn trust(&self) -> TrustList {
        TrustList::from_pem_file(&self.path("ca.pem")).unwrap()
    }

    /// Signs a DER `TimeStampReq` with `openssl ts -reply` and returns the DER `TimeStampResp`.
    pub fn reply(&self, signer: Signer, request: &[u8]) -> Vec<u8> {
        let work = tempfile::tempdir_in(self.dir.path()).unwrap();
        let query = work.path().join("query.tsq");
        let out = work.path().join("reply.tsr");
        std::fs::write(&query, request).unwrap();
        let section = match signer {
            Signer::Good => "good",
            Signer::Untrusted => "untrusted",
            Signer::Expired => "expired",
            Signer::EcP256 => "ec256",
            Signer::EcP384 => "ec384",
        };
        run(Command::new("openssl")
            .args(["ts", "-reply", "-config"])
            .arg(self.path("tsa.cnf"))
            .args(["-section", section, "-queryfile"])
            .arg(&query)
            .arg("-out")
            .arg(&out));
        std::fs::read(out).unwrap()
    }
}

impl Pki {
    /// Signs a TSTInfo as a timestamp token with `openssl cms -sign -cades` (ESS signing certificate v2),
    /// for signers `openssl ts` refuses: the token is right in every way but the certificate.
    pub fn cms_token(&self, signer: &str, tst_info_der: &[u8]) -> Vec<u8> {
        let work = tempfile::tempdir_in(self.dir.path()).unwrap();
        let input = work.path().join("tst.der");
        let out = work.path().join("token.der");
        std::fs::write(&input, tst_info_der).unwrap();
        run(Command::new("openssl")
            .args(["cms", "-sign", "-binary", "-nodetach", "-nosmimecap", "-cades", "-md", "sha256"])
            .args(["-econtent_type", "1.2.840.113549.1.9.16.1.4", "-outform", "DER", "-in"])
            .arg(&input)
            .arg("-signer")
            .arg(self.path(&format!("{signer}.pem")))
            .arg("-inkey")
            .arg(self.path(&format!("{signer}.key")))
            .arg("-out")
            .arg(&out));
        std::fs::read(out).unwrap()
    }
}

/// A second [`Stamper`]: `openssl ts -reply` called directly, without HTTP (the fake the engine's tests
/// can use where no network is wanted).
pub struct DirectTsa(pub Signer);

impl Stamper for DirectTsa {
    fn stamp<'a>(&'a self, request_der: &'a [u8]) -> StampFuture<'a> {
        Box::pin(async move { Ok(Pki::shared().reply(self.0, request_der)) })
    }
}

/// How the test TSA answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// A real `openssl ts -reply` answer.
    Sign(Signer),
    /// Waits before answering (longer than the client's timeout).
    Slow(Duration),
    /// Random bytes with the right content type.
    Garbage,
    /// A valid token for another imprint.
    OtherImprint,
    /// A valid token with another nonce.
    OtherNonce,
}

/// A TSA on loopback: a thread accepting HTTP/1.1 POSTs, one `openssl ts -reply` per request.
pub struct TestTsa {
    pub addr: SocketAddr,
}

impl TestTsa {
    pub fn start(behaviour: Behaviour) -> TestTsa {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), behaviour)
    }

    /// The TSA on a listener the caller bound (the engine's tests start it on a port that refused
    /// connections before: a TSA coming back).
    pub fn start_on(listener: TcpListener, behaviour: Behaviour) -> TestTsa {
        let addr = listener.local_addr().unwrap();
        let pki: &'static Pki = Pki::shared();
        let behaviour = Arc::new(behaviour);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let behaviour = Arc::clone(&behaviour);
                std::thread::spawn(move || {
                    let _ = serve_tcp(pki, *behaviour, stream);
                });
            }
        });
        TestTsa { addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}/tsa", self.addr)
    }

    /// The same TSA behind TLS (server certificate for 127.0.0.1, issued by the test CA).
    pub fn start_tls(behaviour: Behaviour) -> TestTsa {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let pki: &'static Pki = Pki::shared();
        let certificates: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(pki.path("server.pem")).unwrap().collect::<Result<_, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_file(pki.path("server.key")).unwrap();
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certificates, key)
                .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let config = Arc::clone(&config);
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let Ok(connection) = rustls::ServerConnection::new(config) else { return };
                    let mut tls = rustls::StreamOwned::new(connection, stream);
                    if serve(pki, behaviour, &mut tls).is_ok() {
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    }
                });
            }
        });
        TestTsa { addr }
    }

    pub fn https_url(&self) -> String {
        format!("https://{}/tsa", self.addr)
    }
}

fn serve_tcp(pki: &Pki, behaviour: Behaviour, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    serve(pki, behaviour, &mut stream)
}

fn serve<S: Read + Write>(pki: &Pki, behaviour: Behaviour, stream: &mut S) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(position) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break position + 4;
        }
    };
    let headers = String::from_utf8_lossy(&buffer[..header_end]).to_ascii_lowercase();
    assert!(headers.starts_with("post "), "the client must POST: {headers}");
    assert!(headers.contains("content-type: application/timestamp-query"), "content type: {headers}");
    let length: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    while buffer.len() < header_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let request = buffer[header_end..header_end + length].to_vec();
    let body = match behaviour {
        Behaviour::Sign(signer) => pki.reply(signer, &request),
        Behaviour::Slow(delay) => {
            std::thread::sleep(delay);
            pki.reply(Signer::Good, &request)
        }
        Behaviour::Garbage => (0..300).map(|i| (i * 7 + 13) as u8).collect(),
        Behaviour::OtherImprint => {
            let mut decoded = TimeStampReq::from_der(&request).unwrap();
            decoded.message_imprint.hashed_message =
                der::asn1::OctetString::new(DigestAlgorithm::Sha256.digest(b"something else")).unwrap();
            pki.reply(Signer::Good, &decoded.to_der().unwrap())
        }
        Behaviour::OtherNonce => {
            let mut decoded = TimeStampReq::from_der(&request).unwrap();
            decoded.nonce = Some(der::asn1::Uint::new(&[0x42, 0x42, 0x42]).unwrap());
            pki.reply(Signer::Good, &decoded.to_der().unwrap())
        }
    };
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

/// A single-threaded runtime for one async call.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// Where the BouncyCastle 1.72 jars are (Debian's libbcprov-java, libbcpkix-java, libbcutil-java).
fn bc_classpath() -> String {
    let jars = ["/usr/share/java/bcprov.jar", "/usr/share/java/bcpkix.jar", "/usr/share/java/bcutil.jar"];
    for jar in jars {
        assert!(
            Path::new(jar).exists(),
            "{jar} is missing: install libbcprov-java libbcpkix-java libbcutil-java (scripts/install-deps)"
        );
    }
    jars.join(":")
}

/// Compiles `tests/java/ErsInterop.java` once and returns the class directory and classpath.
fn java_program() -> &'static (tempfile::TempDir, String) {
    static PROGRAM: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let classpath = bc_classpath();
        let classes = tempfile::tempdir().unwrap();
        // This file is also compiled into the engine's tests (the workspace root's package).
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let source = [
            root.join("tests/java/ErsInterop.java"),
            root.join("crates/evidence/tests/java/ErsInterop.java"),
        ]
        .into_iter()
        .find(|path| path.exists())
        .expect("tests/java/ErsInterop.java of the evidence crate");
        run(Command::new("javac").args(["-nowarn", "-cp", &classpath, "-d"]).arg(classes.path()).arg(source));
        let full = format!("{}:{}", classes.path().display(), classpath);
        (classes, full)
    })
}

/// Runs the Java program with arguments; returns (success, stdout + stderr).
pub fn java(args: &[&str]) -> (bool, String) {
    let (_, classpath) = java_program();
    let output = Command::new("java")
        .args(["-cp", classpath, "ErsInterop"])
        .args(args)
        .output()
        .expect("cannot run java: install default-jdk-headless (scripts/install-deps)");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}
