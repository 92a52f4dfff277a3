//! Routing codes: the authenticated payload the engine prints (as a QR code) on outgoing letters, so
//! that the reply is routed back to the same Akte, and its verification when the reply is scanned.
//!
//! Format version 1 (the full grammar, the MAC input and the scanner rules are in
//! `docs/routing-code.md`):
//!
//! ```text
//! RG1:<key id>:<akte id>:<Aktenzeichen>:<MAC>
//! RG1:A:4711:32.10.05-123/2024:2WF5PG4SHGHFCPBM
//! ```
//!
//! The MAC is HMAC-SHA256 under the server's routing key over the ASCII text before the last `:`
//! (version, key id, Akte id and Aktenzeichen), truncated to its first 80 bits and written in base32.
//! A code that does not verify is never trusted: the scanner sends the piece to the Klärfall queue
//! instead of routing it.
//!
//! Size: with an Aktenzeichen of at most [`MAX_AKTENZEICHEN_LEN`] characters every code fits a QR code
//! of version 6 at error-correction level M. Codes whose Aktenzeichen is upper case use only the QR
//! alphanumeric character set; lower-case letters make the encoder switch to byte mode, which still
//! fits (the worst case is 84 bytes against a capacity of 106).
//!
//! Keys: the current [`RoutingKey`] signs; a [`RoutingKeyRing`] also holds older keys, so that letters
//! sent before a key rotation still route. Keys live in one file per installation
//! ([`RoutingKeyRing::load_or_create`]).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every version-1 routing code.
pub const PREFIX_V1: &str = "RG1:";
/// The longest Aktenzeichen (in characters, all ASCII) a routing code carries.
pub const MAX_AKTENZEICHEN_LEN: usize = 40;
/// The id of the key [`RoutingKeyRing::load_or_create`] creates for a new installation.
pub const FIRST_KEY_ID: char = 'A';

/// Bytes of the HMAC-SHA256 output kept in the code (80 bits).
const MAC_BYTES: usize = 10;
/// Base32 characters of the truncated MAC (80 bits, exactly 16 characters of 5 bits, no padding).
const MAC_CHARS: usize = 16;
/// A u64 has at most this many decimal digits.
const MAX_AKTE_ID_DIGITS: usize = 20;
/// A version number longer than this is not taken for a routing code at all.
const MAX_VERSION_DIGITS: usize = 9;
/// The first line of a routing key file.
const KEY_FILE_MAGIC: &str = "registratur-routing-key v1";
/// Every possible key id, in the order [`RoutingKeyRing::rotate_key_file`] hands them out.
const KEY_IDS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Punctuation an Aktenzeichen in a routing code may contain besides letters, digits and space: the
/// QR alphanumeric punctuation without `:`, which separates the fields.
const AKTENZEICHEN_PUNCTUATION: &str = "$%*+-./";

/// A secret key that signs routing codes, with the one-character id that names it inside the codes.
///
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct RoutingKey {
    id: char,
    secret: [u8; 32],
}

/// The keys whose codes are accepted: the current one, which signs new codes, and older ones kept so
/// that letters already in circulation still route after a rotation.
#[derive(Clone, Debug)]
pub struct RoutingKeyRing {
    current: RoutingKey,
    older: Vec<RoutingKey>,
}

/// What a verified routing code says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingCode {
    /// The Akte the reply belongs to; this, not the Aktenzeichen, is what routing uses.
    pub akte_id: u64,
    /// The Aktenzeichen as printed, for people and for cross-checking against the Akte.
    pub aktenzeichen: String,
    /// The id of the key that signed the code.
    pub key_id: char,
}

/// Why a routing code could not be issued or verified, or the key file could not be used.
///
/// Every verification error means the same to a scanner: do not route by this code.
#[derive(Debug, thiserror::Error)]
pub enum RoutingCodeError {
    #[error("not a registratur routing code (those start with RG1:); do not route by it")]
    NotARoutingCode,
    #[error(
        "routing code version {version} is not supported by this engine; send the piece to the Klärfall queue or upgrade the engine"
    )]
    UnsupportedVersion { version: String },
    #[error("malformed routing code: {reason}; do not route by it")]
    Malformed { reason: &'static str },
    #[error(
        "routing code signed with unknown key {key_id:?}; it comes from another installation or from a key removed from the key file"
    )]
    UnknownKey { key_id: char },
    #[error("routing code signature does not match: the code is forged or damaged; do not route by it")]
    BadSignature,
    #[error(
        "cannot put Aktenzeichen {aktenzeichen:?} in a routing code: {reason}; routing codes carry at most 40 characters of A-Z, a-z, 0-9, space and $%*+-./, without a space at either end"
    )]
    AktenzeichenNotEncodable { aktenzeichen: String, reason: &'static str },
    #[error("invalid routing key id {id:?}: use one character of 0-9 or A-Z")]
    InvalidKeyId { id: char },
    #[error("routing key file {path}: {message}")]
    KeyFile { path: PathBuf, message: String },
}

