//! The Conversions API outbox (`shared/spec/meta-capi.md`): `capi:⟨event
//! id⟩`, one row per event for Meta. A batch's transaction adds the rows of
//! the outcomes it makes known ([`rows`]); senders claim due rows in the
//! database (so with several instances each event is posted by one of them)
//! and record Meta's answer.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Value, json};

use super::db::{Db, db_error, is_retryable, record, row};
use crate::error::AppError;
use crate::ssr::domain::capi::{self, Outcome};
use crate::ssr::domain::rules::{ContactState, Terms};

/// What queuing needs: the terms outcomes are derived under and the
/// currency purchases are reported in. Absent: sending is not set up, and
/// nothing is queued.
#[derive(Clone, Debug)]
pub struct OutboxTerms {
    pub terms: Terms,
    pub currency: String,
}

/// The state names stored (and shown, and filtered by).
pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const REJECTED: &str = "rejected";

/// The events `state` has to send (`late` as for [`capi::outcomes`]).
pub fn planned(
    state: &ContactState,
    t: &OutboxTerms,
    late: Option<chrono::DateTime<chrono::Utc>>,
) -> Vec<(Outcome, Value)> {
    capi::to_send(state, &t.terms, &t.currency, late)
}

/// The outbox row of one event of lead `lead`.
pub fn row_of(lead: &str, o: &Outcome, event: &Value) -> surrealdb::types::Value {
    row(
        record("capi", &o.event_id),
        json!({
            "eid": o.event_id,
            "lead": lead,
            "name": o.name.as_str(),
            "at": o.at.timestamp(),
            "body": event.to_string(),
            "state": PENDING,
            "tries": 0,
            "next": 0,
            "until": 0,
        }),
    )
}

/// Queues `rows` (from [`row_of`]) outside a batch, 1000 to a statement;
/// events already in the outbox stay as they are.
pub async fn queue(db: &Db, rows: Vec<surrealdb::types::Value>) -> Result<(), AppError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(1000).collect();
        db.query("INSERT IGNORE INTO capi $rows RETURN NONE;")
            .bind(("rows", chunk))
            .await
            .map_err(db_error)?
            .check()
            .map_err(db_error)?;
    }
    Ok(())
}

/// One claimed event.
#[derive(Clone, Debug, Deserialize)]
pub struct Claimed {
    pub eid: String,
    pub lead: String,
    /// The event as Meta takes it (JSON text).
    pub body: String,
    #[serde(default)]
    pub tries: u32,
}

