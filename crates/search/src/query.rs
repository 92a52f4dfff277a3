//! The query language of the search box, and its translation into a tantivy query.
//!
//! ```text
//! or-expr   := and-expr (OR and-expr)*
//! and-expr  := unary (AND? unary)*             all terms must match unless OR says otherwise
//! unary     := (NOT | '-') unary | '+' unary | primary
//! primary   := '(' or-expr ')' | [field ':'] '"' phrase '"' | [field ':'] word ['*']
//! ```
//!
//! Operators are the upper-case words `AND`, `OR`, `NOT` and their German forms `UND`, `ODER`,
//! `NICHT`; "and" or "Und" are ordinary words. A `-` or `+` negates or requires only at the start of
//! a word (`-Mahnung`), so "E-Mail" stays one word. `field:` names a field only if the caller lists
//! it ([`parse`]), so "Az:123" stays a word. Errors name the 1-based character where the user has to
//! act ([`QueryError`]). A query of negations only (`-Mahnung`) means every document except those.
//!
//! [`build`] analyses every word and phrase with the fields' analyser ([`super::analysis::german`]):
//! a word that analyses to several tokens ("E-Mail", "12.03.2025") is searched as a phrase, and one
//! that analyses to none ("&") is dropped. A prefix (`Wohn*`) matches every index term that starts
//! with the folded but unstemmed prefix, plus the prefix's own stem. Since the index holds stems,
//! a word whose stem is shorter than the typed prefix is found only through the prefix's stem:
//! `Bescheide*` finds "Bescheides" (stem "bescheid", like the prefix's), `Bescheinig*` finds
//! "Bescheinigung" (both stem to "beschein"), but `Bescheinigu*` does not. A prefix expands to at
//! most [`PREFIX_EXPANSIONS`] terms per segment; further terms are ignored. Prefix matches all score
//! alike. Phrases need the fields indexed with positions.

use tantivy::Score;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Term};
use tantivy::tokenizer::TextAnalyzer;

use super::analysis;

/// How many index terms one prefix may expand to, per segment.
pub const PREFIX_EXPANSIONS: u32 = 1_000;

/// Parentheses and negations may nest this deep; deeper input is refused rather than risking the
/// stack.
const MAX_NESTING: usize = 64;

const UNCLOSED_GROUP: &str = "close this group with a )";
const STRAY_CLOSE: &str = "remove this ) or add a ( before it";

/// A query the user has to correct, with the place to correct it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}: {message}")]
pub struct QueryError {
    /// The 1-based character (not byte) column in the query where the problem is.
    pub position: usize,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ast {
    /// Every document: the query was empty.
    All,
    /// A word; documents must contain it (in any inflected form).
    Word(Leaf),
    /// A word typed with a trailing `*` (the `*` is not part of `text`).
    Prefix(Leaf),
    /// Words in quotes; documents must contain them adjacent and in this order.
    Phrase(Leaf),
    /// Documents matching every part.
    And(Vec<Ast>),
    /// Documents matching at least one part.
    Or(Vec<Ast>),
    /// Documents not matching the part.
    Not(Box<Ast>),
}

/// A word, prefix or phrase as the user typed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// The field it is restricted to, spelled as in the caller's list; `None` for the default fields.
    pub field: Option<String>,
    /// The text, unanalysed; for a phrase without its quotes.
    pub text: String,
    /// The 1-based character where it starts (its field name, if any).
    pub position: usize,
}

/// Which fields a query searches.
#[derive(Clone, Debug)]
pub struct QueryFields {
    default: Vec<(Field, Score)>,
    named: Vec<(&'static str, Field)>,
}

impl QueryFields {
    /// `default` fields, each with its boost, are searched by words without a field name; `named`
    /// fields can be searched as `name:word` (names match case-insensitively).
    pub fn new(default: Vec<(Field, Score)>, named: Vec<(&'static str, Field)>) -> QueryFields {
        QueryFields { default, named }
    }

    /// The field names a query may use, for [`parse`].
    pub fn names(&self) -> Vec<&'static str> {
        self.named.iter().map(|&(name, _)| name).collect()
    }

