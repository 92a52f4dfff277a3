//! The Aktenzeichen (file reference) grammar: Aktenplan keys, and a configurable template that turns an
//! [`Aktenzeichen`] into text and back.
//!
//! An Aktenzeichen is an Aktenplan key plus the parts that tell Akten under that key apart. The default
//! shape is `32.10.05-123/2024`: key `32.10.05`, running number `123`, year `2024`. Authorities write
//! their Aktenzeichen differently, so the shape is a template ([`AktenzeichenFormat`]) with the
//! placeholders `{key}`, `{nr}` and `{year}`; the default template is `{key}-{nr}/{year}`.
//!
//! Grammar (all digits are ASCII):
//! - **Aktenplan key** ([`AktenplanKey`]): 1 to 8 segments separated by `.`, each 1 to 4 digits, for
//!   example `32`, `32.10`, `32.10.05`. Leading zeros inside a segment are kept as written, because
//!   Aktenplaene use them (`05`).
//! - **running number**: 1 to 99999999, written without leading zeros.
//! - **year**: 1900 to 2999, four digits.
//! - **template**: each placeholder exactly once, in any order, with non-empty literal text between any
//!   two placeholders; literal text may also start or end the template (`AZ {key}/{nr}-{year}`).
//!   Literal text must not contain digits or `.`, so that every field is exactly one run of digits and
//!   dots and parsing is never ambiguous. It must not contain `{`, `}` or control characters, and the
//!   template must not start or end with whitespace (input is trimmed before parsing).
//!
//! Parse errors are meant for people and client programs: they name the part that is wrong and show the
//! expected shape, because the gRPC layer forwards them verbatim as `INVALID_ARGUMENT`.

use std::cmp::Ordering;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The template used when an authority configures none.
pub const DEFAULT_TEMPLATE: &str = "{key}-{nr}/{year}";
/// At most this many `.`-separated segments in an Aktenplan key.
pub const MAX_KEY_SEGMENTS: usize = 8;
/// At most this many digits in one segment of an Aktenplan key.
pub const MAX_KEY_SEGMENT_DIGITS: usize = 4;
/// The allowed running numbers.
pub const RUNNING_NUMBERS: RangeInclusive<u32> = 1..=99_999_999;
/// The allowed years.
pub const YEARS: RangeInclusive<u16> = 1900..=2999;

/// Inputs longer than this are shortened in error messages, so that a client sending garbage does
/// not get a megabyte of it echoed back.
const MAX_INPUT_CHARS_IN_MESSAGES: usize = 80;

/// The key of an Aktenplaneinheit, such as `32.10.05`.
///
/// Always valid: the only ways to get one are [`AktenplanKey::parse`] and deserialization, which
/// validates too. Keys order segment by segment, numerically (`32.9` < `32.10` < `32.10.05` < `33`),
/// so a sorted list of keys lists every unit directly before its descendants.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AktenplanKey(String);

/// A file reference: which Aktenplan unit, which running number, which year.
///
/// The fields are private so that every value is within range; build one with [`Aktenzeichen::new`]
/// or [`AktenzeichenFormat::parse`], turn it into text with [`AktenzeichenFormat::format`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Aktenzeichen {
    key: AktenplanKey,
    number: u32,
    year: u16,
}

/// A validated Aktenzeichen template such as `{key}-{nr}/{year}`; parses and formats Aktenzeichen.
///
/// Serializes as its template string, so it can sit directly in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AktenzeichenFormat {
    template: String,
    tokens: Vec<TemplateToken>,
}

/// One of the three variable parts of an Aktenzeichen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AktenzeichenPart {
    Key,
    Number,
    Year,
}

/// A rejected Aktenplan key or Aktenzeichen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AktenzeichenError {
    #[error(
        "invalid Aktenplan key {}: {problem}; expected 1 to 8 groups of 1 to 4 digits separated by '.', \
         e.g. 32.10.05",
        shorten_for_message(.input)
    )]
    InvalidKey { input: String, problem: KeyProblem },
    /// Boxed because it is large and errors are rare; see [`AktenzeichenParseFailure`].
    #[error(transparent)]
    InvalidAktenzeichen(Box<AktenzeichenParseFailure>),
    #[error("running number {number} is out of range; use 1 to 99999999")]
    NumberOutOfRange { number: u32 },
    #[error("year {year} is out of range; use 1900 to 2999")]
    YearOutOfRange { year: u16 },
}

/// A text that [`AktenzeichenFormat::parse`] rejected, what is wrong with it, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid Aktenzeichen {}: {problem}; expected the shape {example} (template {template})",
    shorten_for_message(.input)
)]
pub struct AktenzeichenParseFailure {
    /// The input after trimming surrounding whitespace.
    pub input: String,
    pub problem: AktenzeichenProblem,
    /// [`AktenzeichenFormat::example`] of the format that rejected the input.
    pub example: String,
    pub template: String,
}

/// What exactly is wrong with an Aktenplan key. Segment positions count from 1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("it is empty")]
    Empty,
    #[error("it has {count} segments, at most 8 are allowed")]
    TooManySegments { count: usize },
    #[error("segment {position} is empty")]
    EmptySegment { position: usize },
    #[error("segment {position} {segment:?} contains something other than the digits 0-9")]
    NotDigits { position: usize, segment: String },
    #[error("segment {position} {segment:?} has more than 4 digits")]
    SegmentTooLong { position: usize, segment: String },
}

