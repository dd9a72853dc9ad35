//! Storing a batch of events: one database transaction. (Reading and
//! watching contacts is [`super::contacts`].)
//!
//! The transaction reads the states of its contacts with the ids of their
//! events (which tell which events are stored already), folds the new
//! events in with the pure rules, and writes new events, new contacts and
//! updated contacts, meeting no duplicate key inside the transaction (on
//! RocksDB every duplicate costs a savepoint rollback that rebuilds the
//! transaction's write index).
//!
//! Inside one process the `Leads` service gives each contact to one writer
//! task, so requests never conflict with each other. Two *processes* on
//! one database server still can: the loser of a write conflict at commit
//! runs again from a fresh read. A success is returned only after the
//! commit, which on RocksDB waits for the write-ahead log to be synced.
//!
//! Rows are compact and nothing is indexed: an event is its validated form
//! as one JSON string; a contact is its rules state as one JSON string plus
//! the ids of its latest events (at most [`RECENT_MAX`]) and the keys of
//! `history` rows holding the older ids in pages of [`PAGE`], so a write to
//! a chatty contact costs the same as to a new one (its history is for the
//! lead detail). Every read of leads is served by the in-memory lead index.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;
use surrealdb::types::{RecordId, SurrealValue, Value};

use super::contacts::{event_of, parse_state};
use super::db::{Db, backoff, db_error, is_duplicate, is_retryable, record, row};
use super::engine::Tx;
use super::outbox::{self, OutboxTerms};
use crate::error::AppError;
use crate::ssr::domain::capi::EventName;
use crate::ssr::domain::copies::join;
use crate::ssr::domain::event::Event;
use crate::ssr::domain::identity::{CLICK, Groups};
use crate::ssr::domain::rules::ContactState;

/// Marks a planned LeadSubmitted among planned event ids (no event id
/// looks like it: they are hex digests with a prefix).
const LEAD_SUBMITTED: &str = "LeadSubmitted";

/// How often a batch that lost a write conflict to another process is run again.
const MAX_ATTEMPTS: u32 = 12;

/// What one stored batch did.
#[derive(Debug, Default, PartialEq)]
pub struct Stored {
    /// For each event given (in order): `true` when this batch stored it,
    /// `false` when it was already stored (or repeated earlier in the batch).
    pub new: Vec<bool>,
    /// The committed states of the contacts this batch changed.
    pub changed: Vec<ContactState>,
    /// Contact keys merged into another contact by a tie: no longer leads.
    pub gone: Vec<String>,
    /// Leads this batch queued Conversions API events for.
    pub queued: Vec<String>,
}

#[cfg(test)]
impl Stored {
    /// How many events this batch stored (the writers count per part).
    pub fn accepted(&self) -> usize {
        self.new.iter().filter(|n| **n).count()
    }
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
pub async fn store(
    db: &Db,
    events: &[Event],
    outbox: Option<&OutboxTerms>,
) -> Result<Stored, AppError> {
    // Copies of one id inside the batch are one event (`copies::join`,
    // so the batch's order does not matter), counted at the first.
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut joined: Vec<Cow<'_, Event>> = Vec::with_capacity(events.len());
    let mut first = Vec::with_capacity(events.len());
    for e in events {
        match at.get(e.id.as_str()) {
            Some(&i) => {
                if let Some(j) = join(&joined[i], e).filter(|j| *j != *joined[i]) {
                    joined[i] = Cow::Owned(j);
                }
                first.push(false);
            }
            None => {
                at.insert(e.id.as_str(), joined.len());
                joined.push(Cow::Borrowed(e));
                first.push(true);
            }
        }
    }
    let unique: Vec<&Event> = joined.iter().map(|e| e.as_ref()).collect();
    let mut attempt = 0;
    let mut check = Check::Contacts;
    loop {
        attempt += 1;
        match try_store(db, &unique, check, outbox).await {
            Ok((stored_ids, changed, gone, queued)) => {
                let new = events
                    .iter()
                    .zip(&first)
                    .map(|(e, f)| *f && stored_ids.contains(e.id.as_str()))
                    .collect();
                return Ok(Stored {
                    new,
                    changed,
                    gone,
                    queued,
                });
            }
            // An event id stored under another contact: the insert met it.
            Err(TxError::Db(e)) if matches!(check, Check::Contacts) && is_duplicate(&e) => {
                check = Check::Global;
            }
            Err(TxError::Db(e)) if is_retryable(&e) && attempt < MAX_ATTEMPTS => {
                tracing::debug!(attempt, "a batch lost a write conflict; running it again");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(TxError::Db(e)) => return Err(db_error(e)),
            Err(TxError::Corrupt(m)) => return Err(AppError::Internal(m)),
        }
    }
}

/// How a batch learns which of its events are stored already.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// From its contacts' lists of event ids, which it reads anyway: a
    /// repeated delivery names the same contact. An id stored under another
    /// contact makes the event insert fail; the batch then runs again with
    /// `Global`. (Saves a keyed read of every event: a tenth of ingest.)
    Contacts,
    /// A keyed read of every event id.
    Global,
}

async fn try_store(
    db: &Db,
    events: &[&Event],
    check: Check,
    outbox: Option<&OutboxTerms>,
) -> Result<Written, TxError> {
    let t0 = std::time::Instant::now();
    let tx = db.clone().begin().await?;
    match write(&tx, events, check, outbox).await {
        Ok(Some(result)) => {
            let t1 = std::time::Instant::now();
            tx.commit().await?;
            tracing::debug!(
                target: "leads::writer",
                events = events.len(),
                ?check,
                write_ms = (t1 - t0).as_secs_f64() * 1e3,
                commit_ms = t1.elapsed().as_secs_f64() * 1e3,
                "committed"
            );
            Ok(result)
        }
        Ok(None) => {
            let _ = tx.cancel().await;
            Ok((HashSet::new(), Vec::new(), Vec::new(), Vec::new()))
        }
        Err(e) => {
            let _ = tx.cancel().await;
            Err(e)
        }
    }
}

/// What a batch's transaction wrote: the ids of the events it stored, the
/// committed states of the contacts it changed, and the contact keys that
/// stopped being contacts of their own (merged into another by a tie), and
/// the leads it queued Conversions API events for.
type Written = (HashSet<String>, Vec<ContactState>, Vec<String>, Vec<String>);

/// A stored contact row: a contact's state with its latest events' ids and
/// its history pages, or a redirect of an alias key to its contact's key.
enum Row {
    State(ContactState, Vec<String>, Vec<String>),
    Into(String),
}

/// The most event ids a contact row lists itself. Beyond it the oldest
/// [`PAGE`] move to a `history` row, so every write reads and writes at
/// most this many ids whatever the contact's history. A repeat of an event
/// older than the list is caught by the event insert (`Check::Global`).
pub const RECENT_MAX: usize = 512;
/// Event ids in one `history` row.
pub const PAGE: usize = 256;

/// A contact's latest ids after `ids` grew: the oldest [`PAGE`]s moved to
/// history pages while more than [`RECENT_MAX`] are listed. Each page is
/// keyed by its first event id, so a transaction that runs again writes the
/// same rows.
fn spill(root: &str, ids: &mut Vec<String>, pages: &mut Vec<String>) -> Vec<Value> {
    let mut rows = Vec::new();
    while ids.len() > RECENT_MAX {
        let page: Vec<String> = ids.drain(..PAGE).collect();
        let key = format!("{root}#{}", page[0]);
        rows.push(row(record("history", &key), json!({ "events": page })));
        pages.push(key);
    }
    rows
}

/// Reads the rows of `keys` (absent keys are left out).
async fn read_rows(tx: &Tx, keys: &[&str]) -> Result<Vec<(String, Row)>, TxError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let contact_ids: Vec<_> = keys.iter().map(|k| record("contact", k)).collect();
    let mut res = tx
        .query("SELECT state, events, pages, into, key FROM $cids;")
        .bind(("cids", contact_ids))
        .await?;
    let stored: Vec<serde_json::Value> = res.take(0)?;
    stored
        .into_iter()
        .map(|mut s| {
            if let (Some(into), Some(key)) = (s["into"].as_str(), s["key"].as_str()) {
                return Ok((key.to_owned(), Row::Into(into.to_owned())));
            }
            let ids: Vec<String> = serde_json::from_value(s["events"].take()).unwrap_or_default();
            let pages: Vec<String> = serde_json::from_value(s["pages"].take()).unwrap_or_default();
            let state = parse_state(&s["state"]).map_err(TxError::Corrupt)?;
            Ok((state.key.clone(), Row::State(state, ids, pages)))
        })
        .collect()
}

