//! Top hits in a chosen order, continuing after a cursor.
//!
//! Every hit gets a [`SortKey`]; a bigger key ranks first. The key is the primary order (score or
//! Posteingangsdatum) with the Dokument id as tie-breaker, so hits are totally ordered and a page can
//! continue strictly after the last key of the previous one ("search after"). Unlike offsets, such a
//! cursor neither repeats nor skips hits when documents arrive between two pages: a date key does not
//! change, and a relevance cursor names the pinned index state its scores came from (scores move
//! with every arrival, since BM25 depends on document counts and lengths), so later pages are scored
//! against the same statistics.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use data_encoding::BASE64URL_NOPAD;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use super::schema::{DATE, ID};

/// How hits are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    /// Best score first; equal scores by ascending Dokument id.
    Relevance,
    /// Newest Posteingangsdatum first; equal dates by descending Dokument id.
    NewestFirst,
    /// Oldest Posteingangsdatum first; equal dates by ascending Dokument id.
    OldestFirst,
}

impl SortOrder {
    fn tag(self) -> u8 {
        match self {
            SortOrder::Relevance => 1,
            SortOrder::NewestFirst => 2,
            SortOrder::OldestFirst => 3,
        }
    }

    fn key(self, score: Score, day: i64, id: u64) -> SortKey {
        match self {
            SortOrder::Relevance => SortKey(ordered_score(score), u64::MAX - id),
            SortOrder::NewestFirst => SortKey(day, id),
            SortOrder::OldestFirst => SortKey(-day, u64::MAX - id),
        }
    }
}

/// A hit's position in the order: bigger ranks first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey(i64, u64);

/// Maps a score to an integer with the same order (IEEE 754 bit trick; scores are never NaN).
fn ordered_score(score: Score) -> i64 {
    let bits = i64::from(score.to_bits() as i32);
    if bits < 0 { i64::from(i32::MIN) - bits } else { bits }
}

/// Where a page ends: the order it was made for, the last hit's key and, for relevance order, the
/// pinned index state the scores came from (see `index::CursorPins`). Opaque to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub order: SortOrder,
    pub after: SortKey,
    /// The pinned searcher of a relevance cursor; 0 for none.
    pub pin: u64,
}

/// Why a cursor a client sent cannot be used; each says what to do instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is not one this server handed out; start again without a cursor")]
    Foreign,
    #[error("the cursor is too short; pass next_cursor unchanged")]
    TooShort,
    #[error("the cursor belongs to another sort order; keep the order while paging")]
    OtherOrder,
}

/// Version 1 had no pin; version 2 adds it. Both are read.
const CURSOR_VERSION: u8 = 2;
const CURSOR_V1: u8 = 1;

impl Cursor {
    pub fn encode(&self) -> String {
        let mut bytes = vec![CURSOR_VERSION, self.order.tag()];
        bytes.extend_from_slice(&self.after.0.to_be_bytes());
        bytes.extend_from_slice(&self.after.1.to_be_bytes());
        bytes.extend_from_slice(&self.pin.to_be_bytes());
        BASE64URL_NOPAD.encode(&bytes)
    }

    /// Reads a cursor made for `order`; the error says what is wrong with it.
    pub fn decode(text: &str, order: SortOrder) -> Result<Cursor, CursorError> {
        let bytes = BASE64URL_NOPAD.decode(text.as_bytes()).map_err(|_| CursorError::Foreign)?;
        let [version, tag, rest @ ..] = bytes.as_slice() else {
            return Err(CursorError::TooShort);
        };
        let (key, pin) = match (*version, rest.len()) {
            (CURSOR_V1, 16) => (rest, 0),
            (CURSOR_VERSION, 24) => {
                (&rest[..16], u64::from_be_bytes(rest[16..].try_into().expect("8 bytes")))
            }
            _ => return Err(CursorError::Foreign),
        };
        if *tag != order.tag() {
            return Err(CursorError::OtherOrder);
        }
        let primary = i64::from_be_bytes(key[..8].try_into().expect("8 bytes"));
        let secondary = u64::from_be_bytes(key[8..].try_into().expect("8 bytes"));
        Ok(Cursor { order, after: SortKey(primary, secondary), pin })
    }
}

/// One collected hit.
#[derive(Clone, Copy, Debug)]
pub struct RankedHit {
    pub key: SortKey,
    pub score: Score,
    pub address: DocAddress,
}

/// Collects the best `limit` hits whose keys rank after the cursor.
pub struct TopAfter {
    pub order: SortOrder,
    pub limit: usize,
    pub after: Option<SortKey>,
}

