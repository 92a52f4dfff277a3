//! The XMP metadata packet and the Info-dictionary values that must agree with it, plus the date
//! formatting both need (done here rather than with a date crate: UTC seconds are all we format).

use super::{Conformance, DocumentInfo};

/// The producer recorded in `pdf:Producer` and `/Producer`.
pub(crate) const PRODUCER: &str = concat!("registratur-scan ", env!("CARGO_PKG_VERSION"));

/// A UTC calendar time, split from Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UtcTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl UtcTime {
    /// Splits Unix seconds into a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
    /// Years outside 0..=9999 are clamped, because neither PDF nor XMP dates can express them.
    pub(crate) fn from_unix(seconds: i64) -> UtcTime {
        const MIN: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
        const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        let seconds = seconds.clamp(MIN, MAX);
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        UtcTime {
            year,
            month: month as u32,
            day: day as u32,
            hour: (of_day / 3600) as u32,
            minute: (of_day % 3600 / 60) as u32,
            second: (of_day % 60) as u32,
        }
    }

    /// `2024-05-01T10:00:00+00:00`, the XMP form.
    pub(crate) fn xmp(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `D:20240501100000+00'00'`, the PDF form.
    pub(crate) fn pdf(self) -> String {
        format!(
            "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// `uuid:` + the 16 id bytes in the 8-4-4-4-12 form.
pub(crate) fn uuid_urn(id: &[u8; 16]) -> String {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!("uuid:{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The Info-dictionary entries for `info`, in the order they are written: key and text value. The
/// dates are in the PDF form. Both the writer and the normaliser write exactly these, so the Info
/// dictionary always agrees with the XMP packet.
pub(crate) fn info_entries(info: &DocumentInfo) -> Vec<(&'static str, String)> {
    let date = UtcTime::from_unix(info.created_unix_seconds).pdf();
    let mut entries = vec![("Title", info.title.clone())];
    if let Some(author) = &info.author {
        entries.push(("Author", author.clone()));
    }
    entries.extend([
        ("Creator", info.creator_tool.clone()),
        ("Producer", PRODUCER.to_string()),
        ("CreationDate", date.clone()),
        ("ModDate", date),
    ]);
    entries
}

/// A PDF text string's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PdfText {
    /// Printable ASCII, written as a literal string.
    Ascii(String),
    /// UTF-16BE with a byte order mark, for anything else.
    Utf16(Vec<u8>),
}

/// Encodes `text` as a PDF text string. Control characters other than tab and line breaks are
/// dropped, as the XMP side drops them.
pub(crate) fn pdf_text(text: &str) -> PdfText {
    let cleaned: String =
        text.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).collect();
    if cleaned.chars().all(|c| (' '..='~').contains(&c)) {
        PdfText::Ascii(cleaned)
    } else {
        let mut bytes = vec![0xFE, 0xFF];
        for unit in cleaned.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        PdfText::Utf16(bytes)
    }
}

/// Escapes text for XML character data and attribute values.
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The complete XMP packet (UTF-8, to be stored uncompressed). The xpacket header carries neither
/// `bytes` nor `encoding`, which PDF/A forbids.
pub(crate) fn packet(info: &DocumentInfo, conformance: Conformance) -> String {
    let date = UtcTime::from_unix(info.created_unix_seconds).xmp();
    let uuid = uuid_urn(&info.document_id);
    let creator = match &info.author {
        Some(author) => format!(
            "   <dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>\n",
            escape_xml(author)
        ),
        None => String::new(),
    };
    format!(
        "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
 <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
  <rdf:Description rdf:about=\"\"\n\
    xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\"\n\
    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n\
    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n\
    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n\
    xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\">\n\
   <pdfaid:part>2</pdfaid:part>\n\
   <pdfaid:conformance>{conformance}</pdfaid:conformance>\n\
   <dc:format>application/pdf</dc:format>\n\
   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
{creator}\
   <xmp:CreateDate>{date}</xmp:CreateDate>\n\
   <xmp:ModifyDate>{date}</xmp:ModifyDate>\n\
   <xmp:MetadataDate>{date}</xmp:MetadataDate>\n\
   <xmp:CreatorTool>{tool}</xmp:CreatorTool>\n\
   <pdf:Producer>{producer}</pdf:Producer>\n\
   <xmpMM:DocumentID>{uuid}</xmpMM:DocumentID>\n\
   <xmpMM:InstanceID>{uuid}</xmpMM:InstanceID>\n\
  </rdf:Description>\n\
 </rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"r\"?>",
        conformance = conformance.letter(),
        title = escape_xml(&info.title),
        tool = escape_xml(&info.creator_tool),
        producer = escape_xml(PRODUCER),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_format_as_utc_dates() {
        let time = UtcTime::from_unix(1_714_557_600); // 2024-05-01T10:00:00Z
        assert_eq!(time.xmp(), "2024-05-01T10:00:00+00:00");
        assert_eq!(time.pdf(), "D:20240501100000+00'00'");
        assert_eq!(UtcTime::from_unix(0).xmp(), "1970-01-01T00:00:00+00:00");
        assert_eq!(UtcTime::from_unix(951_782_400).xmp(), "2000-02-29T00:00:00+00:00");
        assert_eq!(UtcTime::from_unix(-1).xmp(), "1969-12-31T23:59:59+00:00");
        assert_eq!(UtcTime::from_unix(i64::MAX).xmp(), "9999-12-31T23:59:59+00:00");
    }

    #[test]
    fn packet_escapes_text_and_names_the_conformance() {
        let info = DocumentInfo {
            title: "Bescheid <Müller & Söhne>".into(),
            author: None,
            creator_tool: "test".into(),
            created_unix_seconds: 0,
            document_id: [0xAB; 16],
        };
        let xmp = packet(&info, Conformance::U);
        assert!(xmp.contains("Bescheid &lt;Müller &amp; Söhne&gt;"));
        assert!(xmp.contains("<pdfaid:conformance>U</pdfaid:conformance>"));
        assert!(xmp.contains("uuid:abababab-abab-abab-abab-abababababab"));
        assert!(!xmp.contains("dc:creator"));
    }
}
