//! A generated corpus of German administrative documents for search tests and benchmarks: letters,
//! e-mails and Fachverfahren messages of about 2 KB of Amtsdeutsch each, with senders, Aktenzeichen,
//! dates, amounts, addresses and an Aktenplan unit.
//!
//! [`GermanCorpus::document`] is a pure function of the seed and the index: every document is generated
//! from a small random generator seeded with a hash of both, so a million documents can be generated in
//! parallel, out of order, or one at a time, and always come out the same.
//!
//! Text comes from about 60 sentence templates whose slots draw from a vocabulary of about 90 head
//! nouns and 70 compound modifiers (some 18,000 inflected forms of heads and two-part compounds, with
//! umlauts and ß), names, streets and towns. Nouns are drawn with Zipf-distributed frequencies; ad hoc
//! three-part compounds, numbers and identifiers give the long tail of rare terms a real index has.
//! (In 5,000 documents, about 15,000 distinct words occur, 70 % of them at most twice.)
//!
//! A few terms have documented frequencies, so that search tests and benchmarks know how many hits to
//! expect. "Contains" means: the word occurs as a token when the text is split at every character that
//! is not alphanumeric and compared case-insensitively.
//!
//! - [`FREQUENT_TERM`] ("Bescheid") is in the title or body of [`FREQUENT_TERM_SHARE`] (15 %) of the
//!   documents, always in the body in this exact form; about half of those also use "Bescheides",
//!   "Bescheide" or "Bescheiden". No other document contains any of these four forms (compounds such as
//!   "Gebührenbescheid" occur anywhere, but are other tokens).
//! - [`MEDIUM_TERM`] ("Hundesteuer") is in the body of [`MEDIUM_TERM_SHARE`] (1 %) of the documents
//!   (about a third of those also have it in the title), and in no other document.
//! - [`RARE_TERM`] ("Fischereischein") is in the body of exactly one document in every aligned block
//!   of [`RARE_TERM_PERIOD`] indices (0.01 %), and nowhere else.
//! - "Straße" (street names such as "Berliner Straße", and prose) is in the body of about a third of
//!   the documents, and "Müller", the most common surname, in the sender or body of about a sixth.

use std::ops::RangeInclusive;

use chrono::{Datelike, Days, NaiveDate};

use random::{AliasTable, Rng, mix};
use templates::{Part, Slot, Template, Templates};
use vocabulary::{Case, Form, Number, Vocabulary, article_and_form};
use words::{
    ADVERBS, AUTHORITIES, COMPANIES, FIRST_NAMES, LAWS, MAIL_DOMAINS, PORTALS, STREET_ADJECTIVES,
    STREET_STEMS, STREETS_AS_IS, SURNAMES, TOWNS,
};

mod random;
mod templates;
mod vocabulary;
// The word lists are tables; rustfmt would put one word on each line.
#[rustfmt::skip]
mod words;
#[cfg(test)]
mod tests;

/// A word in 10–20 % of the documents (see the module documentation for its forms).
pub const FREQUENT_TERM: &str = "Bescheid";
/// The expected share of documents that contain [`FREQUENT_TERM`].
pub const FREQUENT_TERM_SHARE: f64 = FREQUENT_TERM_PER_MILLE as f64 / 1000.0;
/// A word in about 1 % of the documents.
pub const MEDIUM_TERM: &str = "Hundesteuer";
/// The expected share of documents that contain [`MEDIUM_TERM`].
pub const MEDIUM_TERM_SHARE: f64 = MEDIUM_TERM_PER_MILLE as f64 / 1000.0;
/// A word in exactly one document of every [`RARE_TERM_PERIOD`] consecutive indices starting at a
/// multiple of it.
pub const RARE_TERM: &str = "Fischereischein";
pub const RARE_TERM_PERIOD: u64 = 10_000;
/// How long a document's body is, in bytes of UTF-8.
pub const BODY_BYTES: RangeInclusive<usize> = 1800..=2400;
/// The first and last day a document can have arrived.
pub const FIRST_POSTEINGANG: NaiveDate = NaiveDate::from_ymd_opt(2015, 1, 1).expect("a valid date");
pub const LAST_POSTEINGANG: NaiveDate = NaiveDate::from_ymd_opt(2025, 12, 31).expect("a valid date");

/// How a document reached the authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CorpusChannel {
    /// A letter from the mailroom's scanner.
    PaperScan,
    Email,
    /// A message from a specialist application or online portal.
    Fachverfahren,
    /// File notes, office documents, anything else.
    Other,
}

