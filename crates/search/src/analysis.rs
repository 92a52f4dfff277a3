//! German text analysis: how document text and query words become index terms.
//!
//! Both sides use the same chain, so a word typed with or without umlauts finds the document either
//! way: words split at every character that is neither alphanumeric nor a combining mark, each word
//! in Unicode normalisation form C (so "Mu" + U+0308 + "llabfuhr", as macOS and some PDF producers
//! write it, is the same word as "Müllabfuhr"), words of 40 bytes or more dropped (OCR
//! garbage), lower case, German spelling variants folded (`ß` → `ss`, `ä`/`ae` → `a`, `ö`/`oe` → `o`,
//! `ü`/`ue` → `u`, other Latin diacritics to ASCII), then the Snowball German stemmer. There are no
//! stop words: "Antrag auf Wohngeld" as a phrase must not also match "Antrag für Wohngeld".
//!
//! The folding follows Lucene's `GermanNormalizationFilter`: `ae`, `oe` and `ue` count as umlauts
//! only where they can be one, so "Quelle", "Feuer" and "Bauer" keep their `ue`, while "Mueller"
//! becomes "muller" like "Müller". Like Lucene it also folds a few words that are not umlauts
//! ("Michael" → "michal"); since documents and queries fold alike, this only merges rare spellings.

use std::str::CharIndices;

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenFilter,
    TokenStream, Tokenizer,
};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The name under which [`german`] is registered; text fields name it as their tokenizer.
pub const GERMAN: &str = "registratur_german";

/// Words of this many bytes or more are dropped; real German words are shorter, OCR garbage is not.
const WORD_BYTES_LIMIT: usize = 40;

/// The analyser for German text fields and for query words (see the module docs).
pub fn german() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(WORD_BYTES_LIMIT))
        .filter(LowerCaser)
        .filter(GermanNormaliser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::German))
        .build()
}

/// [`german`] without the stemmer: the same tokens and positions, each only lower-cased and folded.
/// A prefix query needs it, since the prefix of a word is not a word the stemmer understands.
pub fn german_unstemmed() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(WORD_BYTES_LIMIT))
        .filter(LowerCaser)
        .filter(GermanNormaliser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers [`german`] as [`GERMAN`] with `index`, which must happen before the index is written
/// or searched: tantivy looks analysers up by name.
pub fn register(index: &Index) {
    index.tokenizers().register(GERMAN, german());
}

/// Splits text into words: runs of alphanumeric characters and the combining marks that follow them,
/// each word in normalisation form C. Offsets point into the text as given, so highlights mark the
/// right bytes of a stored text whatever its normalisation.
#[derive(Clone, Debug, Default)]
pub struct WordTokenizer {
    token: Token,
}

/// The token stream of [`WordTokenizer`].
pub struct WordTokenStream<'a> {
    text: &'a str,
    chars: std::iter::Peekable<CharIndices<'a>>,
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        WordTokenStream { text, chars: text.char_indices().peekable(), token: &mut self.token }
    }
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        while let Some((from, c)) = self.chars.next() {
            if !is_word_start(c) {
                continue;
            }
            let mut to = from + c.len_utf8();
            while let Some(&(at, next)) = self.chars.peek() {
                if !continues_word(next) {
                    break;
                }
                to = at + next.len_utf8();
                self.chars.next();
            }
            let word = &self.text[from..to];
            self.token.offset_from = from;
            self.token.offset_to = to;
            if word.is_ascii() || unicode_normalization::is_nfc(word) {
                self.token.text.push_str(word);
            } else {
                self.token.text.extend(word.nfc());
            }
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Whether a word may start with `c` (ASCII decided without the Unicode tables).
fn is_word_start(c: char) -> bool {
    if c.is_ascii() { c.is_ascii_alphanumeric() } else { c.is_alphanumeric() }
}

/// Whether `c` continues a word: a letter or digit, or a combining mark on the one before.
fn continues_word(c: char) -> bool {
    if c.is_ascii() { c.is_ascii_alphanumeric() } else { c.is_alphanumeric() || is_combining_mark(c) }
}

/// Folds German spelling variants of lower-case tokens (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct GermanNormaliser;

impl TokenFilter for GermanNormaliser {
    type Tokenizer<T: Tokenizer> = GermanNormaliserTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> GermanNormaliserTokenizer<T> {
        GermanNormaliserTokenizer { tokenizer }
    }
}

/// The tokenizer [`GermanNormaliser`] wraps around the previous one.
#[derive(Clone, Debug)]
pub struct GermanNormaliserTokenizer<T> {
    tokenizer: T,
}

impl<T: Tokenizer> Tokenizer for GermanNormaliserTokenizer<T> {
    type TokenStream<'a> = GermanNormaliserTokenStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        GermanNormaliserTokenStream { tail: self.tokenizer.token_stream(text) }
    }
}

/// The token stream of [`GermanNormaliserTokenizer`].
pub struct GermanNormaliserTokenStream<S> {
    tail: S,
}

impl<S: TokenStream> TokenStream for GermanNormaliserTokenStream<S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let text = &mut self.tail.token_mut().text;
        if needs_folding(text) {
            *text = fold_german(text);
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

fn needs_folding(word: &str) -> bool {
    !word.is_ascii() || word.contains("ae") || word.contains("oe") || word.contains("ue")
}

/// What the previous character was, for deciding whether an `e` ends an umlaut spelled out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Previous {
    /// A consonant, or the start of the word.
    Consonant,
    /// A vowel after which `e` is just an `e` ("Quelle", "Bauer").
    Vowel,
    /// An `a`, `o`, or a `u` after a consonant: a following `e` spells out the umlaut.
    UmlautBase,
}

