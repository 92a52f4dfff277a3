//! Configuration: a TOML file, overridden by `REGISTRATUR_*` environment variables, overridden by flags.
//!
//! Every setting has a default, so `registratur serve` runs without any file. The file is
//! `--config PATH`, else `$REGISTRATUR_CONFIG`, else `./registratur.toml` when it exists.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration of a server process.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub records: RecordsConfig,
    pub mailroom: MailroomConfig,
    pub search: SearchConfig,
    pub fixity: FixityConfig,
    pub migration: MigrationConfig,
    /// Evidence records; absent: off.
    pub evidence: Option<EvidenceConfig>,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub blobs: BlobsConfig,
    pub web: WebConfig,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RecordsConfig {
    /// Shape of Aktenzeichen: placeholders `{key}`, `{nr}`, `{year}` with separators between them.
    pub aktenzeichen_format: String,
}

/// `[mailroom]`: splitting, blank pages, routing and OCR.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MailroomConfig {
    /// Text of the separator sheet's code (QR, Code 39 or Code 128).
    pub separator_code: String,
    /// Ink fraction of small marks (dots, ticks) up to which a page is kept with a QC note rather than
    /// as plain content; a page is blank only when nothing on it counts (`scan::analyse::blank`).
    pub blank_threshold: f64,
    /// Prefixes of plain codes on third-party forms that carry an Aktenzeichen.
    pub plain_code_prefixes: Vec<String>,
    /// Route by Aktenzeichen found in the OCR text when no code routes.
    pub text_fallback: bool,
    /// Tesseract languages, e.g. `deu+eng`.
    pub ocr_languages: String,
    /// Directory of the `.traineddata` files (default: $TESSDATA_PREFIX or Debian's).
    pub tessdata_dir: Option<PathBuf>,
    /// Threads for page work; 0 means one per core.
    pub page_threads: usize,
    /// Orientation detection below this confidence leaves a page as scanned.
    pub orientation_min_confidence: f32,
    /// A first OCR reading with at least this mean word confidence (0–100) counts as upright.
    pub confident_reading: f32,
    /// Batches that may wait for processing; further batches are refused (RESOURCE_EXHAUSTED, retry
    /// later) until the mailroom catches up.
    pub max_queued_batches: usize,
}

impl Default for MailroomConfig {
    fn default() -> Self {
        let settings = crate::ingest::pipeline::MailroomSettings::default();
        Self {
            separator_code: settings.separator_code,
            blank_threshold: settings.blank_threshold,
            plain_code_prefixes: settings.routing.plain_code_prefixes,
            text_fallback: settings.routing.text_fallback,
            ocr_languages: "deu+eng".into(),
            tessdata_dir: None,
            page_threads: 0,
            orientation_min_confidence: settings.orientation_min_confidence,
            confident_reading: settings.confident_reading,
            max_queued_batches: crate::service::EngineLimits::default().max_queued_batches,
        }
    }
}

impl MailroomConfig {
    /// The pipeline settings and OCR configuration this section describes.
    pub fn settings(
        &self,
    ) -> (crate::ingest::pipeline::MailroomSettings, registratur_scan::ocr::tesseract::TesseractConfig) {
        let defaults = crate::ingest::pipeline::MailroomSettings::default();
        let settings = crate::ingest::pipeline::MailroomSettings {
            separator_code: self.separator_code.clone(),
            blank_threshold: self.blank_threshold,
            routing: crate::route::resolve::RoutingRules {
                plain_code_prefixes: self.plain_code_prefixes.clone(),
                text_fallback: self.text_fallback,
            },
            page_threads: self.page_threads,
            orientation_min_confidence: self.orientation_min_confidence,
            confident_reading: self.confident_reading,
            ..defaults
        };
        let ocr = registratur_scan::ocr::tesseract::TesseractConfig {
            languages: self.ocr_languages.clone(),
            tessdata_dir: self.tessdata_dir.clone(),
            ..Default::default()
        };
        (settings, ocr)
    }
}

