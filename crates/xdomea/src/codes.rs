//! The xdomea code lists this crate writes and reads, with the `listURI`/`listVersionID` the 3.0.0 XSDs
//! fix for them (xdomea-Datentypen.xsd): Nachrichtentyp 2.0, Aussonderungsart 1.0, Dateiformat 1.0
//! (the genericode files are in `schema/3.0.0/schemes/`).

/// The 050x message types (code list `urn:xoev-de:xdomea:codeliste:nachrichtentyp`, version 2.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nachrichtentyp {
    /// 0501 `Aussonderung.Anbieteverzeichnis`: the offer.
    Anbieteverzeichnis0501,
    /// 0502 `Aussonderung.Bewertungsverzeichnis`: the archive's appraisal.
    Bewertungsverzeichnis0502,
    /// 0503 `Aussonderung.Aussonderung`: the handover.
    Aussonderung0503,
    /// 0504 `Aussonderung.AnbietungEmpfangBestaetigen`: receipt of the offer.
    AnbietungEmpfangBestaetigen0504,
    /// 0505 `Aussonderung.BewertungEmpfangBestaetigen`: receipt of the appraisal.
    BewertungEmpfangBestaetigen0505,
    /// 0506 `Aussonderung.AussonderungImportBestaetigen`: the archive's import confirmation.
    AussonderungImportBestaetigen0506,
    /// 0507 `Aussonderung.AussonderungEmpfangBestaetigen`: receipt of the handover.
    AussonderungEmpfangBestaetigen0507,
}

impl Nachrichtentyp {
    /// `listURI` of the code list.
    pub const LIST_URI: &'static str = "urn:xoev-de:xdomea:codeliste:nachrichtentyp";
    /// `listVersionID` of the code list (fixed by the 3.0.0 XSD).
    pub const LIST_VERSION: &'static str = "2.0";

    /// The four-digit code, e.g. "0503".
    pub fn code(self) -> &'static str {
        match self {
            Self::Anbieteverzeichnis0501 => "0501",
            Self::Bewertungsverzeichnis0502 => "0502",
            Self::Aussonderung0503 => "0503",
            Self::AnbietungEmpfangBestaetigen0504 => "0504",
            Self::BewertungEmpfangBestaetigen0505 => "0505",
            Self::AussonderungImportBestaetigen0506 => "0506",
            Self::AussonderungEmpfangBestaetigen0507 => "0507",
        }
    }

    /// The code list's name of the type, e.g. "Aussonderung.Aussonderung".
    pub fn name(self) -> &'static str {
        match self {
            Self::Anbieteverzeichnis0501 => "Aussonderung.Anbieteverzeichnis",
            Self::Bewertungsverzeichnis0502 => "Aussonderung.Bewertungsverzeichnis",
            Self::Aussonderung0503 => "Aussonderung.Aussonderung",
            Self::AnbietungEmpfangBestaetigen0504 => "Aussonderung.AnbietungEmpfangBestaetigen",
            Self::BewertungEmpfangBestaetigen0505 => "Aussonderung.BewertungEmpfangBestaetigen",
            Self::AussonderungImportBestaetigen0506 => "Aussonderung.AussonderungImportBestaetigen",
            Self::AussonderungEmpfangBestaetigen0507 => "Aussonderung.AussonderungEmpfangBestaetigen",
        }
    }

    /// The message's root element (local name), e.g. "Aussonderung.Aussonderung.0503".
    pub fn root_element(self) -> String {
        format!("{}.{}", self.name(), self.code())
    }

    /// The type for a code, if it is one of the 050x codes above.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Anbieteverzeichnis0501,
            Self::Bewertungsverzeichnis0502,
            Self::Aussonderung0503,
            Self::AnbietungEmpfangBestaetigen0504,
            Self::BewertungEmpfangBestaetigen0505,
            Self::AussonderungImportBestaetigen0506,
            Self::AussonderungEmpfangBestaetigen0507,
        ]
        .into_iter()
        .find(|t| t.code() == code)
    }
}

/// Aussonderungsart (code list `urn:xoev-de:xdomea:codeliste:aussonderungsart`, version 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aussonderungsart {
    /// A: archivwürdig.
    Archivieren,
    /// B: zum Bewerten markiert (the archive decides).
    Bewerten,
    /// V: zum Vernichten markiert.
    Vernichten,
}

