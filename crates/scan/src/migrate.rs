//! Format migration (EGovG NRW §11): one source file in, a PDF/A rendition out, and the proof that
//! nothing was lost. The service decides what to migrate (policy), records events and stores the new
//! version; this module converts and validates, as a pure function of the bytes.
//!
//! Images (TIFF, JPEG, PNG, GIF, BMP) become PDF/A-2b through [`crate::pdfa::write_pdfa`] without a
//! text layer: JPEG, single-strip CCITT G4 and single-strip 8-bit deflate TIFF streams go in
//! unchanged, the JPEG strips of a grey or RGB JPEG-in-TIFF page joined into one JPEG without
//! re-encoding (where their tables agree and they hold whole MCU rows), everything else as lossless
//! Flate. PDFs that are not PDF/A are normalised by [`crate::pdfa::normalize_to_pdfa2b`]: their content
//! stays byte for byte, what PDF/A forbids and can be fixed safely is fixed (each fix is listed in
//! [`Migrated::changes`]), and what cannot (encryption, fonts that are not embedded, JavaScript,
//! signatures, …) is refused as [`MigrateError::Encrypted`] or [`MigrateError::NeedsHuman`] with the
//! reason. Animated GIFs need a human too: an animation is not a stack of pages, and silently keeping
//! only its first frame would lose content.
//!
//! # The validation gate
//!
//! [`migrate`] validates every output before it returns it ([`validate`]): the output must have as many
//! pages as the source; each output page is read back from the output PDF by the same decoder that
//! reads scans and compared with the decoded source page; and the PDF/A-2 structural checker
//! ([`crate::pdfa::check`]) must find no violation. A page whose source is a JPEG passes when the output
//! holds the identical JPEG stream (`jpeg-stream-identical`), a CCITT G4 page when it holds the identical
//! G4 stream with the same size and polarity (`ccitt-stream-identical`; equal streams under equal
//! parameters are equal pixels, and the source was decoded once in full, row by row without keeping
//! the pixels, which proves it readable), a
//! single-strip 8-bit deflate TIFF page when it holds the source's zlib stream byte for byte as an
//! 8-bit grey or RGB image of the same size with the same predictor (`flate-stream-identical`; the
//! source's stream was inflated once, into a buffer of exactly the page's size, and had to end,
//! checksum included, exactly at its last sample); a JPEG-in-TIFF page whose strips were joined into
//! one JPEG when the output holds a JPEG image that decodes to exactly the pixels of the strips as the
//! TIFF decoder decodes them (`jpeg-strips-joined-pixel-identical`); every other
//! page must be pixel-identical (`pixel-identical`, maximum channel difference 0): the output page is
//! inflated by the PDF reader and compared sample by sample with the decoded source page.
//!
//! A JPEG source (grey or colour) is not decoded: its bytes go into the PDF unchanged and the gate
//! compares those bytes, so decoding would prove nothing about the output. Its structure is checked
//! instead (markers, frame header, scan data up to EOI), which is what finds truncated and damaged
//! files; that keeps JPEG migration at the cost of copying bytes.
//!
//! Tolerance model: no page is allowed any difference. The reference is the source's samples as
//! stored. Where decoding normalises them for the raster that OCR and analysis look at (16-bit samples
//! keep their high byte, transparency is composited over white), the decoder also keeps the exact
//! samples ([`EmbeddedImage::Samples`]); the writer puts those into the PDF (16 bits per component, an
//! alpha channel as a soft mask, both allowed in PDF/A-2), and the gate compares them sample by sample
//! at full depth, alpha included (`samples-identical`). Palettes are expanded to the colours they name
//! and 1/2/4-bit grey is scaled to 8 bits; both are exact, so those pages are `pixel-identical`. What
//! PDF/A-2b with its sRGB output intent cannot hold unchanged is refused as
//! [`MigrateError::NeedsHuman`] with the reason, by [`preflight`] too, instead of converted under a
//! claim of identity: CMYK (JPEG or TIFF; converting without the source's colour profile changes
//! colours) and extra channels that are not alpha.

use crate::decode::{self, DecodeError, Limits, OpenedFile};
use crate::identify::{Family, Format};
use crate::page::{Dpi, EmbeddedImage, JpegOrigin, Page, QuarterTurns, Raster};
use crate::pdfa::{self, CheckReport, DocumentInfo, PdfaError, RenditionPage};

