//! Tables: typed, versioned records over the metadata store — the one way the layers above read and write
//! `MetaStore` values.
//!
//! A [`Table`] is a keyspace (column family + key prefix) with a key codec ([`KeyCodec`]) and a value codec
//! ([`ValueCodec`]). Each layer declares its tables as constants beside its repository, and lists them in a
//! `keyspaces()` function; the service joins those lists into one registry, which the compatibility tests
//! walk to decode every stored value of an old data directory.
//!
//! **Stored values carry their version.** A record value is `v<N>:` followed by its JSON ([`Versioned`]):
//! `v1:{"id":7,…}`. Values written before versions existed are bare JSON and read as version 0, which is
//! version 1's shape. A type whose stored shape changes gets the next version number, keeps its old shape as a
//! frozen type, and upgrades in [`Versioned::upgrade`] step by step (0 → 1 → 2 …), so every value ever
//! written stays readable; a value newer than this build is refused with a message that says so, never
//! misread. Readers get upgraded values; values are rewritten only when their record changes anyway.
//!
//! **Reads see one state.** Tables read through [`MetaRead`], which both the live store and a
//! [`MetaSnapshot`](crate::meta::MetaSnapshot) implement: an export that must be consistent reads
//! everything from one snapshot.

use std::fmt;
use std::marker::PhantomData;
use std::ops::ControlFlow;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::meta::{Cf, MetaError, Txn};

/// A walk's callback: sees each `(key, value)` and says whether to go on.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> ControlFlow<()> + 'a;

/// A record and its stored bytes (for a compare-and-set), if present.
pub type Loaded<V> = Option<(V, Vec<u8>)>;

/// Read access to the metadata store: the live store or a snapshot of it.
pub trait MetaRead {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError>;

    /// Visits `(key, value)` pairs whose key starts with `prefix`, in key order, beginning after
    /// `start_after` (or at the prefix), until `visit` returns `Break`.
    fn visit_prefix(
        &self,
        cf: Cf,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut Visitor<'_>,
    ) -> Result<(), MetaError>;
}

/// A record type as it is stored: JSON behind a version header. See the module documentation.
pub trait Versioned: Serialize + DeserializeOwned {
    /// The version this build writes. 1 is the first; 0 names values stored before versions existed,
    /// which have version 1's shape.
    const VERSION: u16;

    /// Reads a value stored as an older `version` (its JSON `body`) and brings it to this version, step by
    /// step through the frozen older types. The default knows only version 0 of a version-1 type.
    fn upgrade(version: u16, body: &[u8]) -> Result<Self, String> {
        if version == 0 && Self::VERSION == 1 {
            return serde_json::from_slice(body).map_err(|e| e.to_string());
        }
        Err(format!("no upgrade from version {version} to version {}", Self::VERSION))
    }

    /// Reads a value stored as `version` (at most [`Self::VERSION`]).
    fn decode_version(version: u16, body: &[u8]) -> Result<Self, String> {
        if version == Self::VERSION {
            serde_json::from_slice(body).map_err(|e| e.to_string())
        } else {
            Self::upgrade(version, body)
        }
    }
}

/// Encodes a record: `v<VERSION>:` + JSON.
pub fn encode_versioned<T: Versioned>(value: &T) -> Vec<u8> {
    let mut out = format!("v{}:", T::VERSION).into_bytes();
    // Serialising plain records (strings, numbers, maps with string keys) to a Vec cannot fail.
    serde_json::to_writer(&mut out, value).expect("records serialise to JSON");
    out
}

/// Splits a stored value into its version and body: `v<N>:` + body, or bare JSON (version 0).
pub fn split_version(bytes: &[u8]) -> Result<(u16, &[u8]), String> {
    let Some(rest) = bytes.strip_prefix(b"v") else { return Ok((0, bytes)) };
    let colon = rest
        .iter()
        .take(6)
        .position(|&b| b == b':')
        .ok_or_else(|| "a version header `v<N>:` is not closed by a colon".to_string())?;
    let digits =
        std::str::from_utf8(&rest[..colon]).map_err(|_| "the version header is not ASCII".to_string())?;
    let version =
        digits.parse::<u16>().map_err(|_| format!("the version header `v{digits}:` is not a number"))?;
    Ok((version, &rest[colon + 1..]))
}

