//! The registry of every keyspace in the metadata store, and a check that decodes every stored entry
//! through it.
//!
//! Each layer lists its tables (`records::tables`, `ingest::tables`, `migrate::tables`, the quarantine
//! register, the scrub's record) and the storage crate lists its own (blob records, the journal); this
//! module joins them. An entry no keyspace claims, or one that does not decode, is a finding: the
//! compatibility tests run [`check_store`] over data directories written by earlier builds.

use std::ops::ControlFlow;

use registratur_storage::meta::{self, Cf};
use registratur_storage::table::{Keyspace, MetaRead, describe_key, keyspace_of, registry_conflicts};

/// Every keyspace of the metadata store.
pub fn registry() -> Vec<Keyspace> {
    let mut all = meta::keyspaces();
    all.extend(registratur_records::tables::keyspaces());
    all.extend(registratur_mailroom::ingest::tables::keyspaces());
    all.extend(registratur_migrate::tables::keyspaces());
    all.extend(registratur_ops::quarantine::keyspaces());
    all.extend(super::scrub::keyspaces());
    all.extend(super::aussonderung::keyspaces());
    all.extend(super::evidence::tables::keyspaces());
    all
}

/// What a walk over the whole store found.
#[derive(Clone, Debug, Default)]
pub struct StoreCheck {
    /// Entries decoded, per keyspace name.
    pub decoded: std::collections::BTreeMap<&'static str, u64>,
    /// Entries that no keyspace claims or that do not decode, each described.
    pub problems: Vec<String>,
}

/// Decodes every entry of every column family through the registry. Read from one snapshot, so that
/// concurrent writes do not make the walk inconsistent.
pub fn check_store(meta: &dyn MetaRead) -> Result<StoreCheck, registratur_storage::MetaError> {
    let registry = registry();
    let mut check = StoreCheck { problems: registry_conflicts(&registry), ..StoreCheck::default() };
    for cf in Cf::ALL {
        meta.visit_prefix(cf, b"", None, &mut |key, value| {
            match keyspace_of(&registry, cf, key) {
                None => check.problems.push(format!(
                    "{}: {} belongs to no keyspace",
                    cf.name(),
                    describe_key(key)
                )),
                Some(keyspace) => match (keyspace.check)(&key[keyspace.prefix.len()..], value) {
                    Ok(()) => *check.decoded.entry(keyspace.name).or_default() += 1,
                    Err(reason) => check.problems.push(format!(
                        "{}: {} ({} → {}) does not decode: {reason}",
                        cf.name(),
                        describe_key(key),
                        keyspace.key_shape,
                        keyspace.value_shape
                    )),
                },
            }
            ControlFlow::Continue(())
        })?;
    }
    Ok(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_keyspaces_share_a_prefix_and_every_name_is_unique() {
        let registry = registry();
        assert!(registry_conflicts(&registry).is_empty(), "{:?}", registry_conflicts(&registry));
        let mut names: Vec<_> = registry.iter().map(|k| k.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "keyspace names repeat");
    }

    #[test]
    fn docs_stored_formats_lists_every_keyspace() {
        let doc = include_str!("../../../docs/stored-formats.md");
        for keyspace in registry() {
            assert!(
                doc.contains(&format!("`{}`", keyspace.name)),
                "docs/stored-formats.md lacks `{}`",
                keyspace.name
            );
        }
    }

    #[test]
    fn a_fresh_store_with_records_decodes_entirely() {
        let dir = tempfile::tempdir().unwrap();
        let store = registratur_storage::Store::open(dir.path()).unwrap();
        let records = registratur_records::repo::Records::open(store.clone(), Default::default()).unwrap();
        let plan = registratur_records::aktenplan::Aktenplan::from_csv(
            "kennzeichen;titel;aufbewahrung;aussonderungsart\n32;Ordnung;10;B\n",
        )
        .unwrap();
        records.import_aktenplan("test", &plan).unwrap();
        let unit = registratur_records::aktenzeichen::AktenplanKey::parse("32").unwrap();
        records.create_akte("test", &unit, "Akte", None, Some(2026)).unwrap();
        let check = check_store(&store.meta().snapshot()).unwrap();
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        for name in ["akten", "aktenzeichen", "running-numbers", "akten-by-unit", "journal", "aktenplaene"] {
            assert!(check.decoded.get(name).is_some_and(|n| *n > 0), "{name}: {:?}", check.decoded);
        }
    }
}