/// The migration tool, as recorded in the journal's migration and validation events.
pub const MIGRATE_TOOL: &str = "registratur-migrate";

/// The tool's version: the crate version plus the version of the conversion rules (bump it when the
/// writer's output or the validation rules change, so re-runs can tell old outputs from new ones).
pub const MIGRATE_TOOL_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+rules.4");

/// The resolution assumed for source pages that declare none (GIF never does; many BMPs and PNGs do
/// not). 300 dpi is what the mailroom scans at, so such pages keep a plausible paper size.
pub const DEFAULT_DPI: Dpi = Dpi::uniform(300.0);

/// What a source is migrated to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// PDF/A-2b (ISO 19005-2, level B), the Bundesarchiv's recommendation for image-only documents.
    PdfA2b,
}

impl Target {
    /// The format the output is identified as.
    pub fn format(self) -> Format {
        match self {
            Target::PdfA2b => Format::PDFA_2B,
        }
    }

    /// The name used in policy files and event parameters.
    pub fn name(self) -> &'static str {
        match self {
            Target::PdfA2b => "pdfa-2b",
        }
    }
}

/// A validated output.
#[derive(Clone, Debug)]
pub struct Migrated {
    /// The PDF/A document.
    pub pdf: Vec<u8>,
    /// Its page count (equal to the source's).
    pub pages: u32,
    /// The validation it passed, for the journal's validation event.
    pub validation: Validation,
    /// What was changed on the way besides the container (a normalised PDF's fixes), for the journal.
    pub changes: Vec<String>,
}

/// How one output page was compared with its source page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckMethod {
    /// The output embeds the source's JPEG stream byte for byte.
    JpegStreamIdentical,
    /// The output embeds the source's CCITT G4 stream byte for byte, with the same size and polarity,
    /// so it shows exactly the source's pixels (which decoding the source already proved readable).
    CcittStreamIdentical,
    /// The output embeds the source's zlib stream (a single-strip 8-bit deflate TIFF page) byte for
    /// byte, as an 8-bit `DeviceGray` or `DeviceRGB` image of the same size with the same predictor, so
    /// it inflates to exactly the source's samples (which decoding the source proved complete).
    FlateStreamIdentical,
    /// The source's exact samples (16 bits, or with alpha), which decoding had to normalise for the
    /// raster, equal the output image's samples and its soft mask's, as the PDF reader inflates them.
    SamplesIdentical,
    /// The output page decodes to exactly the source page's pixels.
    PixelIdentical,
    /// The output holds one JPEG stream joined losslessly from the source's JPEG strips (a JPEG-in-TIFF
    /// page), and it decodes to exactly the source page's pixels as the strips decode.
    JoinedJpegPixelIdentical,
    /// A normalised PDF's page, rendered by poppler at [`PDF_COMPARE_DPI`], equals the source page
    /// rendered the same way, pixel for pixel.
    RenderedIdentical,
}

/// The resolution at which a normalised PDF and its source are rendered for the pixel comparison.
pub const PDF_COMPARE_DPI: u32 = 96;

impl CheckMethod {
    /// The name recorded in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckMethod::JpegStreamIdentical => "jpeg-stream-identical",
            CheckMethod::CcittStreamIdentical => "ccitt-stream-identical",
            CheckMethod::FlateStreamIdentical => "flate-stream-identical",
            CheckMethod::SamplesIdentical => "samples-identical",
            CheckMethod::PixelIdentical => "pixel-identical",
            CheckMethod::JoinedJpegPixelIdentical => "jpeg-strips-joined-pixel-identical",
            CheckMethod::RenderedIdentical => "rendered-pixel-identical",
        }
    }
}

/// The comparison of one page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageCheck {
    /// 0-based page index.
    pub page: u32,
    pub method: CheckMethod,
    /// The largest difference of any sample between source and output (0..=255); 0 for identical
    /// JPEG streams. 255 when the pages cannot be compared at all (different sizes, unreadable).
    pub max_channel_difference: u8,
    /// Why the page failed, when it did.
    pub problem: Option<String>,
}

impl PageCheck {
    pub fn passed(&self) -> bool {
        self.problem.is_none()
    }
}

