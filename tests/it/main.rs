//! The one integration-test binary (matklad's "delete cargo integration tests"): a module per area.

mod grpc_admin;
mod support;
