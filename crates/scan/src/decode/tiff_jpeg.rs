//! JPEG-in-TIFF (Compression 7, TIFF Technote 2) strips joined into one baseline JPEG for the whole
//! page, losslessly, at the level of the entropy-coded data: no coefficient, let alone a pixel, is
//! decoded or re-encoded. This is what keeps a many-strip JPEG scan as compact in its PDF/A rendition
//! as in its source, where decoding and storing the pixels losslessly would quadruple it.
//!
//! Each strip is a complete JPEG stream (often abbreviated: its tables sit once in the JPEGTables tag)
//! holding a horizontal band of the page. ITU T.81 allows one frame to be cut into restart intervals:
//! at every restart marker RSTm the decoder discards the rest of the current byte (§F.1.2.3: the
//! encoder pads the entropy-coded segment with 1 bits to a byte boundary before any marker) and resets
//! the DC predictions to 0 (§F.2.1.3.1, §E.2.4), exactly what starting a new strip's stream does. So
//! when every strip has the same frame (components, sampling factors, quantisation and Huffman tables,
//! a single interleaved sequential scan) and every strip but the last holds a whole number of MCU rows,
//! the page is one frame of `height` rows whose restart interval is the strip's MCU count: SOI, the
//! tables, SOF with the page height, DRI, SOS, strip 0's entropy-coded segment, RST0, strip 1's, RST1,
//! … (the marker number cycles 0..7, §B.2.1), the last strip's, EOI. Strips that use restart intervals
//! of their own keep them when the interval divides the strip's MCU count; their markers are renumbered
//! to continue the page's cycle.
//!
//! The result is not trusted on these grounds alone: the TIFF decoder decodes the joined stream and
//! compares it with the strips decoded the usual way, and format migration's gate compares the PDF's
//! image with the source's pixels again. What cannot be joined (different tables per strip, strips that
//! end inside an MCU row, progressive or arithmetic coding, colour models other than grey and RGB) is
//! reported with the reason, and the page goes the usual way (decoded, stored losslessly).
//!
//! Structural damage (a strip that ends inside a marker segment or its image data, no start-of-image or
//! scan header) is an error of the page, not a reason to fall back: the pixel decoder would fill the
//! missing rows with grey and call it a page.

/// What a strip or the JPEGTables tag defines, as the decoder sees it when the scan starts: tables by
/// destination, the restart interval, the frame and the scan header. Later definitions replace earlier
/// ones (T.81 §B.2.4), so comparing this state, not the segments, is what "the same tables" means.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tables {
    /// DQT table definitions by destination (0..=3): precision/destination byte and the 64 entries.
    quantisation: [Option<Vec<u8>>; 4],
    /// DHT table definitions by class × 4 + destination: class/destination byte, 16 counts, values.
    huffman: [Option<Vec<u8>>; 8],
    /// The DRI value; 0 (no restart markers) when absent.
    restart_interval: u16,
}

/// A frame header (SOFn) without its height, which differs between strips.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Frame {
    marker: u8,
    precision: u8,
    height: u16,
    width: u16,
    /// Per component: identifier, sampling factors (H << 4 | V), quantisation table destination.
    components: Vec<[u8; 3]>,
}

/// One strip, parsed: the definitions in force at its scan, its frame, the scan header's payload and
/// the entropy-coded segment up to the end-of-image marker.
struct Strip<'a> {
    tables: Tables,
    frame: Frame,
    scan_header: &'a [u8],
    entropy: &'a [u8],
    /// Where the entropy-coded segment holds restart markers (offsets of their 0xFF byte).
    restarts: Vec<usize>,
}

/// A page's JPEG strips as the TIFF directory describes them.
pub(super) struct StripSet<'a> {
    /// The JPEGTables tag's stream (SOI, table segments, EOI), if present.
    pub tables: Option<&'a [u8]>,
    pub strips: Vec<&'a [u8]>,
    pub width: u32,
    pub height: u32,
    pub rows_per_strip: u32,
    /// SamplesPerPixel: 1 (grey) or 3 (RGB); others are not joined.
    pub components: u8,
}

/// A page's strips joined into one JPEG stream, or why they cannot be.
pub(super) enum Joined {
    Stream(Vec<u8>),
    /// The strips are intact but cannot be joined losslessly; the reason, for the logs.
    NotJoinable(String),
}

