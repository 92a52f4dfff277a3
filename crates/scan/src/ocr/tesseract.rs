//! The product's OCR engine: Debian's libtesseract 5 through the `tesseract-rs` bindings, reading German
//! and English (`deu+eng`) and detecting page orientation with tesseract's OSD model.
//!
//! Three facts about libtesseract shape this file:
//!
//! - A `TessBaseAPI` instance is not thread-safe, and initialising one costs about 0.3 s. The engine
//!   therefore keeps pools of initialised instances (one for recognition, one for orientation detection)
//!   and lends each call its own instance; a pool grows to the number of threads that call at once.
//! - Debian builds libtesseract with OpenMP, whose worker threads make a page 5-10 times slower on a busy
//!   two-core machine than one core does. Callers run one page per thread, so every call here confines
//!   OpenMP to the calling thread (see [`limit_openmp_threads`]).
//! - Tesseract reports trouble on stderr; the engine sends that chatter to `/dev/null` and turns failures
//!   into [`OcrError`]s instead.

use std::ffi::{c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use image::GrayImage;
use tesseract_rs::{ResultIterator, TessPageIteratorLevel, TessPageSegMode, TesseractAPI};

use super::{OcrEngine, OcrError, OcrPage, OcrWord, Orientation};
use crate::page::{Dpi, PixelRect, QuarterTurns};

/// Where Debian's `tesseract-ocr-*` packages put their models, newest layout first.
const DEBIAN_TESSDATA_DIRS: &[&str] = &[
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
];

/// The model tesseract's orientation and script detection needs.
const OSD_LANGUAGE: &str = "osd";

/// Tesseract refuses images whose width or height exceeds `INT16_MAX`.
const MAX_SIDE_PIXELS: u32 = i16::MAX as u32;

/// How the tesseract engine is set up.
#[derive(Clone, Debug, PartialEq)]
pub struct TesseractConfig {
    /// Tesseract language codes joined by `+`, most likely first (`deu+eng`). Each needs its
    /// `<code>.traineddata` in the tessdata directory.
    pub languages: String,
    /// The directory holding the `.traineddata` files. `None` means `TESSDATA_PREFIX` when it is set,
    /// else the first of Debian's directories that exists.
    pub tessdata_dir: Option<PathBuf>,
    /// Orientation detection looks at a copy of the page scaled down by a whole factor when its
    /// resolution is at least twice this: a 600 dpi page takes OSD more than twice as long as a 300 dpi
    /// one without answering better. Lower than 300 saves little (OSD thresholds and subsamples the page
    /// itself) and costs confidence: at 150 dpi the letter in the tests drops from 16.6 to 13.5, at 100
    /// dpi OSD gets it wrong.
    pub orientation_dpi: f32,
}

impl Default for TesseractConfig {
    fn default() -> TesseractConfig {
        TesseractConfig { languages: "deu+eng".to_owned(), tessdata_dir: None, orientation_dpi: 150.0 }
    }
}

/// Tesseract behind the [`OcrEngine`] seam. `Send + Sync`; every call runs on the calling thread only.
pub struct TesseractEngine {
    languages: String,
    tessdata_dir: PathBuf,
    orientation_dpi: f32,
    version: String,
    /// Idle instances initialised with `languages`.
    recognizers: Mutex<Vec<TesseractAPI>>,
    /// Idle instances initialised with the OSD model.
    orientation_detectors: Mutex<Vec<TesseractAPI>>,
}

/// Keeps OpenMP, which Debian's libtesseract uses, from starting worker threads for tesseract calls made
/// on the calling thread.
///
/// OpenMP takes `OMP_THREAD_LIMIT` from the environment only while libgomp is being loaded, which for a
/// binary linked against libtesseract is before `main` runs: setting the variable from inside the process
/// (with the `unsafe` `std::env::set_var`) comes too late and changes nothing. What does work at run time
/// is OpenMP's `max-active-levels` setting, which libgomp keeps per thread: at 0, every parallel region
/// the thread enters runs on that thread alone. [`TesseractEngine`] calls this before every tesseract
/// call, so callers need not; it is public for programs that call libtesseract in other ways, and it is
/// cheap and idempotent. Setting `OMP_THREAD_LIMIT=1` in the service's environment (systemd unit, CI
/// script) does no harm and also covers threads this function never ran on.
pub fn limit_openmp_threads() {
    // SAFETY: `omp_set_max_active_levels` takes a plain integer, has no preconditions, and changes only
    // the calling thread's OpenMP settings (libgomp creates them on first use).
    unsafe { omp_set_max_active_levels(0) };
}

impl TesseractEngine {
    /// Finds the models, checks that every language and the OSD model are there, and initialises a
    /// first recogniser so that a broken installation shows at start-up rather than with the first page.
    pub fn new(config: TesseractConfig) -> Result<TesseractEngine, OcrError> {
        let languages = validate_languages(&config.languages)?;
        if !(config.orientation_dpi.is_finite() && config.orientation_dpi >= 50.0) {
            return Err(OcrError::Init(format!(
                "orientation_dpi {} is too low: use at least 50 (300 is the default)",
                config.orientation_dpi
            )));
        }
        let tessdata_dir = match &config.tessdata_dir {
            Some(dir) => dir.clone(),
            None => default_tessdata_dir()?,
        };
        if tessdata_dir.to_str().is_none() {
            return Err(OcrError::Init(format!(
                "tessdata directory {} is not valid UTF-8, which tesseract cannot open: move the models",
                tessdata_dir.display()
            )));
        }
        for language in languages.iter().copied().chain([OSD_LANGUAGE]) {
            check_traineddata(&tessdata_dir, language)?;
        }
        let engine = TesseractEngine {
            languages: config.languages.clone(),
            tessdata_dir,
            orientation_dpi: config.orientation_dpi,
            version: TesseractAPI::version(),
            recognizers: Mutex::new(Vec::new()),
            orientation_detectors: Mutex::new(Vec::new()),
        };
        let first = engine.new_instance(&engine.languages)?;
        lock(&engine.recognizers).push(first);
        Ok(engine)
    }

    /// The directory the models are read from.
    pub fn tessdata_dir(&self) -> &Path {
        &self.tessdata_dir
    }

    fn new_instance(&self, languages: &str) -> Result<TesseractAPI, OcrError> {
        limit_openmp_threads();
        let api = TesseractAPI::new();
        // Checked in `new`: the path is UTF-8 and the languages contain no NUL, so the bindings'
        // internal `unwrap`s cannot fire.
        api.init(&self.tessdata_dir, languages).map_err(|error| {
            OcrError::Init(format!(
                "tesseract could not load {languages} from {}: {error}; check that the .traineddata files are \
                 complete (reinstall the tesseract-ocr-* packages)",
                self.tessdata_dir.display()
            ))
        })?;
        // Tesseract's diagnostics ("Empty page!!", "Estimating resolution") would otherwise go to the
        // service's stderr, unstructured; failures reach the caller as errors instead.
        api.set_variable("debug_file", "/dev/null")
            .map_err(|error| OcrError::Init(format!("tesseract rejected a setting: {error}")))?;
        Ok(api)
    }

    /// Lends an idle instance from `pool`, or initialises a new one when all are busy.
    fn check_out<'a>(
        &'a self,
        pool: &'a Mutex<Vec<TesseractAPI>>,
        languages: &str,
    ) -> Result<Loan<'a>, OcrError> {
        limit_openmp_threads();
        let idle = lock(pool).pop();
        let api = match idle {
            Some(api) => api,
            None => self.new_instance(languages)?,
        };
        Ok(Loan { api: Some(api), pool })
    }
}

