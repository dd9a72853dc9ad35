//! Reading contacts back: every state (what the lead index is built from),
//! a contact's history in windows, an alias's contact, every event (for
//! recomputation checks), and watching committed changes. Writing them is
//! [`super::batch`].

use std::collections::HashMap;
use std::ops::Bound;

use surrealdb::types::{SurrealValue, Value};

use super::batch::PAGE;
use super::db::{Db, db_error, record};
use crate::error::AppError;
use crate::ssr::domain::event::Event;
use crate::ssr::domain::rules::ContactState;

/// A stored contact state: a JSON string (schema 2) or an object (schema 1).
pub(super) fn parse_state(v: &serde_json::Value) -> Result<ContactState, String> {
    use serde::Deserialize;
    match v {
        serde_json::Value::String(s) => serde_json::from_str(s),
        other => ContactState::deserialize(other),
    }
    .map_err(|e| format!("unreadable contact state: {e}"))
}

/// Every stored contact state, each passed through `map` (the lead index
/// is built from these at start, and again by a follower that lost its
/// change stream). Parsing runs on every core, off the async threads, so a
/// reload while serving delays no request.
pub async fn load_states<T: Send + 'static>(
    db: &Db,
    map: impl Fn(ContactState) -> Option<T> + Send + Sync + Copy + 'static,
) -> Result<(usize, Vec<T>), AppError> {
    let mut out = Vec::new();
    let n = load_states_each(db, map, |part| out.extend(part)).await?;
    Ok((n, out))
}

/// The same, handing `each` a chunk's results at a time, so that the
/// caller need not hold them all (the lead index is built this way at
/// start). How many states there were.
pub async fn load_states_each<T: Send + 'static>(
    db: &Db,
    map: impl Fn(ContactState) -> Option<T> + Send + Sync + Copy + 'static,
    mut each: impl FnMut(Vec<T>),
) -> Result<usize, AppError> {
    // The keys first, then the states a chunk at a time as ranges of keys
    // between them: one query for every state held them all as JSON at
    // once, and at a million contacts that alone passed a 1 GiB limit (the
    // bench's restart); reading each chunk by its keys was 20,000 point
    // reads (about twice a range's time). Not `LIMIT`ed pages: SurrealDB
    // reads a range whole before a LIMIT applies. The first range is open
    // below and the last above, so a contact written meanwhile (a
    // follower's reload while serving) is read too.
    let mut res = db
        .query("SELECT VALUE record::id(id) FROM contact")
        .await
        .map_err(db_error)?;
    let keys: Vec<String> = res.take(0).map_err(db_error)?;
    let bounds: Vec<&String> = keys.iter().step_by(LOAD_CHUNK).skip(1).collect();
    let ranges: Vec<(Bound<String>, Bound<String>)> = (0..=bounds.len())
        .map(|i| {
            let start = match i {
                0 => Bound::Unbounded,
                _ => Bound::Included(bounds[i - 1].clone()),
            };
            let end = bounds
                .get(i)
                .map_or(Bound::Unbounded, |b| Bound::Excluded((*b).clone()));
            (start, end)
        })
        .collect();
    drop(keys);
    // The next range is read while this one is parsed and handed on.
    let fetch = |range: (Bound<String>, Bound<String>)| {
        let db = db.clone();
        tokio::spawn(async move { states_between(&db, range).await })
    };
    let failed = || AppError::Internal("a loader task failed".into());
    let mut ranges = ranges.into_iter();
    let mut next = ranges.next().map(fetch);
    let mut n = 0;
    while let Some(reading) = next {
        let states = reading.await.map_err(|_| failed())??;
        next = ranges.next().map(fetch);
        let (m, part) = tokio::task::spawn_blocking(move || parse_states(states, map))
            .await
            .map_err(|_| failed())??;
        n += m;
        each(part);
    }
    Ok(n)
}