/// What exactly is wrong with an Aktenzeichen, relative to the template it was parsed with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AktenzeichenProblem {
    #[error("it is empty")]
    Empty,
    #[error("{text:?} is missing at the start")]
    MissingLeadingText { text: String },
    #[error("the separator {text:?} after {after} is missing")]
    MissingSeparator { text: String, after: AktenzeichenPart },
    #[error("{part} is missing")]
    MissingPart { part: AktenzeichenPart },
    #[error("the Aktenplan key {key:?} is invalid: {problem}")]
    InvalidKey { key: String, problem: KeyProblem },
    #[error("the running number must be digits")]
    NumberNotDigits,
    #[error("the running number must not start with 0")]
    NumberLeadingZero,
    #[error("the running number must be between 1 and 99999999")]
    NumberOutOfRange,
    #[error("the year must be digits")]
    YearNotDigits,
    #[error("the year must be between 1900 and 2999")]
    YearOutOfRange,
    #[error("unexpected text {text:?} after {after}")]
    TrailingText { text: String, after: AktenzeichenPart },
}

/// A rejected Aktenzeichen template.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid Aktenzeichen template {template:?}: {problem}; a template contains {{key}}, {{nr}} and \
     {{year}} once each, separated by text without digits or '.', e.g. {{key}}-{{nr}}/{{year}}"
)]
pub struct TemplateError {
    pub template: String,
    pub problem: TemplateProblem,
}

/// What exactly is wrong with an Aktenzeichen template.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("the placeholder {placeholder} is missing")]
    MissingPlaceholder { placeholder: &'static str },
    #[error("the placeholder {placeholder} appears more than once")]
    RepeatedPlaceholder { placeholder: &'static str },
    #[error("{found} is not a placeholder; use only {{key}}, {{nr}} and {{year}}")]
    UnknownPlaceholder { found: String },
    #[error("a '{{' or '}}' is not part of a placeholder; remove it")]
    StrayBrace,
    #[error("{first}{second} has no text between the placeholders; put a separator such as '/' between them")]
    AdjacentPlaceholders { first: &'static str, second: &'static str },
    #[error("the text {literal:?} contains a digit or '.', which would make parsing ambiguous; remove it")]
    DigitOrDotInText { literal: String },
    #[error("the text {literal:?} contains a control character; remove it")]
    ControlCharacterInText { literal: String },
    #[error("it starts or ends with whitespace, which parsing would trim away; remove it")]
    SurroundingWhitespace,
}

/// A parsed template: literal text and placeholders in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TemplateToken {
    Literal(String),
    Placeholder(AktenzeichenPart),
}

