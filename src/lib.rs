//! registratur: an e-Akte engine for German public administration.
//!
//! The service crate. Dependencies run one way: `grpc` (the only module that knows tonic and prost)
//! → `service` (use cases over the store) → `registratur_storage` (blobs, metadata, journal). `cli`
//! formats what the gRPC client returns for humans and scripts; `config` reads the TOML file and
//! environment. See ARCHITECTURE.md for the bird's-eye view.

pub mod auth;
pub mod background;
pub mod cli;
pub mod config;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod migrate;
pub mod quarantine;
pub mod records;
pub mod route;
pub mod search;
pub mod service;