/// One generated document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorpusDocument {
    pub title: String,
    /// A person, a company, an authority or a portal, as its mail would name it.
    pub sender: String,
    /// 1,800–2,400 bytes ([`BODY_BYTES`]) of text, paragraphs separated by blank lines.
    pub body: String,
    /// Uniformly distributed over [`FIRST_POSTEINGANG`]..=[`LAST_POSTEINGANG`].
    pub posteingangsdatum: NaiveDate,
    pub channel: CorpusChannel,
    /// Index into [`GermanCorpus::aktenplan`]; always a leaf (a key no other key extends).
    pub unit: usize,
    pub media_type: &'static str,
}

/// The generator. Building one prepares the vocabulary and sampling tables (a few milliseconds); it is
/// `Sync`, so one corpus can serve many threads.
pub struct GermanCorpus {
    seed: u64,
    vocabulary: Vocabulary,
    templates: Templates,
    /// Units documents are filed under, with their sampling table.
    leaves: Vec<Leaf>,
    leaf_table: AliasTable,
    surnames: AliasTable,
    first_names: AliasTable,
}

impl GermanCorpus {
    pub fn new(seed: u64) -> Self {
        let leaves: Vec<Leaf> = LEAF_UNITS
            .iter()
            .filter_map(|unit| {
                let index = AKTENPLAN.iter().position(|key| *key == unit.key)?;
                Some(Leaf { index, key: unit.key, weight: unit.weight, topics: unit.topics })
            })
            .collect();
        let leaf_weights: Vec<f64> = leaves.iter().map(|leaf| f64::from(leaf.weight)).collect();
        GermanCorpus {
            seed,
            vocabulary: Vocabulary::new(),
            templates: Templates::new(),
            leaves,
            leaf_table: AliasTable::new(&leaf_weights),
            surnames: AliasTable::zipf(SURNAMES.len(), 0.5),
            first_names: AliasTable::zipf(FIRST_NAMES.len(), 0.5),
        }
    }

    /// The Aktenplan: keys of a tree ("63" contains "63.1", which contains "63.1.4"), parents before
    /// children. Documents are filed under the leaves only.
    pub fn aktenplan(&self) -> &[&'static str] {
        AKTENPLAN
    }

    /// Document number `index`: the same for the same seed and index, whatever was generated before.
    pub fn document(&self, index: u64) -> CorpusDocument {
        let mut rng = Rng::new(mix(self.seed ^ mix(index.wrapping_add(0x5851_f42d_4c95_7f2d))));
        let day = rng.below(POSTEINGANG_DAYS);
        let posteingangsdatum = FIRST_POSTEINGANG + Days::new(u64::from(day));
        let leaf = &self.leaves[self.leaf_table.sample(&mut rng)];
        let channel = match rng.below(100) {
            0..45 => CorpusChannel::PaperScan,
            45..75 => CorpusChannel::Email,
            75..95 => CorpusChannel::Fachverfahren,
            _ => CorpusChannel::Other,
        };
        let media_type = media_type(channel, &mut rng);
        let frequent = rng.below(1000) < FREQUENT_TERM_PER_MILLE;
        let medium = rng.below(1000) < MEDIUM_TERM_PER_MILLE;
        let block = index / RARE_TERM_PERIOD;
        let rare = index % RARE_TERM_PERIOD
            == mix(self.seed ^ mix(block ^ 0x2545_f491_4f6c_dd1d)) % RARE_TERM_PERIOD;
        let topic = pick(&mut rng, leaf.topics);
        let aktenzeichen = 1 + rng.below(400);
        let mut draft = Draft { corpus: self, rng, posteingangsdatum, leaf, topic, aktenzeichen };

        let mut sender = String::with_capacity(64);
        draft.sender(&mut sender, channel);
        let mut title = String::with_capacity(96);
        let title_template = if frequent && draft.rng.below(3) == 0 {
            draft.pick_template(&self.templates.frequent_titles)
        } else if medium && draft.rng.below(3) == 0 {
            draft.pick_template(&self.templates.medium_titles)
        } else {
            draft.pick_template(&self.templates.titles)
        };
        draft.render(&mut title, title_template, &Fixed::default());

        let mut body = String::with_capacity(*BODY_BYTES.end());
        let fixed = Fixed { title: &title, sender: &sender };
        let header = match channel {
            CorpusChannel::PaperScan => &self.templates.letter_header,
            CorpusChannel::Email => &self.templates.email_header,
            CorpusChannel::Fachverfahren => &self.templates.portal_header,
            CorpusChannel::Other => &self.templates.note_header,
        };
        draft.render(&mut body, header, &fixed);
        if channel != CorpusChannel::Fachverfahren {
            let greeting = draft.pick_template(&self.templates.greetings);
            draft.render(&mut body, greeting, &fixed);
        }
        draft.sentences(&mut body, Flags { frequent, medium, rare }, &fixed);
        let closing = draft.pick_template(&self.templates.closings);
        draft.render(&mut body, closing, &fixed);

        CorpusDocument { title, sender, body, posteingangsdatum, channel, unit: leaf.index, media_type }
    }
}

