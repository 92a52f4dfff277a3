//! The gRPC adapter: the only module that knows tonic and prost.
//!
//! `pb` is the code generated from `proto/`; `admin` holds the thin handlers of `AdminService`
//! (decode → call the engine → encode → map the error); `status` maps service errors to gRPC status
//! codes in one function; `client` wraps the generated client for the CLI and tests, returning domain
//! types; `server` assembles the services with health and reflection and serves them.

mod admin;
pub mod client;
pub mod server;
mod status;

/// Code generated from `proto/registratur/v1/*.proto`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("registratur.v1");

    /// The encoded descriptor set served by server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("registratur_descriptor");
}
