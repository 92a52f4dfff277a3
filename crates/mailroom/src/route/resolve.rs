//! The routing decision for one piece of incoming mail: which Akte it belongs to, or why it goes to the
//! Klärfall queue.
//!
//! Evidence is weighed in this order:
//! 1. **Routing codes issued by this engine** (`RG1:...`, see `code`): verified with the key ring, then
//!    the Akte they name must exist, carry the Aktenzeichen the code prints, and be open.
//! 2. **Plain codes** from third-party forms, by default `AZ:<Aktenzeichen>`: resolved by Aktenzeichen.
//! 3. **Text fallback**: Aktenzeichen candidates after the usual labels in the OCR text (see `text`),
//!    accepted only when exactly one existing Akte matches.
//!
//! A misroute is far worse than a Klärfall, so any doubt ends in the Klärfall queue: a code that does
//! not verify, codes that disagree, a code for an unknown or closed Akte, several Akten in the text.
//! A code that is present but untrustworthy is never overruled by the text. GiroCode payment codes
//! (`BCD`...) and payloads of no known kind are recorded as evidence and never route.

use std::fmt;

use super::code::{self, RoutingCodeError, RoutingKeyRing};
use super::text;
use registratur_records::aktenzeichen::AktenzeichenFormat;

/// What a routing decision needs to know about an Akte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AkteSummary {
    pub id: u64,
    pub aktenzeichen: String,
    pub open: bool,
}

/// Looks Akten up for the decision; the mailroom answers from the records store, tests from a list.
/// An Akte that does not exist is `Ok(None)`; `Err` is a lookup that failed (a failing store), which
/// [`decide`] returns as it is.
pub trait AkteLookup {
    /// Why a lookup failed; routing only passes it on, so it stays the lookup's own type.
    type Error: std::error::Error;
    fn by_id(&self, id: u64) -> Result<Option<AkteSummary>, Self::Error>;
    /// `aktenzeichen` is in canonical form.
    fn by_aktenzeichen(&self, aktenzeichen: &str) -> Result<Option<AkteSummary>, Self::Error>;
}

/// Installation settings for routing.
#[derive(Clone, Debug)]
pub struct RoutingRules {
    /// Prefixes of plain codes that carry an Aktenzeichen (default `AZ:`).
    pub plain_code_prefixes: Vec<String>,
    /// Whether the OCR text may route a piece when no code does.
    pub text_fallback: bool,
}

impl Default for RoutingRules {
    fn default() -> Self {
        Self { plain_code_prefixes: vec!["AZ:".to_string()], text_fallback: true }
    }
}

/// How a piece was routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteMethod {
    RoutingCode,
    PlainCode,
    Text,
    /// A person decided in the Klärfall queue.
    Manual,
}

/// Why a piece went to the Klärfall queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlaerfallReason {
    /// No code and no Aktenzeichen in the text.
    NoCode,
    /// A code or the text names an Akte that does not exist.
    UnknownAkte,
    /// A routing code did not verify: forged, damaged, or from another installation.
    ForgedCode,
    /// A routing code of a version this engine does not know.
    UnsupportedCode,
    /// A routing code whose Aktenzeichen differs from the Akte it names.
    InconsistentCode,
    /// Codes on the piece name different Akten.
    ConflictingCodes,
    /// The text names several existing Akten.
    AmbiguousText,
    /// The Akte is closed (z.d.A.) and takes no new Dokumente.
    AkteClosed,
    /// The piece could not be processed (OCR or rendition failed); a person must look at it.
    ProcessingFailed,
}

/// One piece of evidence considered for a decision, kept with the outcome.
pub type Evidence = Vec<String>;

/// The decision for one piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// `conflicts` names what spoke against the Akte without outweighing the code (an "Ihr Zeichen" in
    /// the text that names another existing Akte): the piece is filed, and quality control is told.
    File {
        akte: AkteSummary,
        method: RouteMethod,
        evidence: Evidence,
        conflicts: Vec<String>,
    },
    Klaerfall {
        reason: KlaerfallReason,
        detail: String,
        evidence: Evidence,
        candidates: Vec<String>,
    },
}