/// Joins `set`'s strips (see the module documentation). `Err` is structural damage, with a message
/// that names the strip (1-based); `Ok(Joined::NotJoinable)` a layout that has to be decoded instead.
pub(super) fn join(set: &StripSet<'_>) -> Result<Joined, String> {
    let mut defaults = Tables::default();
    if let Some(tables) = set.tables {
        read_tables_only(tables, &mut defaults).map_err(|problem| format!("the JPEGTables tag {problem}"))?;
    }
    let mut strips = Vec::with_capacity(set.strips.len());
    for (index, data) in set.strips.iter().enumerate() {
        let strip = parse_strip(data, defaults.clone())
            .map_err(|problem| format!("the JPEG data of strip {} {problem}", index + 1))?;
        match strip {
            Ok(strip) => strips.push(strip),
            Err(reason) => return Ok(Joined::NotJoinable(format!("strip {}: {reason}", index + 1))),
        }
    }
    Ok(match plan(set, &strips) {
        Ok(plan) => Joined::Stream(assemble(set, &strips, &plan)),
        Err(reason) => Joined::NotJoinable(reason),
    })
}

/// The parameters of the joined stream.
struct Plan {
    restart_interval: u16,
}

/// Decides whether the strips can be joined and with which restart interval.
fn plan(set: &StripSet<'_>, strips: &[Strip<'_>]) -> Result<Plan, String> {
    let first = strips.first().ok_or("the page has no strips")?;
    let frame = &first.frame;
    if !matches!(frame.marker, 0xC0 | 0xC1) || frame.precision != 8 {
        return Err(format!(
            "the strips are coded with SOF{} at {} bits, not baseline or extended sequential Huffman at 8 bits",
            frame.marker - 0xC0,
            frame.precision
        ));
    }
    if frame.components.len() != usize::from(set.components) || !matches!(set.components, 1 | 3) {
        return Err(format!(
            "the frame has {} components and the TIFF {} samples per pixel",
            frame.components.len(),
            set.components
        ));
    }
    if u32::from(frame.width) != set.width {
        return Err(format!("the frame is {} pixels wide, the page {}", frame.width, set.width));
    }
    // One scan with every component (interleaved unless there is one), all coefficients in one pass.
    let scan = first.scan_header;
    let scan_components = usize::from(scan[0]);
    let spectral = &scan[1 + 2 * scan_components..];
    if scan_components != frame.components.len() || spectral != [0, 63, 0] {
        return Err("the strips are not coded in one sequential scan of all components".into());
    }
    let rows = |index: usize| set.rows_per_strip.min(set.height - index as u32 * set.rows_per_strip);
    for (index, strip) in strips.iter().enumerate() {
        let expected = Frame { height: rows(index) as u16, ..frame.clone() };
        if strip.frame != expected || u32::from(strip.frame.height) != rows(index) {
            return Err(format!(
                "strip {} has a different frame header (size, components or sampling) than strip 1 \
                 or one that does not match its rows",
                index + 1
            ));
        }
        if strip.tables != first.tables {
            return Err(format!(
                "strip {} uses different quantisation or Huffman tables or restart interval than strip 1",
                index + 1
            ));
        }
        if strip.scan_header != first.scan_header {
            return Err(format!("strip {} has a different scan header than strip 1", index + 1));
        }
    }
    // Every table the frame and scan refer to must be defined (no decoder defaults).
    for component in &frame.components {
        if first.tables.quantisation.get(usize::from(component[2])).is_none_or(Option::is_none) {
            return Err(format!("quantisation table {} is not defined", component[2]));
        }
    }
    for selector in scan[1..1 + 2 * scan_components].chunks_exact(2).map(|pair| pair[1]) {
        let (dc, ac) = (usize::from(selector >> 4), usize::from(selector & 15));
        if first.tables.huffman.get(dc).is_none_or(Option::is_none)
            || first.tables.huffman.get(4 + ac).is_none_or(Option::is_none)
        {
            return Err("a Huffman table the scan uses is not defined".into());
        }
    }
    // The MCU (T.81 §A.2): one 8 × 8 block of a lone component (non-interleaved scan), else
    // 8·Hmax × 8·Vmax pixels.
    let (h_max, v_max) = if frame.components.len() == 1 {
        (1, 1)
    } else {
        frame.components.iter().fold((1u32, 1u32), |(h, v), component| {
            (h.max(u32::from(component[1] >> 4)), v.max(u32::from(component[1] & 15)))
        })
    };
    let (mcu_width, mcu_height) = (8 * h_max, 8 * v_max);
    let mcus_per_row = set.width.div_ceil(mcu_width);
    if strips.len() > 1 && !set.rows_per_strip.is_multiple_of(mcu_height) {
        return Err(format!(
            "the strips hold {} rows, not a whole number of {mcu_height}-row MCU rows",
            set.rows_per_strip
        ));
    }
    let mcus_per_strip = u64::from(mcus_per_row) * u64::from(set.rows_per_strip.div_ceil(mcu_height));
    let own_interval = first.tables.restart_interval;
    let restart_interval = if own_interval == 0 {
        if strips.iter().any(|strip| !strip.restarts.is_empty()) {
            return Err("a strip holds restart markers but defines no restart interval".into());
        }
        if strips.len() == 1 {
            0
        } else {
            u16::try_from(mcus_per_strip).map_err(|_| {
                format!("a strip holds {mcus_per_strip} MCUs, more than one restart interval can (65535)")
            })?
        }
    } else {
        if strips.len() > 1 && !mcus_per_strip.is_multiple_of(u64::from(own_interval)) {
            return Err(format!(
                "the strips' restart interval of {own_interval} MCUs does not divide their {mcus_per_strip} MCUs"
            ));
        }
        // Each strip must hold exactly the markers its MCUs call for, or renumbering would shift rows.
        for (index, strip) in strips.iter().enumerate() {
            let mcus = u64::from(mcus_per_row) * u64::from(rows(index).div_ceil(mcu_height));
            let expected = mcus.div_ceil(u64::from(own_interval)).saturating_sub(1);
            if strip.restarts.len() as u64 != expected {
                return Err(format!(
                    "strip {} holds {} restart markers, {expected} expected for its {mcus} MCUs",
                    index + 1,
                    strip.restarts.len()
                ));
            }
        }
        own_interval
    };
    if set.height > u32::from(u16::MAX) {
        return Err(format!("the page is {} rows high, more than a JPEG frame can hold", set.height));
    }
    Ok(Plan { restart_interval })
}

