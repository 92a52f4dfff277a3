//! The journal: an append-only, hash-chained log of every state change.
//!
//! Entry `n` carries the BLAKE3 hash of entry `n-1`, its sequence number, the time, the actor (who),
//! the action (what) and a payload (the details, usually JSON). Entries are written in the same atomic
//! batch as the state change they describe (see `meta`), never rewritten, and the journal is the source
//! from which secondary indexes can be rebuilt. [`verify`](crate::MetaStore::verify_journal) walks the
//! chain and names the first broken link.
//!
//! The hashed encoding is fixed and documented here so that outside tools can check a chain:
//! `"RJE1" | seq: u64 BE | prev: [u8; 32] | time_ms: i64 BE | actor | action | payload`, where each of
//! the last three is a u32 BE length followed by that many bytes. The stored value is that encoding
//! followed by its 32-byte BLAKE3 hash.

use std::fmt;

use crate::hash::BlobHash;

const MAGIC: &[u8; 4] = b"RJE1";

/// The hash that entry 1 points back to.
pub const GENESIS: [u8; 32] = [0; 32];

/// One journal entry, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: u64,
    pub prev_hash: [u8; 32],
    pub time_ms: i64,
    pub actor: String,
    pub action: String,
    pub payload: Vec<u8>,
    /// BLAKE3 of the encoding of all fields above.
    pub hash: [u8; 32],
}

/// The newest entry's position: what the next entry chains to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalHead {
    pub seq: u64,
    pub hash: [u8; 32],
}

/// The result of walking the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalReport {
    pub entries_checked: u64,
    pub first_break: Option<JournalBreak>,
}

/// The first place where the chain does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalBreak {
    /// The entry that was found altered, missing or out of place.
    pub seq: u64,
    pub problem: BreakKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreakKind {
    /// The entry's stored bytes cannot be decoded.
    Undecodable(String),
    /// The entry's contents do not hash to the hash stored with it: it was edited.
    HashMismatch,
    /// The entry's key and its own sequence number differ, or numbers are missing before it.
    SequenceGap { expected: u64 },
    /// The next entry does not point back to this one's hash: this entry was replaced by one with a
    /// recomputed hash, or the next entry's link was edited.
    LinkMismatch { next_seq: u64 },
    /// The recorded head (newest entry) does not match the last entry found: entries were removed
    /// from the end, or the head was edited.
    HeadMismatch { recorded_seq: u64 },
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakKind::Undecodable(reason) => write!(f, "entry cannot be decoded: {reason}"),
            BreakKind::HashMismatch => f.write_str("entry contents do not match its stored hash (edited)"),
            BreakKind::SequenceGap { expected } => {
                write!(f, "sequence gap: expected entry {expected} here")
            }
            BreakKind::LinkMismatch { next_seq } => write!(
                f,
                "entry {next_seq} does not link to this entry's hash (this entry was replaced or the link edited)"
            ),
            BreakKind::HeadMismatch { recorded_seq } => write!(
                f,
                "the recorded head is entry {recorded_seq} but the chain ends here (entries removed or head edited)"
            ),
        }
    }
}

impl JournalEntry {
    /// Builds an entry chained to `prev`, computing its hash.
    pub fn new(
        seq: u64,
        prev_hash: [u8; 32],
        time_ms: i64,
        actor: String,
        action: String,
        payload: Vec<u8>,
    ) -> Self {
        let mut entry = Self { seq, prev_hash, time_ms, actor, action, payload, hash: [0; 32] };
        entry.hash = *blake3::hash(&entry.encode_body()).as_bytes();
        entry
    }

    /// The hashed part of the encoding.
    fn encode_body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            4 + 8 + 32 + 8 + 12 + self.actor.len() + self.action.len() + self.payload.len(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        for field in [self.actor.as_bytes(), self.action.as_bytes(), &self.payload] {
            out.extend_from_slice(&(field.len() as u32).to_be_bytes());
            out.extend_from_slice(field);
        }
        out
    }

    /// The stored form: the body followed by its hash.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.encode_body();
        out.extend_from_slice(&self.hash);
        out
    }

    /// Decodes a stored entry. The stored hash is returned as is; [`JournalEntry::hash_is_valid`] checks it.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut cursor = Cursor { bytes, at: 0 };
        if cursor.take(4)? != MAGIC {
            return Err("bad magic".into());
        }
        let seq = u64::from_be_bytes(cursor.array()?);
        let prev_hash = cursor.array()?;
        let time_ms = i64::from_be_bytes(cursor.array()?);
        let actor = cursor.string()?;
        let action = cursor.string()?;
        let payload = cursor.field()?.to_vec();
        let hash = cursor.array()?;
        if cursor.at != bytes.len() {
            return Err(format!("{} trailing bytes", bytes.len() - cursor.at));
        }
        Ok(Self { seq, prev_hash, time_ms, actor, action, payload, hash })
    }

    /// Whether the stored hash is the hash of the entry's contents.
    pub fn hash_is_valid(&self) -> bool {
        blake3::hash(&self.encode_body()).as_bytes() == &self.hash
    }

    pub fn hash_hex(&self) -> String {
        BlobHash::from_bytes(self.hash).to_hex()
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at byte {}", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn field(&mut self) -> Result<&'a [u8], String> {
        let len = u32::from_be_bytes(self.array()?) as usize;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.field()?.to_vec()).map_err(|e| format!("invalid utf-8: {e}"))
    }
}