pub struct TopAfterSegment {
    order: SortOrder,
    limit: usize,
    after: Option<SortKey>,
    segment: SegmentOrdinal,
    ids: Arc<dyn ColumnValues<u64>>,
    days: Arc<dyn ColumnValues<i64>>,
    // A min-heap of the best hits so far: its top is the weakest kept hit.
    best: BinaryHeap<Reverse<(SortKey, DocId, u32)>>,
}

impl Collector for TopAfter {
    type Fruit = Vec<RankedHit>;
    type Child = TopAfterSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<TopAfterSegment> {
        let fast = reader.fast_fields();
        Ok(TopAfterSegment {
            order: self.order,
            limit: self.limit,
            after: self.after,
            segment,
            ids: fast.u64(ID)?.first_or_default_col(0),
            days: fast.i64(DATE)?.first_or_default_col(0),
            best: BinaryHeap::with_capacity(self.limit.min(1024) + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.order == SortOrder::Relevance
    }

    fn merge_fruits(&self, segments: Vec<Vec<RankedHit>>) -> tantivy::Result<Vec<RankedHit>> {
        let mut all: Vec<RankedHit> = segments.into_iter().flatten().collect();
        all.sort_unstable_by_key(|hit| Reverse(hit.key));
        all.truncate(self.limit);
        Ok(all)
    }
}

impl SegmentCollector for TopAfterSegment {
    type Fruit = Vec<RankedHit>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.limit == 0 {
            return;
        }
        let day = if self.order == SortOrder::Relevance { 0 } else { self.days.get_val(doc) };
        let key = self.order.key(score, day, self.ids.get_val(doc));
        if self.after.is_some_and(|after| key >= after) {
            return;
        }
        if self.best.len() < self.limit {
            self.best.push(Reverse((key, doc, score.to_bits())));
        } else if let Some(mut weakest) = self.best.peek_mut()
            && key > weakest.0.0
        {
            *weakest = Reverse((key, doc, score.to_bits()));
        }
    }

    fn harvest(self) -> Vec<RankedHit> {
        let segment = self.segment;
        self.best
            .into_iter()
            .map(|Reverse((key, doc, score))| RankedHit {
                key,
                score: Score::from_bits(score),
                address: DocAddress::new(segment, doc),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_order_is_kept_by_the_integer_mapping() {
        let scores = [-3.5f32, -0.0, 0.0, 0.25, 1.0, 7.75, 1e9];
        for pair in scores.windows(2) {
            assert!(ordered_score(pair[0]) <= ordered_score(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn relevance_breaks_ties_by_ascending_id_and_newest_first_by_descending_id() {
        let relevance = SortOrder::Relevance;
        assert!(relevance.key(2.0, 0, 9) > relevance.key(1.0, 0, 1));
        assert!(relevance.key(1.0, 0, 1) > relevance.key(1.0, 0, 2));
        let newest = SortOrder::NewestFirst;
        assert!(newest.key(0.0, 100, 1) > newest.key(0.0, 99, 5));
        assert!(newest.key(0.0, 100, 5) > newest.key(0.0, 100, 1));
        let oldest = SortOrder::OldestFirst;
        assert!(oldest.key(0.0, 99, 5) > oldest.key(0.0, 100, 1));
        assert!(oldest.key(0.0, 99, 1) > oldest.key(0.0, 99, 5));
    }

    #[test]
    fn cursors_round_trip_and_reject_other_orders_and_garbage() {
        let cursor = Cursor { order: SortOrder::NewestFirst, after: SortKey(-5, 42), pin: 0 };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, SortOrder::NewestFirst), Ok(cursor));
        let pinned = Cursor { order: SortOrder::Relevance, after: SortKey(7, 1), pin: u64::MAX - 3 };
        assert_eq!(Cursor::decode(&pinned.encode(), SortOrder::Relevance), Ok(pinned));
        // A version 1 cursor (before pins) still reads, without a pin.
        let mut v1 = vec![1u8, 2];
        v1.extend_from_slice(&(-5i64).to_be_bytes());
        v1.extend_from_slice(&42u64.to_be_bytes());
        assert_eq!(Cursor::decode(&BASE64URL_NOPAD.encode(&v1), SortOrder::NewestFirst), Ok(cursor));
        let other_order = Cursor::decode(&text, SortOrder::Relevance).unwrap_err();
        assert_eq!(other_order, CursorError::OtherOrder);
        assert!(other_order.to_string().contains("sort order"));
        assert_eq!(Cursor::decode("not a cursor!", SortOrder::Relevance), Err(CursorError::Foreign));
        // A version and an order without a key.
        assert_eq!(Cursor::decode("AQE", SortOrder::Relevance), Err(CursorError::Foreign));
        assert_eq!(Cursor::decode("AQ", SortOrder::Relevance), Err(CursorError::TooShort));
    }
}
