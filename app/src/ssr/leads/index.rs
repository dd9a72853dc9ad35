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

use super::blocks::{Blocks, Pos};
use super::counts::{Counted, Counts, Hour};
use crate::model::{Chart, DayCount, FirstResponse, Source, SourceCount, SourceRef, Summary};
use crate::ssr::event::CHANNELS;
use crate::ssr::filter::{Cursor, Filter, SortField};
use crate::ssr::phone;
use crate::ssr::rules::{LeadFacts, day_range};

/// A time as (seconds, nanoseconds) since 1970 UTC: orders like the time.
pub type Stamp = (i64, u32);

/// The day (index into `bounds`, where day d runs from `bounds[d]` to
/// `bounds[d + 1]`) of a time inside the range. Days of exactly 24 hours
/// (zones without daylight saving, such as Indonesia's) are found by
/// division; a binary search was most of a year's summary.
fn day_finder(bounds: &[Stamp]) -> impl Fn(Stamp) -> usize + '_ {
    let days = bounds.len().saturating_sub(1).max(1);
    let uniform = bounds
        .windows(2)
        .all(|w| w[1].0 - w[0].0 == 86_400 && w[0].1 == 0 && w[1].1 == 0);
    let start = bounds.first().map_or(0, |b| b.0);
    move |t: Stamp| {
        let day = if uniform {
            usize::try_from((t.0 - start).div_euclid(86_400)).unwrap_or(0)
        } else {
            bounds[1..days].partition_point(|b| *b <= t)
        };
        day.min(days - 1)
    }
}

fn stamp(t: DateTime<Utc>) -> Stamp {
    (t.timestamp(), t.timestamp_subsec_nanos())
}

