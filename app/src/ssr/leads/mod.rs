//! `Leads`: the one service through which everything reads and writes
//! leads — the HTTP API, the server functions, the import command and
//! the webhooks. SurrealDB is the system of record; the in-memory
//! [`LeadIndex`] answers every read.
//!
//! Writes go through writer tasks, one per core; each contact belongs to
//! one of them (a hash of its key). A request's batch is split between the
//! writers by contact. Each writer takes the parts queued by concurrent
//! requests, stores them together in one transaction (group commit),
//! applies exactly the committed contact states to the index through
//! [`Leads::apply_committed`], and only then answers; a request is answered
//! when all its parts are. So two requests in one process rarely conflict
//! (no contact is written by two writers; only a tie that joins contacts
//! of two writers can, and the loser runs again), the writers use
//! every core, a request that is dropped (client gone) cannot leave a
//! transaction open, and the index only ever holds committed data. A
//! follower of the database's change feed (several instances on one
//! SurrealDB server) calls the same `apply_committed` with the states other
//! instances committed.

mod follow;
mod writers;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::error::AppError;
use crate::model::{AdsReport, Chart, HoursSplit, LeadDetail, Summary};
use crate::model::{CapiStatus, ClosingSoon};
use crate::ssr::domain::capi::EventName;
use crate::ssr::domain::copies;
use crate::ssr::domain::event::Event;
use crate::ssr::domain::filter::Filter;
use crate::ssr::domain::hours::BusinessHours;
use crate::ssr::domain::money::SpendRow;
use crate::ssr::domain::rules::{AdClick, ContactState, LeadFacts, Terms};
use crate::ssr::index::LeadIndex;
use crate::ssr::index::spend::SpendBook;
use crate::ssr::index::{CAPI_NONE, CAPI_PENDING, CAPI_REJECTED, CAPI_SENT};
pub use crate::ssr::index::{Page, Stats};
use crate::ssr::reports;
pub use crate::ssr::reports::ads::{
    AdsOrder, Attribution, CountBy, ORDER_COLUMNS as ADS_ORDER_COLUMNS, plain_label,
};
use crate::ssr::store::contacts;
use crate::ssr::store::db::{self, Db};
use crate::ssr::store::outbox::{self, OutboxTerms};
pub use crate::ssr::store::outbox::{Claimed, Done};
use crate::ssr::store::spend;

/// The most writer tasks. Each stores its own contacts' events, one group
/// commit at a time, so together they use every core and never write the
/// same contact (no write conflict inside the process).
pub const MAX_WRITERS: usize = 16;
/// The most events one group commit stores together.
const GROUP_MAX_EVENTS: usize = 8_000;
/// Rows an export reads from the index per lock.
const EXPORT_CHUNK: usize = 2_000;

/// What one ingest request did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    pub accepted: usize,
    pub duplicates: usize,
    /// For each event given, in order: whether it was new (stored now),
    /// not a repeat of one stored before or earlier in the batch.
    pub fresh: Vec<bool>,
}

/// What one commit changed, for live updates: counts only, so that the
/// broadcast's backlog for a reader that stopped reading (up to
/// [`LIVE_BACKLOG`] commits) stays a few kilobytes whatever the commits held.
#[derive(Debug, Clone, Copy)]
pub struct Committed {
    /// Leads created or changed.
    pub changed: usize,
    /// How many of them are new leads.
    pub new: usize,
}

/// Commits a live-update reader may fall behind by before it is told only
/// "something changed".
pub const LIVE_BACKLOG: usize = 1024;

struct Job {
    events: Vec<Event>,
    reply: oneshot::Sender<Result<Ingested, AppError>>,
}

struct Inner {
    db: Db,
    /// The settings a lead's quality and purchases are derived under.
    terms: Terms,
    index: RwLock<LeadIndex>,
    /// Ad spend per ad and day, beside the index.
    spend: RwLock<SpendBook>,
    /// One queue per writer task; a contact always goes to the same one.
    writers: Vec<mpsc::Sender<Job>>,
    changes: broadcast::Sender<Committed>,
    /// Conversions API: what queuing needs (`None`: not set up, nothing
    /// is queued), and the sender's wake-up when something was.
    outbox: Option<OutboxTerms>,
    capi_queued: tokio::sync::Notify,
}

#[derive(Clone)]
pub struct Leads {
    inner: Arc<Inner>,
}

