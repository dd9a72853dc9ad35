//! The in-memory lead index: every lead's listed columns in a compact form,
//! kept in the orders the page sorts by, answering pages, totals, searches,
//! summaries and export snapshots without touching the database. Pure: it
//! is changed only by [`LeadIndex::upsert`] / [`LeadIndex::remove`] with
//! committed leads, and knows nothing of storage.
//!
//! Layout (per lead, measured by [`LeadIndex::stats`]):
//! - `hot` (24 B): what scans read — Date, first source, wait until First
//!   Touched At, channel, flags;
//! - `cold` (32 B): First Touched At exactly, last source, where its text is;
//! - a record in the text arena: the lower-cased `name \0 email \0`, searched
//!   with SIMD substring search and compared for the name sort;
//! - a record in the data arena: `phone \0 key \0 name \0 email \0` — the
//!   key left out when it is the phone, the name and e-mail only when their
//!   lower-cased form cannot give them back; phone searches run over the
//!   E.164 digits (a national `0…` query must follow the country code);
//! - three sorted sequences of slots (Date, name, First Touched At), a hash
//!   table from contact key to slot, and interned sources.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use chrono::{DateTime, Utc};
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};

mod arena;
mod blocks;
mod buys;
mod columns;
mod counts;
mod export;
mod orders;
mod page;
pub(crate) mod scan;
mod search;
mod sources;
pub mod spend;
#[cfg(test)]
pub(crate) mod tests;

use crate::model::Source;
use crate::ssr::domain::event::CHANNELS;
use crate::ssr::domain::filter::{CapiState, Cursor, Filter, Quality, SortField};
use crate::ssr::domain::money::Minor;
use crate::ssr::domain::phone;
use crate::ssr::domain::rules::{LeadFacts, Purchase};
use arena::*;
use blocks::{Blocks, Pos};
use buys::Buys;
use columns::*;
pub use columns::{
    CAPI_NONE, CAPI_NOT_SENDABLE, CAPI_PENDING, CAPI_REJECTED, CAPI_SENT, Stamp, stamp,
};
use counts::{Counted, Counts, Hour};
use export::*;
use orders::cmp_names;
pub use page::Page;
pub use scan::{Seen, parts};
use sources::*;

/// Sizes of the index, for the log, `/api/v1/stats` and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub leads: usize,
    pub index_bytes: usize,
    pub bytes_per_lead: usize,
    pub sources: usize,
}

pub struct LeadIndex {
    store: Store,
    by_key: HashTable<u32>,
    hasher: DefaultHashBuilder,
    by_date: Blocks,
    by_name: Blocks,
    by_touch: Blocks,
    sources: Sources,
    /// Leads per hour and dimension, for filtered totals.
    counts: Counts,
    live: usize,
    /// Other numbers of the few leads that have them (a number change, a
    /// hidden phone tied later), by contact key: searched, not listed.
    other_phones: HashMap<String, Box<[String]>>,
    /// The attributed purchases of the leads that have any (buyers): the
    /// ads report by purchase date and the lead's facts read them (their
    /// sums are the `revenue` column).
    buys: Buys,
    /// Counts the layouts: a rebuild moves slots and starts the next epoch.
    epoch: u64,
    /// Exports in progress, and how slots moved since the oldest began.
    pins: std::sync::Mutex<Pins>,
}

impl Default for LeadIndex {
    fn default() -> Self {
        LeadIndex {
            store: Store::default(),
            by_key: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            by_date: Blocks::default(),
            by_name: Blocks::default(),
            by_touch: Blocks::default(),
            sources: Sources::new(),
            counts: Counts::default(),
            live: 0,
            other_phones: HashMap::new(),
            buys: Buys::default(),
            epoch: 0,
            pins: std::sync::Mutex::default(),
        }
    }
}

impl LeadIndex {
    /// An index of `leads` (in any order), laid out in Date order.
    #[cfg(test)]
    pub fn build(leads: impl IntoIterator<Item = LeadFacts>) -> Self {
        let mut index = LeadIndex::default();
        index.add(leads);
        index.finish();
        index
    }