/// The result of the validation gate: page counts, one check per page, the PDF/A structural report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validation {
    pub source_pages: u32,
    pub output_pages: u32,
    pub pages: Vec<PageCheck>,
    pub pdfa: CheckReport,
    /// Why the output PDF could not be read back, if it could not.
    pub unreadable: Option<String>,
}

impl Validation {
    /// Whether the output counts: equal page counts, every page check passed, no PDF/A violation.
    pub fn passed(&self) -> bool {
        self.unreadable.is_none()
            && self.source_pages == self.output_pages
            && self.pages.len() == self.source_pages as usize
            && self.pages.iter().all(PageCheck::passed)
            && self.pdfa.is_valid()
    }

    /// Human-readable reasons for a failure, one per problem; empty when [`Validation::passed`].
    pub fn findings(&self) -> Vec<String> {
        let mut findings = Vec::new();
        if let Some(reason) = &self.unreadable {
            findings.push(format!("the output cannot be read back: {reason}"));
        }
        if self.source_pages != self.output_pages {
            findings.push(format!(
                "the source has {} pages but the output has {}",
                self.source_pages, self.output_pages
            ));
        }
        for check in &self.pages {
            if let Some(problem) = &check.problem {
                findings.push(format!("page {} ({}): {problem}", check.page + 1, check.method.as_str()));
            }
        }
        for violation in &self.pdfa.violations {
            findings.push(format!("PDF/A rule {}: {}", violation.rule, violation.message));
        }
        findings
    }
}

/// Why a source could not be migrated. The service reports these per document and goes on.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The source cannot be decoded (damaged, truncated, over the limits).
    #[error("the source cannot be decoded: {0}")]
    Corrupt(#[from] DecodeError),
    /// No migration path exists from this format to the target.
    #[error("there is no migration from {puid} to PDF/A-2b; keep the original or convert it by hand")]
    Unsupported { puid: String },
    /// The file's content is not the format it was identified as (the identification is stale or wrong).
    #[error("the source was identified as {claimed} but its content is {found}; identify it again")]
    FormatMismatch { claimed: String, found: String },
    #[error("the PDF is encrypted; PDF/A forbids encryption, so obtain an unprotected original")]
    Encrypted,
    /// Automatic migration would lose or invent content; a person must decide.
    #[error("the source needs a human: {reason}")]
    NeedsHuman { reason: String },
    /// The output was written but failed the validation gate; it must be discarded. Boxed because a
    /// validation report is large and the other variants are small.
    #[error("the output failed validation ({}); the source stays current", .0.findings().join("; "))]
    ValidationFailed(Box<Validation>),
}

/// The parameters the journal records for a migration to `target`: everything that decides the output.
pub fn parameters(target: Target) -> String {
    match target {
        Target::PdfA2b => format!(
            "target={}; writer=registratur-scan pdfa {}; text-layer=none; jpeg=embedded unchanged (DCTDecode); \
             ccitt-g4=embedded unchanged (CCITTFaxDecode); single-strip 8-bit deflate tiff=embedded unchanged \
             (FlateDecode, TIFF predictor as /Predictor 2); jpeg-in-tiff strips of equal tables and whole MCU rows=joined \
             into one JPEG with restart markers, entropy-coded data unchanged (DCTDecode); other images=lossless Flate (libdeflate level 1, bilevel level 9); \
             output-intent=sRGB IEC61966-2.1; default-dpi={}; gif=first frame only when single-frame; \
             validation=page count, per page jpeg-stream-identical, ccitt-stream-identical, flate-stream-identical, \
             jpeg-strips-joined-pixel-identical or pixel-identical (tolerance 0), pdfa-2 structural check",
            target.name(),
            env!("CARGO_PKG_VERSION"),
            DEFAULT_DPI.x,
        ),
    }
}