impl OcrEngine for TesseractEngine {
    fn recognize(&self, page: &GrayImage, dpi: Dpi) -> Result<OcrPage, OcrError> {
        if page.width() == 0 || page.height() == 0 {
            return Ok(OcrPage::default());
        }
        let resolution = checked_resolution(dpi)?;
        let loan = self.check_out(&self.recognizers, &self.languages)?;
        let api = loan.api();
        set_page(api, page, resolution)?;
        api.set_page_seg_mode(TessPageSegMode::PSM_AUTO).map_err(recognition_error)?;
        api.recognize().map_err(recognition_error)?;
        let text = api.get_utf8_text().map_err(recognition_error)?;
        let words = match api.get_iterator() {
            Ok(iterator) => collect_words(&iterator, page)?,
            // Tesseract has no iterator to give when it found no text at all.
            Err(_) => Vec::new(),
        };
        let mean_confidence = if words.is_empty() {
            0.0
        } else {
            words.iter().map(|word| word.confidence).sum::<f32>() / words.len() as f32
        };
        Ok(OcrPage { text: text.trim_end().to_owned(), words, mean_confidence })
    }

    fn detect_orientation(&self, page: &GrayImage, dpi: Dpi) -> Result<Orientation, OcrError> {
        let nothing_found = Orientation { turns: QuarterTurns::NONE, confidence: 0.0 };
        if page.width() == 0 || page.height() == 0 {
            return Ok(nothing_found);
        }
        let resolution = checked_resolution(dpi)?;
        let factor = (resolution / self.orientation_dpi).floor() as u32;
        let scaled;
        let (image, resolution) = if factor >= 2 {
            scaled = box_downscale(page, factor);
            (&scaled, resolution / factor as f32)
        } else {
            (page, resolution)
        };
        let loan = self.check_out(&self.orientation_detectors, OSD_LANGUAGE)?;
        let api = loan.api();
        set_page(api, image, resolution)?;
        // Tesseract fails orientation detection when it finds too few letters to judge; for the caller
        // that is the same as a page it cannot judge, so not an error.
        let Ok((degrees, confidence, _script, _script_confidence)) = api.detect_os() else {
            return Ok(nothing_found);
        };
        // Tesseract reports how far the page content is turned clockwise from upright (a page turned
        // 90° clockwise reads 90); the clockwise quarter turns that undo it make up the rest of a circle.
        let turns = match degrees.rem_euclid(360) {
            0 => QuarterTurns::NONE,
            90 => QuarterTurns::new(3),
            180 => QuarterTurns::HALF,
            270 => QuarterTurns::new(1),
            other => {
                return Err(OcrError::Recognition(format!(
                    "tesseract reported an orientation of {other}°, which is no quarter turn: check the \
                     libtesseract version"
                )));
            }
        };
        let confidence = if confidence.is_finite() { confidence.max(0.0) } else { 0.0 };
        Ok(Orientation { turns, confidence })
    }