impl Leads {
    /// Builds the lead index from the database and starts the writer.
    pub async fn open(db: Db) -> Result<Leads, AppError> {
        Leads::open_with(db, false, None, Terms::default(), None).await
    }

    /// The same; with `follow`, the index, the spend book and the leads'
    /// Conversions API states also follow what other processes commit to
    /// the database (several instances on one SurrealDB server): the
    /// subscriptions start before they are loaded, so nothing committed in
    /// between is missed. `writers`: how many writer tasks
    /// (default: one per core).
    pub async fn open_with(
        db: Db,
        follow: bool,
        writers: Option<usize>,
        terms: Terms,
        outbox: Option<OutboxTerms>,
    ) -> Result<Leads, AppError> {
        let streams = if follow {
            Some(follow::subscribe(&db).await?)
        } else {
            None
        };
        let writers = writers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        let leads = Leads::load(db, writers.clamp(1, MAX_WRITERS), terms, outbox).await?;
        if let Some(streams) = streams {
            follow::start(&leads, streams);
        }
        Ok(leads)
    }

    async fn load(
        db: Db,
        writers: usize,
        terms: Terms,
        outbox: Option<OutboxTerms>,
    ) -> Result<Leads, AppError> {
        let started = Instant::now();
        tracing::info!("building the lead index from the database");
        // With sending set up, the states whose click is still in Meta's
        // window are kept too, to queue what they have to send (below).
        let now = chrono::Utc::now();
        let sending = outbox.is_some();
        let mut index = LeadIndex::default();
        let mut in_window = Vec::new();
        let contacts = contacts::load_states_each(
            &db,
            move |s| {
                let lead = s.lead(&terms);
                let recent = sending
                    && s.click
                        .as_ref()
                        .is_some_and(|c| now - c.stamp.at <= crate::ssr::domain::capi::window());
                (lead.is_some() || recent).then(|| (lead, recent.then_some(s)))
            },
            |part| {
                for (lead, state) in part {
                    index.add(lead);
                    in_window.extend(state);
                }
            },
        )
        .await?;
        let loaded = started.elapsed();
        index.finish();
        let stats = index.stats();
        tracing::info!(
            contacts,
            leads = stats.leads,
            bytes_per_lead = stats.bytes_per_lead,
            load_ms = loaded.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "lead index ready"
        );
        let book = SpendBook::build(spend::load(&db).await?);
        let (writers, queues): (Vec<_>, Vec<_>) = (0..writers).map(|_| mpsc::channel(256)).unzip();
        let (changes, _) = broadcast::channel(LIVE_BACKLOG);
        if let Some(t) = &outbox {
            // Outcomes known before sending was set up (or while it was
            // off) and still in the window: queued now. Each event id is
            // stable and the insert ignores queued ones, so every start,
            // and every instance, may do this.
            // A lead's LeadSubmitted is sent once, under the id it was
            // queued with (its click may have changed since).
            let submitted = outbox::leads_with(&db, EventName::LeadSubmitted.as_str()).await?;
            let rows: Vec<_> = in_window
                .iter()
                .flat_map(|s| {
                    outbox::planned(s, t, Some(now))
                        .into_iter()
                        .filter(|(o, _)| {
                            o.name != EventName::LeadSubmitted || !submitted.contains(&s.key)
                        })
                        .map(|(o, ev)| outbox::row_of(&s.key, &o, &ev))
                })
                .collect();
            if let Err(e) = outbox::queue(&db, rows).await {
                tracing::warn!(error = %e, "conversions API: outcomes still in the window could not be queued");
            }
        }
        for (lead, code) in capi_codes(outbox::all_states(&db).await?) {
            index.set_capi(&lead, code);
        }
        let leads = Leads {
            inner: Arc::new(Inner {
                db,
                terms,
                index: RwLock::new(index),
                spend: RwLock::new(book),
                writers,
                changes,
                outbox,
                capi_queued: tokio::sync::Notify::new(),
            }),
        };
        for jobs in queues {
            tokio::spawn(writers::write_loop(leads.clone(), jobs));
        }
        Ok(leads)
    }

