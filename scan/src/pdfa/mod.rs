//! PDF/A-2u renditions of scanned pieces: page images embedded without recompression where possible,
//! an invisible word-positioned text layer, XMP and an OutputIntent.
