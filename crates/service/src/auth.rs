//! Who is calling: bearer tokens (stored as SHA-256 hashes), the principals they stand for, and roles.
//!
//! Tokens are long random strings handed to one system or person each; the configuration keeps only
//! their SHA-256, so a leaked config file does not leak tokens. Roles:
//! - `mailroom` — ingest only; may not read documents.
//! - `fachverfahren` — records read and write, optionally limited to Aktenplan subtrees (`scopes`).
//! - `archivist` — migration, fixity, read.
//! - `admin` — everything.
//!
//! When no token is configured at all, the server creates one admin token on first start and writes it
//! to `<data_dir>/bootstrap-admin.token` (mode 0600), so that a new installation is usable at once.

use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use registratur_records::aktenzeichen::AktenplanKey;

/// What a principal may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Mailroom,
    Fachverfahren,
    Archivist,
    Admin,
}

/// An authenticated caller, recorded as the actor of every change it makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// Aktenplan subtrees a `fachverfahren` principal is limited to; empty means no limit.
    pub scopes: Vec<AktenplanKey>,
}

/// One configured token.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The principal's name, as it appears in the journal.
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the token (`registratur token new` prints it).
    pub token_sha256: String,
    /// Aktenplan keys limiting a `fachverfahren` token to those subtrees.
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token: send the header `authorization: Bearer <token>`")]
    MissingToken,
    #[error("unknown or revoked token; ask the administrator for a valid token")]
    UnknownToken,
    #[error("token {name:?}: {message}")]
    InvalidConfig { name: String, message: String },
    #[error("cannot write the bootstrap admin token to {path}: {source}")]
    Bootstrap { path: PathBuf, source: std::io::Error },
}

/// The configured tokens, by hash.
#[derive(Clone, Debug, Default)]
pub struct TokenRegistry {
    by_hash: HashMap<[u8; 32], Principal>,
}

/// File the bootstrap admin token is written to, inside the data directory.
pub const BOOTSTRAP_TOKEN_FILE: &str = "bootstrap-admin.token";

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mailroom => "mailroom",
            Role::Fachverfahren => "fachverfahren",
            Role::Archivist => "archivist",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mailroom" => Ok(Role::Mailroom),
            "fachverfahren" => Ok(Role::Fachverfahren),
            "archivist" => Ok(Role::Archivist),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}; use mailroom, fachverfahren, archivist or admin")),
        }
    }
}

impl Principal {
    /// Whether this principal may see and change records filed under `key`.
    pub fn covers(&self, key: &AktenplanKey) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|scope| key.is_within(scope))
    }
}

impl TokenRegistry {
    pub fn from_config(tokens: &[TokenConfig]) -> Result<Self, AuthError> {
        let mut by_hash = HashMap::new();
        for token in tokens {
            let invalid = |message: String| AuthError::InvalidConfig { name: token.name.clone(), message };
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&token.token_sha256, &mut hash)
                .map_err(|_| invalid("token_sha256 must be 64 hex digits".into()))?;
            let scopes = token
                .scopes
                .iter()
                .map(|scope| AktenplanKey::parse(scope).map_err(|e| invalid(e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            if !scopes.is_empty() && token.role != Role::Fachverfahren {
                return Err(invalid("scopes apply to the fachverfahren role only".into()));
            }
            let principal = Principal { name: token.name.clone(), role: token.role, scopes };
            if by_hash.insert(hash, principal).is_some() {
                return Err(invalid("the same token is configured twice".into()));
            }
        }
        Ok(Self { by_hash })
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    pub fn add(&mut self, token: &str, principal: Principal) {
        self.by_hash.insert(hash_token(token), principal);
    }

    /// The principal a presented token stands for.
    pub fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.by_hash.get(&hash_token(token.trim())).cloned().ok_or(AuthError::UnknownToken)
    }

    /// Reads the bootstrap admin token from `data_dir`, creating it on first use. Used only when no
    /// token is configured.
    pub fn with_bootstrap_admin(mut self, data_dir: &Path) -> Result<Self, AuthError> {
        let path = data_dir.join(BOOTSTRAP_TOKEN_FILE);
        let token = match std::fs::read_to_string(&path) {
            Ok(token) => token.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let token = generate_token();
                let bootstrap = |source| AuthError::Bootstrap { path: path.clone(), source };
                std::fs::create_dir_all(data_dir).map_err(bootstrap)?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(bootstrap)?;
                writeln!(file, "{token}").and_then(|_| file.sync_all()).map_err(bootstrap)?;
                token
            }
            Err(source) => return Err(AuthError::Bootstrap { path, source }),
        };
        self.add(&token, Principal { name: "bootstrap-admin".into(), role: Role::Admin, scopes: Vec::new() });
        Ok(self)
    }
}

/// SHA-256 of a token, as stored in the configuration.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token: 32 bytes from the OS random generator, base32 without padding, prefixed `rgt_`.
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("rgt_{}", data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, role: Role, token: &str, scopes: &[&str]) -> TokenConfig {
        TokenConfig {
            name: name.into(),
            role,
            token_sha256: hex::encode(hash_token(token)),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn tokens_authenticate_by_hash_and_unknown_ones_fail() {
        let registry = TokenRegistry::from_config(&[
            config("bauamt", Role::Fachverfahren, "secret-1", &["63"]),
            config("post", Role::Mailroom, "secret-2", &[]),
        ])
        .unwrap();
        let principal = registry.authenticate("secret-1").unwrap();
        assert_eq!((principal.name.as_str(), principal.role), ("bauamt", Role::Fachverfahren));
        assert!(principal.covers(&AktenplanKey::parse("63.01").unwrap()));
        assert!(!principal.covers(&AktenplanKey::parse("632").unwrap()));
        assert!(matches!(registry.authenticate("secret-3"), Err(AuthError::UnknownToken)));
    }

    #[test]
    fn invalid_token_configs_are_named() {
        let mut bad = config("x", Role::Admin, "t", &["63"]);
        let error = TokenRegistry::from_config(&[bad.clone()]).unwrap_err().to_string();
        assert!(error.contains("fachverfahren role only"), "{error}");
        bad.scopes.clear();
        bad.token_sha256 = "zz".into();
        assert!(TokenRegistry::from_config(&[bad]).unwrap_err().to_string().contains("64 hex digits"));
    }

    #[test]
    fn bootstrap_token_is_created_once_with_private_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let registry = TokenRegistry::default().with_bootstrap_admin(dir.path()).unwrap();
        let path = dir.path().join(BOOTSTRAP_TOKEN_FILE);
        let token = std::fs::read_to_string(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(registry.authenticate(&token).unwrap().role, Role::Admin);
        let again = TokenRegistry::default().with_bootstrap_admin(dir.path()).unwrap();
        assert!(again.authenticate(&token).is_ok());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), token);
    }

    #[test]
    fn generated_tokens_are_distinct_and_long() {
        let (a, b) = (generate_token(), generate_token());
        assert_ne!(a, b);
        assert!(a.len() > 50 && a.starts_with("rgt_"));
    }
}
