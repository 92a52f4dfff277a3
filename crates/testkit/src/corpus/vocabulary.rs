//! Nouns and their grammar: head nouns with gender and the forms a slot needs, compounds of a
//! modifier and a head ranked for Zipf-distributed sampling, and ad hoc three-part compounds for the
//! long tail.

use super::random::{AliasTable, Rng};
use super::words::{DATIVE_PLURALS, HEAD_NOUNS, MODIFIERS};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Gender {
    Masculine,
    Feminine,
    Neuter,
}

#[derive(Clone, Copy)]
pub(super) enum Case {
    Nominative,
    Accusative,
    Dative,
    Genitive,
}

#[derive(Clone, Copy)]
pub(super) enum Number {
    Singular,
    Plural,
}

/// The forms a noun takes here: nominative singular (also accusative and dative), genitive singular,
/// plural, dative plural.
#[derive(Clone, Copy)]
pub(super) enum Form {
    Nominative,
    Genitive,
    Plural,
    DativePlural,
}

pub(super) fn article_and_form(gender: Gender, case: Case, number: Number) -> (&'static str, Form) {
    use {Case::*, Gender::*};
    match (number, case, gender) {
        (Number::Plural, Dative, _) => ("den", Form::DativePlural),
        (Number::Plural, Genitive, _) => ("der", Form::Plural),
        (Number::Plural, _, _) => ("die", Form::Plural),
        (Number::Singular, Nominative, Masculine) => ("der", Form::Nominative),
        (Number::Singular, Accusative, Masculine) => ("den", Form::Nominative),
        (Number::Singular, Dative, Masculine | Neuter) => ("dem", Form::Nominative),
        (Number::Singular, Genitive, Masculine | Neuter) => ("des", Form::Genitive),
        (Number::Singular, Dative | Genitive, Feminine) => ("der", Form::Nominative),
        (Number::Singular, Nominative | Accusative, Feminine) => ("die", Form::Nominative),
        (Number::Singular, Nominative | Accusative, Neuter) => ("das", Form::Nominative),
    }
}

/// A head noun as the data lists it: nominative, genitive and plural; whether it may stand alone.
pub(super) struct HeadNoun {
    pub(super) nominative: &'static str,
    pub(super) genitive: &'static str,
    pub(super) plural: &'static str,
    pub(super) gender: Gender,
    /// False for the frequent documented term, which only its own sentences use (compounds may end
    /// in it).
    pub(super) standalone: bool,
}

/// A head noun's forms, capitalised and in lower case for compounds.
pub(super) struct Head {
    forms: [&'static str; 4],
    lower: [String; 4],
    pub(super) gender: Gender,
}

/// A noun: a head alone, or compounded with one or two modifiers (indices into [`MODIFIERS`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Lemma {
    first: Option<u16>,
    second: Option<u16>,
    pub(super) head: u16,
}

/// How often a noun slot gets an ad hoc three-part compound (modifier, modifier, head) instead of a
/// ranked lemma, in per mille. These are the rarest nouns.
const THREE_PART_PER_MILLE: u32 = 60;
/// The Zipf exponent of the ranked lemmas.
const LEMMA_EXPONENT: f64 = 1.0;

pub(super) struct Vocabulary {
    pub(super) heads: Vec<Head>,
    /// Modifiers in lower case, for the second place of three-part compounds.
    modifiers_lower: Vec<String>,
    /// Heads alone first (in the order of [`HEAD_NOUNS`]), then compounds in a fixed shuffled order.
    pub(super) lemmas: Vec<Lemma>,
    lemma_table: AliasTable,
}

impl Vocabulary {
    pub(super) fn new() -> Vocabulary {
        let heads: Vec<Head> = HEAD_NOUNS
            .iter()
            .map(|noun| {
                let forms = [noun.nominative, noun.genitive, noun.plural, dative_plural(noun.plural)];
                Head { lower: forms.map(lower_first), forms, gender: noun.gender }
            })
            .collect();
        let modifiers_lower: Vec<String> = MODIFIERS.iter().map(|modifier| modifier.to_lowercase()).collect();
        let mut lemmas: Vec<Lemma> = HEAD_NOUNS
            .iter()
            .enumerate()
            .filter(|(_, noun)| noun.standalone)
            .map(|(head, _)| Lemma { first: None, second: None, head: head as u16 })
            .collect();
        let standalone = lemmas.len();
        for (modifier, modifier_text) in MODIFIERS.iter().enumerate() {
            for (head, forms) in heads.iter().enumerate() {
                let reserved = forms.lower.iter().any(|form| {
                    DOCUMENTED_FORMS.iter().any(|documented| is_compound_of(documented, modifier_text, form))
                });
                if !reserved {
                    lemmas.push(Lemma { first: Some(modifier as u16), second: None, head: head as u16 });
                }
            }
        }
        // A fixed order, the same for every seed, so that ranks (and the frequent compounds) are stable.
        let mut shuffle = Rng::new(0x243f_6a88_85a3_08d3);
        let compounds = &mut lemmas[standalone..];
        for i in (1..compounds.len()).rev() {
            compounds.swap(i, shuffle.below(i as u32 + 1) as usize);
        }
        let lemma_table = AliasTable::zipf(lemmas.len(), LEMMA_EXPONENT);
        Vocabulary { heads, modifiers_lower, lemmas, lemma_table }
    }

    /// Mostly a ranked lemma; sometimes an ad hoc three-part compound, which is never a
    /// documented term (those have at most two parts).
    pub(super) fn draw(&self, rng: &mut Rng) -> Lemma {
        if rng.below(1000) < THREE_PART_PER_MILLE {
            let modifiers = MODIFIERS.len() as u32;
            Lemma {
                first: Some(rng.below(modifiers) as u16),
                second: Some(rng.below(modifiers) as u16),
                head: rng.below(self.heads.len() as u32) as u16,
            }
        } else {
            self.lemmas[self.lemma_table.sample(rng)]
        }
    }

    pub(super) fn write(&self, out: &mut String, lemma: Lemma, form: Form) {
        let head = &self.heads[lemma.head as usize];
        let Some(first) = lemma.first else {
            out.push_str(head.forms[form as usize]);
            return;
        };
        out.push_str(MODIFIERS[first as usize]);
        if let Some(second) = lemma.second {
            out.push_str(&self.modifiers_lower[second as usize]);
        }
        out.push_str(&head.lower[form as usize]);
    }
}

/// The forms of the documented terms, in lower case; no generated compound may equal one.
pub(super) const DOCUMENTED_FORMS: &[&str] = &[
    "bescheid",
    "bescheides",
    "bescheide",
    "bescheiden",
    "hundesteuer",
    "hundesteuern",
    "fischereischein",
    "fischereischeins",
    "fischereischeine",
    "fischereischeinen",
];

/// Whether `word` is `modifier` (any case) followed by `head_lower`.
fn is_compound_of(word: &str, modifier: &str, head_lower: &str) -> bool {
    word.len() == modifier.len() + head_lower.len()
        && word.get(..modifier.len()).is_some_and(|start| start.eq_ignore_ascii_case(modifier))
        && word.ends_with(head_lower)
}

/// The dative plural: [`DATIVE_PLURALS`] lists those that add an `n`; the others keep the plural.
pub(super) fn dative_plural(plural: &'static str) -> &'static str {
    DATIVE_PLURALS.iter().find(|(nominative, _)| *nominative == plural).map_or(plural, |(_, dative)| dative)
}

/// `Anträge` to `anträge`, for the second part of a compound.
fn lower_first(word: &'static str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
}