// ---------------------------------------------------------------------------------------------
// Documents

const FREQUENT_TERM_PER_MILLE: u32 = 150;
const MEDIUM_TERM_PER_MILLE: u32 = 10;
/// Days from 2015-01-01 to 2025-12-31, both included.
const POSTEINGANG_DAYS: u32 = 4018;
/// Bodies grow sentence by sentence until they pass a target drawn from this range, which leaves room
/// for the longest sentence and closing below [`BODY_BYTES`]' end.
const BODY_TARGET: RangeInclusive<u32> = 1850..=2150;
/// No sentence may take the body past this, so the closing still fits.
const BODY_BEFORE_CLOSING: usize = 2300;

fn media_type(channel: CorpusChannel, rng: &mut Rng) -> &'static str {
    match channel {
        CorpusChannel::PaperScan => "application/pdf",
        CorpusChannel::Email if rng.below(10) < 7 => "message/rfc822",
        CorpusChannel::Email => "application/pdf",
        CorpusChannel::Fachverfahren if rng.below(10) < 6 => "application/xml",
        CorpusChannel::Fachverfahren => "application/pdf",
        CorpusChannel::Other => match rng.below(3) {
            0 => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            1 => "text/plain",
            _ => "application/pdf",
        },
    }
}

/// Which documented terms a document carries.
#[derive(Clone, Copy)]
struct Flags {
    frequent: bool,
    medium: bool,
    rare: bool,
}

/// Text fixed for the whole document that templates may refer to.
#[derive(Default)]
struct Fixed<'a> {
    title: &'a str,
    sender: &'a str,
}

/// One document being written.
struct Draft<'c> {
    corpus: &'c GermanCorpus,
    rng: Rng,
    posteingangsdatum: NaiveDate,
    leaf: &'c Leaf,
    topic: &'static str,
    /// The running number of the Akte, written as `<unit>-<number>/<year>`.
    aktenzeichen: u32,
}