fn time(s: Stamp) -> DateTime<Utc> {
    DateTime::from_timestamp(s.0, s.1).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

const NONE_TOUCH: Stamp = (i64::MAX, u32::MAX);
const UNTOUCHED: u32 = u32::MAX;
/// Waits of 136 years and more are read from `cold` instead.
const WAIT_SATURATED: u32 = u32::MAX - 1;

const ALIVE: u8 = 1;
const KEY_IS_PHONE: u8 = 2;

#[derive(Clone, Copy, Debug)]
struct Hot {
    /// The Date as seconds and nanoseconds (two fields: a tuple would pad).
    date_s: i64,
    date_ns: u32,
    /// Interned first source, 0 = none.
    src: u32,
    /// Whole seconds from Date to First Touched At; [`UNTOUCHED`] if none.
    wait: u32,
    channel: u8,
    flags: u8,
}

#[derive(Clone, Copy, Debug)]
struct Cold {
    touch_s: i64,
    touch_ns: u32,
    last_src: u32,
    /// Where this lead's records start in the two arenas.
    text_off: u32,
    data_off: u32,
    /// Ends of the text record's fields (name, e-mail), relative to `text_off`.
    text_ends: [u16; 2],
    /// Ends of the data record's fields (phone, key, name, e-mail).
    data_ends: [u16; 4],
}

impl Hot {
    fn date(&self) -> Stamp {
        (self.date_s, self.date_ns)
    }
}

impl Cold {
    fn touch(&self) -> Stamp {
        (self.touch_s, self.touch_ns)
    }
}

/// The longest record a lead may have in either arena.
const MAX_RECORD: usize = u16::MAX as usize;

/// How the display form of a name or e-mail is had back from its lower-cased
/// form (flags of `Hot`).
const NAME_TITLE: u8 = 4;
const NAME_STORED: u8 = 8;
const EMAIL_STORED: u8 = 16;

/// Records of `\0`-terminated fields, appended; a record no lead points at
/// any more is dead until the next rebuild.
#[derive(Default)]
struct Arena {
    bytes: Vec<u8>,
    /// `(offset, slot)` of every record, in arena order.
    owners: Vec<(u32, u32)>,
    dead: usize,
}

impl Arena {
    fn append<const N: usize>(&mut self, slot: u32, parts: [&str; N]) -> Option<(u32, [u16; N])> {
        let len: usize = parts.iter().map(|p| p.len() + 1).sum();
        if len > MAX_RECORD {
            return None;
        }
        let off = u32::try_from(self.bytes.len()).ok()?;
        grow(&mut self.bytes, len, 1 << 16);
        grow(&mut self.owners, 1, 1024);
        let mut ends = [0u16; N];
        for (i, part) in parts.iter().enumerate() {
            self.bytes.extend_from_slice(part.as_bytes());
            ends[i] = (self.bytes.len() - off as usize) as u16;
            self.bytes.push(0);
        }
        self.owners.push((off, slot));
        Some((off, ends))
    }

    fn get(&self, off: u32, from: u16, to: u16) -> &str {
        let off = off as usize;
        std::str::from_utf8(&self.bytes[off + from as usize..off + to as usize]).unwrap_or("")
    }

    /// Finds `needle` everywhere; for each hit in a record calls
    /// `hit(owner offset, slot, offset in the record)`, which says whether the
    /// record is decided (the search then jumps to the next record).
    fn find_all(&self, needle: &[u8], hit: impl FnMut(u32, u32, usize) -> bool) {
        if needle.is_empty() {
            return;
        }
        let finder = memchr::memmem::Finder::new(needle);
        self.scan(|at| finder.find(&self.bytes[at..]).map(|p| at + p), hit);
    }

    /// `next(at)`: the next hit at or after `at`.
    fn scan(
        &self,
        mut next: impl FnMut(usize) -> Option<usize>,
        mut hit: impl FnMut(u32, u32, usize) -> bool,
    ) {
        let mut at = 0;
        while let Some(pos) = next(at) {
            let rec = self.owners.partition_point(|(off, _)| *off as usize <= pos) - 1;
            let (off, slot) = self.owners[rec];
            at = if hit(off, slot, pos - off as usize) {
                self.owners
                    .get(rec + 1)
                    .map_or(self.bytes.len(), |(o, _)| *o as usize)
            } else {
                pos + 1
            };
        }
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.owners.capacity() * 8
    }
}

#[derive(Default)]
struct Store {
    hot: Vec<Hot>,
    cold: Vec<Cold>,
    text: Arena,
    data: Arena,
}

/// Where a lead's text went.
struct Placed {
    text_off: u32,
    text_ends: [u16; 2],
    data_off: u32,
    data_ends: [u16; 4],
    /// `NAME_TITLE`, `NAME_STORED`, `EMAIL_STORED`.
    modes: u8,
}

/// Capitalises the first letter of every word.
fn title_case(lower: &str) -> String {
    let mut out = String::with_capacity(lower.len());
    let mut start = true;
    for c in lower.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    out
}

impl Store {
    fn text_field(&self, slot: u32, i: usize) -> &str {
        let c = &self.cold[slot as usize];
        let from = if i == 0 { 0 } else { c.text_ends[i - 1] + 1 };
        self.text.get(c.text_off, from, c.text_ends[i])
    }

    fn data_field(&self, slot: u32, i: usize) -> &str {
        let c = &self.cold[slot as usize];
        let from = if i == 0 { 0 } else { c.data_ends[i - 1] + 1 };
        self.data.get(c.data_off, from, c.data_ends[i])
    }

    /// The lower-cased name ("" without one): what the name sort compares.
    fn name_lc(&self, slot: u32) -> &str {
        self.text_field(slot, 0)
    }

    fn name(&self, slot: u32) -> String {
        let flags = self.hot[slot as usize].flags;
        if flags & NAME_STORED != 0 {
            self.data_field(slot, 2).to_owned()
        } else if flags & NAME_TITLE != 0 {
            title_case(self.name_lc(slot))
        } else {
            self.name_lc(slot).to_owned()
        }
    }

    fn email(&self, slot: u32) -> String {
        if self.hot[slot as usize].flags & EMAIL_STORED != 0 {
            self.data_field(slot, 3).to_owned()
        } else {
            self.text_field(slot, 1).to_owned()
        }
    }

    fn phone(&self, slot: u32) -> &str {
        self.data_field(slot, 0)
    }

    fn key(&self, slot: u32) -> &str {
        if self.hot[slot as usize].flags & KEY_IS_PHONE != 0 {
            self.phone(slot)
        } else {
            self.data_field(slot, 1)
        }
    }

    /// Appends a lead's records; `None` when its key does not fit.
    fn append(&mut self, slot: u32, lead: &LeadFacts) -> Option<Placed> {
        let key_is_phone = lead.phone.as_deref() == Some(lead.key.as_str());
        let phone = lead.phone.as_deref().unwrap_or("");
        let key = if key_is_phone { "" } else { lead.key.as_str() };
        if key.len() + phone.len() + 4 > MAX_RECORD / 2 {
            return None;
        }
        // Names and e-mails longer than a record allows are shortened.
        let name = clip(lead.name.as_deref().unwrap_or(""), MAX_RECORD / 8);
        let email = clip(lead.email.as_deref().unwrap_or(""), MAX_RECORD / 8);
        let (name_lc, email_lc) = (name.to_lowercase(), email.to_lowercase());
        let mut modes = 0;
        let stored_name = if name_lc == name {
            ""
        } else if title_case(&name_lc) == name {
            modes |= NAME_TITLE;
            ""
        } else {
            modes |= NAME_STORED;
            name
        };
        let stored_email = if email_lc == email {
            ""
        } else {
            modes |= EMAIL_STORED;
            email
        };
        let (text_off, text_ends) = self.text.append(slot, [&name_lc, &email_lc])?;
        let (data_off, data_ends) = self
            .data
            .append(slot, [phone, key, stored_name, stored_email])?;
        Some(Placed {
            text_off,
            text_ends,
            data_off,
            data_ends,
            modes,
        })
    }

    fn kill_records(&mut self, slot: u32) {
        let c = &self.cold[slot as usize];
        self.text.dead += c.text_ends[1] as usize + 1;
        self.data.dead += c.data_ends[3] as usize + 1;
    }
}

/// Makes room for `more` items, growing by an eighth (at least `step`)
/// rather than doubling: a million leads would otherwise carry up to as much
/// unused capacity as used.
fn grow<T>(v: &mut Vec<T>, more: usize, step: usize) {
    if v.capacity() - v.len() < more {
        v.reserve_exact(more.max(v.len() / 8).max(step));
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Sources interned by value; grouped by rule 5's sameness for summaries.
#[derive(Default)]
struct Sources {
    list: Vec<Source>,
    ids: HashMap<Source, u32>,
    /// Group of each interned source.
    group: Vec<u32>,
    groups: HashMap<(String, Option<String>, Option<String>), u32>,
    /// The first source seen of each group: what summaries show.
    group_first: Vec<u32>,
}

impl Sources {
    fn new() -> Self {
        let mut s = Sources::default();
        // Id 0: no source.
        s.list.push(Source {
            platform: String::new(),
            kind: String::new(),
            id: None,
            name: None,
            url: None,
        });
        s.group.push(0);
        s.group_first.push(0);
        s
    }

    fn intern(&mut self, src: Option<&Source>) -> u32 {
        let Some(src) = src else { return 0 };
        if let Some(id) = self.ids.get(src) {
            return *id;
        }
        let id = self.list.len() as u32;
        let identity = match &src.id {
            Some(i) => (src.platform.clone(), Some(i.clone()), None),
            None => (src.platform.clone(), None, src.name.clone()),
        };
        let next_group = self.group_first.len() as u32;
        let group = *self.groups.entry(identity).or_insert(next_group);
        if group == next_group {
            self.group_first.push(id);
        }
        self.list.push(src.clone());
        self.ids.insert(src.clone(), id);
        self.group.push(group);
        id
    }

    fn get(&self, id: u32) -> Option<Source> {
        (id != 0).then(|| self.list[id as usize].clone())
    }
}

/// One page of leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub leads: Vec<LeadFacts>,
    pub total: u64,
    /// Where this page ended, when another page follows.
    pub next: Option<Cursor>,
}

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
    /// Counts the layouts: a rebuild moves slots and starts the next epoch.
    epoch: u64,
    /// Exports in progress, and how slots moved since the oldest began.
    pins: std::sync::Mutex<Pins>,
}

/// Exports hold slots; a rebuild renumbers slots. So while any export is
/// open, each rebuild records where every slot went, and an export brings
/// its slots up to date before it reads (no lead twice, none missing, none
/// of another lead).
#[derive(Default)]
struct Pins {
    /// Open exports by the epoch their slots are in.
    open: std::collections::BTreeMap<u64, usize>,
    /// (epoch before a rebuild, the new slot of each old slot or
    /// [`GONE`]), for the epochs open exports still need.
    moves: Vec<(u64, std::sync::Arc<[u32]>)>,
}

/// A slot that no longer holds its lead.
const GONE: u32 = u32::MAX;

impl Pins {
    fn close(&mut self, epoch: u64) {
        if let Some(n) = self.open.get_mut(&epoch) {
            *n -= 1;
            if *n == 0 {
                self.open.remove(&epoch);
            }
        }
        let oldest = self.open.keys().next().copied();
        self.moves.retain(|(e, _)| oldest.is_some_and(|o| *e >= o));
    }
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
            epoch: 0,
            pins: std::sync::Mutex::default(),
        }
    }
}

/// Compares lower-cased names as the page sorts them: leads without a name
/// last.
fn cmp_names(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.cmp(b),
    }
}