/// Lucene's German normalisation of one lower-case word.
fn fold_german(word: &str) -> String {
    let mut folded = String::with_capacity(word.len() + 1);
    let mut previous = Previous::Consonant;
    for c in word.chars() {
        previous = match c {
            'a' | 'o' => {
                folded.push(c);
                Previous::UmlautBase
            }
            'u' => {
                folded.push(c);
                if previous == Previous::Consonant { Previous::UmlautBase } else { Previous::Vowel }
            }
            'e' => {
                if previous != Previous::UmlautBase {
                    folded.push(c);
                }
                Previous::Vowel
            }
            'i' | 'q' | 'y' => {
                folded.push(c);
                Previous::Vowel
            }
            'ä' | 'ö' | 'ü' => {
                folded.push(match c {
                    'ä' => 'a',
                    'ö' => 'o',
                    _ => 'u',
                });
                Previous::Vowel
            }
            'ß' => {
                folded.push_str("ss");
                Previous::Consonant
            }
            _ => {
                folded.push(c);
                Previous::Consonant
            }
        };
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut analyzer = german();
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        stream.process(&mut |token| tokens.push(token.text.clone()));
        tokens
    }

    #[test]
    fn sharp_s_and_ss_give_the_same_token() {
        assert_eq!(tokens("Straße"), tokens("Strasse"));
        assert_eq!(tokens("Hauptstraße"), vec!["hauptstrass"]);
    }

    #[test]
    fn umlauts_and_their_spelled_out_forms_give_the_same_token() {
        assert_eq!(tokens("Müller"), vec!["mull"]);
        assert_eq!(tokens("Mueller"), tokens("Müller"));
        assert_eq!(tokens("MÜLLER"), tokens("Müller"));
        assert_eq!(tokens("Köln"), tokens("Koeln"));
        assert_eq!(tokens("Ärger"), tokens("Aerger"));
    }

    #[test]
    fn decomposed_text_gives_the_same_tokens_as_composed_text() {
        let decomposed = "Mu\u{308}llabfuhr Stra\u{df}e Cafe\u{301}";
        assert_eq!(tokens(decomposed), tokens("Müllabfuhr Straße Café"));
        assert_eq!(tokens("Mu\u{308}llabfuhr"), vec!["mullabfuhr"]);
        // Offsets stay those of the text as given, so highlights mark the right bytes.
        let mut tokenizer = WordTokenizer::default();
        let mut stream = tokenizer.token_stream("x Mu\u{308}ll y");
        assert!(stream.advance() && stream.advance());
        assert_eq!(
            (stream.token().offset_from, stream.token().offset_to, stream.token().text.as_str()),
            (2, 8, "Müll")
        );
        // A combining mark that follows no letter is no word.
        assert_eq!(tokens("\u{308} a"), vec!["a"]);
    }

    #[test]
    fn ue_after_q_or_a_vowel_is_no_umlaut() {
        assert_eq!(fold_german("quelle"), "quelle");
        assert_eq!(fold_german("feuer"), "feuer");
        assert_eq!(fold_german("bauer"), "bauer");
        assert_eq!(fold_german("mueller"), "muller");
        assert_eq!(fold_german("straße"), "strasse");
    }

    #[test]
    fn other_latin_diacritics_fold_to_ascii() {
        assert_eq!(tokens("Café"), tokens("Cafe"));
        assert_eq!(tokens("Sánchez"), tokens("Sanchez"));
    }

    #[test]
    fn inflected_forms_stem_together() {
        assert_eq!(tokens("Bescheide"), vec!["bescheid"]);
        assert_eq!(tokens("Bescheides"), vec!["bescheid"]);
        assert_eq!(tokens("Bescheid"), vec!["bescheid"]);
        assert_eq!(tokens("Anträge"), vec!["antrag"]);
        assert_eq!(tokens("Antrag"), vec!["antrag"]);
        assert_eq!(tokens("Widersprüche"), vec!["widerspruch"]);
        assert_eq!(tokens("Widerspruch"), vec!["widerspruch"]);
        assert_eq!(tokens("Häuser"), tokens("Haus"));
    }

    #[test]
    fn digits_and_stop_words_are_kept_with_their_positions() {
        let mut analyzer = german();
        let mut stream = analyzer.token_stream("Antrag auf Wohngeld 2025");
        let mut tokens = Vec::new();
        stream.process(&mut |token| tokens.push((token.text.clone(), token.position)));
        assert_eq!(
            tokens,
            [("antrag", 0), ("auf", 1), ("wohngeld", 2), ("2025", 3)]
                .map(|(text, position)| (text.to_string(), position))
        );
    }

    #[test]
    fn overlong_words_are_dropped() {
        let longest = "x".repeat(WORD_BYTES_LIMIT - 1);
        let garbage = "x".repeat(WORD_BYTES_LIMIT);
        assert_eq!(tokens(&format!("Antrag {longest} {garbage}")), vec!["antrag", longest.as_str()]);
    }

    #[test]
    fn the_unstemmed_analyser_only_folds() {
        let mut analyzer = german_unstemmed();
        let mut stream = analyzer.token_stream("Bescheide Straße");
        let mut tokens = Vec::new();
        stream.process(&mut |token| tokens.push(token.text.clone()));
        assert_eq!(tokens, ["bescheide", "strasse"]);
    }

    #[test]
    fn register_makes_the_analyser_available_by_name() {
        let index = Index::create_in_ram(tantivy::schema::Schema::builder().build());
        register(&index);
        let mut analyzer = index.tokenizers().get(GERMAN).expect("registered");
        let mut stream = analyzer.token_stream("Straße");
        assert_eq!(stream.next().map(|token| token.text.clone()), Some("strass".into()));
    }
}
