//! The one integration-test binary (matklad's "delete cargo integration tests"): a module per area.

mod audit;
mod compat;
mod crash;
mod evidence;
mod grpc_admin;
mod grpc_records;
mod lifecycle;
mod mailroom;
mod metrics;
mod migration;
mod scrub;
mod search;
mod security;
mod support;
mod tls;
mod web;
