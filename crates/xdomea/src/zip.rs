//! A minimal zip writer that streams to a non-seekable `Write`, and a bounded zip reader for the small
//! containers incoming messages come in (PKWARE APPNOTE 6.3.x).
//!
//! Writer: every entry has general-purpose flag bit 3 (sizes and CRC-32 follow the data in a data
//! descriptor) and bit 11 (UTF-8 names), so nothing is ever seeked back to. An entry whose sizes or
//! offset pass 4 GiB gets a ZIP64 data descriptor and ZIP64 extra field in the central directory, and
//! the archive a ZIP64 end of central directory when the directory needs it; readers take sizes from
//! the central directory (Python's zipfile, Info-ZIP unzip, 7-Zip, Go, Java all do). Memory: a fixed
//! deflate state plus one small record per entry for the central directory.
//!
//! Reader: the whole container is in memory (it is size-limited by the caller); entries are checked
//! (name, count, declared size, method, encryption) before any byte is inflated, and inflation stops
//! at the limit whatever the header says.

use std::io::{self, BufWriter, Read, Write};

use flate2::{Compress, Compression, FlushCompress, Status};

use crate::error::ZipReadError;

const LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR_SIGNATURE: u32 = 0x0807_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_EXTRA_TAG: u16 = 0x0001;
/// Bit 3 (data descriptor) and bit 11 (UTF-8 names).
const FLAGS: u16 = (1 << 3) | (1 << 11);
const VERSION_DEFLATE: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// Made by: Unix (3), specification 4.5; so the Unix mode in the external attributes is honoured.
const VERSION_MADE_BY: u16 = (3 << 8) | 45;
const U32_LIMIT: u64 = 0xFFFF_FFFF;
/// One zip can hold at most this many entries (ZIP64 allows far more; a handover of millions of
/// files should be split into several processes anyway, and the central directory records stay small).
pub const MAX_WRITE_ENTRIES: u64 = 10_000_000;

/// How an entry's bytes are stored.
///
/// Streamed entries should be `Deflated`: Java's `ZipInputStream` (which streaming importers use)
/// refuses a stored entry with a data descriptor ("only DEFLATED entries can have EXT descriptor").
/// For content that is compressed already, `Deflated { level: 0 }` frames it in stored deflate blocks:
/// no compression work, five bytes per 64 KiB, and every reader takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// 0: as they are.
    Stored,
    /// 8: deflate at `level` 0 (stored blocks) to 9.
    Deflated { level: u32 },
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated { .. } => 8,
        }
    }
}

struct CentralRecord {
    name: String,
    method: Method,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    offset: u64,
}

/// Counts the bytes written so offsets are known without seeking.
struct Counting<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a zip archive entry by entry to a non-seekable output. Start an entry with
/// [`ZipStreamWriter::start_entry`], write its content through `Write`, end it with
/// [`ZipStreamWriter::finish_entry`]; [`ZipStreamWriter::finish`] writes the central directory.
pub struct ZipStreamWriter<W: Write> {
    /// Buffered, so headers, block frames and descriptors do not reach the output as tiny writes (one
    /// gRPC message each, for a stream).
    out: Counting<BufWriter<W>>,
    entries: Vec<CentralRecord>,
    current: Option<CurrentEntry>,
    /// Output buffer of the deflater (fixed size).
    deflate_buffer: Vec<u8>,
    dos_time: u16,
    dos_date: u16,
    force_zip64: bool,
}

struct CurrentEntry {
    name: String,
    method: Method,
    offset: u64,
    data_start: u64,
    crc: crc32fast::Hasher,
    uncompressed: u64,
    encoder: Encoder,
}

/// How the current entry's bytes are encoded.
enum Encoder {
    /// Method 0: copied.
    Stored,
    /// Method 8 at level 0: deflate stored blocks (RFC 1951 §3.2.4), framed here without a compressor.
    StoredBlocks,
    /// Method 8 at levels 1 to 9.
    Deflate(Box<Compress>),
}