/// Claims at most `max` due events for `me` until `until` (Unix seconds):
/// one transaction that reads them and writes the claim, so two senders
/// that race for the same rows conflict and one of them gets nothing.
pub async fn claim(
    db: &Db,
    me: &str,
    now: i64,
    until: i64,
    max: usize,
) -> Result<Vec<Claimed>, AppError> {
    let res = db
        .query(
            "BEGIN; \
             LET $due = (SELECT VALUE id FROM capi WHERE state = 'pending' AND next <= $now AND until <= $now LIMIT $max); \
             UPDATE $due SET claim = $me, until = $until WHERE state = 'pending' AND until <= $now RETURN eid, lead, body, tries; \
             COMMIT;",
        )
        .bind(("now", now))
        .bind(("until", until))
        .bind(("me", me.to_owned()))
        .bind(("max", max as i64))
        .await;
    let mut res = match res {
        Ok(r) => r,
        Err(e) if is_retryable(&e) => return Ok(Vec::new()),
        Err(e) => return Err(db_error(e)),
    };
    // Results: BEGIN, LET, UPDATE, COMMIT.
    let claimed: Result<Vec<Value>, _> = res.take(2);
    let claimed = match claimed {
        Ok(c) => c,
        // Lost the race to another sender: nothing claimed this time.
        Err(e) if is_retryable(&e) => return Ok(Vec::new()),
        Err(e) => return Err(db_error(e)),
    };
    Ok(claimed
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// What became of posted events.
pub enum Done<'a> {
    Sent {
        received: Option<i64>,
        trace: Option<&'a str>,
    },
    Rejected {
        message: &'a str,
        subcode: Option<i64>,
        trace: Option<&'a str>,
    },
    /// Still pending: tried again at `next`.
    Retry { next: i64, why: &'a str },
}

/// Records what became of the events `ids`; returns their leads.
pub async fn finish(
    db: &Db,
    ids: &[String],
    now: i64,
    done: Done<'_>,
) -> Result<Vec<String>, AppError> {
    let rids: Vec<_> = ids.iter().map(|i| record("capi", i)).collect();
    let q = match done {
        Done::Sent { received, trace } => db
            .query(
                "UPDATE $ids SET state = 'sent', done_at = $now, received = $received, trace = $trace, \
                 claim = NONE, until = 0, error = NONE WHERE state = 'pending' RETURN VALUE lead;",
            )
            .bind(("received", received))
            .bind(("trace", trace.map(str::to_owned))),
        Done::Rejected {
            message,
            subcode,
            trace,
        } => db
            .query(
                "UPDATE $ids SET state = 'rejected', done_at = $now, error = $message, subcode = $subcode, \
                 trace = $trace, claim = NONE, until = 0 WHERE state = 'pending' RETURN VALUE lead;",
            )
            .bind(("message", message.to_owned()))
            .bind(("subcode", subcode))
            .bind(("trace", trace.map(str::to_owned))),
        Done::Retry { next, why } => db
            .query(
                "UPDATE $ids SET tries += 1, next = $next, error = $why, claim = NONE, until = 0 \
                 WHERE state = 'pending' RETURN VALUE lead;",
            )
            .bind(("next", next))
            .bind(("why", why.to_owned())),
    };
    let mut res = q
        .bind(("ids", rids))
        .bind(("now", now))
        .await
        .map_err(db_error)?;
    let leads: Vec<String> = res.take(0).map_err(db_error)?;
    Ok(leads)
}

/// The states of every event of each of `leads`: (lead, state).
pub async fn states_of(db: &Db, leads: &[String]) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    for chunk in leads.chunks(100) {
        let mut sql = String::new();
        for i in 0..chunk.len() {
            sql.push_str(&format!("SELECT lead, state FROM capi WHERE lead = $l{i};"));
        }
        let mut q = db.query(sql);
        for (i, l) in chunk.iter().enumerate() {
            q = q.bind((format!("l{i}"), l.clone()));
        }
        let mut res = q.await.map_err(db_error)?;
        for i in 0..chunk.len() {
            let rows: Vec<Value> = res.take(i).map_err(db_error)?;
            out.extend(pairs(rows));
        }
    }
    Ok(out)
}

fn pairs(rows: Vec<Value>) -> impl Iterator<Item = (String, String)> {
    rows.into_iter().filter_map(|r| {
        Some((
            r["lead"].as_str()?.to_owned(),
            r["state"].as_str()?.to_owned(),
        ))
    })
}

/// The lead of every outbox row any process queues or changes from now on
/// (a claim, a send, a rejection; [`super::db::live`]); the stream ends
/// with the connection.
pub async fn watch(db: &Db) -> Result<LeadChanges, AppError> {
    use futures::StreamExt;
    let rows = super::db::live(db, "LIVE SELECT lead FROM capi").await?;
    Ok(rows
        .map(|row| {
            row?["lead"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| AppError::Internal("an outbox row without its lead".into()))
        })
        .boxed())
}

/// Leads whose outbox rows changed, as they arrive ([`watch`]).
pub type LeadChanges = futures::stream::BoxStream<'static, Result<String, AppError>>;

/// Every event's lead and state (the lead index is marked with them at start).
pub async fn all_states(db: &Db) -> Result<Vec<(String, String)>, AppError> {
    let mut res = db
        .query("SELECT lead, state FROM capi;")
        .await
        .map_err(db_error)?;
    let rows: Vec<Value> = res.take(0).map_err(db_error)?;
    Ok(pairs(rows).collect())
}

/// A stored event as a lead's detail shows it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Stored {
    pub eid: String,
    pub state: String,
    #[serde(default)]
    pub done_at: Option<i64>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub subcode: Option<i64>,
    #[serde(default)]
    pub received: Option<i64>,
    #[serde(default)]
    pub trace: Option<String>,
    #[serde(default)]
    pub tries: u32,
}