/// A code read from a page of the piece.
#[derive(Clone, Debug)]
pub struct ReadCode {
    /// 1-based page number within the piece.
    pub page: u32,
    /// "QR", "Code 39", ...
    pub symbology: String,
    pub text: String,
}

/// A code that names an Akte, or a reason not to trust one.
enum CodeFinding {
    Target { akte: AkteSummary, method: RouteMethod },
    Problem { reason: KlaerfallReason, detail: String },
}

/// Decides where a piece goes. `lookup` errors (a failing store) are returned, not turned into a
/// Klärfall, so that the piece is retried rather than parked.
pub fn decide<L: AkteLookup + ?Sized>(
    ring: &RoutingKeyRing,
    format: &AktenzeichenFormat,
    rules: &RoutingRules,
    lookup: &L,
    codes: &[ReadCode],
    ocr_text: &str,
) -> Result<Decision, L::Error> {
    let mut evidence = Vec::new();
    let mut targets: Vec<(AkteSummary, RouteMethod)> = Vec::new();
    let mut problems: Vec<(KlaerfallReason, String)> = Vec::new();
    for read in codes {
        let seen = format!("page {}: {} {:?}", read.page, read.symbology, read.text);
        match examine_code(ring, format, rules, lookup, &read.text)? {
            None => evidence.push(format!("{seen}: {}", ignored_because(&read.text))),
            Some(CodeFinding::Target { akte, method }) => {
                evidence.push(format!("{seen}: {method} for Akte {} ({})", akte.aktenzeichen, akte.id));
                targets.push((akte, method));
            }
            Some(CodeFinding::Problem { reason, detail }) => {
                evidence.push(format!("{seen}: {detail}"));
                problems.push((reason, detail));
            }
        }
    }
    if let Some((reason, detail)) = problems.into_iter().next() {
        return Ok(Decision::Klaerfall { reason, detail, evidence, candidates: Vec::new() });
    }
    if let Some((first, method)) = targets.first() {
        if targets.iter().any(|(akte, _)| akte.id != first.id) {
            let mut names: Vec<String> = targets.iter().map(|(a, _)| a.aktenzeichen.clone()).collect();
            names.dedup();
            return Ok(Decision::Klaerfall {
                reason: KlaerfallReason::ConflictingCodes,
                detail: format!("the codes on this piece name different Akten: {}", names.join(", ")),
                evidence,
                candidates: names,
            });
        }
        let conflicts = text_conflicts(format, lookup, ocr_text, first, *method)?;
        let decision = file_if_open(first.clone(), *method, evidence);
        return Ok(match decision {
            Decision::File { akte, method, evidence, .. } => {
                Decision::File { akte, method, evidence, conflicts }
            }
            klaerfall => klaerfall,
        });
    }
    if !rules.text_fallback {
        return Ok(no_code(evidence, "no routing code on the piece (text fallback is switched off)"));
    }
    text_decision(format, lookup, ocr_text, evidence)
}

/// What the text says against a code's Akte: each existing Akte the text names (after a label such as
/// "Ihr Zeichen") that is not the one the code names. The code still decides; these are notes for
/// quality control, because a person should check that the sender answered the right letter.
fn text_conflicts<L: AkteLookup + ?Sized>(
    format: &AktenzeichenFormat,
    lookup: &L,
    ocr_text: &str,
    target: &AkteSummary,
    method: RouteMethod,
) -> Result<Vec<String>, L::Error> {
    let mut conflicts = Vec::new();
    let mut named: Vec<u64> = Vec::new();
    for candidate in text::candidates(ocr_text, format) {
        let Some(akte) = lookup.by_aktenzeichen(&candidate.aktenzeichen)? else { continue };
        if akte.id == target.id || named.contains(&akte.id) {
            continue;
        }
        named.push(akte.id);
        let by = match method {
            RouteMethod::PlainCode => "the plain code",
            _ => "the routing code",
        };
        conflicts.push(format!(
            "{by} names Akte {} but the text after {:?} names Akte {}; filed by the code, check that the piece belongs there",
            target.aktenzeichen, candidate.label, akte.aktenzeichen
        ));
    }
    Ok(conflicts)
}