    fn named(&self, name: &str) -> Option<Field> {
        self.named.iter().find(|(known, _)| *known == name).map(|&(_, field)| field)
    }
}

/// Parses `input`; `field_names` are the names `field:` may use. Empty input is [`Ast::All`].
pub fn parse(input: &str, field_names: &[&str]) -> Result<Ast, QueryError> {
    let tokens = lex(input, field_names)?;
    if tokens.is_empty() {
        return Ok(Ast::All);
    }
    let mut parser = Parser { tokens, next: 0 };
    let ast = parser.or_expression(0)?;
    match parser.peek() {
        None => Ok(ast),
        // Expressions stop only before `)` or the end, so this is a `)` without its `(`.
        Some(token) => Err(error(token.position, STRAY_CLOSE)),
    }
}

/// The tantivy query for `ast`. `analyzer` must be the analyser of the fields
/// ([`analysis::german`]). Fails if no word is left after analysis (the query was only punctuation).
pub fn build(
    ast: &Ast,
    fields: &QueryFields,
    analyzer: &mut TextAnalyzer,
) -> Result<Box<dyn Query>, QueryError> {
    let mut builder = Builder { fields, analyzer, unstemmed: None };
    builder.query(ast)?.ok_or_else(|| error(1, "the query has no word to search for; use letters or digits"))
}

/// The prefixes `ast` asks for (the last word of each `prefix*`, folded but not stemmed), as terms of
/// the fields they search; prefixes under a NOT are left out, since no hit contains them.
pub fn prefix_terms(ast: &Ast, fields: &QueryFields) -> Vec<Term> {
    fn walk(ast: &Ast, fields: &QueryFields, analyzer: &mut TextAnalyzer, out: &mut Vec<Term>) {
        match ast {
            Ast::Prefix(leaf) => {
                let Some((_, prefix)) = analyse(analyzer, &leaf.text).pop() else { return };
                match &leaf.field {
                    Some(name) => {
                        out.extend(fields.named(name).map(|field| Term::from_field_text(field, &prefix)))
                    }
                    None => out.extend(
                        fields.default.iter().map(|&(field, _)| Term::from_field_text(field, &prefix)),
                    ),
                }
            }
            Ast::And(parts) | Ast::Or(parts) => {
                parts.iter().for_each(|part| walk(part, fields, analyzer, out))
            }
            Ast::All | Ast::Word(_) | Ast::Phrase(_) | Ast::Not(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(ast, fields, &mut analysis::german_unstemmed(), &mut out);
    out
}

fn error(position: usize, message: impl Into<String>) -> QueryError {
    QueryError { position, message: message.into() }
}

// ---- Lexing ----

#[derive(Debug)]
struct Token {
    lexeme: Lexeme,
    /// 1-based character position.
    position: usize,
}

#[derive(Debug)]
enum Lexeme {
    /// A word, prefix or phrase.
    Leaf(Ast),
    Open,
    Close,
    /// `AND`, spelled as typed.
    And(&'static str),
    /// `OR`, spelled as typed.
    Or(&'static str),
    /// `NOT`, `-` (negating) or `+`, spelled as typed.
    Unary {
        negates: bool,
        spelling: &'static str,
    },
}

fn lex(input: &str, field_names: &[&str]) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        let position = at + 1;
        let lexeme = match c {
            c if c.is_whitespace() => {
                at += 1;
                continue;
            }
            '(' => {
                at += 1;
                Lexeme::Open
            }
            ')' => {
                at += 1;
                Lexeme::Close
            }
            '"' => {
                let (text, end) = phrase(&chars, at)?;
                at = end;
                Lexeme::Leaf(Ast::Phrase(Leaf { field: None, text, position }))
            }
            // A lone `-` or `+` is no operator; the word it becomes is dropped as punctuation.
            '-' | '+' if chars.get(at + 1).is_some_and(|&next| !next.is_whitespace() && next != ')') => {
                at += 1;
                let negates = c == '-';
                let spelling = if negates { "-" } else { "+" };
                Lexeme::Unary { negates, spelling }
            }
            _ => {
                let end = (at..chars.len()).find(|&i| ends_word(chars[i])).unwrap_or(chars.len());
                let word: String = chars[at..end].iter().collect();
                at = end;
                if let Some(lexeme) = operator(&word) {
                    lexeme
                } else if let Some((name, rest)) = word.split_once(':')
                    && let Some(&field) = field_names.iter().find(|known| known.eq_ignore_ascii_case(name))
                {
                    let field = Some(field.to_string());
                    if !rest.is_empty() {
                        Lexeme::Leaf(word_leaf(field, rest, position))
                    } else if chars.get(at) == Some(&'"') {
                        let (text, end) = phrase(&chars, at)?;
                        at = end;
                        Lexeme::Leaf(Ast::Phrase(Leaf { field, text, position }))
                    } else {
                        return Err(error(
                            position,
                            format!("write a word or a quoted phrase right after {word}"),
                        ));
                    }
                } else {
                    Lexeme::Leaf(word_leaf(None, &word, position))
                }
            }
        };
        tokens.push(Token { lexeme, position });
    }
    Ok(tokens)
}

/// Whether `c` ends a word (and starts the next token).
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

fn operator(word: &str) -> Option<Lexeme> {
    Some(match word {
        "AND" => Lexeme::And("AND"),
        "UND" => Lexeme::And("UND"),
        "OR" => Lexeme::Or("OR"),
        "ODER" => Lexeme::Or("ODER"),
        "NOT" => Lexeme::Unary { negates: true, spelling: "NOT" },
        "NICHT" => Lexeme::Unary { negates: true, spelling: "NICHT" },
        _ => return None,
    })
}

fn word_leaf(field: Option<String>, word: &str, position: usize) -> Ast {
    match word.strip_suffix('*') {
        Some(prefix) if !prefix.is_empty() => Ast::Prefix(Leaf { field, text: prefix.to_string(), position }),
        _ => Ast::Word(Leaf { field, text: word.to_string(), position }),
    }
}

/// The phrase whose opening quote is at `open`, and the index after its closing quote.
fn phrase(chars: &[char], open: usize) -> Result<(String, usize), QueryError> {
    let close = chars[open + 1..]
        .iter()
        .position(|&c| c == '"')
        .map(|offset| open + 1 + offset)
        .ok_or_else(|| error(open + 1, "close the phrase with a second \""))?;
    let text: String = chars[open + 1..close].iter().collect();
    if text.trim().is_empty() {
        return Err(error(open + 1, "write the words to search for between the quotes"));
    }
    Ok((text, close + 1))
}

// ---- Parsing ----

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn or_expression(&mut self, depth: usize) -> Result<Ast, QueryError> {
        let mut alternatives = vec![self.and_expression(depth)?];
        while let Some(Token { lexeme: Lexeme::Or(_), .. }) = self.peek() {
            self.next += 1;
            alternatives.push(self.and_expression(depth)?);
        }
        Ok(collapse(alternatives, Ast::Or))
    }

    fn and_expression(&mut self, depth: usize) -> Result<Ast, QueryError> {
        let mut parts = vec![self.unary(depth)?];
        loop {
            match self.peek().map(|token| &token.lexeme) {
                Some(Lexeme::And(_)) => self.next += 1,
                Some(Lexeme::Leaf(_) | Lexeme::Open | Lexeme::Unary { .. }) => {}
                _ => break,
            }
            parts.push(self.unary(depth)?);
        }
        Ok(collapse(parts, Ast::And))
    }

    fn unary(&mut self, depth: usize) -> Result<Ast, QueryError> {
        let Some(token) = self.tokens.get(self.next) else {
            return Err(self.missing_operand());
        };
        if depth > MAX_NESTING {
            return Err(error(
                token.position,
                "the query nests too deeply; use fewer parentheses or negations",
            ));
        }
        let position = token.position;
        match &token.lexeme {
            Lexeme::Leaf(leaf) => {
                let leaf = leaf.clone();
                self.next += 1;
                Ok(leaf)
            }
            &Lexeme::Unary { negates, .. } => {
                self.next += 1;
                let operand = self.unary(depth + 1)?;
                Ok(if negates { Ast::Not(Box::new(operand)) } else { operand })
            }
            Lexeme::Open => {
                self.next += 1;
                let inner = self.or_expression(depth + 1)?;
                match self.peek() {
                    Some(Token { lexeme: Lexeme::Close, .. }) => {
                        self.next += 1;
                        Ok(inner)
                    }
                    _ => Err(error(position, UNCLOSED_GROUP)),
                }
            }
            Lexeme::And(_) | Lexeme::Or(_) | Lexeme::Close => Err(self.missing_operand()),
        }
    }

    /// The error for a missing word at the current token, blaming whatever wanted the word.
    fn missing_operand(&self) -> QueryError {
        let previous = self.next.checked_sub(1).and_then(|index| self.tokens.get(index));
        match (previous, self.peek()) {
            (
                Some(Token {
                    lexeme: Lexeme::And(spelling) | Lexeme::Or(spelling) | Lexeme::Unary { spelling, .. },
                    position,
                }),
                _,
            ) => error(*position, format!("put a search word after {spelling}")),
            (_, Some(Token { lexeme: Lexeme::And(spelling) | Lexeme::Or(spelling), position })) => {
                error(*position, format!("put a search word before {spelling}"))
            }
            (Some(Token { lexeme: Lexeme::Open, position }), Some(Token { lexeme: Lexeme::Close, .. })) => {
                error(*position, "put a search word between ( and )")
            }
            (Some(Token { lexeme: Lexeme::Open, position }), None) => error(*position, UNCLOSED_GROUP),
            // What is left is a `)` where the query or a group would start.
            (_, current) => error(current.map_or(1, |token| token.position), STRAY_CLOSE),
        }
    }
}

/// One part stands for itself; several are combined with `combine`.
fn collapse(mut parts: Vec<Ast>, combine: fn(Vec<Ast>) -> Ast) -> Ast {
    if parts.len() == 1 { parts.remove(0) } else { combine(parts) }
}

// ---- Building ----

struct Builder<'a> {
    fields: &'a QueryFields,
    analyzer: &'a mut TextAnalyzer,
    /// The analyser for prefixes, made when the first prefix needs it.
    unstemmed: Option<TextAnalyzer>,
}

impl Builder<'_> {
    /// The query for `ast`, or `None` if nothing searchable is left in it.
    fn query(&mut self, ast: &Ast) -> Result<Option<Box<dyn Query>>, QueryError> {
        Ok(match ast {
            Ast::All => Some(Box::new(AllQuery)),
            Ast::Word(leaf) | Ast::Phrase(leaf) => self.leaf(leaf, false)?,
            Ast::Prefix(leaf) => self.leaf(leaf, true)?,
            Ast::And(parts) => {
                let mut clauses = Vec::new();
                for part in parts {
                    let (occur, part) = match part {
                        Ast::Not(negated) => (Occur::MustNot, negated.as_ref()),
                        _ => (Occur::Must, part),
                    };
                    if let Some(query) = self.query(part)? {
                        clauses.push((occur, query));
                    }
                }
                conjunction(clauses)
            }
            Ast::Or(alternatives) => {
                let mut queries = Vec::new();
                for alternative in alternatives {
                    queries.extend(self.query(alternative)?);
                }
                union(queries)
            }
            Ast::Not(negated) => {
                self.query(negated)?.and_then(|query| conjunction(vec![(Occur::MustNot, query)]))
            }
        })
    }

    fn leaf(&mut self, leaf: &Leaf, prefix: bool) -> Result<Option<Box<dyn Query>>, QueryError> {
        let stemmed = analyse(self.analyzer, &leaf.text);
        if stemmed.is_empty() {
            return Ok(None);
        }
        let unstemmed = if prefix {
            let analyzer = self.unstemmed.get_or_insert_with(analysis::german_unstemmed);
            Some(analyse(analyzer, &leaf.text))
        } else {
            None
        };
        let field_query = |field: Field| match &unstemmed {
            Some(unstemmed) => prefix_query(field, &stemmed, unstemmed),
            None => exact_query(field, &stemmed),
        };
        Ok(match &leaf.field {
            Some(name) => {
                let field = self
                    .fields
                    .named(name)
                    .ok_or_else(|| error(leaf.position, format!("there is no field {name} to search in")))?;
                Some(field_query(field))
            }
            None => union(
                self.fields
                    .default
                    .iter()
                    .map(|&(field, boost)| {
                        Box::new(BoostQuery::new(field_query(field), boost)) as Box<dyn Query>
                    })
                    .collect(),
            ),
        })
    }
}

/// The tokens of `text`: each one's position and term text.
fn analyse(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut tokens = Vec::new();
    analyzer.token_stream(text).process(&mut |token| tokens.push((token.position, token.text.clone())));
    tokens
}

/// The tokens as one term, or as a phrase (offsets kept, so a dropped over-long word leaves its gap).
fn exact_query(field: Field, tokens: &[(usize, String)]) -> Box<dyn Query> {
    match tokens {
        [(_, only)] => {
            Box::new(TermQuery::new(Term::from_field_text(field, only), IndexRecordOption::WithFreqs))
        }
        _ => Box::new(PhraseQuery::new_with_offset(terms(field, tokens))),
    }
}

/// The tokens as a phrase whose last word is only a prefix; `stemmed` and `unstemmed` are the same
/// non-empty text through [`analysis::german`] and [`analysis::german_unstemmed`], so they line up.
fn prefix_query(field: Field, stemmed: &[(usize, String)], unstemmed: &[(usize, String)]) -> Box<dyn Query> {
    let mut phrase = terms(field, stemmed);
    let last = phrase.len() - 1;
    // Only a caller passing another analyser than `german` to `build` can break the line-up.
    let Some((_, typed)) = unstemmed.get(last) else {
        return exact_query(field, stemmed);
    };
    phrase[last].1 = Term::from_field_text(field, typed);
    let mut query = PhrasePrefixQuery::new_with_offset(phrase);
    query.set_max_expansions(PREFIX_EXPANSIONS);
    let (_, stem) = &stemmed[last];
    if stem == typed {
        Box::new(query)
    } else {
        Box::new(BooleanQuery::union(vec![Box::new(query), exact_query(field, stemmed)]))
    }
}

fn terms(field: Field, tokens: &[(usize, String)]) -> Vec<(usize, Term)> {
    let first = tokens.first().map_or(0, |&(position, _)| position);
    tokens.iter().map(|(position, text)| (position - first, Term::from_field_text(field, text))).collect()
}

/// Must and must-not clauses as one query; without a must clause, it is "everything except".
fn conjunction(mut clauses: Vec<(Occur, Box<dyn Query>)>) -> Option<Box<dyn Query>> {
    if clauses.is_empty() {
        return None;
    }
    if !clauses.iter().any(|(occur, _)| *occur == Occur::Must) {
        clauses.insert(0, (Occur::Must, Box::new(AllQuery)));
    }
    if clauses.len() == 1 {
        return clauses.pop().map(|(_, query)| query);
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}

fn union(mut queries: Vec<Box<dyn Query>>) -> Option<Box<dyn Query>> {
    if queries.len() <= 1 {
        return queries.pop();
    }
    Some(Box::new(BooleanQuery::union(queries)))
}

#[cfg(test)]
mod tests {
    use tantivy::collector::DocSetCollector;
    use tantivy::schema::{Schema, TextFieldIndexing, TextOptions};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    const FIELD_NAMES: &[&str] = &["titel", "text"];

    /// The test documents by document id: (titel, text).
    const DOCUMENTS: &[(&str, &str)] = &[
        (
            "Bescheid über Wohngeld",
            "Sehr geehrte Frau Müller, Ihr Antrag auf Wohngeld vom 12.03.2025 wurde bewilligt. \
             Hauptstraße 5",
        ),
        ("Widerspruch gegen Bauantrag", "Herr Meier legt Widerspruch gegen den Bescheid zum Bauantrag ein"),
        ("Bauantrag", "Baugenehmigung für die Strasse am Markt, Absender Stadtwerke Köln"),
        ("Mahnung", "Die Stadtwerke Köln mahnen die offene Rechnung an, E-Mail an die Kasse"),
        ("Antrag auf Elterngeld", "Wohngeld wurde nicht beantragt, eine Bescheinigung folgt"),
    ];

    struct TestIndex {
        index: Index,
        fields: QueryFields,
    }

    impl TestIndex {
        fn new() -> TestIndex {
            let mut schema = Schema::builder();
            let options = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(analysis::GERMAN)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            );
            let titel = schema.add_text_field("titel", options.clone());
            let text = schema.add_text_field("text", options);
            let index = Index::create_in_ram(schema.build());
            analysis::register(&index);
            // One thread writes one segment, so document ids follow DOCUMENTS.
            let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 15_000_000).expect("writer");
            for &(titel_text, body) in DOCUMENTS {
                let mut document = TantivyDocument::default();
                document.add_text(titel, titel_text);
                document.add_text(text, body);
                writer.add_document(document).expect("add");
            }
            writer.commit().expect("commit");
            let fields =
                QueryFields::new(vec![(titel, 2.0), (text, 1.0)], vec![("titel", titel), ("text", text)]);
            TestIndex { index, fields }
        }

        /// The ids of the documents `input` finds, in ascending order.
        fn search(&self, input: &str) -> Vec<u32> {
            let ast = parse(input, &self.fields.names()).expect("query parses");
            let query = build(&ast, &self.fields, &mut analysis::german()).expect("query builds");
            let searcher = self.index.reader().expect("reader").searcher();
            let mut ids: Vec<u32> = searcher
                .search(query.as_ref(), &DocSetCollector)
                .expect("search")
                .into_iter()
                .map(|address| address.doc_id)
                .collect();
            ids.sort_unstable();
            ids
        }
    }

