//! The virtual mailroom: scan batches in, routed PDF/A documents out.
//!
//! A batch is stored unchanged and queued before it is acknowledged (`repo`); a worker (`worker`)
//! takes it from the queue and runs the pipeline (`pipeline`): decode and analyse every page, split the
//! batch into pieces (`split`), have each content page turned and read (`registratur_scan::read`), then
//! file each piece (`filing`: render, decide the route, commit it to its Akte or to a Klärfall) — each
//! piece in one transaction, so that a restart resumes with the first piece not yet done. `error` holds
//! the mailroom's own errors (batches and Klärfälle), which the records layer does not know.

pub mod error;
pub mod filing;
pub mod model;
pub mod pipeline;
pub mod repo;
pub mod split;
pub mod tables;
pub mod worker;
