//! Routing codes: the authenticated payload the engine prints (as a QR code) on outgoing letters, so
//! that the reply is routed back to the same Akte, and its verification when the reply is scanned.
//!
//! Format (version 1), all in the QR alphanumeric character set so that it fits a version 6 code at
//! error-correction level M (see `docs/routing-code.md`):
//!
//! ```text
//! RG1:<key id>:<akte id>:<Aktenzeichen>:<MAC>
//! RG1:A:4711:32.10.05-123/2024:4Q2XDEBFJ6K3LZ7M
//! ```
//!
//! The MAC is HMAC-SHA256 under the server's routing key over everything before the last `:`,
//! truncated to 80 bits and written in base32. A code that does not verify is never trusted: the
//! scanner sends the piece to the Klärfall queue instead.

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every version-1 routing code.
pub const PREFIX_V1: &str = "RG1:";
/// Longest Aktenzeichen a routing code carries.
pub const MAX_AKTENZEICHEN_LEN: usize = 40;
/// Bytes of the HMAC kept in the code (80 bits).
const MAC_BYTES: usize = 10;
/// Base32 characters of the truncated MAC.
const MAC_CHARS: usize = 16;
/// First line of a routing key file.
const KEY_FILE_MAGIC: &str = "registratur-routing-key v1";

/// A secret key that signs routing codes. `Debug` never shows the secret.
#[derive(Clone)]
pub struct RoutingKey {
    id: char,
    secret: [u8; 32],
}

/// The keys whose codes are accepted: the current one (which signs) and older ones kept for letters
/// still in circulation.
#[derive(Clone, Debug)]
pub struct RoutingKeyRing {
    current: RoutingKey,
    accepted: Vec<RoutingKey>,
}

/// What a verified routing code says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingCode {
    pub akte_id: u64,
    pub aktenzeichen: String,
    pub key_id: char,
}

#[derive(Debug, thiserror::Error)]
pub enum RoutingCodeError {
    #[error("not a registratur routing code")]
    NotARoutingCode,
    #[error("routing code version {version:?} is not supported by this engine")]
    UnsupportedVersion { version: String },
    #[error("malformed routing code: {reason}")]
    Malformed { reason: String },
    #[error("routing code signed with unknown key {key_id:?}; it may come from another installation")]
    UnknownKey { key_id: char },
    #[error("routing code signature does not match: the code is forged or damaged")]
    BadSignature,
    #[error(
        "Aktenzeichen {aktenzeichen:?} cannot be put in a routing code: at most {MAX_AKTENZEICHEN_LEN} characters of 0-9, A-Z, space and $%*+-./"
    )]
    AktenzeichenNotEncodable { aktenzeichen: String },
    #[error("invalid routing key id {id:?}: use one character of 0-9 or A-Z")]
    InvalidKeyId { id: char },
    #[error("routing key file {path}: {message}")]
    KeyFile { path: PathBuf, message: String },
}

impl fmt::Debug for RoutingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutingKey").field("id", &self.id).field("secret", &"<redacted>").finish()
    }
}

fn valid_key_id(id: char) -> bool {
    id.is_ascii_digit() || id.is_ascii_uppercase()
}

/// Characters an Aktenzeichen in a routing code may use: the QR alphanumeric set without `:`.
fn encodable_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./".contains(c)
}

impl RoutingKey {
    pub fn from_bytes(id: char, secret: [u8; 32]) -> Result<Self, RoutingCodeError> {
        if !valid_key_id(id) {
            return Err(RoutingCodeError::InvalidKeyId { id });
        }
        Ok(Self { id, secret })
    }

    /// A new random key.
    pub fn generate(id: char) -> Result<Self, RoutingCodeError> {
        Self::from_bytes(id, rand::random())
    }

    pub fn id(&self) -> char {
        self.id
    }

    /// Reads the key in `path`, or creates one with id `A` (mode 0600, written to a temp file, synced
    /// and renamed) when the file does not exist. File format: the line `registratur-routing-key v1`,
    /// then `<id> <64 hex digits>`.
    pub fn load_or_create(path: &Path) -> Result<Self, RoutingCodeError> {
        let error = |message: String| RoutingCodeError::KeyFile { path: path.to_path_buf(), message };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_file(&text).map_err(error),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate('A')?;
                key.write_file(path).map_err(|e| error(e.to_string()))?;
                Ok(key)
            }
            Err(e) => Err(error(e.to_string())),
        }
    }

    fn parse_file(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        if lines.next() != Some(KEY_FILE_MAGIC) {
            return Err(format!("the first line must be {KEY_FILE_MAGIC:?}"));
        }
        let line = lines.next().ok_or("the key line is missing")?;
        let (id, hex_secret) = line.split_once(' ').ok_or("expected `<id> <64 hex digits>`")?;
        let mut chars = id.chars();
        let (Some(id), None) = (chars.next(), chars.next()) else {
            return Err("the key id must be one character".into());
        };
        let mut secret = [0u8; 32];
        hex::decode_to_slice(hex_secret.trim(), &mut secret)
            .map_err(|_| "the secret must be 64 hex digits")?;
        Self::from_bytes(id, secret).map_err(|e| e.to_string())
    }

    fn write_file(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let temp = path.with_extension("tmp");
        let mut file =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        writeln!(file, "{KEY_FILE_MAGIC}\n{} {}", self.id, hex::encode(self.secret))?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()
    }

    fn mac(&self, signed: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts keys of any length");
        mac.update(signed.as_bytes());
        mac
    }
}