    fn read(&self) -> RwLockReadGuard<'_, LeadIndex> {
        // A panic while holding the lock cannot leave the index half
        // changed in a way later reads must not see: each change is applied
        // whole by one call. So a poisoned lock is used as it is.
        self.inner.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, LeadIndex> {
        self.inner.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores a validated batch; answers after its commit is durable and the
    /// index shows it. The batch is split between the writers by contact;
    /// the answer waits for every part.
    pub async fn ingest(&self, mut events: Vec<Event>) -> Result<Ingested, AppError> {
        let total = events.len();
        if total == 0 {
            return Ok(Ingested::default());
        }
        let writers = &self.inner.writers;
        // Repeats inside one batch are duplicates of their first occurrence,
        // whatever their contact (so they cannot reach two writers); two
        // copies of one WhatsApp message in one delivery are joined as
        // they would be arriving apart (`copies::join`).
        let repeat_of: Vec<Option<usize>> = {
            let mut seen: HashMap<&str, usize> = HashMap::with_capacity(total);
            events
                .iter()
                .enumerate()
                .map(|(i, e)| match seen.entry(e.id.as_str()) {
                    Entry::Occupied(o) => Some(*o.get()),
                    Entry::Vacant(v) => {
                        v.insert(i);
                        None
                    }
                })
                .collect()
        };
        for (i, first) in repeat_of.iter().enumerate() {
            if let Some(f) = *first {
                let (head, tail) = events.split_at_mut(i);
                if let Some(j) = copies::join(&head[f], &tail[0]) {
                    head[f] = j;
                }
            }
        }
        let unique = events
            .into_iter()
            .enumerate()
            .zip(repeat_of)
            .filter_map(|(e, r)| r.is_none().then_some(e));
        let mut parts: Vec<Vec<Event>> = (0..writers.len()).map(|_| Vec::new()).collect();
        // Where each part's events were in the batch.
        let mut places: Vec<Vec<usize>> = (0..writers.len()).map(|_| Vec::new()).collect();
        for (i, e) in unique {
            let w = writers::writer_of(&e.contact_key, writers.len());
            parts[w].push(e);
            places[w].push(i);
        }
        // Queued from a task of its own: a request dropped halfway (client
        // gone) still hands every part to its writer, so the batch is
        // stored whole (barring a crash).
        let writers = writers.clone();
        let queued = tokio::spawn(async move {
            let stopped = || AppError::Unavailable("the writer has stopped".into());
            let mut answers = Vec::with_capacity(parts.len());
            for ((writer, events), places) in writers.iter().zip(parts).zip(places) {
                if events.is_empty() {
                    continue;
                }
                let (reply, answer) = oneshot::channel();
                writer
                    .send(Job { events, reply })
                    .await
                    .map_err(|_| stopped())?;
                answers.push((answer, places));
            }
            let mut fresh = vec![false; total];
            for (answer, places) in answers {
                let part = answer.await.map_err(|_| stopped())??;
                for (i, new) in places.into_iter().zip(part.fresh) {
                    fresh[i] = new;
                }
            }
            Ok(fresh)
        });
        let fresh = queued
            .await
            .map_err(|e| AppError::Internal(format!("ingest failed: {e}")))??;
        let accepted = fresh.iter().filter(|n| **n).count();
        Ok(Ingested {
            accepted,
            duplicates: total - accepted,
            fresh,
        })
    }

    /// Applies committed contact states to the index and tells subscribers.
    /// The only way the index changes: called by this process's writer after
    /// each commit, and by a change-feed follower for other processes' commits.
    /// `gone`: contact keys merged into another contact by a tie.
    pub fn apply_committed(&self, changed: &[ContactState], gone: &[String]) {
        let mut changed_leads = 0;
        let mut new = 0;
        {
            let mut index = self.write();
            for key in gone {
                index.remove(key);
            }
            for state in changed {
                match state.lead(&self.inner.terms) {
                    Some(lead) => {
                        new += usize::from(!index.contains(&lead.key));
                        index.upsert(&lead);
                        changed_leads += 1;
                    }
                    None => index.remove(&state.key),
                }
            }
        }
        if changed_leads > 0 {
            // Nobody listening is fine.
            let _ = self.inner.changes.send(Committed {
                changed: changed_leads,
                new,
            });
        }
    }

    /// Brings the index to exactly `all` (every lead, as loaded after a
    /// lost change stream) in place: no second index beside the first,
    /// and the lock is let go between chunks so that reads go on. Leads
    /// that are gone (merged meanwhile, now known customers) are removed.
    pub fn reload(&self, all: Vec<LeadFacts>) {
        let keep: std::collections::HashSet<&str> = all.iter().map(|l| l.key.as_str()).collect();
        let stale: Vec<String> = self
            .read()
            .keys()
            .into_iter()
            .filter(|k| !keep.contains(k.as_str()))
            .collect();
        drop(keep);
        for chunk in all.chunks(10_000) {
            let mut index = self.write();
            for lead in chunk {
                // An unchanged lead is a cheap no-op of `upsert`.
                index.upsert(lead);
            }
        }
        let mut index = self.write();
        for key in &stale {
            index.remove(key);
        }
    }

    /// How many leads each commit created or changed.
    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.inner.changes.subscribe()
    }

