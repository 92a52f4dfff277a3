//! The HTML of the clerk's web page, as maud templates (checked by the compiler; every value is
//! HTML-escaped unless marked otherwise, and nothing here marks a value otherwise).
//!
//! German UI text, one stylesheet (`/web.css`) and one small script (`/web.js`, search as you type);
//! every page has a title, a skip link, a `main` landmark and labelled form fields.

use maud::{DOCTYPE, Markup, html};

use crate::ingest::model::{
    BatchState, Klaerfall, KlaerfallState, PieceDestination, PieceRecord, Transfervermerk,
};
use crate::ingest::repo::BatchListing;
use crate::records::model::Akte;
use crate::route::resolve::KlaerfallReason;
use crate::service::BatchView;

/// Every reason, in the order the filter offers them.
pub const REASONS: [KlaerfallReason; 9] = [
    KlaerfallReason::NoCode,
    KlaerfallReason::UnknownAkte,
    KlaerfallReason::ForgedCode,
    KlaerfallReason::UnsupportedCode,
    KlaerfallReason::InconsistentCode,
    KlaerfallReason::ConflictingCodes,
    KlaerfallReason::AmbiguousText,
    KlaerfallReason::AkteClosed,
    KlaerfallReason::ProcessingFailed,
];

/// Why a piece is a Klärfall, in plain German.
pub fn reason_text(reason: KlaerfallReason) -> &'static str {
    match reason {
        KlaerfallReason::NoCode => "Kein Code und kein Aktenzeichen gefunden",
        KlaerfallReason::UnknownAkte => "Genannte Akte gibt es nicht",
        KlaerfallReason::ForgedCode => "Routing-Code ungültig (gefälscht, beschädigt oder fremd)",
        KlaerfallReason::UnsupportedCode => "Routing-Code einer unbekannten Version",
        KlaerfallReason::InconsistentCode => "Routing-Code passt nicht zum Aktenzeichen",
        KlaerfallReason::ConflictingCodes => "Codes nennen verschiedene Akten",
        KlaerfallReason::AmbiguousText => "Text nennt mehrere Akten",
        KlaerfallReason::AkteClosed => "Akte ist abgeschlossen (z.d.A.)",
        KlaerfallReason::ProcessingFailed => "Verarbeitung fehlgeschlagen (OCR oder PDF)",
    }
}

/// The reason whose `as_str` is `name`.
pub fn reason_named(name: &str) -> Option<KlaerfallReason> {
    REASONS.into_iter().find(|reason| reason.as_str() == name)
}

fn state_text(state: BatchState) -> &'static str {
    match state {
        BatchState::Queued => "wartet",
        BatchState::Processing => "in Arbeit",
        BatchState::Done => "fertig",
    }
}

/// A time as the clerk reads it (UTC, the engine's clock).
fn when(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%d.%m.%Y %H:%M UTC").to_string()
}