/// Checks a sequence of stored entries, in key order, against each other and the recorded head.
/// `entries` yields `(key_seq, stored_bytes)`.
pub fn verify_chain(
    entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
    recorded_head: Option<JournalHead>,
) -> JournalReport {
    let mut checked = 0;
    let mut previous: Option<JournalEntry> = None;
    let broken = |seq, problem| Some(JournalBreak { seq, problem });
    for (key_seq, bytes) in entries {
        let expected_seq = previous.as_ref().map_or(1, |p| p.seq + 1);
        let entry = match JournalEntry::decode(&bytes) {
            Ok(entry) => entry,
            Err(reason) => {
                return JournalReport {
                    entries_checked: checked,
                    first_break: broken(key_seq, BreakKind::Undecodable(reason)),
                };
            }
        };
        if entry.seq != key_seq || key_seq != expected_seq {
            return JournalReport {
                entries_checked: checked,
                first_break: broken(key_seq, BreakKind::SequenceGap { expected: expected_seq }),
            };
        }
        if !entry.hash_is_valid() {
            return JournalReport {
                entries_checked: checked,
                first_break: broken(entry.seq, BreakKind::HashMismatch),
            };
        }
        let expected_prev = previous.as_ref().map_or(GENESIS, |p| p.hash);
        if entry.prev_hash != expected_prev {
            return JournalReport {
                entries_checked: checked,
                first_break: broken(entry.seq - 1, BreakKind::LinkMismatch { next_seq: entry.seq }),
            };
        }
        checked += 1;
        previous = Some(entry);
    }
    let found_head = previous.map(|p| JournalHead { seq: p.seq, hash: p.hash });
    let first_break = match (recorded_head, found_head) {
        (None, None) => None,
        (Some(recorded), Some(found)) if recorded == found => None,
        (recorded, found) => broken(
            found.map_or(0, |f| f.seq),
            BreakKind::HeadMismatch { recorded_seq: recorded.map_or(0, |r| r.seq) },
        ),
    };
    JournalReport { entries_checked: checked, first_break }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<JournalEntry> {
        let mut entries: Vec<JournalEntry> = Vec::new();
        for seq in 1..=n {
            let prev = entries.last().map_or(GENESIS, |e| e.hash);
            entries.push(JournalEntry::new(
                seq,
                prev,
                1_700_000_000_000 + seq as i64,
                "tester".into(),
                "thing.done".into(),
                format!("{{\"n\":{seq}}}").into_bytes(),
            ));
        }
        entries
    }

    fn stored(entries: &[JournalEntry]) -> Vec<(u64, Vec<u8>)> {
        entries.iter().map(|e| (e.seq, e.encode())).collect()
    }

    fn head(entries: &[JournalEntry]) -> Option<JournalHead> {
        entries.last().map(|e| JournalHead { seq: e.seq, hash: e.hash })
    }

    #[test]
    fn encode_decode_round_trip() {
        for entry in chain(3) {
            assert_eq!(JournalEntry::decode(&entry.encode()).unwrap(), entry);
        }
        assert!(JournalEntry::decode(b"RJE1").is_err());
    }

    #[test]
    fn intact_chain_verifies() {
        let entries = chain(10);
        let report = verify_chain(stored(&entries), head(&entries));
        assert_eq!(report, JournalReport { entries_checked: 10, first_break: None });
        assert_eq!(verify_chain(Vec::new(), None).first_break, None);
    }

    #[test]
    fn edited_payload_is_named() {
        let entries = chain(10);
        let mut rows = stored(&entries);
        let bytes = &mut rows[4].1;
        let pos = bytes.len() - 33; // last payload byte
        bytes[pos] ^= 0x20;
        let report = verify_chain(rows, head(&entries));
        assert_eq!(report.entries_checked, 4);
        assert_eq!(report.first_break, Some(JournalBreak { seq: 5, problem: BreakKind::HashMismatch }));
    }

    #[test]
    fn replaced_entry_with_recomputed_hash_breaks_the_next_link() {
        let mut entries = chain(6);
        let forged = JournalEntry::new(
            3,
            entries[1].hash,
            entries[2].time_ms,
            "mallory".into(),
            "thing.done".into(),
            b"{}".to_vec(),
        );
        entries[2] = forged;
        let report = verify_chain(stored(&entries), head(&entries));
        assert_eq!(
            report.first_break,
            Some(JournalBreak { seq: 3, problem: BreakKind::LinkMismatch { next_seq: 4 } })
        );
    }

    #[test]
    fn removed_entries_are_found() {
        let entries = chain(6);
        let mut rows = stored(&entries);
        rows.remove(2);
        let report = verify_chain(rows, head(&entries));
        assert_eq!(
            report.first_break,
            Some(JournalBreak { seq: 4, problem: BreakKind::SequenceGap { expected: 3 } })
        );

        let truncated = stored(&entries[..4]);
        let report = verify_chain(truncated, head(&entries));
        assert_eq!(
            report.first_break,
            Some(JournalBreak { seq: 4, problem: BreakKind::HeadMismatch { recorded_seq: 6 } })
        );
    }
}