/// The largest stored deflate block.
const STORED_BLOCK_MAX: usize = 0xFFFF;

const DEFLATE_BUFFER_BYTES: usize = 64 * 1024;
const OUTPUT_BUFFER_BYTES: usize = 256 * 1024;

impl<W: Write> ZipStreamWriter<W> {
    /// A writer whose entries all carry the given modification time (so equal input gives equal bytes).
    pub fn new(out: W, modified: chrono::NaiveDateTime) -> Self {
        let (dos_time, dos_date) = dos_date_time(modified);
        Self {
            out: Counting { inner: BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, out), written: 0 },
            entries: Vec::new(),
            current: None,
            deflate_buffer: vec![0; DEFLATE_BUFFER_BYTES],
            dos_time,
            dos_date,
            force_zip64: false,
        }
    }

    /// Writes ZIP64 central directory records and the ZIP64 end of central directory even when nothing
    /// needs them; for tests of that path without writing 4 GiB.
    #[doc(hidden)]
    pub fn force_zip64(mut self) -> Self {
        self.force_zip64 = true;
        self
    }

    /// How many bytes have been written so far.
    pub fn bytes_written(&self) -> u64 {
        self.out.written
    }

    /// Starts an entry; its content follows through `Write`.
    pub fn start_entry(&mut self, name: &str, method: Method) -> io::Result<()> {
        if self.current.is_some() {
            return Err(io::Error::other("a zip entry was started before the previous one was finished"));
        }
        if self.entries.len() as u64 >= MAX_WRITE_ENTRIES {
            return Err(io::Error::other(format!(
                "the zip would have more than {MAX_WRITE_ENTRIES} entries; split the Aussonderung"
            )));
        }
        if name.len() > u16::MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "zip entry name longer than 65535 bytes",
            ));
        }
        let offset = self.out.written;
        let mut header = Vec::with_capacity(30 + name.len());
        put_u32(&mut header, LOCAL_HEADER_SIGNATURE);
        put_u16(&mut header, if self.force_zip64 { VERSION_ZIP64 } else { VERSION_DEFLATE });
        put_u16(&mut header, FLAGS);
        put_u16(&mut header, method.code());
        put_u16(&mut header, self.dos_time);
        put_u16(&mut header, self.dos_date);
        put_u32(&mut header, 0); // CRC-32: in the data descriptor
        put_u32(&mut header, 0); // compressed size: in the data descriptor
        put_u32(&mut header, 0); // uncompressed size: in the data descriptor
        put_u16(&mut header, name.len() as u16);
        put_u16(&mut header, 0); // no extra field
        header.extend_from_slice(name.as_bytes());
        self.out.write_all(&header)?;
        self.current = Some(CurrentEntry {
            name: name.to_owned(),
            method,
            offset,
            data_start: self.out.written,
            crc: crc32fast::Hasher::new(),
            uncompressed: 0,
            encoder: match method {
                Method::Stored => Encoder::Stored,
                Method::Deflated { level: 0 } => Encoder::StoredBlocks,
                // Raw deflate (no zlib header), as zip method 8 wants.
                Method::Deflated { level } => {
                    Encoder::Deflate(Box::new(Compress::new(Compression::new(level.min(9)), false)))
                }
            },
        });
        Ok(())
    }

    /// Ends the current entry: flushes the deflater and writes the data descriptor.
    pub fn finish_entry(&mut self) -> io::Result<()> {
        let Some(mut entry) = self.current.take() else {
            return Err(io::Error::other("no zip entry to finish"));
        };
        match &mut entry.encoder {
            Encoder::Stored => {}
            // The final block: BFINAL set, empty.
            Encoder::StoredBlocks => self.out.write_all(&[0x01, 0x00, 0x00, 0xFF, 0xFF])?,
            Encoder::Deflate(deflater) => {
                deflate(deflater, &mut self.out, &mut self.deflate_buffer, &[], FlushCompress::Finish)?
            }
        }
        let compressed = self.out.written - entry.data_start;
        let crc = entry.crc.finalize();
        // The descriptor's size fields are 8 bytes exactly when a size passed 4 GiB: the local header
        // carries no ZIP64 extra field, and streaming readers (Java's ZipInputStream) decide by the
        // byte counts they saw. Forcing ZIP64 for tests therefore leaves descriptors alone.
        let zip64 = compressed >= U32_LIMIT || entry.uncompressed >= U32_LIMIT;
        let mut descriptor = Vec::with_capacity(24);
        put_u32(&mut descriptor, DATA_DESCRIPTOR_SIGNATURE);
        put_u32(&mut descriptor, crc);
        if zip64 {
            put_u64(&mut descriptor, compressed);
            put_u64(&mut descriptor, entry.uncompressed);
        } else {
            put_u32(&mut descriptor, compressed as u32);
            put_u32(&mut descriptor, entry.uncompressed as u32);
        }
        self.out.write_all(&descriptor)?;
        self.entries.push(CentralRecord {
            name: entry.name,
            method: entry.method,
            crc,
            compressed,
            uncompressed: entry.uncompressed,
            offset: entry.offset,
        });
        Ok(())
    }

    /// Writes the central directory and the end records; returns the output and the zip's size.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if self.current.is_some() {
            return Err(io::Error::other("the zip was finished with an entry still open"));
        }
        let directory_start = self.out.written;
        for entry in &self.entries {
            let needs_zip64 = self.force_zip64
                || entry.compressed >= U32_LIMIT
                || entry.uncompressed >= U32_LIMIT
                || entry.offset >= U32_LIMIT;
            let mut extra = Vec::new();
            if needs_zip64 {
                put_u16(&mut extra, ZIP64_EXTRA_TAG);
                put_u16(&mut extra, 24);
                put_u64(&mut extra, entry.uncompressed);
                put_u64(&mut extra, entry.compressed);
                put_u64(&mut extra, entry.offset);
            }
            let mut record = Vec::with_capacity(46 + entry.name.len() + extra.len());
            put_u32(&mut record, CENTRAL_HEADER_SIGNATURE);
            put_u16(&mut record, VERSION_MADE_BY);
            put_u16(&mut record, if needs_zip64 { VERSION_ZIP64 } else { VERSION_DEFLATE });
            put_u16(&mut record, FLAGS);
            put_u16(&mut record, entry.method.code());
            put_u16(&mut record, self.dos_time);
            put_u16(&mut record, self.dos_date);
            put_u32(&mut record, entry.crc);
            put_u32(&mut record, if needs_zip64 { U32_LIMIT as u32 } else { entry.compressed as u32 });
            put_u32(&mut record, if needs_zip64 { U32_LIMIT as u32 } else { entry.uncompressed as u32 });
            put_u16(&mut record, entry.name.len() as u16);
            put_u16(&mut record, extra.len() as u16);
            put_u16(&mut record, 0); // comment length
            put_u16(&mut record, 0); // disk number start
            put_u16(&mut record, 0); // internal attributes
            put_u32(&mut record, 0o100644 << 16); // external attributes: a regular file, rw-r--r--
            put_u32(&mut record, if needs_zip64 { U32_LIMIT as u32 } else { entry.offset as u32 });
            record.extend_from_slice(entry.name.as_bytes());
            record.extend_from_slice(&extra);
            self.out.write_all(&record)?;
        }
        let directory_end = self.out.written;
        let directory_size = directory_end - directory_start;
        let count = self.entries.len() as u64;
        let needs_zip64 = self.force_zip64
            || count >= 0xFFFF
            || directory_size >= U32_LIMIT
            || directory_start >= U32_LIMIT;
        let mut end = Vec::new();
        if needs_zip64 {
            put_u32(&mut end, ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE);
            put_u64(&mut end, 44); // size of the record after this field
            put_u16(&mut end, VERSION_MADE_BY);
            put_u16(&mut end, VERSION_ZIP64);
            put_u32(&mut end, 0); // this disk
            put_u32(&mut end, 0); // disk with the central directory
            put_u64(&mut end, count);
            put_u64(&mut end, count);
            put_u64(&mut end, directory_size);
            put_u64(&mut end, directory_start);
            put_u32(&mut end, ZIP64_LOCATOR_SIGNATURE);
            put_u32(&mut end, 0); // disk with the ZIP64 end record
            put_u64(&mut end, directory_end);
            put_u32(&mut end, 1); // total disks
        }
        put_u32(&mut end, END_OF_CENTRAL_DIRECTORY_SIGNATURE);
        put_u16(&mut end, 0);
        put_u16(&mut end, 0);
        let count16 = if needs_zip64 { 0xFFFF } else { count as u16 };
        put_u16(&mut end, count16);
        put_u16(&mut end, count16);
        put_u32(&mut end, if needs_zip64 { U32_LIMIT as u32 } else { directory_size as u32 });
        put_u32(&mut end, if needs_zip64 { U32_LIMIT as u32 } else { directory_start as u32 });
        put_u16(&mut end, 0); // comment length
        self.out.write_all(&end)?;
        let written = self.out.written;
        let out = self.out.inner.into_inner().map_err(|e| e.into_error())?;
        Ok((out, written))
    }
}

