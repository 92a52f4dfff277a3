//! BouncyCastle interop (filled below).