/// The frame of every page: `title` in the tab and as the heading.
pub fn layout(title: &str, signed_in: Option<(&str, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Registratur Poststelle" }
                link rel="stylesheet" href="/web.css";
                script src="/web.js" defer {}
            }
            body {
                a.skip href="#inhalt" { "Zum Inhalt springen" }
                header {
                    span.brand { "Registratur · Poststelle" }
                    @if let Some((name, csrf)) = signed_in {
                        nav aria-label="Hauptnavigation" {
                            a href="/klaerfaelle" { "Klärfälle" }
                            a href="/stapel" { "Stapel" }
                        }
                        form.signout method="post" action="/abmelden" {
                            input type="hidden" name="csrf" value=(csrf);
                            span { "Angemeldet als " strong { (name) } }
                            button type="submit" { "Abmelden" }
                        }
                    }
                }
                main id="inhalt" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

pub fn sign_in(csrf: &str, problem: Option<&str>) -> Markup {
    layout(
        "Anmelden",
        None,
        html! {
            @if let Some(problem) = problem {
                p.error role="alert" { (problem) }
            }
            form.card method="post" action="/anmelden" {
                input type="hidden" name="csrf" value=(csrf);
                label for="token" { "Zugangsschlüssel (Rolle Poststelle oder Administration)" }
                input id="token" name="token" type="password" autocomplete="current-password" required autofocus;
                button type="submit" { "Anmelden" }
            }
        },
    )
}

/// A message page (errors, refusals).
pub fn message(
    title: &str,
    text: &str,
    signed_in: Option<(&str, &str)>,
    back: Option<(&str, &str)>,
) -> Markup {
    layout(
        title,
        signed_in,
        html! {
            p.error role="alert" { (text) }
            @if let Some((href, label)) = back { p { a href=(href) { (label) } } }
        },
    )
}

pub struct ListPage<'a> {
    pub items: &'a [Klaerfall],
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub reason: Option<KlaerfallReason>,
    pub notice: Option<String>,
}

pub fn klaerfaelle(list: &ListPage<'_>, who: (&str, &str)) -> Markup {
    let title = format!("Offene Klärfälle ({})", list.total);
    let filter = list.reason.map(|r| r.as_str()).unwrap_or("");
    let link = |page: usize| match list.reason {
        Some(reason) => format!("/klaerfaelle?grund={}&seite={page}", reason.as_str()),
        None => format!("/klaerfaelle?seite={page}"),
    };
    layout(
        &title,
        Some(who),
        html! {
            @if let Some(notice) = &list.notice { p.notice role="status" { (notice) } }
            form.filter method="get" action="/klaerfaelle" {
                label for="grund" { "Grund" }
                select id="grund" name="grund" {
                    option value="" selected[filter.is_empty()] { "Alle Gründe" }
                    @for reason in REASONS {
                        option value=(reason.as_str()) selected[filter == reason.as_str()] { (reason_text(reason)) }
                    }
                }
                button type="submit" { "Filtern" }
            }
            @if list.items.is_empty() {
                p { "Keine offenen Klärfälle." }
            } @else {
                table {
                    caption { "Älteste zuerst, Seite " (list.page) " von " (list.pages) }
                    thead { tr { th scope="col" { "Nr." } th scope="col" { "Grund" } th scope="col" { "Stapel" }
                        th scope="col" { "Posteingang" } th scope="col" { "Absender / Quelle" } th scope="col" { "Textauszug" } } }
                    tbody {
                        @for k in list.items {
                            tr {
                                td { a href={ "/klaerfaelle/" (k.id) } { "Klärfall " (k.id) } }
                                td { (reason_text(k.reason)) }
                                td { a href={ "/stapel/" (k.batch_id) } { (k.batch_id) } " · Stück " (k.piece + 1) }
                                td { (k.posteingangsdatum.format("%d.%m.%Y")) }
                                td { (k.source) }
                                td.excerpt { (k.excerpt) }
                            }
                        }
                    }
                }
                nav.pager aria-label="Seiten" {
                    @if list.page > 1 { a href=(link(list.page - 1)) rel="prev" { "← Vorherige Seite" } }
                    @if list.page < list.pages { a href=(link(list.page + 1)) rel="next" { "Nächste Seite →" } }
                }
            }
        },
    )
}

pub struct KlaerfallPage<'a> {
    pub klaerfall: &'a Klaerfall,
    pub text: &'a str,
    pub transfervermerk: Option<&'a Transfervermerk>,
    pub page: u32,
    pub zoom: u32,
    pub query: &'a str,
    pub matches: &'a [Akte],
    pub problem: Option<String>,
}