impl AktenplanKey {
    /// Validates `input` as an Aktenplan key. The input is taken as is: surrounding whitespace is an
    /// error, not trimmed.
    pub fn parse(input: &str) -> Result<Self, AktenzeichenError> {
        match key_problem(input) {
            None => Ok(AktenplanKey(input.to_owned())),
            Some(problem) => Err(AktenzeichenError::InvalidKey { input: input.to_owned(), problem }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `.`-separated segments, top level first: `32.10.05` → `32`, `10`, `05`.
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('.')
    }

    /// How many segments the key has; a top-level unit has depth 1.
    pub fn depth(&self) -> usize {
        self.segments().count()
    }

    /// The key of the unit directly above, or `None` for a top-level key: `32.10.05` → `32.10`.
    pub fn parent(&self) -> Option<AktenplanKey> {
        self.0.rsplit_once('.').map(|(parent, _)| AktenplanKey(parent.to_owned()))
    }

    /// The keys above this one, nearest first: `32.10.05` → `32.10`, `32`.
    pub fn ancestors(&self) -> impl Iterator<Item = AktenplanKey> {
        std::iter::successors(self.parent(), AktenplanKey::parent)
    }

    /// Whether this key is `ancestor` itself or lies below it, comparing whole segments:
    /// `32.10.05` is within `32.10`, `32` and `32.10.05`, but `32.100` is not within `32.10`.
    pub fn is_within(&self, ancestor: &AktenplanKey) -> bool {
        match self.0.strip_prefix(ancestor.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('.'),
            None => false,
        }
    }
}

impl Aktenzeichen {
    /// Checks that `number` and `year` are within [`RUNNING_NUMBERS`] and [`YEARS`].
    pub fn new(key: AktenplanKey, number: u32, year: u16) -> Result<Self, AktenzeichenError> {
        if !RUNNING_NUMBERS.contains(&number) {
            return Err(AktenzeichenError::NumberOutOfRange { number });
        }
        if !YEARS.contains(&year) {
            return Err(AktenzeichenError::YearOutOfRange { year });
        }
        Ok(Aktenzeichen { key, number, year })
    }

    pub fn key(&self) -> &AktenplanKey {
        &self.key
    }

    /// The running number, distinguishing Akten with the same key and year.
    pub fn number(&self) -> u32 {
        self.number
    }

    pub fn year(&self) -> u16 {
        self.year
    }
}

impl AktenzeichenFormat {
    /// Validates `template` (see the module documentation for the rules).
    pub fn new(template: &str) -> Result<Self, TemplateError> {
        let fail = |problem| TemplateError { template: template.to_owned(), problem };
        let tokens = tokenize_template(template).map_err(fail)?;
        validate_tokens(template, &tokens).map_err(fail)?;
        Ok(AktenzeichenFormat { template: template.to_owned(), tokens })
    }

    pub fn template(&self) -> &str {
        &self.template
    }

    /// A sample Aktenzeichen in this format, for messages and help texts: `32.10.05-123/2024` for the
    /// default template.
    pub fn example(&self) -> String {
        let example = Aktenzeichen { key: AktenplanKey("32.10.05".to_owned()), number: 123, year: 2024 };
        self.format(&example)
    }

    pub fn format(&self, aktenzeichen: &Aktenzeichen) -> String {
        let mut text = String::new();
        for token in &self.tokens {
            match token {
                TemplateToken::Literal(literal) => text.push_str(literal),
                TemplateToken::Placeholder(AktenzeichenPart::Key) => text.push_str(aktenzeichen.key.as_str()),
                TemplateToken::Placeholder(AktenzeichenPart::Number) => {
                    text.push_str(&aktenzeichen.number.to_string())
                }
                TemplateToken::Placeholder(AktenzeichenPart::Year) => {
                    text.push_str(&aktenzeichen.year.to_string())
                }
            }
        }
        text
    }

    /// Parses `input` after trimming surrounding whitespace; everything else must match the template
    /// exactly (literal text is case-sensitive).
    pub fn parse(&self, input: &str) -> Result<Aktenzeichen, AktenzeichenError> {
        let input = input.trim();
        self.parse_trimmed(input).map_err(|problem| {
            AktenzeichenError::InvalidAktenzeichen(Box::new(AktenzeichenParseFailure {
                input: input.to_owned(),
                problem,
                example: self.example(),
                template: self.template.clone(),
            }))
        })
    }

    fn parse_trimmed(&self, input: &str) -> Result<Aktenzeichen, AktenzeichenProblem> {
        if input.is_empty() {
            return Err(AktenzeichenProblem::Empty);
        }
        let mut rest = input;
        let mut previous_part = None;
        let (mut key, mut number, mut year) = (None, None, None);
        for (index, token) in self.tokens.iter().enumerate() {
            match token {
                TemplateToken::Literal(literal) => {
                    rest = rest.strip_prefix(literal.as_str()).ok_or_else(|| match previous_part {
                        None => AktenzeichenProblem::MissingLeadingText { text: literal.clone() },
                        Some(after) => AktenzeichenProblem::MissingSeparator { text: literal.clone(), after },
                    })?;
                }
                TemplateToken::Placeholder(part) => {
                    // A field runs up to the next literal text. Literal text holds no digits or '.',
                    // so in valid input this is exactly the field's run of digits and dots; in invalid
                    // input it gives the field's garbage to the field, which makes the message precise.
                    let field = match self.tokens.get(index + 1) {
                        Some(TemplateToken::Literal(next)) => match rest.find(next.as_str()) {
                            Some(end) => &rest[..end],
                            None => {
                                return Err(AktenzeichenProblem::MissingSeparator {
                                    text: next.clone(),
                                    after: *part,
                                });
                            }
                        },
                        _ => rest,
                    };
                    rest = &rest[field.len()..];
                    let is_last_token = index + 1 == self.tokens.len();
                    match part {
                        AktenzeichenPart::Key => key = Some(parse_key_field(field, is_last_token)?),
                        AktenzeichenPart::Number => number = Some(parse_number_field(field, is_last_token)?),
                        AktenzeichenPart::Year => year = Some(parse_year_field(field, is_last_token)?),
                    }
                    previous_part = Some(*part);
                }
            }
        }
        if !rest.is_empty() {
            // Only reachable when the template ends with literal text and the input goes on after it.
            let after = previous_part.unwrap_or(AktenzeichenPart::Year);
            return Err(AktenzeichenProblem::TrailingText { text: rest.to_owned(), after });
        }
        match (key, number, year) {
            (Some(key), Some(number), Some(year)) => Ok(Aktenzeichen { key, number, year }),
            // `validate_tokens` guarantees every placeholder once, so all three are set.
            _ => unreachable!("a validated template has every placeholder"),
        }
    }
}

impl Default for AktenzeichenFormat {
    fn default() -> Self {
        AktenzeichenFormat::new(DEFAULT_TEMPLATE).expect("the default template is valid")
    }
}

impl AktenzeichenPart {
    /// The template placeholder for this part, such as `{nr}`.
    pub fn placeholder(self) -> &'static str {
        match self {
            AktenzeichenPart::Key => "{key}",
            AktenzeichenPart::Number => "{nr}",
            AktenzeichenPart::Year => "{year}",
        }
    }

    fn from_placeholder_name(name: &str) -> Option<Self> {
        match name {
            "key" => Some(AktenzeichenPart::Key),
            "nr" => Some(AktenzeichenPart::Number),
            "year" => Some(AktenzeichenPart::Year),
            _ => None,
        }
    }
}

impl fmt::Display for AktenzeichenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AktenzeichenPart::Key => "the Aktenplan key",
            AktenzeichenPart::Number => "the running number",
            AktenzeichenPart::Year => "the year",
        })
    }
}

impl fmt::Display for AktenplanKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Ord for AktenplanKey {
    /// Segment by segment, numerically; a key sorts directly before its descendants. Segments that
    /// differ only in leading zeros compare by their text (`05` < `5`), so that the order agrees with
    /// equality and a unit's descendants still follow it without a gap.
    fn cmp(&self, other: &Self) -> Ordering {
        let mut ours = self.segments();
        let mut theirs = other.segments();
        loop {
            match (ours.next(), theirs.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(a), Some(b)) => {
                    let order = segment_value(a).cmp(&segment_value(b)).then_with(|| a.cmp(b));
                    if order != Ordering::Equal {
                        return order;
                    }
                }
            }
        }
    }
}