impl<W: Write> Write for ZipStreamWriter<W> {
    /// Writes content of the current entry.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(entry) = self.current.as_mut() else {
            return Err(io::Error::other("zip content written outside an entry"));
        };
        match &mut entry.encoder {
            Encoder::Stored => self.out.write_all(buf)?,
            Encoder::StoredBlocks => {
                for block in buf.chunks(STORED_BLOCK_MAX) {
                    // BFINAL 0, BTYPE 00, padded to the byte; LEN and its one's complement NLEN.
                    let len = block.len() as u16;
                    let [lo, hi] = len.to_le_bytes();
                    self.out.write_all(&[0x00, lo, hi, !lo, !hi])?;
                    self.out.write_all(block)?;
                }
            }
            Encoder::Deflate(deflater) => {
                deflate(deflater, &mut self.out, &mut self.deflate_buffer, buf, FlushCompress::None)?
            }
        }
        entry.crc.update(buf);
        entry.uncompressed += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Runs the deflater over `input` (all of it), writing what it produces; with `Finish`, until the
/// stream is complete.
fn deflate(
    deflater: &mut Compress,
    out: &mut impl Write,
    buffer: &mut [u8],
    mut input: &[u8],
    flush: FlushCompress,
) -> io::Result<()> {
    loop {
        let (in_before, out_before) = (deflater.total_in(), deflater.total_out());
        let status = deflater.compress(input, buffer, flush).map_err(io::Error::other)?;
        let consumed = (deflater.total_in() - in_before) as usize;
        let produced = (deflater.total_out() - out_before) as usize;
        out.write_all(&buffer[..produced])?;
        input = &input[consumed..];
        match flush {
            FlushCompress::Finish if status == Status::StreamEnd => return Ok(()),
            FlushCompress::Finish => {}
            _ if input.is_empty() => return Ok(()),
            _ => {}
        }
        if consumed == 0 && produced == 0 && status == Status::BufError {
            return Err(io::Error::other("the deflater made no progress"));
        }
    }
}