pub fn klaerfall(view: &KlaerfallPage<'_>, who: (&str, &str)) -> Markup {
    let k = view.klaerfall;
    let pages = k.previews.len() as u32;
    let page_link = |page: u32, zoom: u32| format!("/klaerfaelle/{}?seite={page}&zoom={zoom}#seite", k.id);
    layout(
        &format!("Klärfall {}", k.id),
        Some(who),
        html! {
            @if let Some(problem) = &view.problem { p.error role="alert" { (problem) } }
            @if let KlaerfallState::Resolved { aktenzeichen, by, at, .. } = &k.state {
                p.notice role="status" { "Erledigt: abgelegt in Akte " (aktenzeichen) " von " (by) " am " (when(*at)) "." }
            }
            div.columns {
                section aria-labelledby="seite" {
                    h2 id="seite" { "Seite " (view.page) " von " (pages) }
                    nav.pager aria-label="Seiten des Schriftstücks" {
                        @if view.page > 1 { a href=(page_link(view.page - 1, view.zoom)) { "← Vorherige Seite" } }
                        @if view.page < pages { a href=(page_link(view.page + 1, view.zoom)) { "Nächste Seite →" } }
                        span.zoom { "Zoom: "
                            @for z in 1..=3u32 {
                                @if z == view.zoom { strong { (z * 100 / 2 + 50) " %" } }
                                @else { a href=(page_link(view.page, z)) { (z * 100 / 2 + 50) " %" } }
                            }
                        }
                    }
                    div.scan {
                        img class={ "zoom" (view.zoom) } src={ "/klaerfaelle/" (k.id) "/seite/" (view.page) }
                            alt={ "Seite " (view.page) " von " (pages) " des Schriftstücks" };
                    }
                }
                section aria-labelledby="fakten" {
                    h2 id="fakten" { "Warum ein Klärfall?" }
                    dl {
                        dt { "Grund" } dd { (reason_text(k.reason)) }
                        @if !k.detail.is_empty() { dt { "Einzelheiten" } dd { (k.detail) } }
                        dt { "Stapel" } dd { a href={ "/stapel/" (k.batch_id) } { (k.batch_id) } ", Stück " (k.piece + 1) }
                        dt { "Posteingang" } dd { (k.posteingangsdatum.format("%d.%m.%Y")) " (" (k.channel.as_str()) ")" }
                        dt { "Quelle" } dd { (k.source) }
                        dt { "Datei" } dd { (k.rendition.filename) }
                    }
                    h3 { "Gefundene Hinweise" }
                    @if k.evidence.is_empty() { p { "Keine Codes und kein Aktenzeichen gefunden." } }
                    @else { ul.evidence { @for e in &k.evidence { li { (e) } } } }
                    @if !k.candidates.is_empty() {
                        h3 { "Genannte Aktenzeichen" }
                        ul { @for c in &k.candidates { li { (c) } } }
                    }
                    @if matches!(k.state, KlaerfallState::Open) { (assign_form(view, who.1)) }
                }
            }
            section aria-labelledby="text" {
                h2 id="text" { "Erkannter Text (OCR)" }
                pre.ocr { (view.text) }
            }
            @if let Some(t) = view.transfervermerk {
                section aria-labelledby="vermerk" {
                    h2 id="vermerk" { "Transfervermerk" }
                    dl {
                        dt { "Scanstapel" } dd { (t.scanner_batch_id) }
                        dt { "Bediener" } dd { (t.operator) }
                        dt { "Gerät" } dd { (t.profile.device) ", " (t.profile.dpi) " dpi, " (t.profile.colour_mode) }
                        dt { "Eingegangen" } dd { (when(t.received_at)) }
                        dt { "Verarbeitet" } dd { (when(t.processed_at)) }
                        dt { "Seiten" } dd { (t.pages_fed) " eingezogen = " (t.pages_stored) " gespeichert + "
                            (t.blank_pages.len()) " leer + " (t.separator_sheets.len()) " Trennblatt" }
                        dt { "OCR" } dd { (t.ocr_engine) }
                        dt { "Qualitätskontrolle" } dd { (t.qc) }
                        dt { "SHA-256 der Fassung" } dd.hash { (t.rendition_sha256) }
                    }
                }
            }
        },
    )
}

fn assign_form(view: &KlaerfallPage<'_>, csrf: &str) -> Markup {
    let k = view.klaerfall;
    html! {
        h2 id="zuordnen" { "Einer Akte zuordnen" }
        form.search method="get" action={ "/klaerfaelle/" (k.id) } role="search" {
            input type="hidden" name="seite" value=(view.page);
            label for="akte-suche" { "Akte suchen (Aktenzeichen oder Titel)" }
            input id="akte-suche" name="suche" type="search" value=(view.query) autocomplete="off"
                data-klaerfall=(k.id) aria-controls="akten-treffer";
            button type="submit" { "Suchen" }
        }
        form.card method="post" action={ "/klaerfaelle/" (k.id) "/zuordnen" } {
            input type="hidden" name="csrf" value=(csrf);
            fieldset id="akten-treffer" aria-live="polite" {
                legend { "Gefundene Akten" }
                (akte_choices(view.matches, view.query))
            }
            label for="notiz" { "Notiz (wird im Journal vermerkt)" }
            textarea id="notiz" name="notiz" rows="3" maxlength="2000" {}
            label for="titel" { "Titel des Dokuments (leer: wie vom Posteingang vergeben)" }
            input id="titel" name="titel" type="text" maxlength="500";
            button type="submit" { "Zuordnen und ablegen" }
        }
    }
}

/// The radio buttons of the found Akten (also what the script shows as you type).
pub fn akte_choices(matches: &[Akte], query: &str) -> Markup {
    html! {
        @if query.trim().is_empty() {
            p.hint { "Tippen Sie einen Teil des Aktenzeichens oder Titels." }
        } @else if matches.is_empty() {
            p.hint { "Keine offene Akte gefunden." }
        } @else {
            @for akte in matches {
                div.choice {
                    input type="radio" name="akte" id={ "akte-" (akte.id) } value=(akte.id) required;
                    label for={ "akte-" (akte.id) } { strong { (akte.aktenzeichen) } " – " (akte.title) }
                }
            }
        }
    }
}

