//! The Aktenplan (filing plan): a tree of Aktenplaneinheiten with their retention and Aussonderungsart,
//! and the CSV file format administrators import and export it in.
//!
//! A unit's place in the tree is its key: `32.10.05` sits below `32.10`, which sits below `32`. Every
//! unit's parent must be in the plan, so the tree has no gaps. Retention (Aufbewahrungsdauer) and
//! Aussonderungsart (xdomea: A = archivieren, V = vernichten, B = bewerten) are inherited: a unit
//! without its own value takes the nearest ancestor's ([`Aktenplan::effective_retention`]). An
//! [`Aktenplan`] value is one version of the plan; keeping versions apart is the store's job.
//!
//! # The CSV file format
//!
//! This is the format administrators edit in a spreadsheet, so it is forgiving where spreadsheets
//! differ and strict where a mistake would file records wrongly.
//!
//! - Encoding UTF-8. A leading byte order mark is accepted and [`Aktenplan::to_csv`] writes one,
//!   because Excel needs it to read umlauts correctly (save from Excel as "CSV UTF-8").
//! - One line is one record; lines end with LF or CRLF, and line numbers in error messages count
//!   every line of the file, comments and empty lines included.
//! - Fields are separated by `;`. A field may be enclosed in double quotes, which is needed when it
//!   contains `;` or `"`; inside quotes, `"` is written twice (`"Titel mit ""Anführung""; Teil 2"`).
//!   A `"` inside an unquoted field is taken literally. Whitespace around a field is removed. Line
//!   breaks inside fields are not allowed, quoted or not.
//! - Empty lines, lines whose fields are all empty (`;;;`, which spreadsheets write for empty rows)
//!   and lines starting with `#` (comments) are ignored.
//! - The first remaining line is the header, exactly these four columns in this order (upper or lower
//!   case): `kennzeichen;titel;aufbewahrung;aussonderungsart`.
//! - Every further line is one unit with exactly four fields:
//!   - `kennzeichen`: the unit's key, 1 to 8 groups of 1 to 4 digits separated by `.` (`32.10.05`).
//!     Each key appears once, and the key one level up (`32.10` for `32.10.05`) must also be in the
//!     file, above or below; the order of lines does not matter.
//!   - `titel`: the unit's title; not empty, no tabs or line breaks.
//!   - `aufbewahrung`: the retention period, a number of years from 0 to 999, or `unbegrenzt`
//!     (`dauernd` is accepted as well), or empty to inherit the value of the unit above.
//!   - `aussonderungsart`: `A` (archivieren), `V` (vernichten), `B` (bewerten), or empty to inherit;
//!     upper or lower case, and the full words are accepted too.
//!
//! When opening the file in Excel, import the `kennzeichen` column as text (Daten → Aus Text/CSV),
//! otherwise Excel may turn `10.05` into a date or drop leading zeros.
//!
//! Example:
//!
//! ```text
//! kennzeichen;titel;aufbewahrung;aussonderungsart
//! # Ordnungsamt
//! 32;Ordnungsangelegenheiten;10;B
//! 32.10;Gewerbeangelegenheiten;;
//! 32.10.05;Gewerbeanzeigen (An-, Um- und Abmeldungen);5;V
//! 32.10.10;"Gaststätten; Erlaubnisse und Gestattungen";unbegrenzt;A
//! ```
//!
//! Errors name the line and the field and say what to change, e.g.
//! `line 7, field kennzeichen: unit 32.10.05 has no parent unit 32.10; add a line for 32.10 above it`.
//! Only the first error is reported.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Bound;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::aktenzeichen::{AktenplanKey, AktenzeichenError};

/// The header line of the CSV file format.
pub const CSV_HEADER: &str = "kennzeichen;titel;aufbewahrung;aussonderungsart";
/// The longest retention period that can be given in years; longer means [`Retention::Unlimited`].
pub const MAX_RETENTION_YEARS: u16 = 999;

/// The CSV column names, in order.
const CSV_COLUMNS: [&str; 4] = ["kennzeichen", "titel", "aufbewahrung", "aussonderungsart"];
/// How [`Retention::Unlimited`] is written in CSV and JSON.
const UNLIMITED_WORD: &str = "unbegrenzt";
/// Accepted in CSV as a synonym of [`UNLIMITED_WORD`].
const UNLIMITED_SYNONYM: &str = "dauernd";
/// Excel's UTF-8 byte order mark.
const BYTE_ORDER_MARK: char = '\u{feff}';

/// One version of the filing plan: units by key, always a gap-free tree (see [`Aktenplan::new`]).
///
/// Serializes as `{"units": [unit, ...]}` in key order; deserializing validates like
/// [`Aktenplan::new`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aktenplan {
    units: BTreeMap<AktenplanKey, Unit>,
}

/// One Aktenplaneinheit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub key: AktenplanKey,
    pub title: String,
    /// The unit's own retention period; `None` inherits the nearest ancestor's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// The unit's own Aussonderungsart; `None` inherits the nearest ancestor's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aussonderung: Option<Aussonderungsart>,
}

/// How long records are kept after the Akte is closed (z.d.A.): counted from the end of that year.
///
/// Serializes as the number of years, or as the string `"unbegrenzt"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Retention {
    Years(u16),
    Unlimited,
}

/// What happens to records when their retention ends (xdomea Aussonderungsart).
///
/// Serializes as its xdomea code `"A"`, `"V"` or `"B"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Aussonderungsart {
    /// Offer to the archive, which keeps them.
    #[serde(rename = "A")]
    Archivieren,
    /// Destroy them.
    #[serde(rename = "V")]
    Vernichten,
    /// Offer to the archive, which decides (appraisal).
    #[serde(rename = "B")]
    Bewerten,
}

/// A rejected Aktenplan, from [`Aktenplan::new`], deserialization or [`Aktenplan::from_csv`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AktenplanError {
    #[error("unit {key} appears more than once; keep only one of them")]
    DuplicateUnit { key: AktenplanKey },
    #[error("unit {key} has no parent unit {parent}; add unit {parent} to the plan")]
    MissingParent { key: AktenplanKey, parent: AktenplanKey },
    #[error("unit {key}: {problem}")]
    InvalidTitle { key: AktenplanKey, problem: TitleProblem },
    #[error("unit {key} has a retention of {years} years; use at most 999 years, or unlimited retention")]
    RetentionTooLong { key: AktenplanKey, years: u16 },
    /// A problem in a CSV file; `line` counts from 1.
    #[error("line {line}{}: {problem}", field_label(.problem))]
    Csv { line: u64, problem: CsvProblem },
}