impl Aussonderungsart {
    /// `listURI` of the code list.
    pub const LIST_URI: &'static str = "urn:xoev-de:xdomea:codeliste:aussonderungsart";
    /// `listVersionID` of the code list (fixed by the 3.0.0 XSD).
    pub const LIST_VERSION: &'static str = "1.0";

    /// The one-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Archivieren => "A",
            Self::Bewerten => "B",
            Self::Vernichten => "V",
        }
    }

    /// The code list's description.
    pub fn name(self) -> &'static str {
        match self {
            Self::Archivieren => "Das Schriftgutobjekt ist archivwürdig.",
            Self::Bewerten => "Das Schriftgutobjekt ist zum Bewerten markiert.",
            Self::Vernichten => "Das Schriftgutobjekt ist zum Vernichten markiert.",
        }
    }

    /// The value for a code ("A", "B", "V").
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "A" => Some(Self::Archivieren),
            "B" => Some(Self::Bewerten),
            "V" => Some(Self::Vernichten),
            _ => None,
        }
    }
}

/// A Dateiformat code (code list `urn:xoev-de:xdomea:codeliste:dateiformat`, version 1.0,
/// `schema/3.0.0/schemes/Dateiformat_1.0.xml`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dateiformat {
    code: &'static str,
    /// For code 100 (Sonstiges): the `SonstigerName`, e.g. the MIME type.
    sonstiger_name: Option<String>,
}

/// The Dateiformat 1.0 code list: code, the file extension it names, description.
const DATEIFORMAT_1_0: &[(&str, &str, &str)] = &[
    ("001", "bmp", "Windows Bitmap"),
    ("002", "csv", "Comma Separated Values"),
    ("003", "doc", "Microsoft Word for Windows Document"),
    ("004", "doc", "Microsoft Word for MS-DOS Document"),
    ("005", "doc", "Microsoft Word for Macintosh Document"),
    ("006", "eml", "Outlook Express Electronic Mail"),
    ("007", "htm", "Hypertext Markup Language"),
    ("008", "html", "Hypertext Markup Language"),
    ("009", "jpe", "JPEG File Interchange Format"),
    ("010", "jpeg", "JPEG File Interchange Format"),
    ("011", "jpg", "JPEG File Interchange Format"),
    ("012", "msg", "Microsoft Outlook Email Message"),
    ("013", "odp", "OpenDocument Presentation Format"),
    ("014", "ods", "OpenDocument Spreadsheet Format"),
    ("015", "odt", "OpenDocument Text Format"),
    ("016", "otp", "OpenDocument Presentation Format Template"),
    ("017", "ots", "OpenDocument Spreadsheet Format Template"),
    ("018", "pdf", "Portable Document Format"),
    ("019", "png", "Portable Network Graphics"),
    ("020", "ppt", "Microsoft PowerPoint"),
    ("021", "ps", "PostScript"),
    ("022", "rtf", "Rich Text Format"),
    ("023", "tif", "Tagged Image File Format"),
    ("024", "tiff", "Tagged Image File Format"),
    ("025", "wps", "Microsoft Works for Windows"),
    ("026", "xlc", "Microsoft Excel Chart"),
    ("027", "xlm", "Microsoft Excel Macro"),
    ("028", "xls", "Binary Interchange File Format (BIFF) Worksheet"),
    ("029", "xlw", "Binary Interchange File Format (BIFF) Workbook"),
    ("030", "xml", "eXtensible Markup Language"),
    ("031", "xsd", "XML Schema Definition"),
    ("032", "dot", "Microsoft Word Template"),
    ("033", "pot", "Microsoft Powerpoint Design Template"),
    ("034", "xlt", "Mircosoft Excel Template"),
    ("035", "docx", "Office Open XML Text"),
    ("036", "xlsx", "Office Open XML Spreadsheet"),
    ("037", "pptx", "Office Open XML Presentation"),
    ("038", "dotx", "Office Open XML Text Template"),
    ("039", "xltx", "Office Open XML Spreadsheet Template"),
    ("040", "potx", "Office Open XML Presentation Template"),
    ("041", "dtd", "Document Type Definition"),
    ("042", "mpp", "Microsoft Project"),
    ("043", "ott", "OpenDocument Text Format Template"),
    ("044", "pdf", "Portable Document Format (Archival)"),
    ("045", "txt", "Unicode Text File"),
];

