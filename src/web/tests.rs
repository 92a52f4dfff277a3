//! The web page over a real engine and a real socket, without a browser: the headers of every answer,
//! the cookie flags, CSRF refusals, the role check at sign-in, the sign-in rate limit, and escaping.

use std::io::{Read, Write};
use std::time::Duration;

use super::*;
use crate::auth::{Principal, Role};
use crate::records::aktenzeichen::AktenplanKey;
use crate::records::model::{Akte, AkteState};
use crate::service::EngineSettings;

const CLERK: &str = "web-test-mailroom-token";
const FACHVERFAHREN: &str = "web-test-fachverfahren-token";

struct Web {
    address: SocketAddr,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Web {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path().join("data"), EngineSettings::default()).unwrap();
        let mut tokens = TokenRegistry::default();
        tokens
            .add(CLERK, Principal { name: "poststelle-1".into(), role: Role::Mailroom, scopes: Vec::new() });
        tokens.add(
            FACHVERFAHREN,
            Principal { name: "fv".into(), role: Role::Fachverfahren, scopes: Vec::new() },
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let settings = WebSettings { session_lifetime: Duration::from_secs(600), secure_cookies: false };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_web(engine, tokens, settings, listener, async {
            let _ = stopped.await;
        }));
        Web { address, _dir: dir, stop: Some(stop), task: Some(task) }
    }

    /// One HTTP/1.1 exchange on a fresh connection: status, headers (lower-case names), body.
    async fn request(&self, method: &str, path: &str, cookies: &str, form: &str) -> Answer {
        let address = self.address;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nCookie: {cookies}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        );
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).unwrap();
            let text = String::from_utf8_lossy(&raw).into_owned();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let mut lines = head.lines();
            let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
            let headers = lines
                .filter_map(|line| line.split_once(": "))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect();
            Answer { status, headers, body: body.to_string() }
        })
        .await
        .unwrap()
    }

    /// The sign-in form's cookie and CSRF token.
    async fn sign_in_form(&self) -> (String, String) {
        let form = self.request("GET", "/anmelden", "", "").await;
        assert_eq!(form.status, 200);
        let cookie = form.cookie(SIGN_IN_COOKIE).unwrap();
        let csrf = field(&form.body, "csrf");
        assert_eq!(cookie, csrf, "the sign-in form carries the token of its cookie");
        (cookie, csrf)
    }

    async fn sign_in(&self, token: &str) -> Answer {
        let (cookie, csrf) = self.sign_in_form().await;
        self.request(
            "POST",
            "/anmelden",
            &format!("{SIGN_IN_COOKIE}={cookie}"),
            &format!("token={token}&csrf={csrf}"),
        )
        .await
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn set_cookies(&self) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k == "set-cookie").map(|(_, v)| v.as_str()).collect()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|rest| rest.split(';').next().unwrap_or("").to_string())
    }
}

