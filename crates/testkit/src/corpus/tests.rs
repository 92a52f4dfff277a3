//! The corpus's promises: determinism, sizes, dates, units, the documented term frequencies and a
//! Zipf-like vocabulary.

use std::collections::HashMap;

use super::random::*;
use super::templates::*;
use super::vocabulary::*;
use super::words::*;
use super::*;

const DOCUMENTS: u64 = 20_000;

fn generate(seed: u64, indices: std::ops::Range<u64>) -> Vec<CorpusDocument> {
    let corpus = GermanCorpus::new(seed);
    indices.map(|index| corpus.document(index)).collect()
}

/// Tokens as the documented frequencies count them: runs of alphanumeric characters.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|token| !token.is_empty())
}

/// Whether `word` is a token of `text`, ignoring case. (Lower-casing keeps the byte length of German
/// letters, so tokens of another length are skipped unread.)
fn contains_token(text: &str, word: &str) -> bool {
    tokens(text).any(|token| {
        token.len() == word.len()
            && token.chars().flat_map(char::to_lowercase).eq(word.chars().flat_map(char::to_lowercase))
    })
}

fn share(documents: &[CorpusDocument], test: impl Fn(&CorpusDocument) -> bool) -> f64 {
    documents.iter().filter(|document| test(document)).count() as f64 / documents.len() as f64
}

#[test]
fn documents_depend_only_on_seed_and_index() {
    let corpus = GermanCorpus::new(7);
    let forward: Vec<CorpusDocument> = (0..300).map(|index| corpus.document(index)).collect();
    let other = GermanCorpus::new(7);
    let mut backward: Vec<CorpusDocument> = (0..300).rev().map(|index| other.document(index)).collect();
    backward.reverse();
    assert_eq!(forward, backward);

    // Four threads, each taking every fourth index, give the same documents.
    let threaded: Vec<Vec<CorpusDocument>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4u64)
            .map(|start| {
                let corpus = &corpus;
                scope.spawn(move || (start..300).step_by(4).map(|index| corpus.document(index)).collect())
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().expect("a worker finishes")).collect()
    });
    for (index, document) in forward.iter().enumerate() {
        assert_eq!(&threaded[index % 4][index / 4], document, "document {index}");
    }
}

#[test]
fn seeds_and_indices_give_different_documents() {
    let documents = generate(7, 0..2000);
    let mut bodies: Vec<&str> = documents.iter().map(|document| document.body.as_str()).collect();
    bodies.sort_unstable();
    bodies.dedup();
    assert_eq!(bodies.len(), documents.len());
    assert_ne!(GermanCorpus::new(8).document(5), documents[5]);
    // A far index is as good as a near one.
    let far = GermanCorpus::new(7).document(u64::MAX);
    assert!(BODY_BYTES.contains(&far.body.len()));
}

#[test]
fn documents_have_bounded_bodies_and_plausible_fields() {
    let corpus = GermanCorpus::new(1);
    let aktenplan = corpus.aktenplan();
    let mut channels: HashMap<CorpusChannel, usize> = HashMap::new();
    for index in 0..DOCUMENTS {
        let document = corpus.document(index);
        let length = document.body.len();
        assert!(BODY_BYTES.contains(&length), "document {index} has {length} bytes:\n{}", document.body);
        assert!(!document.title.is_empty() && !document.title.contains('\n'), "{:?}", document.title);
        assert!(!document.sender.is_empty() && !document.sender.contains('\n'), "{:?}", document.sender);
        assert!(!document.body.contains('{'), "an unfilled slot in {}", document.body);
        assert!(!document.body.contains("  ") && !document.body.contains("\n\n\n"), "{}", document.body);
        assert!(document.body.ends_with(|c: char| c.is_alphabetic()), "{}", document.body);
        let key = aktenplan[document.unit];
        assert!(document.body.contains(&format!("{key}-")), "the Aktenzeichen names unit {key}");
        let expected: &[&str] = match document.channel {
            CorpusChannel::PaperScan => &["application/pdf"],
            CorpusChannel::Email => &["message/rfc822", "application/pdf"],
            CorpusChannel::Fachverfahren => &["application/xml", "application/pdf"],
            CorpusChannel::Other => &[
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "text/plain",
                "application/pdf",
            ],
        };
        assert!(expected.contains(&document.media_type), "{:?} {}", document.channel, document.media_type);
        *channels.entry(document.channel).or_default() += 1;
    }
    let channel_share = |channel| channels[&channel] as f64 / DOCUMENTS as f64;
    assert!((channel_share(CorpusChannel::PaperScan) - 0.45).abs() < 0.02);
    assert!((channel_share(CorpusChannel::Email) - 0.30).abs() < 0.02);
    assert!((channel_share(CorpusChannel::Fachverfahren) - 0.20).abs() < 0.02);
    assert!((channel_share(CorpusChannel::Other) - 0.05).abs() < 0.01);
}