/// Everything inside the transaction. `None`: nothing new, nothing written.
///
/// Identifiers that events tie together are one contact (the smallest key
/// of the group, `identity::Groups`): its row holds the state folded over
/// the events of every alias, each alias's row redirects to it. A tie that
/// meets two contacts merges their states (`ContactState::absorb`) and
/// lists the merged-away keys as gone. Every row of a group that changes
/// is written, so a concurrent batch touching any of its keys conflicts
/// and runs again (in this process or another).
async fn write(
    tx: &Tx,
    events: &[&Event],
    check: Check,
    outbox: Option<&OutboxTerms>,
) -> Result<Option<Written>, TxError> {
    let mut named: Vec<&str> = events
        .iter()
        .flat_map(|e| {
            std::iter::once(e.contact_key.as_str()).chain(e.aliases.iter().map(String::as_str))
        })
        .collect();
    named.sort_unstable();
    named.dedup();
    let mut rows: BTreeMap<String, Row> = read_rows(tx, &named).await?.into_iter().collect();
    // Redirects point at their contact's row: read those too (one hop: a
    // redirect is rewritten whenever its contact's key changes).
    let roots: Vec<String> = rows
        .values()
        .filter_map(|r| match r {
            Row::Into(k) if !rows.contains_key(k) => Some(k.clone()),
            _ => None,
        })
        .collect();
    let roots: Vec<&str> = roots.iter().map(String::as_str).collect();
    rows.extend(read_rows(tx, &roots).await?);
    let claimed = claim_clicks(&rows, events);
    let events: Vec<&Event> = claimed.iter().map(|e| e.as_ref()).collect();
    let events = events.as_slice();

    let existing: HashSet<String> = match check {
        Check::Contacts => {
            let batch: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
            rows.values()
                .flat_map(|r| match r {
                    Row::State(_, ids, _) => ids.as_slice(),
                    Row::Into(_) => &[],
                })
                .filter(|id| batch.contains(id.as_str()))
                .cloned()
                .collect()
        }
        Check::Global => {
            let event_ids: Vec<_> = events.iter().map(|e| record("event", &e.id)).collect();
            let mut res = tx
                .query("SELECT VALUE record::id(id) FROM $eids;")
                .bind(("eids", event_ids))
                .await?;
            res.take::<Vec<String>>(0)?.into_iter().collect()
        }
    };
    let new_events: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| !existing.contains(&e.id))
        .collect();
    let (rejoined, refold_ids) = rejoin(tx, events, &existing).await?;
    if new_events.is_empty() && rejoined.is_empty() {
        return Ok(None);
    }

    // The groups: what is stored, and what the new events tie.
    let mut groups = stored_groups(&rows);
    // A joined copy ties what either copy ties, as a new event does.
    for e in new_events.iter().copied().chain(rejoined.values()) {
        groups.add(&e.contact_key);
        for a in &e.aliases {
            groups.tie(&e.contact_key, a);
        }
    }
    let mut by_root: BTreeMap<String, Vec<&Event>> = BTreeMap::new();
    for e in &new_events {
        by_root
            .entry(groups.root(&e.contact_key))
            .or_default()
            .push(e);
    }
    // Contacts with a joined copy that changes what the rules read are
    // folded again from their events.
    let mut refold_roots = HashSet::new();
    for e in rejoined.values().filter(|e| refold_ids.contains(&e.id)) {
        let root = groups.root(&e.contact_key);
        by_root.entry(root.clone()).or_default();
        refold_roots.insert(root);
    }
    let members = groups.all();

    let mut event_rows = Vec::with_capacity(new_events.len());
    for e in &new_events {
        event_rows.push(event_row(e).map_err(TxError::Corrupt)?);
    }
    let mut inserts = Vec::new();
    // Existing contacts: (id, state, event ids, history pages).
    let mut updates: Vec<(RecordId, String, Vec<String>, Vec<String>)> = Vec::new();
    // Rows written whole (merges, redirects): rare.
    let mut replaced: Vec<(RecordId, serde_json::Value)> = Vec::new();
    let mut changed = Vec::new();
    let mut gone = Vec::new();
    // Merged contacts' Conversions API rows move to the contact they joined.
    let mut moved: Vec<(String, Vec<String>)> = Vec::new();
    let mut history = Vec::new();
    // Conversions API events this batch makes known (written in its commit).
    let mut capi_rows = Vec::new();
    let mut queued = Vec::new();
    // The ids planned, plus "LS" when a LeadSubmitted is among them: it is
    // sent once per lead (`meta-capi.md`), and its id is made of the
    // lead's click, which a late, earlier click (or a merge) can change.
    let planned_ids = |state: &ContactState, t: &OutboxTerms| -> HashSet<String> {
        outbox::planned(state, t, None)
            .into_iter()
            .flat_map(|(o, _)| {
                let ls = (o.name == EventName::LeadSubmitted).then(|| LEAD_SUBMITTED.to_owned());
                std::iter::once(o.event_id).chain(ls)
            })
            .collect()
    };
    // Only groups this batch added events to are written.
    for (root, group_events) in by_root {
        let group: Vec<&String> = members
            .get(&root)
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        // A group whose stored contact already lists every member changes
        // only that contact's row (the common case for a phone that comes
        // with its user id on every message).
        let settled = matches!(rows.get(&root), Some(Row::State(st, _, _))
            if group.iter().all(|m| **m == root || st.aliases.contains(m)));
        let simple = group.len() <= 1 || settled;
        let (mut state, mut ids, mut pages, existed) = if simple {
            match rows.remove(&root) {
                Some(Row::State(state, ids, pages)) => (state, ids, pages, true),
                _ => (ContactState::new(&root), Vec::new(), Vec::new(), false),
            }
        } else {
            // Fold every stored contact of the group into one.
            let mut state = ContactState::new(&root);
            let mut ids = Vec::new();
            let mut pages = Vec::new();
            let mut merged = Vec::new();
            for m in &group {
                if let Some(Row::State(old, old_ids, old_pages)) = rows.get(*m) {
                    state.absorb(old);
                    ids.extend(old_ids.iter().cloned());
                    pages.extend(old_pages.iter().cloned());
                    if **m != root {
                        merged.push((*m).clone());
                    }
                }
            }
            if !merged.is_empty() {
                gone.extend(merged.iter().cloned());
                moved.push((root.clone(), merged));
            }
            state.rekey(&root);
            state.aliases = group
                .iter()
                .filter(|m| ***m != root)
                .map(|m| (*m).clone())
                .collect();
            (state, ids, pages, false)
        };
        // What was planned before: the events of the stored states.
        let before: HashSet<String> = match outbox {
            Some(t) if simple => planned_ids(&state, t),
            Some(t) => group
                .iter()
                .filter_map(|m| match rows.get(*m) {
                    Some(Row::State(old, _, _)) => Some(planned_ids(old, t)),
                    _ => None,
                })
                .flatten()
                .collect(),
            None => HashSet::new(),
        };
        // The stored Date (not known for a merge: its members' differ).
        let date_before = if simple { state.date() } else { None };
        if refold_roots.contains(&root) {
            state = refold(tx, &state, &ids, &pages, &rejoined, &[]).await?;
        }
        for e in &group_events {
            state.apply(e);
        }
        // A contact of hundreds of messages or conversions whose Date moved
        // back past what its state left out: folded again, in order.
        if state.may_lack_kept(date_before) {
            state = refold(tx, &state, &ids, &pages, &rejoined, &group_events).await?;
        }
        ids.extend(group_events.iter().map(|e| e.id.clone()));
        history.extend(spill(&root, &mut ids, &mut pages));
        if let Some(t) = outbox {
            let mut any = false;
            for (o, ev) in outbox::planned(&state, t, None) {
                let again = o.name == EventName::LeadSubmitted && before.contains(LEAD_SUBMITTED);
                if !before.contains(&o.event_id) && !again {
                    capi_rows.push(outbox::row_of(&root, &o, &ev));
                    any = true;
                }
            }
            if any {
                queued.push(root.clone());
            }
        }
        let text = serde_json::to_string(&state).map_err(|e| TxError::Corrupt(e.to_string()))?;
        if simple && existed {
            updates.push((record("contact", &root), text, ids, pages));
        } else if simple {
            let fields = json!({ "state": text, "events": ids, "pages": pages });
            inserts.push(row(record("contact", &root), fields));
        } else {
            let fields = json!({ "state": text, "events": ids, "pages": pages });
            replaced.push((record("contact", &root), fields));
            for m in &group {
                let already = matches!(rows.get(*m), Some(Row::Into(r)) if *r == root);
                if **m != root && !already {
                    replaced.push((record("contact", m), json!({ "into": root, "key": m })));
                }
            }
        }
        changed.push(state);
    }
    // One UPDATE per existing contact, each with parameters of its own:
    // SurrealDB copies a parameter's whole value at every use, so one
    // object keyed by contact for a group of updates cost every record a
    // copy of the group's fields, three times (at 100k leads, groups of 32
    // gave 10,200 purchases/s in the in-process speed test, one statement
    // a contact 11,350, both the mean of three noisy runs; a FOR loop of
    // single UPDATEs cost 3x more per record).
    let mut sql = String::from(
        "INSERT INTO event $events RETURN NONE; INSERT INTO contact $inserts RETURN NONE;",
    );
    for i in 0..updates.len() {
        sql.push_str(&format!(
            " UPDATE $c{i} SET state = $s{i}, events = $e{i}, pages = $p{i} RETURN NONE;"
        ));
    }
    for i in 0..replaced.len() {
        sql.push_str(&format!(" UPSERT $rid{i} CONTENT $row{i} RETURN NONE;"));
    }
    if !history.is_empty() {
        sql.push_str(" INSERT INTO history $history RETURN NONE;");
    }
    for i in 0..moved.len() {
        sql.push_str(&format!(
            " UPDATE capi SET lead = $mroot{i} WHERE lead IN $mgone{i} RETURN NONE;"
        ));
    }
    let mut copies = Vec::with_capacity(rejoined.len());
    for (i, e) in rejoined.values().enumerate() {
        sql.push_str(&format!(" UPDATE $eid{i} SET ev = $ev{i} RETURN NONE;"));
        let text = serde_json::to_string(e).map_err(|e| TxError::Corrupt(e.to_string()))?;
        copies.push((record("event", &e.id), text));
    }
    if !capi_rows.is_empty() {
        // IGNORE: an event already in the outbox (sent, or queued by a
        // merged contact) stays as it is.
        sql.push_str(" INSERT IGNORE INTO capi $capi RETURN NONE;");
    }
    let mut query = tx
        .query(sql)
        .bind(("events", event_rows))
        .bind(("inserts", inserts))
        .bind(("history", history))
        .bind(("capi", capi_rows));
    for (i, (id, state, ids, pages)) in updates.into_iter().enumerate() {
        query = query
            .bind((format!("c{i}"), id))
            .bind((format!("s{i}"), state))
            .bind((format!("e{i}"), ids))
            .bind((format!("p{i}"), pages));
    }
    for (i, (rid, content)) in replaced.into_iter().enumerate() {
        query = query
            .bind((format!("rid{i}"), rid))
            .bind((format!("row{i}"), content.into_value()));
    }
    for (i, (root, merged)) in moved.into_iter().enumerate() {
        query = query
            .bind((format!("mroot{i}"), root))
            .bind((format!("mgone{i}"), merged));
    }
    for (i, (rid, text)) in copies.into_iter().enumerate() {
        query = query
            .bind((format!("eid{i}"), rid))
            .bind((format!("ev{i}"), text));
    }
    query.await?.check()?;
    let ids = new_events.iter().map(|e| e.id.clone()).collect();
    Ok(Some((ids, changed, gone, queued)))
}

