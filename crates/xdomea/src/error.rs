//! The crate's errors: one enum for writing messages and packages, one for reading incoming messages.
//! Every variant says what is wrong and, where the caller can act, what to do.

use uuid::Uuid;

/// Writing a message (0501, 0503, 0504, 0505, 0507) or the 0503 package failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing the xdomea output failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "{field} contains the character U+{character:04X}, which XML 1.0 cannot carry; correct the value before the Aussonderung"
    )]
    InvalidCharacter { field: &'static str, character: u32 },
    #[error(
        "the UUID {0} is used by two objects of the message; every Akte, Vorgang, Dokument and file needs its own"
    )]
    DuplicateUuid(Uuid),
    #[error("a message needs at least one Schriftgutobjekt; nothing to offer or hand over")]
    NoObjects,
    #[error(
        "Dokument {dokument}, version {version} has no file; the schema requires at least one Format per Version"
    )]
    VersionWithoutFile { dokument: Uuid, version: u32 },
    #[error("the primary file {datei} could not be read from the store: {source}")]
    PrimaryFile {
        datei: Uuid,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the zip package has more than {limit} entries; split the Aussonderung into several processes")]
    TooManyEntries { limit: u64 },
    #[error("the package was used after a failed write; start a new package")]
    Poisoned,
}

/// An incoming message (0502, 0506) was refused; nothing was read from it.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the message is {size} bytes, over the limit of {limit} bytes for an incoming xdomea message")]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "the message contains a DOCTYPE declaration; xdomea messages have none and it is refused (entity expansion, external entities)"
    )]
    Doctype,
    #[error("the message is not UTF-8 encoded ({0}); xdomea messages must be sent as UTF-8")]
    NotUtf8(String),
    #[error("the message is not well-formed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("the message nests elements deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("the message has more than {limit} elements")]
    TooManyElements { limit: usize },
    #[error(
        "the root element is {found}, expected xdomea:{expected} in namespace urn:xoev-de:xdomea:schema:3.0.0"
    )]
    WrongRoot { expected: String, found: String },
    #[error("the Nachrichtentyp code is {found}, but the root element is that of message type {expected}")]
    WrongMessageType { expected: &'static str, found: String },
    #[error("{path}: element {found} is not allowed here (expected {expected})")]
    UnexpectedElement { path: String, found: String, expected: String },
    #[error("{path}: required element {missing} is missing")]
    MissingElement { path: String, missing: String },
    #[error("{path}: {message}")]
    InvalidValue { path: String, message: String },
    #[error("{path}: {value:?} is not a UUID (8-4-4-4-12 hexadecimal digits)")]
    MalformedUuid { path: String, value: String },
    #[error("the object {0} is named twice in the message; each object may be answered only once")]
    DuplicateUuid(Uuid),
    #[error("{path}: the archive must decide A (archivieren) or V (vernichten), not {code}")]
    UndecidedAppraisal { path: String, code: String },
    #[error("the message does not validate against the xdomea 3.0.0 XSD: {}", messages.join("; "))]
    SchemaInvalid { messages: Vec<String> },
    #[error("the XSD validation could not run: {0}")]
    SchemaUnavailable(String),
    #[error("zip: {0}")]
    Zip(#[from] ZipReadError),
    #[error("reading the message failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A zip holding an incoming message was refused.
#[derive(Debug, thiserror::Error)]
pub enum ZipReadError {
    #[error("not a zip file (no end of central directory record); send the message as .xml or .zip")]
    NotAZip,
    #[error("the zip is damaged: {0}")]
    Damaged(&'static str),
    #[error("the zip has {count} entries, over the limit of {limit} for a message container")]
    TooManyEntries { count: u64, limit: u64 },
    #[error(
        "the zip entry name {0:?} is refused: absolute paths, drive letters, backslashes and '..' are not allowed"
    )]
    UnsafeName(String),
    #[error("the zip entry {name:?} declares {size} bytes uncompressed, over the limit of {limit} bytes")]
    DeclaredTooLarge { name: String, size: u64, limit: u64 },
    #[error("the zip entry {name:?} inflates to more than {limit} bytes (zip bomb); refused")]
    InflatesTooLarge { name: String, limit: u64 },
    #[error("the zip entry {name:?} is {actual} bytes, but its header declares {declared}")]
    SizeMismatch { name: String, declared: u64, actual: u64 },
    #[error("the zip entry {0:?} fails its CRC-32 check")]
    CrcMismatch(String),
    #[error(
        "the zip entry {name:?} uses compression method {method}; only stored (0) and deflate (8) are accepted"
    )]
    UnsupportedMethod { name: String, method: u16 },
    #[error("the zip entry {0:?} is encrypted; send the message unencrypted")]
    Encrypted(String),
    #[error("the zip uses ZIP64, which a message container never needs; refused")]
    Zip64,
    #[error("the zip holds {0} XML files; a message container holds exactly one")]
    XmlEntryCount(usize),
}