/// The stored events among `ids`.
pub async fn get(db: &Db, ids: &[String]) -> Result<Vec<Stored>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rids: Vec<_> = ids.iter().map(|i| record("capi", i)).collect();
    let mut res = db
        .query("SELECT eid, state, done_at, error, subcode, received, trace, tries FROM $ids;")
        .bind(("ids", rids))
        .await
        .map_err(db_error)?;
    let rows: Vec<Value> = res.take(0).map_err(db_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// The leads with an event named `name` in the outbox, queued under any id.
pub async fn leads_with(db: &Db, name: &str) -> Result<HashSet<String>, AppError> {
    let mut res = db
        .query("SELECT VALUE lead FROM capi WHERE name = $n;")
        .bind(("n", name.to_owned()))
        .await
        .map_err(db_error)?;
    let leads: Vec<String> = res.take(0).map_err(db_error)?;
    Ok(leads.into_iter().collect())
}

/// `lead`'s stored event named `name`, under whatever id it was queued.
pub async fn named(db: &Db, lead: &str, name: &str) -> Result<Option<Stored>, AppError> {
    let mut res = db
        .query(
            "SELECT eid, state, done_at, error, subcode, received, trace, tries FROM capi \
             WHERE lead = $l AND name = $n LIMIT 1;",
        )
        .bind(("l", lead.to_owned()))
        .bind(("n", name.to_owned()))
        .await
        .map_err(db_error)?;
    let rows: Vec<Value> = res.take(0).map_err(db_error)?;
    Ok(rows
        .into_iter()
        .find_map(|v| serde_json::from_value(v).ok()))
}

/// How many events are in each state.
pub async fn counts(db: &Db) -> Result<Vec<(String, u64)>, AppError> {
    let mut res = db
        .query("SELECT state, count() AS n FROM capi GROUP BY state;")
        .await
        .map_err(db_error)?;
    let rows: Vec<Value> = res.take(0).map_err(db_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r["state"].as_str()?.to_owned(), r["n"].as_u64()?)))
        .collect())
}

/// The sender's last success and last error, shared by every instance.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
pub struct Health {
    #[serde(default)]
    pub last_success: Option<i64>,
    #[serde(default)]
    pub last_error_at: Option<i64>,
    #[serde(default)]
    pub last_error: Option<String>,
}

pub async fn health(db: &Db) -> Result<Health, AppError> {
    let mut res = db
        .query("SELECT last_success, last_error_at, last_error FROM meta:capi;")
        .await
        .map_err(db_error)?;
    let rows: Vec<Value> = res.take(0).map_err(db_error)?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// Notes a success (`error: None`) or an error at `now`.
pub async fn note(db: &Db, now: i64, error: Option<&str>) -> Result<(), AppError> {
    let q = match error {
        None => db
            .query("UPSERT meta:capi SET last_success = $now RETURN NONE;")
            .bind(("now", now)),
        Some(e) => db
            .query("UPSERT meta:capi SET last_error_at = $now, last_error = $e RETURN NONE;")
            .bind(("now", now))
            .bind(("e", e.to_owned())),
    };
    q.await.map_err(db_error)?.check().map_err(db_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::domain::event::test_batch as batch;
    use crate::ssr::store::{batch as store_batch, db};

    /// A commit that makes an outcome known queues it; a claim takes it
    /// once; what became of it is recorded.
    #[tokio::test]
    async fn queued_in_the_commit_claimed_once_and_finished() {
        let db = db::connect("mem://", None, None, None).await.expect("db");
        let terms = OutboxTerms {
            terms: Terms::default(),
            currency: "IDR".into(),
        };
        let at = chrono::Utc::now() - chrono::Duration::hours(1);
        let t = |m: i64| (at + chrono::Duration::minutes(m)).to_rfc3339();
        let events = batch(json!([
            {"id": "m1", "occurred_at": t(0), "channel": "whatsapp", "direction": "inbound",
             "contact": {"phone": "+6281234567890"}, "ctwa_clid": "CL", "meta_account_id": "W",
             "source": {"platform": "meta", "type": "ad", "id": "A"}},
            {"id": "p1", "kind": "conversion", "occurred_at": t(5), "contact": {"phone": "+6281234567890"},
             "conversion": {"type": "purchase", "value": 1000, "currency": "IDR"}},
        ]));
        let stored = store_batch::store(&db, &events, Some(&terms))
            .await
            .expect("stored");
        assert_eq!(stored.queued, vec!["+6281234567890".to_owned()]);
        let now = chrono::Utc::now().timestamp();
        let c = claim(&db, "a", now, now + 60, 10).await.expect("claim");
        assert_eq!(c.len(), 1);
        assert!(c[0].body.contains("\"Purchase\""));
        assert!(
            claim(&db, "b", now, now + 60, 10)
                .await
                .expect("claim")
                .is_empty()
        );
        let leads = finish(
            &db,
            &[c[0].eid.clone()],
            now,
            Done::Sent {
                received: Some(1),
                trace: Some("T"),
            },
        )
        .await
        .expect("finish");
        assert_eq!(leads, vec!["+6281234567890".to_owned()]);
        assert_eq!(
            states_of(&db, &leads).await.expect("states"),
            vec![("+6281234567890".to_owned(), SENT.to_owned())]
        );
        assert_eq!(
            counts(&db).await.expect("counts"),
            vec![(SENT.to_owned(), 1)]
        );
    }
}