    /// One page of leads for `f`, with the total.
    pub fn list(&self, f: &Filter) -> Page {
        self.read().page(f)
    }

    /// Totals and breakdowns for `f`, with the previous period's totals;
    /// paging parameters play no part.
    pub fn summary(&self, f: &Filter) -> Summary {
        self.dashboard(f, None).0
    }

    /// The leads of `f` that arrived in and out of business hours (in the
    /// business's zone `tz`).
    pub fn hours(&self, f: &Filter, hours: &BusinessHours, tz: chrono_tz::Tz) -> HoursSplit {
        reports::summary::hours_split(&self.read(), f, hours, tz)
    }

    /// The summary and the chart stacked by the `top` largest first sources
    /// (one read of the index, so both show the same moment).
    pub fn dashboard(&self, f: &Filter, top: Option<usize>) -> (Summary, Chart) {
        reports::summary::dashboard(&self.read(), f, top, chrono::Utc::now())
    }

    /// One lead with its sessions (rule 8, `timeout` of inactivity) and its
    /// latest [`DETAIL_EVENTS`] events (or those before `before`, a
    /// previous answer's `older`) in time order; `None` when `key` is not a
    /// lead.
    pub async fn detail(
        &self,
        key: &str,
        before: Option<u64>,
        timeout: chrono::Duration,
        currency: &str,
    ) -> Result<Option<LeadDetail>, AppError> {
        let mut facts = self.read().get(key);
        // Another identifier of the lead (an old number, a user id) finds it too.
        if facts.is_none() {
            if let Some(root) = contacts::contact_of(&self.inner.db, key).await? {
                facts = self.read().get(&root);
            }
        }
        let Some(facts) = facts else {
            return Ok(None);
        };
        let before = before.map(|b| usize::try_from(b).unwrap_or(usize::MAX));
        let history =
            contacts::contact_history(&self.inner.db, &facts.key, DETAIL_EVENTS, before).await?;
        let key = facts.key.clone();
        let counted = reports::timeline::Counted::of(&facts, self.inner.terms.attribution);
        let mut detail = reports::timeline::timeline(
            facts,
            history.events,
            timeout,
            &counted,
            chrono::Utc::now(),
        );
        detail.events_total = history.total as u64;
        detail.older = history.older.map(|o| o as u64);
        let state = contacts::state_of(&self.inner.db, &key).await?;
        if let Some(state) = &state {
            let mut outcomes = crate::ssr::domain::capi::outcomes(
                state,
                &self.inner.terms,
                Some(chrono::Utc::now()),
            );
            let ids: Vec<String> = outcomes.iter().map(|o| o.event_id.clone()).collect();
            let mut rows = outbox::get(&self.inner.db, &ids).await?;
            // The LeadSubmitted Meta was sent may carry an earlier click's
            // id: it is the lead's one, shown as such.
            let ls = EventName::LeadSubmitted;
            if let Some(o) = outcomes
                .iter_mut()
                .find(|o| o.name == ls && !rows.iter().any(|r| r.eid == o.event_id))
            {
                if let Some(r) = outbox::named(&self.inner.db, &key, ls.as_str()).await? {
                    o.event_id = r.eid.clone();
                    rows.push(r);
                }
            }
            let info =
                reports::capi::lead_capi(state, outcomes, &rows, self.inner.outbox.is_some());
            reports::capi::attach(&mut detail, info);
        }
        reports::capi::conversions(&mut detail, state.as_ref(), &counted, currency);
        Ok(Some(detail))
    }

    /// Every lead matching `f` as of now, to be read in chunks.
    pub fn export(&self, f: &Filter) -> Export {
        let index = self.read();
        Export {
            leads: self.clone(),
            epoch: index.pin(),
            slots: index.snapshot(f),
            next: 0,
        }
    }

    pub fn stats(&self) -> Stats {
        self.read().stats()
    }

    /// Stores ad spend rows (a row for an ad's day that exists replaces
    /// it), then shows them.
    pub async fn put_spend(&self, rows: Vec<SpendRow>) -> Result<usize, AppError> {
        spend::put(&self.inner.db, &rows).await?;
        self.show_spend(&rows);
        Ok(rows.len())
    }