/// The contacts as the rows read tie them.
fn stored_groups(rows: &BTreeMap<String, Row>) -> Groups {
    let mut groups = Groups::default();
    for (key, row) in rows {
        groups.add(key);
        match row {
            Row::State(state, _, _) => {
                for a in &state.aliases {
                    groups.tie(key, a);
                }
            }
            Row::Into(root) => groups.tie(key, root),
        }
    }
    groups
}

/// The batch's events, each tied only to a click id that is its person's:
/// a click id belongs to the first person who carried it (`outcomes.md`
/// matches Meta's detections "to the lead by its ctwa_clid"), so another
/// person whose message carries the same id (an id reused, or a
/// placeholder copied from Meta's examples) is not tied to it, and two
/// people never become one lead through a click. A click no stored person
/// holds goes to the smallest of the batch's people carrying it. The
/// others keep the click id as theirs for the Conversions API, marked
/// shared (`Event::click_shared`: their events at Meta are named by the
/// click and their own key, so each lead is sent once and no two leads
/// share an event id); Meta's detections of the click go to its owner.
/// (The event is stored without the tie, so `verify` groups it the same
/// way.) Which of two people owns a shared click depends on who
/// came first: a departure from rule 7 for data Meta never sends (its
/// click ids are one per click), since moving a click would split a
/// contact.
fn claim_clicks<'a>(rows: &BTreeMap<String, Row>, events: &[&'a Event]) -> Vec<Cow<'a, Event>> {
    let is_click = |k: &str| k.starts_with(CLICK);
    if !events.iter().any(|e| e.aliases.iter().any(|a| is_click(a))) {
        return events.iter().map(|e| Cow::Borrowed(*e)).collect();
    }
    // The people as stored and as the batch ties them, clicks aside.
    let mut g = stored_groups(rows);
    for e in events {
        g.add(&e.contact_key);
        for a in e.aliases.iter().filter(|a| !is_click(a)) {
            g.tie(&e.contact_key, a);
        }
    }
    // Each click's person: the one holding it in the store (a group whose
    // key is no click), else the smallest claimer.
    let mut owner: BTreeMap<&str, String> = BTreeMap::new();
    for e in events {
        let me = g.root(&e.contact_key);
        for a in e.aliases.iter().filter(|a| is_click(a)) {
            let held = g.root(a);
            let o = owner.entry(a.as_str()).or_insert_with(|| held.clone());
            if o.starts_with('~') || (held.starts_with('~') && me < *o) {
                *o = if held.starts_with('~') {
                    me.clone()
                } else {
                    held
                };
            }
        }
    }
    events
        .iter()
        .map(|e| {
            let me = g.root(&e.contact_key);
            let mine = |a: &String| !is_click(a) || owner.get(a.as_str()) == Some(&me);
            if e.aliases.iter().all(mine) {
                Cow::Borrowed(*e)
            } else {
                let mut e = (*e).clone();
                e.aliases.retain(mine);
                // The click id stays this person's to report to Meta,
                // named apart from the owner's (`AdClick::shared`).
                let theirs = |c: &String| !e.aliases.contains(&format!("{CLICK}{c}"));
                if e.ctwa_clid.as_ref().is_some_and(theirs) {
                    e.click_shared = true;
                }
                Cow::Owned(e)
            }
        })
        .collect()
}

