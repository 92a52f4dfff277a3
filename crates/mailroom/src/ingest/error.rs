//! `MailroomError`: the errors of the mailroom's own records (batches, pieces, Klärfälle), beside the
//! records layer's errors it passes on.
//!
//! The records layer knows Akten, Vorgänge and Dokumente, nothing of batches or Klärfälle; what can
//! go wrong with those is said here. The service layer maps it to an `ErrorCode`.

use registratur_records::repo::RecordsError;

/// Errors of the mailroom's store (`ingest::repo`).
#[derive(Debug, thiserror::Error)]
pub enum MailroomError {
    #[error("batch {0} not found; list batches with `registratur batch list`")]
    BatchNotFound(u64),
    #[error("Klärfall {0} not found; list open ones with `registratur klaerfall list`")]
    KlaerfallNotFound(u64),
    #[error("Klärfall {id} is already resolved: filed in Akte {aktenzeichen}")]
    KlaerfallResolved { id: u64, aktenzeichen: String },
    /// A failure of the records layer (the store, a record, the Akte a Klärfall is filed in).
    #[error(transparent)]
    Records(#[from] RecordsError),
}

impl From<registratur_storage::MetaError> for MailroomError {
    fn from(error: registratur_storage::MetaError) -> Self {
        MailroomError::Records(error.into())
    }
}

impl From<registratur_storage::StoreError> for MailroomError {
    fn from(error: registratur_storage::StoreError) -> Self {
        MailroomError::Records(error.into())
    }
}

/// Why the worker cannot read a stored batch file back for processing. The file's outcome in the
/// batch summary records the message; the other files of the batch go on.
#[derive(Debug, thiserror::Error)]
pub enum BatchFileError {
    #[error("the file has {size} bytes, more than the limit of {limit}; split the batch")]
    TooLarge { size: u64, limit: u64 },
    /// The file's record names no valid blob hash.
    #[error(transparent)]
    BadHash(#[from] registratur_storage::hash::ParseHashError),
    /// The bytes are damaged or missing (and registered in the quarantine), or the store failed.
    /// (The causes are in the message and not a `source`, so an error chain does not repeat them.)
    #[error("cannot read the stored file: {0}")]
    Unreadable(registratur_ops::quarantine::ReadError),
}

/// Why a page that analysis decoded cannot be decoded again (for reading or for the rendition).
#[derive(Debug, thiserror::Error)]
pub enum PageAgainError {
    /// `file` counts from 0; the message counts from 1, as people do.
    #[error("file {} is not in the batch", .file + 1)]
    NotInBatch { file: u32 },
    /// The file itself could not be read or opened; the message is the one its outcome records.
    #[error("{0}")]
    FileUnusable(String),
    /// `page` counts from 0 within its file; the message counts from 1.
    #[error("page {}: {error}", .page + 1)]
    Page { page: u32, error: registratur_scan::decode::DecodeError },
}