    fn describe(&self) -> String {
        format!("tesseract {} ({})", self.version, self.languages)
    }
}

/// An instance lent to one call; it goes back to its pool, emptied of the page, when the call ends.
struct Loan<'a> {
    api: Option<TesseractAPI>,
    pool: &'a Mutex<Vec<TesseractAPI>>,
}

impl Loan<'_> {
    fn api(&self) -> &TesseractAPI {
        // `api` is only taken in `drop`.
        self.api.as_ref().expect("a loan holds its instance until dropped")
    }
}

impl Drop for Loan<'_> {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            // Clearing frees the page image and the results, so that an idle instance holds only its
            // models. An instance that cannot be cleared is dropped rather than reused.
            if api.clear().is_ok() {
                lock(self.pool).push(api);
            }
        }
    }
}

/// Locks a pool. A panic while the lock was held cannot leave the `Vec` half-changed (push and pop
/// either happen or not), so a poisoned lock is as good as a clean one.
fn lock(pool: &Mutex<Vec<TesseractAPI>>) -> MutexGuard<'_, Vec<TesseractAPI>> {
    pool.lock().unwrap_or_else(PoisonError::into_inner)
}

fn recognition_error(error: tesseract_rs::TesseractError) -> OcrError {
    OcrError::Recognition(format!("tesseract: {error}"))
}

/// Splits `deu+eng` into codes, refusing anything that is not a plain model name (a path separator or a
/// NUL would let the name escape the tessdata directory or crash the bindings).
fn validate_languages(languages: &str) -> Result<Vec<&str>, OcrError> {
    let codes: Vec<&str> = languages.split('+').collect();
    for code in &codes {
        let plain =
            !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !plain {
            return Err(OcrError::Init(format!(
                "language list {languages:?} is not of the form deu+eng: use tesseract language codes \
                 joined by +"
            )));
        }
    }
    Ok(codes)
}