/// Converts `bytes`, identified as `format`, to `target`, and validates the output. Returns the output
/// only when it passed the gate; see the module documentation.
pub fn migrate(
    bytes: &[u8],
    format: Format,
    target: Target,
    limits: &Limits,
    info: &DocumentInfo,
) -> Result<Migrated, MigrateError> {
    if format.family() == Family::Pdf {
        return migrate_pdf(bytes, info);
    }
    let pages = source_pages(bytes, format, target, limits)?;
    let rendition: Vec<RenditionPage<'_>> =
        pages.iter().map(|page| RenditionPage { page, turns: QuarterTurns::NONE, words: &[] }).collect();
    let pdf = pdfa::write_pdfa(&rendition, info).map_err(|error| match error {
        // The writer refuses only what decoding let through (an absurd resolution or page size);
        // that is the source's problem, not a bug to hide.
        PdfaError::InvalidDpi { .. } | PdfaError::PageSize { .. } => {
            MigrateError::Corrupt(DecodeError::Corrupt(error.to_string()))
        }
        other => MigrateError::NeedsHuman { reason: other.to_string() },
    })?;
    let validation = validate(&pages, &pdf, limits);
    if !validation.passed() {
        return Err(MigrateError::ValidationFailed(Box::new(validation)));
    }
    Ok(Migrated { pages: pages.len() as u32, pdf, validation, changes: Vec::new() })
}

/// A PDF that is not PDF/A: normalised, then checked by the PDF/A rules and by rendering every page
/// of output and source at [`PDF_COMPARE_DPI`] with tolerance 0 (the content streams are unchanged, so
/// any difference is a loss).
fn migrate_pdf(bytes: &[u8], info: &DocumentInfo) -> Result<Migrated, MigrateError> {
    let normalized = normalize(bytes, info)?;
    let mut validation = Validation {
        source_pages: normalized.pages,
        output_pages: 0,
        pages: Vec::new(),
        pdfa: pdfa::check(&normalized.pdf),
        unreadable: None,
    };
    match pdfa::compare_rendered(&pdfa::comparison_reference(bytes), &normalized.pdf, PDF_COMPARE_DPI, 0) {
        Ok(comparison) => {
            validation.output_pages = comparison.pages.len() as u32;
            validation.pages = comparison
                .pages
                .iter()
                .map(|page| PageCheck {
                    // The comparison counts pages from 1, page checks from 0.
                    page: page.page.saturating_sub(1),
                    method: CheckMethod::RenderedIdentical,
                    max_channel_difference: page.max_difference,
                    problem: (page.max_difference > 0).then(|| {
                        format!(
                            "{} pixels differ, by up to {} levels, at {} dpi",
                            page.differing_pixels, page.max_difference, comparison.dpi
                        )
                    }),
                })
                .collect();
        }
        Err(pdfa::CompareError::PageCount { source_pages, output_pages }) => {
            validation.source_pages = source_pages;
            validation.output_pages = output_pages;
        }
        Err(error) => validation.unreadable = Some(error.to_string()),
    }
    if !validation.passed() {
        return Err(MigrateError::ValidationFailed(Box::new(validation)));
    }
    Ok(Migrated { pages: normalized.pages, pdf: normalized.pdf, validation, changes: normalized.changes })
}

fn normalize(bytes: &[u8], info: &DocumentInfo) -> Result<pdfa::Normalized, MigrateError> {
    pdfa::normalize_to_pdfa2b(bytes, info).map_err(|error| match error {
        pdfa::NormalizeError::Encrypted => MigrateError::Encrypted,
        pdfa::NormalizeError::Corrupt(reason) => MigrateError::Corrupt(DecodeError::Corrupt(reason)),
        pdfa::NormalizeError::NeedsHuman { reason } => MigrateError::NeedsHuman { reason },
    })
}

/// A dry run of [`migrate`]: the checks it would make of the source and the decoding of every page,
/// without writing or validating an output. Returns the page count, or the error `migrate` would meet
/// before writing (a damaged page, encryption, a format without a migration, an animation).
pub fn preflight(bytes: &[u8], format: Format, target: Target, limits: &Limits) -> Result<u32, MigrateError> {
    if format.family() == Family::Pdf {
        // Normalising is cheap next to rendering every page twice, and it is the real test.
        let info = DocumentInfo {
            title: String::new(),
            author: None,
            creator_tool: MIGRATE_TOOL.into(),
            created_unix_seconds: 0,
            document_id: [0; 16],
        };
        return Ok(normalize(bytes, &info)?.pages);
    }
    Ok(source_pages(bytes, format, target, limits)?.len() as u32)
}

