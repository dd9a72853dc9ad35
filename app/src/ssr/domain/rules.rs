//! The lead rules of `shared/spec/leads.md`, pure: no I/O, no clock.
//!
//! A contact's facts are kept in a [`ContactState`] that every event is
//! folded into. Each field is a minimum or maximum over the events in the
//! order "occurred_at, then id" (rule 7), so folding the same *set* of
//! events in any order, in any batches, with repeats, gives the same state.
//! The storage layer only loads and stores these states.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::event::{ConversionType, Event, Kind};
use super::money::Minor;
use crate::model::Source;

/// What deriving a lead depends on besides its events: two settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// Rule 8's inactivity timeout (`LEADS_SESSION_TIMEOUT`): where session 1 ends.
    pub session_timeout: Duration,
    /// How long after its Date a lead's conversions count for it
    /// (`LEADS_ATTRIBUTION_DAYS`).
    pub attribution: Duration,
}

impl Default for Terms {
    fn default() -> Self {
        Terms {
            session_timeout: Duration::hours(24),
            attribution: Duration::days(28),
        }
    }
}

/// What a mark is: an inbound or outbound message, or a `resolved` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MarkKind {
    #[serde(rename = "i")]
    In,
    #[serde(rename = "o")]
    Out,
    #[serde(rename = "r")]
    Resolved,
}

/// One message or `resolved` event at its place in rule 7's order: what
/// session 1's end (rule 8) and the lead quality flags are read from.
/// Stored as `[time, id, kind]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mark(pub DateTime<Utc>, pub String, pub MarkKind);

/// The most marks a contact keeps of each part: the earliest ones, and the
/// earliest from the lead's Date on, which hold session 1 for all but a
/// session of hundreds of messages (then it counts no further inbound
/// messages). A contact with hundreds of broadcasts before it first wrote
/// keeps its session 1 that way.
pub const MARKS_MAX: usize = 256;

/// One conversion of the contact (`shared/spec/outcomes.md`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConversionMark {
    pub at: DateTime<Utc>,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ConversionType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Minor>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub meta: bool,
}

/// The most conversions a contact keeps of each part: the earliest, and
/// the earliest from the lead's Date on (those its window can hold).
pub const CONVERSIONS_MAX: usize = 64;

/// Inserts `item` into the sorted, duplicate-free `list`.
fn insert_sorted<T: Ord>(list: &mut Vec<T>, item: T) {
    if let Err(pos) = list.binary_search(&item) {
        list.insert(pos, item);
    }
}

/// Keeps the earliest `max` items of the sorted `list` and the earliest
/// `max` from index `from` on (the first at or after the lead's Date);
/// answers the last item dropped.
fn trim<T>(list: &mut Vec<T>, max: usize, from: usize) -> Option<T> {
    if list.len() <= max {
        return None;
    }
    let end = from.saturating_add(max);
    let mut dropped = None;
    let old = std::mem::take(list);
    for (i, x) in old.into_iter().enumerate() {
        if i < max || (from..end).contains(&i) {
            list.push(x);
        } else {
            dropped = Some(x);
        }
    }
    dropped
}

/// A point in the event order: time first, event id breaks ties (rule 7).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    pub at: DateTime<Utc>,
    pub id: String,
}

impl Stamp {
    fn of(ev: &Event) -> Self {
        Stamp {
            at: ev.occurred_at,
            id: ev.id.clone(),
        }
    }
}

/// A value remembered together with the stamp of the event that gave it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub stamp: Stamp,
    pub value: T,
}

/// Keeps the stamped value with the smaller (`keep_min`) or larger stamp.
fn merge<T: Clone>(slot: &mut Option<Stamped<T>>, stamp: &Stamp, value: &T, keep_min: bool) {
    let replace = match slot {
        None => true,
        Some(cur) if keep_min => *stamp < cur.stamp,
        Some(cur) => *stamp > cur.stamp,
    };
    if replace {
        *slot = Some(Stamped {
            stamp: stamp.clone(),
            value: value.clone(),
        });
    }
}

/// Everything the lead rules need to know about one contact. Stored as
/// JSON, empty values left out (fewer bytes a row, less to parse at start).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactState {
    /// The contact's key: the smallest key of all its identifiers.
    pub key: String,
    /// The most recent phone of the contact (the one of the latest event
    /// that names a phone: after a number change, the new number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The stamp of the event that gave `phone` (absent in states stored
    /// before aliases: then any stamped phone wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_at: Option<Stamp>,
    /// `phone` is the new number of a number change (`channels.md`: "the
    /// most recent phone, by the time of the change"): a later event that
    /// still names an old number (a status to it) does not bring it back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub phone_changed: bool,
    /// The other keys of the same person (`shared/spec/channels.md`: one
    /// person, several identifiers), sorted. Their events are this
    /// contact's events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The latest channel id of the person seen on any event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<Stamped<String>>,
    /// Rule 2: the earliest inbound message (its value is its channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_inbound: Option<Stamped<String>>,
    /// The latest inbound message: another than the first means the lead
    /// is no "one message" lead (`outcomes.md`). Absent in states stored
    /// before it: then the kept `marks` tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound: Option<Stamp>,
    /// Rule 5: the earliest and the latest inbound message with a source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_source: Option<Stamped<Source>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_source: Option<Stamped<Source>>,
    /// Rule 7: the latest non-empty name and e-mail, from any event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Stamped<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Stamped<String>>,
    /// Rule 6: the earliest agent/AI answer at or after the lead's Date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_touch: Option<DateTime<Utc>>,
    /// Agent/AI answers before the lead's Date (all of them while there is no
    /// lead yet), sorted. A late, earlier inbound message moves the Date back
    /// and may turn one of these into the First Touched At.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub early_touches: Vec<DateTime<Utc>>,
    /// Rule 4: imported as an existing customer; never listed as a new lead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known_customer: bool,
    /// The earliest messages and `resolved` events (at most [`MARKS_MAX`]):
    /// session 1 for the quality flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    /// The earliest conversions, and the earliest from the Date on (at
    /// most [`CONVERSIONS_MAX`] each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversions: Vec<ConversionMark>,
    /// The time of the latest mark or conversion left out of the lists (a
    /// contact with hundreds): a Date that moves to it or before may need
    /// one of them, and the store then folds the contact again in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<DateTime<Utc>>,
    /// The Meta ad click that brought the contact: the one of its earliest
    /// inbound message or referral carrying a click's identifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub click: Option<Stamped<AdClick>>,
}

/// The identifiers of a Meta ad click, as the Conversions API names the
/// person (`shared/spec/meta-capi.md`): on WhatsApp the click id and the
/// WhatsApp Business Account; on Messenger and Instagram the Page or
/// account and the user's id there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdClick {
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The click id is another person's too, who holds it
    /// (`Event::click_shared`): this person's events at Meta are named
    /// apart from the holder's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
}

/// How a Messenger contact's id starts when it is a website chat plugin's
/// `user_ref` (the website's own name for a guest), not a Meta user id.
pub const USER_REF: &str = "ref:";

impl AdClick {
    /// The click an inbound message or referral carries, if any: on
    /// WhatsApp a `ctwa_clid`, on Messenger/Instagram an ad's referral.
    pub fn of(ev: &Event) -> Option<AdClick> {
        if !(ev.is_inbound() || ev.kind == Kind::Referral) {
            return None;
        }
        let click = |clid: Option<&String>, user: Option<&String>| AdClick {
            channel: ev.channel.clone(),
            clid: clid.cloned(),
            account: ev.meta_account.clone(),
            user: user.cloned(),
            shared: ev.click_shared && clid.is_some(),
        };
        match ev.channel.as_str() {
            "whatsapp" => ev.ctwa_clid.as_ref().map(|c| click(Some(c), None)),
            // Only a Meta ad's referral is a click Meta can be told of: an
            // ad of another platform (through the API) is none.
            "messenger" | "instagram" => ev
                .source
                .as_ref()
                .filter(|s| s.kind == "ad" && s.platform.eq_ignore_ascii_case("meta"))
                .map(|_| {
                    // A chat plugin's guest has no user id Meta knows.
                    let user = ev.external_id.as_ref().filter(|u| !u.starts_with(USER_REF));
                    click(None, user)
                }),
            _ => None,
        }
    }