/// The payload to print for Akte `akte_id` with Aktenzeichen `aktenzeichen`, signed with `key`.
///
/// Fails with [`RoutingCodeError::AktenzeichenNotEncodable`] when the Aktenzeichen is empty, longer
/// than [`MAX_AKTENZEICHEN_LEN`], starts or ends with a space, or has a character outside A-Z, a-z,
/// 0-9, space and `$%*+-./`.
pub fn issue(key: &RoutingKey, akte_id: u64, aktenzeichen: &str) -> Result<String, RoutingCodeError> {
    check_aktenzeichen(aktenzeichen).map_err(|reason| RoutingCodeError::AktenzeichenNotEncodable {
        aktenzeichen: aktenzeichen.to_string(),
        reason,
    })?;
    let signed = format!("{PREFIX_V1}{}:{akte_id}:{aktenzeichen}", key.id);
    let tag = key.mac(signed.as_bytes()).finalize().into_bytes();
    Ok(format!("{signed}:{}", BASE32_NOPAD.encode(&tag[..MAC_BYTES])))
}

/// Checks a scanned payload against the keys in `ring` and says which Akte it names.
///
/// Leading and trailing ASCII whitespace (space, tab, CR, LF, form feed), which QR decoders sometimes
/// add, is ignored; anything else that is not exactly a code [`issue`] produces is an error:
/// [`RoutingCodeError::NotARoutingCode`] for text that does not start with `RG<digits>:` (GiroCode,
/// URLs, separator sheets), then `UnsupportedVersion`, `Malformed`, `UnknownKey` and `BadSignature`
/// in that order. The MAC is compared in constant time. Never panics, whatever the input.
pub fn verify(ring: &RoutingKeyRing, payload: &str) -> Result<RoutingCode, RoutingCodeError> {
    let malformed = |reason| RoutingCodeError::Malformed { reason };
    let payload = payload.trim_matches(|c: char| c.is_ascii_whitespace());
    let version = routing_code_version(payload).ok_or(RoutingCodeError::NotARoutingCode)?;
    if version != "1" {
        return Err(RoutingCodeError::UnsupportedVersion { version: version.to_string() });
    }
    let body = &payload[PREFIX_V1.len()..];
    let mut fields = body.split(':');
    let (Some(key_id), Some(akte_id), Some(aktenzeichen), Some(mac_text), None) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(malformed("expected RG1:<key id>:<akte id>:<Aktenzeichen>:<MAC>, five fields"));
    };
    let mut key_id_chars = key_id.chars();
    let (Some(key_id), None) = (key_id_chars.next(), key_id_chars.next()) else {
        return Err(malformed("the key id must be exactly one character"));
    };
    if !is_key_id(key_id) {
        return Err(malformed("the key id must be one of 0-9 or A-Z"));
    }
    if akte_id.is_empty()
        || akte_id.len() > MAX_AKTE_ID_DIGITS
        || !akte_id.bytes().all(|byte| byte.is_ascii_digit())
        || (akte_id.len() > 1 && akte_id.starts_with('0'))
    {
        return Err(malformed("the Akte id must be a decimal number without leading zeros"));
    }
    let akte_id: u64 = akte_id.parse().map_err(|_| malformed("the Akte id is larger than 2^64 - 1"))?;
    check_aktenzeichen(aktenzeichen).map_err(|_| {
        malformed("the Aktenzeichen is empty, too long, has a space at either end or a character a routing code cannot carry")
    })?;
    if mac_text.len() != MAC_CHARS {
        return Err(malformed("the MAC must be 16 base32 characters"));
    }
    let tag = BASE32_NOPAD
        .decode(mac_text.as_bytes())
        .map_err(|_| malformed("the MAC must be 16 base32 characters (A-Z, 2-7)"))?;
    // The signed text is the payload up to, not including, the `:` before the MAC.
    let signed = &payload[..payload.len() - MAC_CHARS - 1];
    let mut candidates = ring.keys().filter(|key| key.id == key_id).peekable();
    if candidates.peek().is_none() {
        return Err(RoutingCodeError::UnknownKey { key_id });
    }
    // Normally one key has this id; should a ring hold two (see `RoutingKeyRing::accept`), either may
    // have signed the code.
    let signed_by_a_candidate =
        candidates.any(|key| key.mac(signed.as_bytes()).verify_truncated_left(&tag).is_ok());
    if !signed_by_a_candidate {
        return Err(RoutingCodeError::BadSignature);
    }
    Ok(RoutingCode { akte_id, aktenzeichen: aktenzeichen.to_string(), key_id })
}

impl RoutingKey {
    /// A key with id `id` (one of 0-9, A-Z) and the given secret.
    pub fn from_bytes(id: char, secret: [u8; 32]) -> Result<Self, RoutingCodeError> {
        if !is_key_id(id) {
            return Err(RoutingCodeError::InvalidKeyId { id });
        }
        Ok(Self { id, secret })
    }

    /// A new key with id `id` and a secret from the operating system's cryptographic random source
    /// (through `rand`'s thread-local CSPRNG).
    pub fn generate(id: char) -> Result<Self, RoutingCodeError> {
        Self::from_bytes(id, rand::random())
    }

    /// The key file's current key, creating the file when it does not exist; see
    /// [`RoutingKeyRing::load_or_create`], which also returns the older keys a verifier should accept.
    pub fn load_or_create(path: &Path) -> Result<Self, RoutingCodeError> {
        Ok(RoutingKeyRing::load_or_create(path)?.current)
    }