/// `[web]`: the mailroom clerk's web page (`src/web/`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Address of the web page, e.g. 127.0.0.1:8480; `off` (or empty) serves none.
    pub listen: String,
    /// Minutes of inactivity after which a clerk is signed out.
    pub session_minutes: u64,
    /// Mark cookies `Secure` (the page is reached over TLS through a proxy); on anyway with `[server] tls`.
    pub secure_cookies: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self { listen: "127.0.0.1:8480".into(), session_minutes: 480, secure_cookies: false }
    }
}

/// `[fixity]`: the scheduled scrub that re-hashes every blob.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FixityConfig {
    /// Hours between two scrubs; 0 disables the scheduled scrub (`registratur fixity` still works).
    pub scrub_interval_hours: u64,
    /// Re-hashing speed limit, in MiB per second, so that the scrub leaves disk bandwidth to ingest.
    pub scrub_mib_per_second: u64,
}

impl Default for FixityConfig {
    fn default() -> Self {
        let defaults = crate::service::ScrubSettings::default();
        Self {
            scrub_interval_hours: defaults.interval.map_or(0, |i| i.as_secs() / 3600),
            scrub_mib_per_second: defaults.bytes_per_second >> 20,
        }
    }
}

impl FixityConfig {
    pub fn settings(&self) -> crate::service::ScrubSettings {
        crate::service::ScrubSettings {
            interval: (self.scrub_interval_hours > 0)
                .then(|| std::time::Duration::from_secs(self.scrub_interval_hours * 3600)),
            bytes_per_second: self.scrub_mib_per_second.max(1) << 20,
        }
    }
}

/// `[migration]`: the format policy and how hard migration jobs may work beside the mailroom.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MigrationConfig {
    /// A policy TOML file (docs/migration.md); empty means the built-in policy.
    pub policy: Option<PathBuf>,
    /// Conversions running at once (each takes one core).
    pub threads: usize,
    /// Pause between a job's windows while the mailroom has batches waiting, in milliseconds.
    pub throttle_pause_ms: u64,
    /// Sources larger than this are reported for a human instead of being migrated, in MiB.
    pub max_source_mib: u64,
}

impl Default for MigrationConfig {
    fn default() -> Self {
        let defaults = crate::migrate::MigrationSettings::default();
        Self {
            policy: None,
            threads: defaults.threads,
            throttle_pause_ms: defaults.throttle_pause.as_millis() as u64,
            max_source_mib: defaults.max_source_bytes >> 20,
        }
    }
}

impl MigrationConfig {
    pub fn settings(&self) -> Result<crate::migrate::MigrationSettings, crate::migrate::PolicyError> {
        let policy = match &self.policy {
            Some(path) if !path.as_os_str().is_empty() => crate::migrate::Policy::load(path)?,
            _ => crate::migrate::Policy::builtin(),
        };
        Ok(crate::migrate::MigrationSettings {
            policy,
            threads: self.threads.max(1),
            throttle_pause: std::time::Duration::from_millis(self.throttle_pause_ms),
            max_source_bytes: self.max_source_mib.max(1) << 20,
        })
    }
}

/// `[search]`: how quickly stored Dokumente become searchable.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Index changes are committed (made searchable) at most this often, in milliseconds.
    pub commit_interval_ms: u64,
    /// Indexing threads; 0 means one per core.
    pub threads: usize,
    /// A relevance cursor stays valid this many seconds after its last use.
    pub cursor_ttl_secs: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        let settings = crate::search::SearchSettings::default();
        Self {
            commit_interval_ms: settings.commit_interval.as_millis() as u64,
            threads: 0,
            cursor_ttl_secs: settings.cursor_ttl.as_secs(),
        }
    }
}

impl SearchConfig {
    pub fn settings(&self) -> crate::search::SearchSettings {
        let defaults = crate::search::SearchSettings::default();
        crate::search::SearchSettings {
            commit_interval: std::time::Duration::from_millis(self.commit_interval_ms.max(1)),
            threads: if self.threads == 0 { defaults.threads } else { self.threads },
            cursor_ttl: std::time::Duration::from_secs(self.cursor_ttl_secs.max(1)),
            ..defaults
        }
    }
}