    /// Why Meta could not be told about this click, if it cannot: an
    /// identifier the Conversions API needs is missing.
    pub fn missing(&self) -> Option<&'static str> {
        match self.channel.as_str() {
            "whatsapp" if self.clid.is_none() => Some("no_click_id"),
            _ if self.account.is_none() => Some("no_account"),
            "messenger" | "instagram" if self.user.is_none() => Some("no_user_id"),
            "whatsapp" | "messenger" | "instagram" => None,
            _ => Some("no_click_id"),
        }
    }
}

impl ContactState {
    pub fn new(key: &str) -> Self {
        ContactState {
            key: key.to_owned(),
            ..Default::default()
        }
    }

    /// The lead's Date (rule 2), if the contact has written at all.
    pub fn date(&self) -> Option<DateTime<Utc>> {
        self.first_inbound.as_ref().map(|s| s.stamp.at)
    }

    /// Folds one event in (an event of this contact or of one of its
    /// aliases). Commutative and idempotent over events.
    pub fn apply(&mut self, ev: &Event) {
        let stamp = Stamp::of(ev);
        if let Some(p) = &ev.phone {
            self.set_phone(p, Some(&stamp), ev.is_number_change());
        }
        if let Some(x) = &ev.external_id {
            merge(&mut self.external_id, &stamp, x, false);
        }
        if let Some(name) = &ev.name {
            merge(&mut self.name, &stamp, name, false);
        }
        if let Some(email) = &ev.email {
            merge(&mut self.email, &stamp, email, false);
        }
        if ev.kind == Kind::Known {
            self.mark_known_customer();
        }
        if ev.kind == Kind::Conversion {
            // An outcome: no message, no lead, no touch.
            if let Some(c) = &ev.conversion {
                let mark = ConversionMark {
                    at: ev.occurred_at,
                    id: ev.id.clone(),
                    kind: c.kind,
                    value: c.value,
                    meta: c.detected_by_meta,
                };
                insert_sorted(&mut self.conversions, mark);
                self.trim_lists();
            }
            return;
        }
        if ev.kind == Kind::Resolved {
            let mark = Mark(ev.occurred_at, ev.id.clone(), MarkKind::Resolved);
            insert_sorted(&mut self.marks, mark);
            self.trim_lists();
        }
        if ev.kind == Kind::Link {
            // Ties identifiers (the store groups them); gives the phone,
            // name and e-mail it names, nothing else.
            return;
        }
        if ev.kind == Kind::Referral {
            // A source seen before (or between) messages counts like one on
            // an inbound message (rule 5), without being a message.
            if let Some(src) = &ev.source {
                merge(&mut self.first_source, &stamp, src, true);
                merge(&mut self.last_source, &stamp, src, false);
            }
            self.note_click(ev, &stamp);
            return;
        }
        if ev.kind != Kind::Message {
            return;
        }
        let kind = if ev.is_inbound() {
            MarkKind::In
        } else {
            MarkKind::Out
        };
        insert_sorted(&mut self.marks, Mark(ev.occurred_at, ev.id.clone(), kind));
        if ev.is_inbound() {
            merge(&mut self.first_inbound, &stamp, &ev.channel, true);
            self.note_last_inbound(&stamp);
            if let Some(src) = &ev.source {
                merge(&mut self.first_source, &stamp, src, true);
                merge(&mut self.last_source, &stamp, src, false);
            }
            self.release_early_touches();
            self.note_click(ev, &stamp);
        } else if ev.is_touch() {
            self.add_touch(ev.occurred_at);
        }
        self.trim_lists();
    }

    fn note_last_inbound(&mut self, stamp: &Stamp) {
        if self.last_inbound.as_ref().is_none_or(|l| stamp > l) {
            self.last_inbound = Some(stamp.clone());
        }
    }

    /// The earliest click is the contact's (a minimum: any order gives it).
    fn note_click(&mut self, ev: &Event, stamp: &Stamp) {
        if let Some(c) = AdClick::of(ev) {
            merge(&mut self.click, stamp, &c, true);
        }
    }

    /// Keeps each list's earliest items and its earliest from the Date on,
    /// noting the latest time left out.
    fn trim_lists(&mut self) {
        let date = self.first_inbound.as_ref().map(|f| &f.stamp);
        let from = date.map_or(self.marks.len(), |d| {
            self.marks
                .partition_point(|m| (m.0, m.1.as_str()) < (d.at, d.id.as_str()))
        });
        let m = trim(&mut self.marks, MARKS_MAX, from).map(|m| m.0);
        let from = date.map_or(self.conversions.len(), |d| {
            self.conversions.partition_point(|c| c.at < d.at)
        });
        let c = trim(&mut self.conversions, CONVERSIONS_MAX, from).map(|c| c.at);
        self.cut = self.cut.max(m).max(c);
    }

    /// Whether a mark or conversion this state left out may be one its
    /// lead needs: the Date (`before` it, the stored one; `None` when not
    /// known) moved to or before the latest left out. The store then folds
    /// the contact again from its stored events in their order, which
    /// keeps exactly what the lead needs.
    pub fn may_lack_kept(&self, before: Option<DateTime<Utc>>) -> bool {
        match (self.cut, self.date()) {
            (Some(cut), Some(d)) => cut >= d && before.is_none_or(|b| d < b),
            // A full list without `cut`: kept by a build that kept only
            // the earliest (what it left out is not known), or one that
            // has not been folded in order since it filled up.
            (None, Some(_)) => self.full(),
            _ => false,
        }
    }

    fn full(&self) -> bool {
        self.marks.len() >= MARKS_MAX || self.conversions.len() >= CONVERSIONS_MAX
    }

    /// After a fold in rule 7's order: a full list is complete as it is,
    /// which `cut` says (a time before any event's), so it is not folded
    /// again for being full.
    pub fn folded_in_order(&mut self) {
        if self.cut.is_none() && self.full() {
            self.cut = Some(DateTime::<Utc>::UNIX_EPOCH);
        }
    }

    /// The new number of the latest number change, else the phone of the
    /// latest event that names one (rule 7's order): a maximum, so any
    /// order gives it.
    fn set_phone(&mut self, phone: &str, stamp: Option<&Stamp>, change: bool) {
        let newer = match (&self.phone_at, stamp, &self.phone) {
            (_, _, None) => true,
            _ if change != self.phone_changed => change,
            (Some(cur), Some(s), _) => s > cur,
            (None, Some(_), _) => true,
            (Some(_), None, _) => false,
            // Two unstamped phones (states from before aliases): the
            // smaller one, so that the outcome does not depend on order.
            (None, None, Some(cur)) => phone < cur.as_str(),
        };
        if newer {
            self.phone = Some(phone.to_owned());
            self.phone_at = stamp.cloned();
            self.phone_changed = change;
        }
    }

    /// Takes in another contact's state: afterwards this state is what
    /// folding the events of both would give (the rules' fields are each a
    /// minimum or maximum, and answers are kept so that a moved Date finds
    /// its First Touched At). Used when a tie makes two contacts one.
    pub fn absorb(&mut self, other: &ContactState) {
        if let Some(p) = &other.phone {
            self.set_phone(p, other.phone_at.as_ref(), other.phone_changed);
        }
        let keep = |slot: &mut Option<Stamped<_>>, o: &Option<Stamped<_>>, min: bool| {
            if let Some(o) = o {
                merge(slot, &o.stamp, &o.value, min);
            }
        };
        keep(&mut self.external_id, &other.external_id, false);
        keep(&mut self.name, &other.name, false);
        keep(&mut self.email, &other.email, false);
        if let Some(o) = &other.first_inbound {
            merge(&mut self.first_inbound, &o.stamp, &o.value, true);
        }
        if let Some(o) = &other.last_inbound {
            self.note_last_inbound(o);
        }
        if let Some(o) = &other.first_source {
            merge(&mut self.first_source, &o.stamp, &o.value, true);
        }
        if let Some(o) = &other.last_source {
            merge(&mut self.last_source, &o.stamp, &o.value, false);
        }
        if let Some(o) = &other.click {
            merge(&mut self.click, &o.stamp, &o.value, true);
        }
        self.known_customer |= other.known_customer;
        for m in &other.marks {
            insert_sorted(&mut self.marks, m.clone());
        }
        for c in &other.conversions {
            insert_sorted(&mut self.conversions, c.clone());
        }
        self.cut = self.cut.max(other.cut);
        self.trim_lists();
        // Every answer either side kept: before its own Date all of them,
        // at or after it the first (later ones cannot be first any more).
        let mut touches: Vec<DateTime<Utc>> = std::mem::take(&mut self.early_touches);
        touches.extend(other.early_touches.iter().copied());
        touches.extend(self.first_touch.take());
        touches.extend(other.first_touch);
        touches.sort_unstable();
        touches.dedup();
        for t in touches {
            self.add_touch(t);
        }
        for k in std::iter::once(&other.key).chain(&other.aliases) {
            if *k != self.key {
                self.aliases.push(k.clone());
            }
        }
        self.aliases.sort_unstable();
        self.aliases.dedup();
    }