impl<'c> Draft<'c> {
    fn pick_template<'t>(&mut self, templates: &'t [Template]) -> &'t Template {
        &templates[self.rng.below(templates.len() as u32) as usize]
    }

    /// Appends sentences until the body reaches its target length. The documented terms' sentences
    /// come among the first few, with at most one ordinary sentence between them, so they are always
    /// written long before the target; should the target ever come first, they are written anyway.
    fn sentences(&mut self, body: &mut String, flags: Flags, fixed: &Fixed) {
        let templates = &self.corpus.templates;
        let mut pending: [Option<&Template>; 4] = [None; 4];
        if flags.frequent {
            pending[0] = Some(self.pick_template(&templates.frequent_sentences));
            if self.rng.below(2) == 0 {
                pending[1] = Some(self.pick_template(&templates.frequent_other_forms));
            }
        }
        if flags.medium {
            pending[2] = Some(self.pick_template(&templates.medium_sentences));
        }
        if flags.rare {
            pending[3] = Some(self.pick_template(&templates.rare_sentences));
        }
        let mut pending = pending.into_iter().flatten();
        let target =
            (BODY_TARGET.start() + self.rng.below(BODY_TARGET.end() - BODY_TARGET.start() + 1)) as usize;
        let mut ordinary = 0;
        let mut next_pending = self.rng.below(3);
        loop {
            if ordinary >= next_pending
                && let Some(template) = pending.next()
            {
                self.render(body, template, fixed);
                next_pending = ordinary + self.rng.below(2);
            } else {
                if body.len() >= target {
                    break;
                }
                let before = body.len();
                let template = self.pick_template(&templates.sentences);
                self.render(body, template, fixed);
                if body.len() > BODY_BEFORE_CLOSING {
                    body.truncate(before);
                    break;
                }
                ordinary += 1;
            }
            self.separator(body);
        }
        for template in pending {
            self.separator(body);
            self.render(body, template, fixed);
        }
        // The separator after the last sentence gives way to the closing's own.
        body.truncate(body.trim_end().len());
    }

    /// A space between sentences, or a paragraph break every four sentences or so.
    fn separator(&mut self, body: &mut String) {
        body.push_str(if self.rng.below(4) == 0 { "\n\n" } else { " " });
    }

    fn render(&mut self, out: &mut String, template: &Template, fixed: &Fixed) {
        for part in template {
            match *part {
                Part::Text(text) => out.push_str(text),
                Part::Slot(slot) => self.slot(out, slot, fixed),
            }
        }
    }

    fn slot(&mut self, out: &mut String, slot: Slot, fixed: &Fixed) {
        let rng = &mut self.rng;
        match slot {
            Slot::Nominative { capital } => {
                self.noun_phrase(out, Case::Nominative, Number::Singular, capital)
            }
            Slot::NominativePlural { capital } => {
                self.noun_phrase(out, Case::Nominative, Number::Plural, capital)
            }
            Slot::Accusative => {
                let number = self.number();
                self.noun_phrase(out, Case::Accusative, number, false);
            }
            Slot::Dative => {
                let number = self.number();
                self.noun_phrase(out, Case::Dative, number, false);
            }
            Slot::Genitive => {
                let number = self.number();
                self.noun_phrase(out, Case::Genitive, number, false);
            }
            Slot::Noun => {
                let vocabulary = &self.corpus.vocabulary;
                let lemma = vocabulary.draw(&mut self.rng);
                vocabulary.write(out, lemma, Form::Nominative);
            }
            Slot::Adverb => out.push_str(pick(rng, ADVERBS)),
            Slot::Law => {
                let law = pick(rng, LAWS);
                out.push_str("§ ");
                push_number(out, u64::from(1 + rng.below(120)));
                if rng.below(2) == 0 {
                    out.push_str(" Abs. ");
                    push_number(out, u64::from(1 + rng.below(6)));
                }
                out.push(' ');
                out.push_str(law);
            }
            Slot::Date => {
                let back = 1 + rng.below(400);
                push_date(out, self.posteingangsdatum - Days::new(u64::from(back)));
            }
            Slot::Deadline => {
                let ahead = 7 + rng.below(84);
                push_date(out, self.posteingangsdatum + Days::new(u64::from(ahead)));
            }
            Slot::LetterDate => {
                let back = rng.below(6);
                push_date(out, self.posteingangsdatum - Days::new(u64::from(back)));
            }
            Slot::Posteingang => push_date(out, self.posteingangsdatum),
            Slot::Year => push_number(out, (self.posteingangsdatum.year() - rng.below(3) as i32) as u64),
            Slot::Amount => {
                // Mostly up to four digits before the comma, sometimes five.
                let digits = 1 + rng.below(4) + u32::from(rng.below(10) == 0);
                let floor = 10u64.pow(digits - 1);
                let euros = floor + u64::from(rng.below((floor * 9) as u32));
                push_grouped(out, euros);
                out.push(',');
                push_two_digits(out, rng.below(100));
                out.push_str(" €");
            }
            Slot::Aktenzeichen => {
                out.push_str(self.leaf.key);
                out.push('-');
                push_number(out, u64::from(self.aktenzeichen));
                out.push('/');
                push_number(out, self.posteingangsdatum.year() as u64);
            }
            Slot::Kassenzeichen => {
                out.push_str("5.");
                push_number(out, u64::from(1000 + rng.below(9000)));
                out.push('.');
                push_number(out, u64::from(100_000 + rng.below(900_000)));
                out.push('.');
                push_number(out, u64::from(rng.below(10)));
            }
            Slot::Iban => {
                out.push_str("DE");
                push_two_digits(out, rng.below(100));
                for _ in 0..4 {
                    out.push(' ');
                    push_number(out, u64::from(1000 + rng.below(9000)));
                }
                out.push(' ');
                push_two_digits(out, rng.below(100));
            }
            Slot::Phone => {
                out.push_str(pick(rng, TOWNS).area_code);
                out.push(' ');
                push_number(out, u64::from(10_000 + rng.below(9_990_000)));
            }
            Slot::Small => push_number(out, u64::from(1 + rng.below(30))),
            Slot::Parcel => {
                push_number(out, u64::from(1 + rng.below(800)));
                out.push('/');
                push_number(out, u64::from(1 + rng.below(12)));
            }
            Slot::Area => push_number(out, u64::from(80 + rng.below(2400))),
            Slot::Time => {
                push_number(out, u64::from(8 + rng.below(8)));
                out.push_str(if rng.below(2) == 0 { ".00" } else { ".30" });
            }
            Slot::Name => self.full_name(out),
            Slot::Clerk => {
                out.push_str(if rng.below(2) == 0 { "Frau " } else { "Herr " });
                self.surname(out);
            }
            Slot::Surname => self.surname(out),
            Slot::Street => {
                street_name(out, rng);
                out.push(' ');
                push_number(out, u64::from(1 + rng.below(150)));
                if rng.below(10) == 0 {
                    out.push('a');
                }
            }
            Slot::City => {
                let town = pick(rng, TOWNS);
                out.push_str(town.postcode_prefix);
                push_three_digits(out, rng.below(1000));
                out.push(' ');
                out.push_str(town.name);
            }
            Slot::Town => out.push_str(pick(rng, TOWNS).name),
            Slot::Authority => {
                out.push_str(pick(rng, AUTHORITIES));
                out.push(' ');
                out.push_str(pick(rng, TOWNS).name);
            }
            Slot::Portal => out.push_str(pick(rng, PORTALS)),
            Slot::Topic => out.push_str(self.topic),
            Slot::Unit => out.push_str(self.leaf.key),
            Slot::Title => out.push_str(fixed.title),
            Slot::Sender => out.push_str(fixed.sender),
        }
    }

    /// Singular three times in four.
    fn number(&mut self) -> Number {
        if self.rng.below(4) == 0 { Number::Plural } else { Number::Singular }
    }

    fn noun_phrase(&mut self, out: &mut String, case: Case, number: Number, capital: bool) {
        let vocabulary = &self.corpus.vocabulary;
        let lemma = vocabulary.draw(&mut self.rng);
        let gender = vocabulary.heads[lemma.head as usize].gender;
        let (article, form) = article_and_form(gender, case, number);
        if capital {
            let mut chars = article.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(article);
        }
        out.push(' ');
        vocabulary.write(out, lemma, form);
    }

    fn surname(&mut self, out: &mut String) {
        out.push_str(SURNAMES[self.corpus.surnames.sample(&mut self.rng)]);
    }

    fn full_name(&mut self, out: &mut String) {
        out.push_str(FIRST_NAMES[self.corpus.first_names.sample(&mut self.rng)]);
        out.push(' ');
        self.surname(out);
    }

    fn sender(&mut self, out: &mut String, channel: CorpusChannel) {
        match channel {
            CorpusChannel::Fachverfahren => out.push_str(pick(&mut self.rng, PORTALS)),
            CorpusChannel::Email => {
                let first = FIRST_NAMES[self.corpus.first_names.sample(&mut self.rng)];
                let last = SURNAMES[self.corpus.surnames.sample(&mut self.rng)];
                out.push_str(first);
                out.push(' ');
                out.push_str(last);
                out.push_str(" <");
                push_mail_local_part(out, first);
                out.push('.');
                push_mail_local_part(out, last);
                out.push('@');
                out.push_str(pick(&mut self.rng, MAIL_DOMAINS));
                out.push('>');
            }
            CorpusChannel::PaperScan | CorpusChannel::Other => match self.rng.below(10) {
                0..7 => self.full_name(out),
                7..9 => {
                    let pattern = pick(&mut self.rng, COMPANIES);
                    let (before, after) = pattern.split_once('#').unwrap_or((pattern, ""));
                    out.push_str(before);
                    self.surname(out);
                    out.push_str(after);
                }
                _ => {
                    out.push_str(pick(&mut self.rng, AUTHORITIES));
                    out.push(' ');
                    out.push_str(pick(&mut self.rng, TOWNS).name);
                }
            },
        }
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len() as u32) as usize]
}

