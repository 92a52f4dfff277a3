//! Sessions of the clerk's web page: a random id in an HttpOnly, SameSite=Strict cookie, the
//! principal and a per-session CSRF token kept server-side with an expiry, and a limit on failed
//! sign-ins per client address.
//!
//! The token a clerk signs in with is checked once against the token registry and never stored:
//! the session keeps only the principal it stands for. Nothing here is persisted; a restart signs
//! everyone out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Principal;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "registratur_sitzung";
/// Name of the cookie that carries the CSRF token of the sign-in form (before any session exists).
pub const SIGN_IN_COOKIE: &str = "registratur_anmeldung";
/// Failed sign-ins from one address within [`FAILURE_WINDOW`] after which further attempts are refused.
pub const MAX_FAILURES: u32 = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(600);
/// Sessions held at most; the oldest are dropped first when more sign in.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in clerk.
#[derive(Clone, Debug)]
pub struct Session {
    pub principal: Principal,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    expires: Instant,
}

/// Sessions and failed sign-ins, shared by every request.
#[derive(Debug)]
pub struct Sessions {
    lifetime: Duration,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// 32 random bytes, hex: session ids and CSRF tokens.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Sessions {
    pub fn new(lifetime: Duration) -> Self {
        Self { lifetime, sessions: Mutex::new(HashMap::new()), failures: Mutex::new(HashMap::new()) }
    }

    /// A mutex poisoned by a panic elsewhere still holds consistent maps (every change is one insert
    /// or remove), so its content is used as it is.
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session for `principal`; returns its id (the cookie value).
    pub fn start(&self, principal: Principal) -> String {
        let now = Instant::now();
        let id = random_token();
        let mut sessions = self.sessions();
        sessions.retain(|_, session| session.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.expires).map(|(id, _)| id.clone())
        {
            sessions.remove(&oldest);
        }
        sessions
            .insert(id.clone(), Session { principal, csrf: random_token(), expires: now + self.lifetime });
        id
    }

    /// The live session with this id; each use extends it by the lifetime (idle timeout).
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut sessions = self.sessions();
        match sessions.get_mut(id) {
            Some(session) if session.expires > now => {
                session.expires = now + self.lifetime;
                Some(session.clone())
            }
            Some(_) => {
                sessions.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, id: &str) {
        self.sessions().remove(id);
    }

    /// Seconds to wait before `address` may try again, when it has failed too often.
    pub fn blocked_for(&self, address: IpAddr) -> Option<u64> {
        let now = Instant::now();
        let failures = self.failures();
        let (count, since) = failures.get(&address)?;
        let elapsed = now.duration_since(*since);
        (*count >= MAX_FAILURES && elapsed < FAILURE_WINDOW)
            .then(|| (FAILURE_WINDOW - elapsed).as_secs().max(1))
    }

    pub fn record_failure(&self, address: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures();
        failures.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
        let entry = failures.entry(address).or_insert((0, now));
        entry.0 += 1;
    }

    pub fn clear_failures(&self, address: IpAddr) {
        self.failures().remove(&address);
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/`, Secure when `secure`; `max_age` 0
/// deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}", max_age.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn clerk() -> Principal {
        Principal { name: "poststelle".into(), role: Role::Mailroom, scopes: Vec::new() }
    }

    #[test]
    fn sessions_expire_and_end() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let id = sessions.start(clerk());
        assert_eq!(id.len(), 64);
        let session = sessions.get(&id).unwrap();
        assert_eq!(session.principal, clerk());
        assert_ne!(session.csrf, id, "the CSRF token is not the session id");
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.get(&id).is_none(), "an idle session expires");
        let id = sessions.start(clerk());
        sessions.end(&id);
        assert!(sessions.get(&id).is_none(), "a session that was signed out is gone");
        assert!(sessions.get("not-a-session").is_none());
    }

    #[test]
    fn failed_sign_ins_block_an_address_but_not_others() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let attacker: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..MAX_FAILURES - 1 {
            sessions.record_failure(attacker);
        }
        assert_eq!(sessions.blocked_for(attacker), None);
        sessions.record_failure(attacker);
        let wait = sessions.blocked_for(attacker).unwrap();
        assert!(wait > 500 && wait <= 600, "{wait}");
        assert_eq!(sessions.blocked_for(other), None);
        sessions.clear_failures(attacker);
        assert_eq!(sessions.blocked_for(attacker), None);
    }

    #[test]
    fn cookies_are_read_and_written_with_their_flags() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, "a=1; registratur_sitzung=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        assert_eq!(
            set_cookie(SESSION_COOKIE, "abc", Duration::from_secs(3600), false),
            "registratur_sitzung=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict"
        );
        assert!(set_cookie(SESSION_COOKIE, "abc", Duration::from_secs(1), true).ends_with("; Secure"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