impl PartialOrd for AktenplanKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for AktenplanKey {
    type Err = AktenzeichenError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        AktenplanKey::parse(input)
    }
}

impl TryFrom<String> for AktenplanKey {
    type Error = AktenzeichenError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        match key_problem(&input) {
            None => Ok(AktenplanKey(input)),
            Some(problem) => Err(AktenzeichenError::InvalidKey { input, problem }),
        }
    }
}

impl From<AktenplanKey> for String {
    fn from(key: AktenplanKey) -> String {
        key.0
    }
}

impl AsRef<str> for AktenplanKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AktenzeichenFormat {
    type Error = TemplateError;

    fn try_from(template: String) -> Result<Self, Self::Error> {
        AktenzeichenFormat::new(&template)
    }
}

impl From<AktenzeichenFormat> for String {
    fn from(format: AktenzeichenFormat) -> String {
        format.template
    }
}

impl FromStr for AktenzeichenFormat {
    type Err = TemplateError;

    fn from_str(template: &str) -> Result<Self, Self::Err> {
        AktenzeichenFormat::new(template)
    }
}

/// Why `input` is not a valid Aktenplan key, or `None` when it is one.
fn key_problem(input: &str) -> Option<KeyProblem> {
    if input.is_empty() {
        return Some(KeyProblem::Empty);
    }
    let count = input.split('.').count();
    if count > MAX_KEY_SEGMENTS {
        return Some(KeyProblem::TooManySegments { count });
    }
    for (index, segment) in input.split('.').enumerate() {
        let position = index + 1;
        if segment.is_empty() {
            return Some(KeyProblem::EmptySegment { position });
        }
        if !segment.bytes().all(|byte| byte.is_ascii_digit()) {
            return Some(KeyProblem::NotDigits { position, segment: segment.to_owned() });
        }
        if segment.len() > MAX_KEY_SEGMENT_DIGITS {
            return Some(KeyProblem::SegmentTooLong { position, segment: segment.to_owned() });
        }
    }
    None
}

/// The numeric value of a validated key segment (at most 4 digits, so it fits).
fn segment_value(segment: &str) -> u16 {
    segment
        .bytes()
        .fold(0u16, |value, digit| value.saturating_mul(10).saturating_add(u16::from(digit - b'0')))
}

/// The leading run of ASCII digits and dots, which is where a field's valid text would end.
fn leading_field_text(field: &str) -> &str {
    let end = field.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(field.len());
    &field[..end]
}

/// Splits a field that ends the input into its plausible value and trailing junk, so that
/// `32.10.05-123/2024 x` reports the junk rather than an invalid year.
fn split_trailing_text(field: &str, is_last_token: bool) -> (&str, Option<&str>) {
    let value = leading_field_text(field);
    if is_last_token && !value.is_empty() && value.len() < field.len() {
        (value, Some(&field[value.len()..]))
    } else {
        (field, None)
    }
}

fn trailing_text_problem(text: &str, after: AktenzeichenPart) -> AktenzeichenProblem {
    AktenzeichenProblem::TrailingText { text: text.to_owned(), after }
}

fn parse_key_field(field: &str, is_last_token: bool) -> Result<AktenplanKey, AktenzeichenProblem> {
    if field.is_empty() {
        return Err(AktenzeichenProblem::MissingPart { part: AktenzeichenPart::Key });
    }
    let (value, trailing) = split_trailing_text(field, is_last_token);
    if let Some(trailing) = trailing
        && key_problem(value).is_none()
    {
        return Err(trailing_text_problem(trailing, AktenzeichenPart::Key));
    }
    match key_problem(field) {
        None => Ok(AktenplanKey(field.to_owned())),
        Some(problem) => Err(AktenzeichenProblem::InvalidKey { key: field.to_owned(), problem }),
    }
}

fn parse_number_field(field: &str, is_last_token: bool) -> Result<u32, AktenzeichenProblem> {
    if field.is_empty() {
        return Err(AktenzeichenProblem::MissingPart { part: AktenzeichenPart::Number });
    }
    let (value, trailing) = split_trailing_text(field, is_last_token);
    if let Some(trailing) = trailing
        && parse_number_digits(value).is_ok()
    {
        return Err(trailing_text_problem(trailing, AktenzeichenPart::Number));
    }
    parse_number_digits(field)
}

fn parse_number_digits(field: &str) -> Result<u32, AktenzeichenProblem> {
    if !field.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(AktenzeichenProblem::NumberNotDigits);
    }
    if field.len() > 1 && field.starts_with('0') {
        return Err(AktenzeichenProblem::NumberLeadingZero);
    }
    match field.parse::<u32>() {
        Ok(number) if RUNNING_NUMBERS.contains(&number) => Ok(number),
        _ => Err(AktenzeichenProblem::NumberOutOfRange),
    }
}

fn parse_year_field(field: &str, is_last_token: bool) -> Result<u16, AktenzeichenProblem> {
    if field.is_empty() {
        return Err(AktenzeichenProblem::MissingPart { part: AktenzeichenPart::Year });
    }
    let (value, trailing) = split_trailing_text(field, is_last_token);
    if let Some(trailing) = trailing
        && parse_year_digits(value).is_ok()
    {
        return Err(trailing_text_problem(trailing, AktenzeichenPart::Year));
    }
    parse_year_digits(field)
}