fn text_decision<L: AkteLookup + ?Sized>(
    format: &AktenzeichenFormat,
    lookup: &L,
    ocr_text: &str,
    mut evidence: Evidence,
) -> Result<Decision, L::Error> {
    let candidates = text::candidates(ocr_text, format);
    if candidates.is_empty() {
        return Ok(no_code(evidence, "no routing code and no Aktenzeichen after a label in the text"));
    }
    let mut matches: Vec<AkteSummary> = Vec::new();
    for candidate in &candidates {
        let found = lookup.by_aktenzeichen(&candidate.aktenzeichen)?;
        evidence.push(format!(
            "text: {:?} after {:?} reads as {} ({})",
            candidate.raw,
            candidate.label,
            candidate.aktenzeichen,
            if found.is_some() { "an existing Akte" } else { "no such Akte" }
        ));
        if let Some(akte) = found
            && !matches.iter().any(|m| m.id == akte.id)
        {
            matches.push(akte);
        }
    }
    let names = |list: &[AkteSummary]| list.iter().map(|a| a.aktenzeichen.clone()).collect::<Vec<_>>();
    match matches.len() {
        1 => Ok(file_if_open(matches.remove(0), RouteMethod::Text, evidence)),
        0 => Ok(Decision::Klaerfall {
            reason: KlaerfallReason::UnknownAkte,
            detail: format!(
                "the text names Aktenzeichen that match no Akte: {}",
                candidates.iter().map(|c| c.aktenzeichen.as_str()).collect::<Vec<_>>().join(", ")
            ),
            evidence,
            candidates: candidates.into_iter().map(|c| c.aktenzeichen).collect(),
        }),
        _ => Ok(Decision::Klaerfall {
            reason: KlaerfallReason::AmbiguousText,
            detail: format!("the text names several existing Akten: {}", names(&matches).join(", ")),
            candidates: names(&matches),
            evidence,
        }),
    }
}

fn no_code(evidence: Evidence, detail: &str) -> Decision {
    Decision::Klaerfall {
        reason: KlaerfallReason::NoCode,
        detail: detail.to_string(),
        evidence,
        candidates: Vec::new(),
    }
}

fn file_if_open(akte: AkteSummary, method: RouteMethod, evidence: Evidence) -> Decision {
    if akte.open {
        return Decision::File { akte, method, evidence, conflicts: Vec::new() };
    }
    Decision::Klaerfall {
        reason: KlaerfallReason::AkteClosed,
        detail: format!("Akte {} is closed (z.d.A.) and takes no new Dokumente", akte.aktenzeichen),
        candidates: vec![akte.aktenzeichen],
        evidence,
    }
}