/// Writes the joined stream.
fn assemble(set: &StripSet<'_>, strips: &[Strip<'_>], plan: &Plan) -> Vec<u8> {
    let first = &strips[0];
    let entropy_bytes: usize = strips.iter().map(|strip| strip.entropy.len() + 2).sum();
    let mut out = Vec::with_capacity(entropy_bytes + 1024);
    out.extend_from_slice(&[0xFF, 0xD8]);
    if set.components == 3 {
        // TIFF Photometric RGB: the components are R, G and B themselves (TIFF Technote 2), which an
        // Adobe marker with transform 0 tells every decoder, PDF's DCTDecode included (without it,
        // three components mean YCbCr to most of them).
        segment(&mut out, 0xEE, &[b'A', b'd', b'o', b'b', b'e', 0, 100, 0, 0, 0, 0, 0]);
    }
    let frame = &first.frame;
    let mut quantisation: Vec<u8> = frame.components.iter().map(|component| component[2]).collect();
    quantisation.sort_unstable();
    quantisation.dedup();
    for destination in quantisation {
        if let Some(Some(table)) = first.tables.quantisation.get(usize::from(destination)) {
            segment(&mut out, 0xDB, table);
        }
    }
    let scan = first.scan_header;
    let selectors = &scan[1..1 + 2 * usize::from(scan[0])];
    let mut huffman: Vec<usize> = selectors
        .chunks_exact(2)
        .flat_map(|pair| [usize::from(pair[1] >> 4), 4 + usize::from(pair[1] & 15)])
        .collect();
    huffman.sort_unstable();
    huffman.dedup();
    for slot in huffman {
        if let Some(Some(table)) = first.tables.huffman.get(slot) {
            segment(&mut out, 0xC4, table);
        }
    }
    let mut sof = vec![frame.precision];
    sof.extend_from_slice(&(set.height as u16).to_be_bytes());
    sof.extend_from_slice(&frame.width.to_be_bytes());
    sof.push(frame.components.len() as u8);
    for component in &frame.components {
        sof.extend_from_slice(component);
    }
    segment(&mut out, frame.marker, &sof);
    if plan.restart_interval > 0 {
        segment(&mut out, 0xDD, &plan.restart_interval.to_be_bytes());
    }
    segment(&mut out, 0xDA, scan);
    let mut next_restart = 0u8;
    for (index, strip) in strips.iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(&[0xFF, 0xD0 + next_restart]);
            next_restart = (next_restart + 1) % 8;
        }
        let mut from = 0;
        for &at in &strip.restarts {
            out.extend_from_slice(&strip.entropy[from..at]);
            out.extend_from_slice(&[0xFF, 0xD0 + next_restart]);
            next_restart = (next_restart + 1) % 8;
            from = at + 2;
        }
        out.extend_from_slice(&strip.entropy[from..]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Reads a tables-only stream (the JPEGTables tag: SOI, DQT/DHT/DRI and other segments, EOI).
fn read_tables_only(data: &[u8], tables: &mut Tables) -> Result<(), String> {
    let mut reader = Segments::new(data)?;
    loop {
        match reader.next()? {
            Segment::End => return Ok(()),
            Segment::Marker(marker, payload) => {
                if define(tables, marker, payload)?.is_none() && is_frame(marker) {
                    return Err("holds a frame header; it should hold only tables".into());
                }
            }
            Segment::Scan(..) => return Err("holds image data; it should hold only tables".into()),
        }
    }
}

/// Parses one strip with `tables` in force from the JPEGTables tag. The outer `Err` is damage; the
/// inner one a layout this module does not join.
fn parse_strip(data: &[u8], mut tables: Tables) -> Result<Result<Strip<'_>, String>, String> {
    let mut reader = Segments::new(data)?;
    let mut frame = None;
    loop {
        match reader.next()? {
            Segment::End => return Err("ends before its image data".into()),
            Segment::Marker(marker, payload) => {
                if define(&mut tables, marker, payload)?.is_some() {
                    continue;
                }
                if is_frame(marker) {
                    if frame.is_some() {
                        return Err("has two frame headers".into());
                    }
                    frame = Some(parse_frame(marker, payload)?);
                } else if matches!(marker, 0xCC | 0xDC | 0xDE | 0xDF) {
                    return Ok(Err(format!(
                        "uses marker 0x{marker:02X} (arithmetic coding or hierarchical mode)"
                    )));
                }
            }
            Segment::Scan(header, entropy, restarts, after) => {
                let Some(frame) = frame else { return Err("has image data before its frame header".into()) };
                if after != 0xD9 {
                    return Ok(Err(format!(
                        "holds marker 0x{after:02X} after its first scan (several scans or a DNL marker)"
                    )));
                }
                return Ok(Ok(Strip { tables, frame, scan_header: header, entropy, restarts }));
            }
        }
    }
}