/// Decodes a record of any version up to `T::VERSION`.
pub fn decode_versioned<T: Versioned>(bytes: &[u8]) -> Result<T, String> {
    let (version, body) = split_version(bytes)?;
    if version > T::VERSION {
        return Err(format!(
            "written as version {version} by a newer registratur; this build reads up to version {}: upgrade registratur",
            T::VERSION
        ));
    }
    T::decode_version(version, body)
}

/// How a table's keys look after its prefix.
pub trait KeyCodec {
    type Key;
    /// What the keys are, for the registry (`"u64 BE"`).
    const SHAPE: &'static str;
    fn encode(key: &Self::Key, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Option<Self::Key>;
}

/// How a table's values are stored.
pub trait ValueCodec {
    type Value;
    /// What the values are, for the registry and for error messages (`"Akte v1"`).
    fn shape() -> String;
    fn encode(value: &Self::Value) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Result<Self::Value, String>;
}

/// A `u64` id, big-endian so that keys sort by id.
pub struct Id;

impl KeyCodec for Id {
    type Key = u64;
    const SHAPE: &'static str = "u64 BE";
    fn encode(key: &u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&key.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<u64> {
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }
}

/// A `u64` id, `/`, then a `u32` number (a Dokument's Versionen).
pub struct IdNumber;

impl KeyCodec for IdNumber {
    type Key = (u64, u32);
    const SHAPE: &'static str = "u64 BE / u32 BE";
    fn encode(&(id, number): &(u64, u32), out: &mut Vec<u8>) {
        out.extend_from_slice(&id.to_be_bytes());
        out.push(b'/');
        out.extend_from_slice(&number.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<(u64, u32)> {
        if bytes.len() != 13 || bytes[8] != b'/' {
            return None;
        }
        Some((
            u64::from_be_bytes(bytes[..8].try_into().ok()?),
            u32::from_be_bytes(bytes[9..].try_into().ok()?),
        ))
    }
}

/// Two `u64` ids joined by `/` (a batch's pieces, a job's items, journal index entries).
pub struct IdPair;

impl KeyCodec for IdPair {
    type Key = (u64, u64);
    const SHAPE: &'static str = "u64 BE / u64 BE";
    fn encode(&(a, b): &(u64, u64), out: &mut Vec<u8>) {
        out.extend_from_slice(&a.to_be_bytes());
        out.push(b'/');
        out.extend_from_slice(&b.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<(u64, u64)> {
        if bytes.len() != 17 || bytes[8] != b'/' {
            return None;
        }
        Some((
            u64::from_be_bytes(bytes[..8].try_into().ok()?),
            u64::from_be_bytes(bytes[9..].try_into().ok()?),
        ))
    }
}

/// No key after the prefix: a table of one entry (`aktenplan/current`).
pub struct Single;

impl KeyCodec for Single {
    type Key = ();
    const SHAPE: &'static str = "none";
    fn encode(_: &(), _: &mut Vec<u8>) {}
    fn decode(bytes: &[u8]) -> Option<()> {
        bytes.is_empty().then_some(())
    }
}

/// A `u32` number, big-endian.
pub struct Number;

impl KeyCodec for Number {
    type Key = u32;
    const SHAPE: &'static str = "u32 BE";
    fn encode(key: &u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&key.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<u32> {
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    }
}

/// UTF-8 text (an Aktenzeichen, a hash in hex, a fixed name).
pub struct Text;

impl KeyCodec for Text {
    type Key = String;
    const SHAPE: &'static str = "UTF-8";
    fn encode(key: &String, out: &mut Vec<u8>) {
        out.extend_from_slice(key.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<String> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

/// UTF-8 text, `/`, then a `u64` id (listings grouped by a name, e.g. Akten by Aktenplan unit).
pub struct TextId;

impl KeyCodec for TextId {
    type Key = (String, u64);
    const SHAPE: &'static str = "UTF-8 / u64 BE";
    fn encode((text, id): &(String, u64), out: &mut Vec<u8>) {
        out.extend_from_slice(text.as_bytes());
        out.push(b'/');
        out.extend_from_slice(&id.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<(String, u64)> {
        let at = bytes.len().checked_sub(9)?;
        if bytes[at] != b'/' {
            return None;
        }
        let text = String::from_utf8(bytes[..at].to_vec()).ok()?;
        Some((text, u64::from_be_bytes(bytes[at + 1..].try_into().ok()?)))
    }
}

/// A versioned JSON record (see [`Versioned`]).
pub struct Json<T>(PhantomData<T>);

impl<T: Versioned> ValueCodec for Json<T> {
    type Value = T;
    fn shape() -> String {
        let name = std::any::type_name::<T>();
        format!("{} v{}", name.rsplit("::").next().unwrap_or(name), T::VERSION)
    }
    fn encode(value: &T) -> Vec<u8> {
        encode_versioned(value)
    }
    fn decode(bytes: &[u8]) -> Result<T, String> {
        decode_versioned(bytes)
    }
}

/// No value: the key is the fact (listing entries, queue entries).
pub struct Marker;

impl ValueCodec for Marker {
    type Value = ();
    fn shape() -> String {
        "empty".into()
    }
    fn encode(_: &()) -> Vec<u8> {
        Vec::new()
    }
    fn decode(bytes: &[u8]) -> Result<(), String> {
        if bytes.is_empty() { Ok(()) } else { Err(format!("expected no value, found {} bytes", bytes.len())) }
    }
}

/// A `u64`, big-endian (a reference to another record's id).
pub struct U64Value;

impl ValueCodec for U64Value {
    type Value = u64;
    fn shape() -> String {
        "u64 BE".into()
    }
    fn encode(value: &u64) -> Vec<u8> {
        value.to_be_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<u64, String> {
        Ok(u64::from_be_bytes(
            bytes.try_into().map_err(|_| format!("expected 8 bytes, found {}", bytes.len()))?,
        ))
    }
}

/// A `u32`, big-endian (a counter, a version number).
pub struct U32Value;

impl ValueCodec for U32Value {
    type Value = u32;
    fn shape() -> String {
        "u32 BE".into()
    }
    fn encode(value: &u32) -> Vec<u8> {
        value.to_be_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<u32, String> {
        Ok(u32::from_be_bytes(
            bytes.try_into().map_err(|_| format!("expected 4 bytes, found {}", bytes.len()))?,
        ))
    }
}

/// A keyspace: column family, key prefix, key codec and value codec. Declare tables as constants.
pub struct Table<K, V> {
    name: &'static str,
    cf: Cf,
    prefix: &'static [u8],
    codecs: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Table<K, V> {}

impl<K, V> fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table({} in {} at {:?})", self.name, self.cf.name(), String::from_utf8_lossy(self.prefix))
    }
}

impl<K: KeyCodec, V: ValueCodec> Table<K, V> {
    pub const fn new(name: &'static str, cf: Cf, prefix: &'static [u8]) -> Self {
        Self { name, cf, prefix, codecs: PhantomData }
    }

    pub fn cf(&self) -> Cf {
        self.cf
    }

    pub fn prefix(&self) -> &'static [u8] {
        self.prefix
    }

    /// The stored key of `key`.
    pub fn key(&self, key: &K::Key) -> Vec<u8> {
        let mut out = self.prefix.to_vec();
        K::encode(key, &mut out);
        out
    }

    /// The key of a stored key, if it belongs to this table.
    pub fn decode_key(&self, stored: &[u8]) -> Option<K::Key> {
        K::decode(stored.strip_prefix(self.prefix)?)
    }

    /// The stored bytes of `value`.
    pub fn encode(&self, value: &V::Value) -> Vec<u8> {
        V::encode(value)
    }

    fn decode(&self, key: &[u8], bytes: &[u8]) -> Result<V::Value, MetaError> {
        V::decode(bytes).map_err(|reason| self.undecodable(key, reason))
    }

    fn undecodable(&self, key: &[u8], reason: String) -> MetaError {
        MetaError::Undecodable {
            cf: self.cf.name(),
            key: describe_key(key),
            reason: format!("{}: {reason}", V::shape()),
        }
    }

    pub fn get(&self, meta: &dyn MetaRead, key: &K::Key) -> Result<Option<V::Value>, MetaError> {
        Ok(self.get_with_bytes(meta, key)?.map(|(value, _)| value))
    }

    /// The value and its stored bytes, for a compare-and-set ([`Table::require`]).
    pub fn get_with_bytes(&self, meta: &dyn MetaRead, key: &K::Key) -> Result<Loaded<V::Value>, MetaError> {
        let stored = self.key(key);
        let Some(bytes) = meta.get(self.cf, &stored)? else { return Ok(None) };
        Ok(Some((self.decode(&stored, &bytes)?, bytes)))
    }

    pub fn contains(&self, meta: &dyn MetaRead, key: &K::Key) -> Result<bool, MetaError> {
        Ok(meta.get(self.cf, &self.key(key))?.is_some())
    }

    pub fn put(&self, txn: &mut Txn, key: &K::Key, value: &V::Value) {
        txn.put(self.cf, self.key(key), V::encode(value));
    }

    pub fn delete(&self, txn: &mut Txn, key: &K::Key) {
        txn.delete(self.cf, self.key(key));
    }

    /// The transaction commits only if the key is absent.
    pub fn require_absent(&self, txn: &mut Txn, key: &K::Key) {
        txn.require_absent(self.cf, self.key(key));
    }

    /// The transaction commits only if the key holds exactly `bytes` (as read), or is absent for `None`.
    pub fn require(&self, txn: &mut Txn, key: &K::Key, bytes: Option<Vec<u8>>) {
        txn.require_value(self.cf, self.key(key), bytes);
    }

    /// Visits the entries whose key (after the table's prefix) starts with `within`, in key order,
    /// beginning after the stored key `start_after`, until `visit` returns `Break`. A key or value that
    /// does not decode stops the walk with `Undecodable`, naming it.
    pub fn visit(
        &self,
        meta: &dyn MetaRead,
        within: &[u8],
        start_after: Option<&[u8]>,
        mut visit: impl FnMut(&[u8], K::Key, V::Value) -> ControlFlow<()>,
    ) -> Result<(), MetaError> {
        let prefix = [self.prefix, within].concat();
        let mut failure = None;
        meta.visit_prefix(self.cf, &prefix, start_after, &mut |stored, bytes| {
            let Some(key) = self.decode_key(stored) else {
                failure = Some(self.undecodable(stored, format!("the key is not `{}`", K::SHAPE)));
                return ControlFlow::Break(());
            };
            match self.decode(stored, bytes) {
                Ok(value) => visit(stored, key, value),
                Err(error) => {
                    failure = Some(error);
                    ControlFlow::Break(())
                }
            }
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// Every entry whose key (after the prefix) starts with `within`, in key order.
    #[allow(clippy::type_complexity)] // a list of (key, value) of the table's own types
    pub fn scan(&self, meta: &dyn MetaRead, within: &[u8]) -> Result<Vec<(K::Key, V::Value)>, MetaError> {
        let mut out = Vec::new();
        self.visit(meta, within, None, |_, key, value| {
            out.push((key, value));
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// This table as a registry entry.
    pub fn keyspace(&self) -> Keyspace {
        Keyspace {
            name: self.name,
            cf: self.cf,
            prefix: self.prefix,
            key_shape: K::SHAPE,
            value_shape: V::shape(),
            check: check_entry::<K, V>,
        }
    }
}

fn check_entry<K: KeyCodec, V: ValueCodec>(key: &[u8], value: &[u8]) -> Result<(), String> {
    K::decode(key).ok_or_else(|| format!("the key is not `{}`", K::SHAPE))?;
    V::decode(value).map(|_| ())
}

/// A keyspace as the registry lists it: enough to find, describe and decode any stored entry.
#[derive(Clone, Debug)]
pub struct Keyspace {
    pub name: &'static str,
    pub cf: Cf,
    pub prefix: &'static [u8],
    pub key_shape: &'static str,
    pub value_shape: String,
    /// Decodes a key (after the prefix) and its value; an error says what does not decode.
    pub check: fn(&[u8], &[u8]) -> Result<(), String>,
}

impl Keyspace {
    /// A keyspace whose entries another part of the code decodes (the store's own records).
    pub fn foreign(
        name: &'static str,
        cf: Cf,
        prefix: &'static [u8],
        key_shape: &'static str,
        value_shape: &'static str,
        check: fn(&[u8], &[u8]) -> Result<(), String>,
    ) -> Self {
        Self { name, cf, prefix, key_shape, value_shape: value_shape.into(), check }
    }
}

/// The keyspace an entry belongs to: the one with the longest matching prefix in its column family.
pub fn keyspace_of<'a>(registry: &'a [Keyspace], cf: Cf, key: &[u8]) -> Option<&'a Keyspace> {
    registry.iter().filter(|k| k.cf == cf && key.starts_with(k.prefix)).max_by_key(|k| k.prefix.len())
}

/// Problems of a registry: two keyspaces where one prefix would claim the other's keys.
pub fn registry_conflicts(registry: &[Keyspace]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, a) in registry.iter().enumerate() {
        for b in &registry[i + 1..] {
            if a.cf == b.cf && a.prefix == b.prefix {
                problems.push(format!(
                    "{} and {} share the prefix {:?}",
                    a.name,
                    b.name,
                    describe_key(a.prefix)
                ));
            }
        }
    }
    problems
}

/// A stored key for messages: printable ASCII as it is, other bytes as `\xNN`, runs of 8 bytes that
/// follow a `/` or start the key as a number when they look like a big-endian id.
pub fn describe_key(key: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < key.len() {
        let id_here = (i == 0 || key[i - 1] == b'/')
            && key.len() - i >= 8
            && !key[i..i + 8].iter().all(u8::is_ascii_graphic);
        if id_here && (key.len() - i == 8 || key[i + 8] == b'/') {
            let id = u64::from_be_bytes(key[i..i + 8].try_into().unwrap_or_default());
            out.push_str(&id.to_string());
            i += 8;
            continue;
        }
        let byte = key[i];
        if byte.is_ascii_graphic() {
            out.push(byte as char);
        } else {
            out.push_str(&format!("\\x{byte:02x}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        id: u64,
        name: String,
    }

    impl Versioned for Thing {
        const VERSION: u16 = 1;
    }

    /// A later shape of `Thing`: `name` split in two, with the old shape frozen as `Thing`.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct ThingV2 {
        id: u64,
        given: String,
        family: String,
    }

    impl Versioned for ThingV2 {
        const VERSION: u16 = 2;
        fn upgrade(version: u16, body: &[u8]) -> Result<Self, String> {
            let old = Thing::decode_version(version, body)?;
            let (given, family) = old.name.split_once(' ').unwrap_or((&old.name, ""));
            Ok(ThingV2 { id: old.id, given: given.into(), family: family.into() })
        }
    }

    #[test]
    fn values_carry_their_version_and_bare_json_reads_as_version_zero() {
        let thing = Thing { id: 7, name: "Erika Mustermann".into() };
        let stored = encode_versioned(&thing);
        assert!(stored.starts_with(b"v1:{"));
        assert_eq!(decode_versioned::<Thing>(&stored).unwrap(), thing);
        let unversioned = serde_json::to_vec(&thing).unwrap();
        assert_eq!(decode_versioned::<Thing>(&unversioned).unwrap(), thing);
    }

    #[test]
    fn older_versions_upgrade_step_by_step() {
        let thing = Thing { id: 7, name: "Erika Mustermann".into() };
        let expected = ThingV2 { id: 7, given: "Erika".into(), family: "Mustermann".into() };
        for stored in [serde_json::to_vec(&thing).unwrap(), encode_versioned(&thing)] {
            assert_eq!(decode_versioned::<ThingV2>(&stored).unwrap(), expected);
        }
        let v2 = encode_versioned(&expected);
        assert!(v2.starts_with(b"v2:"));
        assert_eq!(decode_versioned::<ThingV2>(&v2).unwrap(), expected);
    }

    #[test]
    fn a_newer_version_is_refused_with_a_message_not_misread() {
        let v2 = encode_versioned(&ThingV2 { id: 1, given: "a".into(), family: "b".into() });
        let error = decode_versioned::<Thing>(&v2).unwrap_err();
        assert!(error.contains("version 2 by a newer registratur"), "{error}");
        assert!(decode_versioned::<Thing>(b"v1").unwrap_err().contains("not closed"));
        assert!(decode_versioned::<Thing>(b"vx:{}").unwrap_err().contains("not a number"));
    }

    #[test]
    fn key_codecs_round_trip_and_reject_other_shapes() {
        let table: Table<IdNumber, Json<Thing>> = Table::new("things", Cf::Records, b"thing/");
        let key = table.key(&(7, 3));
        assert_eq!(key, [b"thing/".as_slice(), &7u64.to_be_bytes(), b"/", &3u32.to_be_bytes()].concat());
        assert_eq!(table.decode_key(&key), Some((7, 3)));
        assert_eq!(table.decode_key(b"thing/short"), None);
        assert_eq!(table.decode_key(b"other/"), None);
        let mut out = Vec::new();
        TextId::encode(&("32.10".to_string(), 9), &mut out);
        assert_eq!(TextId::decode(&out), Some(("32.10".to_string(), 9)));
        out.clear();
        IdPair::encode(&(1, u64::MAX), &mut out);
        assert_eq!(IdPair::decode(&out), Some((1, u64::MAX)));
        assert_eq!(describe_key(&table.key(&(7, 3))), "thing/7/\\x00\\x00\\x00\\x03");
        assert_eq!(describe_key(b"az/32.10-1/2026"), "az/32.10-1/2026");
    }

    #[test]
    fn the_registry_finds_the_longest_prefix_and_reports_shared_ones() {
        let a: Table<Id, Json<Thing>> = Table::new("klaer", Cf::Records, b"klaer/");
        let b: Table<Id, Marker> = Table::new("klaer-open", Cf::Index, b"klaer-open/");
        let c: Table<Id, Marker> = Table::new("klaer-again", Cf::Records, b"klaer/");
        let registry = [a.keyspace(), b.keyspace()];
        assert_eq!(keyspace_of(&registry, Cf::Index, &b.key(&1)).unwrap().name, "klaer-open");
        assert!(keyspace_of(&registry, Cf::Records, b"unknown/").is_none());
        assert!(registry_conflicts(&registry).is_empty());
        assert_eq!(registry_conflicts(&[a.keyspace(), c.keyspace()]).len(), 1);
        let stored = encode_versioned(&Thing { id: 1, name: "x".into() });
        assert!((registry[0].check)(&1u64.to_be_bytes(), &stored).is_ok());
        assert!((registry[0].check)(&1u64.to_be_bytes(), b"v1:{").is_err());
    }
}
