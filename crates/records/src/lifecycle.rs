//! The end of an Akte's life as far as the records model goes: when its retention runs out, legal holds
//! that stop everything, reopening a closed Akte (Wiederaufnahme) and corrections of metadata. Every
//! change is one journaled transaction whose preconditions pin the record it changes; nothing is edited
//! silently: a correction's journal entry keeps the earlier value.
//!
//! **The due rule**: retention (Aufbewahrungsfrist) counts from the end of the calendar year in which the
//! Akte was closed (z.d.A.). An Akte closed on 2026-05-04 with 10 years is due on 2037-01-01. `unbegrenzt`
//! is never due; neither is an Akte whose Aktenplan unit (and its ancestors) names no retention, nor an
//! Akte under a legal hold. Reopening an Akte stops the clock; it starts again at the next z.d.A. Dates are
//! read from the store's clock, so tests and rehearsals can move time.

use chrono::{Datelike, NaiveDate};
use registratur_storage::meta::{MetaError, Txn};
use serde::{Deserialize, Serialize};

use super::aktenplan::{Aktenplan, Aussonderungsart, Retention};
use super::model::{Akte, AkteState, Dokument};
use super::repo::{AkteRef, MAX_TEXT_CHARS, Records, RecordsError};
use super::tables::{AKTE_HISTORY, DOKUMENT_HISTORY, DOKUMENTE, HOLDS, history_prefix};
use super::text::check_text;

/// Why a lifecycle change was refused.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("Akte {0} is open; only a closed (z.d.A.) Akte can be reopened")]
    NotClosed(String),
    #[error("Akte {aktenzeichen} is already under a legal hold ({reason}, placed by {by}); release it first")]
    AlreadyHeld { aktenzeichen: String, reason: String, by: String },
    #[error("Akte {0} is under no legal hold")]
    NotHeld(String),
    #[error("nothing to correct: every field given already has that value")]
    NothingToCorrect,
    #[error(transparent)]
    Records(#[from] RecordsError),
}

impl From<MetaError> for LifecycleError {
    fn from(error: MetaError) -> Self {
        LifecycleError::Records(error.into())
    }
}

/// A legal hold (Löschsperre): while it stands, the Akte is never due, offered, handed over or deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub akte_id: u64,
    pub aktenzeichen: String,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: chrono::DateTime<chrono::Utc>,
}

/// Where an Akte stands with its retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionStatus {
    /// From the Aktenplan (inherited); `None` when no unit up the tree names one.
    pub retention: Option<Retention>,
    pub aussonderung: Option<Aussonderungsart>,
    /// The z.d.A. date, while the Akte is closed.
    pub closed_on: Option<NaiveDate>,
    /// When the retention runs out: `None` while open, for `unbegrenzt` and without a retention.
    pub due_on: Option<NaiveDate>,
    pub hold: Option<Hold>,
}

impl RetentionStatus {
    /// Due on `today`: closed, retention run out, no hold.
    pub fn is_due(&self, today: NaiveDate) -> bool {
        self.hold.is_none() && self.due_on.is_some_and(|due| due <= today)
    }
}

/// The first day after the retention of an Akte closed on `closed_on` (see the module documentation).
pub fn due_date(closed_on: NaiveDate, retention: Retention) -> Option<NaiveDate> {
    match retention {
        Retention::Unlimited => None,
        Retention::Years(years) => NaiveDate::from_ymd_opt(closed_on.year() + i32::from(years) + 1, 1, 1),
    }
}

/// Metadata of an Akte that can be corrected.
#[derive(Clone, Debug, Default)]
pub struct AkteCorrection {
    pub title: Option<String>,
}

/// Metadata of a Dokument that can be corrected (its content changes only by a new Version).
#[derive(Clone, Debug, Default)]
pub struct DokumentCorrection {
    pub title: Option<String>,
    pub sender: Option<String>,
    pub fremdes_geschaeftszeichen: Option<String>,
}

/// How often a change retries after losing a compare-and-set race.
const RETRIES: usize = 16;

fn text<'a>(field: &str, value: &'a str, required: bool) -> Result<&'a str, LifecycleError> {
    check_text(field, value, required, MAX_TEXT_CHARS)
        .map_err(|problem| RecordsError::Invalid(problem.to_string()).into())
}

