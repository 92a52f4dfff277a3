//! Records: the Aktenplan, Akten, Vorgänge, Dokumente and their Versionen (xdomea vocabulary).
//!
//! `aktenzeichen` and `aktenplan` are pure domain types with their text formats; `model` holds the
//! stored records; `repo` reads and writes them through journaled transactions; `text` is the one rule every
//! human-readable field follows.

pub mod aktenplan;
pub mod aktenzeichen;
pub mod lifecycle;
pub mod model;
pub mod repo;
pub mod tables;
pub mod text;