#[test]
fn documented_terms_have_their_frequencies() {
    let documents = generate(1, 0..DOCUMENTS);
    let other_forms = ["Bescheides", "Bescheide", "Bescheiden"];

    let frequent_in_body = share(&documents, |document| contains_token(&document.body, FREQUENT_TERM));
    assert!((0.10..=0.20).contains(&frequent_in_body), "{frequent_in_body}");
    assert!((frequent_in_body - FREQUENT_TERM_SHARE).abs() < 0.01, "{frequent_in_body}");
    for document in &documents {
        let any_form = |text: &str| {
            contains_token(text, FREQUENT_TERM) || other_forms.iter().any(|form| contains_token(text, form))
        };
        // Every form, in title or body, comes with the exact form in the body.
        if any_form(&document.title) || any_form(&document.body) {
            assert!(contains_token(&document.body, FREQUENT_TERM), "{}\n{}", document.title, document.body);
        }
        assert!(!any_form(&document.sender));
    }
    let other =
        share(&documents, |document| other_forms.iter().any(|form| contains_token(&document.body, form)));
    assert!((other / frequent_in_body - 0.5).abs() < 0.05, "{other}");

    let medium = share(&documents, |document| contains_token(&document.body, MEDIUM_TERM));
    assert!((medium - MEDIUM_TERM_SHARE).abs() < 0.003, "{medium}");
    let medium_anywhere = share(&documents, |document| {
        contains_token(&document.title, MEDIUM_TERM)
            || contains_token(&document.sender, MEDIUM_TERM)
            || contains_token(&document.body, MEDIUM_TERM)
    });
    assert_eq!(medium_anywhere, medium, "the title only has it when the body has it");

    let rare = |documents: &[CorpusDocument]| {
        documents
            .iter()
            .filter(|document| {
                contains_token(&document.body, RARE_TERM)
                    || contains_token(&document.title, RARE_TERM)
                    || contains_token(&document.sender, RARE_TERM)
            })
            .count()
    };
    assert_eq!(rare(&documents), (DOCUMENTS / RARE_TERM_PERIOD) as usize);
    assert_eq!(rare(&generate(1, 130_000..140_000)), 1);
    assert_eq!(rare(&generate(2, 130_000..140_000)), 1);

    let strasse = share(&documents, |document| contains_token(&document.body, "Straße"));
    assert!((0.25..=0.50).contains(&strasse), "{strasse}");
    let mueller = share(&documents, |document| {
        contains_token(&document.sender, "Müller") || contains_token(&document.body, "Müller")
    });
    assert!((0.10..=0.25).contains(&mueller), "{mueller}");
    assert!(documents.iter().any(|document| contains_token(&document.sender, "Müller")));
}

#[test]
fn posteingang_is_uniform_over_2015_to_2025() {
    let documents = generate(3, 0..DOCUMENTS);
    let mut per_year = [0usize; 11];
    for document in &documents {
        let date = document.posteingangsdatum;
        assert!((FIRST_POSTEINGANG..=LAST_POSTEINGANG).contains(&date), "{date}");
        per_year[(date.year() - 2015) as usize] += 1;
    }
    for (offset, count) in per_year.iter().enumerate() {
        let year = 2015 + offset as i32;
        let days = if year % 4 == 0 { 366.0 } else { 365.0 };
        let expected = DOCUMENTS as f64 * days / f64::from(POSTEINGANG_DAYS);
        assert!((*count as f64 - expected).abs() < expected * 0.08, "{year}: {count}, expected {expected}");
    }
    let first = documents.iter().map(|document| document.posteingangsdatum).min();
    let last = documents.iter().map(|document| document.posteingangsdatum).max();
    assert!(first.is_some_and(|first| first <= FIRST_POSTEINGANG + Days::new(7)), "{first:?}");
    assert!(last.is_some_and(|last| last >= LAST_POSTEINGANG - Days::new(7)), "{last:?}");
}