/// The repeats of the batch whose stored copy the new one changes
/// (`copies::join`), joined, by id, and the ids among them whose change
/// the rules read (not only whether the sender was known): a keyed read
/// of the repeats' stored events, so only a batch with repeats pays it.
async fn rejoin(
    tx: &Tx,
    events: &[&Event],
    existing: &HashSet<String>,
) -> Result<(BTreeMap<String, Event>, HashSet<String>), TxError> {
    let repeats: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| existing.contains(&e.id))
        .collect();
    let mut rejoined = BTreeMap::new();
    let mut refold = HashSet::new();
    if repeats.is_empty() {
        return Ok((rejoined, refold));
    }
    let ids: Vec<&str> = repeats.iter().map(|e| e.id.as_str()).collect();
    let stored: HashMap<String, Event> = read_events(tx, &ids)
        .await?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    for e in repeats {
        if let Some(old) = stored.get(&e.id) {
            if let Some(j) = join(old, e).filter(|j| j != old) {
                let mut seen = j.clone();
                seen.sender_known = old.sender_known;
                if seen != *old {
                    refold.insert(e.id.clone());
                }
                rejoined.insert(e.id.clone(), j);
            }
        }
    }
    Ok((rejoined, refold))
}

/// A contact's state folded again from its stored events (those `ids` and
/// `pages` list) and the batch's `new` ones, with the joined copies in
/// place of theirs, in rule 7's order (so the lists keep what the lead
/// needs): the state is always the fold of the stored events, which
/// `verify` and the lead detail read.
async fn refold(
    tx: &Tx,
    old: &ContactState,
    ids: &[String],
    pages: &[String],
    rejoined: &BTreeMap<String, Event>,
    new: &[&Event],
) -> Result<ContactState, TxError> {
    let mut all: Vec<String> = Vec::new();
    if !pages.is_empty() {
        let keys: Vec<_> = pages.iter().map(|k| record("history", k)).collect();
        let mut res = tx
            .query("SELECT VALUE events FROM $hids;")
            .bind(("hids", keys))
            .await?;
        let lists: Vec<Vec<String>> = res.take(0)?;
        all.extend(lists.into_iter().flatten());
    }
    all.extend(ids.iter().cloned());
    let mut events: Vec<Event> = Vec::with_capacity(all.len() + new.len());
    for chunk in all.chunks(5000) {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for e in read_events(tx, &chunk).await? {
            events.push(rejoined.get(&e.id).cloned().unwrap_or(e));
        }
    }
    events.extend(new.iter().map(|e| (*e).clone()));
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let mut state = ContactState::new(&old.key);
    for e in &events {
        state.apply(e);
    }
    state.folded_in_order();
    state.aliases = old.aliases.clone();
    Ok(state)
}

