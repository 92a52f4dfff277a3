//! The format policy: per PRONOM PUID, keep the bytes, migrate them to an archival target, or flag
//! the Dokument for a human. A versioned TOML file (`default-policy.toml` is built in); every job
//! records the policy's name, version and the SHA-256 of its text, so a report says which rules held.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::tools::Target;

/// The policy registratur ships with (documented in `docs/migration.md`).
pub const DEFAULT_POLICY: &str = include_str!("default-policy.toml");

/// What the policy says about one format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Keep,
    Migrate { target: Target },
    Flag { reason: String },
}

/// Names the policy a job ran under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyId {
    pub name: String,
    pub version: u32,
    /// Hex SHA-256 of the policy text.
    pub sha256: String,
}

/// A loaded, checked policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub id: PolicyId,
    pub text: String,
    rules: HashMap<String, Action>,
    default: Action,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the format policy {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the format policy is not valid: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: String,
    version: u32,
    default: RuleAction,
    #[serde(default, rename = "rule")]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    puids: Vec<String>,
    #[serde(flatten)]
    action: RuleAction,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleAction {
    action: String,
    target: Option<String>,
    reason: Option<String>,
}

impl RuleAction {
    fn resolve(self, what: &str) -> Result<Action, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid(format!("{what}: {message}"));
        match (self.action.as_str(), self.target, self.reason) {
            ("keep", None, _) => Ok(Action::Keep),
            ("migrate", Some(target), _) => Target::parse(&target)
                .map(|target| Action::Migrate { target })
                .ok_or_else(|| invalid(format!("unknown target {target:?}; known targets: pdfa-2b"))),
            ("migrate", None, _) => Err(invalid("`migrate` needs a `target`, e.g. \"pdfa-2b\"".into())),
            ("flag", None, reason) => Ok(Action::Flag {
                reason: reason.unwrap_or_else(|| "the policy asks for a human decision".into()),
            }),
            ("keep" | "flag", Some(_), _) => Err(invalid("only `migrate` takes a `target`".into())),
            (other, _, _) => Err(invalid(format!("unknown action {other:?}; use keep, migrate or flag"))),
        }
    }
}

impl Policy {
    /// The built-in policy.
    pub fn builtin() -> Policy {
        Policy::parse(DEFAULT_POLICY).expect("the built-in policy is valid")
    }

    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
        Policy::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError::Invalid(e.message().to_string()))?;
        if file.name.trim().is_empty() {
            return Err(PolicyError::Invalid("`name` must not be empty".into()));
        }
        let default = file.default.resolve("[default]")?;
        let mut rules = HashMap::new();
        for (index, rule) in file.rules.into_iter().enumerate() {
            let what = format!("rule {}", index + 1);
            if rule.puids.is_empty() {
                return Err(PolicyError::Invalid(format!("{what}: `puids` is empty")));
            }
            let action = rule.action.resolve(&what)?;
            for puid in rule.puids {
                if rules.insert(puid.clone(), action.clone()).is_some() {
                    return Err(PolicyError::Invalid(format!("{what}: {puid} already has a rule")));
                }
            }
        }
        let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(Policy {
            id: PolicyId { name: file.name, version: file.version, sha256 },
            text: text.to_string(),
            rules,
            default,
        })
    }

    /// What to do with a format (`puid` as identified; unknown formats fall to the default).
    pub fn action_for(&self, puid: &str) -> &Action {
        self.rules.get(puid).unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_policy_migrates_images_keeps_pdfa_and_flags_the_rest() {
        let policy = Policy::builtin();
        assert_eq!(policy.id.name, "registratur-default");
        assert_eq!(policy.id.sha256.len(), 64);
        for puid in ["fmt/353", "fmt/43", "fmt/13", "fmt/4", "fmt/116", "fmt/17"] {
            assert_eq!(policy.action_for(puid), &Action::Migrate { target: Target::PdfA2b }, "{puid}");
        }
        for puid in ["fmt/477", "fmt/478", "fmt/354", "x-fmt/111"] {
            assert_eq!(policy.action_for(puid), &Action::Keep, "{puid}");
        }
        assert!(matches!(policy.action_for("UNKNOWN"), Action::Flag { .. }));
        assert!(matches!(policy.action_for("fmt/9999"), Action::Flag { .. }));
    }

    #[test]
    fn mistakes_in_a_policy_are_named() {
        let base = "name = \"p\"\nversion = 2\n[default]\naction = \"keep\"\n";
        let cases = [
            ("[[rule]]\npuids = [\"fmt/353\"]\naction = \"migrate\"\n", "needs a `target`"),
            ("[[rule]]\npuids = [\"fmt/353\"]\naction = \"migrate\"\ntarget = \"tiff\"\n", "unknown target"),
            ("[[rule]]\npuids = [\"fmt/353\"]\naction = \"shred\"\n", "unknown action"),
            ("[[rule]]\npuids = []\naction = \"keep\"\n", "`puids` is empty"),
            (
                "[[rule]]\npuids = [\"fmt/353\"]\naction = \"keep\"\n[[rule]]\npuids = [\"fmt/353\"]\naction = \"keep\"\n",
                "already has a rule",
            ),
            ("[[rule]]\npuids = [\"fmt/353\"]\naction = \"keep\"\ntarget = \"pdfa-2b\"\n", "only `migrate`"),
        ];
        for (rules, expected) in cases {
            let error = Policy::parse(&format!("{base}{rules}")).unwrap_err().to_string();
            assert!(error.contains(expected), "{error} should contain {expected}");
        }
        assert!(Policy::parse("version = 1").is_err());
    }

    #[test]
    fn the_policy_id_changes_with_its_text() {
        let a = Policy::parse("name = \"p\"\nversion = 1\n[default]\naction = \"keep\"\n").unwrap();
        let b = Policy::parse("name = \"p\"\nversion = 1\n[default]\naction = \"flag\"\n").unwrap();
        assert_eq!(a.id.version, b.id.version);
        assert_ne!(a.id.sha256, b.id.sha256);
    }
}