impl Store {
    fn touch(&self, slot: u32) -> Stamp {
        if self.hot[slot as usize].wait == UNTOUCHED {
            NONE_TOUCH
        } else {
            self.cold[slot as usize].touch()
        }
    }

    fn cmp_date(&self, a: u32, b: u32) -> Ordering {
        let (ha, hb) = (&self.hot[a as usize], &self.hot[b as usize]);
        ha.date()
            .cmp(&hb.date())
            .then_with(|| self.key(a).cmp(self.key(b)))
    }

    fn cmp_name(&self, a: u32, b: u32) -> Ordering {
        cmp_names(self.name_lc(a), self.name_lc(b)).then_with(|| self.cmp_date(a, b))
    }

    fn cmp_touch(&self, a: u32, b: u32) -> Ordering {
        self.touch(a)
            .cmp(&self.touch(b))
            .then_with(|| self.cmp_date(a, b))
    }

    fn cmp(&self, field: SortField, a: u32, b: u32) -> Ordering {
        match field {
            SortField::Date => self.cmp_date(a, b),
            SortField::Name => self.cmp_name(a, b),
            SortField::FirstTouch => self.cmp_touch(a, b),
        }
    }

    /// A slot against a cursor, in the order of `field`.
    fn cmp_cursor(&self, field: SortField, slot: u32, c: &Cursor) -> Ordering {
        let date_key = || {
            self.hot[slot as usize]
                .date()
                .cmp(&c.date)
                .then_with(|| self.key(slot).cmp(c.key.as_str()))
        };
        match field {
            SortField::Date => date_key(),
            SortField::Name => {
                cmp_names(self.name_lc(slot), c.name.as_deref().unwrap_or("")).then_with(date_key)
            }
            SortField::FirstTouch => self
                .touch(slot)
                .cmp(&c.touch.unwrap_or(NONE_TOUCH))
                .then_with(date_key),
        }
    }

    fn cursor(&self, slot: u32) -> Cursor {
        let name = self.name_lc(slot);
        let touch = self.touch(slot);
        Cursor {
            date: self.hot[slot as usize].date(),
            touch: (touch != NONE_TOUCH).then_some(touch),
            name: (!name.is_empty()).then(|| name.to_owned()),
            key: self.key(slot).to_owned(),
        }
    }
}

/// The conditions of a filter other than its date range and paging.
struct Pred<'a> {
    channels: Option<u16>,
    sources: Option<Vec<bool>>,
    touched: Option<bool>,
    matches: Option<Vec<u64>>,
    range: (Stamp, Stamp),
    store: &'a Store,
}

impl Pred<'_> {
    fn is_trivial(&self) -> bool {
        self.channels.is_none()
            && self.sources.is_none()
            && self.touched.is_none()
            && self.matches.is_none()
    }

    /// Everything but the date range.
    #[inline]
    fn test(&self, slot: u32) -> bool {
        let h = &self.store.hot[slot as usize];
        if h.flags & ALIVE == 0 {
            return false;
        }
        if let Some(mask) = self.channels {
            if mask & (1u16 << h.channel) == 0 {
                return false;
            }
        }
        if let Some(ok) = &self.sources {
            if !ok.get(h.src as usize).copied().unwrap_or(false) {
                return false;
            }
        }
        if let Some(t) = self.touched {
            if (h.wait != UNTOUCHED) != t {
                return false;
            }
        }
        if let Some(bits) = &self.matches {
            let s = slot as usize;
            if bits.get(s / 64).is_none_or(|w| w & (1u64 << (s % 64)) == 0) {
                return false;
            }
        }
        true
    }

    fn in_range(&self, slot: u32) -> bool {
        let d = self.store.hot[slot as usize].date();
        d >= self.range.0 && d < self.range.1
    }
}