    pub fn id(&self) -> char {
        self.id
    }

    fn mac(&self, signed: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC accepts keys of every length");
        mac.update(signed);
        mac
    }
}

impl fmt::Debug for RoutingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutingKey").field("id", &self.id).field("secret", &"<redacted>").finish()
    }
}

impl RoutingKeyRing {
    /// A ring with only `current`, which signs and verifies.
    pub fn new(current: RoutingKey) -> Self {
        Self { current, older: Vec::new() }
    }

    /// Also accepts codes signed with `older`. Give every key its own id: with two keys of one id a
    /// code is accepted when either of them signed it.
    pub fn accept(mut self, older: RoutingKey) -> Self {
        self.older.push(older);
        self
    }

    /// The key that signs new codes.
    pub fn current(&self) -> &RoutingKey {
        &self.current
    }

    /// The ids of all keys in the ring, the current key's first.
    pub fn key_ids(&self) -> impl Iterator<Item = char> + '_ {
        self.keys().map(|key| key.id)
    }

    /// Reads the key file at `path`, or creates it with one new key ([`FIRST_KEY_ID`]) when it does
    /// not exist.
    ///
    /// File format (UTF-8 text, lines end with LF; empty lines are ignored):
    ///
    /// ```text
    /// registratur-routing-key v1
    /// <id> <secret as 64 hex digits>      the current key: signs and verifies
    /// <id> <secret as 64 hex digits>      zero or more older keys: verify only
    /// ```
    ///
    /// The file must be accessible by its owner only (mode 0600 or stricter); a file others can read
    /// is refused, because its secret may have leaked. A new file is written to a temporary file in
    /// the same directory, synced, and then linked into place, so that readers never see a partly
    /// written file and two processes starting at once end up with the same key. A new parent
    /// directory gets mode 0700.
    pub fn load_or_create(path: &Path) -> Result<Self, RoutingCodeError> {
        match read_key_file(path) {
            Err(KeyFileReadError::NotFound) => {}
            Err(error) => return Err(key_file_error(path, error.to_string())),
            Ok(ring) => return Ok(ring),
        }
        let ring = Self::new(RoutingKey::generate(FIRST_KEY_ID)?);
        match write_private_file(path, &ring.to_key_file_text(), Placement::OnlyIfAbsent) {
            Ok(()) => Ok(ring),
            // Another process created the file between our read and our link: use its key.
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {
                read_key_file(path).map_err(|error| key_file_error(path, error.to_string()))
            }
            Err(error) => Err(key_file_error(path, format!("cannot create it: {error}"))),
        }
    }

    /// Rotates the keys in the existing key file at `path`: a new key becomes the current one, and
    /// every key in the file so far is kept for verification. The new key gets the first id after the
    /// current one (in the order A-Z, 0-9, wrapping around) that the file does not use yet.
    ///
    /// The file is replaced atomically (temporary file, sync, rename, sync of the directory). A running
    /// engine keeps its keys until restarted. To retire a key, delete its line from the file: replies
    /// to letters signed with it then become Klärfälle.
    pub fn rotate_key_file(path: &Path) -> Result<Self, RoutingCodeError> {
        let ring = read_key_file(path).map_err(|error| key_file_error(path, error.to_string()))?;
        let after_current = KEY_IDS.chars().skip_while(|id| *id != ring.current.id).skip(1);
        let unused_id = after_current
            .chain(KEY_IDS.chars())
            .find(|id| ring.key_ids().all(|used| used != *id))
            .ok_or_else(|| {
                key_file_error(
                    path,
                    "all 36 key ids are in use; delete the line of the oldest key whose letters no \
                     longer come back, then rotate again"
                        .to_string(),
                )
            })?;
        let mut rotated = Self::new(RoutingKey::generate(unused_id)?);
        rotated.older = ring.keys().cloned().collect();
        write_private_file(path, &rotated.to_key_file_text(), Placement::Replace)
            .map_err(|error| key_file_error(path, format!("cannot replace it: {error}")))?;
        Ok(rotated)
    }

    fn keys(&self) -> impl Iterator<Item = &RoutingKey> {
        std::iter::once(&self.current).chain(&self.older)
    }

    fn to_key_file_text(&self) -> String {
        let mut text = format!("{KEY_FILE_MAGIC}\n");
        for key in self.keys() {
            text.push_str(&format!("{} {}\n", key.id, hex::encode(key.secret)));
        }
        text
    }

    fn from_key_file_text(text: &str) -> Result<Self, KeyFileTextError> {
        let mut lines = text.lines().filter(|line| !line.trim().is_empty());
        if lines.next() != Some(KEY_FILE_MAGIC) {
            return Err(KeyFileTextError::NoMagicLine);
        }
        let mut keys = Vec::new();
        for (index, line) in lines.enumerate() {
            let key = parse_key_line(line)
                .map_err(|problem| KeyFileTextError::BadKeyLine { line: index + 1, problem })?;
            if keys.iter().any(|known: &RoutingKey| known.id == key.id) {
                return Err(KeyFileTextError::DuplicateKeyId(key.id));
            }
            keys.push(key);
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or(KeyFileTextError::NoKey)?;
        Ok(Self { current, older: keys.collect() })
    }
}