/// What is wrong with a unit's title.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TitleProblem {
    #[error("the title is empty; every unit needs a title")]
    Empty,
    #[error("the title contains a control character such as a tab or line break; remove it")]
    ControlCharacter,
    #[error("the title starts or ends with whitespace; remove it")]
    SurroundingWhitespace,
}

/// What is wrong with one line of an Aktenplan CSV file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsvProblem {
    #[error("the header line is missing; start the file with the line {CSV_HEADER}")]
    MissingHeader,
    #[error("the header is {found:?}; it must be exactly {CSV_HEADER}")]
    WrongHeader { found: String },
    #[error(
        "expected 4 fields separated by ';' ({CSV_HEADER}), found {found}; put a title that contains ';' \
         in double quotes"
    )]
    WrongFieldCount { found: usize },
    #[error("a double quote is not closed; end the quoted field with \" (a field cannot span lines)")]
    UnclosedQuote,
    #[error(
        "text follows the closing double quote of a field; put the whole field in quotes and write each \" \
         inside it twice"
    )]
    TextAfterClosingQuote,
    #[error("{error}")]
    InvalidKey { error: AktenzeichenError },
    #[error("unit {key} already appears on line {first_line}; remove one of the two lines")]
    DuplicateUnit { key: AktenplanKey, first_line: u64 },
    #[error("unit {key} has no parent unit {parent}; add a line for {parent} above it")]
    MissingParent { key: AktenplanKey, parent: AktenplanKey },
    #[error("unit {key}: {problem}")]
    InvalidTitle { key: AktenplanKey, problem: TitleProblem },
    #[error(
        "{found:?} is not a retention period; write a number of years from 0 to 999, unbegrenzt, or leave \
         the field empty to inherit it"
    )]
    InvalidRetention { found: String },
    #[error(
        "{found:?} is not an Aussonderungsart; write A (archivieren), V (vernichten), B (bewerten), or \
         leave the field empty to inherit it"
    )]
    InvalidAussonderungsart { found: String },
}

/// The first rule a list of units breaks, independent of where the units came from.
#[derive(Debug)]
enum Violation {
    Duplicate { first_index: usize },
    MissingParent { parent: AktenplanKey },
    Title(TitleProblem),
    RetentionTooLong { years: u16 },
}

impl Aktenplan {
    /// Builds a plan from units in any order. Fails on the first unit (in the given order) that
    /// duplicates an earlier key, lacks its parent unit, has an empty title or one with control
    /// characters or surrounding whitespace, or keeps records longer than [`MAX_RETENTION_YEARS`].
    pub fn new(units: Vec<Unit>) -> Result<Self, AktenplanError> {
        if let Some((index, violation)) = first_violation(&units) {
            let key = units[index].key.clone();
            return Err(match violation {
                Violation::Duplicate { .. } => AktenplanError::DuplicateUnit { key },
                Violation::MissingParent { parent } => AktenplanError::MissingParent { key, parent },
                Violation::Title(problem) => AktenplanError::InvalidTitle { key, problem },
                Violation::RetentionTooLong { years } => AktenplanError::RetentionTooLong { key, years },
            });
        }
        Ok(Aktenplan::from_valid_units(units))
    }

    pub fn unit(&self, key: &AktenplanKey) -> Option<&Unit> {
        self.units.get(key)
    }

    pub fn contains(&self, key: &AktenplanKey) -> bool {
        self.units.contains_key(key)
    }

    /// All units in key order, which lists every unit directly before its descendants.
    pub fn units(&self) -> impl DoubleEndedIterator<Item = &Unit> + ExactSizeIterator {
        self.units.values()
    }

    /// The top-level units (keys with one segment), in key order.
    pub fn roots(&self) -> impl Iterator<Item = &Unit> {
        self.units.values().filter(|unit| unit.key.depth() == 1)
    }

    /// The units directly below `key`, in key order; empty when `key` has none or is not in the plan.
    pub fn children(&self, key: &AktenplanKey) -> impl Iterator<Item = &Unit> {
        let child_depth = key.depth() + 1;
        self.descendants(key).filter(move |unit| unit.key.depth() == child_depth)
    }