    /// The same state under another key (the group's new smallest key):
    /// the old key becomes one of its aliases.
    pub fn rekey(&mut self, key: &str) {
        if self.key == key {
            return;
        }
        let old = std::mem::replace(&mut self.key, key.to_owned());
        self.aliases.push(old);
        self.aliases.retain(|a| a != key);
        self.aliases.sort_unstable();
        self.aliases.dedup();
    }

    /// Every key of the contact: its own and its aliases'.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    fn add_touch(&mut self, at: DateTime<Utc>) {
        match self.date() {
            Some(date) if at >= date => {
                self.first_touch = Some(self.first_touch.map_or(at, |t| t.min(at)));
            }
            _ => {
                if let Err(pos) = self.early_touches.binary_search(&at) {
                    self.early_touches.insert(pos, at);
                }
            }
        }
    }

    /// After the Date moved back, answers at or after it count (rule 6).
    fn release_early_touches(&mut self) {
        let Some(date) = self.date() else { return };
        let split = self.early_touches.partition_point(|t| *t < date);
        if let Some(first) = self.early_touches.get(split).copied() {
            self.first_touch = Some(self.first_touch.map_or(first, |t| t.min(first)));
        }
        self.early_touches.truncate(split);
    }

    /// Imported as an existing customer (rule 4).
    pub fn mark_known_customer(&mut self) {
        self.known_customer = true;
    }

    /// Lead quality (`shared/spec/outcomes.md`): whether the customer wrote
    /// again in session 1 after the First Touched At (engaged), and whether
    /// the first message stayed their only inbound message (one message:
    /// "the lead's only inbound message is the first one", so a message in
    /// a later session counts too).
    fn quality(&self, timeout: Duration) -> (Option<DateTime<Utc>>, bool) {
        let Some(first) = &self.first_inbound else {
            return (None, false);
        };
        let at = (first.stamp.at, first.stamp.id.as_str());
        let start = self.marks.partition_point(|m| (m.0, m.1.as_str()) < at);
        // States stored before marks existed (or a first message beyond
        // the kept marks) tell nothing of session 1.
        if self.marks.get(start).is_none_or(|m| m.1 != first.stamp.id) {
            return (None, false);
        }
        let (mut last, mut engaged) = (first.stamp.at, None);
        for m in &self.marks[start + 1..] {
            if m.0 - last >= timeout || m.2 == MarkKind::Resolved {
                break;
            }
            if m.2 == MarkKind::In && engaged.is_none() && self.first_touch.is_some_and(|t| m.0 > t)
            {
                engaged = Some(m.0);
            }
            last = m.0;
        }
        // Any inbound message after the first, in session 1 or later.
        let other = match &self.last_inbound {
            Some(last) => *last != first.stamp,
            None => self
                .marks
                .iter()
                .any(|m| m.2 == MarkKind::In && m.1 != first.stamp.id),
        };
        (engaged, !other)
    }

    /// When the lead became engaged: its first inbound message in session 1
    /// after the First Touched At.
    pub fn engaged_at(&self, terms: &Terms) -> Option<DateTime<Utc>> {
        self.quality(terms.session_timeout).0
    }

    /// The purchases that count for a lead of Date `date`: at or after it
    /// and within the attribution window (its last instant included).
    fn purchases(&self, date: DateTime<Utc>, window: Duration) -> Vec<Purchase> {
        self.conversions
            .iter()
            .filter(|c| c.kind == ConversionType::Purchase && attributed(date, window, c.at))
            .map(|c| Purchase {
                at: c.at,
                value: c.value.unwrap_or(0),
            })
            .collect()
    }

    /// The WhatsApp user id of a person who hides their phone, the most
    /// recent one (`channels.md`: "the most recent phone (by the time of the
    /// change), else the user id"): the id of the latest event naming one,
    /// so after a user id change the new id from the change's time on.
    fn latest_user_id(&self) -> Option<String> {
        let x = &self.external_id.as_ref()?.value;
        whatsapp_user_id(&format!("whatsapp:{x}")).map(str::to_owned)
    }

    /// Whether the contact is a lead (rules 2–4), without deriving it.
    pub fn is_lead(&self) -> bool {
        !self.known_customer && self.first_inbound.is_some()
    }

    /// The lead this contact is, if it is one (rules 2–6), with its quality
    /// and attributed purchases under `terms`.
    pub fn lead(&self, terms: &Terms) -> Option<LeadFacts> {
        if !self.is_lead() {
            return None;
        }
        let first = self.first_inbound.as_ref()?;
        let (engaged_at, one_message) = self.quality(terms.session_timeout);
        let engaged = engaged_at.is_some();
        let timing = super::capi::timing(self, terms, engaged_at);
        let first_source = self.first_source.as_ref().map(|s| s.value.clone());
        let last_source = self.last_source.as_ref().map(|s| s.value.clone());
        Some(LeadFacts {
            key: self.key.clone(),
            date: first.stamp.at,
            channel: first.value.clone(),
            name: self.name.as_ref().map(|s| s.value.clone()),
            phone: self.phone.clone().or_else(|| self.latest_user_id()),
            email: self.email.as_ref().map(|s| s.value.clone()),
            first_source,
            last_source,
            first_touched_at: self.first_touch,
            other_phones: other_phones(self.keys(), self.phone.as_deref()),
            engaged,
            one_message,
            purchases: self.purchases(first.stamp.at, terms.attribution),
            sendable: self
                .click
                .as_ref()
                .is_some_and(|c| c.value.missing().is_none()),
            click_at: self
                .click
                .as_ref()
                .filter(|c| c.value.missing().is_none())
                .and_then(|c| whole_second(c.stamp.at)),
            window_passed: timing.late,
            in_window: timing.in_time,
        })
    }
}

/// A purchase attributed to a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    pub at: DateTime<Utc>,
    pub value: Minor,
}

/// The numbers among a contact's keys other than its phone, sorted: a lead
/// is found by any number it has had (a number change, a hidden phone).
fn other_phones<'a>(keys: impl Iterator<Item = &'a str>, phone: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = keys
        .filter(|k| k.starts_with('+') && Some(*k) != phone)
        .map(str::to_owned)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether an outcome at `at` counts for a lead of Date `date`
/// (`outcomes.md`: at or after the Date and within the attribution
/// `window`, its last instant included).
pub fn attributed(date: DateTime<Utc>, window: Duration, at: DateTime<Utc>) -> bool {
    at >= date && at <= date + window
}

/// `t` to its second (a click's time: the index keeps seconds).
pub fn whole_second(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.timestamp(), 0)
}

/// A WhatsApp business-scoped user id as a contact key holds it
/// (`whatsapp:` + two capital letters, a dot and the id's characters, as
/// `US.13491208655302741918`); `None` for any other key.
fn whatsapp_user_id(key: &str) -> Option<&str> {
    let id = key.strip_prefix("whatsapp:")?;
    let (country, rest) = id.split_once('.')?;
    let shaped = country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    shaped.then_some(id)
}

/// The derived columns of one lead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadFacts {
    pub key: String,
    pub date: DateTime<Utc>,
    pub channel: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub first_source: Option<Source>,
    pub last_source: Option<Source>,
    pub first_touched_at: Option<DateTime<Utc>>,
    /// Earlier or tied numbers of the same person (searched, not listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_phones: Vec<String>,
    /// Lead quality (`shared/spec/outcomes.md`); answered is having a
    /// First Touched At, buyer having a purchase.
    #[serde(default)]
    pub engaged: bool,
    #[serde(default)]
    pub one_message: bool,
    /// Purchases attributed to the lead, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purchases: Vec<Purchase>,
    /// Came from a Meta ad click whose identifiers the Conversions API
    /// needs (`shared/spec/meta-capi.md`).
    #[serde(default)]
    pub sendable: bool,
    /// When that click was (a sendable lead's), to the second: its 7 days
    /// run from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub click_at: Option<DateTime<Utc>>,
    /// A sendable lead's outcome came more than the Conversions API's 7 days
    /// after the click, so it is not sent (`meta-capi.md`: "window passed").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub window_passed: bool,
    /// A sendable lead's outcome came within those 7 days: sent when it is
    /// known in time (one never queued is past its window once the 7 days
    /// are over).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_window: bool,
}

