//! The evidence crate's integration tests: one binary, a module per area.

mod interop;
mod records;
mod support;
mod tsa;