    /// All units below `key` at any depth, in key order, without the unit `key` itself.
    pub fn descendants(&self, key: &AktenplanKey) -> impl Iterator<Item = &Unit> {
        // Keys order segment-wise, so a unit's descendants directly follow it.
        self.units
            .range((Bound::Excluded(key), Bound::Unbounded))
            .take_while(move |(candidate, _)| candidate.is_within(key))
            .map(|(_, unit)| unit)
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// The retention that applies to records filed under `key`: the unit's own, else the nearest
    /// ancestor's, else `None`. Works for keys below the plan's leaves as well.
    pub fn effective_retention(&self, key: &AktenplanKey) -> Option<Retention> {
        self.nearest(key, |unit| unit.retention)
    }

    /// The Aussonderungsart that applies to records filed under `key`, inherited like
    /// [`Aktenplan::effective_retention`].
    pub fn effective_aussonderung(&self, key: &AktenplanKey) -> Option<Aussonderungsart> {
        self.nearest(key, |unit| unit.aussonderung)
    }

    /// Reads the CSV file format described in the module documentation.
    pub fn from_csv(text: &str) -> Result<Aktenplan, AktenplanError> {
        // Lines are split here rather than by the `csv` crate, whose line numbers skip comment lines;
        // error messages must point at the line an administrator sees in an editor.
        let text = text.strip_prefix(BYTE_ORDER_MARK).unwrap_or(text);
        let mut header_seen = false;
        let mut units = Vec::new();
        let mut lines = Vec::new();
        for (index, raw_line) in text.split('\n').enumerate() {
            let line = index as u64 + 1;
            let fail = |problem| AktenplanError::Csv { line, problem };
            let content = raw_line.strip_suffix('\r').unwrap_or(raw_line);
            if content.trim_start().starts_with('#') {
                continue;
            }
            let raw_fields = split_csv_line(content).map_err(fail)?;
            let fields: Vec<&str> = raw_fields.iter().map(|field| field.trim()).collect();
            if fields.iter().all(|field| field.is_empty()) {
                continue;
            }
            if !header_seen {
                let matches = fields.len() == CSV_COLUMNS.len()
                    && fields.iter().zip(CSV_COLUMNS).all(|(field, name)| field.eq_ignore_ascii_case(name));
                if !matches {
                    return Err(fail(CsvProblem::WrongHeader { found: content.to_owned() }));
                }
                header_seen = true;
                continue;
            }
            let [key, title, retention, aussonderung] = fields[..] else {
                return Err(fail(CsvProblem::WrongFieldCount { found: fields.len() }));
            };
            let key = AktenplanKey::parse(key).map_err(|error| fail(CsvProblem::InvalidKey { error }))?;
            let retention = parse_csv_retention(retention)
                .ok_or_else(|| fail(CsvProblem::InvalidRetention { found: retention.to_owned() }))?;
            let aussonderung = parse_csv_aussonderung(aussonderung).ok_or_else(|| {
                fail(CsvProblem::InvalidAussonderungsart { found: aussonderung.to_owned() })
            })?;
            units.push(Unit { key, title: title.to_owned(), retention, aussonderung });
            lines.push(line);
        }
        if !header_seen {
            return Err(AktenplanError::Csv { line: 1, problem: CsvProblem::MissingHeader });
        }
        if let Some((index, violation)) = first_violation(&units) {
            let key = units[index].key.clone();
            let problem = match violation {
                Violation::Duplicate { first_index } => {
                    CsvProblem::DuplicateUnit { key, first_line: lines[first_index] }
                }
                Violation::MissingParent { parent } => CsvProblem::MissingParent { key, parent },
                Violation::Title(problem) => CsvProblem::InvalidTitle { key, problem },
                // Unreachable through CSV, which accepts at most 999 years; kept for completeness.
                Violation::RetentionTooLong { years } => {
                    CsvProblem::InvalidRetention { found: years.to_string() }
                }
            };
            return Err(AktenplanError::Csv { line: lines[index], problem });
        }
        Ok(Aktenplan::from_valid_units(units))
    }

    /// Writes the CSV file format described in the module documentation: a byte order mark, the
    /// header, then one line per unit in key order. [`Aktenplan::from_csv`] reads it back unchanged.
    pub fn to_csv(&self) -> String {
        let mut text = String::new();
        text.push(BYTE_ORDER_MARK);
        text.push_str(CSV_HEADER);
        text.push('\n');
        for unit in self.units.values() {
            let retention = match unit.retention {
                None => String::new(),
                Some(Retention::Unlimited) => UNLIMITED_WORD.to_owned(),
                Some(Retention::Years(years)) => years.to_string(),
            };
            let aussonderung = unit.aussonderung.map_or("", Aussonderungsart::code);
            let fields = [unit.key.as_str(), &unit.title, &retention, aussonderung];
            let quoted: Vec<Cow<'_, str>> = fields.into_iter().map(quote_csv_field).collect();
            text.push_str(&quoted.join(";"));
            text.push('\n');
        }
        text
    }

    /// A small sample plan for tests, documentation and first steps: an illustration in the style of
    /// the KGSt-Aktenplan, **not** the official plan, and its retention periods are placeholders, not
    /// legal advice.
    pub fn example_kgst() -> Aktenplan {
        let unit = |key: &str, title: &str, retention, aussonderung| Unit {
            key: AktenplanKey::parse(key).expect("the example keys are valid"),
            title: title.to_owned(),
            retention,
            aussonderung,
        };
        use Aussonderungsart::{Archivieren, Bewerten, Vernichten};
        use Retention::{Unlimited, Years};
        let units = vec![
            unit("10", "Organisation und Verwaltungssteuerung", Some(Years(10)), Some(Bewerten)),
            unit("10.20", "Organisation der Verwaltung", None, None),
            unit("10.20.01", "Geschäftsverteilungspläne", Some(Unlimited), Some(Archivieren)),
            unit("10.20.02", "Dienstanweisungen", Some(Years(10)), Some(Bewerten)),
            unit("32", "Ordnungsangelegenheiten", Some(Years(10)), Some(Bewerten)),
            unit("32.10", "Gewerbeangelegenheiten", None, None),
            unit("32.10.05", "Gewerbeanzeigen (An-, Um- und Abmeldungen)", Some(Years(5)), Some(Vernichten)),
            unit("32.10.10", "Gaststättenerlaubnisse", None, None),
            unit("32.30", "Straßenverkehrsangelegenheiten", Some(Years(6)), Some(Vernichten)),
            unit("50", "Soziales", Some(Years(10)), Some(Bewerten)),
            unit("50.10", "Hilfe zum Lebensunterhalt", Some(Years(10)), Some(Vernichten)),
            unit(
                "50.20",
                "Grundsicherung im Alter und bei Erwerbsminderung",
                Some(Years(10)),
                Some(Vernichten),
            ),
        ];
        Aktenplan::new(units).expect("the example plan is valid")
    }

    fn from_valid_units(units: Vec<Unit>) -> Aktenplan {
        Aktenplan { units: units.into_iter().map(|unit| (unit.key.clone(), unit)).collect() }
    }

    /// The first value `pick` finds on the unit `key` or, going up, on its ancestors.
    fn nearest<T>(&self, key: &AktenplanKey, pick: impl Fn(&Unit) -> Option<T>) -> Option<T> {
        if let Some(value) = self.units.get(key).and_then(&pick) {
            return Some(value);
        }
        key.ancestors().find_map(|ancestor| self.units.get(&ancestor).and_then(&pick))
    }
}

impl Aussonderungsart {
    /// The xdomea code: `A`, `V` or `B`.
    pub fn code(self) -> &'static str {
        match self {
            Aussonderungsart::Archivieren => "A",
            Aussonderungsart::Vernichten => "V",
            Aussonderungsart::Bewerten => "B",
        }
    }

    /// Reads a code (`A`, `V`, `B`) or the German word (`archivieren`, ...), in any case.
    pub fn from_code(text: &str) -> Option<Self> {
        let all = [Aussonderungsart::Archivieren, Aussonderungsart::Vernichten, Aussonderungsart::Bewerten];
        all.into_iter()
            .find(|art| text.eq_ignore_ascii_case(art.code()) || text.eq_ignore_ascii_case(art.word()))
    }

    /// The German verb, e.g. `archivieren`.
    pub fn word(self) -> &'static str {
        match self {
            Aussonderungsart::Archivieren => "archivieren",
            Aussonderungsart::Vernichten => "vernichten",
            Aussonderungsart::Bewerten => "bewerten",
        }
    }
}