/// The source's pages as the output will hold them, refusing what has no migration path.
fn source_pages(
    bytes: &[u8],
    format: Format,
    target: Target,
    limits: &Limits,
) -> Result<Vec<Page>, MigrateError> {
    let Target::PdfA2b = target;
    let expected_input = match format.family() {
        Family::Tiff => decode::InputFormat::Tiff,
        Family::Jpeg => decode::InputFormat::Jpeg,
        Family::Png => decode::InputFormat::Png,
        Family::Gif => {
            let frames = decode::gif_frames(bytes)?;
            if frames > 1 {
                return Err(MigrateError::NeedsHuman {
                    reason: format!(
                        "the GIF is an animation of {frames} frames; PDF/A pages cannot show it, so decide \
                         whether its first frame suffices or keep the original"
                    ),
                });
            }
            decode::InputFormat::Gif
        }
        Family::Bmp => decode::InputFormat::Bmp,
        // PDF sources are normalised (see `migrate_pdf`), never decoded into pages.
        Family::Pdf | Family::PdfA | Family::Text | Family::Unknown => {
            return Err(MigrateError::Unsupported { puid: puid_or_unknown(format) });
        }
    };
    if decode::sniff(bytes).ok() != Some(expected_input) {
        return Err(MigrateError::FormatMismatch {
            claimed: format.to_string(),
            found: crate::identify::identify(bytes).to_string(),
        });
    }
    let pages = if expected_input == decode::InputFormat::Jpeg {
        // The stream goes into the PDF unchanged and the gate compares its bytes, so decoding the
        // pixels would prove nothing about the output; the structure is checked instead.
        vec![decode::jpeg_page_for_embedding(bytes, limits, DEFAULT_DPI)?]
    } else {
        let opened = decode::open(bytes, limits, DEFAULT_DPI)?;
        // Pages whose stream goes in unchanged (single-strip deflate TIFF) are checked, not decoded,
        // for the same reason as JPEG files.
        (0..opened.page_count())
            .map(|index| opened.page_for_embedding(index))
            .collect::<Result<Vec<Page>, _>>()?
    };
    for (index, page) in pages.iter().enumerate() {
        if let Some(reason) = not_representable(page) {
            return Err(MigrateError::NeedsHuman { reason: format!("page {}: {reason}", index + 1) });
        }
    }
    Ok(pages)
}

/// Why a page's pixels cannot go into a PDF/A-2b page unchanged, if they cannot: the raster would be
/// a conversion (colours computed without the source's colour profile, channels dropped), and the
/// migration would claim an identity it does not have. A person decides whether the conversion is
/// acceptable or the original is kept.
fn not_representable(page: &Page) -> Option<String> {
    match &page.embedded {
        Some(EmbeddedImage::Jpeg { components: 4, .. })
        | Some(EmbeddedImage::Samples { components: 4, .. }) => Some(
            "the image is CMYK; a PDF/A-2b page with the sRGB output intent cannot hold CMYK samples, and \
             converting them to RGB without the source's colour profile changes the colours (no tolerance \
             is defined for that): decide whether an RGB conversion is acceptable or keep the original"
                .into(),
        ),
        Some(EmbeddedImage::Samples { components, alpha, .. }) if !matches!(components, 1 | 3) => {
            Some(format!(
                "the image has {} samples per pixel ({components} colour or extra channels{}); PDF/A-2b pages \
                 hold grey or RGB with at most an alpha channel, so channels would be dropped: decide \
                 whether they matter or keep the original",
                usize::from(*components) + usize::from(alpha.is_some()),
                if alpha.is_some() { " and alpha" } else { "" },
            ))
        }
        _ => None,
    }
}

/// The validation gate on its own: compares `pdf` with the decoded `source` pages and checks its PDF/A
/// structure. [`migrate`] calls it on every output; it is public so that stored outputs can be
/// re-validated and so that the gate itself can be tested against tampered files.
pub fn validate(source: &[Page], pdf: &[u8], limits: &Limits) -> Validation {
    let pdfa = pdfa::check(pdf);
    let source_pages = source.len() as u32;
    let mut validation =
        Validation { source_pages, output_pages: 0, pages: Vec::new(), pdfa, unreadable: None };
    let output = match decode::open(pdf, limits, DEFAULT_DPI) {
        Ok(output) if output.format == decode::InputFormat::Pdf => output,
        Ok(_) => {
            validation.unreadable = Some("the output is not a PDF".into());
            return validation;
        }
        Err(error) => {
            validation.unreadable = Some(error.to_string());
            return validation;
        }
    };
    validation.output_pages = output.page_count();
    for (index, page) in source.iter().enumerate().take(validation.output_pages as usize) {
        validation.pages.push(check_page(&output, index as u32, page));
    }
    validation
}

