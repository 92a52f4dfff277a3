//! The mailroom clerk's web page: open Klärfälle, one Klärfall with its page images, OCR text and
//! evidence, assigning it to an Akte, and the day's batches — server-rendered HTML on its own
//! loopback listener (`[web] listen`), beside gRPC.
//!
//! Every page and action goes through the same `service` calls (and so the same role checks) as
//! gRPC; the session only remembers which principal signed in with which token (see `session`).
//! Every response carries a strict Content-Security-Policy (`default-src 'self'`, no inline script
//! or style) and the page needs nothing from elsewhere: the stylesheet and the one small script are
//! compiled into the binary.

pub mod pages;
pub mod session;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::auth::TokenRegistry;
use crate::ingest::error::MailroomError;
use crate::ingest::model::KlaerfallState;
use crate::records::repo::AkteRef;
use crate::service::{BatchQuery, Engine, ServiceError};
use session::{SESSION_COOKIE, SIGN_IN_COOKIE, Session, Sessions, cookie, same_secret, set_cookie};

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
/// Open Klärfälle per list page.
pub const LIST_PAGE: usize = 50;
/// Akten offered per search.
const AKTE_MATCHES: usize = 20;

const STYLESHEET: &str = include_str!("web.css");
const SCRIPT: &str = include_str!("web.js");

/// Settings of the web page.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Idle time after which a session ends.
    pub session_lifetime: Duration,
    /// Send cookies with `Secure` (the page is reached over TLS, e.g. behind a reverse proxy).
    pub secure_cookies: bool,
}

struct WebState {
    engine: Engine,
    tokens: TokenRegistry,
    sessions: Sessions,
    settings: WebSettings,
}

type Shared = Arc<WebState>;

/// The router of the web page (without connection info: see [`serve_web`]).
pub fn router(engine: Engine, tokens: TokenRegistry, settings: WebSettings) -> Router {
    let state =
        Arc::new(WebState { engine, tokens, sessions: Sessions::new(settings.session_lifetime), settings });
    Router::new()
        .route("/", get(|| async { Redirect::to("/klaerfaelle") }))
        .route("/web.css", get(|| async { static_file("text/css; charset=utf-8", STYLESHEET) }))
        .route("/web.js", get(|| async { static_file("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/anmelden", get(sign_in_form).post(sign_in))
        .route("/abmelden", post(sign_out))
        .route("/klaerfaelle", get(list))
        .route("/klaerfaelle/{id}", get(show))
        .route("/klaerfaelle/{id}/seite/{page}", get(page_image))
        .route("/klaerfaelle/{id}/zuordnen", post(assign))
        .route("/akten/suche", get(find_akten))
        .route("/stapel", get(batches))
        .route("/stapel/{id}", get(batch))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Serves the web page on an already bound listener until `shutdown` completes.
pub async fn serve_web(
    engine: Engine,
    tokens: TokenRegistry,
    settings: WebSettings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(engine, tokens, settings).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(crate::http::with_nodelay(listener), app).with_graceful_shutdown(shutdown).await
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "max-age=3600")], body).into_response()
}

fn html(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response()
}

/// A request the page refuses or cannot answer.
enum WebError {
    /// No live session: to the sign-in form.
    SignedOut,
    /// A form without this session's CSRF token.
    Csrf,
    /// The engine refused or failed; shown as a page with the error's HTTP status.
    Service(ServiceError, Session),
}

impl WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignedOut => Redirect::to("/anmelden").into_response(),
            WebError::Csrf => html(
                StatusCode::FORBIDDEN,
                pages::message(
                    "Formular abgelaufen",
                    "Das Formular gehört zu keiner gültigen Sitzung (CSRF-Prüfung). Nichts wurde geändert. \
                     Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
                    None,
                    Some(("/klaerfaelle", "Zu den Klärfällen")),
                ),
            ),
            WebError::Service(error, session) => {
                let code = error.count_and_log();
                let status =
                    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let title = match status {
                    StatusCode::FORBIDDEN => "Keine Berechtigung",
                    StatusCode::NOT_FOUND => "Nicht gefunden",
                    StatusCode::BAD_REQUEST => "Ungültige Eingabe",
                    _ => "Fehler",
                };
                let text = format!("Die Registratur meldet: {error}");
                html(
                    status,
                    pages::message(
                        title,
                        &text,
                        Some(who(&session)),
                        Some(("/klaerfaelle", "Zu den Klärfällen")),
                    ),
                )
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        WebError::into_response(self)
    }
}