impl Serialize for Retention {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Retention::Years(years) => serializer.serialize_u16(*years),
            Retention::Unlimited => serializer.serialize_str(UNLIMITED_WORD),
        }
    }
}

impl<'de> Deserialize<'de> for Retention {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RetentionVisitor)
    }
}

struct RetentionVisitor;

impl Visitor<'_> for RetentionVisitor {
    type Value = Retention;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "a number of years or \"{UNLIMITED_WORD}\"")
    }

    fn visit_u64<E: de::Error>(self, years: u64) -> Result<Retention, E> {
        u16::try_from(years)
            .map(Retention::Years)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(years), &self))
    }

    fn visit_i64<E: de::Error>(self, years: i64) -> Result<Retention, E> {
        u16::try_from(years)
            .map(Retention::Years)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(years), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Retention, E> {
        if text == UNLIMITED_WORD {
            Ok(Retention::Unlimited)
        } else {
            Err(E::invalid_value(de::Unexpected::Str(text), &self))
        }
    }
}

/// The stored form of an [`Aktenplan`]: an object, so that fields can be added later.
#[derive(Serialize)]
struct StoredAktenplanRef<'a> {
    units: Vec<&'a Unit>,
}

#[derive(Deserialize)]
struct StoredAktenplan {
    units: Vec<Unit>,
}

impl Serialize for Aktenplan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredAktenplanRef { units: self.units.values().collect() }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Aktenplan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredAktenplan::deserialize(deserializer)?;
        Aktenplan::new(stored.units).map_err(de::Error::custom)
    }
}

impl CsvProblem {
    /// The CSV column the problem is in, when it is in one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CsvProblem::MissingHeader
            | CsvProblem::WrongHeader { .. }
            | CsvProblem::WrongFieldCount { .. }
            | CsvProblem::UnclosedQuote
            | CsvProblem::TextAfterClosingQuote => None,
            CsvProblem::InvalidKey { .. }
            | CsvProblem::DuplicateUnit { .. }
            | CsvProblem::MissingParent { .. } => Some("kennzeichen"),
            CsvProblem::InvalidTitle { .. } => Some("titel"),
            CsvProblem::InvalidRetention { .. } => Some("aufbewahrung"),
            CsvProblem::InvalidAussonderungsart { .. } => Some("aussonderungsart"),
        }
    }
}

/// `", field titel"` for problems in a field, nothing otherwise.
fn field_label(problem: &CsvProblem) -> String {
    problem.field().map(|field| format!(", field {field}")).unwrap_or_default()
}

/// Finds the first unit, in the given order, that breaks a rule of [`Aktenplan::new`].
fn first_violation(units: &[Unit]) -> Option<(usize, Violation)> {
    let all_keys: HashSet<&AktenplanKey> = units.iter().map(|unit| &unit.key).collect();
    let mut first_index_of_key: HashMap<&AktenplanKey, usize> = HashMap::new();
    for (index, unit) in units.iter().enumerate() {
        if let Some(&first_index) = first_index_of_key.get(&unit.key) {
            return Some((index, Violation::Duplicate { first_index }));
        }
        first_index_of_key.insert(&unit.key, index);
        if let Some(parent) = unit.key.parent()
            && !all_keys.contains(&parent)
        {
            return Some((index, Violation::MissingParent { parent }));
        }
        if let Some(problem) = title_problem(&unit.title) {
            return Some((index, Violation::Title(problem)));
        }
        if let Some(Retention::Years(years)) = unit.retention
            && years > MAX_RETENTION_YEARS
        {
            return Some((index, Violation::RetentionTooLong { years }));
        }
    }
    None
}

fn title_problem(title: &str) -> Option<TitleProblem> {
    if title.is_empty() {
        Some(TitleProblem::Empty)
    } else if title.chars().any(char::is_control) {
        Some(TitleProblem::ControlCharacter)
    } else if title.trim() != title {
        Some(TitleProblem::SurroundingWhitespace)
    } else {
        None
    }
}

/// Splits one line (without its line break) into fields at `;`. A field that starts with `"`, after
/// optional whitespace, is quoted: it runs to the next lone `"`, and `""` inside stands for `"`.
/// A `"` inside an unquoted field is taken literally.
fn split_csv_line(line: &str) -> Result<Vec<String>, CsvProblem> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.trim_start().strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let after_closing_quote = loop {
                match chars.next() {
                    None => return Err(CsvProblem::UnclosedQuote),
                    Some((index, '"')) if quoted[index + 1..].starts_with('"') => {
                        value.push('"');
                        chars.next();
                    }
                    Some((index, '"')) => break quoted[index + 1..].trim_start(),
                    Some((_, character)) => value.push(character),
                }
            };
            fields.push(value);
            if after_closing_quote.is_empty() {
                return Ok(fields);
            }
            rest = after_closing_quote.strip_prefix(';').ok_or(CsvProblem::TextAfterClosingQuote)?;
        } else {
            match rest.split_once(';') {
                Some((field, next)) => {
                    fields.push(field.to_owned());
                    rest = next;
                }
                None => {
                    fields.push(rest.to_owned());
                    return Ok(fields);
                }
            }
        }
    }
}