/// `[evidence]`: hash trees over every stored Version, timestamped by a TSA (RFC 3161, RFC 4998).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    /// The TSA's `http://` or `https://` URL.
    pub tsa_url: String,
    /// PEM file with the CA certificates the TSA's certificate must chain to.
    pub trust_pem: PathBuf,
    /// Seconds a TSA request may take.
    #[serde(default = "EvidenceConfig::default_timeout")]
    pub timeout_seconds: u64,
    /// Seconds between two trees.
    #[serde(default = "EvidenceConfig::default_interval")]
    pub interval_seconds: u64,
    /// A tree is built at once when this many leaves wait.
    #[serde(default = "EvidenceConfig::default_max_leaves")]
    pub max_leaves: usize,
}

impl EvidenceConfig {
    fn default_timeout() -> u64 {
        30
    }
    fn default_interval() -> u64 {
        3600
    }
    fn default_max_leaves() -> usize {
        100_000
    }

    /// The engine's settings: reads the trust list and checks the URL.
    pub fn settings(&self) -> anyhow::Result<crate::service::evidence::EvidenceSettings> {
        use anyhow::Context as _;
        let trust = registratur_evidence::TrustList::from_pem_file(&self.trust_pem)
            .with_context(|| format!("[evidence] trust_pem {} cannot be used", self.trust_pem.display()))?;
        let tsa = registratur_evidence::HttpTsa::new(
            &self.tsa_url,
            std::time::Duration::from_secs(self.timeout_seconds.max(1)),
        )
        .with_context(|| "[evidence] tsa_url cannot be used")?;
        let mut settings =
            crate::service::evidence::EvidenceSettings::new(std::sync::Arc::new(tsa), &self.tsa_url, trust);
        settings.interval = std::time::Duration::from_secs(self.interval_seconds.max(1));
        settings.max_leaves = self.max_leaves.max(1);
        Ok(settings)
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Bearer tokens (as SHA-256 hashes) and their principals. None configured: the server creates a
    /// bootstrap admin token in the data directory.
    pub tokens: Vec<crate::auth::TokenConfig>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub certificate: PathBuf,
    /// PEM private key.
    pub private_key: PathBuf,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Largest blob a single upload may carry, in bytes.
    pub max_upload_bytes: u64,
    /// Serve TLS with this certificate; plaintext when absent.
    pub tls: Option<TlsConfig>,
    /// Address of the Prometheus endpoint (`GET /metrics`, no token); `off` disables it.
    pub metrics_listen: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory holding blobs and metadata. Relative paths are relative to the working directory.
    pub data_dir: PathBuf,
}

/// Where blobs live: `local` (under the data directory, the default) or `s3` (an S3-compatible bucket:
/// Garage, Ceph RGW, MinIO, AWS). The metadata stays in the data directory either way.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsConfig {
    pub backend: BlobBackendKind,
    /// `http(s)://host:port` of the S3 API; absent for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Key prefix inside the bucket, so that several installations can share one.
    pub prefix: String,
    /// Path-style requests (Garage, MinIO, Ceph); `false` for virtual-hosted style.
    pub path_style: bool,
    /// File (mode 0600) with `access_key_id = …` and `secret_access_key = …`; without it the key comes
    /// from REGISTRATUR_S3_ACCESS_KEY_ID and REGISTRATUR_S3_SECRET_ACCESS_KEY.
    pub credentials_file: Option<PathBuf>,
    /// Send `If-None-Match: *` on puts (servers that enforce it); correctness does not depend on it.
    pub put_if_absent: bool,
    /// Multipart part size, and the largest blob stored with one PUT (at least 5).
    pub part_size_mib: usize,
    /// Longest one request may take, its body included.
    pub request_timeout_secs: u64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackendKind {
    #[default]
    Local,
    S3,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        Self {
            backend: BlobBackendKind::Local,
            endpoint: None,
            region: "us-east-1".into(),
            bucket: String::new(),
            prefix: String::new(),
            path_style: true,
            credentials_file: None,
            put_if_absent: false,
            part_size_mib: 16,
            request_timeout_secs: 120,
        }
    }
}

