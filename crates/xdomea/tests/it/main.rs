//! Integration tests of the xdomea crate: every written message against the XSDs with xmllint, the 0503
//! zip against Python's zipfile and Info-ZIP unzip, the readers against real-looking and hostile input.

mod package;
mod readers;
mod support;
mod writers;