/// A field's change for a correction's journal entry, if the value differs.
fn changed(field: &str, old: &mut String, new: Option<&str>) -> Option<serde_json::Value> {
    let new = new?;
    if old == new {
        return None;
    }
    let change = serde_json::json!({ "field": field, "old": old, "new": new });
    *old = new.to_string();
    Some(change)
}

impl Records {
    /// The retention of an Akte, its due date and its hold.
    pub fn retention(&self, akte: &Akte) -> Result<RetentionStatus, LifecycleError> {
        let plan = self.aktenplan()?.map(|(_, plan)| plan);
        self.retention_under(plan.as_ref(), akte)
    }

    /// [`Records::retention`] under an Aktenplan already loaded (a walk over many Akten loads it once).
    fn retention_under(
        &self,
        plan: Option<&Aktenplan>,
        akte: &Akte,
    ) -> Result<RetentionStatus, LifecycleError> {
        let retention = plan.and_then(|plan| plan.effective_retention(&akte.key));
        let aussonderung = plan.and_then(|plan| plan.effective_aussonderung(&akte.key));
        let closed_on = match &akte.state {
            AkteState::Closed { at, .. } => Some(at.date_naive()),
            AkteState::Open => None,
        };
        let due_on = closed_on.zip(retention).and_then(|(closed, retention)| due_date(closed, retention));
        let hold = HOLDS.get(self.store().meta(), &akte.id)?;
        Ok(RetentionStatus { retention, aussonderung, closed_on, due_on, hold })
    }

    /// Closed Akten whose retention has run out by the store clock's today and that no hold stops, in
    /// Aktenplan order, at most `limit`.
    pub fn due_akten(&self, limit: usize) -> Result<Vec<(Akte, RetentionStatus)>, LifecycleError> {
        let today = self.store().clock().now().date_naive();
        let plan = self.aktenplan()?.map(|(_, plan)| plan);
        let mut due = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.list_akten(None, true, after.as_deref(), 500, |akte| !akte.is_open())?;
            for akte in page.akten {
                let status = self.retention_under(plan.as_ref(), &akte)?;
                if status.is_due(today) {
                    due.push((akte, status));
                    if due.len() >= limit {
                        return Ok(due);
                    }
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(due),
            }
        }
    }

