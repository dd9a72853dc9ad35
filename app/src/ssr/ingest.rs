//! Ingest: one database transaction per batch.
//!
//! The batch reads which of its events already exist and the states of its
//! contacts, folds the new events in with the pure rules, and writes new
//! events, new contacts and updated contacts, meeting no duplicate key inside
//! the transaction (on RocksDB every duplicate costs a savepoint rollback).
//! Two batches that touch the same event or contact at once conflict at
//! commit (optimistic transactions) and the loser runs again: this holds for
//! two requests in one process and for two processes on one database server.
//! A success is returned only after the commit, which on RocksDB waits for
//! the write-ahead log to be synced.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::json;
use surrealdb::types::Value;

use super::db::{Db, db_error, is_retryable, record, row};
use super::event::Event;
use super::keys;
use super::rules::{ContactState, LeadFacts};
use crate::error::AppError;

/// How often a batch that lost a write conflict is run again.
const MAX_ATTEMPTS: u32 = 12;

#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub accepted: usize,
    pub duplicates: usize,
    /// The leads this batch created or changed, as committed (for live
    /// updates and an in-memory lead index).
    pub changed: Vec<LeadFacts>,
}

enum TxError {
    Db(surrealdb::Error),
    Corrupt(String),
}

impl From<surrealdb::Error> for TxError {
    fn from(e: surrealdb::Error) -> Self {
        TxError::Db(e)
    }
}

/// Stores a validated batch. Idempotent by event id.
pub async fn ingest(db: &Db, events: Vec<Event>) -> Result<Outcome, AppError> {
    let sent = events.len();
    let mut seen = HashSet::new();
    let unique: Vec<Event> = events
        .into_iter()
        .filter(|e| seen.insert(e.id.clone()))
        .collect();
    if unique.is_empty() {
        return Ok(Outcome {
            duplicates: sent,
            ..Default::default()
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_ingest(db, &unique).await {
            Ok((accepted, changed)) => {
                return Ok(Outcome {
                    accepted,
                    duplicates: sent - accepted,
                    changed,
                });
            }
            Err(TxError::Db(e)) if is_retryable(&e) && attempt < MAX_ATTEMPTS => {
                tracing::debug!(
                    attempt,
                    "ingest lost a write conflict; running the batch again"
                );
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(TxError::Db(e)) => return Err(db_error(e)),
            Err(TxError::Corrupt(m)) => return Err(AppError::Internal(m)),
        }
    }
}

/// Exponential backoff with jitter, so that two losers do not collide again.
fn backoff(attempt: u32) -> Duration {
    let base = 5u64 << attempt.min(7);
    Duration::from_millis(base + rand::random_range(0..base))
}

async fn try_ingest(db: &Db, events: &[Event]) -> Result<(usize, Vec<LeadFacts>), TxError> {
    let tx = db.clone().begin().await?;
    match write_batch(&tx, events).await {
        Ok(Some(result)) => {
            tx.commit().await?;
            Ok(result)
        }
        Ok(None) => {
            let _ = tx.cancel().await;
            Ok((0, Vec::new()))
        }
        Err(e) => {
            let _ = tx.cancel().await;
            Err(e)
        }
    }
}

type Tx = surrealdb::method::Transaction<surrealdb::engine::any::Any>;

/// Everything inside the transaction. `None`: nothing new, nothing written.
async fn write_batch(
    tx: &Tx,
    events: &[Event],
) -> Result<Option<(usize, Vec<LeadFacts>)>, TxError> {
    let event_ids: Vec<_> = events.iter().map(|e| record("event", &e.id)).collect();
    let contact_keys: Vec<&str> = {
        let mut k: Vec<&str> = events.iter().map(|e| e.contact_key.as_str()).collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    let contact_ids: Vec<_> = contact_keys.iter().map(|k| record("contact", k)).collect();
    let mut res = tx
        .query("SELECT VALUE eid FROM $eids; SELECT VALUE state FROM $cids;")
        .bind(("eids", event_ids))
        .bind(("cids", contact_ids))
        .await?;
    let existing: HashSet<String> = res.take::<Vec<String>>(0)?.into_iter().collect();
    let stored: Vec<serde_json::Value> = res.take(1)?;

    let new_events: Vec<&Event> = events
        .iter()
        .filter(|e| !existing.contains(&e.id))
        .collect();
    if new_events.is_empty() {
        return Ok(None);
    }

    let mut states: BTreeMap<String, (ContactState, bool)> = BTreeMap::new();
    for s in stored {
        let state: ContactState = serde_json::from_value(s)
            .map_err(|e| TxError::Corrupt(format!("unreadable contact state: {e}")))?;
        states.insert(state.key.clone(), (state, true));
    }
    for e in &new_events {
        states
            .entry(e.contact_key.clone())
            .or_insert_with(|| (ContactState::new(&e.contact_key), false))
            .0
            .apply(e);
    }

    let event_rows: Vec<Value> = new_events.iter().map(|e| event_row(e)).collect();
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    let mut changed = Vec::new();
    // Only contacts this batch added events to are written.
    let touched: HashSet<&str> = new_events.iter().map(|e| e.contact_key.as_str()).collect();
    for (key, (state, existed)) in &states {
        if !touched.contains(key.as_str()) {
            continue;
        }
        let data = contact_row(state);
        if *existed {
            updates.push(row(record("contact", key), json!({ "data": data })));
        } else {
            inserts.push(row(record("contact", key), data));
        }
        changed.extend(state.lead());
    }
    tx.query(
        "INSERT INTO event $events RETURN NONE;
         INSERT INTO contact $inserts RETURN NONE;
         FOR $u IN $updates { UPDATE $u.id CONTENT $u.data RETURN NONE; };",
    )
    .bind(("events", event_rows))
    .bind(("inserts", inserts))
    .bind(("updates", updates))
    .await?
    .check()?;
    Ok(Some((new_events.len(), changed)))
}

fn event_row(e: &Event) -> Value {
    row(
        record("event", &e.id),
        json!({
            "eid": e.id,
            "contact": e.contact_key,
            "at": keys::time_key(e.occurred_at),
            "event": e,
        }),
    )
}

/// The stored contact: the rules' state plus, for a lead, its columns and
/// the keys the read path filters, sorts and searches on.
fn contact_row(state: &ContactState) -> serde_json::Value {
    let mut data = json!({ "state": state });
    if let Some(lead) = state.lead() {
        let k = keys::LeadKeys::of(&lead);
        data["lead"] = json!(lead);
        data["sort_key"] = k.sort_key.into();
        data["name_key"] = k.name_key.into();
        data["touch_key"] = k.touch_key.into();
        data["search"] = k.search.into();
        data["phones"] = k.phones.into();
        data["channel"] = lead.channel.clone().into();
        data["touched"] = lead.first_touched_at.is_some().into();
        data["source_platform"] = json!(lead.first_source.as_ref().map(|s| &s.platform));
        data["source_id"] = json!(lead.first_source.as_ref().and_then(|s| s.id.as_ref()));
    }
    data
}