fn who(session: &Session) -> (&str, &str) {
    (&session.principal.name, &session.csrf)
}

/// The signed-in clerk, checked against the service's role rule on every request.
fn clerk(state: &WebState, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    let session = cookie(headers, SESSION_COOKIE)
        .and_then(|id| state.sessions.get(id))
        .ok_or_else(|| Box::new(WebError::SignedOut.into_response()))?;
    if let Err(error) = state.engine.check_clerk(&session.principal) {
        return Err(Box::new(WebError::Service(error, session).into_response()));
    }
    Ok(session)
}

/// The clerk of a form POST, whose `csrf` field must be this session's token.
fn clerk_posting(state: &WebState, headers: &HeaderMap, csrf: &str) -> Result<Session, Box<Response>> {
    let session = clerk(state, headers)?;
    if !same_secret(&session.csrf, csrf) {
        return Err(Box::new(WebError::Csrf.into_response()));
    }
    Ok(session)
}

async fn sign_in_form(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if clerk(&state, &headers).is_ok() {
        return Redirect::to("/klaerfaelle").into_response();
    }
    sign_in_page(&state, StatusCode::OK, None)
}

/// The sign-in form with a fresh CSRF token in a short-lived cookie.
fn sign_in_page(state: &WebState, status: StatusCode, problem: Option<&str>) -> Response {
    let csrf = session::random_token();
    let cookie = set_cookie(SIGN_IN_COOKIE, &csrf, Duration::from_secs(3600), state.settings.secure_cookies);
    let mut response = html(status, pages::sign_in(&csrf, problem));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

async fn sign_in(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let address: IpAddr = peer.ip();
    if let Some(wait) = state.sessions.blocked_for(address) {
        tracing::warn!(%address, "web sign-in refused: too many failed attempts");
        let text =
            format!("Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie {} Minuten.", wait.div_ceil(60));
        return sign_in_page(&state, StatusCode::TOO_MANY_REQUESTS, Some(&text));
    }
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(expected, &form.csrf) {
        return sign_in_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("Das Anmeldeformular war abgelaufen. Bitte geben Sie den Schlüssel noch einmal ein."),
        );
    }
    let principal = match state.tokens.authenticate(&form.token) {
        Ok(principal) => principal,
        Err(_) => {
            state.sessions.record_failure(address);
            tracing::warn!(%address, "web sign-in with an unknown token");
            return sign_in_page(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("Dieser Zugangsschlüssel ist unbekannt."),
            );
        }
    };
    if state.engine.check_clerk(&principal).is_err() {
        state.sessions.record_failure(address);
        tracing::warn!(%address, name = %principal.name, role = principal.role.as_str(), "web sign-in refused: role");
        let text = format!(
            "Die Rolle „{}“ darf diese Seite nicht nutzen; sie ist für die Poststelle (Rolle mailroom) und die \
             Administration.",
            principal.role.as_str()
        );
        return sign_in_page(&state, StatusCode::FORBIDDEN, Some(&text));
    }
    state.sessions.clear_failures(address);
    tracing::info!(name = %principal.name, "web sign-in");
    let id = state.sessions.start(principal);
    let secure = state.settings.secure_cookies;
    let mut response = Redirect::to("/klaerfaelle").into_response();
    let cookies = [
        set_cookie(SESSION_COOKIE, &id, state.settings.session_lifetime.max(Duration::from_secs(60)), secure),
        set_cookie(SIGN_IN_COOKIE, "", Duration::ZERO, secure),
    ];
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(State(state): State<Shared>, headers: HeaderMap, Form(form): Form<CsrfOnly>) -> Response {
    if let Err(error) = clerk_posting(&state, &headers, &form.csrf) {
        return *error;
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.sessions.end(id);
    }
    let mut response = Redirect::to("/anmelden").into_response();
    if let Ok(value) =
        HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", Duration::ZERO, state.settings.secure_cookies))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    grund: String,
    #[serde(default)]
    seite: Option<usize>,
    #[serde(default)]
    erledigt: Option<u64>,
}

async fn list(State(state): State<Shared>, headers: HeaderMap, Query(query): Query<ListQuery>) -> Response {
    let session = match clerk(&state, &headers) {
        Ok(session) => session,
        Err(error) => return *error,
    };
    let reason = pages::reason_named(query.grund.trim());
    let page = query.seite.unwrap_or(1).max(1);
    let open = match state
        .engine
        .open_klaerfaelle(&session.principal, reason, (page - 1) * LIST_PAGE, LIST_PAGE)
        .await
    {
        Ok(open) => open,
        Err(error) => return WebError::Service(error, session).into_response(),
    };
    let notice = match query.erledigt {
        Some(id) => match state.engine.klaerfall(&session.principal, id).await {
            Ok(k) => match k.state {
                KlaerfallState::Resolved { aktenzeichen, dokument_id, .. } => Some(format!(
                    "Klärfall {id} wurde in Akte {aktenzeichen} abgelegt (Dokument {dokument_id})."
                )),
                KlaerfallState::Open => None,
            },
            Err(_) => None,
        },
        None => None,
    };
    let list = pages::ListPage {
        items: &open.items,
        total: open.total,
        page,
        pages: open.total.div_ceil(LIST_PAGE).max(1),
        reason,
        notice,
    };
    html(StatusCode::OK, pages::klaerfaelle(&list, who(&session)))
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    #[serde(default)]
    seite: Option<u32>,
    #[serde(default)]
    zoom: Option<u32>,
    #[serde(default)]
    suche: String,
}

async fn show(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let session = match clerk(&state, &headers) {
        Ok(session) => session,
        Err(error) => return *error,
    };
    render_klaerfall(&state, session, id, query, None, StatusCode::OK).await
}

async fn render_klaerfall(
    state: &WebState,
    session: Session,
    id: u64,
    query: ShowQuery,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let reading = match state.engine.klaerfall_reading(&session.principal, id).await {
        Ok(reading) => reading,
        Err(error) => return WebError::Service(error, session).into_response(),
    };
    let matches = if query.suche.trim().is_empty() {
        Vec::new()
    } else {
        match state.engine.akten_to_file_in(&session.principal, &query.suche, AKTE_MATCHES).await {
            Ok(matches) => matches,
            Err(error) => return WebError::Service(error, session).into_response(),
        }
    };
    let pages = reading.klaerfall.previews.len().max(1) as u32;
    let view = pages::KlaerfallPage {
        klaerfall: &reading.klaerfall,
        text: &reading.text,
        transfervermerk: reading.transfervermerk.as_ref(),
        page: query.seite.unwrap_or(1).clamp(1, pages),
        zoom: query.zoom.unwrap_or(1).clamp(1, 3),
        query: &query.suche,
        matches: &matches,
        problem,
    };
    html(status, pages::klaerfall(&view, who(&session)))
}

async fn page_image(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((id, page)): Path<(u64, u32)>,
) -> Response {
    let session = match clerk(&state, &headers) {
        Ok(session) => session,
        Err(error) => return *error,
    };
    match state.engine.klaerfall_preview(&session.principal, id, page.max(1)).await {
        Ok(preview) => (
            [(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=600")],
            preview.png,
        )
            .into_response(),
        Err(error) => WebError::Service(error, session).into_response(),
    }
}

#[derive(Deserialize)]
struct Assign {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    akte: Option<u64>,
    #[serde(default)]
    notiz: String,
    #[serde(default)]
    titel: String,
}

async fn assign(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(form): Form<Assign>,
) -> Response {
    let session = match clerk_posting(&state, &headers, &form.csrf) {
        Ok(session) => session,
        Err(error) => return *error,
    };
    let Some(akte) = form.akte else {
        let problem = "Bitte wählen Sie zuerst eine Akte aus der Suche aus.".to_string();
        return render_klaerfall(
            &state,
            session,
            id,
            ShowQuery::default(),
            Some(problem),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let result = state
        .engine
        .resolve_klaerfall(&session.principal, id, AkteRef::Id(akte), form.titel, form.notiz)
        .await;
    match result {
        Ok(_) => Redirect::to(&format!("/klaerfaelle?erledigt={id}")).into_response(),
        Err(ServiceError::Mailroom(MailroomError::KlaerfallResolved { aktenzeichen, .. })) => {
            let by = match state.engine.klaerfall(&session.principal, id).await.map(|k| k.state) {
                Ok(KlaerfallState::Resolved { by, .. }) => by,
                _ => "jemand anderem".into(),
            };
            let text = format!(
                "Dieser Klärfall wurde inzwischen von {by} erledigt und in Akte {aktenzeichen} abgelegt. \
                 Ihre Zuordnung wurde nicht ausgeführt; das Schriftstück ist nur einmal abgelegt."
            );
            html(
                StatusCode::CONFLICT,
                pages::message(
                    "Bereits erledigt",
                    &text,
                    Some(who(&session)),
                    Some(("/klaerfaelle", "Zurück zu den offenen Klärfällen")),
                ),
            )
        }
        Err(error) => {
            let code = error.count_and_log();
            let status =
                StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let problem = format!("Nicht abgelegt: {error}");
            render_klaerfall(&state, session, id, ShowQuery::default(), Some(problem), status).await
        }
    }
}

#[derive(Deserialize)]
struct AkteSearch {
    #[serde(default)]
    q: String,
}

/// Search as you type: the radio buttons for the found Akten, as an HTML fragment.
async fn find_akten(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(search): Query<AkteSearch>,
) -> Response {
    let session = match clerk(&state, &headers) {
        Ok(session) => session,
        Err(error) => return *error,
    };
    match state.engine.akten_to_file_in(&session.principal, &search.q, AKTE_MATCHES).await {
        Ok(akten) => html(StatusCode::OK, pages::akte_choices(&akten, &search.q)),
        Err(error) => WebError::Service(error, session).into_response(),
    }
}

#[derive(Deserialize)]
struct BatchesQuery {
    #[serde(default)]
    datum: String,
}

async fn batches(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<BatchesQuery>,
) -> Response {
    let session = match clerk(&state, &headers) {
        Ok(session) => session,
        Err(error) => return *error,
    };
    let date = match query.datum.trim() {
        "" => state.engine.store().clock().now().date_naive().format("%Y-%m-%d").to_string(),
        given => given.to_string(),
    };
    let mut listings = Vec::new();
    let mut after = 0;
    loop {
        let batch_query =
            BatchQuery { from: date.clone(), to: date.clone(), after, limit: 1000, ..Default::default() };
        match state.engine.list_batches(&session.principal, batch_query).await {
            Ok((page, next)) => {
                listings.extend(page);
                match next {
                    Some(next) if listings.len() < 10_000 => after = next,
                    _ => break,
                }
            }
            Err(error) => return WebError::Service(error, session).into_response(),
        }
    }
    html(StatusCode::OK, pages::batches(&date, &listings, who(&session)))
}

async fn batch(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    let session = match clerk(&state, &headers) {
        Ok(session) => session,
        Err(error) => return *error,
    };
    match state.engine.batch(&session.principal, id).await {
        Ok(view) => {
            // Where a Klärfall piece went in the end: the Klärfall's state now.
            let mut resolved = std::collections::HashMap::new();
            for piece in &view.pieces {
                if let crate::ingest::model::PieceDestination::Klaerfall { klaerfall_id, .. } =
                    piece.destination
                {
                    match state.engine.klaerfall(&session.principal, klaerfall_id).await {
                        Ok(klaerfall) => {
                            resolved.insert(klaerfall_id, klaerfall.state);
                        }
                        Err(error) => return WebError::Service(error, session).into_response(),
                    }
                }
            }
            html(StatusCode::OK, pages::batch(&view, &resolved, who(&session)))
        }
        Err(error) => WebError::Service(error, session).into_response(),
    }
}

async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::message(
            "Nicht gefunden",
            "Diese Seite gibt es nicht. Die Poststellen-Seite zeigt nur Klärfälle und Stapel.",
            None,
            Some(("/klaerfaelle", "Zu den Klärfällen")),
        ),
    )
}

#[cfg(test)]
mod tests;