/// MIME types to the extension whose code names them.
const MIME_TO_EXTENSION: &[(&str, &str)] = &[
    ("application/pdf", "pdf"),
    ("image/tiff", "tif"),
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/bmp", "bmp"),
    ("text/plain", "txt"),
    ("text/csv", "csv"),
    ("text/html", "html"),
    ("application/xml", "xml"),
    ("text/xml", "xml"),
    ("message/rfc822", "eml"),
    ("application/vnd.ms-outlook", "msg"),
    ("application/rtf", "rtf"),
    ("application/postscript", "ps"),
    ("application/msword", "doc"),
    ("application/vnd.ms-excel", "xls"),
    ("application/vnd.ms-powerpoint", "ppt"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    ("application/vnd.oasis.opendocument.text", "odt"),
    ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
    ("application/vnd.oasis.opendocument.presentation", "odp"),
];

impl Dateiformat {
    /// `listURI` of the code list.
    pub const LIST_URI: &'static str = "urn:xoev-de:xdomea:codeliste:dateiformat";
    /// `listVersionID` of the code list this crate ships (`Dateiformat_1.0.xml`).
    pub const LIST_VERSION: &'static str = "1.0";
    /// 044: PDF/A, the archival rendition.
    pub const PDF_A: Dateiformat = Dateiformat { code: "044", sonstiger_name: None };
    /// 018: PDF that is not (known to be) PDF/A.
    pub const PDF: Dateiformat = Dateiformat { code: "018", sonstiger_name: None };
    /// 024: TIFF.
    pub const TIFF: Dateiformat = Dateiformat { code: "024", sonstiger_name: None };
    /// 019: PNG.
    pub const PNG: Dateiformat = Dateiformat { code: "019", sonstiger_name: None };
    /// 011: JPEG.
    pub const JPEG: Dateiformat = Dateiformat { code: "011", sonstiger_name: None };
    /// 030: XML.
    pub const XML: Dateiformat = Dateiformat { code: "030", sonstiger_name: None };
    /// 045: plain (Unicode) text.
    pub const TXT: Dateiformat = Dateiformat { code: "045", sonstiger_name: None };

    /// The code for a file: by MIME type first, then by the file name's extension; PDF/A when the caller
    /// knows the file is PDF/A (a MIME type cannot say so); 100 (Sonstiges, with the MIME type or the
    /// extension as `SonstigerName`) when the code list has no entry.
    pub fn detect(mime: Option<&str>, file_name: &str, is_pdf_a: bool) -> Dateiformat {
        let mime = mime.map(|m| m.split(';').next().unwrap_or(m).trim().to_ascii_lowercase());
        let from_mime = mime
            .as_deref()
            .and_then(|m| MIME_TO_EXTENSION.iter().find(|(known, _)| *known == m).map(|(_, ext)| *ext));
        let extension = file_name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .filter(|ext| !ext.is_empty() && ext.len() <= 8);
        let extension = from_mime.map(str::to_owned).or(extension);
        if let Some(ext) = extension.as_deref() {
            if ext == "pdf" && is_pdf_a {
                return Self::PDF_A;
            }
            if let Some((code, _, _)) = DATEIFORMAT_1_0.iter().find(|(_, known, _)| *known == ext) {
                return Dateiformat { code, sonstiger_name: None };
            }
        }
        Dateiformat {
            code: "100",
            sonstiger_name: Some(mime.or(extension).unwrap_or_else(|| "unbekannt".to_owned())),
        }
    }

    /// The value for a code of the list; `None` for an unknown code. Code 100 needs a `SonstigerName`.
    pub fn from_code(code: &str, sonstiger_name: Option<String>) -> Option<Dateiformat> {
        if code == "100" {
            return Some(Dateiformat {
                code: "100",
                sonstiger_name: Some(sonstiger_name.unwrap_or_else(|| "unbekannt".to_owned())),
            });
        }
        DATEIFORMAT_1_0
            .iter()
            .find(|(known, _, _)| *known == code)
            .map(|(code, _, _)| Dateiformat { code, sonstiger_name: None })
    }

    /// The three-digit code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// `SonstigerName`, for code 100.
    pub fn sonstiger_name(&self) -> Option<&str> {
        self.sonstiger_name.as_deref()
    }

    /// The file extension the code names ("pdf" for PDF/A too); `None` for Sonstiges.
    pub fn extension(&self) -> Option<&'static str> {
        DATEIFORMAT_1_0.iter().find(|(code, _, _)| *code == self.code).map(|(_, ext, _)| *ext)
    }
}