/// Applies a table or restart-interval definition; `Some(())` when `marker` was one.
fn define(tables: &mut Tables, marker: u8, payload: &[u8]) -> Result<Option<()>, String> {
    match marker {
        0xDB => {
            let mut rest = payload;
            while let Some(&precision_destination) = rest.first() {
                let length = 1 + 64 * (1 + usize::from(precision_destination >> 4));
                let destination = usize::from(precision_destination & 15);
                if precision_destination >> 4 > 1 || destination > 3 || rest.len() < length {
                    return Err("has a malformed quantisation table (DQT)".into());
                }
                tables.quantisation[destination] = Some(rest[..length].to_vec());
                rest = &rest[length..];
            }
            Ok(Some(()))
        }
        0xC4 => {
            let mut rest = payload;
            while let Some(&class_destination) = rest.first() {
                let counts = rest.get(1..17).ok_or("has a malformed Huffman table (DHT)")?;
                let length = 17 + counts.iter().map(|&count| usize::from(count)).sum::<usize>();
                let (class, destination) =
                    (usize::from(class_destination >> 4), usize::from(class_destination & 15));
                if class > 1 || destination > 3 || rest.len() < length {
                    return Err("has a malformed Huffman table (DHT)".into());
                }
                tables.huffman[class * 4 + destination] = Some(rest[..length].to_vec());
                rest = &rest[length..];
            }
            Ok(Some(()))
        }
        0xDD => {
            let [high, low] = payload else { return Err("has a malformed restart interval (DRI)".into()) };
            tables.restart_interval = u16::from_be_bytes([*high, *low]);
            Ok(Some(()))
        }
        _ => Ok(None),
    }
}