    fn parse_error(input: &str) -> (usize, String) {
        let error = parse(input, FIELD_NAMES).expect_err("query is refused");
        (error.position, error.message)
    }

    fn word(text: &str, position: usize) -> Ast {
        Ast::Word(Leaf { field: None, text: text.into(), position })
    }

    #[test]
    fn an_empty_query_is_all_and_finds_everything() {
        assert_eq!(parse("", FIELD_NAMES), Ok(Ast::All));
        assert_eq!(parse(" \t ", FIELD_NAMES), Ok(Ast::All));
        assert_eq!(TestIndex::new().search("  "), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn syntax_errors_point_at_the_character_to_fix() {
        // "Müller" and "Straße" have two-byte characters, so byte offsets would be off.
        assert_eq!(parse_error("Müller \"Antrag auf"), (8, "close the phrase with a second \"".into()));
        assert_eq!(parse_error("Straße (Müller OR Meier"), (8, "close this group with a )".into()));
        assert_eq!(parse_error("(Straße"), (1, "close this group with a )".into()));
        assert_eq!(parse_error("Müller ("), (8, "close this group with a )".into()));
        assert_eq!(parse_error("Müller)"), (7, "remove this ) or add a ( before it".into()));
        assert_eq!(parse_error("(Müller))"), (9, "remove this ) or add a ( before it".into()));
        assert_eq!(parse_error(") Müller"), (1, "remove this ) or add a ( before it".into()));
        assert_eq!(parse_error("Müller ()"), (8, "put a search word between ( and )".into()));
        assert_eq!(parse_error("Müller AND"), (8, "put a search word after AND".into()));
        assert_eq!(parse_error("OR Müller"), (1, "put a search word before OR".into()));
        assert_eq!(parse_error("Müller ODER )"), (8, "put a search word after ODER".into()));
        assert_eq!(parse_error("Müller UND OR Meier"), (8, "put a search word after UND".into()));
        assert_eq!(parse_error("Straße (OR Meier)"), (9, "put a search word before OR".into()));
        assert_eq!(parse_error("Straße NICHT"), (8, "put a search word after NICHT".into()));
        assert_eq!(parse_error("Straße -)"), (9, "remove this ) or add a ( before it".into()));
        assert_eq!(
            parse_error("Straße \"\" Müller"),
            (8, "write the words to search for between the quotes".into())
        );
        assert_eq!(
            parse_error("Straße titel: Müller"),
            (8, "write a word or a quoted phrase right after titel:".into())
        );
        let deep = format!("{}Müller{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(parse_error(&deep).0, MAX_NESTING + 2);
    }

    #[test]
    fn the_error_displays_its_position() {
        let error = parse("Müller AND", FIELD_NAMES).expect_err("refused");
        assert_eq!(error.to_string(), "at character 8: put a search word after AND");
    }

    #[test]
    fn a_query_without_searchable_words_is_refused_at_the_start() {
        let fields = TestIndex::new().fields;
        for input in ["&", "- / ;", "\"...\"", "titel:&"] {
            let ast = parse(input, &fields.names()).expect("parses");
            let error = build(&ast, &fields, &mut analysis::german()).expect_err("no words");
            assert_eq!(error.position, 1, "{input}");
            assert_eq!(error.message, "the query has no word to search for; use letters or digits");
        }
    }

    #[test]
    fn the_parser_builds_the_documented_tree() {
        assert_eq!(
            parse("Bauantrag AND NOT Widerspruch", FIELD_NAMES),
            Ok(Ast::And(vec![word("Bauantrag", 1), Ast::Not(Box::new(word("Widerspruch", 19)))]))
        );
        assert_eq!(
            parse("a b OR c", FIELD_NAMES),
            Ok(Ast::Or(vec![Ast::And(vec![word("a", 1), word("b", 3)]), word("c", 8)]))
        );
        assert_eq!(
            parse("titel:\"Stadtwerke Köln\" Az:123 +E-Mail Wohn* and", FIELD_NAMES),
            Ok(Ast::And(vec![
                Ast::Phrase(Leaf {
                    field: Some("titel".into()),
                    text: "Stadtwerke Köln".into(),
                    position: 1
                }),
                word("Az:123", 25),
                word("E-Mail", 33),
                Ast::Prefix(Leaf { field: None, text: "Wohn".into(), position: 40 }),
                word("and", 46),
            ]))
        );
        assert_eq!(
            parse("Titel:Bescheid", FIELD_NAMES),
            Ok(Ast::Word(Leaf { field: Some("titel".into()), text: "Bescheid".into(), position: 1 }))
        );
    }

    #[test]
    fn all_words_must_match_by_default() {
        let index = TestIndex::new();
        assert_eq!(index.search("Wohngeld"), [0, 4]);
        assert_eq!(index.search("Wohngeld Müller"), [0]);
        assert_eq!(index.search("Wohngeld UND Müller"), [0]);
        assert_eq!(index.search("+Wohngeld +Müller"), [0]);
        assert_eq!(index.search("Wohngeld Meier"), Vec::<u32>::new());
    }

    #[test]
    fn or_matches_either_word() {
        let index = TestIndex::new();
        assert_eq!(index.search("Mahnung OR Meier"), [1, 3]);
        assert_eq!(index.search("Mahnung ODER Meier"), [1, 3]);
        // Lower-case "or" is a word that no document contains.
        assert_eq!(index.search("Mahnung or Meier"), Vec::<u32>::new());
    }

    #[test]
    fn negation_excludes_and_a_purely_negative_query_means_everything_else() {
        let index = TestIndex::new();
        assert_eq!(index.search("Bauantrag AND NOT Widerspruch"), [2]);
        assert_eq!(index.search("Bauantrag -Widerspruch"), [2]);
        assert_eq!(index.search("Bauantrag NICHT Widerspruch"), [2]);
        assert_eq!(index.search("-Mahnung"), [0, 1, 2, 4]);
        assert_eq!(index.search("NOT Stadtwerke NOT Wohngeld"), [1]);
        assert_eq!(index.search("Mahnung OR -Köln"), [0, 1, 3, 4]);
    }

    #[test]
    fn parentheses_group() {
        let index = TestIndex::new();
        assert_eq!(index.search("(Müller OR Meier) Bescheid"), [0, 1]);
        assert_eq!(index.search("(Müller OR Meier) \"Hauptstraße 5\""), [0]);
        assert_eq!(index.search("Köln -(Mahnung OR Markt)"), Vec::<u32>::new());
        assert_eq!(index.search("Köln -(Mahnung Markt)"), [2, 3]);
    }

    #[test]
    fn a_phrase_matches_adjacent_words_in_order() {
        let index = TestIndex::new();
        assert_eq!(index.search("\"Antrag auf Wohngeld\""), [0]);
        assert_eq!(index.search("Antrag auf Wohngeld"), [0, 4]);
        assert_eq!(index.search("\"Wohngeld auf Antrag\""), Vec::<u32>::new());
        assert_eq!(index.search("\"Antrag Wohngeld\""), Vec::<u32>::new());
        assert_eq!(index.search("\"Stadtwerke Köln\""), [2, 3]);
    }

    #[test]
    fn a_word_of_several_tokens_is_a_phrase() {
        let index = TestIndex::new();
        assert_eq!(index.search("12.03.2025"), [0]);
        assert_eq!(index.search("12.03.2024"), Vec::<u32>::new());
        assert_eq!(index.search("E-Mail"), [3]);
        assert_eq!(index.search("Mail-E"), Vec::<u32>::new());
    }

    #[test]
    fn a_field_name_restricts_the_search_to_that_field() {
        let index = TestIndex::new();
        assert_eq!(index.search("Bescheid"), [0, 1]);
        assert_eq!(index.search("titel:Bescheid"), [0]);
        assert_eq!(index.search("TITEL:Bescheid"), [0]);
        assert_eq!(index.search("text:\"Stadtwerke Köln\""), [2, 3]);
        assert_eq!(index.search("titel:\"Stadtwerke Köln\""), Vec::<u32>::new());
        assert_eq!(index.search("text:Wohn*"), [0, 4]);
    }

    #[test]
    fn an_unknown_field_name_stays_part_of_the_word() {
        let index = TestIndex::new();
        // "absender:Stadtwerke" is the phrase "absender stadtwerk", which document 2 contains.
        assert_eq!(index.search("Absender:Stadtwerke"), [2]);
        assert_eq!(index.search("Stadtwerke:Köln"), [2, 3]);
    }

    #[test]
    fn a_prefix_finds_every_word_it_starts() {
        let index = TestIndex::new();
        assert_eq!(index.search("Wohn*"), [0, 4]);
        assert_eq!(index.search("Bau*"), [1, 2]);
        assert_eq!(index.search("Stadtw*"), [2, 3]);
        // "Straß*" is folded to the prefix "strass", which "Strasse" starts and "Hauptstraße" does
        // not; "Bescheide*" finds "Bescheid" through the prefix's stem.
        assert_eq!(index.search("Straß*"), [2]);
        assert_eq!(index.search("Bescheide*"), [0, 1]);
        // The last word of a phrase-like word is the prefix.
        assert_eq!(index.search("E-Ma*"), [3]);
        assert_eq!(index.search("Xyz*"), Vec::<u32>::new());
        // The documented limitation: "Bescheinigung" is indexed as "beschein", which neither starts
        // with "bescheinigu" nor is that prefix's stem.
        assert_eq!(index.search("Bescheinig*"), [4]);
        assert_eq!(index.search("Bescheinigu*"), Vec::<u32>::new());
    }

    #[test]
    fn folded_and_inflected_forms_find_the_same_documents() {
        let index = TestIndex::new();
        assert_eq!(index.search("Strasse"), index.search("Straße"));
        assert_eq!(index.search("Strasse"), [2]);
        assert_eq!(index.search("Mueller"), [0]);
        assert_eq!(index.search("MÜLLER"), [0]);
        assert_eq!(index.search("Bescheide"), [0, 1]);
        assert_eq!(index.search("Bescheides"), [0, 1]);
        assert_eq!(index.search("Anträge"), [0, 4]);
        assert_eq!(index.search("Koeln"), [2, 3]);
    }

    #[test]
    fn a_default_field_boost_ranks_title_matches_first() {
        let index = TestIndex::new();
        let fields = &index.fields;
        let query =
            build(&parse("Bescheid", &fields.names()).expect("parses"), fields, &mut analysis::german())
                .expect("builds");
        let searcher = index.index.reader().expect("reader").searcher();
        let top = searcher
            .search(query.as_ref(), &tantivy::collector::TopDocs::with_limit(2).order_by_score())
            .expect("search");
        let ids: Vec<u32> = top.into_iter().map(|(_, address)| address.doc_id).collect();
        assert_eq!(ids, [0, 1]);
    }
}