pub fn batches(date: &str, listings: &[BatchListing], who: (&str, &str)) -> Markup {
    layout(
        &format!("Stapel vom {date}"),
        Some(who),
        html! {
            form.filter method="get" action="/stapel" {
                label for="datum" { "Posteingangsdatum" }
                input id="datum" name="datum" type="date" value=(date);
                button type="submit" { "Anzeigen" }
            }
            @if listings.is_empty() { p { "Keine Stapel an diesem Tag." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Stapel" } th scope="col" { "Scanstapel" } th scope="col" { "Bediener" }
                        th scope="col" { "Eingegangen" } th scope="col" { "Zustand" } th scope="col" { "Stücke fertig" } } }
                    tbody {
                        @for b in listings {
                            tr {
                                td { a href={ "/stapel/" (b.batch.id) } { "Stapel " (b.batch.id) } }
                                td { (b.batch.header.scanner_batch_id) }
                                td { (b.batch.header.operator) }
                                td { (when(b.batch.received_at)) }
                                td { (state_text(b.state)) }
                                td { (b.pieces_done) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Klärfall states by id, for the pieces of a batch that became Klärfälle.
pub type KlaerfallStates = std::collections::HashMap<u64, KlaerfallState>;

fn destination(piece: &PieceRecord, klaerfaelle: &KlaerfallStates) -> Markup {
    match &piece.destination {
        PieceDestination::Filed { aktenzeichen, dokument_id, method, .. } => html! {
            "abgelegt in Akte " strong { (aktenzeichen) } " (Dokument " (dokument_id) ", " (format!("{method:?}")) ")"
        },
        PieceDestination::Klaerfall { klaerfall_id, reason, .. } => html! {
            a href={ "/klaerfaelle/" (klaerfall_id) } { "Klärfall " (klaerfall_id) } ": " (reason_text(*reason))
            @if let Some(KlaerfallState::Resolved { aktenzeichen, dokument_id, by, .. }) = klaerfaelle.get(klaerfall_id) {
                " – von " (by) " abgelegt in Akte " strong { (aktenzeichen) } " (Dokument " (dokument_id) ")"
            } @else {
                " – offen"
            }
        },
    }
}

pub fn batch(view: &BatchView, klaerfaelle: &KlaerfallStates, who: (&str, &str)) -> Markup {
    let b = &view.batch;
    layout(
        &format!("Stapel {}", b.id),
        Some(who),
        html! {
            dl {
                dt { "Scanstapel" } dd { (b.header.scanner_batch_id) }
                dt { "Posteingang" } dd { (b.header.posteingangsdatum.format("%d.%m.%Y")) }
                dt { "Bediener" } dd { (b.header.operator) }
                dt { "Eingegangen" } dd { (when(b.received_at)) " von " (b.received_by) }
                dt { "Zustand" } dd { (state_text(view.state)) }
                dt { "Dateien" } dd { @for (i, f) in b.files.iter().enumerate() { @if i > 0 { ", " } (f.content.filename) } }
            }
            @if let Some(s) = &view.summary {
                h2 { "Seitenbilanz" }
                p.balance class=@if s.invariant_holds { "ok" } @else { "bad" } {
                    (s.pages_fed) " eingezogen = " (s.pages_stored) " gespeichert + " (s.blank_removed) " leer + "
                    (s.separator_sheets) " Trennblätter"
                    @if s.invariant_holds { " – stimmt." } @else { " – stimmt NICHT, bitte prüfen!" }
                }
                h2 { "Hinweise der Qualitätskontrolle" }
                @if s.qc.is_empty() { p { "Keine." } } @else { ul { @for note in &s.qc { li { (note) } } } }
            }
            h2 { "Stücke" }
            @if view.pieces.is_empty() { p { "Noch keine Stücke verarbeitet." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Stück" } th scope="col" { "Seiten" } th scope="col" { "Wohin" } th scope="col" { "QK" } } }
                    tbody {
                        @for p in &view.pieces {
                            tr { td { (p.piece + 1) } td { (p.pages.len()) } td { (destination(p, klaerfaelle)) } td { (p.protocol.qc) } }
                        }
                    }
                }
            }
        },
    )
}