impl BlobsConfig {
    /// The backend the engine opens; reads the S3 credentials (file or `env`).
    pub fn backend(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<crate::service::BlobBackend, ConfigError> {
        use registratur_storage::blob::{S3Credentials, S3Settings};
        if self.backend == BlobBackendKind::Local {
            return Ok(crate::service::BlobBackend::Local);
        }
        if self.bucket.is_empty() {
            return Err(ConfigError::BlobsMissing { setting: "bucket" });
        }
        let credentials = match &self.credentials_file {
            Some(path) => S3Credentials::from_file(path)?,
            None => S3Credentials::from_env(env)?,
        };
        let mut settings = S3Settings::new(self.endpoint.clone(), &self.region, &self.bucket, credentials);
        settings.prefix = self.prefix.clone();
        settings.path_style = self.path_style;
        settings.put_if_absent = self.put_if_absent;
        settings.part_size = self.part_size_mib.saturating_mul(1 << 20);
        settings.request_timeout = std::time::Duration::from_secs(self.request_timeout_secs.max(1));
        Ok(crate::service::BlobBackend::S3(Box::new(settings)))
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `registratur=debug,info`. `RUST_LOG` wins when set.
    pub filter: String,
}

/// Environment variables read by [`Config::load`].
pub const ENV_CONFIG: &str = "REGISTRATUR_CONFIG";
pub const ENV_LISTEN: &str = "REGISTRATUR_LISTEN";
pub const ENV_DATA_DIR: &str = "REGISTRATUR_DATA_DIR";
pub const ENV_LOG: &str = "REGISTRATUR_LOG";
pub const ENV_MAX_UPLOAD_BYTES: &str = "REGISTRATUR_MAX_UPLOAD_BYTES";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?} is invalid: {message}")]
    Env { name: &'static str, value: String, message: String },
    #[error("[blobs] backend = \"s3\" needs `{setting}`")]
    BlobsMissing { setting: &'static str },
    #[error("[blobs]: {0}")]
    BlobsS3(#[from] registratur_storage::blob::s3::S3ConfigError),
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            max_upload_bytes: 4 << 30,
            tls: None,
            metrics_listen: "127.0.0.1:9464".into(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { data_dir: PathBuf::from("storage/data") }
    }
}

impl Default for RecordsConfig {
    fn default() -> Self {
        Self { aktenzeichen_format: "{key}-{nr}/{year}".into() }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { filter: "info".into() }
    }
}

impl Config {
    /// Reads the file (explicit path, `$REGISTRATUR_CONFIG` or `./registratur.toml`) and applies the
    /// environment overrides from `env`.
    pub fn load(explicit: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| env(ENV_CONFIG).map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("registratur.toml")).filter(|p| p.exists()));
        let mut config = match path {
            Some(path) => Self::from_file(&path)?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env { name, message: e.to_string(), value })
        }
        if let Some(value) = env(ENV_LISTEN) {
            self.server.listen = parse(ENV_LISTEN, value)?;
        }
        if let Some(value) = env(ENV_MAX_UPLOAD_BYTES) {
            self.server.max_upload_bytes = parse(ENV_MAX_UPLOAD_BYTES, value)?;
        }
        if let Some(value) = env(ENV_DATA_DIR) {
            self.storage.data_dir = PathBuf::from(value);
        }
        if let Some(value) = env(ENV_LOG) {
            self.log.filter = value;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_without_file_or_env() {
        let config = Config::load(None, env_of(&[])).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(config.storage.data_dir, PathBuf::from("storage/data"));
    }

    #[test]
    fn file_then_environment_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        std::fs::write(
            &path,
            "[server]\nlisten = \"127.0.0.1:6000\"\n[storage]\ndata_dir = \"/srv/akten\"\n\
             [[auth.tokens]]\nname = \"bauamt\"\nrole = \"fachverfahren\"\ntoken_sha256 = \"00\"\nscopes = [\"63\"]\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), env_of(&[(ENV_DATA_DIR, "/mnt/x")])).unwrap();
        assert_eq!(config.server.listen.port(), 6000);
        assert_eq!(config.storage.data_dir, PathBuf::from("/mnt/x"));
        assert_eq!(config.auth.tokens[0].scopes, vec!["63".to_string()]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        std::fs::write(&path, "[server]\nlisten_on = \"x\"\n").unwrap();
        let message = Config::load(Some(&path), env_of(&[])).unwrap_err().to_string();
        assert!(message.contains("listen_on"), "{message}");
        let message = Config::load(None, env_of(&[(ENV_LISTEN, "nowhere")])).unwrap_err().to_string();
        assert!(message.contains(ENV_LISTEN), "{message}");
    }

    #[test]
    fn blobs_default_to_local_and_s3_reads_its_key_from_a_private_file_or_the_environment() {
        use crate::service::BlobBackend;
        use std::os::unix::fs::PermissionsExt;
        let config = Config::load(None, env_of(&[])).unwrap();
        assert!(matches!(config.blobs.backend(env_of(&[])).unwrap(), BlobBackend::Local));

        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("s3.key");
        std::fs::write(&key, "access_key_id = GK1\nsecret_access_key = geheim\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let path = dir.path().join("r.toml");
        let file = format!(
            "[blobs]\nbackend = \"s3\"\nendpoint = \"http://127.0.0.1:3900\"\nregion = \"garage\"\n\
             bucket = \"akten\"\nprefix = \"kreis\"\ncredentials_file = {:?}\npart_size_mib = 8\n",
            key.display().to_string()
        );
        std::fs::write(&path, file).unwrap();
        let config = Config::load(Some(&path), env_of(&[])).unwrap();
        let BlobBackend::S3(s3) = config.blobs.backend(env_of(&[])).unwrap() else { panic!("not s3") };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str(), s3.region.as_str()),
            ("akten", "kreis", "garage")
        );
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert_eq!((s3.part_size, s3.credentials.access_key_id.as_str()), (8 << 20, "GK1"));
        assert!(!format!("{s3:?}").contains("geheim"), "the secret never shows in logs");

        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let message = config.blobs.backend(env_of(&[])).unwrap_err().to_string();
        assert!(message.contains("chmod 600"), "{message}");

        let mut from_env = config.blobs.clone();
        from_env.credentials_file = None;
        let env =
            env_of(&[("REGISTRATUR_S3_ACCESS_KEY_ID", "GK2"), ("REGISTRATUR_S3_SECRET_ACCESS_KEY", "x")]);
        let BlobBackend::S3(s3) = from_env.backend(env).unwrap() else { panic!("not s3") };
        assert_eq!(s3.credentials.access_key_id, "GK2");
        let message = from_env.backend(env_of(&[])).unwrap_err().to_string();
        assert!(message.contains("REGISTRATUR_S3_ACCESS_KEY_ID"), "{message}");
        from_env.bucket.clear();
        let message = from_env.backend(env_of(&[])).unwrap_err().to_string();
        assert!(message.contains("bucket"), "{message}");
    }

    #[test]
    fn the_web_section_has_defaults_and_can_be_turned_off() {
        let config = Config::load(None, env_of(&[])).unwrap();
        assert_eq!(config.web, WebConfig::default());
        assert_eq!(config.web.listen, "127.0.0.1:8480");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        std::fs::write(&path, "[web]\nlisten = \"off\"\nsession_minutes = 30\nsecure_cookies = true\n")
            .unwrap();
        let config = Config::load(Some(&path), env_of(&[])).unwrap();
        assert_eq!(config.web, WebConfig { listen: "off".into(), session_minutes: 30, secure_cookies: true });
    }
}