#[cfg(test)]
impl LeadFacts {
    /// A WhatsApp lead with only its key and Date (tests set the rest).
    pub fn bare(key: &str, date: DateTime<Utc>) -> Self {
        LeadFacts {
            key: key.into(),
            date,
            channel: "whatsapp".into(),
            name: None,
            phone: None,
            email: None,
            first_source: None,
            last_source: None,
            first_touched_at: None,
            other_phones: Vec::new(),
            engaged: false,
            one_message: false,
            purchases: Vec::new(),
            sendable: false,
            click_at: None,
            window_passed: false,
            in_window: false,
        }
    }
}

impl LeadFacts {
    pub fn answered(&self) -> bool {
        self.first_touched_at.is_some()
    }

    pub fn buyer(&self) -> bool {
        !self.purchases.is_empty()
    }

    /// The sum of the attributed purchases' values.
    pub fn revenue(&self) -> Minor {
        self.purchases.iter().map(|p| p.value).sum()
    }

    /// What the lead shows as its phone (`channels.md`: "the most recent
    /// phone …, else the user id"): the phone, else the WhatsApp user id
    /// of a person who hides their number (their key, `whatsapp:US.…`).
    pub fn shown_phone(&self) -> Option<String> {
        self.phone
            .clone()
            .or_else(|| whatsapp_user_id(&self.key).map(str::to_owned))
    }

    /// The page shows Last Source only when it differs from the first (rule 5).
    pub fn last_source_differs(&self) -> bool {
        match (&self.first_source, &self.last_source) {
            (Some(a), Some(b)) => !a.same_as(b),
            _ => false,
        }
    }
}

/// The reference model: derives a contact's lead straight from the rules'
/// wording, from the whole set of events at once. Tests compare the
/// incremental [`ContactState`] against it.
#[cfg(test)]
pub fn reference_lead(key: &str, events: &[Event], terms: &Terms) -> Option<LeadFacts> {
    reference_group_lead(key, &[key], events, terms)
}