    /// Committed spend rows into the spend book (this process's, or
    /// another instance's as followed).
    fn show_spend(&self, rows: &[SpendRow]) {
        self.inner
            .spend
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .put(rows);
    }

    /// Stores ad spend in the database without a lead index: the import
    /// command's, since a spend file needs no leads and building the index
    /// would take most of the time (seconds at a million leads). A server
    /// reads the rows when it starts.
    pub async fn store_spend(db: &Db, rows: &[SpendRow]) -> Result<usize, AppError> {
        spend::put(db, rows).await?;
        Ok(rows.len())
    }

    /// Reads every spend row again (another instance may have written some).
    pub async fn reload_spend(&self) -> Result<(), AppError> {
        let book = SpendBook::build(spend::load(&self.inner.db).await?);
        *self.inner.spend.write().unwrap_or_else(|e| e.into_inner()) = book;
        Ok(())
    }

    /// The ads report (`shared/spec/outcomes.md`) for `f`.
    pub fn ads(
        &self,
        f: &Filter,
        attribution: Attribution,
        count_by: CountBy,
        currency: &str,
    ) -> AdsReport {
        let book = self.inner.spend.read().unwrap_or_else(|e| e.into_inner());
        reports::ads::ads(&self.read(), &book, f, attribution, count_by, currency)
    }

    /// After a commit queued Conversions API events for `leads`: they show
    /// as pending (unless one was rejected) and the sender wakes.
    pub(crate) fn note_queued(&self, leads: &[String]) {
        if leads.is_empty() {
            return;
        }
        {
            let mut index = self.write();
            for key in leads {
                if index.capi_of(key) != Some(CAPI_REJECTED) {
                    index.set_capi(key, CAPI_PENDING);
                }
            }
        }
        self.inner.capi_queued.notify_one();
    }

    /// Whether Conversions API events are queued (a dataset and token are set).
    pub fn capi_enabled(&self) -> bool {
        self.inner.outbox.is_some()
    }

    /// Waits until a commit queues Conversions API events (or returns at
    /// once if one did since the last wait).
    pub async fn capi_wait(&self) {
        self.inner.capi_queued.notified().await;
    }

    /// Claims due Conversions API events for sender `me` until `until`.
    pub async fn capi_claim(
        &self,
        me: &str,
        now: i64,
        until: i64,
        max: usize,
    ) -> Result<Vec<Claimed>, AppError> {
        outbox::claim(&self.inner.db, me, now, until, max).await
    }

    /// Records what became of posted events and shows it on their leads.
    pub async fn capi_finish(
        &self,
        ids: &[String],
        now: i64,
        done: Done<'_>,
    ) -> Result<(), AppError> {
        let note = match &done {
            Done::Sent { .. } => None,
            Done::Rejected { message, .. } => Some(format!("rejected: {message}")),
            Done::Retry { why, .. } => Some((*why).to_owned()),
        };
        let mut leads = outbox::finish(&self.inner.db, ids, now, done).await?;
        outbox::note(&self.inner.db, now, note.as_deref()).await?;
        leads.sort_unstable();
        leads.dedup();
        self.show_capi(&leads).await
    }

    /// Shows the stored Conversions API state of `leads` on them.
    async fn show_capi(&self, leads: &[String]) -> Result<(), AppError> {
        let codes = capi_codes(outbox::states_of(&self.inner.db, leads).await?);
        self.set_capi(codes);
        Ok(())
    }

    /// The same for every lead with outbox rows (a follower that lost its
    /// stream; rows are never deleted, so no lead loses its state).
    async fn show_capi_all(&self) -> Result<(), AppError> {
        let codes = capi_codes(outbox::all_states(&self.inner.db).await?);
        self.set_capi(codes);
        Ok(())
    }

    fn set_capi(&self, codes: Vec<(String, u8)>) {
        let mut index = self.write();
        for (lead, code) in codes {
            index.set_capi(&lead, code);
        }
    }

    /// The click of the sendable lead clicked last, which the settings'
    /// test event names (`capi::test_event`), if there is one.
    pub async fn latest_click(&self) -> Result<Option<AdClick>, AppError> {
        let key = self.read().latest_clicked();
        let Some(key) = key else {
            return Ok(None);
        };
        let state = contacts::state_of(&self.inner.db, &key).await?;
        Ok(state
            .and_then(|s| s.click)
            .map(|c| c.value)
            .filter(|c| c.missing().is_none()))
    }