fn parse_year_digits(field: &str) -> Result<u16, AktenzeichenProblem> {
    if !field.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(AktenzeichenProblem::YearNotDigits);
    }
    // Four digits exactly: `02024` would parse to a valid number but does not round-trip.
    match field.parse::<u16>() {
        Ok(year) if field.len() == 4 && YEARS.contains(&year) => Ok(year),
        _ => Err(AktenzeichenProblem::YearOutOfRange),
    }
}

/// Splits a template into literal text and placeholders, rejecting unknown placeholders and stray
/// braces.
fn tokenize_template(template: &str) -> Result<Vec<TemplateToken>, TemplateProblem> {
    let mut tokens = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let next_brace = rest.find(['{', '}']).unwrap_or(rest.len());
        if next_brace > 0 {
            tokens.push(TemplateToken::Literal(rest[..next_brace].to_owned()));
            rest = &rest[next_brace..];
            continue;
        }
        if rest.starts_with('}') {
            return Err(TemplateProblem::StrayBrace);
        }
        let Some(close) = rest.find('}') else {
            return Err(TemplateProblem::StrayBrace);
        };
        let name = &rest[1..close];
        if name.contains('{') {
            return Err(TemplateProblem::StrayBrace);
        }
        let part = AktenzeichenPart::from_placeholder_name(name)
            .ok_or_else(|| TemplateProblem::UnknownPlaceholder { found: rest[..=close].to_owned() })?;
        tokens.push(TemplateToken::Placeholder(part));
        rest = &rest[close + 1..];
    }
    Ok(tokens)
}

/// Checks the rules that make parsing unambiguous (see the module documentation).
fn validate_tokens(template: &str, tokens: &[TemplateToken]) -> Result<(), TemplateProblem> {
    for part in [AktenzeichenPart::Key, AktenzeichenPart::Number, AktenzeichenPart::Year] {
        let count = tokens.iter().filter(|token| **token == TemplateToken::Placeholder(part)).count();
        if count == 0 {
            return Err(TemplateProblem::MissingPlaceholder { placeholder: part.placeholder() });
        }
        if count > 1 {
            return Err(TemplateProblem::RepeatedPlaceholder { placeholder: part.placeholder() });
        }
    }
    for pair in tokens.windows(2) {
        if let [TemplateToken::Placeholder(first), TemplateToken::Placeholder(second)] = pair {
            return Err(TemplateProblem::AdjacentPlaceholders {
                first: first.placeholder(),
                second: second.placeholder(),
            });
        }
    }
    for token in tokens {
        if let TemplateToken::Literal(literal) = token {
            if literal.chars().any(|c| c.is_ascii_digit() || c == '.') {
                return Err(TemplateProblem::DigitOrDotInText { literal: literal.clone() });
            }
            if literal.chars().any(char::is_control) {
                return Err(TemplateProblem::ControlCharacterInText { literal: literal.clone() });
            }
        }
    }
    if template.trim() != template {
        return Err(TemplateProblem::SurroundingWhitespace);
    }
    Ok(())
}