impl RoutingKeyRing {
    pub fn new(current: RoutingKey) -> Self {
        Self { current, accepted: Vec::new() }
    }

    /// Also accepts codes signed with an older key.
    pub fn accept(mut self, key: RoutingKey) -> Self {
        self.accepted.push(key);
        self
    }

    pub fn current(&self) -> &RoutingKey {
        &self.current
    }

    fn key(&self, id: char) -> Option<&RoutingKey> {
        std::iter::once(&self.current).chain(&self.accepted).find(|key| key.id == id)
    }
}

/// The payload to print for Akte `akte_id` with Aktenzeichen `aktenzeichen`, signed with `key`.
pub fn issue(key: &RoutingKey, akte_id: u64, aktenzeichen: &str) -> Result<String, RoutingCodeError> {
    if aktenzeichen.is_empty()
        || aktenzeichen.len() > MAX_AKTENZEICHEN_LEN
        || !aktenzeichen.chars().all(encodable_char)
        || aktenzeichen.starts_with(' ')
        || aktenzeichen.ends_with(' ')
    {
        return Err(RoutingCodeError::AktenzeichenNotEncodable { aktenzeichen: aktenzeichen.to_string() });
    }
    let signed = format!("{PREFIX_V1}{}:{akte_id}:{aktenzeichen}", key.id);
    let tag = key.mac(&signed).finalize().into_bytes();
    Ok(format!("{signed}:{}", data_encoding::BASE32_NOPAD.encode(&tag[..MAC_BYTES])))
}