/// The value of the first form field `name` in a page.
fn field(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name} in {body}"));
    let rest = &body[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_strict_http_only_cookie_and_every_answer_has_the_csp() {
    let web = Web::start().await;
    let signed_out = web.request("GET", "/klaerfaelle", "", "").await;
    assert_eq!(signed_out.status, 303, "signed out, a page sends to the sign-in form");
    assert_eq!(signed_out.header("location"), Some("/anmelden"));

    let answer = web.sign_in(CLERK).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.header("location"), Some("/klaerfaelle"));
    let cookie =
        answer.set_cookies().into_iter().find(|c| c.starts_with(SESSION_COOKIE)).unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=600"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Secure"), "no Secure flag on a plain-HTTP loopback page");
    assert!(!cookie.contains(CLERK), "the token is not in the cookie");
    let session = format!("{SESSION_COOKIE}={}", answer.cookie(SESSION_COOKIE).unwrap());

    for path in ["/klaerfaelle", "/stapel", "/web.css", "/web.js", "/anmelden", "/nichts", "/klaerfaelle/99"]
    {
        let page = web.request("GET", path, &session, "").await;
        assert_eq!(page.header("content-security-policy"), Some(CSP), "{path}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert!(!page.body.contains(CLERK), "{path} shows the token");
    }
    let list = web.request("GET", "/klaerfaelle", &session, "").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("<html lang=\"de\">"), "{}", list.body);
    assert!(list.body.contains("<title>Offene Klärfälle (0)"), "{}", list.body);
    assert!(list.body.contains("poststelle-1"));
    assert!(
        !list.body.contains("<style") && !list.body.contains("style=\""),
        "no inline style under the CSP"
    );
    assert_eq!(web.request("GET", "/klaerfaelle/99", &session, "").await.status, 404);
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_sessions_csrf_token_are_refused_and_change_nothing() {
    let web = Web::start().await;
    let answer = web.sign_in(CLERK).await;
    let session = format!("{SESSION_COOKIE}={}", answer.cookie(SESSION_COOKIE).unwrap());
    let page = web.request("GET", "/klaerfaelle", &session, "").await;
    let csrf = field(&page.body, "csrf");

    for form in ["", "csrf=", "csrf=0000", &format!("csrf={}", &csrf[..63])] {
        let refused = web.request("POST", "/abmelden", &session, form).await;
        assert_eq!(refused.status, 403, "{form:?}");
        assert!(refused.body.contains("CSRF"));
        let refused =
            web.request("POST", "/klaerfaelle/1/zuordnen", &session, &format!("{form}&akte=1")).await;
        assert_eq!(refused.status, 403, "{form:?}");
    }
    assert_eq!(web.request("GET", "/klaerfaelle", &session, "").await.status, 200, "still signed in");

    // Another session's token does not fit either.
    let other = web.sign_in(CLERK).await;
    let other_session = format!("{SESSION_COOKIE}={}", other.cookie(SESSION_COOKIE).unwrap());
    let refused = web.request("POST", "/abmelden", &other_session, &format!("csrf={csrf}")).await;
    assert_eq!(refused.status, 403);

    // The sign-in form needs the token of its own cookie.
    let (_, form_csrf) = web.sign_in_form().await;
    let refused = web.request("POST", "/anmelden", "", &format!("token={CLERK}&csrf={form_csrf}")).await;
    assert_eq!(refused.status, 403);
    assert!(refused.cookie(SESSION_COOKIE).is_none());

    let out = web.request("POST", "/abmelden", &session, &format!("csrf={csrf}")).await;
    assert_eq!(out.status, 303);
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{SESSION_COOKIE}=;")) && c.contains("Max-Age=0"))
    );
    assert_eq!(web.request("GET", "/klaerfaelle", &session, "").await.status, 303, "signed out");
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_roles_cannot_sign_in_and_failed_sign_ins_are_rate_limited() {
    let web = Web::start().await;
    let refused = web.sign_in(FACHVERFAHREN).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("fachverfahren"), "{}", refused.body);
    assert!(refused.cookie(SESSION_COOKIE).is_none());

    for _ in 1..session::MAX_FAILURES {
        let wrong = web.sign_in("falsch").await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("unbekannt"));
        assert!(!wrong.body.contains("falsch"), "the wrong token is not echoed");
    }
    let blocked = web.sign_in(CLERK).await;
    assert_eq!(blocked.status, 429, "after {} failures even the right token waits", session::MAX_FAILURES);
    assert!(blocked.body.contains("Zu viele"));
    assert!(blocked.cookie(SESSION_COOKIE).is_none());
    web.stop().await;
}

#[test]
fn document_text_is_escaped_in_every_template() {
    let evil = "<script>alert('x')</script> & \"quoted\"";
    let akte = Akte {
        id: 7,
        aktenzeichen: "32.10-1/2026".into(),
        key: AktenplanKey::parse("32").unwrap(),
        title: evil.into(),
        state: AkteState::Open,
        created_at: chrono::DateTime::UNIX_EPOCH,
        created_by: "admin".into(),
    };
    let choices = pages::akte_choices(&[akte], "32").into_string();
    assert!(!choices.contains("<script>"), "{choices}");
    assert!(
        choices.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;quoted&quot;"),
        "{choices}"
    );
    let page = pages::message(evil, evil, Some((evil, evil)), Some(("/klaerfaelle", evil))).into_string();
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("value=\"<"), "attributes are escaped too: {page}");
}