/// What one code says, or `None` for a payload that is not about routing at all.
fn examine_code<L: AkteLookup + ?Sized>(
    ring: &RoutingKeyRing,
    format: &AktenzeichenFormat,
    rules: &RoutingRules,
    lookup: &L,
    payload: &str,
) -> Result<Option<CodeFinding>, L::Error> {
    let problem = |reason, detail: String| Ok(Some(CodeFinding::Problem { reason, detail }));
    match code::verify(ring, payload) {
        Ok(verified) => {
            let Some(akte) = lookup.by_id(verified.akte_id)? else {
                return problem(
                    KlaerfallReason::UnknownAkte,
                    format!("routing code names Akte {} which does not exist", verified.akte_id),
                );
            };
            if akte.aktenzeichen != verified.aktenzeichen {
                return problem(
                    KlaerfallReason::InconsistentCode,
                    format!(
                        "routing code prints {} but Akte {} is {}",
                        verified.aktenzeichen, akte.id, akte.aktenzeichen
                    ),
                );
            }
            return Ok(Some(CodeFinding::Target { akte, method: RouteMethod::RoutingCode }));
        }
        Err(RoutingCodeError::NotARoutingCode) => {}
        Err(error @ RoutingCodeError::UnsupportedVersion { .. }) => {
            return problem(KlaerfallReason::UnsupportedCode, error.to_string());
        }
        Err(error) => return problem(KlaerfallReason::ForgedCode, error.to_string()),
    }
    let trimmed = payload.trim();
    for prefix in &rules.plain_code_prefixes {
        let Some(rest) = trimmed.strip_prefix(prefix.as_str()) else { continue };
        let aktenzeichen = match format.parse(rest) {
            Ok(parsed) => format.format(&parsed),
            Err(error) => {
                return problem(
                    KlaerfallReason::UnknownAkte,
                    format!("plain code is no valid Aktenzeichen: {error}"),
                );
            }
        };
        return match lookup.by_aktenzeichen(&aktenzeichen)? {
            Some(akte) => Ok(Some(CodeFinding::Target { akte, method: RouteMethod::PlainCode })),
            None => problem(
                KlaerfallReason::UnknownAkte,
                format!("plain code names {aktenzeichen}, no such Akte"),
            ),
        };
    }
    Ok(None)
}

fn ignored_because(payload: &str) -> &'static str {
    if payload.starts_with("BCD\n") || payload.starts_with("BCD\r\n") {
        "GiroCode (payment data), never a routing key"
    } else {
        "not a routing code, ignored"
    }
}

impl fmt::Display for RouteMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RouteMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteMethod::RoutingCode => "routing_code",
            RouteMethod::PlainCode => "plain_code",
            RouteMethod::Text => "text",
            RouteMethod::Manual => "manual",
        }
    }
}