/// Whether `id` may name a key: one of 0-9, A-Z.
fn is_key_id(id: char) -> bool {
    id.is_ascii_digit() || id.is_ascii_uppercase()
}

/// Whether `c` may appear in an Aktenzeichen inside a routing code.
fn is_aktenzeichen_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ' ' || AKTENZEICHEN_PUNCTUATION.contains(c)
}

/// Checks the Aktenzeichen rules shared by [`issue`] and [`verify`]; the error says which one failed.
fn check_aktenzeichen(aktenzeichen: &str) -> Result<(), &'static str> {
    if aktenzeichen.is_empty() {
        return Err("it is empty");
    }
    if !aktenzeichen.chars().all(is_aktenzeichen_char) {
        return Err("it has a character other than A-Z, a-z, 0-9, space and $%*+-./");
    }
    // All characters are ASCII now, so bytes and characters agree.
    if aktenzeichen.len() > MAX_AKTENZEICHEN_LEN {
        return Err("it is longer than 40 characters");
    }
    if aktenzeichen.starts_with(' ') || aktenzeichen.ends_with(' ') {
        return Err("it starts or ends with a space");
    }
    Ok(())
}

/// The version digits of a text of the form `RG<1 to 9 digits>:...`, or `None` when the text is not a
/// routing code of any version.
fn routing_code_version(payload: &str) -> Option<&str> {
    let rest = payload.strip_prefix("RG")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let followed_by_colon = rest.as_bytes().get(digits) == Some(&b':');
    ((1..=MAX_VERSION_DIGITS).contains(&digits) && followed_by_colon).then(|| &rest[..digits])
}

/// What is wrong with the text of a routing key file; the engine names the file in front
/// ([`RoutingCodeError::KeyFile`]).
#[derive(Debug, thiserror::Error)]
enum KeyFileTextError {
    #[error("the first line must be {:?}", KEY_FILE_MAGIC)]
    NoMagicLine,
    /// `line` counts the key lines from 1, blank lines and the first line not counted.
    #[error("key line {line}: {problem}")]
    BadKeyLine { line: usize, problem: KeyLineError },
    #[error("key id {0} appears twice; give every key its own id")]
    DuplicateKeyId(char),
    #[error("the file holds no key; expected a line `<id> <64 hex digits>`")]
    NoKey,
}

/// What is wrong with one key line of a routing key file.
#[derive(Debug, thiserror::Error)]
enum KeyLineError {
    #[error("expected `<id> <64 hex digits>`, separated by one space")]
    NoSeparator,
    #[error("the key id must be one character of 0-9 or A-Z")]
    IdNotOneCharacter,
    #[error("the secret must be 64 hex digits")]
    SecretNotHex,
    #[error(transparent)]
    Key(RoutingCodeError),
}

fn parse_key_line(line: &str) -> Result<RoutingKey, KeyLineError> {
    let (id, secret_hex) = line.trim().split_once(' ').ok_or(KeyLineError::NoSeparator)?;
    let mut id_chars = id.chars();
    let (Some(id), None) = (id_chars.next(), id_chars.next()) else {
        return Err(KeyLineError::IdNotOneCharacter);
    };
    let mut secret = [0u8; 32];
    hex::decode_to_slice(secret_hex, &mut secret).map_err(|_| KeyLineError::SecretNotHex)?;
    RoutingKey::from_bytes(id, secret).map_err(KeyLineError::Key)
}

fn key_file_error(path: &Path, message: String) -> RoutingCodeError {
    RoutingCodeError::KeyFile { path: path.to_path_buf(), message }
}

enum KeyFileReadError {
    NotFound,
    Other(String),
    Text(KeyFileTextError),
}

impl fmt::Display for KeyFileReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileReadError::NotFound => {
                f.write_str("it does not exist; start the engine once to create it")
            }
            KeyFileReadError::Other(message) => f.write_str(message),
            KeyFileReadError::Text(error) => error.fmt(f),
        }
    }
}

/// Reads and parses a key file, refusing one that others than its owner may access. Mode and content
/// come from the same open file, so a file swapped in between cannot slip past the mode check.
fn read_key_file(path: &Path) -> Result<RoutingKeyRing, KeyFileReadError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => return Err(KeyFileReadError::NotFound),
        Err(error) => return Err(KeyFileReadError::Other(format!("cannot open it: {error}"))),
    };
    let metadata =
        file.metadata().map_err(|error| KeyFileReadError::Other(format!("cannot stat it: {error}")))?;
    if !metadata.is_file() {
        return Err(KeyFileReadError::Other("it is not a regular file".to_string()));
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileReadError::Other(format!(
            "its mode is {mode:04o}, so other users may read the secret; run `chmod 600` on it, and \
             rotate the key if it may have leaked"
        )));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|error| KeyFileReadError::Other(format!("cannot read it: {error}")))?;
    RoutingKeyRing::from_key_file_text(&text).map_err(KeyFileReadError::Text)
}

/// How [`write_private_file`] puts the finished file in place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Fail with `AlreadyExists` when the target exists (a hard link never replaces).
    OnlyIfAbsent,
    /// Replace the target atomically (rename).
    Replace,
}