/// Start-of-frame markers: every SOFn, that is 0xC0..=0xCF except DHT (C4), JPG (C8) and DAC (CC).
fn is_frame(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

fn parse_frame(marker: u8, payload: &[u8]) -> Result<Frame, String> {
    let malformed = || "has a malformed frame header".to_string();
    let header = payload.get(..6).ok_or_else(malformed)?;
    let count = usize::from(header[5]);
    let components = payload.get(6..6 + 3 * count).ok_or_else(malformed)?;
    if count == 0 || payload.len() != 6 + 3 * count {
        return Err(malformed());
    }
    Ok(Frame {
        marker,
        precision: header[0],
        height: u16::from_be_bytes([header[1], header[2]]),
        width: u16::from_be_bytes([header[3], header[4]]),
        components: components.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
    })
}

/// What [`Segments::next`] found.
enum Segment<'a> {
    /// A marker segment: its marker and payload (after the length).
    Marker(u8, &'a [u8]),
    /// A scan: its header's payload, the entropy-coded segment, the offsets of the restart markers in
    /// it, and the marker that ended it.
    Scan(&'a [u8], &'a [u8], Vec<usize>, u8),
    /// The end-of-image marker.
    End,
}

/// A reader of a JPEG stream's marker segments that treats every overrun as damage.
struct Segments<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Segments<'a> {
    fn new(data: &'a [u8]) -> Result<Segments<'a>, String> {
        if !data.starts_with(&[0xFF, 0xD8]) {
            return Err("has no start-of-image marker".into());
        }
        Ok(Segments { data, at: 2 })
    }

    fn next(&mut self) -> Result<Segment<'a>, String> {
        let data = self.data;
        if self.at >= data.len() {
            return Err("ends before its end-of-image marker; it is truncated".into());
        }
        if data.get(self.at) != Some(&0xFF) {
            return Err(format!("has no marker where one must be (byte {})", self.at));
        }
        // Markers may be preceded by any number of 0xFF fill bytes (T.81 §B.1.1.2).
        while data.get(self.at + 1) == Some(&0xFF) {
            self.at += 1;
        }
        let marker = *data.get(self.at + 1).ok_or("ends before its end-of-image marker; it is truncated")?;
        self.at += 2;
        match marker {
            0xD9 => return Ok(Segment::End),
            0xD8 | 0xD0..=0xD7 | 0x01 => return Err(format!("has a stray marker 0x{marker:02X}")),
            _ => {}
        }
        let length = data
            .get(self.at..self.at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or("ends inside a marker segment; it is truncated")?;
        if length < 2 || self.at + length > data.len() {
            return Err("ends inside a marker segment; it is truncated".into());
        }
        let payload = &data[self.at + 2..self.at + length];
        self.at += length;
        if marker != 0xDA {
            return Ok(Segment::Marker(marker, payload));
        }
        let count = usize::from(*payload.first().ok_or("has an empty scan header")?);
        if count == 0 || payload.len() != 1 + 2 * count + 3 {
            return Err("has a malformed scan header".into());
        }
        // The entropy-coded segment: 0xFF is followed by 0x00 (a stuffed byte), a restart marker, fill
        // bytes, or the marker that ends it.
        let start = self.at;
        let mut restarts = Vec::new();
        loop {
            let offset = data[self.at..]
                .iter()
                .position(|&b| b == 0xFF)
                .ok_or("ends inside its image data; it is truncated")?;
            self.at += offset;
            match data.get(self.at + 1) {
                Some(0x00) => self.at += 2,
                Some(0xD0..=0xD7) => {
                    restarts.push(self.at - start);
                    self.at += 2;
                }
                Some(0xFF) => {
                    // Fill bytes before a marker: the segment ends at the first of them.
                    let end = self.at;
                    while data.get(self.at + 1) == Some(&0xFF) {
                        self.at += 1;
                    }
                    let after =
                        *data.get(self.at + 1).ok_or("ends inside its image data; it is truncated")?;
                    if matches!(after, 0x00 | 0xD0..=0xD7) {
                        return Err("has fill bytes inside its image data".into());
                    }
                    self.at += 2;
                    return Ok(Segment::Scan(payload, &data[start..end], restarts, after));
                }
                Some(&after) => {
                    let end = self.at;
                    self.at += 2;
                    return Ok(Segment::Scan(payload, &data[start..end], restarts, after));
                }
                None => return Err("ends inside its image data; it is truncated".into()),
            }
        }
    }
}