/// `TESSDATA_PREFIX` as tesseract 5 reads it (the directory holding the models), else Debian's.
fn default_tessdata_dir() -> Result<PathBuf, OcrError> {
    if let Some(prefix) = std::env::var_os("TESSDATA_PREFIX").filter(|prefix| !prefix.is_empty()) {
        return Ok(PathBuf::from(prefix));
    }
    DEBIAN_TESSDATA_DIRS.iter().map(PathBuf::from).find(|dir| dir.is_dir()).ok_or_else(|| {
        OcrError::Init(format!(
            "no tessdata directory found (looked in {}): install the Debian package tesseract-ocr-osd and \
             the languages (tesseract-ocr-deu, tesseract-ocr-eng), or set TESSDATA_PREFIX",
            DEBIAN_TESSDATA_DIRS.join(", ")
        ))
    })
}

fn check_traineddata(tessdata_dir: &Path, language: &str) -> Result<(), OcrError> {
    let file = tessdata_dir.join(format!("{language}.traineddata"));
    if file.is_file() {
        Ok(())
    } else {
        Err(OcrError::Init(format!(
            "tesseract model {language}.traineddata is missing in {}: install the Debian package \
             tesseract-ocr-{language} or point TESSDATA_PREFIX at a directory that has it",
            tessdata_dir.display()
        )))
    }
}

/// The resolution to tell tesseract, which works in whole pixels per inch.
fn checked_resolution(dpi: Dpi) -> Result<f32, OcrError> {
    let resolution = dpi.x.max(dpi.y);
    if resolution.is_finite() && (1.0..=10_000.0).contains(&resolution) {
        Ok(resolution)
    } else {
        Err(OcrError::Recognition(format!(
            "page resolution {}x{} dpi is not plausible: decoding must supply the scanner's resolution",
            dpi.x, dpi.y
        )))
    }
}

fn set_page(api: &TesseractAPI, page: &GrayImage, resolution: f32) -> Result<(), OcrError> {
    let (width, height) = (page.width(), page.height());
    if width > MAX_SIDE_PIXELS || height > MAX_SIDE_PIXELS {
        return Err(OcrError::Recognition(format!(
            "page is {width}x{height} pixels and tesseract reads at most {MAX_SIDE_PIXELS} in each \
             direction: scan at a lower resolution"
        )));
    }
    // Both sides are at most `i16::MAX`, so they fit an `i32`; the bindings check that the buffer holds
    // `height * bytes_per_line` bytes, and tesseract copies the pixels.
    let (width, height) = (width as i32, height as i32);
    api.set_image(page.as_raw(), width, height, 1, width).map_err(recognition_error)?;
    api.set_source_resolution(resolution.round() as i32).map_err(recognition_error)?;
    Ok(())
}

/// Averages `factor` x `factor` blocks into one pixel; a partial block at the right or bottom edge is
/// dropped, which loses less than `factor` pixels of margin.
fn box_downscale(page: &GrayImage, factor: u32) -> GrayImage {
    let (width, height) = ((page.width() / factor).max(1), (page.height() / factor).max(1));
    let mut scaled = GrayImage::new(width, height);
    for (x, y, pixel) in scaled.enumerate_pixels_mut() {
        let mut sum = 0u64;
        let mut count = 0u64;
        // `y * factor` and `x * factor` lie inside the page; the block ends saturate rather than wrap.
        for source_y in y * factor..(y + 1).saturating_mul(factor).min(page.height()) {
            for source_x in x * factor..(x + 1).saturating_mul(factor).min(page.width()) {
                sum += u64::from(page.get_pixel(source_x, source_y).0[0]);
                count += 1;
            }
        }
        // Every block starts inside the page, so `count` is at least 1; the mean of bytes is a byte.
        pixel.0[0] = (sum / count.max(1)) as u8;
    }
    scaled
}

