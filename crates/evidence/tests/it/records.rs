//! Records (filled below).