    /// Building in parts: leads added with this are read only after
    /// [`LeadIndex::finish`]. The start-up adds a chunk at a time, so it
    /// never holds every lead's facts at once.
    pub fn add(&mut self, leads: impl IntoIterator<Item = LeadFacts>) {
        for lead in leads {
            if self.push(&lead).is_some() {
                self.note_phones(&lead);
            }
        }
    }

    /// Orders what [`LeadIndex::add`] added.
    pub fn finish(&mut self) {
        self.rebuild();
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    fn slot_of(&self, key: &str) -> Option<u32> {
        let store = &self.store;
        self.by_key
            .find(self.hash(key), |s| store.key(*s) == key)
            .copied()
    }

    /// Adds a lead's data in a new slot, outside the orders.
    fn push(&mut self, lead: &LeadFacts) -> Option<u32> {
        let slot = u32::try_from(self.store.hot.len()).ok()?;
        let Some(placed) = self.store.append(slot, lead) else {
            tracing::warn!("a lead's contact key is too long to be indexed; it is not listed");
            return None;
        };
        let (hot, cold) = self.entries(lead, &placed);
        grow(&mut self.store.hot, 1, 1024);
        grow(&mut self.store.cold, 1, 1024);
        grow(&mut self.store.revenue, 1, 1024);
        self.store.hot.push(hot);
        self.store.cold.push(cold);
        self.store.revenue.push(0);
        self.set_purchases(slot, &lead.purchases);
        let hash = self.hash(&lead.key);
        let (store, hasher) = (&self.store, &self.hasher);
        self.by_key
            .insert_unique(hash, slot, |s| hasher.hash_one(store.key(*s)));
        self.live += 1;
        Some(slot)
    }

    fn entries(&mut self, lead: &LeadFacts, p: &Placed) -> (Hot, Cold) {
        let date = stamp(lead.date);
        let touch = lead.first_touched_at.map(stamp);
        let wait = match lead.first_touched_at {
            None => UNTOUCHED,
            Some(t) => u32::try_from((t - lead.date).num_seconds().max(0))
                .unwrap_or(WAIT_SATURATED)
                .min(WAIT_SATURATED),
        };
        let channel = CHANNELS
            .iter()
            .position(|c| *c == lead.channel)
            .unwrap_or(CHANNELS.len() - 1) as u8;
        let mut flags = ALIVE | p.modes;
        if lead.phone.as_deref() == Some(lead.key.as_str()) {
            flags |= KEY_IS_PHONE;
        }
        for (on, bit) in [
            (lead.engaged, ENGAGED),
            (lead.one_message, ONE_MESSAGE),
            (lead.buyer(), BUYER),
        ] {
            if on {
                flags |= bit;
            }
        }
        let hot = Hot {
            date_s: date.0,
            date_ns: date.1,
            src: self.sources.intern(lead.first_source.as_ref()),
            wait,
            channel,
            flags,
            capi: if lead.sendable {
                CAPI_NONE
            } else {
                CAPI_NOT_SENDABLE
            },
            timing: if lead.window_passed { LATE } else { 0 }
                | if lead.in_window { IN_WINDOW } else { 0 },
        };
        let touch = touch.unwrap_or(NONE_TOUCH);
        let cold = Cold {
            touch_s: touch.0,
            touch_ns: touch.1,
            last_src: self.sources.intern(lead.last_source.as_ref()),
            text_off: p.text_off,
            data_off: p.data_off,
            text_ends: p.text_ends,
            data_ends: p.data_ends,
            // Seconds from the Date's whole second (a click is kept to
            // the second).
            click: match lead.click_at.filter(|_| lead.sendable) {
                None => NO_CLICK,
                Some(c) => (c.timestamp() - date.0)
                    .clamp(i64::from(NO_CLICK) + 1, i64::from(i32::MAX))
                    as i32,
            },
        };
        (hot, cold)
    }

    fn counted(&self, slot: u32) -> Counted {
        let h = &self.store.hot[slot as usize];
        Counted {
            date_s: h.date_s,
            channel: h.channel,
            touched: h.wait != UNTOUCHED,
            src: h.src,
        }
    }

    /// Adds or replaces a committed lead. Only the orders whose sort values
    /// changed are touched, and text is written again only when it changed.
    /// The contact keys of every lead.
    pub fn keys(&self) -> Vec<String> {
        (0..self.store.hot.len() as u32)
            .filter(|s| self.store.hot[*s as usize].flags & ALIVE != 0)
            .map(|s| self.store.key(s).to_owned())
            .collect()
    }

    /// Whether `key` is a lead.
    pub fn contains(&self, key: &str) -> bool {
        self.slot_of(key).is_some()
    }

    pub fn upsert(&mut self, lead: &LeadFacts) {
        self.note_phones(lead);
        let Some(slot) = self.slot_of(&lead.key) else {
            if let Some(slot) = self.push(lead) {
                self.relink(slot, [true; 3], true);
                self.counts.change(self.counted(slot), true);
            }
            return;
        };
        self.counts.change(self.counted(slot), false);
        let s = &self.store;
        let date = stamp(lead.date);
        let touch = lead.first_touched_at.map(stamp).unwrap_or(NONE_TOUCH);
        let date_moved = s.hot[slot as usize].date() != date;
        let touch_moved = date_moved || s.touch(slot) != touch;
        let same_text = *s.name(slot) == *lead.name.as_deref().unwrap_or("")
            && *s.email(slot) == *lead.email.as_deref().unwrap_or("")
            && s.phone(slot) == lead.phone.as_deref().unwrap_or("");
        let name_moved = date_moved || !same_text;
        let moved = [date_moved, name_moved, touch_moved];
        self.relink(slot, moved, false);
        let placed = if same_text {
            let s = &self.store;
            let (c, h) = (&s.cold[slot as usize], &s.hot[slot as usize]);
            Placed {
                text_off: c.text_off,
                text_ends: c.text_ends,
                data_off: c.data_off,
                data_ends: c.data_ends,
                modes: h.flags & (NAME_TITLE | NAME_STORED | EMAIL_STORED),
            }
        } else {
            self.store.kill_records(slot);
            match self.store.append(slot, lead) {
                Some(p) => p,
                None => {
                    self.relink(slot, moved.map(|m| !m), false);
                    self.kill(slot);
                    return;
                }
            }
        };
        let (mut hot, cold) = self.entries(lead, &placed);
        // The state of its sent events stays (it is set by `set_capi`).
        let old = self.store.hot[slot as usize].capi;
        if lead.sendable && old >= CAPI_SENT {
            hot.capi = old;
        }
        self.store.hot[slot as usize] = hot;
        self.store.cold[slot as usize] = cold;
        self.set_purchases(slot, &lead.purchases);
        self.relink(slot, moved, true);
        self.counts.change(self.counted(slot), true);
        let (t, d) = (&self.store.text, &self.store.data);
        if t.dead + d.dead > 1 << 20 && t.dead + d.dead > (t.bytes.len() + d.bytes.len()) / 2 {
            self.rebuild();
        }
    }

    /// Takes `slot` out of (`insert` false) or puts it into the orders marked
    /// in `which`: Date, name, First Touched At.
    fn relink(&mut self, slot: u32, which: [bool; 3], insert: bool) {
        type Cmp = fn(&Store, u32, u32) -> Ordering;
        let store = &self.store;
        let orders: [(&mut Blocks, Cmp); 3] = [
            (&mut self.by_date, Store::cmp_date),
            (&mut self.by_name, Store::cmp_name),
            (&mut self.by_touch, Store::cmp_touch),
        ];
        for ((order, cmp), on) in orders.into_iter().zip(which) {
            match (on, insert) {
                (false, _) => {}
                (true, true) => order.insert(slot, |a, b| cmp(store, a, b)),
                (true, false) => {
                    order.remove(slot, |a, b| cmp(store, a, b));
                }
            }
        }
    }

    /// Sets a lead's Conversions API state (`CAPI_SENT`, `CAPI_PENDING`,
    /// `CAPI_REJECTED`, or `CAPI_NONE` when it has no events).
    pub fn set_capi(&mut self, key: &str, code: u8) {
        if let Some(slot) = self.slot_of(key) {
            let h = &mut self.store.hot[slot as usize];
            // A lead that cannot be sent stays so (`sendable` is a fact of
            // its state; events queued before stay in the outbox).
            if h.capi != CAPI_NOT_SENDABLE {
                h.capi = code;
            }
        }
    }

    /// Leads that cannot be sent (no ad click with its identifiers), and
    /// sendable leads with nothing queued whose outcome came after the
    /// click's 7 days, or came within them but was never queued (known
    /// before sending was set up) and the 7 days are over by `now`.
    pub fn capi_unsent_counts(&self, now: DateTime<Utc>) -> (u64, u64) {
        let (mut not_sendable, mut window_passed) = (0, 0);
        let closed = now.timestamp() - crate::ssr::domain::capi::window().num_seconds();
        for (slot, h) in self.store.hot.iter().enumerate() {
            if h.flags & ALIVE == 0 {
                continue;
            }
            if h.capi == CAPI_NOT_SENDABLE {
                not_sendable += 1;
            } else if h.capi == CAPI_NONE
                && (h.timing & LATE != 0
                    || (h.timing & IN_WINDOW != 0
                        && self
                            .click_of(slot as u32)
                            .is_some_and(|c| c.timestamp() < closed)))
            {
                window_passed += 1;
            }
        }
        (not_sendable, window_passed)
    }

    /// The sendable leads whose click is in `(after, until]` and whose
    /// events, if any, are not all sent (the "closing soon" candidates,
    /// with their codes: a lead marked pending or rejected may also have a
    /// sent one). Every lead is looked at: a click may come days after the
    /// lead's Date, or before it (a referral ahead of the first message).
    pub fn unsent_clicked(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<(LeadFacts, u8)> {
        let mut slots = Vec::new();
        for (s, h) in self.store.hot.iter().enumerate() {
            if h.flags & ALIVE == 0 || !matches!(h.capi, CAPI_NONE | CAPI_PENDING | CAPI_REJECTED) {
                continue;
            }
            if let Some(c) = self.click_of(s as u32) {
                if c > after && c <= until {
                    slots.push((s as u32, h.capi));
                }
            }
        }
        slots
            .into_iter()
            .map(|(s, code)| (self.facts(s), code))
            .collect()
    }

    /// The live sendable lead clicked last, if any: the person the
    /// Conversions API's test event names (a scan; the button is rare).
    pub fn latest_clicked(&self) -> Option<String> {
        let mut latest: Option<(DateTime<Utc>, u32)> = None;
        for (s, h) in self.store.hot.iter().enumerate() {
            if h.flags & ALIVE == 0 {
                continue;
            }
            if let Some(c) = self.click_of(s as u32) {
                if latest.is_none_or(|(l, _)| c > l) {
                    latest = Some((c, s as u32));
                }
            }
        }
        latest.map(|(_, s)| self.facts(s).key)
    }

    /// A lead's Conversions API state (`CAPI_*`).
    pub fn capi_of(&self, key: &str) -> Option<u8> {
        self.slot_of(key).map(|s| self.store.hot[s as usize].capi)
    }

    /// Removes a lead (e.g. its contact became a known customer).
    pub fn remove(&mut self, key: &str) {
        if let Some(slot) = self.slot_of(key) {
            self.relink(slot, [true; 3], false);
            self.counts.change(self.counted(slot), false);
            self.store.kill_records(slot);
            self.kill(slot);
        }
    }

    fn set_purchases(&mut self, slot: u32, purchases: &[Purchase]) {
        self.store.revenue[slot as usize] = purchases.iter().map(|p| p.value).sum();
        self.buys.set(slot, purchases);
    }

    fn note_phones(&mut self, lead: &LeadFacts) {
        if lead.other_phones.is_empty() {
            self.other_phones.remove(&lead.key);
        } else {
            self.other_phones
                .insert(lead.key.clone(), lead.other_phones.clone().into());
        }
    }

    /// Marks a slot dead (its records are already counted dead).
    fn kill(&mut self, slot: u32) {
        self.other_phones.remove(self.store.key(slot));
        self.buys.remove(slot);
        self.store.revenue[slot as usize] = 0;
        let hash = self.hash(self.store.key(slot));
        if let Ok(entry) = self.by_key.find_entry(hash, |s| *s == slot) {
            entry.remove();
        }
        self.store.hot[slot as usize].flags &= !ALIVE;
        self.live -= 1;
    }

    /// Lays every live lead out again in Date order (scans then read memory
    /// in sequence), drops dead text and rebuilds the orders. At start, and
    /// when half the arenas' bytes are dead.
    fn rebuild(&mut self) {
        let old = std::mem::take(&mut self.store);
        let mut order: Vec<u32> = (0..old.hot.len() as u32)
            .filter(|s| old.hot[*s as usize].flags & ALIVE != 0)
            .collect();
        order.sort_unstable_by(|a, b| old.cmp_date(*a, *b));
        let pinned = !self.pins().open.is_empty();
        let mut to = vec![GONE; old.hot.len()];
        for (new, &s) in order.iter().enumerate() {
            to[s as usize] = new as u32;
        }
        // Buyers' purchases follow their slots.
        self.buys
            .renumber(|s| to.get(s as usize).copied().filter(|n| *n != GONE));
        self.moved(pinned.then_some(to));
        let copy = |from: &Arena, into: &mut Arena, off: u32, len: usize, slot: u32| -> u32 {
            let new = into.bytes.len() as u32;
            into.owners.push((new, slot));
            into.bytes
                .extend_from_slice(&from.bytes[off as usize..off as usize + len]);
            new
        };
        let mut store = Store {
            hot: Vec::with_capacity(order.len()),
            cold: Vec::with_capacity(order.len()),
            revenue: Vec::with_capacity(order.len()),
            text: Arena {
                bytes: Vec::with_capacity(old.text.bytes.len() - old.text.dead),
                owners: Vec::with_capacity(order.len()),
                dead: 0,
            },
            data: Arena {
                bytes: Vec::with_capacity(old.data.bytes.len() - old.data.dead),
                owners: Vec::with_capacity(order.len()),
                dead: 0,
            },
        };
        for (new, &s) in order.iter().enumerate() {
            let mut cold = old.cold[s as usize];
            let slot = new as u32;
            cold.text_off = copy(
                &old.text,
                &mut store.text,
                cold.text_off,
                cold.text_ends[1] as usize + 1,
                slot,
            );
            cold.data_off = copy(
                &old.data,
                &mut store.data,
                cold.data_off,
                cold.data_ends[3] as usize + 1,
                slot,
            );
            store.hot.push(old.hot[s as usize]);
            store.cold.push(cold);
            store.revenue.push(old.revenue[s as usize]);
        }
        drop(old);
        let n = store.hot.len() as u32;
        let mut by_key = HashTable::with_capacity(n as usize);
        for slot in 0..n {
            let hash = self.hasher.hash_one(store.key(slot));
            by_key.insert_unique(hash, slot, |s| self.hasher.hash_one(store.key(*s)));
        }
        let by_date: Vec<u32> = (0..n).collect();
        let mut by_name = by_date.clone();
        // Unnamed last; ties by Date order, which is the slot order.
        by_name.sort_unstable_by(|a, b| {
            cmp_names(store.name_lc(*a), store.name_lc(*b)).then(a.cmp(b))
        });
        let mut by_touch = by_date.clone();
        by_touch.sort_unstable_by_key(|s| (store.touch(*s), *s));
        self.by_date = Blocks::from_sorted(&by_date);
        self.by_name = Blocks::from_sorted(&by_name);
        self.by_touch = Blocks::from_sorted(&by_touch);
        self.by_key = by_key;
        self.store = store;
        self.live = n as usize;
        self.counts = Counts::default();
        for slot in 0..n {
            self.counts.change(self.counted(slot), true);
        }
    }

    fn facts(&self, slot: u32) -> LeadFacts {
        let s = &self.store;
        let (h, c) = (&s.hot[slot as usize], &s.cold[slot as usize]);
        let opt = |t: &str| (!t.is_empty()).then(|| t.to_owned());
        let text = |t: String| (!t.is_empty()).then_some(t);
        LeadFacts {
            key: s.key(slot).to_owned(),
            date: time(h.date()),
            channel: CHANNELS
                .get(h.channel as usize)
                .copied()
                .unwrap_or("other")
                .to_owned(),
            name: text(s.name(slot)),
            phone: opt(s.phone(slot)),
            email: text(s.email(slot)),
            first_source: self.sources.get(h.src),
            last_source: self.sources.get(c.last_src),
            first_touched_at: (h.wait != UNTOUCHED).then(|| time(c.touch())),
            other_phones: self
                .other_phones
                .get(s.key(slot))
                .map(|p| p.to_vec())
                .unwrap_or_default(),
            engaged: h.flags & ENGAGED != 0,
            one_message: h.flags & ONE_MESSAGE != 0,
            purchases: self.purchases_of(slot).to_vec(),
            sendable: h.capi != CAPI_NOT_SENDABLE,
            click_at: self.click_of(slot),
            window_passed: h.timing & LATE != 0,
            in_window: h.timing & IN_WINDOW != 0,
        }
    }

    /// A sendable lead's click, to the second.
    #[inline]
    fn click_of(&self, slot: u32) -> Option<DateTime<Utc>> {
        let (h, c) = (
            &self.store.hot[slot as usize],
            &self.store.cold[slot as usize],
        );
        (h.capi != CAPI_NOT_SENDABLE && c.click != NO_CLICK)
            .then(|| time((h.date_s + i64::from(c.click), 0)))
    }

    /// A lead's attributed purchases (none unless it is a buyer).
    #[inline]
    pub(super) fn purchases_of(&self, slot: u32) -> &[Purchase] {
        if self.store.hot[slot as usize].flags & BUYER == 0 {
            return &[];
        }
        self.buys.get(slot)
    }

    /// The lead of a contact, if it is one.
    pub fn get(&self, key: &str) -> Option<LeadFacts> {
        self.slot_of(key).map(|s| self.facts(s))
    }

    pub fn stats(&self) -> Stats {
        let s = &self.store;
        let bytes = s.hot.capacity() * std::mem::size_of::<Hot>()
            + s.cold.capacity() * std::mem::size_of::<Cold>()
            + s.revenue.capacity() * std::mem::size_of::<Minor>()
            + self.buys.heap_bytes()
            + s.text.heap_bytes()
            + s.data.heap_bytes()
            + self.by_key.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.by_date.heap_bytes()
            + self.by_name.heap_bytes()
            + self.by_touch.heap_bytes()
            + self.counts.heap_bytes()
            + self
                .sources
                .list
                .iter()
                .map(|s| {
                    200 + s.platform.len()
                        + s.id.as_ref().map_or(0, String::len)
                        + s.name.as_ref().map_or(0, String::len)
                        + s.url.as_ref().map_or(0, String::len)
                })
                .sum::<usize>();
        Stats {
            leads: self.live,
            index_bytes: bytes,
            bytes_per_lead: bytes.checked_div(self.live).unwrap_or(0),
            sources: self.sources.list.len() - 1,
        }
    }
}