/// Compares output page `index` with its source page.
fn check_page(output: &OpenedFile<'_>, index: u32, source: &Page) -> PageCheck {
    let failed = |method: CheckMethod, problem: String| PageCheck {
        page: index,
        method,
        max_channel_difference: u8::MAX,
        problem: Some(problem),
    };
    if let Some(EmbeddedImage::Jpeg { bytes, components: 1 | 3, origin: JpegOrigin::Source, .. }) =
        &source.embedded
    {
        let method = CheckMethod::JpegStreamIdentical;
        return match output.page_jpeg_stream(index) {
            Some(stream) if stream == bytes.as_slice() => {
                PageCheck { page: index, method, max_channel_difference: 0, problem: None }
            }
            Some(_) => failed(method, "the output's JPEG stream differs from the source's".into()),
            None => failed(method, "the output page does not hold one full-page JPEG image".into()),
        };
    }
    if let Some(EmbeddedImage::CcittG4 { bytes, width, height, black_is_1 }) = &source.embedded {
        let method = CheckMethod::CcittStreamIdentical;
        return match output.page_g4_stream(index) {
            Some(EmbeddedImage::CcittG4 { bytes: out, width: w, height: h, black_is_1: b })
                if out == *bytes && (w, h, b) == (*width, *height, *black_is_1) =>
            {
                PageCheck { page: index, method, max_channel_difference: 0, problem: None }
            }
            Some(_) => failed(
                method,
                "the output's CCITT G4 stream or its parameters differ from the source's".into(),
            ),
            None => failed(method, "the output page does not hold one full-page CCITT G4 image".into()),
        };
    }
    if let Some(EmbeddedImage::Flate { bytes, width, height, components, predictor }) = &source.embedded {
        let method = CheckMethod::FlateStreamIdentical;
        return match output.page_flate_stream(index) {
            Some(EmbeddedImage::Flate { bytes: out, width: w, height: h, components: c, predictor: p })
                if out == *bytes && (w, h, c, p) == (*width, *height, *components, *predictor) =>
            {
                PageCheck { page: index, method, max_channel_difference: 0, problem: None }
            }
            Some(_) => failed(
                method,
                "the output's Flate stream or its size, colour components or predictor differ from the source's"
                    .into(),
            ),
            None => failed(
                method,
                "the output page does not hold one full-page 8-bit grey or RGB Flate image".into(),
            ),
        };
    }
    if let Some(exact @ EmbeddedImage::Samples { .. }) = &source.embedded {
        return check_samples(output, index, exact);
    }
    // A stream joined from JPEG strips has no source stream to compare bytes with: the output's image
    // must be a JPEG, and its pixels must equal the strips' as the TIFF decoder decoded them.
    let method = match &source.embedded {
        Some(EmbeddedImage::Jpeg { origin: JpegOrigin::JoinedStrips { .. }, .. }) => {
            let method = CheckMethod::JoinedJpegPixelIdentical;
            if output.page_jpeg_stream(index).is_none() {
                return failed(method, "the output page does not hold one full-page JPEG image".into());
            }
            method
        }
        _ => CheckMethod::PixelIdentical,
    };
    let decoded = match output.page(index) {
        Ok(decoded) => decoded,
        Err(error) => return failed(method, format!("the output page does not decode: {error}")),
    };
    let (source, output) = (&source.raster, &decoded.raster);
    if (source.width(), source.height()) != (output.width(), output.height()) {
        return failed(
            method,
            format!(
                "the output page is {} × {} pixels, the source {} × {}",
                output.width(),
                output.height(),
                source.width(),
                source.height()
            ),
        );
    }
    let difference = max_difference(source, output);
    let problem = (difference > 0)
        .then(|| format!("pixels differ from the source by up to {difference} in a channel (tolerance 0)"));
    PageCheck { page: index, method, max_channel_difference: difference, problem }
}