impl KlaerfallReason {
    pub fn as_str(self) -> &'static str {
        match self {
            KlaerfallReason::NoCode => "no_code",
            KlaerfallReason::UnknownAkte => "unknown_akte",
            KlaerfallReason::ForgedCode => "forged_code",
            KlaerfallReason::UnsupportedCode => "unsupported_code",
            KlaerfallReason::InconsistentCode => "inconsistent_code",
            KlaerfallReason::ConflictingCodes => "conflicting_codes",
            KlaerfallReason::AmbiguousText => "ambiguous_text",
            KlaerfallReason::AkteClosed => "akte_closed",
            KlaerfallReason::ProcessingFailed => "processing_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::code::{RoutingKey, issue};

    struct Akten(Vec<AkteSummary>);

    impl AkteLookup for Akten {
        type Error = std::convert::Infallible;
        fn by_id(&self, id: u64) -> Result<Option<AkteSummary>, Self::Error> {
            Ok(self.0.iter().find(|a| a.id == id).cloned())
        }
        fn by_aktenzeichen(&self, aktenzeichen: &str) -> Result<Option<AkteSummary>, Self::Error> {
            Ok(self.0.iter().find(|a| a.aktenzeichen == aktenzeichen).cloned())
        }
    }

    fn akte(id: u64, aktenzeichen: &str, open: bool) -> AkteSummary {
        AkteSummary { id, aktenzeichen: aktenzeichen.to_string(), open }
    }

    fn setup() -> (RoutingKeyRing, Akten) {
        let ring = RoutingKeyRing::new(RoutingKey::from_bytes('A', [7; 32]).unwrap());
        let akten = Akten(vec![
            akte(1, "32.10-1/2024", true),
            akte(2, "32.10-2/2024", true),
            akte(3, "32.10-3/2024", false),
        ]);
        (ring, akten)
    }

    fn qr(text: &str) -> ReadCode {
        ReadCode { page: 1, symbology: "QR".into(), text: text.into() }
    }

    fn decide_with(codes: &[ReadCode], text: &str) -> Decision {
        let (ring, akten) = setup();
        decide(&ring, &AktenzeichenFormat::default(), &RoutingRules::default(), &akten, codes, text).unwrap()
    }

    fn reason(decision: &Decision) -> Option<KlaerfallReason> {
        match decision {
            Decision::Klaerfall { reason, .. } => Some(*reason),
            Decision::File { .. } => None,
        }
    }

    fn filed_to(decision: &Decision) -> Option<(u64, RouteMethod)> {
        match decision {
            Decision::File { akte, method, .. } => Some((akte.id, *method)),
            Decision::Klaerfall { .. } => None,
        }
    }

    /// A store that fails every lookup.
    struct Failing;

    #[derive(Debug, PartialEq, thiserror::Error)]
    #[error("the store is unavailable")]
    struct StoreDown;

    impl AkteLookup for Failing {
        type Error = StoreDown;
        fn by_id(&self, _: u64) -> Result<Option<AkteSummary>, StoreDown> {
            Err(StoreDown)
        }
        fn by_aktenzeichen(&self, _: &str) -> Result<Option<AkteSummary>, StoreDown> {
            Err(StoreDown)
        }
    }

    #[test]
    fn a_failed_lookup_is_returned_as_it_is_never_parked_as_a_klaerfall() {
        let (ring, _) = setup();
        let code = issue(ring.current(), 2, "32.10-2/2024").unwrap();
        let format = AktenzeichenFormat::default();
        let rules = RoutingRules::default();
        // By a routing code, by a plain code, and by the text.
        for (codes, text) in [
            (vec![qr(&code)], ""),
            (vec![qr("AZ:32.10-2/2024")], ""),
            (Vec::new(), "Ihr Zeichen: 32.10-1/2024"),
        ] {
            assert_eq!(decide(&ring, &format, &rules, &Failing, &codes, text), Err(StoreDown), "{text}");
        }
    }

    #[test]
    fn a_verified_routing_code_files_to_its_akte() {
        let (ring, _) = setup();
        let code = issue(ring.current(), 2, "32.10-2/2024").unwrap();
        let decision = decide_with(&[qr(&code)], "Ihr Zeichen: 32.10-1/2024");
        assert_eq!(filed_to(&decision), Some((2, RouteMethod::RoutingCode)), "the code beats the text");
    }

    #[test]
    fn a_code_and_a_text_naming_another_existing_akte_file_by_the_code_and_note_the_conflict() {
        let (ring, _) = setup();
        let code = issue(ring.current(), 2, "32.10-2/2024").unwrap();
        let decision = decide_with(&[qr(&code)], "Ihr Zeichen: 32.10-1/2024\nAz. 77.1-1/2020");
        let Decision::File { akte, method, conflicts, .. } = decision else { panic!("{decision:?}") };
        assert_eq!((akte.id, method), (2, RouteMethod::RoutingCode));
        assert_eq!(conflicts.len(), 1, "the unknown 77.1-1/2020 is no conflict: {conflicts:?}");
        assert!(
            conflicts[0].contains("32.10-2/2024") && conflicts[0].contains("32.10-1/2024"),
            "{conflicts:?}"
        );
        assert!(conflicts[0].to_lowercase().contains("ihr zeichen"), "names the label: {conflicts:?}");
        // The text agreeing with the code, or naming nothing, is no conflict.
        for text in ["Ihr Zeichen: 32.10-2/2024", "", "Ihr Zeichen: 32.10-9/2024"] {
            let Decision::File { conflicts, .. } = decide_with(&[qr(&code)], text) else { panic!() };
            assert!(conflicts.is_empty(), "{text}: {conflicts:?}");
        }
        let Decision::File { conflicts, .. } =
            decide_with(&[qr("AZ:32.10-1/2024")], "Unser Zeichen: 32.10-2/2024")
        else {
            panic!()
        };
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    }

    #[test]
    fn a_forged_code_goes_to_klaerfall_even_when_the_text_would_route() {
        let (ring, _) = setup();
        let code = issue(ring.current(), 2, "32.10-2/2024").unwrap();
        let forged = code.replace(":2:", ":1:");
        let decision = decide_with(&[qr(&forged)], "Ihr Zeichen: 32.10-1/2024");
        assert_eq!(reason(&decision), Some(KlaerfallReason::ForgedCode));
        let other_key = RoutingKey::from_bytes('A', [9; 32]).unwrap();
        let foreign = issue(&other_key, 2, "32.10-2/2024").unwrap();
        assert_eq!(reason(&decide_with(&[qr(&foreign)], "")), Some(KlaerfallReason::ForgedCode));
    }

    #[test]
    fn codes_for_unknown_closed_or_different_akten_go_to_klaerfall() {
        let (ring, _) = setup();
        let unknown = issue(ring.current(), 99, "32.10-99/2024").unwrap();
        assert_eq!(reason(&decide_with(&[qr(&unknown)], "")), Some(KlaerfallReason::UnknownAkte));
        let closed = issue(ring.current(), 3, "32.10-3/2024").unwrap();
        assert_eq!(reason(&decide_with(&[qr(&closed)], "")), Some(KlaerfallReason::AkteClosed));
        let inconsistent = issue(ring.current(), 1, "32.10-2/2024").unwrap();
        assert_eq!(reason(&decide_with(&[qr(&inconsistent)], "")), Some(KlaerfallReason::InconsistentCode));
        let one = issue(ring.current(), 1, "32.10-1/2024").unwrap();
        let two = issue(ring.current(), 2, "32.10-2/2024").unwrap();
        assert_eq!(reason(&decide_with(&[qr(&one), qr(&two)], "")), Some(KlaerfallReason::ConflictingCodes));
        assert_eq!(filed_to(&decide_with(&[qr(&one), qr(&one)], "")), Some((1, RouteMethod::RoutingCode)));
    }

    #[test]
    fn plain_codes_resolve_by_aktenzeichen() {
        assert_eq!(filed_to(&decide_with(&[qr("AZ:32.10-1/2024")], "")), Some((1, RouteMethod::PlainCode)));
        assert_eq!(reason(&decide_with(&[qr("AZ:32.10-9/2024")], "")), Some(KlaerfallReason::UnknownAkte));
        assert_eq!(reason(&decide_with(&[qr("AZ:kaputt")], "")), Some(KlaerfallReason::UnknownAkte));
    }

    #[test]
    fn girocodes_and_unknown_payloads_never_route() {
        let giro = "BCD\n002\n1\nSCT\nBIC\nStadtkasse\nDE02120300000000202051\nEUR12.50\n\n\nAZ:32.10-1/2024";
        let decision = decide_with(&[qr(giro), qr("https://example.org")], "");
        assert_eq!(reason(&decision), Some(KlaerfallReason::NoCode));
        let Decision::Klaerfall { evidence, .. } = decision else { unreachable!() };
        assert!(evidence[0].contains("GiroCode"), "{evidence:?}");
    }

    #[test]
    fn the_text_routes_only_when_exactly_one_akte_matches() {
        let single = decide_with(&[], "Ihr Zeichen: 32.1O-l/2024\nSehr geehrte Damen und Herren");
        assert_eq!(filed_to(&single), Some((1, RouteMethod::Text)));
        let two = decide_with(&[], "Ihr Zeichen: 32.10-1/2024\nUnser Zeichen: 32.10-2/2024");
        assert_eq!(reason(&two), Some(KlaerfallReason::AmbiguousText));
        let with_unknown = decide_with(&[], "Ihr Zeichen: 32.10-1/2024\nAz. 77.1-1/2020");
        assert_eq!(filed_to(&with_unknown), Some((1, RouteMethod::Text)));
        assert_eq!(reason(&decide_with(&[], "Az. 77.1-1/2020")), Some(KlaerfallReason::UnknownAkte));
        assert_eq!(reason(&decide_with(&[], "Sehr geehrte Damen und Herren")), Some(KlaerfallReason::NoCode));
        assert_eq!(reason(&decide_with(&[], "Ihr Zeichen: 32.10-3/2024")), Some(KlaerfallReason::AkteClosed));
    }
}