fn street_name(out: &mut String, rng: &mut Rng) {
    match rng.below(100) {
        0..94 => {
            out.push_str(pick(rng, STREET_STEMS));
            out.push_str(match rng.below(20) {
                0..12 => "straße",
                12..16 => "weg",
                16 => "platz",
                17 => "allee",
                18 => "ring",
                _ => "gasse",
            });
        }
        94..98 => {
            out.push_str(pick(rng, STREET_ADJECTIVES));
            out.push_str(" Straße");
        }
        _ => out.push_str(pick(rng, STREETS_AS_IS)),
    }
}

/// Lower case, umlauts and ß spelled out, other letters outside ASCII dropped, spaces as dots.
fn push_mail_local_part(out: &mut String, name: &str) {
    for c in name.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            ' ' => out.push('.'),
            '-' => out.push('-'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
}

fn push_number(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&digit| char::from(digit)));
}

fn push_two_digits(out: &mut String, value: u32) {
    out.push(char::from(b'0' + (value / 10 % 10) as u8));
    out.push(char::from(b'0' + (value % 10) as u8));
}

fn push_three_digits(out: &mut String, value: u32) {
    out.push(char::from(b'0' + (value / 100 % 10) as u8));
    push_two_digits(out, value % 100);
}

/// `1234567` as `1.234.567`.
fn push_grouped(out: &mut String, value: u64) {
    if value >= 1000 {
        push_grouped(out, value / 1000);
        out.push('.');
        push_three_digits(out, (value % 1000) as u32);
    } else {
        push_number(out, value);
    }
}

