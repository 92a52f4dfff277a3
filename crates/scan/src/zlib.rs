//! zlib streams (RFC 1950, what TIFF deflate strips and PDF `FlateDecode` hold) compressed and
//! inflated in one call through libdeflate, where the whole input is in memory and the size of the
//! output is known: the PDF writer's lossless page images, the TIFF decoder's deflate strips, the
//! validation gate's read-back of an output image. libdeflate is several times faster than a
//! streaming inflater or deflater on scanner pages.
//!
//! Inflating into a buffer of exactly the expected size is also a completeness proof: libdeflate
//! succeeds only when the stream ends, its Adler-32 checksum included, within the buffer, and it
//! reports how much it wrote, so a stream that ends early or would run past the buffer is told
//! apart from one that ends exactly at the last byte. What libdeflate cannot say (how an over-long
//! or damaged stream goes wrong, where exactly a stream ends inside trailing bytes) is left to the
//! callers' streaming decoder, which they fall back to; libdeflate never decides alone that input is
//! bad.

use libdeflater::{CompressionLvl, Compressor, DecompressionError, Decompressor};

/// The outcome of [`inflate_exact`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inflated {
    /// The stream ended, checksum verified, exactly at the end of the output buffer.
    Exact,
    /// The stream ended, checksum verified, after this many bytes, fewer than the buffer holds.
    Short(usize),
    /// The stream would run past the buffer, or it is damaged or truncated: a streaming decoder
    /// must look at it (to decode only what is needed, or to name the problem).
    Undecided,
}

/// Inflates the zlib stream at the start of `data` into `out`. Bytes after the stream's end are
/// ignored (see [`ends_at`] for whether there are any).
pub(crate) fn inflate_exact(decompressor: &mut Decompressor, data: &[u8], out: &mut [u8]) -> Inflated {
    match decompressor.zlib_decompress(data, out) {
        Ok(written) if written == out.len() => Inflated::Exact,
        Ok(written) => Inflated::Short(written),
        Err(DecompressionError::BadData | DecompressionError::InsufficientSpace) => Inflated::Undecided,
    }
}

/// Whether a zlib stream that [`inflate_exact`] inflated from `data` to exactly `inflated` ends at
/// the last byte of `data`: its trailer, the big-endian Adler-32 of the inflated bytes, is the last
/// four bytes. (libdeflate does not report how much input it read; this is the cheap way to tell.)
pub(crate) fn ends_at(data: &[u8], inflated: &[u8]) -> bool {
    data.len() >= 6 && data[data.len() - 4..] == libdeflater::adler32(inflated).to_be_bytes()
}

/// Compresses `data` as one zlib stream at libdeflate `level` (1..=12).
pub(crate) fn compress(data: &[u8], level: i32) -> Result<Vec<u8>, String> {
    let level = CompressionLvl::new(level).map_err(|_| format!("zlib level {level} does not exist"))?;
    let mut compressor = Compressor::new(level);
    let mut out = vec![0u8; compressor.zlib_compress_bound(data.len())];
    let written = compressor
        .zlib_compress(data, &mut out)
        .map_err(|_| "the compressed data does not fit its bound".to_string())?;
    out.truncate(written);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn inflating_tells_exact_short_long_and_damaged_streams_apart() {
        let samples: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let stream = zlib(&samples);
        let mut decompressor = Decompressor::new();
        let mut out = vec![0u8; samples.len()];
        assert_eq!(inflate_exact(&mut decompressor, &stream, &mut out), Inflated::Exact);
        assert_eq!(out, samples);
        assert!(ends_at(&stream, &out));
        // Trailing bytes after the stream are not part of it.
        let mut padded = stream.clone();
        padded.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(inflate_exact(&mut decompressor, &padded, &mut out), Inflated::Exact);
        assert!(!ends_at(&padded, &out));
        let mut larger = vec![0u8; samples.len() + 1];
        assert_eq!(inflate_exact(&mut decompressor, &stream, &mut larger), Inflated::Short(samples.len()));
        let mut smaller = vec![0u8; samples.len() - 1];
        assert_eq!(inflate_exact(&mut decompressor, &stream, &mut smaller), Inflated::Undecided);
        // A truncated stream and a wrong checksum are undecided, never accepted.
        assert_eq!(
            inflate_exact(&mut decompressor, &stream[..stream.len() - 1], &mut out),
            Inflated::Undecided
        );
        let mut damaged = stream.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(inflate_exact(&mut decompressor, &damaged, &mut out), Inflated::Undecided);
    }

    #[test]
    fn compressed_streams_inflate_to_their_input() {
        let samples: Vec<u8> = (0..100_000u32).map(|i| (i * 13 % 256) as u8).collect();
        for level in [1, 6, 12] {
            let stream = compress(&samples, level).unwrap();
            let mut decoder = flate2::read::ZlibDecoder::new(stream.as_slice());
            let mut back = Vec::new();
            std::io::Read::read_to_end(&mut decoder, &mut back).unwrap();
            assert_eq!(back, samples, "level {level}");
        }
        assert_eq!(compress(&[], 1).map(|stream| stream.len() > 2), Ok(true));
        assert!(compress(&samples, 13).is_err());
    }
}