/// Quotes `input` for an error message, shortened to [`MAX_INPUT_CHARS_IN_MESSAGES`] characters.
fn shorten_for_message(input: &str) -> String {
    match input.char_indices().nth(MAX_INPUT_CHARS_IN_MESSAGES) {
        None => format!("{input:?}"),
        Some((cut, _)) => format!("{:?}…", &input[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(text: &str) -> AktenplanKey {
        AktenplanKey::parse(text).unwrap()
    }

    fn aktenzeichen(key_text: &str, number: u32, year: u16) -> Aktenzeichen {
        Aktenzeichen::new(key(key_text), number, year).unwrap()
    }

    fn default_parse_problem(input: &str) -> AktenzeichenProblem {
        match AktenzeichenFormat::default().parse(input) {
            Err(AktenzeichenError::InvalidAktenzeichen(failure)) => failure.problem,
            other => panic!("expected a parse error for {input:?}, got {other:?}"),
        }
    }

    fn template_problem(template: &str) -> TemplateProblem {
        AktenzeichenFormat::new(template).unwrap_err().problem
    }

    #[test]
    fn key_accepts_one_to_eight_segments_of_one_to_four_digits() {
        for valid in ["3", "32", "32.10", "32.10.05", "0001.2.33.444", "1.2.3.4.5.6.7.8", "9999"] {
            assert_eq!(key(valid).as_str(), valid);
        }
    }

    #[test]
    fn key_rejects_malformed_input_with_the_exact_problem() {
        let cases = [
            ("", KeyProblem::Empty),
            ("1.2.3.4.5.6.7.8.9", KeyProblem::TooManySegments { count: 9 }),
            (".32", KeyProblem::EmptySegment { position: 1 }),
            ("32..10", KeyProblem::EmptySegment { position: 2 }),
            ("32.", KeyProblem::EmptySegment { position: 2 }),
            ("32.1a", KeyProblem::NotDigits { position: 2, segment: "1a".into() }),
            (" 32", KeyProblem::NotDigits { position: 1, segment: " 32".into() }),
            ("32.٣", KeyProblem::NotDigits { position: 2, segment: "٣".into() }),
            ("32.12345", KeyProblem::SegmentTooLong { position: 2, segment: "12345".into() }),
        ];
        for (input, expected) in cases {
            match AktenplanKey::parse(input) {
                Err(AktenzeichenError::InvalidKey { input: reported, problem }) => {
                    assert_eq!(reported, input);
                    assert_eq!(problem, expected, "input {input:?}");
                }
                other => panic!("expected InvalidKey for {input:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn key_error_message_names_the_problem_and_the_expected_shape() {
        let message = AktenplanKey::parse("32..10").unwrap_err().to_string();
        assert_eq!(
            message,
            "invalid Aktenplan key \"32..10\": segment 2 is empty; expected 1 to 8 groups of 1 to 4 digits \
             separated by '.', e.g. 32.10.05"
        );
    }

    #[test]
    fn key_parent_segments_depth_and_ancestors() {
        let unit = key("32.10.05");
        assert_eq!(unit.segments().collect::<Vec<_>>(), ["32", "10", "05"]);
        assert_eq!(unit.depth(), 3);
        assert_eq!(unit.parent(), Some(key("32.10")));
        assert_eq!(key("32").parent(), None);
        assert_eq!(unit.ancestors().collect::<Vec<_>>(), [key("32.10"), key("32")]);
        assert_eq!(key("32").ancestors().count(), 0);
    }

    #[test]
    fn key_is_within_compares_whole_segments() {
        let unit = key("32.10.05");
        assert!(unit.is_within(&key("32.10.05")));
        assert!(unit.is_within(&key("32.10")));
        assert!(unit.is_within(&key("32")));
        assert!(!unit.is_within(&key("32.10.05.1")));
        assert!(!unit.is_within(&key("3")));
        assert!(!key("32.100").is_within(&key("32.10")));
        assert!(!key("32.10").is_within(&key("32.100")));
        assert!(!key("33.10").is_within(&key("32")));
    }

    #[test]
    fn key_orders_segment_wise_numerically() {
        let mut keys: Vec<AktenplanKey> =
            ["33", "32.10.05", "32.9", "32", "32.10", "4", "32.10.5", "32.100", "32.010"].map(key).into();
        keys.sort();
        let sorted: Vec<&str> = keys.iter().map(AktenplanKey::as_str).collect();
        assert_eq!(sorted, ["4", "32", "32.9", "32.010", "32.10", "32.10.05", "32.10.5", "32.100", "33"]);
    }

    #[test]
    fn key_serializes_as_a_string_and_validates_on_deserialize() {
        assert_eq!(serde_json::to_string(&key("32.10.05")).unwrap(), "\"32.10.05\"");
        assert_eq!(serde_json::from_str::<AktenplanKey>("\"32.10\"").unwrap(), key("32.10"));
        let error = serde_json::from_str::<AktenplanKey>("\"32..10\"").unwrap_err();
        assert!(error.to_string().contains("segment 2 is empty"), "{error}");
    }

    #[test]
    fn aktenzeichen_new_checks_number_and_year_ranges() {
        assert_eq!(
            Aktenzeichen::new(key("32"), 0, 2024),
            Err(AktenzeichenError::NumberOutOfRange { number: 0 })
        );
        assert_eq!(
            Aktenzeichen::new(key("32"), 100_000_000, 2024),
            Err(AktenzeichenError::NumberOutOfRange { number: 100_000_000 })
        );
        assert_eq!(
            Aktenzeichen::new(key("32"), 1, 1899),
            Err(AktenzeichenError::YearOutOfRange { year: 1899 })
        );
        assert_eq!(
            Aktenzeichen::new(key("32"), 1, 3000),
            Err(AktenzeichenError::YearOutOfRange { year: 3000 })
        );
        let edge = aktenzeichen("32", 99_999_999, 2999);
        assert_eq!((edge.number(), edge.year(), edge.key().as_str()), (99_999_999, 2999, "32"));
    }

    #[test]
    fn default_format_parses_and_formats_the_usual_shape() {
        let format = AktenzeichenFormat::default();
        assert_eq!(format.template(), "{key}-{nr}/{year}");
        assert_eq!(format.example(), "32.10.05-123/2024");
        let parsed = format.parse("32.10.05-123/2024").unwrap();
        assert_eq!(parsed, aktenzeichen("32.10.05", 123, 2024));
        assert_eq!(format.format(&parsed), "32.10.05-123/2024");
        assert_eq!(format.parse("  32-1/1900\n").unwrap(), aktenzeichen("32", 1, 1900));
    }

    #[test]
    fn default_format_rejects_invalid_input_with_the_exact_problem() {
        use AktenzeichenPart::{Key, Number, Year};
        let cases = [
            ("", AktenzeichenProblem::Empty),
            ("   ", AktenzeichenProblem::Empty),
            ("32.10.05-12a/2024", AktenzeichenProblem::NumberNotDigits),
            ("32.10.05-0123/2024", AktenzeichenProblem::NumberLeadingZero),
            ("32.10.05-0/2024", AktenzeichenProblem::NumberOutOfRange),
            ("32.10.05-123456789/2024", AktenzeichenProblem::NumberOutOfRange),
            ("32.10.05-99999999999999999999/2024", AktenzeichenProblem::NumberOutOfRange),
            ("32.10.05-1.2/2024", AktenzeichenProblem::NumberNotDigits),
            ("32.10.05-123/1899", AktenzeichenProblem::YearOutOfRange),
            ("32.10.05-123/3000", AktenzeichenProblem::YearOutOfRange),
            ("32.10.05-123/24", AktenzeichenProblem::YearOutOfRange),
            ("32.10.05-123/02024", AktenzeichenProblem::YearOutOfRange),
            ("32.10.05-123/20x4", AktenzeichenProblem::YearNotDigits),
            ("32.10.05-123/", AktenzeichenProblem::MissingPart { part: Year }),
            ("32.10.05-/2024", AktenzeichenProblem::MissingPart { part: Number }),
            ("-123/2024", AktenzeichenProblem::MissingPart { part: Key }),
            ("32.10.05-123", AktenzeichenProblem::MissingSeparator { text: "/".into(), after: Number }),
            ("32.10.05/123/2024", AktenzeichenProblem::MissingSeparator { text: "-".into(), after: Key }),
            ("32.10.05-123/2024 x", AktenzeichenProblem::TrailingText { text: " x".into(), after: Year }),
            ("32.10.05-123/2024/7", AktenzeichenProblem::TrailingText { text: "/7".into(), after: Year }),
            (
                "32..05-123/2024",
                AktenzeichenProblem::InvalidKey {
                    key: "32..05".into(),
                    problem: KeyProblem::EmptySegment { position: 2 },
                },
            ),
            (
                "AZ 32.10.05-123/2024",
                AktenzeichenProblem::InvalidKey {
                    key: "AZ 32.10.05".into(),
                    problem: KeyProblem::NotDigits { position: 1, segment: "AZ 32".into() },
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(default_parse_problem(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn parse_error_message_says_the_problem_and_the_expected_shape() {
        let error = AktenzeichenFormat::default().parse("32.10.05-12a/2024").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid Aktenzeichen \"32.10.05-12a/2024\": the running number must be digits; expected the \
             shape 32.10.05-123/2024 (template {key}-{nr}/{year})"
        );
        let error = AktenzeichenFormat::default().parse("32.10.05-123").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid Aktenzeichen \"32.10.05-123\": the separator \"/\" after the running number is missing; \
             expected the shape 32.10.05-123/2024 (template {key}-{nr}/{year})"
        );
    }

    #[test]
    fn parse_error_message_shortens_huge_input() {
        let huge = "9".repeat(10_000);
        let message = AktenzeichenFormat::default().parse(&huge).unwrap_err().to_string();
        assert!(message.len() < 400, "message has {} bytes", message.len());
        assert!(message.contains("…"), "{message}");
    }

    #[test]
    fn custom_templates_parse_and_format() {
        let format = AktenzeichenFormat::new("AZ {key}/{nr}-{year}").unwrap();
        assert_eq!(format.example(), "AZ 32.10.05/123-2024");
        assert_eq!(format.parse("AZ 50.1/7-2023").unwrap(), aktenzeichen("50.1", 7, 2023));
        assert_eq!(
            format.parse("50.1/7-2023").unwrap_err(),
            AktenzeichenError::InvalidAktenzeichen(Box::new(AktenzeichenParseFailure {
                input: "50.1/7-2023".into(),
                problem: AktenzeichenProblem::MissingLeadingText { text: "AZ ".into() },
                example: "AZ 32.10.05/123-2024".into(),
                template: "AZ {key}/{nr}-{year}".into(),
            }))
        );

        let year_first = AktenzeichenFormat::new("{year} – {key} – Nr {nr} (Bauamt)").unwrap();
        let parsed = year_first.parse("2024 – 63.01 – Nr 15 (Bauamt)").unwrap();
        assert_eq!(parsed, aktenzeichen("63.01", 15, 2024));
        assert_eq!(year_first.format(&parsed), "2024 – 63.01 – Nr 15 (Bauamt)");
        match year_first.parse("2024 – 63.01 – Nr 15") {
            Err(AktenzeichenError::InvalidAktenzeichen(failure)) => assert_eq!(
                failure.problem,
                AktenzeichenProblem::MissingSeparator {
                    text: " (Bauamt)".into(),
                    after: AktenzeichenPart::Number
                }
            ),
            other => panic!("expected a missing trailing text, got {other:?}"),
        }
    }

    #[test]
    fn templates_violating_the_rules_are_rejected_with_the_exact_problem() {
        assert_eq!(
            template_problem("{key}-{nr}"),
            TemplateProblem::MissingPlaceholder { placeholder: "{year}" }
        );
        assert_eq!(
            template_problem("{key}-{nr}/{year}/{nr}"),
            TemplateProblem::RepeatedPlaceholder { placeholder: "{nr}" }
        );
        assert_eq!(
            template_problem("{key}-{number}/{year}"),
            TemplateProblem::UnknownPlaceholder { found: "{number}".into() }
        );
        assert_eq!(template_problem("{key}-{nr}/{year"), TemplateProblem::StrayBrace);
        assert_eq!(template_problem("{key}-{nr}/year}"), TemplateProblem::StrayBrace);
        assert_eq!(template_problem("{key-{nr}/{year}"), TemplateProblem::StrayBrace);
        assert_eq!(
            template_problem("{key}-{nr}{year}"),
            TemplateProblem::AdjacentPlaceholders { first: "{nr}", second: "{year}" }
        );
        assert_eq!(
            template_problem("{key}.{nr}/{year}"),
            TemplateProblem::DigitOrDotInText { literal: ".".into() }
        );
        assert_eq!(
            template_problem("{key}-{nr}/{year}-2"),
            TemplateProblem::DigitOrDotInText { literal: "-2".into() }
        );
        assert_eq!(
            template_problem("{key}-{nr}\t{year}"),
            TemplateProblem::ControlCharacterInText { literal: "\t".into() }
        );
        assert_eq!(template_problem(" {key}-{nr}/{year}"), TemplateProblem::SurroundingWhitespace);
        assert_eq!(template_problem("{key}-{nr}/{year} "), TemplateProblem::SurroundingWhitespace);
    }

    #[test]
    fn template_error_message_says_what_a_template_looks_like() {
        let message = AktenzeichenFormat::new("{key}-{nr}").unwrap_err().to_string();
        assert_eq!(
            message,
            "invalid Aktenzeichen template \"{key}-{nr}\": the placeholder {year} is missing; a template \
             contains {key}, {nr} and {year} once each, separated by text without digits or '.', e.g. \
             {key}-{nr}/{year}"
        );
    }

    #[test]
    fn format_serializes_as_its_template_and_validates_on_deserialize() {
        let format = AktenzeichenFormat::new("AZ {key}/{nr}-{year}").unwrap();
        let json = serde_json::to_string(&format).unwrap();
        assert_eq!(json, "\"AZ {key}/{nr}-{year}\"");
        assert_eq!(serde_json::from_str::<AktenzeichenFormat>(&json).unwrap(), format);
        assert!(serde_json::from_str::<AktenzeichenFormat>("\"{key}{nr}{year}\"").is_err());
    }

    // Property tests. Generators produce only valid values; the properties say that formatting and
    // parsing are inverse to each other for every template, and that parsing never panics.

    fn key_strategy() -> impl Strategy<Value = AktenplanKey> {
        proptest::collection::vec("[0-9]{1,4}", 1..=MAX_KEY_SEGMENTS)
            .prop_map(|segments| AktenplanKey::parse(&segments.join(".")).unwrap())
    }

    fn aktenzeichen_strategy() -> impl Strategy<Value = Aktenzeichen> {
        (key_strategy(), RUNNING_NUMBERS, YEARS)
            .prop_map(|(key, number, year)| Aktenzeichen::new(key, number, year).unwrap())
    }

    /// Literal text between placeholders: anything but digits, '.', braces and control characters.
    const SEPARATOR_TEXT: &str = "[-/ _:,;()A-Za-zÄÖÜäöüß§–]{1,4}";

    fn template_strategy() -> impl Strategy<Value = String> {
        let placeholders = Just(vec!["{key}", "{nr}", "{year}"]).prop_shuffle();
        // The template must not start or end with whitespace, so the outer texts do not either.
        let leading = proptest::option::of("[-/_:(A-Za-zÄÖÜ§][-/ _:(A-Za-zÄÖÜ§]{0,3}");
        let trailing = proptest::option::of("[-/ _:)a-zäöü]{0,3}[-/_:)a-zäöü]");
        (placeholders, SEPARATOR_TEXT, SEPARATOR_TEXT, leading, trailing).prop_map(
            |(placeholders, first_separator, second_separator, leading, trailing)| {
                format!(
                    "{}{}{first_separator}{}{second_separator}{}{}",
                    leading.unwrap_or_default(),
                    placeholders[0],
                    placeholders[1],
                    placeholders[2],
                    trailing.unwrap_or_default()
                )
            },
        )
    }

    proptest! {
        #[test]
        fn default_format_round_trips(az in aktenzeichen_strategy()) {
            let format = AktenzeichenFormat::default();
            let text = format.format(&az);
            prop_assert_eq!(format.parse(&text).unwrap(), az);
            prop_assert_eq!(format.format(&format.parse(&text).unwrap()), text);
        }

        #[test]
        fn every_generated_template_is_valid_and_round_trips(
            template in template_strategy(),
            az in aktenzeichen_strategy(),
        ) {
            let format = AktenzeichenFormat::new(&template).unwrap();
            let text = format.format(&az);
            let parsed = format.parse(&text).unwrap();
            prop_assert_eq!(format.format(&parsed), text);
            prop_assert_eq!(parsed, az);
        }

        #[test]
        fn parse_never_panics_and_accepts_only_what_it_can_format(input in any::<String>()) {
            let format = AktenzeichenFormat::default();
            if let Ok(az) = format.parse(&input) {
                prop_assert_eq!(format.format(&az), input.trim());
            }
        }

        #[test]
        fn parse_never_panics_on_near_misses(
            template in template_strategy(),
            input in "[0-9./ a-zA-Z:()_-]{0,30}",
        ) {
            let format = AktenzeichenFormat::new(&template).unwrap();
            match format.parse(&input) {
                Ok(az) => prop_assert_eq!(format.format(&az), input.trim()),
                Err(error) => prop_assert!(error.to_string().contains(&format.example())),
            }
        }

        #[test]
        fn template_validation_never_panics(template in "[{}a-z0-9./ -]{0,20}") {
            if let Ok(format) = AktenzeichenFormat::new(&template) {
                prop_assert_eq!(format.template(), template.as_str());
            }
        }

        #[test]
        fn key_order_is_numeric_per_segment_and_agrees_with_equality(
            a in key_strategy(),
            b in key_strategy(),
        ) {
            let numeric = |key: &AktenplanKey| key.segments().map(segment_value).collect::<Vec<_>>();
            let has_leading_zero = |key: &AktenplanKey| key.segments().any(|s| s.len() > 1 && s.starts_with('0'));
            if !has_leading_zero(&a) && !has_leading_zero(&b) {
                prop_assert_eq!(a.cmp(&b), numeric(&a).cmp(&numeric(&b)));
            }
            // In general: segment by segment, by value and then by text.
            let by_segment = |key: &AktenplanKey| {
                key.segments().map(|s| (segment_value(s), s.to_owned())).collect::<Vec<_>>()
            };
            prop_assert_eq!(a.cmp(&b), by_segment(&a).cmp(&by_segment(&b)));
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            prop_assert_eq!(a.is_within(&b), a.segments().take(b.depth()).eq(b.segments()) && a.depth() >= b.depth());
        }
    }
}