#[test]
fn documents_are_filed_under_every_leaf_and_only_leaves() {
    let corpus = GermanCorpus::new(4);
    let aktenplan = corpus.aktenplan();
    let is_leaf = |key: &str| !aktenplan.iter().any(|other| other.starts_with(&format!("{key}.")));
    let mut per_unit = vec![0usize; aktenplan.len()];
    for index in 0..DOCUMENTS {
        per_unit[corpus.document(index).unit] += 1;
    }
    for (unit, count) in per_unit.iter().enumerate() {
        let key = aktenplan[unit];
        if is_leaf(key) {
            assert!(*count as f64 > DOCUMENTS as f64 * 0.01, "leaf {key} has only {count} documents");
        } else {
            assert_eq!(*count, 0, "{key} is no leaf");
        }
    }
}

#[test]
fn the_aktenplan_is_a_tree_whose_leaves_all_have_topics() {
    let corpus = GermanCorpus::new(0);
    let aktenplan = corpus.aktenplan();
    assert!((18..=30).contains(&aktenplan.len()));
    for (position, key) in aktenplan.iter().enumerate() {
        if let Some((parent, _)) = key.rsplit_once('.') {
            let parent_position = aktenplan.iter().position(|other| *other == parent);
            assert!(parent_position.is_some_and(|p| p < position), "{key} needs {parent} before it");
        }
    }
    let leaves: Vec<&str> = aktenplan
        .iter()
        .copied()
        .filter(|key| !aktenplan.iter().any(|o| o.starts_with(&format!("{key}."))))
        .collect();
    let with_topics: Vec<&str> = corpus.leaves.iter().map(|leaf| leaf.key).collect();
    assert_eq!(with_topics, leaves);
    assert_eq!(corpus.leaves.len(), LEAF_UNITS.len());
}

/// Rank–frequency over the body tokens of a sample: a large vocabulary with a long tail of rare
/// words, and frequencies falling with rank roughly like 1 / rank.
#[test]
fn words_follow_a_zipf_like_distribution() {
    let documents = generate(5, 0..5000);
    let mut frequencies: HashMap<String, u32> = HashMap::new();
    for document in &documents {
        for token in tokens(&document.body).filter(|token| token.chars().all(char::is_alphabetic)) {
            *frequencies.entry(token.to_lowercase()).or_default() += 1;
        }
    }
    let mut counts: Vec<u32> = frequencies.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let distinct = counts.len();
    let rare = counts.iter().filter(|&&count| count <= 2).count();
    assert!(distinct > 10_000, "{distinct} distinct words");
    assert!(rare as f64 > distinct as f64 * 0.3, "{rare} of {distinct} words occur at most twice");
    // The slope of log(frequency) over log(rank) between ranks 10 and 1000.
    let slope = (f64::from(counts[999]).ln() - f64::from(counts[9]).ln()) / (1000f64.ln() - 10f64.ln());
    assert!((-1.6..=-0.6).contains(&slope), "slope {slope}");
}

#[test]
fn the_vocabulary_is_large_and_never_forms_a_documented_term() {
    let vocabulary = Vocabulary::new();
    let mut forms = std::collections::HashSet::new();
    for lemma in &vocabulary.lemmas {
        for form in [Form::Nominative, Form::Genitive, Form::Plural, Form::DativePlural] {
            let mut word = String::new();
            vocabulary.write(&mut word, *lemma, form);
            assert!(!DOCUMENTED_FORMS.contains(&word.to_lowercase().as_str()), "{word}");
            forms.insert(word);
        }
    }
    assert!(forms.len() > 15_000, "{} word forms", forms.len());
    assert!(forms.contains("Baugenehmigung") && forms.contains("Widersprüche") && forms.contains("Gebühren"));
    assert!(forms.contains("Anträgen") && forms.contains("Grundstücks") && forms.contains("Steuerbescheid"));
}