/// Compares a source's exact samples ([`EmbeddedImage::Samples`]) with the output image's, sample by
/// sample at their full depth, alpha included.
fn check_samples(output: &OpenedFile<'_>, index: u32, source: &EmbeddedImage) -> PageCheck {
    let method = CheckMethod::SamplesIdentical;
    let failed = |problem: String| PageCheck {
        page: index,
        method,
        max_channel_difference: u8::MAX,
        problem: Some(problem),
    };
    let EmbeddedImage::Samples { colour, alpha, width, height, components, bits, premultiplied } = source
    else {
        return failed("the source has no exact samples".into());
    };
    let Some(EmbeddedImage::Samples {
        colour: out_colour,
        alpha: out_alpha,
        width: w,
        height: h,
        components: c,
        bits: b,
        premultiplied: p,
    }) = output.page_samples(index)
    else {
        return failed(format!(
            "the output page does not hold one full-page {bits}-bit grey or RGB image with plain samples"
        ));
    };
    if (w, h, c, b, p) != (*width, *height, *components, *bits, *premultiplied) {
        return failed(format!(
            "the output image is {w} × {h} pixels, {c} components of {b} bits{}; the source {width} × {height},              {components} of {bits}{}",
            if p { ", premultiplied" } else { "" },
            if *premultiplied { ", premultiplied" } else { "" }
        ));
    }
    if out_alpha.is_some() != alpha.is_some() {
        return failed(if alpha.is_some() {
            "the source is transparent but the output image has no soft mask".into()
        } else {
            "the output image has a soft mask the source does not".into()
        });
    }
    // The largest difference in the sample's own depth, reported in 8-bit levels (rounded up).
    let difference = |a: &[u8], b: &[u8]| -> u32 {
        if *bits == 16 {
            a.chunks_exact(2)
                .zip(b.chunks_exact(2))
                .map(|(x, y)| {
                    u32::from(u16::from_be_bytes([x[0], x[1]]).abs_diff(u16::from_be_bytes([y[0], y[1]])))
                })
                .max()
                .unwrap_or(0)
        } else {
            a.iter().zip(b).map(|(x, y)| u32::from(x.abs_diff(*y))).max().unwrap_or(0)
        }
    };
    let colour_difference = difference(colour, &out_colour);
    let alpha_difference = match (alpha, &out_alpha) {
        (Some(a), Some(b)) => difference(a, b),
        _ => 0,
    };
    let largest = colour_difference.max(alpha_difference);
    let in_8_bits = if *bits == 16 { largest.div_ceil(257) } else { largest } as u8;
    let problem = if colour.len() != out_colour.len() {
        Some("the output image holds a different number of samples".to_string())
    } else if largest > 0 {
        Some(format!(
            "samples differ from the source's by up to {largest} at {bits} bits (colour {colour_difference}, \
             alpha {alpha_difference}; tolerance 0)"
        ))
    } else {
        None
    };
    let max_channel_difference = if problem.is_some() { in_8_bits.max(1) } else { 0 };
    PageCheck { page: index, method, max_channel_difference, problem }
}

/// The largest per-channel difference between two rasters of equal size. A grey raster compared with
/// an RGB one counts as RGB with three equal channels.
fn max_difference(a: &Raster, b: &Raster) -> u8 {
    fn gray(raster: &Raster) -> Option<&[u8]> {
        match raster {
            Raster::Bilevel(image) | Raster::Gray(image) => Some(image.as_raw()),
            Raster::Rgb(_) => None,
        }
    }
    fn rgb(raster: &Raster) -> std::borrow::Cow<'_, [u8]> {
        match raster {
            Raster::Rgb(image) => std::borrow::Cow::Borrowed(image.as_raw()),
            Raster::Bilevel(image) | Raster::Gray(image) => {
                std::borrow::Cow::Owned(image.as_raw().iter().flat_map(|&v| [v, v, v]).collect())
            }
        }
    }
    let (a, b) = match (gray(a), gray(b)) {
        (Some(a), Some(b)) => (std::borrow::Cow::Borrowed(a), std::borrow::Cow::Borrowed(b)),
        _ => (rgb(a), rgb(b)),
    };
    // Equal buffers are the rule; comparing them whole is a memcmp, the maximum only matters otherwise.
    if a.len() == b.len() && a == b {
        return 0;
    }
    a.iter().zip(b.iter()).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

fn puid_or_unknown(format: Format) -> String {
    if format.is_unknown() { "an unknown format".into() } else { format.puid.to_string() }
}

#[cfg(test)]
mod tests;