/// The stored events of `ids` (those stored; in no particular order).
async fn read_events(tx: &Tx, ids: &[&str]) -> Result<Vec<Event>, TxError> {
    let keys: Vec<_> = ids.iter().map(|id| record("event", id)).collect();
    let mut res = tx
        .query("SELECT ev, event FROM $ids;")
        .bind(("ids", keys))
        .await?;
    let rows: Vec<serde_json::Value> = res.take(0)?;
    rows.into_iter()
        .map(|r| event_of(r).map_err(|e| TxError::Corrupt(e.to_string())))
        .collect()
}

/// The stored event: the validated event as one string, under its id.
/// (Rows written before also carry `eid` and `contact`, copies of the key
/// and of the event's contact that nothing reads: fewer bytes on disk.)
fn event_row(e: &Event) -> Result<Value, String> {
    let text = serde_json::to_string(e).map_err(|e| e.to_string())?;
    Ok(row(record("event", &e.id), json!({ "ev": text })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::store::contacts::{contact_events, contact_history, load_events, load_states};
    use crate::ssr::store::db;

    use crate::ssr::domain::event::test_batch as batch;

    /// Without the in-process writer, concurrent stores of the same contacts
    /// conflict at commit on the on-disk engine (as two processes on one
    /// database server would); each loser runs again and all succeed. (On
    /// the caches a small server gets.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_stores_on_rocksdb_retry_their_conflicts() {
        let (db, dir) = db::temp_rocksdb("conflict", 256 << 20).await;
        let mut tasks = Vec::new();
        for b in 0..12 {
            let db = db.clone();
            let mut list = Vec::new();
            for c in 0..4 {
                let phone = format!("+62812555000{c}");
                list.push(serde_json::json!({"id": format!("b{b}c{c}"),
                    "occurred_at": format!("2026-11-20T{:02}:00:00Z", 10 + b),
                    "channel": "whatsapp", "direction": "inbound", "contact": {"phone": phone}}));
                list.push(serde_json::json!({"id": format!("b{b}c{c}a"),
                    "occurred_at": format!("2026-11-20T{:02}:30:00Z", 10 + b),
                    "channel": "whatsapp", "direction": "outbound", "sender": "agent",
                    "contact": {"phone": phone}}));
            }
            let events = batch(serde_json::Value::Array(list));
            tasks.push(tokio::spawn(async move { store(&db, &events, None).await }));
        }
        for t in tasks {
            let stored = t.await.expect("task").expect("stored despite conflicts");
            assert_eq!(stored.accepted(), 8);
        }
        let (_, states) = load_states(&db, Some).await.expect("load");
        assert_eq!(states.len(), 4);
        for s in states {
            let lead = s
                .lead(&crate::ssr::domain::rules::Terms::default())
                .expect("lead");
            assert_eq!(lead.date.to_rfc3339(), "2026-11-20T10:00:00+00:00");
            assert_eq!(
                lead.first_touched_at.map(|t| t.to_rfc3339()).as_deref(),
                Some("2026-11-20T10:30:00+00:00")
            );
        }
        db::remove_temp(db, dir).await;
    }

    /// Repeats are found from the contacts' event lists; an id repeated
    /// under another contact is still a repeat (the insert meets it and the
    /// batch runs again with a read of every id), and nothing of it is kept.
    #[tokio::test]
    async fn an_id_repeated_under_another_contact_is_a_repeat() {
        let db = db::connect("mem://", None, None, None).await.expect("db");
        let ev = |id: &str, who: &str| {
            serde_json::json!({"id": id, "occurred_at": "2026-11-20T10:00:00Z", "channel": "web",
            "direction": "inbound", "contact": {"external_id": who}})
        };
        let stored = store(
            &db,
            &batch(serde_json::json!([ev("a", "v1"), ev("b", "v1")])),
            None,
        )
        .await
        .expect("ok");
        assert_eq!(stored.new, vec![true, true]);
        let stored = store(
            &db,
            &batch(serde_json::json!([
                ev("a", "v2"),
                ev("c", "v3"),
                ev("b", "v1")
            ])),
            None,
        )
        .await
        .expect("ok");
        assert_eq!(stored.new, vec![false, true, false]);
        let keys: Vec<String> = stored.changed.iter().map(|s| s.key.clone()).collect();
        assert_eq!(keys, ["web:v3"]);
        let (_, states) = load_states(&db, Some).await.expect("load");
        let mut keys: Vec<String> = states.into_iter().map(|s| s.key).collect();
        keys.sort();
        assert_eq!(keys, ["web:v1", "web:v3"]);
        assert!(
            contact_events(&db, "web:v2")
                .await
                .expect("none")
                .is_empty()
        );
    }

    /// A WhatsApp conversation through Meta's webhook and through Chatwoot:
    /// each message twice, with Chatwoot's times and senders. Any order of
    /// the deliveries (two batches either way, one batch, a copy again)
    /// gives the same lead, and the stored events fold to it (`verify`).
    #[tokio::test]
    async fn copies_from_two_webhooks_give_one_lead_in_any_order() {
        let msg = |id: &str, at: &str, dir: &str, sender: &str, name: Option<&str>, ad: bool| {
            let mut e = serde_json::json!({"id": id, "occurred_at": at, "channel": "whatsapp",
                "direction": dir, "sender": sender, "contact": {"phone": "+6281234567890"}});
            if let Some(n) = name {
                e["contact"]["name"] = n.into();
            }
            if ad {
                e["source"] =
                    serde_json::json!({"platform": "meta", "type": "ad", "id": "120200001"});
            }
            e
        };
        let meta = vec![
            msg(
                "wa:IN",
                "2026-11-20T09:00:00Z",
                "inbound",
                "customer",
                Some("Budi"),
                true,
            ),
            // An automation's reply: Meta's status knows only that it went out.
            msg(
                "wa:AUTO",
                "2026-11-20T09:01:01Z",
                "outbound",
                "agent",
                None,
                false,
            ),
            msg(
                "wa:OUT",
                "2026-11-20T09:05:01Z",
                "outbound",
                "agent",
                None,
                false,
            ),
        ];
        let chatwoot = vec![
            msg(
                "wa:IN",
                "2026-11-20T09:00:02Z",
                "inbound",
                "customer",
                Some("Budi S"),
                false,
            ),
            msg(
                "wa:AUTO",
                "2026-11-20T09:01:00Z",
                "outbound",
                "system",
                None,
                false,
            ),
            msg(
                "wa:OUT",
                "2026-11-20T09:05:00Z",
                "outbound",
                "agent",
                None,
                false,
            ),
        ];
        let both = |a: &[serde_json::Value], b: &[serde_json::Value]| {
            a.iter()
                .zip(b)
                .flat_map(|(x, y)| [x.clone(), y.clone()])
                .collect::<Vec<_>>()
        };
        let orders: Vec<Vec<Vec<serde_json::Value>>> = vec![
            vec![meta.clone(), chatwoot.clone()],
            vec![chatwoot.clone(), meta.clone()],
            vec![both(&meta, &chatwoot)],
            vec![both(&chatwoot, &meta)],
            vec![meta.clone(), chatwoot.clone(), meta.clone()],
            vec![chatwoot.clone(), meta.clone(), chatwoot.clone()],
        ];
        let terms = crate::ssr::domain::rules::Terms::default();
        let mut leads = Vec::new();
        for batches in orders {
            let db = db::connect("mem://", None, None, None).await.expect("db");
            for (i, b) in batches.into_iter().enumerate() {
                let stored = store(&db, &batch(serde_json::Value::Array(b)), None)
                    .await
                    .expect("stored");
                assert_eq!(stored.accepted(), if i == 0 { 3 } else { 0 });
            }
            let (_, states) = load_states(&db, Some).await.expect("load");
            assert_eq!(states.len(), 1);
            let lead = states[0].lead(&terms).expect("a lead");
            let mut again = ContactState::new(&states[0].key);
            for e in contact_events(&db, &states[0].key).await.expect("events") {
                again.apply(&e);
            }
            assert_eq!(again.lead(&terms).as_ref(), Some(&lead), "verify");
            leads.push(lead);
        }
        let lead = &leads[0];
        assert!(leads.iter().all(|l| l == lead), "{leads:#?}");
        assert_eq!(lead.date.to_rfc3339(), "2026-11-20T09:00:00+00:00");
        // The automation's reply is not an answer; the agent's, at Chatwoot's time, is.
        assert_eq!(
            lead.first_touched_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-20T09:05:00+00:00")
        );
        assert_eq!(lead.name.as_deref(), Some("Budi"));
        assert_eq!(
            lead.first_source.as_ref().and_then(|s| s.id.as_deref()),
            Some("120200001")
        );
    }

    /// Two people whose messages carry the same click id (a placeholder
    /// copied from Meta's examples) stay two leads, in separate batches or
    /// one; Meta's detection of that click goes to the first of them.
    #[tokio::test]
    async fn a_click_id_two_people_carry_makes_no_one_lead_of_them() {
        let msg = |id: &str, phone: &str, min: u32| {
            serde_json::json!({"id": id, "occurred_at": format!("2026-11-20T09:{min:02}:00Z"),
                "channel": "whatsapp", "direction": "inbound", "contact": {"phone": phone},
                "ctwa_clid": "CTWA_CLID", "meta_account_id": "WABA1"})
        };
        let click = format!("{CLICK}CTWA_CLID");
        let with_click = |v: serde_json::Value| {
            let mut e = batch(serde_json::json!([v])).remove(0);
            e.aliases = vec![click.clone()];
            e
        };
        let a = with_click(msg("a1", "+6281200000001", 0));
        let b = with_click(msg("b1", "+6281200000002", 5));
        let mut detected = batch(serde_json::json!([{"id": "ae1", "kind": "conversion",
            "occurred_at": "2026-11-20T10:00:00Z", "contact": {"phone": "+6281200000009"},
            "conversion": {"type": "purchase", "value": "1000", "currency": "IDR"}}]))
        .remove(0);
        detected.contact_key = click.clone();
        let terms = crate::ssr::domain::rules::Terms::default();
        // The first stored keeps the click (in one batch, the smaller key).
        for (batches, owner) in [
            (
                vec![vec![a.clone()], vec![b.clone()], vec![detected.clone()]],
                0,
            ),
            (
                vec![vec![detected.clone()], vec![a.clone()], vec![b.clone()]],
                0,
            ),
            (vec![vec![a.clone(), b.clone(), detected.clone()]], 0),
            (
                vec![
                    vec![b.clone(), a.clone()],
                    vec![detected.clone()],
                    vec![b.clone()],
                ],
                0,
            ),
            (
                vec![vec![b.clone()], vec![a.clone()], vec![detected.clone()]],
                1,
            ),
        ] {
            let db = db::connect("mem://", None, None, None).await.expect("db");
            for events in batches {
                store(&db, &events, None).await.expect("stored");
            }
            let (_, states) = load_states(&db, Some).await.expect("load");
            let mut leads: Vec<_> = states.iter().filter_map(|s| s.lead(&terms)).collect();
            leads.sort_by(|x, y| x.key.cmp(&y.key));
            let keys: Vec<&str> = leads.iter().map(|l| l.key.as_str()).collect();
            assert_eq!(keys, ["+6281200000001", "+6281200000002"]);
            assert!(leads[owner].buyer() && !leads[1 - owner].buyer());
            // Both are sendable with the click id each carried; the one
            // who does not own it is named apart at Meta.
            assert!(leads[owner].sendable && leads[1 - owner].sendable);
            let mut clicks: Vec<_> = states
                .iter()
                .filter_map(|s| Some((s.key.clone(), s.click.clone()?.value)))
                .collect();
            clicks.sort_by(|x, y| x.0.cmp(&y.0));
            let shared: Vec<(Option<&str>, bool)> = clicks
                .iter()
                .map(|(_, c)| (c.clid.as_deref(), c.shared))
                .collect();
            let mut want = [(Some("CTWA_CLID"), true), (Some("CTWA_CLID"), true)];
            want[owner].1 = false;
            assert_eq!(shared, want);
            // The stored events group as the contacts do.
            let events = load_events(&db).await.expect("events");
            assert_eq!(events.len(), 2, "{:?}", events.keys());
        }
    }

    /// Many existing contacts in one batch: every one gets its new state
    /// and event list.
    #[tokio::test]
    async fn many_existing_contacts_are_all_updated() {
        let db = db::connect("mem://", None, None, None).await.expect("db");
        let n = 71;
        let msg = |id: String, who: usize, at: &str, dir: &str| {
            serde_json::json!({"id": id, "occurred_at": at, "channel": "web", "direction": dir,
                "sender": if dir == "inbound" { "customer" } else { "agent" },
                "contact": {"external_id": format!("v{who}")}})
        };
        let first: Vec<_> = (0..n)
            .map(|c| msg(format!("in{c}"), c, "2026-11-20T10:00:00Z", "inbound"))
            .collect();
        store(&db, &batch(serde_json::Value::Array(first)), None)
            .await
            .expect("first");
        let answers: Vec<_> = (0..n)
            .map(|c| msg(format!("out{c}"), c, "2026-11-20T10:05:00Z", "outbound"))
            .collect();
        let stored = store(&db, &batch(serde_json::Value::Array(answers)), None)
            .await
            .expect("answers");
        assert_eq!(stored.accepted(), n);
        let (_, states) = load_states(&db, Some).await.expect("load");
        assert_eq!(states.len(), n);
        for s in &states {
            let lead = s
                .lead(&crate::ssr::domain::rules::Terms::default())
                .expect("lead");
            assert_eq!(
                lead.first_touched_at.map(|t| t.to_rfc3339()).as_deref(),
                Some("2026-11-20T10:05:00+00:00"),
                "{}",
                s.key
            );
        }
        assert_eq!(
            contact_events(&db, &format!("web:v{}", n - 1))
                .await
                .expect("history")
                .len(),
            2
        );
    }

    /// A contact with more broadcasts than its state keeps, whose first
    /// message (the Date) arrives after two answers that were left out:
    /// folded again in order, session 1 holds them and the lead is engaged.
    #[tokio::test]
    async fn a_date_that_moves_past_what_was_left_out_folds_again() {
        use crate::ssr::domain::rules::{MARKS_MAX, Terms};
        let db = db::connect("mem://", None, None, None).await.expect("db");
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let at = |h: i64| (t0 + chrono::Duration::hours(h)).to_rfc3339();
        let ev = |id: String, h: i64, dir: &str, sender: &str| {
            serde_json::json!({"id": id, "occurred_at": at(h), "channel": "whatsapp",
                "direction": dir, "sender": sender, "contact": {"phone": "+6281230000001"}})
        };
        let date = MARKS_MAX as i64 + 30;
        let mut first: Vec<_> = (0..MARKS_MAX as i64 + 14)
            .map(|h| ev(format!("b{h}"), h, "outbound", "system"))
            .collect();
        // Two answers after the Date, 12 and 24 hours on: beyond the
        // earliest the state keeps, before the Date is known.
        first.push(ev("r1".into(), date + 12, "outbound", "agent"));
        first.push(ev("r2".into(), date + 24, "outbound", "agent"));
        store(&db, &batch(serde_json::Value::Array(first)), None)
            .await
            .expect("broadcasts");
        store(
            &db,
            &batch(serde_json::json!([ev(
                "i1".into(),
                date,
                "inbound",
                "customer"
            )])),
            None,
        )
        .await
        .expect("first message");
        // 30 hours after the Date: session 1 still, through the answers.
        let stored = store(
            &db,
            &batch(serde_json::json!([ev(
                "i2".into(),
                date + 30,
                "inbound",
                "customer"
            )])),
            None,
        )
        .await
        .expect("reply");
        let lead = stored.changed[0].lead(&Terms::default()).expect("lead");
        assert_eq!(
            lead.first_touched_at,
            Some(t0 + chrono::Duration::hours(date + 12))
        );
        assert!(lead.engaged, "{:?}", stored.changed[0].marks.len());
        assert!(!lead.one_message);
    }

    #[tokio::test]
    async fn repeats_are_reported_per_event() {
        let db = db::connect("mem://", None, None, None).await.expect("db");
        let ev = |id: &str| {
            serde_json::json!({"id": id, "occurred_at": "2026-11-20T10:00:00Z", "channel": "web",
            "direction": "inbound", "contact": {"external_id": "v1"}})
        };
        let stored = store(
            &db,
            &batch(serde_json::json!([ev("a"), ev("b"), ev("a")])),
            None,
        )
        .await
        .expect("ok");
        assert_eq!(stored.new, vec![true, true, false]);
        assert_eq!(
            stored
                .changed
                .iter()
                .filter_map(|s| s.lead(&crate::ssr::domain::rules::Terms::default()))
                .count(),
            1
        );
        let stored = store(&db, &batch(serde_json::json!([ev("b"), ev("c")])), None)
            .await
            .expect("ok");
        assert_eq!(stored.new, vec![false, true]);
        let events = load_events(&db).await.expect("events");
        assert_eq!(events.values().map(Vec::len).sum::<usize>(), 3);
        let mut mine: Vec<String> = contact_events(&db, "web:v1")
            .await
            .expect("history")
            .into_iter()
            .map(|e| e.id)
            .collect();
        mine.sort();
        assert_eq!(mine, ["a", "b", "c"]);
        assert!(
            contact_events(&db, "web:nobody")
                .await
                .expect("none")
                .is_empty()
        );
    }

    /// A chatty contact: its row lists at most `RECENT_MAX` ids whatever
    /// its history (each write costs the same), the rest in pages; a repeat
    /// of its very first event is still a repeat; the history reads whole,
    /// and window by window without gaps or overlaps; a merge keeps both
    /// contacts' pages.
    #[tokio::test]
    async fn a_long_history_is_paged_and_still_deduplicated() {
        let db = db::connect("mem://", None, None, None).await.expect("db");
        let ev = |who: &str, i: usize| {
            serde_json::json!({"id": format!("{who}-{i}"),
                "occurred_at": format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i / 1440, i / 60 % 24, i % 60),
                "channel": "web", "direction": if i % 2 == 0 { "inbound" } else { "outbound" },
                "sender": if i % 2 == 0 { "customer" } else { "agent" },
                "contact": {"external_id": who}})
        };
        const N: usize = 1900;
        for start in (0..N).step_by(250) {
            let list: Vec<_> = (start..(start + 250).min(N)).map(|i| ev("v1", i)).collect();
            store(&db, &batch(serde_json::Value::Array(list)), None)
                .await
                .expect("stored");
        }
        let mut res = db
            .query("SELECT VALUE [array::len(events), array::len(pages)] FROM contact:⟨web:v1⟩")
            .await
            .expect("row");
        let sizes: Vec<Vec<usize>> = res.take(0).expect("sizes");
        assert!(sizes[0][0] <= RECENT_MAX, "{sizes:?}");
        assert_eq!(sizes[0][1] * PAGE + sizes[0][0], N);

        let again = store(
            &db,
            &batch(serde_json::json!([ev("v1", 0), ev("v1", N)])),
            None,
        )
        .await
        .expect("stored");
        assert_eq!(again.new, vec![false, true]);
        let all = contact_events(&db, "web:v1").await.expect("history");
        assert_eq!(all.len(), N + 1);

        let mut seen = HashSet::new();
        let mut before = None;
        let mut windows = 0;
        loop {
            let w = contact_history(&db, "web:v1", 1000, before)
                .await
                .expect("window");
            assert_eq!(w.total, N + 1);
            assert!(w.events.len() >= 1000.min(N + 1 - seen.len()));
            assert!(w.events.len() <= 1000 + RECENT_MAX);
            for e in w.events {
                assert!(seen.insert(e.id), "an event in two windows");
            }
            windows += 1;
            match w.older {
                Some(o) => before = Some(o),
                None => break,
            }
        }
        assert!(windows >= 2);
        assert_eq!(seen.len(), N + 1);

        // v2 gets a long history too, then one event ties both ids.
        for start in (0..700).step_by(350) {
            let list: Vec<_> = (start..start + 350).map(|i| ev("v2", i)).collect();
            store(&db, &batch(serde_json::Value::Array(list)), None)
                .await
                .expect("stored");
        }
        // Aliases come only from webhooks: set by hand here.
        let mut tied = batch(
            serde_json::json!([{"id": "tie", "occurred_at": "2026-11-03T00:00:00Z",
            "channel": "web", "direction": "inbound", "contact": {"external_id": "v2"}}]),
        );
        tied[0].aliases = vec!["web:v1".into()];
        store(&db, &tied, None).await.expect("merged");
        let merged = contact_events(&db, "web:v2").await.expect("history");
        assert_eq!(merged.len(), N + 1 + 700 + 1);
    }
}
