//! The gRPC adapter: the only crate that knows tonic and prost.
//!
//! `pb` is the code generated from `proto/`; `admin`, `records`, `mailroom`, `search` and `migration` hold the thin handlers (decode →
//! call the engine → encode → map the error); `convert` is the one place where messages become domain
//! types and back; `status` maps service errors to gRPC status codes in one function; `auth` turns
//! bearer tokens into principals before any handler runs; `stream` feeds client streams into uploads;
//! `client` wraps the generated clients for the CLI and tests; `server` assembles everything with
//! health, reflection and optional TLS.

mod admin;
mod auth;
pub mod client;
mod convert;
mod convert_lifecycle;
mod evidence;
mod lifecycle;
mod mailroom;
mod migration;
mod records;
mod search;
pub mod server;
mod status;
mod stream;

/// Largest gRPC message, in bytes, that the server and the client accept or send, on every service.
/// Documents and batches are streamed in chunks far below it; a larger message is refused with
/// RESOURCE_EXHAUSTED before it is decoded.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Code generated from `proto/registratur/v1/*.proto`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("registratur.v1");

    /// The encoded descriptor set served by server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("registratur_descriptor");
}