    /// Notes an error of the sender that concerns no event (e.g. the
    /// settings page's test event failed).
    pub async fn capi_note(&self, now: i64, error: Option<&str>) -> Result<(), AppError> {
        outbox::note(&self.inner.db, now, error).await
    }

    /// Counts per state, last success and last error.
    pub async fn capi_status(&self) -> Result<CapiStatus, AppError> {
        let health = outbox::health(&self.inner.db).await?;
        let time = |s: Option<i64>| s.and_then(|s| chrono::DateTime::from_timestamp(s, 0));
        let mut status = CapiStatus {
            configured: self.inner.outbox.is_some(),
            last_success: time(health.last_success),
            last_error_at: time(health.last_error_at),
            last_error: health.last_error,
            ..Default::default()
        };
        let (not_sendable, window_passed) = self.read().capi_unsent_counts(chrono::Utc::now());
        status.not_sendable = not_sendable;
        status.window_passed = status.configured.then_some(window_passed);
        for (state, n) in outbox::counts(&self.inner.db).await? {
            match state.as_str() {
                outbox::PENDING => status.pending = n,
                outbox::SENT => status.sent = n,
                outbox::REJECTED => status.rejected = n,
                _ => {}
            }
        }
        Ok(status)
    }

    /// Sendable ad leads whose 7-day window ends within `within` of `now`
    /// with nothing sent (nothing queued, or only events still pending or
    /// rejected), newest deadline first.
    pub async fn closing_soon(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        within: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<ClosingSoon>, AppError> {
        let window = crate::ssr::domain::capi::window();
        // A window ends in `(now, now + within]` when its click is in
        // `(now - window, now - window + within]`.
        let candidates = self
            .read()
            .unsent_clicked(now - window, now - window + within);
        // A lead marked pending or rejected may have another event sent.
        let marked: Vec<String> = candidates
            .iter()
            .filter(|(_, code)| *code != CAPI_NONE)
            .map(|(l, _)| l.key.clone())
            .collect();
        let sent: HashSet<String> = outbox::states_of(&self.inner.db, &marked)
            .await?
            .into_iter()
            .filter(|(_, state)| state == outbox::SENT)
            .map(|(lead, _)| lead)
            .collect();
        let mut out: Vec<ClosingSoon> = candidates
            .into_iter()
            .map(|(l, _)| l)
            .filter(|l| !sent.contains(&l.key))
            .filter_map(|l| {
                let ends = l.click_at? + window;
                Some(ClosingSoon {
                    lead: l.into(),
                    window_ends_at: ends,
                })
            })
            .collect();
        out.sort_by(|a, b| b.window_ends_at.cmp(&a.window_ends_at));
        out.truncate(limit);
        Ok(out)
    }

    /// Whether there is no lead at all.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), AppError> {
        db::ping(&self.inner.db).await
    }

    /// Recomputes every contact from its stored events and compares the
    /// leads with the index (after a crash, the index must equal this).
    pub async fn verify(&self) -> Result<Verification, AppError> {
        let events = contacts::load_events(&self.inner.db).await?;
        let index = self.read();
        let mut v = Verification {
            contacts: events.len(),
            events: events.values().map(Vec::len).sum(),
            ..Default::default()
        };
        for (key, evs) in &events {
            // In rule 7's order, as the store folds a contact again.
            let mut sorted: Vec<&Event> = evs.iter().collect();
            sorted.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
            let mut state = ContactState::new(key);
            for e in sorted {
                state.apply(e);
            }
            // The group's other keys, as the stored contact lists them
            // (a lead is found by every number it has had).
            let mut aliases: Vec<String> = evs
                .iter()
                .flat_map(|e| std::iter::once(&e.contact_key).chain(&e.aliases))
                .filter(|k| *k != key)
                .cloned()
                .collect();
            aliases.sort_unstable();
            aliases.dedup();
            state.aliases = aliases;
            let expected = state.lead(&self.inner.terms);
            v.leads += usize::from(expected.is_some());
            if index.get(key) != expected {
                v.mismatches += 1;
                if v.examples.len() < 5 {
                    v.examples
                        .push(key.chars().take(6).collect::<String>() + "…");
                }
            }
        }
        // Leads in the index without any stored event.
        v.mismatches += index.len().saturating_sub(v.leads);
        Ok(v)
    }
}

