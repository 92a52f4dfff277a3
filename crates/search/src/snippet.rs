//! Snippets: the passage of a hit's text that best shows why it matched, with the matched words
//! marked.
//!
//! tantivy's `SnippetGenerator` runs every word of every hit through the whole analyser, the Snowball
//! stemmer included, which made snippets most of a search's time (about 0.3 ms per 4 KB hit). Here a
//! word is only folded (lower case, German spellings, diacritics: [`analysis::german_unstemmed`]), and
//! stemmed only when a query term is a prefix of its folded form. That loses nothing: the German
//! stemmer only removes endings of the folded word, so a word's stem always begins the folded word,
//! and a word that no term begins cannot stem to a term. A word that begins with a prefix of a
//! `prefix*` query matches as it is. And since folding changes an ASCII first letter only in its case,
//! a word whose first letter begins no term is not even folded.
//!
//! The passage is chosen as tantivy chooses it: the text is cut into windows of at most
//! [`SNIPPET_CHARS`] bytes, each starting at a word, and the window whose matched words weigh most
//! wins (the first among equals).

use std::collections::BTreeMap;
use std::ops::Range;

use tantivy::Score;
use tantivy::tokenizer::{Language, RawTokenizer, Stemmer, TextAnalyzer, TokenStream, Tokenizer};

use super::analysis::{self, WordTokenizer};

/// Snippets are at most this many bytes of text.
pub const SNIPPET_CHARS: usize = 240;

/// The weight of a word matched by a prefix: that of a term in about every other Dokument.
const PREFIX_MATCH_WEIGHT: Score = 0.5;

/// A passage of the text with the matched words marked as byte ranges into `text`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<Range<usize>>,
}

/// What snippets mark: stemmed query terms with their weights, and folded prefixes.
pub struct SnippetMatcher {
    terms: BTreeMap<String, Score>,
    prefixes: Vec<String>,
    folder: TextAnalyzer,
    stemmer: TextAnalyzer,
    /// Splits the text into words as the analyser does, without folding them.
    words: WordTokenizer,
}

impl SnippetMatcher {
    /// `terms` are index terms (stems) with their weights (rarer terms weigh more); `prefixes` are
    /// prefixes as [`analysis::german_unstemmed`] folds them.
    pub fn new(terms: BTreeMap<String, Score>, prefixes: Vec<String>) -> Self {
        SnippetMatcher {
            terms,
            prefixes,
            folder: analysis::german_unstemmed(),
            stemmer: TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(Language::German))
                .build(),
            words: WordTokenizer::default(),
        }
    }

    /// The best passage of `text`, or `None` when no word of it matches.
    pub fn snippet(&mut self, text: &str) -> Option<Snippet> {
        let SnippetMatcher { terms, prefixes, folder, stemmer, words } = self;
        // A word can match only if its folded form starts with the first letter of a term or prefix;
        // folding never changes an ASCII first letter but for its case, so most words are decided on
        // their first character without being folded.
        let initials: Vec<char> =
            terms.keys().chain(prefixes.iter()).filter_map(|t| t.chars().next()).collect();
        let mut best: Option<Fragment> = None;
        let mut current = Fragment::new(0);
        let mut stream = words.token_stream(text);
        while stream.advance() {
            let token = stream.token();
            let (from, to) = (token.offset_from, token.offset_to);
            if to - current.start > SNIPPET_CHARS {
                current.offer_to(&mut best);
                current = Fragment::new(from);
            }
            current.stop = to;
            let candidate = match token.text.chars().next() {
                Some(first) if first.is_ascii() => initials.contains(&first.to_ascii_lowercase()),
                _ => true,
            };
            if !candidate {
                continue;
            }
            let mut folded = None;
            folder.token_stream(&token.text).process(&mut |t| folded = Some(t.text.clone()));
            if let Some(weight) = folded.and_then(|folded| weight(terms, prefixes, stemmer, &folded)) {
                current.score += weight;
                current.highlights.push(from..to);
            }
        }
        current.offer_to(&mut best);
        let best = best?;
        Some(Snippet {
            text: text[best.start..best.stop].to_string(),
            highlights: best.highlights.iter().map(|r| r.start - best.start..r.end - best.start).collect(),
        })
    }
}