/// Walks the recognised words in reading order, numbering text lines as they begin.
fn collect_words(iterator: &ResultIterator, page: &GrayImage) -> Result<Vec<OcrWord>, OcrError> {
    let mut words = Vec::new();
    let mut lines_begun: u32 = 0;
    loop {
        if at_beginning_of_line(iterator) {
            lines_begun = lines_begun.saturating_add(1);
        }
        // The iterator yields no text for the empty position of a page without words.
        if let Ok(text) = iterator.get_utf8_text(TessPageIteratorLevel::RIL_WORD) {
            let text = text.trim();
            let bounds = iterator.get_bounding_box(TessPageIteratorLevel::RIL_WORD);
            if let (false, Ok(bounds)) = (text.is_empty(), bounds) {
                let confidence = iterator
                    .confidence(TessPageIteratorLevel::RIL_WORD)
                    .map_err(recognition_error)?
                    .clamp(0.0, 100.0);
                words.push(OcrWord {
                    text: text.to_owned(),
                    bounds: clamp_to_page(bounds, page),
                    confidence,
                    line: lines_begun.saturating_sub(1),
                });
            }
        }
        if !iterator.next(TessPageIteratorLevel::RIL_WORD).map_err(recognition_error)? {
            break;
        }
    }
    Ok(words)
}

/// Tesseract's `(left, top, right, bottom)`, right and bottom exclusive, kept inside the page.
fn clamp_to_page((left, top, right, bottom): (i32, i32, i32, i32), page: &GrayImage) -> PixelRect {
    let clamp = |value: i32, limit: u32| u32::try_from(value).unwrap_or(0).min(limit);
    let x0 = clamp(left, page.width());
    let y0 = clamp(top, page.height());
    PixelRect { x0, y0, x1: clamp(right, page.width()).max(x0), y1: clamp(bottom, page.height()).max(y0) }
}

fn at_beginning_of_line(iterator: &ResultIterator) -> bool {
    let handle = *iterator.handle.lock().unwrap_or_else(PoisonError::into_inner);
    if handle.is_null() {
        return false;
    }
    // SAFETY: `handle` is the live `TessResultIterator` that `iterator` owns (it is deleted only when
    // `iterator` drops, which cannot happen while we borrow it). A result iterator is a page iterator, and
    // `TessResultIteratorGetPageIteratorConst` performs that conversion without allocating.
    unsafe {
        let page_iterator = TessResultIteratorGetPageIteratorConst(handle);
        TessPageIteratorIsAtBeginningOf(page_iterator, TessPageIteratorLevel::RIL_TEXTLINE as c_int) != 0
    }
}

// The few C functions the bindings do not expose. Their declarations follow tesseract's `capi.h` and
// OpenMP's `omp.h`; both libraries are linked already (libgomp as libtesseract's dependency).
#[link(name = "tesseract")]
unsafe extern "C" {
    fn TessResultIteratorGetPageIteratorConst(handle: *const c_void) -> *const c_void;
    fn TessPageIteratorIsAtBeginningOf(handle: *const c_void, level: c_int) -> c_int;
}

#[link(name = "gomp")]
unsafe extern "C" {
    fn omp_set_max_active_levels(max_levels: c_int);
}

#[cfg(test)]
mod tests {
    //! These tests run the real libtesseract (Debian packages tesseract-ocr-deu, -eng and -osd), one
    //! engine shared by all of them so that models load once. Each recognition takes a second or two.

    use std::sync::OnceLock;

    use super::*;
    use crate::ocr::test_suite::{self, LETTER, TextPage, normalised, render_text_page};