/// Each lead's Conversions API state from its events' states: rejected if
/// any is, else pending if any is, else sent if any is.
fn capi_codes(pairs: Vec<(String, String)>) -> Vec<(String, u8)> {
    let mut by_lead: std::collections::HashMap<String, u8> = std::collections::HashMap::new();
    for (lead, state) in pairs {
        let code = match state.as_str() {
            outbox::REJECTED => CAPI_REJECTED,
            outbox::PENDING => CAPI_PENDING,
            outbox::SENT => CAPI_SENT,
            _ => CAPI_NONE,
        };
        let e = by_lead.entry(lead).or_insert(CAPI_NONE);
        *e = (*e).max(code);
    }
    by_lead.into_iter().collect()
}

/// Events a lead detail reads at least (whole history pages, so at most
/// `RECENT_MAX` more): its size is bounded whatever the contact's history.
pub const DETAIL_EVENTS: usize = 1000;

/// The outcome of [`Leads::verify`].
#[derive(Debug, Default, serde::Serialize)]
pub struct Verification {
    pub contacts: usize,
    pub events: usize,
    pub leads: usize,
    pub mismatches: usize,
    /// The first characters of a few mismatching contact keys.
    pub examples: Vec<String>,
}

/// An export in progress: the matching leads were fixed when it started
/// (no lead twice, none missed, whatever arrives meanwhile); each chunk
/// reads their current columns.
pub struct Export {
    leads: Leads,
    /// The index layout `slots` are in (a rebuild moves slots; the index
    /// says where, `LeadIndex::follow`).
    epoch: u64,
    slots: Vec<u32>,
    next: usize,
}