/// Checks a scanned payload. Surrounding whitespace and line breaks (which QR decoders sometimes add)
/// are ignored; anything else that is not exactly a valid code is an error.
pub fn verify(ring: &RoutingKeyRing, payload: &str) -> Result<RoutingCode, RoutingCodeError> {
    let payload = payload.trim();
    let malformed = |reason: &str| RoutingCodeError::Malformed { reason: reason.to_string() };
    let Some(rest) = payload.strip_prefix("RG") else { return Err(RoutingCodeError::NotARoutingCode) };
    let version: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if version.is_empty() || !rest[version.len()..].starts_with(':') {
        return Err(RoutingCodeError::NotARoutingCode);
    }
    if version != "1" {
        return Err(RoutingCodeError::UnsupportedVersion { version });
    }
    let (signed, mac_text) = payload.rsplit_once(':').ok_or_else(|| malformed("missing signature"))?;
    let body = signed.strip_prefix(PREFIX_V1).ok_or_else(|| malformed("missing signature"))?;
    let fields: Vec<&str> = body.splitn(3, ':').collect();
    let [key_id, akte_id, aktenzeichen] = fields[..] else {
        return Err(malformed("expected RG1:key:id:Aktenzeichen:MAC"));
    };
    let mut key_chars = key_id.chars();
    let (Some(key_id), None) = (key_chars.next(), key_chars.next()) else {
        return Err(malformed("key id must be one character"));
    };
    if akte_id.is_empty()
        || !akte_id.bytes().all(|b| b.is_ascii_digit())
        || (akte_id.len() > 1 && akte_id.starts_with('0'))
    {
        return Err(malformed("the Akte id must be a decimal number without leading zeros"));
    }
    let akte_id: u64 = akte_id.parse().map_err(|_| malformed("the Akte id is too large"))?;
    if aktenzeichen.is_empty()
        || aktenzeichen.len() > MAX_AKTENZEICHEN_LEN
        || !aktenzeichen.chars().all(encodable_char)
    {
        return Err(malformed("the Aktenzeichen has characters or a length a routing code cannot carry"));
    }
    if mac_text.len() != MAC_CHARS {
        return Err(malformed("the signature has the wrong length"));
    }
    let tag = data_encoding::BASE32_NOPAD
        .decode(mac_text.as_bytes())
        .map_err(|_| malformed("the signature is not base32"))?;
    let key = ring.key(key_id).ok_or(RoutingCodeError::UnknownKey { key_id })?;
    key.mac(signed).verify_truncated_left(&tag).map_err(|_| RoutingCodeError::BadSignature)?;
    Ok(RoutingCode { akte_id, aktenzeichen: aktenzeichen.to_string(), key_id })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ring() -> RoutingKeyRing {
        RoutingKeyRing::new(RoutingKey::from_bytes('A', [7; 32]).unwrap())
    }

    fn qr_version(payload: &str) -> i16 {
        let code =
            qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M).unwrap();
        match code.version() {
            qrcode::Version::Normal(v) => v,
            qrcode::Version::Micro(v) => v,
        }
    }

    #[test]
    fn issued_codes_verify_and_carry_the_akte() {
        let ring = ring();
        let payload = issue(ring.current(), 4711, "32.10.05-123/2024").unwrap();
        assert!(payload.starts_with("RG1:A:4711:32.10.05-123/2024:"), "{payload}");
        let code = verify(&ring, &payload).unwrap();
        assert_eq!(
            code,
            RoutingCode { akte_id: 4711, aktenzeichen: "32.10.05-123/2024".into(), key_id: 'A' }
        );
        assert_eq!(verify(&ring, &format!("  {payload}\r\n")).unwrap(), code);
    }

    #[test]
    fn worst_case_payload_fits_qr_version_6_at_level_m() {
        let key = ring();
        let longest = "9".repeat(MAX_AKTENZEICHEN_LEN);
        let payload = issue(key.current(), u64::MAX, &longest).unwrap();
        assert!(qr_version(&payload) <= 6, "{payload} needs QR version {}", qr_version(&payload));
    }

    #[test]
    fn foreign_and_damaged_codes_are_rejected_precisely() {
        let ring = ring();
        let girocode =
            "BCD\n002\n1\nSCT\nBFSWDE33BER\nWikimedia\nDE33100205000001194700\nEUR123.45\n\n\nSpende";
        assert!(matches!(verify(&ring, girocode), Err(RoutingCodeError::NotARoutingCode)));
        assert!(matches!(verify(&ring, "https://example.org"), Err(RoutingCodeError::NotARoutingCode)));
        assert!(matches!(
            verify(&ring, "RG2:A:1:X:AAAAAAAAAAAAAAAA"),
            Err(RoutingCodeError::UnsupportedVersion { .. })
        ));
        assert!(matches!(verify(&ring, "RG1:A:1:X"), Err(RoutingCodeError::Malformed { .. })));
        let payload = issue(ring.current(), 5, "32-1/2024").unwrap();
        let other = RoutingKeyRing::new(RoutingKey::from_bytes('A', [8; 32]).unwrap());
        assert!(matches!(verify(&other, &payload), Err(RoutingCodeError::BadSignature)));
        let other_id = RoutingKeyRing::new(RoutingKey::from_bytes('B', [7; 32]).unwrap());
        assert!(matches!(verify(&other_id, &payload), Err(RoutingCodeError::UnknownKey { key_id: 'A' })));
        let forged = payload.replace(":5:", ":6:");
        assert!(matches!(verify(&ring, &forged), Err(RoutingCodeError::BadSignature)));
    }

    #[test]
    fn rotated_keys_keep_old_codes_valid() {
        let old = RoutingKey::from_bytes('A', [1; 32]).unwrap();
        let new = RoutingKey::from_bytes('B', [2; 32]).unwrap();
        let payload = issue(&old, 9, "10-1/2020").unwrap();
        let ring = RoutingKeyRing::new(new).accept(old);
        assert_eq!(verify(&ring, &payload).unwrap().key_id, 'A');
        assert_eq!(issue(ring.current(), 9, "10-1/2020").unwrap().as_bytes()[4], b'B');
    }

    #[test]
    fn unencodable_aktenzeichen_and_key_ids_are_refused() {
        let key = RoutingKey::from_bytes('A', [7; 32]).unwrap();
        for bad in ["", "az:1", "klein-1/2024", &"9".repeat(MAX_AKTENZEICHEN_LEN + 1), " 1-1/2024"] {
            assert!(
                matches!(issue(&key, 1, bad), Err(RoutingCodeError::AktenzeichenNotEncodable { .. })),
                "{bad}"
            );
        }
        assert!(RoutingKey::from_bytes('a', [0; 32]).is_err());
        assert!(!format!("{key:?}").contains("07070707"));
    }

    #[test]
    fn key_file_is_created_once_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/routing.key");
        let first = RoutingKey::load_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = RoutingKey::load_or_create(&path).unwrap();
        assert_eq!((first.id, first.secret), (again.id, again.secret));
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(RoutingKey::load_or_create(&path), Err(RoutingCodeError::KeyFile { .. })));
    }

    proptest! {
        #[test]
        fn any_single_character_change_is_rejected(position in 0usize..80, replacement in "[0-9A-Z:./ -]") {
            let ring = ring();
            let payload = issue(ring.current(), 123_456, "32.10.05-123/2024").unwrap();
            let position = position % payload.len();
            let mut changed: Vec<char> = payload.chars().collect();
            let new = replacement.chars().next().unwrap();
            prop_assume!(changed[position] != new);
            changed[position] = new;
            let changed: String = changed.into_iter().collect();
            prop_assert!(verify(&ring, &changed).is_err(), "{changed} verified");
        }

        #[test]
        fn verify_never_panics(payload in ".{0,120}") {
            let _ = verify(&ring(), &payload);
        }

        #[test]
        fn verify_never_panics_on_near_codes(tail in "[0-9A-Z:./ -]{0,60}") {
            let _ = verify(&ring(), &format!("RG1:{tail}"));
        }
    }
}