/// The weight of a folded word if it matches, stemming it only when a term begins it.
fn weight(
    terms: &BTreeMap<String, Score>,
    prefixes: &[String],
    stemmer: &mut TextAnalyzer,
    folded: &str,
) -> Option<Score> {
    if prefixes.iter().any(|prefix| folded.starts_with(prefix.as_str())) {
        return Some(PREFIX_MATCH_WEIGHT);
    }
    if !terms.keys().any(|term| folded.starts_with(term.as_str())) {
        return None;
    }
    let mut stem = String::new();
    stemmer.token_stream(folded).process(&mut |token| stem.clone_from(&token.text));
    terms.get(&stem).copied()
}

/// A window of the text and the weight of its matched words.
struct Fragment {
    start: usize,
    stop: usize,
    score: Score,
    highlights: Vec<Range<usize>>,
}

impl Fragment {
    fn new(start: usize) -> Self {
        Fragment { start, stop: start, score: 0.0, highlights: Vec::new() }
    }

    /// Keeps this window in `best` if it has matches and weighs more than the best so far.
    fn offer_to(self, best: &mut Option<Fragment>) {
        if self.score > 0.0 && best.as_ref().is_none_or(|best| self.score > best.score) {
            *best = Some(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(words: &str) -> Vec<String> {
        let mut analyzer = analysis::german();
        let mut out = Vec::new();
        analyzer.token_stream(words).process(&mut |token| out.push(token.text.clone()));
        out
    }

    fn marked(snippet: &Snippet) -> Vec<&str> {
        snippet.highlights.iter().map(|r| &snippet.text[r.clone()]).collect()
    }

    #[test]
    fn every_inflected_form_of_a_term_is_marked() {
        let terms = stems("Bescheid Antrag").into_iter().map(|t| (t, 1.0)).collect();
        let mut matcher = SnippetMatcher::new(terms, Vec::new());
        let text = "Die Bescheide zu Ihren Anträgen und der Bescheid vom Mai; ein Antragsteller fehlt.";
        let snippet = matcher.snippet(text).unwrap();
        assert_eq!(marked(&snippet), ["Bescheide", "Anträgen", "Bescheid"]);
    }

    #[test]
    fn prefixes_mark_the_words_they_begin_and_nothing_else_is_marked() {
        let mut matcher = SnippetMatcher::new(BTreeMap::new(), vec!["uberschwemm".into()]);
        let snippet = matcher.snippet("Nach der Überschwemmung kam die Schwemme.").unwrap();
        assert_eq!(marked(&snippet), ["Überschwemmung"]);
        assert_eq!(matcher.snippet("Kein Treffer hier."), None);
    }

    #[test]
    fn the_window_with_the_heaviest_matches_wins() {
        let terms = [("frist".to_string(), 0.2), ("widerspruch".to_string(), 1.0)].into_iter().collect();
        let mut matcher = SnippetMatcher::new(terms, Vec::new());
        let filler = "Text ".repeat(60);
        let text = format!("Frist Frist. {filler} Der Widerspruch ist zulässig.");
        let snippet = matcher.snippet(&text).unwrap();
        assert_eq!(marked(&snippet), ["Widerspruch"]);
        assert!(snippet.text.len() <= SNIPPET_CHARS);
    }

    /// What makes stemming only the words a term begins safe: the stem of a folded word begins it.
    #[test]
    fn the_stem_of_a_folded_word_begins_the_folded_word() {
        let text = "Häuser Bescheiden Anträgen Widersprüchen Straßen Gebührenbescheides Überschwemmungen \
                    Müllers Grundstücke Verwaltungen beantragte Zuständigkeiten Mitteilungen Fischereischeine";
        let mut folded = Vec::new();
        analysis::german_unstemmed().token_stream(text).process(&mut |token| folded.push(token.text.clone()));
        for (word, stem) in folded.iter().zip(stems(text)) {
            assert!(word.starts_with(&stem), "{word} stems to {stem}");
        }
    }
}