impl Export {
    /// The next chunk of leads, `None` after the last.
    pub fn next_chunk(&mut self) -> Option<Vec<LeadFacts>> {
        if self.next >= self.slots.len() {
            return None;
        }
        let end = (self.next + EXPORT_CHUNK).min(self.slots.len());
        let index = self.leads.read();
        self.epoch = index.follow(self.epoch, &mut self.slots[self.next..]);
        let rows = index.rows(&self.slots[self.next..end]);
        drop(index);
        self.next = end;
        Some(rows)
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        self.leads.read().unpin(self.epoch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ssr::domain::event::test_batch as batch;

    async fn in_memory() -> Leads {
        let db = crate::ssr::store::db::connect("mem://", None, None, None)
            .await
            .expect("db");
        Leads::open(db).await.expect("leads")
    }

    /// A customer's WhatsApp message from `phone` at `at`, as the API takes it.
    fn inbound(id: &str, at: &str, phone: &str) -> serde_json::Value {
        serde_json::json!({"id": id, "occurred_at": at, "channel": "whatsapp",
            "direction": "inbound", "contact": {"phone": phone}})
    }

    /// A reload after a lost change stream brings the index to exactly what
    /// was loaded, in place.
    #[tokio::test]
    async fn a_reload_changes_the_index_in_place() {
        let leads = in_memory().await;
        let ev = |id: &str, phone: &str| inbound(id, "2026-11-20T03:00:00Z", phone);
        leads
            .ingest(batch(serde_json::json!([
                ev("r1", "+6281234567890"),
                ev("r2", "+6281234567891")
            ])))
            .await
            .expect("ingest");
        let mut one = leads.read().get("+6281234567890").expect("lead");
        one.name = Some("Budi".into());
        leads.reload(vec![one.clone()]);
        let index = leads.read();
        assert_eq!(index.len(), 1);
        assert_eq!(index.get("+6281234567890"), Some(one));
    }

    /// `verify` recomputes a contact of three numbers (two number changes)
    /// as it is stored: found by every number it has had.
    #[tokio::test]
    async fn verify_agrees_on_a_contact_of_three_numbers() {
        let leads = in_memory().await;
        let mut events = batch(serde_json::json!([
            inbound("n1", "2026-11-20T03:00:00Z", "+6281299990001"),
            inbound("n2", "2026-11-21T03:00:00Z", "+6281299990002"),
            inbound("n3", "2026-11-22T03:00:00Z", "+6281299990003")
        ]));
        // Each new number tied to the one before, as a number change ties them.
        events[1].aliases = vec!["+6281299990001".into()];
        events[2].aliases = vec!["+6281299990002".into()];
        for e in events {
            leads.ingest(vec![e]).await.expect("ingest");
        }
        let lead = leads.read().get("+6281299990001").expect("one lead");
        assert_eq!(lead.phone.as_deref(), Some("+6281299990003"));
        assert_eq!(lead.other_phones, ["+6281299990001", "+6281299990002"]);
        let v = leads.verify().await.expect("verify");
        assert_eq!((v.leads, v.mismatches), (1, 0), "{v:?}");
    }

    /// A live-update reader that stops reading keeps at most the
    /// broadcast's backlog, and that backlog is counts, never lead records.
    #[test]
    fn a_stalled_live_reader_holds_a_few_kilobytes() {
        fn plain<T: Copy + 'static>() {}
        plain::<Committed>();
        assert!(std::mem::size_of::<Committed>() * LIVE_BACKLOG <= 32 * 1024);
    }

    /// Two services on one database, as two instances on one SurrealDB
    /// server: what one commits appears in the other's index (and live
    /// updates), spend book and send states by following the database.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_following_instance_sees_the_other_instances_commits() {
        let db = crate::ssr::store::db::connect("mem://", None, None, None)
            .await
            .expect("db");
        let a = Leads::open(db.clone()).await.expect("a");
        let b = Leads::open_with(db, true, None, Terms::default(), None)
            .await
            .expect("b");
        let mut live = b.subscribe();
        let f = Filter::parse(
            &[("from", "2026-11-20"), ("to", "2026-11-20")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            chrono_tz::Asia::Jakarta,
            chrono::Utc::now(),
        )
        .expect("filter");
        let msg = |id: &str, at: &str, dir: &str| {
            serde_json::json!({"id": id, "occurred_at": at, "channel": "whatsapp",
                "direction": dir, "sender": if dir == "inbound" { "customer" } else { "agent" },
                "contact": {"phone": "+6281234567890", "name": "Budi"}})
        };
        a.ingest(batch(serde_json::json!([msg(
            "m1",
            "2026-11-20T03:00:00Z",
            "inbound"
        )])))
        .await
        .expect("ingest");
        let seen = tokio::time::timeout(std::time::Duration::from_secs(5), live.recv())
            .await
            .expect("a live update on b")
            .expect("update");
        assert_eq!(seen.new, 1);
        assert_eq!(b.list(&f).total, 1);
        // A later answer through A changes the lead on B too.
        a.ingest(batch(serde_json::json!([msg(
            "m2",
            "2026-11-20T03:02:00Z",
            "outbound"
        )])))
        .await
        .expect("ingest");
        wait_for("the answer on b", || {
            let page = b.list(&f);
            page.leads
                .first()
                .and_then(|l| l.first_touched_at)
                .is_some()
        })
        .await;
        assert_eq!(b.list(&f).total, 1);

        // Ad spend stored through A shows in B's spend book.
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("day");
        let spend = |minor: i64| SpendRow {
            date: day,
            platform: "meta".into(),
            ad_id: "120400001".into(),
            spend: minor,
            ad_name: Some("Kopi A".into()),
            campaign_name: None,
        };
        a.put_spend(vec![spend(60_000_00)]).await.expect("spend");
        let spent = |l: &Leads| {
            l.inner
                .spend
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .in_range(day, day)
                .iter()
                .map(|s| s.spend)
                .sum::<i64>()
        };
        wait_for("b's spend", || spent(&b) == 60_000_00).await;
        // Stored again with another amount: replaced, not added.
        a.put_spend(vec![spend(75_000_00)])
            .await
            .expect("spend again");
        wait_for("b's replaced spend", || spent(&b) == 75_000_00).await;

        // A send result recorded by another instance shows on B's lead (one
        // that came from a click-to-WhatsApp ad an hour ago: sendable).
        let key = "+6281234567891";
        let at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        a.ingest(batch(serde_json::json!([{"id": "c1", "occurred_at": at,
            "channel": "whatsapp", "direction": "inbound", "contact": {"phone": key},
            "ctwa_clid": "CL", "meta_account_id": "W",
            "source": {"platform": "meta", "type": "ad", "id": "120400001"}}])))
            .await
            .expect("ingest");
        wait_for("the ad's lead on b", || {
            b.read().capi_of(key) == Some(CAPI_NONE)
        })
        .await;
        a.inner
            .db
            .query("CREATE capi:e1 SET eid = 'e1', lead = $lead, state = 'pending'; UPDATE capi:e1 SET state = 'sent';")
            .bind(("lead", key))
            .await
            .expect("outbox row")
            .check()
            .expect("written");
        wait_for("b's send state", || {
            b.read().capi_of(key) == Some(CAPI_SENT)
        })
        .await;
    }

    /// Waits up to 5 s for `done`, failing the test with `what` after.
    async fn wait_for(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "never saw {what}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