impl LeadIndex {
    /// An index of `leads` (in any order), laid out in Date order.
    pub fn build(leads: impl IntoIterator<Item = LeadFacts>) -> Self {
        let mut index = LeadIndex::default();
        for lead in leads {
            if index.push(&lead).is_some() {
                index.note_phones(&lead);
            }
        }
        index.rebuild();
        index
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
        self.store.hot.push(hot);
        self.store.cold.push(cold);
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
        let hot = Hot {
            date_s: date.0,
            date_ns: date.1,
            src: self.sources.intern(lead.first_source.as_ref()),
            wait,
            channel,
            flags,
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
        let (hot, cold) = self.entries(lead, &placed);
        self.store.hot[slot as usize] = hot;
        self.store.cold[slot as usize] = cold;
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

    /// Removes a lead (e.g. its contact became a known customer).
    pub fn remove(&mut self, key: &str) {
        if let Some(slot) = self.slot_of(key) {
            self.relink(slot, [true; 3], false);
            self.counts.change(self.counted(slot), false);
            self.store.kill_records(slot);
            self.kill(slot);
        }
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
        let moves = pinned.then(|| {
            let mut to = vec![GONE; old.hot.len()];
            for (new, &s) in order.iter().enumerate() {
                to[s as usize] = new as u32;
            }
            to
        });
        self.moved(moves);
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
        }
    }

    /// The lead of a contact, if it is one.
    pub fn get(&self, key: &str) -> Option<LeadFacts> {
        self.slot_of(key).map(|s| self.facts(s))
    }

    fn pred(&self, f: &Filter) -> Pred<'_> {
        let channels = (!f.channels.is_empty()).then(|| {
            f.channels
                .iter()
                .filter_map(|c| CHANNELS.iter().position(|k| k == c))
                .fold(0u16, |m, i| m | (1u16 << i))
        });
        let sources = f.source.as_deref().map(|want| {
            self.sources
                .list
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    // `none`: leads without a first source (organic).
                    if want == "none" {
                        i == 0
                    } else {
                        i != 0 && (s.platform == want || s.id.as_deref() == Some(want))
                    }
                })
                .collect()
        });
        Pred {
            channels,
            sources,
            touched: f.touched,
            matches: f.q.as_deref().map(|q| self.search(q, &f.q_phone)),
            range: (stamp(f.start), stamp(f.end)),
            store: &self.store,
        }
    }

    /// The slots whose name or e-mail holds `q` (lower-cased), or whose
    /// phone holds one of the digit strings `digits`, as a bit set. Each
    /// string is one SIMD substring pass over its arena.
    fn search(&self, q: &str, digits: &[String]) -> Vec<u64> {
        let s = &self.store;
        let mut bits = vec![0u64; s.hot.len() / 64 + 1];
        let live = |slot: u32| s.hot[slot as usize].flags & ALIVE != 0;
        s.text.find_all(q.as_bytes(), |off, slot, _| {
            let ok = s.cold[slot as usize].text_off == off && live(slot);
            if ok {
                bits[slot as usize / 64] |= 1u64 << (slot % 64);
            }
            // A hit in a dead record: its lead's live record lies elsewhere.
            true
        });
        // A form with a trunk `0` (`0812…`) is the national number: the rest
        // must follow the country code. Other forms may stand anywhere in the
        // digits. One SIMD pass per form: forms are few, and digits are too
        // alike for a multi-pattern prefilter to skip much.
        for d in digits {
            let national = d.strip_prefix('0').filter(|_| !d.starts_with("00"));
            let needle = national.unwrap_or(d);
            if needle.is_empty() {
                // "0": every phone has a national form starting with 0.
                for slot in 0..s.hot.len() as u32 {
                    if live(slot) && !s.phone(slot).is_empty() {
                        bits[slot as usize / 64] |= 1u64 << (slot % 64);
                    }
                }
                continue;
            }
            s.data.find_all(needle.as_bytes(), |off, slot, rel| {
                let c = &s.cold[slot as usize];
                if c.data_off != off || !live(slot) {
                    return true;
                }
                // Only the phone field counts, not the key.
                let ok = rel < c.data_ends[0] as usize
                    && national.is_none_or(|_| {
                        phone::country_code_len(&s.phone(slot)[1..]).map(|n| n + 1) == Some(rel)
                    });
                if ok {
                    bits[slot as usize / 64] |= 1u64 << (slot % 64);
                }
                ok
            });
            // The few leads with other numbers, one by one.
            for (key, phones) in &self.other_phones {
                let hit = phones.iter().any(|p| match national {
                    Some(n) => phone::country_code_len(&p[1..])
                        .is_some_and(|cc| p[1 + cc..].starts_with(n)),
                    None => p.contains(needle),
                });
                if let Some(slot) = hit.then(|| self.slot_of(key)).flatten() {
                    bits[slot as usize / 64] |= 1u64 << (slot % 64);
                }
            }
        }
        bits
    }

    /// How many leads of the date range `range` meet `pred`, read one by one.
    fn count(&self, range: (Stamp, Stamp), pred: &Pred) -> usize {
        let mut n = 0;
        self.scan(range, pred, |_| n += 1);
        n
    }

    /// Calls `f` with every lead of the date range `range` that meets
    /// `pred`, in no particular order. A range holding a good share of all
    /// leads is read in slot order, memory in sequence (the Date order
    /// jumps around memory when leads arrived out of Date order: three
    /// times slower over a year of leads); a smaller one through the Date
    /// order.
    fn scan(&self, range: (Stamp, Stamp), pred: &Pred, mut f: impl FnMut(u32)) {
        let (a, b) = self.date_bounds(range);
        let n = self.by_date.rank(b) - self.by_date.rank(a);
        let hot = &self.store.hot;
        if n * 4 >= hot.len() {
            for (slot, h) in hot.iter().enumerate() {
                let d = h.date();
                if d >= range.0 && d < range.1 && pred.test(slot as u32) {
                    f(slot as u32);
                }
            }
        } else {
            for slot in self.by_date.slices_from(a, n).flatten().copied() {
                if pred.test(slot) {
                    f(slot);
                }
            }
        }
    }

    /// Where the date range `[start, end)` lies in the Date order.
    fn date_bounds(&self, range: (Stamp, Stamp)) -> (Pos, Pos) {
        let h = &self.store.hot;
        (
            self.by_date
                .partition_point(|s| h[s as usize].date() < range.0),
            self.by_date
                .partition_point(|s| h[s as usize].date() < range.1),
        )
    }

    /// How many leads of the range `[lo, lo + n)` of the Date order meet
    /// `pred` (no search). One dimension alone (channel, answered, source)
    /// adds up the hourly counts of the whole hours and reads only the leads
    /// of the partial hours at both ends; otherwise every lead is read.
    fn filtered_total(&self, pred: &Pred) -> usize {
        let dims = [
            pred.channels.is_some(),
            pred.sources.is_some(),
            pred.touched.is_some(),
        ];
        let (start, end) = pred.range;
        // The first whole hour at or after the start, the last one's end.
        let first =
            Counts::hour_of(start.0) + i64::from(start.0.rem_euclid(3600) != 0 || start.1 != 0);
        let last = Counts::hour_of(end.0);
        if dims.iter().filter(|d| **d).count() != 1 || first >= last {
            return self.count(pred.range, pred);
        }
        let per_hour = |h: &Hour| -> u64 {
            if let Some(mask) = pred.channels {
                (0..16)
                    .filter(|i| mask & (1u16 << i) != 0)
                    .map(|i| u64::from(h.channel[i]))
                    .sum()
            } else if let Some(t) = pred.touched {
                u64::from(if t { h.touched } else { h.total - h.touched })
            } else if let Some(ok) = &pred.sources {
                h.sources
                    .iter()
                    .filter(|(src, _)| ok.get(*src as usize).copied().unwrap_or(false))
                    .map(|(_, n)| u64::from(*n))
                    .sum()
            } else {
                0
            }
        };
        self.counts.sum(first..last, per_hour) as usize
            + self.count((start, (first * 3600, 0)), pred)
            + self.count(((last * 3600, 0), end), pred)
    }

    /// Where the page after cursor `c` starts in `order`: descending, the
    /// first position not before the cursor (read backwards from there);
    /// ascending, the first position after it.
    fn resume(&self, order: &Blocks, field: SortField, c: &Cursor, desc: bool) -> Pos {
        let store = &self.store;
        if desc {
            order.partition_point(|s| store.cmp_cursor(field, s, c) == Ordering::Less)
        } else {
            order.partition_point(|s| store.cmp_cursor(field, s, c) != Ordering::Greater)
        }
    }

    /// One page for `f`, and how many leads match in all.
    pub fn page(&self, f: &Filter) -> Page {
        let pred = self.pred(f);
        let (lo, hi) = self.date_bounds(pred.range);
        let in_range = self.by_date.rank(hi) - self.by_date.rank(lo);
        // A search gives a bit set: its leads are found from the set, not by
        // reading the whole range.
        let searched: Option<Vec<u32>> = pred.matches.as_ref().map(|bits| {
            let mut out = Vec::new();
            for (w, word) in bits.iter().enumerate() {
                let mut word = *word;
                while word != 0 {
                    let slot = (w * 64 + word.trailing_zeros() as usize) as u32;
                    word &= word - 1;
                    if pred.in_range(slot) && pred.test(slot) {
                        out.push(slot);
                    }
                }
            }
            out
        });
        let total = match &searched {
            Some(found) => found.len(),
            None if pred.is_trivial() => in_range,
            None => self.filtered_total(&pred),
        };
        let want = f.limit + 1;
        let store = &self.store;
        let field = f.sort.field;
        let after = |s: u32| match &f.after {
            None => true,
            Some(c) => {
                let o = store.cmp_cursor(field, s, c);
                if f.sort.desc {
                    o == Ordering::Less
                } else {
                    o == Ordering::Greater
                }
            }
        };
        let desc = f.sort.desc;
        let slots: Vec<u32> = if total <= 2048 {
            // Few matches: sort them.
            let mut m: Vec<u32> = match searched {
                Some(found) => found.into_iter().filter(|s| after(*s)).collect(),
                None => self
                    .by_date
                    .slices_from(lo, in_range)
                    .flatten()
                    .copied()
                    .filter(|s| pred.test(*s) && after(*s))
                    .collect(),
            };
            let by = |a: &u32, b: &u32| store.cmp(field, *a, *b);
            if desc {
                m.sort_unstable_by(|a, b| by(b, a));
            } else {
                m.sort_unstable_by(by);
            }
            m.truncate(want);
            m
        } else if field == SortField::Date {
            let d = &self.by_date;
            let resume = f.after.as_ref().map(|c| self.resume(d, field, c, desc));
            // The cursor's place, kept inside the date range.
            let (start, n) = if desc {
                let start = resume.filter(|p| d.rank(*p) < d.rank(hi)).unwrap_or(hi);
                (start, d.rank(start).saturating_sub(d.rank(lo)))
            } else {
                let start = resume.filter(|p| d.rank(*p) > d.rank(lo)).unwrap_or(lo);
                (start, d.rank(hi).saturating_sub(d.rank(start)))
            };
            let walk: Box<dyn Iterator<Item = u32>> = if desc {
                Box::new(d.iter_before(start))
            } else {
                Box::new(d.iter_from(start))
            };
            walk.take(n).filter(|s| pred.test(*s)).take(want).collect()
        } else {
            // Many matches: walk the sort's own order from the cursor.
            let order = if field == SortField::Name {
                &self.by_name
            } else {
                &self.by_touch
            };
            let keep = |s: &u32| pred.in_range(*s) && pred.test(*s);
            let resume = f.after.as_ref().map(|c| self.resume(order, field, c, desc));
            if desc {
                let start = resume.unwrap_or(order.end());
                order.iter_before(start).filter(keep).take(want).collect()
            } else {
                let start = resume.unwrap_or(order.partition_point(|_| false));
                order.iter_from(start).filter(keep).take(want).collect()
            }
        };
        let more = slots.len() > f.limit;
        let shown = &slots[..slots.len().min(f.limit)];
        Page {
            leads: shown.iter().map(|s| self.facts(*s)).collect(),
            total: total as u64,
            next: if more {
                shown.last().map(|s| store.cursor(*s))
            } else {
                None
            },
        }
    }

    /// Totals and breakdowns of every lead matching `f` (paging ignored).
    pub fn summary(&self, f: &Filter) -> Summary {
        self.summary_and_chart(f, None).0
    }

    /// The summary and, with `top = Some(n)`, the per-day chart stacked by
    /// the `n` largest first sources (and "other"): one pass over the range.
    pub fn summary_and_chart(&self, f: &Filter, top: Option<usize>) -> (Summary, Chart) {
        let pred = self.pred(f);
        let days = (f.to - f.from).num_days().max(0) as usize + 1;
        // Day d runs from bounds[d] to bounds[d + 1].
        let bounds: Vec<Stamp> = (0..=days)
            .map(|i| {
                f.from
                    .checked_add_days(chrono::Days::new(i as u64))
                    .map_or(pred.range.1, |d| stamp(day_range(d, d, f.tz).0))
            })
            .collect();
        let mut by_day = vec![0u64; days];
        let groups = self.sources.group_first.len();
        let mut by_group = vec![0u64; groups];
        // The waits of answered leads, and each one's source group.
        let mut waits: Vec<i64> = Vec::new();
        let mut wait_groups: Vec<u32> = Vec::new();
        // With a chart: each counted lead's (day, group).
        let mut day_group: Vec<(u32, u32)> = Vec::new();
        let mut first_response = FirstResponse::default();
        let mut total = 0u64;
        let day_of = day_finder(&bounds);
        self.scan(pred.range, &pred, |slot| {
            let h = &self.store.hot[slot as usize];
            let day = day_of(h.date());
            by_day[day] += 1;
            total += 1;
            let group = self.sources.group[h.src as usize];
            by_group[group as usize] += 1;
            if top.is_some() {
                day_group.push((day as u32, group));
            }
            let wait = self.wait(slot);
            first_response.add(wait);
            if let Some(w) = wait {
                waits.push(w);
                wait_groups.push(group);
            }
        });
        let touched = waits.len() as u64;
        // Medians per group: the waits laid out group by group (a counting
        // sort, linear), then a selection in each group's slice.
        let mut start = vec![0usize; groups + 1];
        for g in &wait_groups {
            start[*g as usize + 1] += 1;
        }
        for i in 0..groups {
            start[i + 1] += start[i];
        }
        let mut by_group_waits = vec![0i64; waits.len()];
        let mut next = start.clone();
        for (w, g) in waits.iter().zip(&wait_groups) {
            by_group_waits[next[*g as usize]] = *w;
            next[*g as usize] += 1;
        }
        let group_stats: Vec<(u64, Option<i64>)> = (0..groups)
            .map(|g| {
                let slice = &mut by_group_waits[start[g]..start[g + 1]];
                (slice.len() as u64, median_of(slice))
            })
            .collect();
        let median_all = median_of(&mut waits);
        let mut order: Vec<usize> = (0..groups).filter(|g| by_group[*g] > 0).collect();
        let source_ref = |g: usize| {
            self.sources
                .get(self.sources.group_first[g])
                .map(|s| SourceRef {
                    platform: s.platform,
                    id: s.id,
                    name: s.name,
                })
        };
        let refs: Vec<Option<SourceRef>> = (0..groups)
            .map(|g| if by_group[g] > 0 { source_ref(g) } else { None })
            .collect();
        order.sort_by(|a, b| {
            by_group[*b].cmp(&by_group[*a]).then_with(|| {
                let label = |g: usize| {
                    refs[g]
                        .as_ref()
                        .map(|s| (s.platform.clone(), s.id.clone(), s.name.clone()))
                };
                label(*a).cmp(&label(*b))
            })
        });
        let by_source: Vec<SourceCount> = order
            .iter()
            .map(|g| SourceCount {
                source: refs[*g].clone(),
                count: by_group[*g],
                touched: group_stats[*g].0,
                median_first_touch_seconds: group_stats[*g].1,
            })
            .collect();
        let day_name = |i: usize| {
            f.from
                .checked_add_days(chrono::Days::new(i as u64))
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        let chart = match top {
            None => Chart::default(),
            Some(n) => {
                let shown = &order[..order.len().min(n)];
                let other = order.len() > shown.len();
                let width = shown.len() + usize::from(other);
                let mut series_of = vec![width.saturating_sub(1); groups];
                for (i, g) in shown.iter().enumerate() {
                    series_of[*g] = i;
                }
                let mut counts = vec![vec![0u64; width]; days];
                for (d, g) in day_group {
                    counts[d as usize][series_of[g as usize]] += 1;
                }
                Chart {
                    series: shown.iter().map(|g| refs[*g].clone()).collect(),
                    other,
                    days: counts
                        .into_iter()
                        .enumerate()
                        .map(|(i, c)| (day_name(i), c))
                        .collect(),
                }
            }
        };
        let summary = Summary {
            total,
            touched,
            untouched: total - touched,
            median_first_touch_seconds: median_all,
            by_day: by_day
                .into_iter()
                .enumerate()
                .map(|(i, count)| DayCount {
                    day: day_name(i),
                    count,
                })
                .collect(),
            by_source,
            first_response,
            previous: None,
        };
        (summary, chart)
    }

    /// Seconds from a lead's Date to its First Touched At, if answered.
    fn wait(&self, slot: u32) -> Option<i64> {
        let h = &self.store.hot[slot as usize];
        match h.wait {
            UNTOUCHED => None,
            WAIT_SATURATED => {
                let c = &self.store.cold[slot as usize];
                Some((time(c.touch()) - time(h.date())).num_seconds())
            }
            w => Some(i64::from(w)),
        }
    }

    /// Total, answered and the median wait of the leads matching `f`: the
    /// previous period's figures, without days, sources or a chart.
    pub fn totals(&self, f: &Filter) -> (u64, u64, Option<i64>) {
        let pred = self.pred(f);
        let mut total = 0u64;
        let mut waits: Vec<i64> = Vec::new();
        self.scan(pred.range, &pred, |slot| {
            total += 1;
            waits.extend(self.wait(slot));
        });
        (total, waits.len() as u64, median_of(&mut waits))
    }

    /// The slots of every lead matching `f`, in its sort order: what an
    /// export lists, fixed when it starts (4 bytes a lead).
    pub fn snapshot(&self, f: &Filter) -> Vec<u32> {
        let pred = self.pred(f);
        let (lo, hi) = self.date_bounds(pred.range);
        let in_range = self.by_date.rank(hi) - self.by_date.rank(lo);
        let keep = |s: &u32| pred.test(*s);
        match (f.sort.field, f.sort.desc) {
            (SortField::Date, false) => self
                .by_date
                .iter_from(lo)
                .take(in_range)
                .filter(keep)
                .collect(),
            (SortField::Date, true) => self
                .by_date
                .iter_before(hi)
                .take(in_range)
                .filter(keep)
                .collect(),
            (field, desc) => {
                let order = if field == SortField::Name {
                    &self.by_name
                } else {
                    &self.by_touch
                };
                let keep = |s: &u32| pred.in_range(*s) && pred.test(*s);
                if desc {
                    order.iter_before(order.end()).filter(keep).collect()
                } else {
                    order
                        .iter_from(order.partition_point(|_| false))
                        .filter(keep)
                        .collect()
                }
            }
        }
    }

    fn pins(&self) -> std::sync::MutexGuard<'_, Pins> {
        // A panic elsewhere while holding it leaves valid data.
        self.pins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the next epoch; `moves` (when exports are open) says where
    /// each slot of the last one went.
    fn moved(&mut self, moves: Option<Vec<u32>>) {
        let epoch = self.epoch;
        if let Some(m) = moves {
            self.pins().moves.push((epoch, m.into()));
        }
        self.epoch += 1;
    }

    /// An export begins: its snapshot's slots are of the epoch answered.
    pub fn pin(&self) -> u64 {
        *self.pins().open.entry(self.epoch).or_default() += 1;
        self.epoch
    }

    /// An export of `epoch` ended.
    pub fn unpin(&self, epoch: u64) {
        self.pins().close(epoch);
    }

    /// Brings `slots` of an export at `epoch` to the current layout and
    /// answers the current epoch (the export's from now on).
    pub fn follow(&self, epoch: u64, slots: &mut [u32]) -> u64 {
        if epoch == self.epoch {
            return epoch;
        }
        let mut pins = self.pins();
        for (_, to) in pins.moves.iter().filter(|(e, _)| *e >= epoch) {
            for s in slots.iter_mut() {
                *s = to.get(*s as usize).copied().unwrap_or(GONE);
            }
        }
        *pins.open.entry(self.epoch).or_default() += 1;
        pins.close(epoch);
        self.epoch
    }

    /// The leads of snapshot slots that are still leads.
    pub fn rows(&self, slots: &[u32]) -> Vec<LeadFacts> {
        slots
            .iter()
            .filter(|s| {
                self.store
                    .hot
                    .get(**s as usize)
                    .is_some_and(|h| h.flags & ALIVE != 0)
            })
            .map(|s| self.facts(*s))
            .collect()
    }

    pub fn stats(&self) -> Stats {
        let s = &self.store;
        let bytes = s.hot.capacity() * std::mem::size_of::<Hot>()
            + s.cold.capacity() * std::mem::size_of::<Cold>()
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

/// The median, the mean of the two middle values for an even count, rounded.
/// The median of `values` (the mean of the two middle ones, rounded, for
/// an even count).
fn median_of(values: &mut [i64]) -> Option<i64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let b = *values.select_nth_unstable(mid).1;
    let a = if n % 2 == 0 {
        // The largest value below the middle one.
        values[..mid].iter().copied().max().unwrap_or(b)
    } else {
        b
    };
    Some(a + ((b - a) as f64 / 2.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::domain::summary::summarize;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;
    use std::collections::HashMap as StdMap;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .expect("t")
    }

    fn ad(id: u8) -> Source {
        Source {
            platform: if id % 3 == 0 { "tiktok" } else { "meta" }.into(),
            kind: "ad".into(),
            id: Some(format!("ad{id}")),
            name: Some(format!("Promo {id}")),
            url: None,
        }
    }

    fn lead(i: u32, minutes: i64, name: u8, touch: Option<i64>, src: u8, chan: u8) -> LeadFacts {
        let date = t0() + Duration::minutes(minutes) + Duration::nanoseconds(i64::from(i % 3));
        let phone = (chan != 1).then(|| format!("+62812{:07}", i));
        LeadFacts {
            key: phone.clone().unwrap_or_else(|| format!("instagram:{i}")),
            date,
            channel: ["whatsapp", "instagram", "web"][chan as usize % 3].into(),
            name: (name > 0).then(|| {
                ["Budi Santoso", "budi", "Sari", "ÉLODIE", "Ani"][name as usize % 5].to_owned()
            }),
            phone,
            email: (name % 2 == 1).then(|| format!("p{i}@Contoh.id")),
            first_source: (src > 0).then(|| ad(src)),
            last_source: (src > 1).then(|| ad(src - 1)),
            first_touched_at: touch.map(|w| date + Duration::seconds(w)),
            other_phones: Vec::new(),
        }
    }

    fn arb_lead(i: u32) -> impl Strategy<Value = LeadFacts> {
        (
            0..20_000i64,
            0..6u8,
            prop::option::of(0..5000i64),
            0..5u8,
            0..3u8,
        )
            .prop_map(move |(m, n, t, s, c)| lead(i, m, n, t, s, c))
    }

    fn filter(pairs: &[(&str, &str)]) -> Filter {
        let params: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Filter::parse(&params, chrono_tz::Asia::Jakarta, t0() + Duration::days(13)).expect("filter")
    }

    /// The spec's wording, one lead at a time.
    fn matches(l: &LeadFacts, f: &Filter) -> bool {
        let q_ok = match &f.q {
            None => true,
            Some(q) => {
                let text = |s: &Option<String>| {
                    s.as_deref()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains(q.as_str())
                };
                let forms = l
                    .phone
                    .as_deref()
                    .map(phone::search_forms)
                    .unwrap_or_default();
                text(&l.name)
                    || text(&l.email)
                    || f.q_phone.iter().any(|d| forms.contains(d.as_str()))
            }
        };
        l.date >= f.start
            && l.date < f.end
            && q_ok
            && (f.channels.is_empty() || f.channels.contains(&l.channel))
            && f.source.as_deref().is_none_or(|s| match &l.first_source {
                None => s == "none",
                Some(x) => s != "none" && (x.platform == s || x.id.as_deref() == Some(s)),
            })
            && f.touched.is_none_or(|t| l.first_touched_at.is_some() == t)
    }

    type SortKey = (bool, String, DateTime<Utc>, DateTime<Utc>, String);

    fn sort_key(l: &LeadFacts, field: SortField) -> SortKey {
        let far = DateTime::<Utc>::MAX_UTC;
        match field {
            SortField::Date => (false, String::new(), l.date, far, l.key.clone()),
            SortField::Name => (
                l.name.is_none(),
                l.name.as_deref().unwrap_or("").to_lowercase(),
                l.date,
                far,
                l.key.clone(),
            ),
            SortField::FirstTouch => (
                l.first_touched_at.is_none(),
                String::new(),
                l.first_touched_at.unwrap_or(far),
                l.date,
                l.key.clone(),
            ),
        }
    }

    fn expected(leads: &StdMap<String, LeadFacts>, f: &Filter) -> Vec<LeadFacts> {
        let mut m: Vec<LeadFacts> = leads.values().filter(|l| matches(l, f)).cloned().collect();
        m.sort_by_key(|l| sort_key(l, f.sort.field));
        if f.sort.desc {
            m.reverse();
        }
        m
    }

    /// Every page of `f`, following cursors.
    fn all_pages(index: &LeadIndex, f: &Filter) -> (Vec<LeadFacts>, u64) {
        let mut f = f.clone();
        let mut out = Vec::new();
        let first = index.page(&f);
        let total = first.total;
        let mut page = first;
        loop {
            assert!(page.leads.len() <= f.limit);
            out.extend(page.leads);
            match page.next {
                Some(c) => f.after = Some(c),
                None => return (out, total),
            }
            page = index.page(&f);
        }
    }

    const FILTERS: &[&[(&str, &str)]] = &[
        &[],
        &[("from", "2026-11-03"), ("to", "2026-11-08")],
        &[("touched", "no")],
        &[("touched", "yes"), ("channel", "whatsapp,web")],
        &[("channel", "instagram")],
        &[("channel", "whatsapp,web"), ("tz", "Asia/Kolkata")],
        &[
            ("touched", "yes"),
            ("tz", "Asia/Kathmandu"),
            ("from", "2026-11-02"),
            ("to", "2026-11-03"),
        ],
        // New York's clocks go back on 2026-11-01: a day of 25 hours.
        &[
            ("tz", "America/New_York"),
            ("from", "2026-10-31"),
            ("to", "2026-11-05"),
        ],
        &[("source", "meta")],
        &[("source", "ad3")],
        &[("source", "none")],
        &[("q", "budi")],
        &[("q", "contoh")],
        &[("q", "0812000")],
        &[("q", "+62 0812-0000")],
        &[("q", "0062812000")],
        &[("q", "élodie")],
        &[("q", "zzz")],
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        #[test]
        fn pages_totals_and_summaries_match_the_rules(
            first in prop::collection::vec((0..400u32).prop_flat_map(arb_lead), 0..300),
            later in prop::collection::vec((0..400u32).prop_flat_map(arb_lead), 0..150),
            limit in 1..40usize,
        ) {
            // Built at start, then changed by committed leads.
            let mut model: StdMap<String, LeadFacts> = StdMap::new();
            for l in &first { model.insert(l.key.clone(), l.clone()); }
            let mut index = LeadIndex::build(model.values().cloned());
            for l in &later {
                index.upsert(l);
                model.insert(l.key.clone(), l.clone());
            }
            prop_assert_eq!(index.len(), model.len());
            for pairs in FILTERS {
                for sort in ["-date", "date", "name", "-name", "first_touched_at", "-first_touched_at"] {
                    let mut p: Vec<(&str, &str)> = vec![("from", "2026-10-25")];
                    p.extend_from_slice(pairs);
                    let lim = limit.to_string();
                    p.push(("sort", sort));
                    p.push(("limit", &lim));
                    // Explicit days in `pairs` win over the defaults above.
                    let mut dedup: Vec<(&str, &str)> = Vec::new();
                    for (k, v) in p.iter().rev() {
                        if !dedup.iter().any(|(k2, _)| k2 == k) { dedup.push((k, v)); }
                    }
                    let f = filter(&dedup);
                    let want = expected(&model, &f);
                    let (got, total) = all_pages(&index, &f);
                    prop_assert_eq!(total as usize, want.len(), "{:?} {}", pairs, sort);
                    prop_assert_eq!(&got, &want, "{:?} {}", pairs, sort);
                    let export = index.rows(&index.snapshot(&f));
                    prop_assert_eq!(&export, &want, "export {:?} {}", pairs, sort);
                }
                let f = filter(&[&[("from", "2026-10-25")], *pairs].concat());
                let want: Vec<LeadFacts> = expected(&model, &f);
                // Sources of equal count may come in either order.
                let norm = |mut s: Summary| {
                    s.by_source.sort_by_key(|c| (std::cmp::Reverse(c.count), c.source.as_ref().map(|s| (s.platform.clone(), s.id.clone()))));
                    s
                };
                let (summary, chart) = index.summary_and_chart(&f, Some(3));
                prop_assert_eq!(norm(summary.clone()), norm(summarize(&want, f.from, f.to, f.tz)), "{:?}", pairs);
                // The chart's stacks add up to the days, its series to the sources.
                prop_assert_eq!(chart.days.len(), summary.by_day.len());
                for ((day, stack), d) in chart.days.iter().zip(&summary.by_day) {
                    prop_assert_eq!(day, &d.day);
                    prop_assert_eq!(stack.iter().sum::<u64>(), d.count);
                }
                for (i, series) in chart.series.iter().enumerate() {
                    let n: u64 = chart.days.iter().map(|(_, c)| c[i]).sum();
                    prop_assert_eq!(series, &summary.by_source[i].source);
                    prop_assert_eq!(n, summary.by_source[i].count);
                }
                prop_assert_eq!(chart.other, summary.by_source.len() > 3);
                prop_assert_eq!(
                    index.totals(&f),
                    (summary.total, summary.touched, summary.median_first_touch_seconds)
                );
            }
        }
    }

    #[test]
    fn pages_never_skip_or_repeat_while_leads_arrive() {
        let mut index =
            LeadIndex::build((0..300).map(|i| lead(i, i64::from(i) * 7, 1, None, 1, 0)));
        for sort in [
            "-date",
            "date",
            "name",
            "-name",
            "first_touched_at",
            "-first_touched_at",
        ] {
            let mut f = filter(&[("from", "2026-10-25"), ("sort", sort), ("limit", "25")]);
            let mut seen = std::collections::HashSet::new();
            let mut next_new = 10_000;
            loop {
                let page = index.page(&f);
                for l in &page.leads {
                    assert!(seen.insert(l.key.clone()), "{sort}: {} twice", l.key);
                }
                // New leads arrive between pages, before and after the cursor.
                for m in [0, 1000, 20_000] {
                    index.upsert(&lead(next_new, m, 2, Some(5), 2, 0));
                    next_new += 1;
                }
                match page.next {
                    Some(c) => f.after = Some(c),
                    None => break,
                }
            }
            for i in 0..300 {
                assert!(
                    seen.contains(&format!("+62812{i:07}")),
                    "{sort}: lead {i} missed"
                );
            }
        }
    }

    #[test]
    fn phone_searches_in_any_format() {
        let index = LeadIndex::build([lead(1234567, 10, 5, None, 0, 0)]);
        for q in [
            "0812123",
            "62812123",
            "+62 812-123",
            "+62 0812 123",
            "0062812123",
            "SANTOSO",
            "contoh.ID",
        ] {
            let f = filter(&[("from", "2026-10-25"), ("q", q)]);
            assert_eq!(index.page(&f).total, 1, "{q}");
        }
        for q in ["0813", "santosa", "instagram"] {
            let f = filter(&[("from", "2026-10-25"), ("q", q)]);
            assert_eq!(index.page(&f).total, 0, "{q}");
        }
    }

    /// The review's case: a snapshot, two of its three leads removed, a
    /// rebuild (here triggered by renames with long names), then the rest
    /// read: exactly the one lead left, never another.
    #[test]
    fn an_export_holds_exactly_its_leads_across_rebuilds() {
        let mut index = LeadIndex::build((1..=3).map(|i| lead(i, 10 * i as i64, 1, None, 0, 0)));
        let f = filter(&[("from", "2026-10-25")]);
        let epoch = index.pin();
        let mut slots = index.snapshot(&f);
        assert_eq!(slots.len(), 3);
        index.remove(&lead(1, 0, 0, None, 0, 0).key);
        index.remove(&lead(3, 0, 0, None, 0, 0).key);
        // Others arrive and are renamed until the dead text triggers a rebuild.
        let before = index.epoch;
        for i in 10..400u32 {
            let mut l = lead(i, 5, 1, None, 0, 0);
            index.upsert(&l);
            l.name = Some("x".repeat(8000));
            index.upsert(&l);
            l.name = Some("y".repeat(8000));
            index.upsert(&l);
        }
        assert!(index.epoch > before, "a rebuild happened");
        let now = index.follow(epoch, &mut slots);
        assert_eq!(now, index.epoch);
        let rows = index.rows(&slots);
        assert_eq!(rows, vec![lead(2, 20, 1, None, 0, 0)]);
        index.unpin(now);
        assert!(index.pins().open.is_empty() && index.pins().moves.is_empty());
    }

    #[test]
    fn a_lead_is_found_by_any_of_its_numbers() {
        let mut moved = lead(1, 10, 1, None, 0, 0);
        moved.other_phones = vec!["+6285711112222".into()];
        let mut index = LeadIndex::build([moved.clone(), lead(2, 20, 2, None, 0, 0)]);
        for q in ["+62 857-1111-2222", "085711112222", "11112222"] {
            let f = filter(&[("from", "2026-10-25"), ("q", q)]);
            assert_eq!(index.page(&f).leads, vec![moved.clone()], "{q}");
        }
        // A national form must follow the country code there too.
        let f = filter(&[("from", "2026-10-25"), ("q", "062857")]);
        assert_eq!(index.page(&f).total, 0);
        // The numbers go with the lead.
        moved.other_phones.clear();
        index.upsert(&moved);
        let f = filter(&[("from", "2026-10-25"), ("q", "085711112222")]);
        assert_eq!(index.page(&f).total, 0);
    }

    #[test]
    fn a_changed_lead_moves_and_its_text_is_searched_anew() {
        let mut index = LeadIndex::build([lead(1, 10, 1, None, 0, 0), lead(2, 20, 2, None, 0, 0)]);
        let mut renamed = lead(1, 30, 2, Some(60), 1, 0);
        renamed.name = Some("Dewi".into());
        index.upsert(&renamed);
        let f = filter(&[("from", "2026-10-25"), ("q", "dewi")]);
        assert_eq!(index.page(&f).leads, vec![renamed.clone()]);
        let f = filter(&[("from", "2026-10-25"), ("q", "budi")]);
        assert_eq!(index.page(&f).total, 0);
        let f = filter(&[("from", "2026-10-25")]);
        assert_eq!(index.page(&f).leads[0], renamed);
        index.remove(&renamed.key);
        assert_eq!(index.page(&f).total, 1);
    }

    #[test]
    fn compact_enough_when_built_and_when_grown() {
        let make = |i: u32| {
            lead(
                i,
                i64::from(i),
                1 + (i % 5) as u8,
                Some(30),
                (i % 5) as u8,
                (i % 3) as u8,
            )
        };
        let mut index = LeadIndex::build((0..20_000).map(make));
        let s = index.stats();
        assert_eq!(s.leads, 20_000);
        assert!(s.bytes_per_lead <= 200, "built: {s:?}");
        // Grown one committed lead at a time, as ingest does.
        for i in 20_000..60_000 {
            index.upsert(&make(i));
        }
        let s = index.stats();
        assert_eq!(s.leads, 60_000);
        assert!(s.bytes_per_lead <= 200, "grown: {s:?}");
    }
}
