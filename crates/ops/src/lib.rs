//! What every layer of the engine shares for running in production, below the use cases: the error
//! codes every transport maps to (`error_code`), the process metrics (`metrics`), background threads
//! that stop promptly (`background`) and the register of damaged or lost blobs (`quarantine`).
//!
//! It depends on the storage crate only, so the mailroom, search, migration and service crates can all
//! use it without depending on each other.

pub mod background;
pub mod error_code;
pub mod metrics;
pub mod quarantine;

pub use error_code::ErrorCode;