#[test]
fn templates_use_known_slots_and_documented_terms_only_in_their_own_sentences() {
    let mut ordinary: Vec<&str> = [SENTENCES, TITLES, GREETINGS, CLOSINGS].concat();
    ordinary.extend([LETTER_HEADER, EMAIL_HEADER, PORTAL_HEADER, NOTE_HEADER]);
    let data: Vec<&str> = [
        MODIFIERS,
        ADVERBS,
        LAWS,
        AUTHORITIES,
        PORTALS,
        COMPANIES,
        SURNAMES,
        FIRST_NAMES,
        STREET_STEMS,
        STREET_ADJECTIVES,
        STREETS_AS_IS,
    ]
    .concat();
    let topics = LEAF_UNITS.iter().flat_map(|unit| unit.topics.iter().copied());
    for text in ordinary.iter().copied().chain(data).chain(topics) {
        for form in DOCUMENTED_FORMS {
            assert!(!contains_token(text, form), "{text:?} contains {form}");
        }
    }
    let documented = [FREQUENT_SENTENCES, FREQUENT_OTHER_FORMS, MEDIUM_SENTENCES, RARE_SENTENCES].concat();
    let all_titles = [TITLES, FREQUENT_TITLES, MEDIUM_TITLES].concat();
    for text in ordinary.iter().chain(&documented).chain(&all_titles) {
        for part in parse_template(text) {
            assert!(
                !matches!(part, Part::Text(text) if text.contains(['{', '}'])),
                "{text:?} has an unknown slot"
            );
        }
    }
    assert!(FREQUENT_SENTENCES.iter().all(|text| contains_token(text, FREQUENT_TERM)));
    assert!(FREQUENT_OTHER_FORMS.iter().all(|text| !contains_token(text, FREQUENT_TERM)));
    assert!(MEDIUM_SENTENCES.iter().all(|text| contains_token(text, MEDIUM_TERM)));
    assert!(RARE_SENTENCES.iter().all(|text| contains_token(text, RARE_TERM)));
}

#[test]
fn templates_split_into_text_and_slots() {
    assert_eq!(
        parse_template("Am {date} ging {acc} ein."),
        vec![
            Part::Text("Am "),
            Part::Slot(Slot::Date),
            Part::Text(" ging "),
            Part::Slot(Slot::Accusative),
            Part::Text(" ein.")
        ]
    );
    assert_eq!(parse_template("{Nom}"), vec![Part::Slot(Slot::Nominative { capital: true })]);
    assert_eq!(
        parse_template("a {unknown} b {"),
        vec![Part::Text("a "), Part::Text("{unknown}"), Part::Text(" b {")]
    );
}

#[test]
fn numbers_and_dates_are_written_the_german_way() {
    let written = |write: &dyn Fn(&mut String)| {
        let mut out = String::new();
        write(&mut out);
        out
    };
    assert_eq!(written(&|out| push_grouped(out, 1_234_567)), "1.234.567");
    assert_eq!(written(&|out| push_grouped(out, 1_005)), "1.005");
    assert_eq!(written(&|out| push_grouped(out, 999)), "999");
    assert_eq!(written(&|out| push_number(out, 0)), "0");
    assert_eq!(written(&|out| push_number(out, u64::MAX)), u64::MAX.to_string());
    let date = NaiveDate::from_ymd_opt(2025, 3, 7).expect("a valid date");
    assert_eq!(written(&|out| push_date(out, date)), "07.03.2025");
    assert_eq!(written(&|out| push_mail_local_part(out, "Jürgen-Peter Größer")), "juergen-peter.groesser");
}

#[test]
fn nouns_take_the_article_and_form_of_their_case() {
    let phrase = |case, number| {
        let head = &HEAD_NOUNS[0];
        let (article, form) = article_and_form(head.gender, case, number);
        let forms = [head.nominative, head.genitive, head.plural, dative_plural(head.plural)];
        format!("{article} {}", forms[form as usize])
    };
    assert_eq!(phrase(Case::Accusative, Number::Singular), "den Antrag");
    assert_eq!(phrase(Case::Genitive, Number::Singular), "des Antrags");
    assert_eq!(phrase(Case::Dative, Number::Plural), "den Anträgen");
    assert_eq!(phrase(Case::Nominative, Number::Plural), "die Anträge");
    assert_eq!(article_and_form(Gender::Feminine, Case::Genitive, Number::Singular).0, "der");
    assert_eq!(article_and_form(Gender::Neuter, Case::Accusative, Number::Singular).0, "das");
}

#[test]
fn the_alias_table_samples_its_weights() {
    let table = AliasTable::new(&[1.0, 2.0, 3.0, 4.0]);
    let mut rng = Rng::new(9);
    let mut counts = [0u32; 4];
    for _ in 0..100_000 {
        counts[table.sample(&mut rng)] += 1;
    }
    for (index, count) in counts.iter().enumerate() {
        let expected = (index + 1) as f64 / 10.0;
        assert!((f64::from(*count) / 100_000.0 - expected).abs() < 0.01, "{index}: {count}");
    }
}