    /// Places a legal hold on an Akte, open or closed.
    pub fn place_hold(&self, actor: &str, akte: &AkteRef, reason: &str) -> Result<Hold, LifecycleError> {
        let reason = text("reason", reason, true)?;
        let akte = self.akte(akte)?;
        if let Some(hold) = HOLDS.get(self.store().meta(), &akte.id)? {
            return Err(LifecycleError::AlreadyHeld {
                aktenzeichen: akte.aktenzeichen,
                reason: hold.reason,
                by: hold.placed_by,
            });
        }
        let hold = Hold {
            akte_id: akte.id,
            aktenzeichen: akte.aktenzeichen.clone(),
            reason: reason.to_string(),
            placed_by: actor.to_string(),
            placed_at: self.store().clock().now(),
        };
        let payload =
            serde_json::json!({ "akte_id": akte.id, "aktenzeichen": akte.aktenzeichen, "reason": reason });
        let mut txn = Txn::new(actor, "akte.hold", payload.to_string());
        HOLDS.require_absent(&mut txn, &akte.id);
        HOLDS.put(&mut txn, &akte.id, &hold);
        txn.index_journal_entry(registratur_storage::meta::Cf::Index, history_prefix(AKTE_HISTORY, akte.id));
        match self.store().meta().commit(txn) {
            Ok(_) => Ok(hold),
            Err(MetaError::Conflict(_)) => {
                let current = HOLDS.get(self.store().meta(), &akte.id)?;
                let (reason, by) = current.map(|h| (h.reason, h.placed_by)).unwrap_or_default();
                Err(LifecycleError::AlreadyHeld { aktenzeichen: akte.aktenzeichen, reason, by })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Releases an Akte's legal hold; the journal keeps who placed it, who released it and why.
    pub fn release_hold(&self, actor: &str, akte: &AkteRef, reason: &str) -> Result<Hold, LifecycleError> {
        let reason = text("reason", reason, true)?;
        let akte = self.akte(akte)?;
        let (hold, bytes) = HOLDS
            .get_with_bytes(self.store().meta(), &akte.id)?
            .ok_or_else(|| LifecycleError::NotHeld(akte.aktenzeichen.clone()))?;
        let payload = serde_json::json!({
            "akte_id": akte.id, "aktenzeichen": akte.aktenzeichen, "reason": reason,
            "hold": { "reason": hold.reason, "placed_by": hold.placed_by, "placed_at": hold.placed_at },
        });
        let mut txn = Txn::new(actor, "akte.hold.release", payload.to_string());
        HOLDS.require(&mut txn, &akte.id, Some(bytes));
        HOLDS.delete(&mut txn, &akte.id);
        txn.index_journal_entry(registratur_storage::meta::Cf::Index, history_prefix(AKTE_HISTORY, akte.id));
        match self.store().meta().commit(txn) {
            Ok(_) => Ok(hold),
            Err(MetaError::Conflict(_)) => Err(LifecycleError::NotHeld(akte.aktenzeichen)),
            Err(error) => Err(error.into()),
        }
    }

    /// Every Akte under a legal hold, in Akte id order.
    pub fn holds(&self) -> Result<Vec<Hold>, LifecycleError> {
        Ok(HOLDS.scan(self.store().meta(), b"")?.into_iter().map(|(_, hold)| hold).collect())
    }

    /// Wiederaufnahme: a closed Akte becomes open again; its retention clock stops until the next z.d.A.
    pub fn reopen_akte(&self, actor: &str, akte: &AkteRef, reason: &str) -> Result<Akte, LifecycleError> {
        let reason = text("reason", reason, true)?;
        self.change_akte(actor, akte, |record| {
            let AkteState::Closed { at, by } = &record.state else {
                return Err(LifecycleError::NotClosed(record.aktenzeichen.clone()));
            };
            let payload = serde_json::json!({
                "akte_id": record.id, "aktenzeichen": record.aktenzeichen, "reason": reason,
                "closed_at": at, "closed_by": by,
            });
            record.state = AkteState::Open;
            Ok(("akte.reopen", payload))
        })
    }

    /// Corrects an Akte's metadata (open or closed). The journal entry names every field with its old and
    /// new value and the reason.
    pub fn correct_akte(
        &self,
        actor: &str,
        akte: &AkteRef,
        correction: &AkteCorrection,
        reason: &str,
    ) -> Result<Akte, LifecycleError> {
        let reason = text("reason", reason, true)?;
        let title = correction.title.as_deref().map(|t| text("title", t, true)).transpose()?;
        self.change_akte(actor, akte, |record| {
            let changes: Vec<_> = changed("title", &mut record.title, title).into_iter().collect();
            if changes.is_empty() {
                return Err(LifecycleError::NothingToCorrect);
            }
            let payload = serde_json::json!({
                "akte_id": record.id, "aktenzeichen": record.aktenzeichen, "reason": reason, "changes": changes,
            });
            Ok(("akte.correct", payload))
        })
    }

    /// Corrects a Dokument's metadata (its content changes only by a new Version). The journal entry, in the
    /// history of the Dokument and of its Akte, names every field with its old and new value and the reason.
    pub fn correct_dokument(
        &self,
        actor: &str,
        dokument_id: u64,
        correction: &DokumentCorrection,
        reason: &str,
    ) -> Result<Dokument, LifecycleError> {
        let reason = text("reason", reason, true)?;
        let title = correction.title.as_deref().map(|t| text("title", t, true)).transpose()?;
        let sender = correction.sender.as_deref().map(|t| text("sender", t, false)).transpose()?;
        let theirs = correction
            .fremdes_geschaeftszeichen
            .as_deref()
            .map(|t| text("fremdes_geschaeftszeichen", t, false))
            .transpose()?;
        for _ in 0..RETRIES {
            let (mut dokument, bytes) = DOKUMENTE
                .get_with_bytes(self.store().meta(), &dokument_id)?
                .ok_or(RecordsError::DokumentNotFound(dokument_id))?;
            let changes: Vec<_> = [
                changed("title", &mut dokument.title, title),
                changed("sender", &mut dokument.sender, sender),
                changed("fremdes_geschaeftszeichen", &mut dokument.fremdes_geschaeftszeichen, theirs),
            ]
            .into_iter()
            .flatten()
            .collect();
            if changes.is_empty() {
                return Err(LifecycleError::NothingToCorrect);
            }
            let payload = serde_json::json!({
                "dokument_id": dokument.id, "akte_id": dokument.akte_id, "reason": reason, "changes": changes,
            });
            let mut txn = Txn::new(actor, "dokument.correct", payload.to_string());
            DOKUMENTE.require(&mut txn, &dokument.id, Some(bytes));
            DOKUMENTE.put(&mut txn, &dokument.id, &dokument);
            txn.index_journal_entry(
                registratur_storage::meta::Cf::Index,
                history_prefix(AKTE_HISTORY, dokument.akte_id),
            )
            .index_journal_entry(
                registratur_storage::meta::Cf::Index,
                history_prefix(DOKUMENT_HISTORY, dokument.id),
            );
            match self.store().meta().commit(txn) {
                Ok(_) => return Ok(dokument),
                Err(MetaError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(RecordsError::Contention(format!("Dokument {dokument_id}")).into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use registratur_storage::clock::ManualClock;
    use registratur_storage::meta::MetaOptions;
    use registratur_storage::{Durability, Store};

    use super::*;
    use crate::aktenplan::Aktenplan;
    use crate::aktenzeichen::AktenplanKey;

    fn setup(clock: &ManualClock) -> (tempfile::TempDir, Records) {
        let dir = tempfile::tempdir().unwrap();
        let options = MetaOptions { clock: Arc::new(clock.clone()), ..MetaOptions::default() };
        let store = Store::open_with(dir.path(), Durability::Fsync, options).unwrap();
        let records = Records::open(store, Default::default()).unwrap();
        let plan = Aktenplan::from_csv(
            "kennzeichen;titel;aufbewahrung;aussonderungsart\n32;Ordnung;10;B\n32.10;Gewerbe;;\n50;Soziales;unbegrenzt;A\n",
        )
        .unwrap();
        records.import_aktenplan("test", &plan).unwrap();
        (dir, records)
    }

    fn day(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn create(records: &Records, unit: &str) -> Akte {
        records.create_akte("sb", &AktenplanKey::parse(unit).unwrap(), "Akte", None, None).unwrap()
    }

    #[test]
    fn retention_runs_from_the_end_of_the_closing_year_and_holds_and_reopening_stop_it() {
        let clock = ManualClock::new(day(2026, 3, 1));
        let (_dir, records) = setup(&clock);
        let akte = create(&records, "32.10");
        let id = AkteRef::Id(akte.id);
        clock.set(day(2026, 5, 4));
        let closed = records.close_akte("sb", &id, "erledigt").unwrap();
        let status = records.retention(&closed).unwrap();
        assert_eq!(status.retention, Some(Retention::Years(10)), "inherited from 32");
        assert_eq!(status.aussonderung, Some(Aussonderungsart::Bewerten));
        assert_eq!(status.closed_on, NaiveDate::from_ymd_opt(2026, 5, 4));
        assert_eq!(status.due_on, NaiveDate::from_ymd_opt(2037, 1, 1));

        clock.set(day(2036, 12, 31));
        assert!(records.due_akten(10).unwrap().is_empty(), "not due on the last day of the retention");
        clock.set(day(2037, 1, 1));
        let due: Vec<u64> = records.due_akten(10).unwrap().iter().map(|(a, _)| a.id).collect();
        assert_eq!(due, [akte.id]);

        records.place_hold("admin", &id, "Rechtsstreit 3 K 12/36").unwrap();
        assert!(records.due_akten(10).unwrap().is_empty(), "a hold stops the Aussonderung");
        let error = records.place_hold("admin", &id, "noch einmal").unwrap_err();
        assert!(matches!(error, LifecycleError::AlreadyHeld { .. }), "{error}");
        assert_eq!(records.holds().unwrap().len(), 1);
        records.release_hold("admin", &id, "Verfahren beendet").unwrap();
        assert!(records.holds().unwrap().is_empty());
        assert!(matches!(records.release_hold("admin", &id, "x").unwrap_err(), LifecycleError::NotHeld(_)));
        assert_eq!(records.due_akten(10).unwrap().len(), 1);

        let reopened = records.reopen_akte("sb", &id, "Widerspruch eingegangen").unwrap();
        assert!(reopened.is_open());
        assert!(records.due_akten(10).unwrap().is_empty());
        assert!(matches!(records.reopen_akte("sb", &id, "x").unwrap_err(), LifecycleError::NotClosed(_)));
        clock.set(day(2037, 2, 1));
        let closed_again = records.close_akte("sb", &id, "erledigt").unwrap();
        assert_eq!(records.retention(&closed_again).unwrap().due_on, NaiveDate::from_ymd_opt(2048, 1, 1));

        let actions: Vec<String> =
            records.akte_history(akte.id).unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(
            actions,
            ["akte.create", "akte.close", "akte.hold", "akte.hold.release", "akte.reopen", "akte.close"]
        );
    }

    #[test]
    fn unbegrenzt_is_never_due_and_an_open_akte_has_no_due_date() {
        let clock = ManualClock::new(day(2020, 1, 1));
        let (_dir, records) = setup(&clock);
        let forever = create(&records, "50");
        let open = create(&records, "32");
        records.close_akte("sb", &AkteRef::Id(forever.id), "").unwrap();
        clock.set(day(3000, 1, 1));
        assert!(records.due_akten(10).unwrap().is_empty());
        let status = records.retention(&records.akte(&AkteRef::Id(open.id)).unwrap()).unwrap();
        assert_eq!((status.closed_on, status.due_on), (None, None));
        assert_eq!(
            due_date(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(), Retention::Years(0)),
            NaiveDate::from_ymd_opt(2027, 1, 1)
        );
    }

    #[test]
    fn corrections_keep_the_earlier_value_in_the_journal() {
        let clock = ManualClock::new(day(2026, 3, 1));
        let (_dir, records) = setup(&clock);
        let akte = create(&records, "32.10");
        let new = crate::repo::NewDokument {
            akte: AkteRef::Id(akte.id),
            vorgang_id: None,
            title: "Antrag".into(),
            sender: "Erika Musterman".into(),
            fremdes_geschaeftszeichen: String::new(),
            posteingangsdatum: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            channel: crate::model::Channel::Email,
            source: "test".into(),
            filename: "a.txt".into(),
            media_type: "text/plain".into(),
        };
        let (dokument, _) = records.add_dokument("sb", &new, &mut b"Antrag".as_slice()).unwrap();
        let correction = DokumentCorrection { sender: Some("Erika Mustermann".into()), ..Default::default() };
        let corrected = records.correct_dokument("sb", dokument.id, &correction, "Tippfehler").unwrap();
        assert_eq!(corrected.sender, "Erika Mustermann");
        assert_eq!(records.dokument(dokument.id).unwrap().sender, "Erika Mustermann");
        let entry = records.dokument_history(dokument.id).unwrap().pop().unwrap();
        assert_eq!(entry.action, "dokument.correct");
        let payload: serde_json::Value = serde_json::from_slice(&entry.payload).unwrap();
        assert_eq!(
            payload["changes"],
            serde_json::json!([{ "field": "sender", "old": "Erika Musterman", "new": "Erika Mustermann" }])
        );
        assert_eq!(payload["reason"], "Tippfehler");
        let again = records.correct_dokument("sb", dokument.id, &correction, "Tippfehler").unwrap_err();
        assert!(matches!(again, LifecycleError::NothingToCorrect), "{again}");
        let refused = records
            .correct_akte("sb", &AkteRef::Id(akte.id), &AkteCorrection { title: Some("x\u{7}".into()) }, "r")
            .unwrap_err();
        assert!(refused.to_string().contains("title"), "{refused}");

        records.close_akte("sb", &AkteRef::Id(akte.id), "").unwrap();
        let title = AkteCorrection { title: Some("Gewerbeanmeldung Bäckerei Müller".into()) };
        let akte = records.correct_akte("sb", &AkteRef::Id(akte.id), &title, "Betreff präzisiert").unwrap();
        assert_eq!(akte.title, "Gewerbeanmeldung Bäckerei Müller");
        assert!(!akte.is_open(), "a correction leaves the Akte closed");
        let entry = records.akte_history(akte.id).unwrap().pop().unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&entry.payload).unwrap();
        assert_eq!(payload["changes"][0]["old"], "Akte");
    }
}