/// The same for a contact with several identifiers: every event of any
/// of `keys` is the contact's (`key` is its smallest).
#[cfg(test)]
pub fn reference_group_lead(
    key: &str,
    keys: &[&str],
    events: &[Event],
    terms: &Terms,
) -> Option<LeadFacts> {
    let mut evs: Vec<&Event> = events
        .iter()
        .filter(|e| keys.contains(&e.contact_key.as_str()))
        .collect();
    if evs.iter().any(|e| e.kind == Kind::Known) {
        return None;
    }
    evs.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    evs.dedup_by(|a, b| a.id == b.id);
    let inbound: Vec<&&Event> = evs.iter().filter(|e| e.is_inbound()).collect();
    let first = inbound.first()?;
    let date = first.occurred_at;
    let with_source: Vec<&&&Event> = inbound.iter().filter(|e| e.source.is_some()).collect();
    // The new number of the latest number change (a tie from one number to
    // another, `channels.md`), else the latest phone; without one, the
    // latest WhatsApp user id.
    let latest_phone = |only_changes: bool| {
        evs.iter()
            .rev()
            .filter(|e| !only_changes || e.is_number_change())
            .find_map(|e| e.phone.clone())
    };
    let phone = latest_phone(true)
        .or_else(|| latest_phone(false))
        .or_else(|| {
            evs.iter()
                .rev()
                .find_map(|e| e.external_id.clone())
                .filter(|x| whatsapp_user_id(&format!("whatsapp:{x}")).is_some())
        });
    let first_touched_at = evs
        .iter()
        .filter(|e| e.is_touch() && e.occurred_at >= date)
        .map(|e| e.occurred_at)
        .min();
    // Session 1 (rule 8) in the spec's words: from the first inbound
    // message, every message or `resolved` event in order, until a gap of
    // the timeout since the last message or a `resolved` event.
    let mut later_inbound: Vec<DateTime<Utc>> = Vec::new();
    let mut last = date;
    let start = evs.iter().position(|e| e.id == first.id).unwrap_or(0);
    for e in &evs[start + 1..] {
        if !matches!(e.kind, Kind::Message | Kind::Resolved) {
            continue;
        }
        if e.occurred_at - last >= terms.session_timeout || e.kind == Kind::Resolved {
            break;
        }
        if e.is_inbound() {
            later_inbound.push(e.occurred_at);
        }
        last = e.occurred_at;
    }
    let purchases = evs
        .iter()
        .filter(|e| e.kind == Kind::Conversion)
        .filter_map(|e| e.conversion.as_ref().map(|c| (e.occurred_at, c)))
        .filter(|(at, c)| {
            c.kind == ConversionType::Purchase && *at >= date && *at - date <= terms.attribution
        })
        .map(|(at, c)| Purchase {
            at,
            value: c.value.unwrap_or(0),
        })
        .collect();
    // The click: the earliest message or referral carrying one.
    let click = evs
        .iter()
        .find_map(|e| AdClick::of(e).map(|c| (e.occurred_at, c)))
        .filter(|(_, c)| c.missing().is_none())
        .map(|(at, _)| at);
    let click_at = click.and_then(whole_second);
    // meta-capi.md: an outcome more than 7 days after the click is not
    // sent ("window passed"); Meta's own detections are not sent at all.
    let late = |at: DateTime<Utc>, by_meta: bool| {
        click.is_some_and(|c| !by_meta && at >= c && at - c > super::capi::window())
    };
    let conversions: Vec<(DateTime<Utc>, &str, &crate::ssr::domain::event::Conversion)> = evs
        .iter()
        .filter_map(|e| {
            e.conversion
                .as_ref()
                .map(|c| (e.occurred_at, e.id.as_str(), c))
        })
        .collect();
    let touched_then_wrote =
        first_touched_at.and_then(|t| later_inbound.iter().find(|m| **m > t).copied());
    // LeadSubmitted: at the first of engaged and the qualified / submitted
    // conversions that count for the lead (outcomes.md: at or after its
    // Date, within the attribution window).
    let lead_submitted = touched_then_wrote
        .map(|at| (at, None, false))
        .into_iter()
        .chain(
            conversions
                .iter()
                .filter(|(at, _, c)| {
                    matches!(
                        c.kind,
                        ConversionType::Qualified | ConversionType::LeadSubmitted
                    ) && *at >= date
                        && *at - date <= terms.attribution
                })
                .map(|(at, id, c)| (*at, Some(*id), c.detected_by_meta)),
        )
        .min();
    let in_time = |at: DateTime<Utc>, by_meta: bool| {
        click.is_some_and(|c| !by_meta && at >= c && at - c <= super::capi::window())
    };
    let moments: Vec<(DateTime<Utc>, bool)> = lead_submitted
        .map(|(at, _, m)| (at, m))
        .into_iter()
        .chain(
            conversions
                .iter()
                .filter(|(_, _, c)| c.kind == ConversionType::Purchase)
                .map(|(at, _, c)| (*at, c.detected_by_meta)),
        )
        .collect();
    let window_passed = moments.iter().any(|(at, m)| late(*at, *m));
    let in_window = moments.iter().any(|(at, m)| in_time(*at, *m));
    Some(LeadFacts {
        sendable: click_at.is_some(),
        click_at,
        window_passed,
        in_window,
        engaged: first_touched_at.is_some_and(|t| later_inbound.iter().any(|m| *m > t)),
        // "The lead's only inbound message is the first one."
        one_message: inbound.len() == 1,
        purchases,
        other_phones: other_phones(keys.iter().copied(), phone.as_deref()),
        key: key.to_owned(),
        date,
        channel: first.channel.clone(),
        name: evs.iter().rev().find_map(|e| e.name.clone()),
        phone,
        email: evs.iter().rev().find_map(|e| e.email.clone()),
        first_source: with_source.first().and_then(|e| e.source.clone()),
        last_source: with_source.last().and_then(|e| e.source.clone()),
        first_touched_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::domain::days::day_range;
    use crate::ssr::domain::event::{Conversion, ConversionType, Direction, Sender};
    use crate::ssr::domain::sessions::{SessionEnd, sessions};
    use chrono::Duration;
    use chrono::TimeZone;

    const KEY: &str = "+6281234567890";

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, m, 0)
            .single()
            .expect("time")
    }

    fn src(id: &str) -> Source {
        Source {
            platform: "meta".into(),
            kind: "ad".into(),
            id: Some(id.into()),
            name: Some(format!("Ad {id}")),
            url: None,
        }
    }

    /// States and events are stored as JSON without their empty values;
    /// rows written before, which carry them (`null`, `[]`, `false`), read
    /// the same.
    #[test]
    fn stored_forms_leave_empty_values_out_and_read_old_rows() {
        let e = msg("m1", t(9, 0), Direction::Outbound, Sender::Agent);
        let text = serde_json::to_string(&e).expect("event");
        for absent in ["email", "external_id", "name", "source", "null"] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
        let mut old = serde_json::to_value(&e).expect("event");
        for k in ["email", "external_id", "name", "source"] {
            old[k] = serde_json::Value::Null;
        }
        assert_eq!(serde_json::from_value::<Event>(old).expect("old event"), e);
        let resolved: Event = serde_json::from_str(&text.replace(r#""direction":"outbound","#, ""))
            .expect("no direction");
        assert_eq!(resolved.direction, None);

        let mut state = ContactState::new(KEY);
        state.apply(&msg("m0", t(8, 0), Direction::Inbound, Sender::Customer));
        let text = serde_json::to_string(&state).expect("state");
        for absent in [
            "email",
            "external_id",
            "first_touch",
            "early_touches",
            "known_customer",
            "null",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
        let mut old = serde_json::to_value(&state).expect("state");
        for k in [
            "email",
            "external_id",
            "name",
            "first_touch",
            "first_source",
            "last_source",
        ] {
            old[k] = serde_json::Value::Null;
        }
        old["early_touches"] = serde_json::json!([]);
        old["known_customer"] = serde_json::json!(false);
        assert_eq!(
            serde_json::from_value::<ContactState>(old).expect("old state"),
            state
        );
    }

    fn msg(id: &str, at: DateTime<Utc>, dir: Direction, sender: Sender) -> Event {
        Event {
            id: id.into(),
            kind: Kind::Message,
            occurred_at: at,
            channel: "whatsapp".into(),
            direction: Some(dir),
            sender,
            sender_known: false,
            click_shared: false,
            contact_key: KEY.into(),
            phone: Some(KEY.into()),
            external_id: None,
            name: None,
            email: None,
            source: None,
            ctwa_clid: None,
            meta_account: None,
            aliases: Vec::new(),
            conversion: None,
        }
    }

    fn inbound(id: &str, at: DateTime<Utc>) -> Event {
        msg(id, at, Direction::Inbound, Sender::Customer)
    }

    fn reply(id: &str, at: DateTime<Utc>, sender: Sender) -> Event {
        msg(id, at, Direction::Outbound, sender)
    }

    fn fold(events: &[Event]) -> ContactState {
        let mut s = ContactState::new(KEY);
        for e in events {
            s.apply(e);
        }
        s
    }

    /// After a user id change the lead shows the new id, whichever id is
    /// the contact's key (the smallest).
    #[test]
    fn a_hidden_phone_shows_the_latest_user_id() {
        let user = |id: &str, at: DateTime<Utc>, uid: &str, kind: Kind| {
            let mut e = inbound(id, at);
            e.kind = kind;
            e.phone = None;
            e.contact_key = format!("whatsapp:{uid}");
            e.external_id = Some(uid.into());
            e
        };
        let evs = [
            user("m1", t(9, 0), "US.7000000000000000001", Kind::Message),
            user("m2", t(9, 5), "US.7000000000000000002", Kind::Message),
            user("ch", t(9, 3), "US.7000000000000000002", Kind::Link),
        ];
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2]] {
            let mut s = ContactState::new("whatsapp:US.7000000000000000001");
            for i in order {
                s.apply(&evs[i]);
            }
            let lead = s.lead(&Terms::default()).expect("a lead");
            assert_eq!(
                lead.shown_phone().as_deref(),
                Some("US.7000000000000000002")
            );
            assert_eq!(lead.key, "whatsapp:US.7000000000000000001");
        }
        // A phone, once known, is shown instead.
        let mut s = ContactState::new("+6281234567890");
        s.apply(&inbound("p1", t(9, 0)));
        s.apply(&user(
            "m3",
            t(9, 9),
            "US.7000000000000000003",
            Kind::Message,
        ));
        let lead = s.lead(&Terms::default()).expect("a lead");
        assert_eq!(lead.shown_phone().as_deref(), Some("+6281234567890"));
    }

    /// After a number change the lead shows the new number, even when a
    /// later event still names the old one (a status sent to it), in any
    /// order.
    #[test]
    fn a_number_change_outranks_a_later_event_naming_the_old_number() {
        let (old, new) = ("+6281110000003", "+6281110000004");
        let on = |mut e: Event, p: &str| {
            e.phone = Some(p.into());
            e.contact_key = p.into();
            e
        };
        let mut change = on(inbound("ch", t(9, 1)), new);
        change.kind = Kind::Link;
        change.aliases = vec![old.into()];
        let evs = [
            on(inbound("m1", t(9, 0)), old),
            change,
            on(inbound("m2", t(9, 2)), new),
            on(reply("s1", t(9, 3), Sender::System), old),
        ];
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [0, 3, 1, 2], [2, 0, 3, 1]] {
            let mut s = ContactState::new(old);
            for i in order {
                s.apply(&evs[i]);
            }
            assert_eq!(s.phone.as_deref(), Some(new), "{order:?}");
            // The same when the two numbers' states are joined.
            let (mut a, mut b) = (ContactState::new(old), ContactState::new(new));
            for i in order {
                if evs[i].contact_key == old {
                    a.apply(&evs[i])
                } else {
                    b.apply(&evs[i])
                }
            }
            a.absorb(&b);
            assert_eq!(a.phone.as_deref(), Some(new), "{order:?}");
        }
        // Without a change, the latest event's phone.
        let s = fold(&[
            on(inbound("m1", t(9, 0)), old),
            on(inbound("m2", t(9, 2)), new),
        ]);
        assert_eq!(s.phone.as_deref(), Some(new));
    }

    /// Hundreds of broadcasts before the customer first wrote, or dozens
    /// of orders imported from before: session 1 and the purchases after
    /// the Date are still kept, in either order.
    #[test]
    fn a_long_history_before_the_date_keeps_what_the_lead_needs() {
        let day = |d: i64| t(9, 0) - Duration::days(d);
        let mut evs: Vec<Event> = (0..MARKS_MAX as i64 + 40)
            .map(|i| {
                reply(
                    &format!("b{i:03}"),
                    day(400) + Duration::hours(i),
                    Sender::System,
                )
            })
            .collect();
        for i in 0..CONVERSIONS_MAX as i64 + 5 {
            let mut c = inbound(&format!("o{i:03}"), day(100) + Duration::hours(i));
            c.kind = Kind::Conversion;
            c.direction = None;
            c.conversion = Some(Conversion {
                kind: ConversionType::Purchase,
                value: Some(100),
                currency: Some("IDR".into()),
                detected_by_meta: false,
            });
            evs.push(c);
        }
        evs.push(inbound("m1", t(9, 0)));
        evs.push(reply("r1", t(9, 1), Sender::Agent));
        evs.push(inbound("m2", t(9, 2)));
        let mut buy = evs[evs.len() - 4].clone();
        buy.id = "late-order".into();
        buy.occurred_at = t(12, 0);
        evs.push(buy);
        for reversed in [false, true] {
            let mut s = ContactState::new(KEY);
            let order: Vec<&Event> = if reversed {
                evs.iter().rev().collect()
            } else {
                evs.iter().collect()
            };
            for e in order {
                s.apply(e);
            }
            assert!(s.marks.len() <= 2 * MARKS_MAX && s.conversions.len() <= 2 * CONVERSIONS_MAX);
            let lead = s.lead(&Terms::default()).expect("lead");
            assert!(lead.engaged, "reversed {reversed}");
            assert!(!lead.one_message);
            assert_eq!(lead.purchases.len(), 1, "reversed {reversed}");
            assert_eq!(lead.revenue(), 100);
        }
    }

    /// A state stored when only the earliest were kept (full, no `cut`)
    /// is folded again once; after a fold in order it is not again.
    #[test]
    fn a_full_list_from_before_is_folded_again_once() {
        let mut s = ContactState::new(KEY);
        for i in 0..MARKS_MAX as i64 {
            s.apply(&reply(
                &format!("b{i:03}"),
                t(1, 0) + Duration::minutes(i),
                Sender::System,
            ));
        }
        s.apply(&inbound("m1", t(23, 0)));
        assert_eq!((s.marks.len(), s.cut), (MARKS_MAX + 1, None));
        // As the earlier build stored it: the earliest 256 only.
        s.marks.truncate(MARKS_MAX);
        assert!(s.may_lack_kept(s.date()));
        s.folded_in_order();
        assert!(!s.may_lack_kept(s.date()));
    }

    #[test]
    fn rule2_lead_is_born_at_first_inbound() {
        let s = fold(&[inbound("b", t(10, 0)), inbound("a", t(9, 0))]);
        let lead = s.lead(&Terms::default()).expect("a lead");
        assert_eq!(lead.date, t(9, 0));
        assert_eq!(lead.channel, "whatsapp");
    }

    #[test]
    fn rule3_no_lead_without_inbound_then_born_when_customer_writes() {
        let mut s = fold(&[
            reply("o1", t(8, 0), Sender::Agent),
            reply("o2", t(8, 5), Sender::System),
        ]);
        assert!(s.lead(&Terms::default()).is_none());
        s.apply(&inbound("i1", t(9, 0)));
        let lead = s.lead(&Terms::default()).expect("lead");
        assert_eq!(lead.date, t(9, 0));
        // The agent wrote before the customer: that is not an answer to the lead.
        assert_eq!(lead.first_touched_at, None);
    }

    #[test]
    fn rule4_known_customers_are_never_leads() {
        let mut s = fold(&[inbound("i1", t(9, 0))]);
        s.mark_known_customer();
        assert!(s.lead(&Terms::default()).is_none());
    }

    #[test]
    fn rule5_first_and_last_source() {
        let mut a = inbound("a", t(9, 0));
        a.source = Some(src("1"));
        let b = inbound("b", t(10, 0));
        let mut c = inbound("c", t(11, 0));
        c.source = Some(src("2"));
        let lead = fold(&[c.clone(), b, a.clone()])
            .lead(&Terms::default())
            .expect("lead");
        assert_eq!(lead.first_source, Some(src("1")));
        assert_eq!(lead.last_source, Some(src("2")));
        assert!(lead.last_source_differs());

        // No source at all: both empty.
        let lead = fold(&[inbound("x", t(9, 0))])
            .lead(&Terms::default())
            .expect("lead");
        assert_eq!((lead.first_source, lead.last_source), (None, None));

        // Same platform and id: the same source, even with another name.
        let mut renamed = src("1");
        renamed.name = Some("Renamed".into());
        assert!(src("1").same_as(&renamed));
        let mut c2 = c;
        c2.source = Some(renamed);
        assert!(
            !fold(&[a, c2])
                .lead(&Terms::default())
                .expect("lead")
                .last_source_differs()
        );
    }

    #[test]
    fn rule5_sources_without_id_compare_by_name() {
        let named = |n: &str| Source {
            platform: "website".into(),
            kind: "link".into(),
            id: None,
            name: Some(n.into()),
            url: None,
        };
        assert!(named("Blog").same_as(&named("Blog")));
        assert!(!named("Blog").same_as(&named("Footer")));
    }

    #[test]
    fn rule6_first_touch_is_agent_or_ai_at_or_after_date() {
        let s = fold(&[
            inbound("i", t(9, 0)),
            reply("sys", t(9, 1), Sender::System),
            reply("ai", t(9, 3), Sender::Ai),
            reply("ag", t(9, 2), Sender::Agent),
        ]);
        assert_eq!(
            s.lead(&Terms::default()).expect("lead").first_touched_at,
            Some(t(9, 2))
        );
        // Only system messages: awaiting first response.
        let s = fold(&[inbound("i", t(9, 0)), reply("sys", t(9, 1), Sender::System)]);
        assert_eq!(
            s.lead(&Terms::default()).expect("lead").first_touched_at,
            None
        );
        // An answer at the very instant of the first message counts.
        let s = fold(&[inbound("i", t(9, 0)), reply("ag", t(9, 0), Sender::Agent)]);
        assert_eq!(
            s.lead(&Terms::default()).expect("lead").first_touched_at,
            Some(t(9, 0))
        );
    }

    #[test]
    fn rule7_late_earlier_inbound_moves_date_touch_and_source() {
        // Arrival order: inbound at 10:00, agent at 9:30 (before the Date then),
        // then a late inbound at 9:00 with a source.
        let mut late = inbound("late", t(9, 0));
        late.source = Some(src("early-ad"));
        let mut later = inbound("i10", t(10, 0));
        later.source = Some(src("late-ad"));
        let mut s = fold(&[later, reply("ag930", t(9, 30), Sender::Agent)]);
        assert_eq!(
            s.lead(&Terms::default()).expect("lead").first_touched_at,
            None
        );
        s.apply(&late);
        let lead = s.lead(&Terms::default()).expect("lead");
        assert_eq!(lead.date, t(9, 0));
        assert_eq!(lead.first_touched_at, Some(t(9, 30)));
        assert_eq!(lead.first_source, Some(src("early-ad")));
        assert_eq!(lead.last_source, Some(src("late-ad")));
    }

    #[test]
    fn rule7_name_and_email_are_latest_non_empty_ties_by_id() {
        let mut a = inbound("a", t(9, 0));
        a.name = Some("Old".into());
        let mut b = reply("b", t(9, 0), Sender::Agent);
        b.name = Some("New".into());
        b.email = Some("new@example.com".into());
        let c = inbound("c", t(11, 0)); // no name: does not erase it
        for order in [vec![a.clone(), b.clone(), c.clone()], vec![c, b, a]] {
            let lead = fold(&order).lead(&Terms::default()).expect("lead");
            assert_eq!(lead.name.as_deref(), Some("New"));
            assert_eq!(lead.email.as_deref(), Some("new@example.com"));
        }
    }

    #[test]
    fn rule7_repeats_do_not_count() {
        let events = [inbound("a", t(9, 0)), reply("r", t(9, 5), Sender::Ai)];
        let once = fold(&events);
        let twice = fold(&[events.clone(), events].concat());
        assert_eq!(once, twice);
    }

    #[test]
    fn rule8_sessions_by_timeout_and_resolved() {
        let day = Duration::hours(24);
        let mut resolved = reply("res", t(12, 0), Sender::Agent);
        resolved.kind = Kind::Resolved;
        resolved.direction = None;
        let next_day = t(9, 0) + Duration::hours(30);
        let events = vec![
            reply("pre", t(8, 0), Sender::System), // outbound first: opens nothing
            inbound("a", t(9, 0)),
            reply("b", t(9, 5), Sender::Agent),
            inbound("c", t(11, 0)),
            resolved,
            inbound("d", t(13, 0)), // session 2 after resolved
            inbound("e", next_day), // 24h+ later: session 3
        ];
        let s = sessions(&events, day);
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].number, s[0].started_at, s[0].end),
            (1, t(9, 0), SessionEnd::Resolved)
        );
        assert_eq!(s[0].ended_at, Some(t(12, 0)));
        assert_eq!(
            (s[1].number, s[1].started_at, s[1].end),
            (2, t(13, 0), SessionEnd::Timeout)
        );
        assert_eq!(s[1].ended_at, Some(t(13, 0) + day));
        assert_eq!(
            (s[2].number, s[2].started_at, s[2].end),
            (3, next_day, SessionEnd::Open)
        );
        // Order and repeats do not matter.
        let mut shuffled: Vec<Event> = events.iter().rev().cloned().collect();
        shuffled.extend(events.iter().cloned());
        assert_eq!(sessions(&shuffled, day), s);
    }

    /// Each event's session follows the walk in rule 7's order: at one
    /// instant, what sorts after a `resolved` is outside the session it
    /// closed, and a `resolved` belongs to the session it closed.
    #[test]
    fn rule8_members_at_one_instant_follow_the_order() {
        use super::super::sessions::sessions_and_members;
        let day = Duration::hours(24);
        let resolved = |id: &str, at| {
            let mut r = reply(id, at, Sender::Agent);
            r.kind = Kind::Resolved;
            r.direction = None;
            r
        };
        let events = vec![
            inbound("ss-1", t(9, 0)),
            resolved("ss-2", t(10, 0)),
            inbound("ss-3", t(11, 0)),
            resolved("ss-4", t(11, 0)),
            reply("ss-5", t(11, 0), Sender::Agent), // after ss-4 closed session 2
            resolved("x-0", t(12, 0)),              // closes nothing
            inbound("x-1", t(12, 0)),               // session 3
            resolved("x-2", t(12, 0)),              // closes session 3
        ];
        let (s, members) = sessions_and_members(&events, day);
        assert_eq!(s.len(), 3);
        let of = |id: &str| members.get(id).copied();
        assert_eq!(
            ["ss-1", "ss-2", "ss-3", "ss-4", "ss-5", "x-0", "x-1", "x-2"].map(of),
            [
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                None,
                None,
                Some(3),
                Some(3)
            ]
        );
        let shuffled: Vec<Event> = events.iter().rev().cloned().collect();
        assert_eq!(sessions_and_members(&shuffled, day).1, members);
    }

    #[test]
    fn rule8_outbound_keeps_a_session_alive() {
        let day = Duration::hours(24);
        let events = vec![
            inbound("a", t(9, 0)),
            reply("b", t(9, 0) + Duration::hours(20), Sender::Agent),
            inbound("c", t(9, 0) + Duration::hours(40)),
        ];
        assert_eq!(sessions(&events, day).len(), 1);
    }

    fn buy(id: &str, at: DateTime<Utc>, value: i64) -> Event {
        let mut e = msg(id, at, Direction::Inbound, Sender::Customer);
        e.kind = Kind::Conversion;
        e.direction = None;
        e.conversion = Some(crate::ssr::domain::event::Conversion {
            kind: ConversionType::Purchase,
            value: Some(value),
            currency: Some("IDR".into()),
            detected_by_meta: false,
        });
        e
    }

    #[test]
    fn quality_engaged_one_message_in_session_one() {
        let q = |evs: &[Event]| {
            let l = fold(evs).lead(&Terms::default()).expect("lead");
            (l.answered(), l.engaged, l.one_message)
        };
        // Answered, then the customer wrote back: a conversation.
        let talk = [
            inbound("a", t(9, 0)),
            reply("b", t(9, 5), Sender::Agent),
            inbound("c", t(9, 7)),
        ];
        assert_eq!(q(&talk), (true, true, false));
        // One message, answered, nothing more.
        assert_eq!(q(&talk[..2]), (true, false, true));
        // Two messages before any answer: neither engaged nor one message.
        assert_eq!(
            q(&[inbound("a", t(9, 0)), inbound("c", t(9, 1))]),
            (false, false, false)
        );
        // Writing back after session 1 ended (timeout, or resolved) is not
        // engaging, and no longer one message either: the first message is
        // not the lead's only one.
        let next_day = t(9, 0) + Duration::hours(30);
        assert_eq!(
            q(&[
                inbound("a", t(9, 0)),
                reply("b", t(9, 5), Sender::Ai),
                inbound("c", next_day)
            ]),
            (true, false, false)
        );
        // In any order.
        assert_eq!(
            q(&[
                inbound("c", next_day),
                reply("b", t(9, 5), Sender::Ai),
                inbound("a", t(9, 0))
            ]),
            (true, false, false)
        );
        let mut res = reply("r", t(9, 6), Sender::Agent);
        res.kind = Kind::Resolved;
        res.direction = None;
        assert_eq!(
            q(&[
                inbound("a", t(9, 0)),
                reply("b", t(9, 5), Sender::Ai),
                res,
                inbound("c", t(9, 7))
            ]),
            (true, false, false)
        );
        // System messages are no answer, but keep the session open.
        assert_eq!(
            q(&[
                inbound("a", t(9, 0)),
                reply("s", t(9, 1), Sender::System),
                inbound("c", t(9, 2))
            ]),
            (false, false, false)
        );
        // Any order, with repeats.
        let mut rev: Vec<Event> = talk.iter().rev().cloned().collect();
        rev.extend(talk.iter().cloned());
        assert_eq!(q(&rev), (true, true, false));
    }

    #[test]
    fn purchases_count_within_the_window_from_the_date() {
        let terms = Terms::default();
        let at = |d: i64| t(9, 0) + Duration::days(d);
        let evs = [
            buy("before", t(8, 0), 1),
            inbound("a", t(9, 0)),
            buy("p1", at(3), 15_000_000),
            buy("edge", at(28), 100),
            buy("late", at(28) + Duration::seconds(1), 7),
        ];
        let lead = fold(&evs).lead(&terms).expect("lead");
        assert!(lead.buyer());
        assert_eq!(lead.revenue(), 15_000_100);
        assert_eq!(lead.purchases.len(), 2);
        // A conversion alone makes no lead, and no touch.
        assert!(fold(&evs[..1]).lead(&terms).is_none());
        assert_eq!(lead.first_touched_at, None);
        // A late, earlier first message moves the window back: the 8:00
        // purchase counts now, the one on the old window's edge no more.
        let mut s = fold(&evs);
        s.apply(&inbound("early", t(7, 0)));
        let lead = s.lead(&terms).expect("lead");
        assert_eq!(lead.revenue(), 15_000_001);
        assert_eq!(
            lead,
            reference_lead(
                KEY,
                &[&evs[..], &[inbound("early", t(7, 0))]].concat(),
                &terms
            )
            .expect("model")
        );
    }

    #[test]
    fn rule9_days_in_a_time_zone() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().expect("date");
        let (start, end) = day_range(d("2026-11-20"), d("2026-11-20"), chrono_tz::Asia::Jakarta);
        assert_eq!(
            start,
            Utc.with_ymd_and_hms(2026, 11, 19, 17, 0, 0)
                .single()
                .expect("t")
        );
        assert_eq!(
            end,
            Utc.with_ymd_and_hms(2026, 11, 20, 17, 0, 0)
                .single()
                .expect("t")
        );
        // A day with a DST change is 23 hours long.
        let (s, e) = day_range(
            d("2026-03-08"),
            d("2026-03-08"),
            chrono_tz::America::New_York,
        );
        assert_eq!(e - s, Duration::hours(23));
    }

    mod props {
        use super::*;
        use crate::ssr::domain::event::Conversion;
        use proptest::prelude::*;

        /// Short enough that 40 minutes of events hold several sessions and
        /// windows, so their edges are met.
        const TERMS: Terms = Terms {
            session_timeout: Duration::minutes(10),
            attribution: Duration::minutes(15),
        };

        const KEYS: [&str; 3] = ["+6281111111111", "+6282222222222", "instagram:77"];

        fn arb_event() -> impl Strategy<Value = Event> {
            (
                0..3usize,
                0..40u32,      // minutes: small range makes ties likely
                0..9u8,        // what kind of event
                0..4u8,        // which source, 0 = none
                0..3u8,        // name
                any::<bool>(), // e-mail
            )
                .prop_map(|(k, minute, what, source, name, email)| {
                    let at = t(9, 0) + Duration::minutes(minute as i64);
                    let (kind, direction, sender) = match what {
                        0 | 1 => (Kind::Message, Some(Direction::Inbound), Sender::Customer),
                        2 => (Kind::Message, Some(Direction::Outbound), Sender::Agent),
                        3 => (Kind::Message, Some(Direction::Outbound), Sender::Ai),
                        4 => (Kind::Message, Some(Direction::Outbound), Sender::System),
                        5 => (Kind::Resolved, None, Sender::Agent),
                        _ => (Kind::Conversion, None, Sender::Agent),
                    };
                    // Purchases (two of three) worth the minute, or a qualification.
                    let conversion = (kind == Kind::Conversion).then(|| Conversion {
                        kind: if what == 8 {
                            ConversionType::Qualified
                        } else {
                            ConversionType::Purchase
                        },
                        value: (what != 8).then_some(i64::from(minute) * 100),
                        currency: (what != 8).then(|| "IDR".to_owned()),
                        detected_by_meta: false,
                    });
                    let inbound = direction == Some(Direction::Inbound);
                    Event {
                        id: String::new(),
                        kind,
                        occurred_at: at,
                        channel: if k == 2 {
                            "instagram".into()
                        } else {
                            "whatsapp".into()
                        },
                        direction,
                        sender,
                        sender_known: false,
                        click_shared: false,
                        contact_key: KEYS[k].into(),
                        phone: (k < 2).then(|| KEYS[k].into()),
                        external_id: (k == 2).then(|| "77".into()),
                        name: (name > 0).then(|| format!("Name {name}")),
                        email: email.then(|| format!("n{minute}@example.com")),
                        source: (inbound && source > 0).then(|| src(&source.to_string())),
                        // Clicks with and without the account, so the
                        // earliest click decides whether a lead is sendable.
                        ctwa_clid: (inbound && source > 0).then(|| format!("clid{source}")),
                        meta_account: (inbound && source > 1).then(|| "WABA".to_owned()),
                        aliases: Vec::new(),
                        conversion,
                    }
                })
        }

        fn arb_history() -> impl Strategy<Value = Vec<Event>> {
            prop::collection::vec(arb_event(), 1..30).prop_map(|mut evs| {
                for (i, e) in evs.iter_mut().enumerate() {
                    e.id = format!("e{i:02}");
                }
                evs
            })
        }

        /// Folds events batch by batch, as ingest does: each batch starts
        /// from the stored states of the previous ones.
        fn fold_batches(
            batches: &[Vec<Event>],
        ) -> std::collections::BTreeMap<String, ContactState> {
            let mut states = std::collections::BTreeMap::new();
            for batch in batches {
                for e in batch {
                    states
                        .entry(e.contact_key.clone())
                        .or_insert_with(|| ContactState::new(&e.contact_key))
                        .apply(e);
                }
            }
            states
        }

        /// Events of three keys, some of them ties (`Kind::Link`) between two.
        fn arb_tied_history() -> impl Strategy<Value = Vec<Event>> {
            let tie = (0..3usize, 0..3usize, 0..40u32).prop_map(|(a, b, minute)| {
                let mut e = Event {
                    id: String::new(),
                    kind: Kind::Link,
                    occurred_at: t(9, 0) + Duration::minutes(minute as i64),
                    channel: "whatsapp".into(),
                    direction: None,
                    sender: Sender::Customer,
                    sender_known: false,
                    click_shared: false,
                    contact_key: KEYS[a].into(),
                    phone: (a < 2).then(|| KEYS[a].into()),
                    external_id: None,
                    name: None,
                    email: None,
                    source: None,
                    ctwa_clid: None,
                    meta_account: None,
                    aliases: vec![KEYS[b].into()],
                    conversion: None,
                };
                e.aliases.retain(|k| *k != e.contact_key);
                e
            });
            prop::collection::vec(prop_oneof![3 => arb_event(), 1 => tie], 1..30).prop_map(
                |mut evs| {
                    for (i, e) in evs.iter_mut().enumerate() {
                        e.id = format!("e{i:02}");
                    }
                    evs
                },
            )
        }

        /// Folds as the store does: per batch, the stored contacts and the
        /// batch's ties make the groups; a group's stored states are
        /// absorbed into one under its smallest key, then its new events
        /// applied.
        fn fold_tied(batches: &[Vec<Event>]) -> std::collections::BTreeMap<String, ContactState> {
            use crate::ssr::domain::identity::Groups;
            let mut states: std::collections::BTreeMap<String, ContactState> = Default::default();
            for batch in batches {
                let mut g = Groups::default();
                for (k, st) in &states {
                    g.add(k);
                    for a in &st.aliases {
                        g.tie(k, a);
                    }
                }
                for e in batch {
                    g.add(&e.contact_key);
                    for a in &e.aliases {
                        g.tie(&e.contact_key, a);
                    }
                }
                let groups = g.all();
                let mut next = std::collections::BTreeMap::new();
                for (root, members) in groups {
                    let mut st = ContactState::new(&root);
                    for m in &members {
                        if let Some(old) = states.get(m) {
                            st.absorb(old);
                        }
                    }
                    st.rekey(&root);
                    st.aliases = members.iter().filter(|m| **m != root).cloned().collect();
                    for e in batch.iter().filter(|e| members.contains(&e.contact_key)) {
                        st.apply(e);
                    }
                    next.insert(root, st);
                }
                states = next;
            }
            states
        }

        /// `history` with the repeats appended, shuffled by `seed` (an
        /// arrival order).
        fn shuffled_with_repeats(
            history: &[Event],
            repeats: &[proptest::sample::Index],
            seed: u64,
        ) -> Vec<Event> {
            let mut arrival = history.to_vec();
            for r in repeats {
                arrival.push(r.get(history).clone());
            }
            let mut x = seed | 1;
            for i in (1..arrival.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                arrival.swap(i, (x as usize) % (i + 1));
            }
            arrival
        }

        /// `arrival` cut into consecutive batches at `cuts`.
        fn split_at<'a>(
            arrival: &'a [Event],
            cuts: &[proptest::sample::Index],
        ) -> Vec<&'a [Event]> {
            let n = arrival.len();
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(n + 1)).collect();
            points.sort_unstable();
            let mut out = Vec::new();
            let mut last = 0;
            for c in points.into_iter().chain([n]) {
                out.push(&arrival[last..c]);
                last = c;
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            /// One person, several identifiers: whatever the order of the
            /// events and the ties, in any batches, with repeats, each group
            /// of tied keys is one lead equal to the reference model's over
            /// the union of their events.
            #[test]
            fn tied_identifiers_are_one_lead_in_any_order(
                history in arb_tied_history(),
                seed in any::<u64>(),
                cuts in prop::collection::vec(any::<proptest::sample::Index>(), 0..5),
                repeats in prop::collection::vec(any::<proptest::sample::Index>(), 0..6),
            ) {
                let arrival = shuffled_with_repeats(&history, &repeats, seed);
                // A repeat is ignored by the store: each batch leaves out
                // ids that arrived before (in it or in an earlier one).
                let mut seen = std::collections::HashSet::new();
                let batches: Vec<Vec<Event>> = split_at(&arrival, &cuts)
                    .into_iter()
                    .map(|b| b.iter().filter(|e| seen.insert(e.id.clone())).cloned().collect())
                    .collect();
                let states = fold_tied(&batches);
                let grouped = crate::ssr::domain::identity::by_contact(history.clone());
                prop_assert_eq!(states.len(), grouped.len());
                for (root, evs) in &grouped {
                    let keys: Vec<&str> = {
                        let mut k: Vec<&str> = evs.iter().flat_map(|e| std::iter::once(e.contact_key.as_str()).chain(e.aliases.iter().map(String::as_str))).collect();
                        k.sort_unstable();
                        k.dedup();
                        k
                    };
                    let got = states.get(root).and_then(|s| s.lead(&TERMS));
                    prop_assert_eq!(&got, &reference_group_lead(root, &keys, &history, &TERMS), "contact {}", root);
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            #[test]
            fn leads_depend_only_on_the_set_of_events(
                history in arb_history(),
                order in any::<proptest::sample::Index>(),
                seed in any::<u64>(),
                cuts in prop::collection::vec(any::<proptest::sample::Index>(), 0..5),
                repeats in prop::collection::vec(any::<proptest::sample::Index>(), 0..8),
            ) {
                // A shuffled arrival order with repeats, split into batches.
                let mut arrival = shuffled_with_repeats(&history, &repeats, seed);
                let n = arrival.len();
                arrival.rotate_left(order.index(n));
                let batches: Vec<Vec<Event>> =
                    split_at(&arrival, &cuts).into_iter().map(<[Event]>::to_vec).collect();

                let states = fold_batches(&batches);
                let in_order = fold_batches(&[history.clone()]);
                for key in KEYS {
                    let got = states.get(key).and_then(|s| s.lead(&TERMS));
                    prop_assert_eq!(&got, &reference_lead(key, &history, &TERMS), "contact {}", key);
                    prop_assert_eq!(states.get(key), in_order.get(key));
                }
                let day = Duration::minutes(10);
                for key in KEYS {
                    let mine: Vec<Event> = history.iter().filter(|e| e.contact_key == key).cloned().collect();
                    let arrived: Vec<Event> = arrival.iter().filter(|e| e.contact_key == key).cloned().collect();
                    prop_assert_eq!(sessions(&arrived, day), sessions(&mine, day));
                }
            }
        }
    }

    /// A lead without a phone shows its WhatsApp user id; any other key
    /// (a Messenger id, an API external id) shows none.
    #[test]
    fn the_shown_phone_is_else_the_whatsapp_user_id() {
        let facts = |key: &str, phone: Option<&str>| LeadFacts {
            phone: phone.map(str::to_owned),
            ..LeadFacts::bare(key, Utc::now())
        };
        let shown = |key: &str, phone: Option<&str>| facts(key, phone).shown_phone();
        assert_eq!(
            shown("whatsapp:US.13491208655302741918", None).as_deref(),
            Some("US.13491208655302741918")
        );
        assert_eq!(
            shown("+6281234567890", Some("+6281234567890")).as_deref(),
            Some("+6281234567890")
        );
        assert_eq!(shown("messenger:987654321432", None), None);
        assert_eq!(shown("whatsapp:=cmd()", None), None);
        assert_eq!(shown("whatsapp:us.1", None), None);
    }
}