/// Quotes a field when it contains `;` or `"`, or would otherwise lose surrounding whitespace.
fn quote_csv_field(field: &str) -> Cow<'_, str> {
    if field.contains([';', '"']) || field.trim() != field {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

/// Reads the `aufbewahrung` field; the outer `None` means the text is not valid.
fn parse_csv_retention(text: &str) -> Option<Option<Retention>> {
    if text.is_empty() {
        return Some(None);
    }
    if text.eq_ignore_ascii_case(UNLIMITED_WORD) || text.eq_ignore_ascii_case(UNLIMITED_SYNONYM) {
        return Some(Some(Retention::Unlimited));
    }
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    match text.parse::<u16>() {
        Ok(years) if years <= MAX_RETENTION_YEARS => Some(Some(Retention::Years(years))),
        _ => None,
    }
}

/// Reads the `aussonderungsart` field; the outer `None` means the text is not valid.
fn parse_csv_aussonderung(text: &str) -> Option<Option<Aussonderungsart>> {
    if text.is_empty() { Some(None) } else { Aussonderungsart::from_code(text).map(Some) }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::aktenzeichen::KeyProblem;

    fn key(text: &str) -> AktenplanKey {
        AktenplanKey::parse(text).unwrap()
    }

    fn unit(key_text: &str, title: &str) -> Unit {
        Unit { key: key(key_text), title: title.to_owned(), retention: None, aussonderung: None }
    }

    fn keys<'a>(units: impl Iterator<Item = &'a Unit>) -> Vec<&'a str> {
        units.map(|unit| unit.key.as_str()).collect()
    }

    /// The error `from_csv` gives for `text`, which must be a CSV problem.
    fn csv_problem(text: &str) -> (u64, CsvProblem) {
        match Aktenplan::from_csv(text) {
            Err(AktenplanError::Csv { line, problem }) => (line, problem),
            other => panic!("expected a CSV error, got {other:?}"),
        }
    }

    fn csv_with_rows(rows: &str) -> String {
        format!("{CSV_HEADER}\n{rows}")
    }

    #[test]
    fn new_accepts_units_in_any_order_and_sorts_them_by_key() {
        let plan = Aktenplan::new(vec![
            unit("32.10.05", "Gewerbeanzeigen"),
            unit("32.9", "Sonstiges"),
            unit("32", "Ordnung"),
            unit("32.10", "Gewerbe"),
        ])
        .unwrap();
        assert_eq!(keys(plan.units()), ["32", "32.9", "32.10", "32.10.05"]);
        assert_eq!(plan.len(), 4);
        assert!(!plan.is_empty());
        assert!(Aktenplan::new(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn new_rejects_duplicate_keys() {
        let error = Aktenplan::new(vec![unit("32", "Ordnung"), unit("32", "Ordnung, nochmal")]).unwrap_err();
        assert_eq!(error, AktenplanError::DuplicateUnit { key: key("32") });
        assert_eq!(error.to_string(), "unit 32 appears more than once; keep only one of them");
    }

    #[test]
    fn new_rejects_a_unit_whose_parent_is_missing() {
        let error =
            Aktenplan::new(vec![unit("32", "Ordnung"), unit("32.10.05", "Gewerbeanzeigen")]).unwrap_err();
        assert_eq!(error, AktenplanError::MissingParent { key: key("32.10.05"), parent: key("32.10") });
        assert_eq!(error.to_string(), "unit 32.10.05 has no parent unit 32.10; add unit 32.10 to the plan");
    }

    #[test]
    fn new_rejects_bad_titles() {
        let cases = [
            ("", TitleProblem::Empty),
            ("Ordnung\nund Sicherheit", TitleProblem::ControlCharacter),
            ("Ordnung\tund Sicherheit", TitleProblem::ControlCharacter),
            ("Ordnung\u{7f}", TitleProblem::ControlCharacter),
            (" Ordnung", TitleProblem::SurroundingWhitespace),
            ("Ordnung\u{a0}", TitleProblem::SurroundingWhitespace),
        ];
        for (title, problem) in cases {
            assert_eq!(
                Aktenplan::new(vec![unit("32", title)]),
                Err(AktenplanError::InvalidTitle { key: key("32"), problem }),
                "title {title:?}"
            );
        }
        let message = Aktenplan::new(vec![unit("32", "")]).unwrap_err().to_string();
        assert_eq!(message, "unit 32: the title is empty; every unit needs a title");
    }

    #[test]
    fn new_rejects_retention_beyond_999_years() {
        let mut long = unit("32", "Ordnung");
        long.retention = Some(Retention::Years(1000));
        assert_eq!(
            Aktenplan::new(vec![long.clone()]),
            Err(AktenplanError::RetentionTooLong { key: key("32"), years: 1000 })
        );
        long.retention = Some(Retention::Years(999));
        assert_eq!(
            Aktenplan::new(vec![long]).unwrap().unit(&key("32")).unwrap().retention,
            Some(Retention::Years(999))
        );
    }

    #[test]
    fn new_reports_the_first_violation_in_input_order() {
        let error = Aktenplan::new(vec![unit("50", ""), unit("32.10", "Gewerbe")]).unwrap_err();
        assert_eq!(error, AktenplanError::InvalidTitle { key: key("50"), problem: TitleProblem::Empty });
    }

    #[test]
    fn lookups_follow_the_tree() {
        let plan = Aktenplan::example_kgst();
        assert_eq!(plan.unit(&key("32.10.05")).unwrap().title, "Gewerbeanzeigen (An-, Um- und Abmeldungen)");
        assert!(plan.unit(&key("32.10.99")).is_none());
        assert!(plan.contains(&key("32.10")));
        assert_eq!(keys(plan.roots()), ["10", "32", "50"]);
        assert_eq!(keys(plan.children(&key("32"))), ["32.10", "32.30"]);
        assert_eq!(keys(plan.children(&key("32.10"))), ["32.10.05", "32.10.10"]);
        assert_eq!(keys(plan.children(&key("32.10.05"))), Vec::<&str>::new());
        assert_eq!(keys(plan.children(&key("99"))), Vec::<&str>::new());
        assert_eq!(keys(plan.descendants(&key("32"))), ["32.10", "32.10.05", "32.10.10", "32.30"]);
    }

    #[test]
    fn children_do_not_include_keys_that_merely_share_a_prefix() {
        let plan = Aktenplan::new(vec![
            unit("32", "a"),
            unit("32.1", "b"),
            unit("32.1.1", "c"),
            unit("32.10", "d"),
            unit("32.10.1", "e"),
            unit("32.01", "f"),
            unit("32.01.1", "g"),
        ])
        .unwrap();
        assert_eq!(keys(plan.children(&key("32.1"))), ["32.1.1"]);
        assert_eq!(keys(plan.descendants(&key("32.1"))), ["32.1.1"]);
        assert_eq!(keys(plan.children(&key("32"))), ["32.01", "32.1", "32.10"]);
    }

    #[test]
    fn effective_values_come_from_the_unit_or_its_nearest_ancestor() {
        let plan = Aktenplan::example_kgst();
        // Own values.
        assert_eq!(plan.effective_retention(&key("32.10.05")), Some(Retention::Years(5)));
        assert_eq!(plan.effective_aussonderung(&key("32.10.05")), Some(Aussonderungsart::Vernichten));
        // 32.10.10 and 32.10 have none, so 32 decides.
        assert_eq!(plan.effective_retention(&key("32.10.10")), Some(Retention::Years(10)));
        assert_eq!(plan.effective_aussonderung(&key("32.10.10")), Some(Aussonderungsart::Bewerten));
        // Keys below the plan's leaves inherit too.
        assert_eq!(plan.effective_retention(&key("10.20.01.7")), Some(Retention::Unlimited));
        // Nothing above: no value.
        assert_eq!(plan.effective_retention(&key("99.1")), None);
        let bare = Aktenplan::new(vec![unit("1", "a"), unit("1.2", "b")]).unwrap();
        assert_eq!(bare.effective_retention(&key("1.2")), None);
        assert_eq!(bare.effective_aussonderung(&key("1.2")), None);
    }

    #[test]
    fn example_plan_is_small_and_covers_every_kind_of_value() {
        let plan = Aktenplan::example_kgst();
        assert!((8..=15).contains(&plan.len()), "{} units", plan.len());
        let retentions: HashSet<_> = plan.units().map(|unit| unit.retention).collect();
        assert!(retentions.contains(&None) && retentions.contains(&Some(Retention::Unlimited)));
        let arts: HashSet<_> = plan.units().filter_map(|unit| unit.aussonderung).collect();
        assert_eq!(arts.len(), 3);
    }

    #[test]
    fn json_uses_codes_and_the_word_unbegrenzt() {
        let mut archived = unit("10", "Organisation");
        archived.retention = Some(Retention::Unlimited);
        archived.aussonderung = Some(Aussonderungsart::Archivieren);
        let mut destroyed = unit("10.1", "Dienstanweisungen");
        destroyed.retention = Some(Retention::Years(10));
        destroyed.aussonderung = Some(Aussonderungsart::Vernichten);
        let plan = Aktenplan::new(vec![archived, destroyed, unit("10.2", "Sonstiges")]).unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(
            json,
            r#"{"units":[{"key":"10","title":"Organisation","retention":"unbegrenzt","aussonderung":"A"},{"key":"10.1","title":"Dienstanweisungen","retention":10,"aussonderung":"V"},{"key":"10.2","title":"Sonstiges"}]}"#
        );
        assert_eq!(serde_json::from_str::<Aktenplan>(&json).unwrap(), plan);
        let example = Aktenplan::example_kgst();
        assert_eq!(
            serde_json::from_str::<Aktenplan>(&serde_json::to_string(&example).unwrap()).unwrap(),
            example
        );
    }

    #[test]
    fn json_deserialization_validates_the_plan_and_its_values() {
        let orphan = r#"{"units":[{"key":"32.10","title":"Gewerbe"}]}"#;
        let error = serde_json::from_str::<Aktenplan>(orphan).unwrap_err().to_string();
        assert!(error.contains("unit 32.10 has no parent unit 32"), "{error}");
        let bad_retention = r#"{"units":[{"key":"32","title":"Ordnung","retention":"ewig"}]}"#;
        let error = serde_json::from_str::<Aktenplan>(bad_retention).unwrap_err().to_string();
        assert!(error.contains("a number of years or \"unbegrenzt\""), "{error}");
        assert!(serde_json::from_str::<Retention>("-1").is_err());
        assert!(serde_json::from_str::<Retention>("70000").is_err());
        assert!(serde_json::from_str::<Aussonderungsart>("\"X\"").is_err());
        assert_eq!(serde_json::from_str::<Aussonderungsart>("\"B\"").unwrap(), Aussonderungsart::Bewerten);
    }

    #[test]
    fn aussonderungsart_codes_and_words() {
        assert_eq!(Aussonderungsart::from_code("a"), Some(Aussonderungsart::Archivieren));
        assert_eq!(Aussonderungsart::from_code("V"), Some(Aussonderungsart::Vernichten));
        assert_eq!(Aussonderungsart::from_code("Bewerten"), Some(Aussonderungsart::Bewerten));
        assert_eq!(Aussonderungsart::from_code("X"), None);
        assert_eq!(Aussonderungsart::from_code(""), None);
        assert_eq!(Aussonderungsart::Bewerten.code(), "B");
    }

    #[test]
    fn from_csv_reads_the_documented_format() {
        let text = "\u{feff}# Aktenplan der Beispielstadt\r\n\
                    \r\n\
                    Kennzeichen;Titel;Aufbewahrung;Aussonderungsart\r\n\
                    32;Ordnungsangelegenheiten;10;b\r\n\
                    ;;;\r\n\
                    # Gewerbe\r\n\
                    32.10.05 ; Gewerbeanzeigen ; 5 ; V \r\n\
                    32.10;\"Gewerbe; Gaststätten und \"\"Märkte\"\"\";;\r\n\
                    32.10.10;Gaststätten;Dauernd;Archivieren\r\n\
                    32.20;Märkte;UNBEGRENZT;\r\n";
        let plan = Aktenplan::from_csv(text).unwrap();
        assert_eq!(keys(plan.units()), ["32", "32.10", "32.10.05", "32.10.10", "32.20"]);
        let expected = |key_text: &str, title: &str, retention, aussonderung| Unit {
            key: key(key_text),
            title: title.to_owned(),
            retention,
            aussonderung,
        };
        assert_eq!(
            plan.units().cloned().collect::<Vec<_>>(),
            [
                expected(
                    "32",
                    "Ordnungsangelegenheiten",
                    Some(Retention::Years(10)),
                    Some(Aussonderungsart::Bewerten)
                ),
                expected("32.10", "Gewerbe; Gaststätten und \"Märkte\"", None, None),
                expected(
                    "32.10.05",
                    "Gewerbeanzeigen",
                    Some(Retention::Years(5)),
                    Some(Aussonderungsart::Vernichten)
                ),
                expected(
                    "32.10.10",
                    "Gaststätten",
                    Some(Retention::Unlimited),
                    Some(Aussonderungsart::Archivieren)
                ),
                expected("32.20", "Märkte", Some(Retention::Unlimited), None),
            ]
        );
    }

    #[test]
    fn from_csv_accepts_a_header_only_file_as_an_empty_plan() {
        assert!(Aktenplan::from_csv(CSV_HEADER).unwrap().is_empty());
    }

    #[test]
    fn from_csv_requires_the_header() {
        assert_eq!(csv_problem(""), (1, CsvProblem::MissingHeader));
        assert_eq!(csv_problem("\u{feff}# nur ein Kommentar\n\n"), (1, CsvProblem::MissingHeader));
        assert_eq!(
            csv_problem("# Kommentar\n32;Ordnung;10;B\n"),
            (2, CsvProblem::WrongHeader { found: "32;Ordnung;10;B".into() })
        );
        assert_eq!(
            csv_problem("kennzeichen;titel;aufbewahrung\n"),
            (1, CsvProblem::WrongHeader { found: "kennzeichen;titel;aufbewahrung".into() })
        );
        assert_eq!(
            Aktenplan::from_csv("").unwrap_err().to_string(),
            "line 1: the header line is missing; start the file with the line \
             kennzeichen;titel;aufbewahrung;aussonderungsart"
        );
    }

    #[test]
    fn from_csv_requires_four_fields_per_line() {
        let text = csv_with_rows("32;Ordnung;10;B\n32.10;Gewerbe; Gaststätten;10;B\n");
        assert_eq!(csv_problem(&text), (3, CsvProblem::WrongFieldCount { found: 5 }));
        let text = csv_with_rows("32;Ordnung\n");
        assert_eq!(csv_problem(&text), (2, CsvProblem::WrongFieldCount { found: 2 }));
        assert_eq!(
            Aktenplan::from_csv(&text).unwrap_err().to_string(),
            "line 2: expected 4 fields separated by ';' (kennzeichen;titel;aufbewahrung;aussonderungsart), \
             found 2; put a title that contains ';' in double quotes"
        );
    }

    #[test]
    fn from_csv_rejects_invalid_keys_naming_the_field() {
        let text = csv_with_rows("32;Ordnung;;\n32..10;Gewerbe;;\n");
        let (line, problem) = csv_problem(&text);
        assert_eq!(line, 3);
        match &problem {
            CsvProblem::InvalidKey { error: AktenzeichenError::InvalidKey { input, problem } } => {
                assert_eq!(input, "32..10");
                assert_eq!(*problem, KeyProblem::EmptySegment { position: 2 });
            }
            other => panic!("expected an invalid key, got {other:?}"),
        }
        let message = Aktenplan::from_csv(&text).unwrap_err().to_string();
        assert!(
            message.starts_with("line 3, field kennzeichen: invalid Aktenplan key \"32..10\""),
            "{message}"
        );
    }

    #[test]
    fn from_csv_rejects_duplicates_naming_both_lines() {
        let text = csv_with_rows("32;Ordnung;;\n# Kommentar\n32;Ordnung, nochmal;;\n");
        assert_eq!(csv_problem(&text), (4, CsvProblem::DuplicateUnit { key: key("32"), first_line: 2 }));
        assert_eq!(
            Aktenplan::from_csv(&text).unwrap_err().to_string(),
            "line 4, field kennzeichen: unit 32 already appears on line 2; remove one of the two lines"
        );
    }

    #[test]
    fn from_csv_rejects_a_missing_parent_saying_which_line_to_add() {
        let text = csv_with_rows(
            "# Ordnungsamt\n32;Ordnung;;\n\n\n32.10.01;Gewerbe allgemein;;\n32.20;Märkte;;\n32.10.05;Gewerbeanzeigen;;\n",
        );
        assert_eq!(
            csv_problem(&text),
            (6, CsvProblem::MissingParent { key: key("32.10.01"), parent: key("32.10") })
        );
        assert_eq!(
            Aktenplan::from_csv(&text).unwrap_err().to_string(),
            "line 6, field kennzeichen: unit 32.10.01 has no parent unit 32.10; add a line for 32.10 above it"
        );
    }

    #[test]
    fn from_csv_rejects_bad_titles() {
        let text = csv_with_rows("32;;10;B\n");
        assert_eq!(
            csv_problem(&text),
            (2, CsvProblem::InvalidTitle { key: key("32"), problem: TitleProblem::Empty })
        );
        assert_eq!(
            Aktenplan::from_csv(&text).unwrap_err().to_string(),
            "line 2, field titel: unit 32: the title is empty; every unit needs a title"
        );
        let text = csv_with_rows("32;Ordnung\tund Sicherheit;10;B\n");
        assert_eq!(
            csv_problem(&text),
            (2, CsvProblem::InvalidTitle { key: key("32"), problem: TitleProblem::ControlCharacter })
        );
    }

    #[test]
    fn from_csv_rejects_broken_quoting() {
        let text = csv_with_rows("32;Ordnung;;\n32.1;\"Ordnung\nund Sicherheit\";10;B\n");
        assert_eq!(csv_problem(&text), (3, CsvProblem::UnclosedQuote));
        let text = csv_with_rows("32;\"Ordnung\" und Sicherheit;10;B\n");
        assert_eq!(csv_problem(&text), (2, CsvProblem::TextAfterClosingQuote));
        assert_eq!(
            Aktenplan::from_csv(&text).unwrap_err().to_string(),
            "line 2: text follows the closing double quote of a field; put the whole field in quotes and \
             write each \" inside it twice"
        );
    }

    #[test]
    fn csv_lines_split_at_semicolons_outside_quotes() {
        let split = |line: &str| split_csv_line(line).unwrap();
        assert_eq!(split("a;b;;"), ["a", "b", "", ""]);
        assert_eq!(split(""), [""]);
        assert_eq!(split("\"a;b\";c"), ["a;b", "c"]);
        assert_eq!(split(" \"a\"\"b\" ; c"), ["a\"b", " c"]);
        assert_eq!(split("\"\""), [""]);
        assert_eq!(split("Müller\"s;x"), ["Müller\"s", "x"]);
        assert_eq!(split_csv_line("\"a\"\""), Err(CsvProblem::UnclosedQuote));
        assert_eq!(quote_csv_field("plain"), "plain");
        assert_eq!(quote_csv_field("a;b"), "\"a;b\"");
        assert_eq!(quote_csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn from_csv_rejects_bad_retention() {
        for bad in ["zehn", "1000", "-1", "10 Jahre", "1.5", "99999999"] {
            let text = csv_with_rows(&format!("32;Ordnung;{bad};B\n"));
            assert_eq!(csv_problem(&text), (2, CsvProblem::InvalidRetention { found: bad.into() }), "{bad}");
        }
        let message = Aktenplan::from_csv(&csv_with_rows("32;Ordnung;zehn;B\n")).unwrap_err().to_string();
        assert_eq!(
            message,
            "line 2, field aufbewahrung: \"zehn\" is not a retention period; write a number of years from 0 to \
             999, unbegrenzt, or leave the field empty to inherit it"
        );
        let plan = Aktenplan::from_csv(&csv_with_rows("32;Ordnung;0;V\n32.1;Ordnung;999;V\n")).unwrap();
        assert_eq!(plan.unit(&key("32")).unwrap().retention, Some(Retention::Years(0)));
        assert_eq!(plan.unit(&key("32.1")).unwrap().retention, Some(Retention::Years(999)));
    }

    #[test]
    fn from_csv_rejects_bad_aussonderungsart() {
        let text = csv_with_rows("32;Ordnung;10;X\n");
        assert_eq!(csv_problem(&text), (2, CsvProblem::InvalidAussonderungsart { found: "X".into() }));
        assert_eq!(
            Aktenplan::from_csv(&text).unwrap_err().to_string(),
            "line 2, field aussonderungsart: \"X\" is not an Aussonderungsart; write A (archivieren), V \
             (vernichten), B (bewerten), or leave the field empty to inherit it"
        );
    }

    #[test]
    fn to_csv_writes_bom_header_and_quotes_only_where_needed() {
        let mut ordnung = unit("32", "Ordnung; Sicherheit");
        ordnung.retention = Some(Retention::Unlimited);
        ordnung.aussonderung = Some(Aussonderungsart::Archivieren);
        let mut gewerbe = unit("32.10", "Gewerbe \"Märkte\"");
        gewerbe.retention = Some(Retention::Years(5));
        let plan = Aktenplan::new(vec![gewerbe, ordnung, unit("32.9", "Straßen")]).unwrap();
        assert_eq!(
            plan.to_csv(),
            "\u{feff}kennzeichen;titel;aufbewahrung;aussonderungsart\n\
             32;\"Ordnung; Sicherheit\";unbegrenzt;A\n\
             32.9;Straßen;;\n\
             32.10;\"Gewerbe \"\"Märkte\"\"\";5;\n"
        );
    }

    #[test]
    fn csv_round_trips_the_example_and_awkward_titles() {
        let example = Aktenplan::example_kgst();
        assert_eq!(Aktenplan::from_csv(&example.to_csv()).unwrap(), example);
        let titles =
            ["a;b", "\"quoted\"", "say \"hi\"; bye", "#not a comment", "Übersicht Größe ÄÖÜ ß", "'", ";"];
        let mut units = vec![unit("1", "root")];
        units.extend(titles.iter().enumerate().map(|(index, title)| unit(&format!("1.{index}"), title)));
        let plan = Aktenplan::new(units).unwrap();
        assert_eq!(Aktenplan::from_csv(&plan.to_csv()).unwrap(), plan);
    }

    fn retention_strategy() -> impl Strategy<Value = Option<Retention>> {
        proptest::option::of(prop_oneof![
            (0..=MAX_RETENTION_YEARS).prop_map(Retention::Years),
            Just(Retention::Unlimited),
        ])
    }

    fn aussonderung_strategy() -> impl Strategy<Value = Option<Aussonderungsart>> {
        proptest::option::of(prop_oneof![
            Just(Aussonderungsart::Archivieren),
            Just(Aussonderungsart::Vernichten),
            Just(Aussonderungsart::Bewerten),
        ])
    }

    /// Valid titles, including the characters that need CSV quoting.
    fn title_strategy() -> impl Strategy<Value = String> {
        "[A-Za-zÄÖÜäöüß0-9;\"#,'() -]{1,20}"
            .prop_map(|title| title.trim().to_owned())
            .prop_filter("titles are not empty", |title| !title.is_empty())
    }

    /// Random plans: random units, plus every missing ancestor so that the tree has no gaps.
    fn plan_strategy() -> impl Strategy<Value = Aktenplan> {
        let key = proptest::collection::vec("[0-9]{1,2}", 1..=4).prop_map(|segments| segments.join("."));
        let unit = (key, title_strategy(), retention_strategy(), aussonderung_strategy());
        proptest::collection::vec(unit, 0..25).prop_map(|units| {
            let mut by_key = BTreeMap::new();
            for (key_text, title, retention, aussonderung) in units {
                let key = AktenplanKey::parse(&key_text).unwrap();
                for ancestor in key.ancestors() {
                    let title = format!("Gruppe {ancestor}");
                    by_key.entry(ancestor.clone()).or_insert(Unit {
                        key: ancestor,
                        title,
                        retention: None,
                        aussonderung: None,
                    });
                }
                by_key.insert(key.clone(), Unit { key, title, retention, aussonderung });
            }
            Aktenplan::new(by_key.into_values().collect()).unwrap()
        })
    }

    proptest! {
        #[test]
        fn csv_round_trips_every_plan(plan in plan_strategy()) {
            let text = plan.to_csv();
            prop_assert_eq!(Aktenplan::from_csv(&text).unwrap(), plan);
        }

        #[test]
        fn json_round_trips_every_plan(plan in plan_strategy()) {
            let json = serde_json::to_string(&plan).unwrap();
            prop_assert_eq!(serde_json::from_str::<Aktenplan>(&json).unwrap(), plan);
        }

        #[test]
        fn children_and_descendants_agree_with_the_keys(plan in plan_strategy()) {
            for unit in plan.units() {
                let listed = match unit.key.parent() {
                    Some(parent) => plan.children(&parent).any(|child| child.key == unit.key),
                    None => plan.roots().any(|root| root.key == unit.key),
                };
                prop_assert!(listed, "unit {} is missing from its parent's children", unit.key);
            }
            for unit in plan.units() {
                let expected: Vec<&AktenplanKey> = plan
                    .units()
                    .filter(|other| other.key.is_within(&unit.key) && other.key != unit.key)
                    .map(|other| &other.key)
                    .collect();
                let descendants: Vec<&AktenplanKey> = plan.descendants(&unit.key).map(|other| &other.key).collect();
                prop_assert_eq!(descendants, expected);
            }
            let child_count: usize = plan.units().map(|unit| plan.children(&unit.key).count()).sum();
            prop_assert_eq!(child_count + plan.roots().count(), plan.len());
        }

        #[test]
        fn from_csv_never_panics(text in "[0-9.;\"#a-zA-Z \n\r]{0,80}") {
            let header_and_text = format!("{CSV_HEADER}\n{text}");
            if let Ok(plan) = Aktenplan::from_csv(&header_and_text) {
                prop_assert_eq!(Aktenplan::from_csv(&plan.to_csv()).unwrap(), plan);
            }
            let _ = Aktenplan::from_csv(&text);
        }
    }
}