/// The stored states (`null` for an alias's row) of the contacts whose
/// keys are in `range`.
async fn states_between(
    db: &Db,
    (start, end): (Bound<String>, Bound<String>),
) -> Result<Vec<serde_json::Value>, AppError> {
    use surrealdb::types::{RecordId, RecordIdKey, RecordIdKeyRange};
    let key = |b: Bound<String>| b.map(RecordIdKey::String);
    let range = RecordId::new(
        "contact",
        RecordIdKey::Range(Box::new(RecordIdKeyRange {
            start: key(start),
            end: key(end),
        })),
    );
    states_from(db, range.into_value()).await
}

/// Contact states read at once at start: a few megabytes of JSON. (Seven
/// in the unit tests, so their loads cross ranges.)
const LOAD_CHUNK: usize = if cfg!(test) { 7 } else { 20_000 };

fn parse_states<T: Send>(
    states: Vec<serde_json::Value>,
    map: impl Fn(ContactState) -> Option<T> + Sync + Copy,
) -> Result<(usize, Vec<T>), AppError> {
    // An alias's row redirects to its contact and has no state.
    let n = states.iter().filter(|s| !s.is_null()).count();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = n.div_ceil(threads).max(1);
    let parse = |part: &[serde_json::Value]| -> Result<Vec<T>, AppError> {
        let mut out = Vec::with_capacity(part.len());
        for s in part {
            // An alias's row redirects to its contact and has no state.
            if s.is_null() {
                continue;
            }
            out.extend(map(parse_state(s).map_err(AppError::Internal)?));
        }
        Ok(out)
    };
    let parts: Vec<Result<Vec<T>, AppError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = states
            .chunks(chunk)
            .map(|part| scope.spawn(move || parse(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(AppError::Internal("a loader thread failed".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(n);
    for p in parts {
        out.extend(p?);
    }
    Ok((n, out))
}

/// A committed change of one contact row.
#[derive(Debug)]
pub enum ContactChange {
    /// A contact's new state.
    State(ContactState),
    /// The key became an alias of another contact (merged by a tie).
    Gone(String),
}

/// Every contact change committed from now on, by any process on the
/// database ([`super::db::live`]).
pub async fn watch_contacts(db: &Db) -> Result<ContactChanges, AppError> {
    use futures::StreamExt;
    let rows = super::db::live(db, "LIVE SELECT state, into, key FROM contact").await?;
    Ok(rows
        .map(|row| {
            let json = row?;
            if let (Some(_), Some(key)) = (json["into"].as_str(), json["key"].as_str()) {
                return Ok(ContactChange::Gone(key.to_owned()));
            }
            parse_state(&json["state"])
                .map(ContactChange::State)
                .map_err(AppError::Internal)
        })
        .boxed())
}

/// Committed contact changes as they arrive ([`watch_contacts`]).
pub type ContactChanges = futures::stream::BoxStream<'static, Result<ContactChange, AppError>>;

/// The stored events of one contact (its whole history; tests: the
/// detail reads [`contact_history`] windows).
#[cfg(test)]
pub async fn contact_events(db: &Db, key: &str) -> Result<Vec<Event>, AppError> {
    Ok(contact_history(db, key, usize::MAX, None).await?.events)
}

/// A window of a contact's history (in storage order, not time order: the
/// detail sorts it).
pub struct History {
    pub events: Vec<Event>,
    /// Every event the contact has.
    pub total: usize,
    /// The `before` that reads the next older window (`None`: this one
    /// reaches the first event).
    pub older: Option<usize>,
}

/// At least `limit` of a contact's latest stored events (whole pages, so a
/// window may hold up to [`RECENT_MAX`](super::batch::RECENT_MAX) more), or of those stored before
/// page `before` (a window's `older`). New events only append pages, so a
/// `before` keeps naming the same events while they arrive (a merge with
/// another contact lists both contacts' pages anew).
pub async fn contact_history(
    db: &Db,
    key: &str,
    limit: usize,
    before: Option<usize>,
) -> Result<History, AppError> {
    let key = contact_of(db, key).await?.unwrap_or_else(|| key.to_owned());
    let mut res = db
        .query("SELECT events, pages FROM $cid")
        .bind(("cid", record("contact", &key)))
        .await
        .map_err(db_error)?;
    let mut rows: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    let Some(mut row) = rows.pop() else {
        return Ok(History {
            events: Vec::new(),
            total: 0,
            older: None,
        });
    };
    let recent: Vec<String> = serde_json::from_value(row["events"].take()).unwrap_or_default();
    let pages: Vec<String> = serde_json::from_value(row["pages"].take()).unwrap_or_default();
    let total = pages.len() * PAGE + recent.len();
    // Units newest first: the row's own list (unless reading older), then
    // the pages from the last.
    let end = before.unwrap_or(pages.len()).min(pages.len());
    let mut ids: Vec<String> = if before.is_none() { recent } else { Vec::new() };
    let mut first = end;
    while first > 0 && ids.len() < limit {
        let from = first.saturating_sub((limit - ids.len()).div_ceil(PAGE));
        let keys: Vec<_> = pages[from..first]
            .iter()
            .map(|k| record("history", k))
            .collect();
        let mut res = db
            .query("SELECT VALUE events FROM $hids")
            .bind(("hids", keys))
            .await
            .map_err(db_error)?;
        let lists: Vec<Vec<String>> = res.take(0).map_err(db_error)?;
        ids.extend(lists.into_iter().flatten());
        first = from;
    }
    let mut events = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5000) {
        let ids: Vec<_> = chunk.iter().map(|id| record("event", id)).collect();
        let mut res = db
            .query("SELECT ev, event FROM $ids")
            .bind(("ids", ids))
            .await
            .map_err(db_error)?;
        let rows: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
        for r in rows {
            events.push(event_of(r)?);
        }
    }
    Ok(History {
        events,
        total,
        older: (first > 0).then_some(first),
    })
}

/// The stored state of contact `key` (`None`: no such contact).
pub async fn state_of(db: &Db, key: &str) -> Result<Option<ContactState>, AppError> {
    states_from(db, record("contact", key).into_value())
        .await?
        .iter()
        .find(|s| !s.is_null())
        .map(|s| parse_state(s).map_err(AppError::Internal))
        .transpose()
}

/// The stored states, as JSON (null for an alias's row), of the contact
/// records `from` names: one record id, a list of them, or a range.
async fn states_from(db: &Db, from: Value) -> Result<Vec<serde_json::Value>, AppError> {
    let mut res = db
        .query("SELECT VALUE state FROM $from")
        .bind(("from", from))
        .await
        .map_err(db_error)?;
    res.take(0).map_err(db_error)
}

/// The contact key an alias key redirects to (`None`: not an alias).
pub async fn contact_of(db: &Db, key: &str) -> Result<Option<String>, AppError> {
    let mut res = db
        .query("SELECT VALUE into FROM $cid")
        .bind(("cid", record("contact", key)))
        .await
        .map_err(db_error)?;
    let into: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    Ok(into.into_iter().find_map(|v| v.as_str().map(str::to_owned)))
}

pub(super) fn event_of(mut r: serde_json::Value) -> Result<Event, AppError> {
    match r.get_mut("ev").map(serde_json::Value::take) {
        Some(serde_json::Value::String(s)) => serde_json::from_str(&s),
        _ => serde_json::from_value(
            r.get_mut("event")
                .map(serde_json::Value::take)
                .unwrap_or_default(),
        ),
    }
    .map_err(|e| AppError::Internal(format!("unreadable event: {e}")))
}

/// Every stored event, grouped by contact: the events of tied identifiers
/// together, under the group's key (recomputation checks).
pub async fn load_events(db: &Db) -> Result<HashMap<String, Vec<Event>>, AppError> {
    let mut res = db
        .query("SELECT ev, event FROM event")
        .await
        .map_err(db_error)?;
    let rows: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    let events = rows
        .into_iter()
        .map(event_of)
        .collect::<Result<Vec<Event>, AppError>>()?;
    Ok(crate::ssr::domain::identity::by_contact(events))
}
