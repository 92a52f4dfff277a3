//! The virtual mailroom: scan batches in (`ingest`), each piece routed to its Akte or to a Klärfall
//! (`route`), and the routing codes printed on outgoing letters.
//!
//! One crate, because ingest and routing change together: what the pipeline reads off a page is what
//! routing decides on. It depends on records, scan, ops and storage, and nothing depends on it but the
//! service.

pub mod ingest;
pub mod route;