/// Writes `text` to `path` with mode 0600: into a fresh temporary file in the same directory, synced,
/// then linked or renamed into place, then the directory synced, so that after a crash the file is
/// either absent, the old one, or complete.
fn write_private_file(path: &Path, text: &str, placement: Placement) -> std::io::Result<()> {
    let directory = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(directory)?;
    let file_name = path.file_name().ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let temporary = directory.join(format!(
        ".{}.{}-{:016x}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = write_and_place(&temporary, path, text, placement);
    // After a successful link the temporary name is a second link to the key file; after a failure it
    // is a leftover. Either way it goes (after a successful rename it no longer exists).
    let _ = std::fs::remove_file(&temporary);
    result?;
    File::open(directory)?.sync_all()
}

fn write_and_place(temporary: &Path, path: &Path, text: &str, placement: Placement) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(temporary)?;
    // The umask can only remove permission bits; set the mode explicitly so it is exactly 0600.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    match placement {
        Placement::OnlyIfAbsent => std::fs::hard_link(temporary, path),
        Placement::Replace => std::fs::rename(temporary, path),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use proptest::prelude::*;

    use super::*;

    const EXAMPLE_AKTENZEICHEN: &str = "32.10.05-123/2024";

    fn key(id: char, byte: u8) -> RoutingKey {
        RoutingKey::from_bytes(id, [byte; 32]).unwrap()
    }

    fn ring() -> RoutingKeyRing {
        RoutingKeyRing::new(key('A', 7))
    }

    fn example_payload() -> String {
        issue(ring().current(), 4711, EXAMPLE_AKTENZEICHEN).unwrap()
    }

    fn example_code() -> RoutingCode {
        RoutingCode { akte_id: 4711, aktenzeichen: EXAMPLE_AKTENZEICHEN.to_string(), key_id: 'A' }
    }

    fn qr_version(payload: &str) -> i16 {
        let code =
            qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M).unwrap();
        match code.version() {
            qrcode::Version::Normal(version) => version,
            micro => panic!("the encoder chose a Micro QR version {micro:?}"),
        }
    }

    fn is_malformed(result: Result<RoutingCode, RoutingCodeError>) -> bool {
        matches!(result, Err(RoutingCodeError::Malformed { .. }))
    }

    /// Aktenzeichen `issue` accepts: 1 to 40 allowed characters, no space at either end.
    fn encodable_aktenzeichen() -> impl Strategy<Value = String> {
        "[0-9A-Za-z$%*+./-]([0-9A-Za-z $%*+./-]{0,38}[0-9A-Za-z$%*+./-])?"
    }

    #[test]
    fn issued_codes_verify_and_name_the_akte() {
        let payload = example_payload();
        assert!(payload.starts_with("RG1:A:4711:32.10.05-123/2024:"), "{payload}");
        assert_eq!(verify(&ring(), &payload).unwrap(), example_code());
    }

    #[test]
    fn the_example_in_the_docs_is_exact() {
        // docs/routing-code.md shows this code for the secret of 32 bytes 0x07; both must agree.
        assert_eq!(example_payload(), "RG1:A:4711:32.10.05-123/2024:2WF5PG4SHGHFCPBM");
    }

    #[test]
    fn the_mac_is_hmac_sha256_of_the_text_before_the_last_colon_truncated_to_80_bits() {
        let payload = issue(&key('C', 42), u64::MAX, "Az 32.10.05-9/2025").unwrap();
        let (signed, mac_text) = payload.rsplit_once(':').unwrap();
        assert_eq!(signed, "RG1:C:18446744073709551615:Az 32.10.05-9/2025");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[42; 32]).unwrap();
        mac.update(signed.as_bytes());
        let full_tag = mac.finalize().into_bytes();
        assert_eq!(mac_text, BASE32_NOPAD.encode(&full_tag[..10]));
        assert_eq!(mac_text.len(), MAC_CHARS);
    }

    #[test]
    fn surrounding_whitespace_and_line_breaks_are_ignored() {
        let payload = example_payload();
        for wrapped in [
            format!("{payload}\n"),
            format!("{payload}\r\n"),
            format!("  {payload}\r\n"),
            format!("\t{payload} \n\n"),
            format!("\r\n{payload}"),
        ] {
            assert_eq!(verify(&ring(), &wrapped).unwrap(), example_code(), "{wrapped:?}");
        }
        // Whitespace inside the code is not ignored.
        let inner_space = payload.replacen(":4711:", ": 4711:", 1);
        assert!(is_malformed(verify(&ring(), &inner_space)));
        // Nor are other characters around it.
        assert!(verify(&ring(), &format!("{payload}\0")).is_err());
    }

    #[test]
    fn foreign_qr_payloads_are_not_routing_codes() {
        let girocode = "BCD\n002\n1\nSCT\nBFSWDE33BER\nWikimedia Foerdergesellschaft\n\
                        DE33100205000001194700\nEUR123.45\n\n\nSpende fuer Wikipedia";
        for foreign in [
            girocode,
            "https://example.org/akte/4711",
            "PATCHT",
            "",
            "   \r\n",
            "RG",
            "RG1",
            "RGA:A:1:X:AAAAAAAAAAAAAAAA",
            "rg1:A:1:X:AAAAAAAAAAAAAAAA",
            "RG1234567890:A:1:X:AAAAAAAAAAAAAAAA",
            "XRG1:A:1:X:AAAAAAAAAAAAAAAA",
        ] {
            assert!(
                matches!(verify(&ring(), foreign), Err(RoutingCodeError::NotARoutingCode)),
                "{foreign:?} gave {:?}",
                verify(&ring(), foreign)
            );
        }
    }

    #[test]
    fn other_versions_are_unsupported() {
        for (payload, expected) in
            [("RG2:A:1:X:AAAAAAAAAAAAAAAA", "2"), ("RG10:anything", "10"), ("RG01:", "01")]
        {
            match verify(&ring(), payload) {
                Err(RoutingCodeError::UnsupportedVersion { version }) => assert_eq!(version, expected),
                other => panic!("{payload} gave {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_version_1_codes_are_rejected_as_malformed() {
        let payload = example_payload();
        let mac = payload.rsplit_once(':').unwrap().1.to_string();
        for bad in [
            "RG1:".to_string(),
            "RG1:A:4711:32.10.05-123/2024".to_string(),
            format!("RG1:A:4711:32.10:05-123/2024:{mac}"),
            format!("RG1:AB:4711:{EXAMPLE_AKTENZEICHEN}:{mac}"),
            format!("RG1::4711:{EXAMPLE_AKTENZEICHEN}:{mac}"),
            format!("RG1:a:4711:{EXAMPLE_AKTENZEICHEN}:{mac}"),
            format!("RG1:A:04711:{EXAMPLE_AKTENZEICHEN}:{mac}"),
            format!("RG1:A::{EXAMPLE_AKTENZEICHEN}:{mac}"),
            format!("RG1:A:+4711:{EXAMPLE_AKTENZEICHEN}:{mac}"),
            format!("RG1:A:18446744073709551616:{EXAMPLE_AKTENZEICHEN}:{mac}"),
            format!("RG1:A:4711::{mac}"),
            format!("RG1:A:4711: 32.10.05-123/2024:{mac}"),
            format!("RG1:A:4711:32.10.05-123/2024 :{mac}"),
            format!("RG1:A:4711:{}:{mac}", "1".repeat(MAX_AKTENZEICHEN_LEN + 1)),
            format!("RG1:A:4711:32.10.05-123/2024ä:{mac}"),
            format!("RG1:A:4711:{EXAMPLE_AKTENZEICHEN}:{}", mac.to_lowercase()),
            format!("RG1:A:4711:{EXAMPLE_AKTENZEICHEN}:{}", &mac[..15]),
            format!("RG1:A:4711:{EXAMPLE_AKTENZEICHEN}:{mac}A"),
            format!("RG1:A:4711:{EXAMPLE_AKTENZEICHEN}:{}1", &mac[..15]),
            format!("RG1:A:4711:{EXAMPLE_AKTENZEICHEN}:{mac}:"),
        ] {
            assert!(is_malformed(verify(&ring(), &bad)), "{bad:?} gave {:?}", verify(&ring(), &bad));
        }
    }

    #[test]
    fn the_mac_covers_key_id_akte_id_and_aktenzeichen() {
        let payload = example_payload();
        // Key B has the same secret as key A: only the key id inside the MAC input tells them apart.
        let ring = ring().accept(key('B', 7));
        for forged in [
            payload.replacen("RG1:A:", "RG1:B:", 1),
            payload.replacen(":4711:", ":4712:", 1),
            payload.replacen("-123/", "-124/", 1),
        ] {
            assert!(matches!(verify(&ring, &forged), Err(RoutingCodeError::BadSignature)), "{forged}");
        }
    }

    #[test]
    fn a_wrong_key_is_a_bad_signature_and_a_missing_key_is_unknown() {
        let payload = example_payload();
        let same_id_other_secret = RoutingKeyRing::new(key('A', 8));
        assert!(matches!(verify(&same_id_other_secret, &payload), Err(RoutingCodeError::BadSignature)));
        let other_id = RoutingKeyRing::new(key('B', 7)).accept(key('C', 7));
        assert!(matches!(verify(&other_id, &payload), Err(RoutingCodeError::UnknownKey { key_id: 'A' })));
    }

    #[test]
    fn every_single_character_substitution_is_rejected() {
        let payload = example_payload();
        let replacements: Vec<char> =
            (0u8..=127).map(char::from).chain(['ä', '\u{a0}', '\u{2028}', '€', '\u{fffd}']).collect();
        let mut substitutions_checked = 0;
        for position in 0..payload.len() {
            for &replacement in &replacements {
                let original = char::from(payload.as_bytes()[position]);
                if replacement == original {
                    continue;
                }
                let mut changed = payload.clone();
                changed.replace_range(position..=position, replacement.encode_utf8(&mut [0; 4]));
                let result = verify(&ring(), &changed);
                assert!(result.is_err(), "{changed:?} verified as {result:?}");
                substitutions_checked += 1;
            }
        }
        assert!(substitutions_checked > 40 * 100, "only {substitutions_checked} substitutions checked");
    }

    #[test]
    fn lower_case_aktenzeichen_are_issued_and_verified() {
        let payload = issue(ring().current(), 12, "Az 32.10.05-12/2024").unwrap();
        assert_eq!(verify(&ring(), &payload).unwrap().aktenzeichen, "Az 32.10.05-12/2024");
    }

    #[test]
    fn unencodable_aktenzeichen_are_refused_with_the_reason() {
        let too_long = "9".repeat(MAX_AKTENZEICHEN_LEN + 1);
        for (bad, reason_part) in [
            ("", "empty"),
            ("32:10-1/2024", "character"),
            ("Aktenzeichen Müller", "character"),
            ("32.10-1/2024\n", "character"),
            ("32.10\t1/2024", "character"),
            (too_long.as_str(), "longer"),
            (" 32.10-1/2024", "space"),
            ("32.10-1/2024 ", "space"),
        ] {
            match issue(ring().current(), 1, bad) {
                Err(RoutingCodeError::AktenzeichenNotEncodable { aktenzeichen, reason }) => {
                    assert_eq!(aktenzeichen, bad);
                    assert!(reason.contains(reason_part), "{bad:?}: {reason}");
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let longest = "9".repeat(MAX_AKTENZEICHEN_LEN);
        assert!(issue(ring().current(), 1, &longest).is_ok());
    }

    #[test]
    fn key_ids_are_one_character_of_0_to_9_or_a_to_z() {
        for id in ['a', ':', ' ', 'Ä', '-'] {
            assert!(matches!(
                RoutingKey::from_bytes(id, [0; 32]),
                Err(RoutingCodeError::InvalidKeyId { .. })
            ));
        }
        for id in KEY_IDS.chars() {
            assert_eq!(RoutingKey::generate(id).unwrap().id(), id);
        }
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = key('A', 0xAB);
        let ring = RoutingKeyRing::new(key.clone()).accept(key.clone());
        for text in [format!("{key:?}"), format!("{key:#?}"), format!("{ring:?}")] {
            assert!(text.contains("redacted"), "{text}");
            assert!(!text.contains("171") && !text.to_lowercase().contains("ab"), "{text}");
        }
    }

    #[test]
    fn generated_keys_differ() {
        let first = RoutingKey::generate('A').unwrap();
        let second = RoutingKey::generate('A').unwrap();
        assert_ne!(first.secret, second.secret);
    }

    #[test]
    fn worst_case_payloads_fit_qr_version_6_at_level_m() {
        let worst_cases = [
            "9".repeat(40),
            "Z".repeat(40),
            "z".repeat(40),
            "a1".repeat(20),
            "1a".repeat(20),
            "aA".repeat(20),
            "a.1Z".repeat(10),
            "Az 32.10.05.01.02.03-99999999/2024xxxxxx".to_string(),
        ];
        for aktenzeichen in &worst_cases {
            assert_eq!(aktenzeichen.len(), MAX_AKTENZEICHEN_LEN);
            let payload = issue(&key('Z', 1), u64::MAX, aktenzeichen).unwrap();
            assert_eq!(payload.len(), 84, "{payload}");
            let version = qr_version(&payload);
            assert!(version <= 6, "{payload} needs QR version {version}");
        }
    }

    #[test]
    fn key_file_is_created_once_private_and_reloaded() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("keys/routing.key");
        let first = RoutingKey::load_or_create(&path).unwrap();
        assert_eq!(first.id(), FIRST_KEY_ID);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{KEY_FILE_MAGIC}\nA {}\n", hex::encode(first.secret)));
        let again = RoutingKey::load_or_create(&path).unwrap();
        assert_eq!((first.id, first.secret), (again.id, again.secret));
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["routing.key"]);
    }

    #[test]
    fn processes_starting_at_once_agree_on_one_key() {
        let directory = tempfile::tempdir().unwrap();
        let path = Arc::new(directory.path().join("routing.key"));
        let start = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (Arc::clone(&path), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    RoutingKey::load_or_create(&path).unwrap().secret
                })
            })
            .collect();
        let secrets: Vec<[u8; 32]> = handles.into_iter().map(|handle| handle.join().unwrap()).collect();
        let on_disk = RoutingKey::load_or_create(&path).unwrap().secret;
        assert!(secrets.iter().all(|secret| *secret == on_disk));
    }

    #[test]
    fn broken_or_exposed_key_files_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("routing.key");
        let a_secret = "07".repeat(32);
        for (text, message_part) in [
            ("garbage".to_string(), "first line"),
            (format!("{KEY_FILE_MAGIC}\n"), "no key"),
            (format!("{KEY_FILE_MAGIC}\nA 0707\n"), "64 hex digits"),
            (format!("{KEY_FILE_MAGIC}\na {a_secret}\n"), "0-9 or A-Z"),
            (format!("{KEY_FILE_MAGIC}\nAB {a_secret}\n"), "one character"),
            (format!("{KEY_FILE_MAGIC}\nA {a_secret}\nA {a_secret}\n"), "twice"),
        ] {
            std::fs::write(&path, &text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            match RoutingKeyRing::load_or_create(&path) {
                Err(RoutingCodeError::KeyFile { message, .. }) => {
                    assert!(message.contains(message_part), "{text:?}: {message}")
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        std::fs::write(&path, format!("{KEY_FILE_MAGIC}\nA {a_secret}\n")).unwrap();
        assert_eq!(RoutingKey::load_or_create(&path).unwrap().secret, [7; 32]);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        match RoutingKey::load_or_create(&path) {
            Err(RoutingCodeError::KeyFile { message, .. }) => {
                assert!(message.contains("chmod 600"), "{message}")
            }
            other => panic!("a group-readable key file gave {other:?}"),
        }
    }

    #[test]
    fn rotation_signs_with_a_new_key_and_keeps_old_codes_valid() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("routing.key");
        assert!(matches!(RoutingKeyRing::rotate_key_file(&path), Err(RoutingCodeError::KeyFile { .. })));
        let original = RoutingKeyRing::load_or_create(&path).unwrap();
        let old_payload = issue(original.current(), 9, "10-1/2020").unwrap();

        let rotated = RoutingKeyRing::rotate_key_file(&path).unwrap();
        assert_eq!(rotated.key_ids().collect::<String>(), "BA");
        let reloaded = RoutingKeyRing::load_or_create(&path).unwrap();
        assert_eq!(reloaded.key_ids().collect::<String>(), "BA");
        assert_eq!(RoutingKey::load_or_create(&path).unwrap().secret, rotated.current().secret);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);

        assert_eq!(verify(&reloaded, &old_payload).unwrap().key_id, 'A');
        let new_payload = issue(reloaded.current(), 9, "10-1/2020").unwrap();
        assert!(new_payload.starts_with("RG1:B:9:"), "{new_payload}");
        assert_eq!(verify(&reloaded, &new_payload).unwrap().key_id, 'B');
        // A verifier that only knows the old key does not know the new one.
        assert!(matches!(verify(&original, &new_payload), Err(RoutingCodeError::UnknownKey { key_id: 'B' })));

        for _ in 0..34 {
            RoutingKeyRing::rotate_key_file(&path).unwrap();
        }
        let full = RoutingKeyRing::load_or_create(&path).unwrap();
        assert_eq!(full.key_ids().count(), 36);
        assert_eq!(full.current().id(), '9');
        match RoutingKeyRing::rotate_key_file(&path) {
            Err(RoutingCodeError::KeyFile { message, .. }) => {
                assert!(message.contains("all 36"), "{message}")
            }
            other => panic!("a 37th key gave {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn issued_codes_round_trip(akte_id in any::<u64>(), aktenzeichen in encodable_aktenzeichen(), key_id in "[0-9A-Z]") {
            let key_id = key_id.chars().next().unwrap();
            let ring = RoutingKeyRing::new(key(key_id, 3));
            let payload = issue(ring.current(), akte_id, &aktenzeichen).unwrap();
            prop_assert_eq!(verify(&ring, &payload).unwrap(), RoutingCode { akte_id, aktenzeichen, key_id });
        }

        #[test]
        fn issued_codes_fit_qr_version_6_at_level_m(akte_id in any::<u64>(), aktenzeichen in encodable_aktenzeichen()) {
            let payload = issue(ring().current(), akte_id, &aktenzeichen).unwrap();
            prop_assert!(payload.len() <= 84);
            let version = qr_version(&payload);
            prop_assert!(version <= 6, "{} needs QR version {}", payload, version);
        }

        /// Any one-character substitution, insertion or deletion yields an error, or (for whitespace
        /// added at either end) the very same code; never a different Akte.
        #[test]
        fn single_character_edits_never_yield_a_different_code(
            akte_id in any::<u64>(),
            aktenzeichen in encodable_aktenzeichen(),
            position in any::<prop::sample::Index>(),
            replacement in prop_oneof![any::<char>(), "[0-9A-Za-z:$%*+./ -]".prop_map(|s| s.chars().next().unwrap())],
        ) {
            let ring = ring();
            let payload = issue(ring.current(), akte_id, &aktenzeichen).unwrap();
            let original = RoutingCode { akte_id, aktenzeichen, key_id: 'A' };
            let chars: Vec<char> = payload.chars().collect();

            let at = position.index(chars.len());
            if chars[at] != replacement {
                let mut substituted = chars.clone();
                substituted[at] = replacement;
                let substituted: String = substituted.into_iter().collect();
                prop_assert!(verify(&ring, &substituted).is_err(), "substitution {:?} verified", substituted);
            }

            let mut deleted = chars.clone();
            deleted.remove(at);
            let deleted: String = deleted.into_iter().collect();
            prop_assert!(verify(&ring, &deleted).is_err(), "deletion {:?} verified", deleted);

            let insert_at = position.index(chars.len() + 1);
            let mut inserted = chars.clone();
            inserted.insert(insert_at, replacement);
            let inserted: String = inserted.into_iter().collect();
            if let Ok(code) = verify(&ring, &inserted) {
                prop_assert_eq!(&code, &original);
                let at_an_end = insert_at == 0 || insert_at == chars.len();
                prop_assert!(at_an_end && replacement.is_ascii_whitespace(), "insertion {:?} verified", inserted);
            }
        }

        #[test]
        fn verify_never_panics_on_arbitrary_text(payload in any::<String>()) {
            prop_assert!(verify(&ring(), &payload).is_err());
        }

        #[test]
        fn verify_never_panics_on_near_codes(version in "[0-9]{0,3}", tail in "[0-9A-Za-z:./ $%*+\r\n-]{0,100}") {
            let near_code = format!("RG{version}:{tail}");
            prop_assert!(verify(&ring(), &near_code).is_err(), "{:?} verified", near_code);
        }
    }
}