fn dos_date_time(t: chrono::NaiveDateTime) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    // DOS dates start in 1980; clamp earlier times rather than wrap.
    let year = t.year().clamp(1980, 2107) as u16;
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | ((t.second() as u16) / 2);
    let date = ((year - 1980) << 9) | ((t.month() as u16) << 5) | (t.day() as u16);
    (time, date)
}

fn put_u16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_le_bytes());
}
fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}
fn put_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Limits for reading a container.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Most entries a container may have.
    pub max_entries: u64,
    /// Most bytes an entry may inflate to (declared and actual).
    pub max_entry_bytes: u64,
}

/// Reads the single `.xml` entry of a message container, after checking every entry.
pub fn read_single_xml_entry(zip: &[u8], limits: ZipLimits) -> Result<Vec<u8>, ZipReadError> {
    let entries = central_directory(zip, limits)?;
    let xml: Vec<&CentralEntry> =
        entries.iter().filter(|e| e.name.to_ascii_lowercase().ends_with(".xml")).collect();
    let [entry] = xml.as_slice() else {
        return Err(ZipReadError::XmlEntryCount(xml.len()));
    };
    extract(zip, entry, limits)
}

struct CentralEntry {
    name: String,
    method: u16,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    offset: u64,
}

fn central_directory(zip: &[u8], limits: ZipLimits) -> Result<Vec<CentralEntry>, ZipReadError> {
    // The end record is 22 bytes plus a comment of at most 65535 bytes; search backwards.
    let search_from = zip.len().saturating_sub(22 + 0xFFFF);
    let end = (search_from..zip.len().saturating_sub(21))
        .rev()
        .find(|&i| le_u32(zip, i) == Some(END_OF_CENTRAL_DIRECTORY_SIGNATURE))
        .ok_or(ZipReadError::NotAZip)?;
    let count = le_u16(zip, end + 10).ok_or(ZipReadError::Damaged("end record truncated"))? as u64;
    let size = le_u32(zip, end + 12).ok_or(ZipReadError::Damaged("end record truncated"))? as u64;
    let start = le_u32(zip, end + 16).ok_or(ZipReadError::Damaged("end record truncated"))? as u64;
    if count == 0xFFFF || size == U32_LIMIT || start == U32_LIMIT {
        return Err(ZipReadError::Zip64);
    }
    if count > limits.max_entries {
        return Err(ZipReadError::TooManyEntries { count, limit: limits.max_entries });
    }
    if start.checked_add(size).is_none_or(|e| e > end as u64) {
        return Err(ZipReadError::Damaged("central directory outside the file"));
    }
    let mut entries = Vec::new();
    let mut at = start as usize;
    for _ in 0..count {
        if le_u32(zip, at) != Some(CENTRAL_HEADER_SIGNATURE) {
            return Err(ZipReadError::Damaged("central directory record expected"));
        }
        let field =
            |offset: usize| le_u16(zip, at + offset).ok_or(ZipReadError::Damaged("central record truncated"));
        let field32 =
            |offset: usize| le_u32(zip, at + offset).ok_or(ZipReadError::Damaged("central record truncated"));
        let flags = field(8)?;
        let method = field(10)?;
        let crc = field32(16)?;
        let compressed = field32(20)? as u64;
        let uncompressed = field32(24)? as u64;
        let name_len = field(28)? as usize;
        let extra_len = field(30)? as usize;
        let comment_len = field(32)? as usize;
        let offset = field32(42)? as u64;
        let name_bytes =
            zip.get(at + 46..at + 46 + name_len).ok_or(ZipReadError::Damaged("central record truncated"))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        check_name(&name, name_bytes)?;
        if compressed == U32_LIMIT || uncompressed == U32_LIMIT || offset == U32_LIMIT {
            return Err(ZipReadError::Zip64);
        }
        if flags & 1 != 0 {
            return Err(ZipReadError::Encrypted(name));
        }
        if method != 0 && method != 8 {
            return Err(ZipReadError::UnsupportedMethod { name, method });
        }
        if uncompressed > limits.max_entry_bytes {
            return Err(ZipReadError::DeclaredTooLarge {
                name,
                size: uncompressed,
                limit: limits.max_entry_bytes,
            });
        }
        entries.push(CentralEntry { name, method, crc, compressed, uncompressed, offset });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// Refuses names that could leave the directory an unpacker writes to: absolute paths, drive letters,
/// backslashes, `..` components, NUL.
fn check_name(name: &str, raw: &[u8]) -> Result<(), ZipReadError> {
    let unsafe_name = raw.contains(&0)
        || name.is_empty()
        || name.starts_with('/')
        || name.contains('\\')
        || name.as_bytes().get(1) == Some(&b':')
        || name.split('/').any(|part| part == "..");
    if unsafe_name { Err(ZipReadError::UnsafeName(name.to_owned())) } else { Ok(()) }
}

fn extract(zip: &[u8], entry: &CentralEntry, limits: ZipLimits) -> Result<Vec<u8>, ZipReadError> {
    let at = entry.offset as usize;
    if le_u32(zip, at) != Some(LOCAL_HEADER_SIGNATURE) {
        return Err(ZipReadError::Damaged("local header expected at the central directory's offset"));
    }
    let name_len = le_u16(zip, at + 26).ok_or(ZipReadError::Damaged("local header truncated"))? as usize;
    let extra_len = le_u16(zip, at + 28).ok_or(ZipReadError::Damaged("local header truncated"))? as usize;
    let data_start = at + 30 + name_len + extra_len;
    let data = zip
        .get(data_start..data_start.saturating_add(entry.compressed as usize))
        .ok_or(ZipReadError::Damaged("entry data outside the file"))?;
    let limit = limits.max_entry_bytes;
    let mut content = Vec::new();
    match entry.method {
        0 => content.extend_from_slice(data),
        _ => {
            // Read at most one byte past the limit: enough to know it was passed, whatever the header says.
            let mut decoder = flate2::read::DeflateDecoder::new(data).take(limit + 1);
            decoder
                .read_to_end(&mut content)
                .map_err(|_| ZipReadError::Damaged("deflate stream is corrupt"))?;
        }
    }
    if content.len() as u64 > limit {
        return Err(ZipReadError::InflatesTooLarge { name: entry.name.clone(), limit });
    }
    if content.len() as u64 != entry.uncompressed {
        return Err(ZipReadError::SizeMismatch {
            name: entry.name.clone(),
            declared: entry.uncompressed,
            actual: content.len() as u64,
        });
    }
    if crc32fast::hash(&content) != entry.crc {
        return Err(ZipReadError::CrcMismatch(entry.name.clone()));
    }
    Ok(content)
}

fn le_u16(buf: &[u8], at: usize) -> Option<u16> {
    buf.get(at..at.checked_add(2)?).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn le_u32(buf: &[u8], at: usize) -> Option<u32> {
    buf.get(at..at.checked_add(4)?).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(content: &[u8], method: Method) -> Vec<u8> {
        let mut zip = ZipStreamWriter::new(Vec::new(), chrono::NaiveDateTime::default());
        zip.start_entry("m.xml", method).expect("start");
        // Uneven writes, so block boundaries fall inside writes.
        for piece in content.chunks(7_001) {
            zip.write_all(piece).expect("write");
        }
        zip.finish_entry().expect("finish entry");
        let (bytes, size) = zip.finish().expect("finish");
        assert_eq!(size, bytes.len() as u64);
        let limits = ZipLimits { max_entries: 4, max_entry_bytes: 1 << 20 };
        read_single_xml_entry(&bytes, limits).expect("reads back")
    }

    #[test]
    fn entries_of_every_edge_size_read_back_with_every_method() {
        for size in [0usize, 1, 65_534, 65_535, 65_536, 131_071, 200_000] {
            let content: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            for method in [
                Method::Stored,
                Method::Deflated { level: 0 },
                Method::Deflated { level: 1 },
                Method::Deflated { level: 6 },
            ] {
                assert_eq!(round_trip(&content, method), content, "size {size}, {method:?}");
            }
        }
    }

    #[test]
    fn dos_time_is_clamped_to_the_dos_epoch() {
        let before =
            chrono::NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("date");
        assert_eq!(dos_date_time(before).1 >> 9, 0, "1970 is written as 1980");
        let t = chrono::NaiveDate::from_ymd_opt(2026, 2, 14)
            .and_then(|d| d.and_hms_opt(10, 30, 58))
            .expect("date");
        assert_eq!(dos_date_time(t), ((10 << 11) | (30 << 5) | 29, (46 << 9) | (2 << 5) | 14));
    }
}
