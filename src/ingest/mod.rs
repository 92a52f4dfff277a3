//! The virtual mailroom: scan batches in, routed PDF/A documents out.
//!
//! A batch is stored unchanged and queued before it is acknowledged (`repo`); a worker (`worker`)
//! takes it from the queue and runs the pipeline (`pipeline`): decode and analyse every page, split the
//! batch into pieces (`split`), turn, OCR and render each piece, route it (`crate::route`), and file it
//! in its Akte or open a Klärfall (`repo`, whose records `tables` lists) — each piece in one transaction,
//! so that a restart resumes with the first piece not yet done.

pub mod model;
pub mod pipeline;
pub mod repo;
pub mod split;
pub mod tables;
pub mod worker;