    fn engine() -> &'static TesseractEngine {
        static ENGINE: OnceLock<TesseractEngine> = OnceLock::new();
        ENGINE.get_or_init(|| TesseractEngine::new(TesseractConfig::default()).expect("tesseract starts"))
    }

    /// The top of an A4 letter at 300 dpi, 11 pt, which is what the mailroom mostly sees.
    fn letter() -> &'static TextPage {
        static LETTER_PAGE: OnceLock<TextPage> = OnceLock::new();
        LETTER_PAGE.get_or_init(|| render_text_page(LETTER, 300.0, 11.0, 210.0, 110.0))
    }

    #[test]
    fn passes_the_engine_test_suite() {
        test_suite::run_all(engine(), &letter().image, letter().dpi);
    }

    #[test]
    fn reads_a_german_letter_with_word_boxes_where_the_text_was_drawn() {
        let page = letter();
        let read = engine().recognize(&page.image, page.dpi).expect("tesseract reads the letter");
        let text = normalised(&read.text);
        for expected in
            ["sehrgeehrtefraumüller", "ihrzeichen321122026", "bestätigen", "geprüft", "rückfragen"]
        {
            assert!(text.contains(expected), "{expected:?} not in {:?}", read.text);
        }
        assert!(text.contains("weiß") && text.contains("grüßen"), "ß lost in {:?}", read.text);
        assert!(read.mean_confidence > 80.0, "mean confidence {}", read.mean_confidence);

        // Every drawn line is one tesseract line, and each word's box lies on the line it was drawn on.
        let lines: Vec<u32> = read.words.iter().map(|word| word.line).collect();
        assert_eq!(lines.first(), Some(&0));
        assert_eq!(lines.last().map(|last| last + 1), Some(LETTER.len() as u32));
        const TOLERANCE: u32 = 6;
        for word in &read.words {
            let drawn = page.line_bounds[word.line as usize];
            let inside = word.bounds.x0 + TOLERANCE >= drawn.x0
                && word.bounds.x1 <= drawn.x1 + TOLERANCE
                && word.bounds.y0 + TOLERANCE >= drawn.y0
                && word.bounds.y1 <= drawn.y1 + TOLERANCE;
            assert!(inside, "{word:?} is not on the line drawn at {drawn:?}");
        }
        let zeichen = read.words.iter().find(|word| word.text.starts_with("Zeichen")).expect("Zeichen read");
        assert_eq!(zeichen.line, 2);
        assert!(zeichen.confidence > 80.0, "{zeichen:?}");
    }

    #[test]
    fn orientation_says_how_to_turn_the_page_upright() {
        let page = letter();
        let upright = engine().detect_orientation(&page.image, page.dpi).expect("detects upright");
        assert_eq!(upright.turns, QuarterTurns::NONE, "{upright:?}");
        // `rotate90` turns clockwise: three more clockwise quarter turns make the page upright again.
        let cases = [
            (image::imageops::rotate90(&page.image), 3),
            (image::imageops::rotate180(&page.image), 2),
            (image::imageops::rotate270(&page.image), 1),
        ];
        for (turned, upright_after) in cases {
            let detected = engine().detect_orientation(&turned, page.dpi).expect("detects turned");
            assert_eq!(detected.turns, QuarterTurns::new(upright_after), "{detected:?}");
            assert!(detected.confidence > 1.0, "{detected:?}");
        }
    }

    #[test]
    fn missing_language_names_the_file_and_the_package() {
        let config = TesseractConfig { languages: "deu+xyz".to_owned(), ..TesseractConfig::default() };
        let Err(OcrError::Init(message)) = TesseractEngine::new(config) else {
            panic!("an unknown language must not start");
        };
        assert!(message.contains("xyz.traineddata"), "{message}");
        assert!(message.contains("tesseract-ocr-xyz"), "{message}");
    }

    #[test]
    fn refuses_language_lists_that_are_no_model_names() {
        for languages in ["", "deu+", "../etc/passwd", "deu\0"] {
            let config = TesseractConfig { languages: languages.to_owned(), ..TesseractConfig::default() };
            assert!(matches!(TesseractEngine::new(config), Err(OcrError::Init(_))), "{languages:?}");
        }
    }

    #[test]
    fn refuses_implausible_resolutions_and_oversized_pages() {
        let small = GrayImage::from_pixel(10, 10, image::Luma([255]));
        for dpi in [0.0, -300.0, f32::NAN, f32::INFINITY] {
            assert!(engine().recognize(&small, Dpi::uniform(dpi)).is_err(), "{dpi}");
        }
        let tall = GrayImage::from_pixel(1, MAX_SIDE_PIXELS + 1, image::Luma([255]));
        let error = engine().recognize(&tall, Dpi::uniform(300.0)).expect_err("too tall");
        assert!(error.to_string().contains("lower resolution"), "{error}");
    }

    #[link(name = "gomp")]
    unsafe extern "C" {
        fn omp_get_max_active_levels() -> c_int;
    }

    #[test]
    fn every_call_confines_openmp_to_the_calling_thread() {
        std::thread::spawn(|| {
            let blank = GrayImage::from_pixel(50, 50, image::Luma([255]));
            engine().recognize(&blank, Dpi::uniform(300.0)).expect("reads a blank page");
            // SAFETY: no arguments; reads the calling thread's OpenMP setting.
            let levels = unsafe { omp_get_max_active_levels() };
            assert_eq!(levels, 0, "parallel regions on this thread would start OpenMP workers");
        })
        .join()
        .expect("worker thread");
    }

    #[test]
    fn box_downscale_averages_whole_blocks() {
        let page = GrayImage::from_fn(5, 4, |x, y| image::Luma([if (x + y) % 2 == 0 { 0 } else { 200 }]));
        let scaled = box_downscale(&page, 2);
        assert_eq!(scaled.dimensions(), (2, 2));
        assert!(scaled.pixels().all(|pixel| pixel.0[0] == 100), "{scaled:?}");
        let thin = GrayImage::from_pixel(1, 3, image::Luma([7]));
        assert_eq!(box_downscale(&thin, 4).as_raw(), &vec![7u8]);
    }

    #[test]
    fn a_masked_routing_code_leaves_no_words_and_the_letter_reads_in_order() {
        // A generated letter with its routing code top right, beside the sender and address lines,
        // scanned as the bench's batches are: slightly skewed, sensor noise and dust, JPEG at 85.
        // (On these clean synthetic pages tesseract happens to read no junk from the code even
        // unmasked; this guards the real engine on a masked page, where the fake cannot look.)
        let spec = registratur_testkit::LetterSpec {
            routing: registratur_testkit::Routing::Qr("RG1:A:4711:32.10.05-123/2026:2WF5PG4SHGHFCPBM".into()),
            pages: 1,
            upside_down: false,
            expect: String::new(),
        };
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(16);
        let (pages, truth) = registratur_testkit::render_letter(&spec, 300.0, &mut rng).expect("renders");
        let mut scanned = registratur_testkit::skew(&pages[0], 0.4);
        registratur_testkit::scanner_noise(&mut scanned, 6.0, &mut rng);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
            .encode_image(&scanned)
            .expect("encodes");
        let mut page = image::load_from_memory(&jpeg).expect("decodes").to_luma8();
        let dpi = Dpi::uniform(300.0);
        let regions =
            crate::analyse::analyse_page(&page, dpi, crate::analyse::blank::DEFAULT_BLANK_THRESHOLD)
                .code_regions();
        assert_eq!(regions.len(), 1, "the routing code is found");
        crate::ocr::mask_regions(&mut page, &regions, dpi);
        let read = engine().recognize(&page, dpi).expect("tesseract reads the letter");

        let code = regions[0];
        let in_code = |word: &&OcrWord| {
            word.bounds.x0 < code.x1
                && code.x0 < word.bounds.x1
                && word.bounds.y0 < code.y1
                && code.y0 < word.bounds.y1
        };
        let junk: Vec<&OcrWord> = read.words.iter().filter(in_code).collect();
        assert!(junk.is_empty(), "words read where the code was: {junk:?}");
        // The lines beside the code come out whole and in order.
        let text = normalised(&read.text);
        let lines: Vec<String> = truth.lines().take(4).map(normalised).collect();
        let at: Vec<Option<usize>> = lines.iter().map(|line| text.find(line.as_str())).collect();
        assert!(at.iter().all(Option::is_some) && at.is_sorted(), "{lines:?} in {:?}", read.text);
        let error_rate = registratur_testkit::character_error_rate(&truth, &read.text);
        assert!(error_rate <= 0.01, "character error rate {error_rate}: {:?}", read.text);
    }

    #[test]
    fn describes_itself_with_version_and_languages() {
        let description = engine().describe();
        assert!(description.starts_with("tesseract 5."), "{description}");
        assert!(description.ends_with("(deu+eng)"), "{description}");
    }
}