/// `dd.mm.yyyy`, as German letters write dates.
fn push_date(out: &mut String, date: NaiveDate) {
    push_two_digits(out, date.day());
    out.push('.');
    push_two_digits(out, date.month());
    out.push('.');
    push_number(out, date.year() as u64);
}

// ---------------------------------------------------------------------------------------------
// Aktenplan

/// Keys of the Aktenplan tree, parents before children.
const AKTENPLAN: &[&str] = &[
    "10", "10.1", "10.1.1", "10.1.2", "10.2", "20", "20.1", "20.1.3", "32", "32.10", "32.10.05", "32.10.07",
    "32.20", "50", "50.2", "50.2.1", "61", "61.20", "61.20.01", "61.20.02", "63", "63.1", "63.1.4", "66",
    "66.3",
];

/// A leaf of the Aktenplan, how many documents it gets relative to the others, and what they are
/// about.
struct LeafUnit {
    key: &'static str,
    weight: u32,
    topics: &'static [&'static str],
}

const LEAF_UNITS: &[LeafUnit] = &[
    LeafUnit { key: "10.1.1", weight: 2, topics: &["Geschäftsverteilungsplan", "Dienstanweisung"] },
    LeafUnit { key: "10.1.2", weight: 3, topics: &["Stellenausschreibung", "Bewerbung", "Beurteilung"] },
    LeafUnit {
        key: "10.2",
        weight: 2,
        topics: &["Informationsfreiheitsanfrage", "Datenschutzauskunft", "Akteneinsicht"],
    },
    LeafUnit {
        key: "20.1.3",
        weight: 14,
        topics: &["Grundsteuer", "Gewerbesteuer", "Abwassergebühr", "Stundung", "Zweitwohnungsteuer"],
    },
    LeafUnit {
        key: "32.10.05",
        weight: 8,
        topics: &[
            "Sondernutzungserlaubnis",
            "Gaststättenerlaubnis",
            "Lärmbeschwerde",
            "Veranstaltungsanzeige",
        ],
    },
    LeafUnit {
        key: "32.10.07",
        weight: 7,
        topics: &["Gewerbeanmeldung", "Gewerbeabmeldung", "Reisegewerbekarte"],
    },
    LeafUnit { key: "32.20", weight: 9, topics: &["Bußgeldverfahren", "Verwarnung", "Anhörung"] },
    LeafUnit { key: "50.2.1", weight: 12, topics: &["Wohngeld", "Wohnberechtigungsschein", "Mietzuschuss"] },
    LeafUnit {
        key: "61.20.01",
        weight: 4,
        topics: &["Bebauungsplan", "Flächennutzungsplan", "Veränderungssperre"],
    },
    LeafUnit {
        key: "61.20.02",
        weight: 4,
        topics: &["Bauvoranfrage", "Vorkaufsrecht", "Teilungsgenehmigung"],
    },
    LeafUnit {
        key: "63.1.4",
        weight: 15,
        topics: &["Baugenehmigung", "Abbruchgenehmigung", "Nutzungsänderung", "Baulast"],
    },
    LeafUnit {
        key: "66.3",
        weight: 6,
        topics: &["Straßenausbaubeitrag", "Aufgrabungserlaubnis", "Anliegerbeitrag"],
    },
];

/// A leaf unit with its index in [`AKTENPLAN`].
struct Leaf {
    index: usize,
    key: &'static str,
    weight: u32,
    topics: &'static [&'static str],
}
