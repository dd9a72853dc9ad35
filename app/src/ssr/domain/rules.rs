//! The lead rules of `shared/spec/leads.md`, pure: no I/O, no clock.
//!
//! A contact's facts are kept in a [`ContactState`] that every event is
//! folded into. Each field is a minimum or maximum over the events in the
//! order "occurred_at, then id" (rule 7), so folding the same *set* of
//! events in any order, in any batches, with repeats, gives the same state.
//! The storage layer only loads and stores these states.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::event::{Event, Kind};
use crate::model::Source;

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

/// Everything the lead rules need to know about one contact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactState {
    pub key: String,
    pub phone: Option<String>,
    /// The latest channel id of the person seen on any event.
    pub external_id: Option<Stamped<String>>,
    /// Rule 2: the earliest inbound message (its value is its channel).
    pub first_inbound: Option<Stamped<String>>,
    /// Rule 5: the earliest and the latest inbound message with a source.
    pub first_source: Option<Stamped<Source>>,
    pub last_source: Option<Stamped<Source>>,
    /// Rule 7: the latest non-empty name and e-mail, from any event.
    pub name: Option<Stamped<String>>,
    pub email: Option<Stamped<String>>,
    /// Rule 6: the earliest agent/AI answer at or after the lead's Date.
    pub first_touch: Option<DateTime<Utc>>,
    /// Agent/AI answers before the lead's Date (all of them while there is no
    /// lead yet), sorted. A late, earlier inbound message moves the Date back
    /// and may turn one of these into the First Touched At.
    pub early_touches: Vec<DateTime<Utc>>,
    /// Rule 4: imported as an existing customer; never listed as a new lead.
    pub known_customer: bool,
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

    /// Folds one event in. Commutative and idempotent over events.
    pub fn apply(&mut self, ev: &Event) {
        debug_assert_eq!(ev.contact_key, self.key);
        let stamp = Stamp::of(ev);
        if let Some(p) = &ev.phone {
            self.phone = Some(p.clone());
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
        if ev.kind == Kind::Referral {
            // A source seen before (or between) messages counts like one on
            // an inbound message (rule 5), without being a message.
            if let Some(src) = &ev.source {
                merge(&mut self.first_source, &stamp, src, true);
                merge(&mut self.last_source, &stamp, src, false);
            }
            return;
        }
        if ev.kind != Kind::Message {
            return;
        }
        if ev.is_inbound() {
            merge(&mut self.first_inbound, &stamp, &ev.channel, true);
            if let Some(src) = &ev.source {
                merge(&mut self.first_source, &stamp, src, true);
                merge(&mut self.last_source, &stamp, src, false);
            }
            self.release_early_touches();
        } else if ev.is_touch() {
            self.add_touch(ev.occurred_at);
        }
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

    /// The lead this contact is, if it is one (rules 2–6).
    pub fn lead(&self) -> Option<LeadFacts> {
        if self.known_customer {
            return None;
        }
        let first = self.first_inbound.as_ref()?;
        let first_source = self.first_source.as_ref().map(|s| s.value.clone());
        let last_source = self.last_source.as_ref().map(|s| s.value.clone());
        Some(LeadFacts {
            key: self.key.clone(),
            date: first.stamp.at,
            channel: first.value.clone(),
            name: self.name.as_ref().map(|s| s.value.clone()),
            phone: self.phone.clone(),
            email: self.email.as_ref().map(|s| s.value.clone()),
            first_source,
            last_source,
            first_touched_at: self.first_touch,
        })
    }
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
}

impl LeadFacts {
    /// The page shows Last Source only when it differs from the first (rule 5).
    pub fn last_source_differs(&self) -> bool {
        match (&self.first_source, &self.last_source) {
            (Some(a), Some(b)) => !a.same_as(b),
            _ => false,
        }
    }
}

/// How a session ended (rule 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionEnd {
    /// Still open at the last known event.
    Open,
    /// Closed by the inactivity timeout.
    Timeout,
    /// Closed by a `resolved` event.
    Resolved,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub number: u32,
    pub started_at: DateTime<Utc>,
    /// The last message in either direction inside the session.
    pub last_activity: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end: SessionEnd,
}

/// Rule 8: a session starts at an inbound message when none is open, and
/// closes after `timeout` without any message (a gap of exactly `timeout`
/// closes it) or at a `resolved` event. Numbered 1, 2, 3… in time order.
/// Takes the contact's events in any order, with repeats.
pub fn sessions(events: &[Event], timeout: Duration) -> Vec<Session> {
    let mut evs: Vec<&Event> = events.iter().collect();
    evs.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    evs.dedup_by(|a, b| a.id == b.id);
    // Being a known customer is no message.
    evs.retain(|e| !matches!(e.kind, Kind::Known | Kind::Referral));

    let mut out: Vec<Session> = Vec::new();
    let mut open: Option<Session> = None;
    for ev in evs {
        if let Some(s) = open.take() {
            if ev.occurred_at - s.last_activity >= timeout {
                out.push(Session {
                    ended_at: Some(s.last_activity + timeout),
                    end: SessionEnd::Timeout,
                    ..s
                });
            } else {
                open = Some(s);
            }
        }
        match (ev.kind, &mut open) {
            (Kind::Resolved, Some(_)) => {
                if let Some(s) = open.take() {
                    out.push(Session {
                        ended_at: Some(ev.occurred_at),
                        end: SessionEnd::Resolved,
                        ..s
                    });
                }
            }
            (Kind::Resolved, None) => {}
            (Kind::Message, Some(s)) => s.last_activity = ev.occurred_at,
            (Kind::Message, None) if ev.is_inbound() => {
                open = Some(Session {
                    number: out.len() as u32 + 1,
                    started_at: ev.occurred_at,
                    last_activity: ev.occurred_at,
                    ended_at: None,
                    end: SessionEnd::Open,
                });
            }
            (Kind::Message, None) | (Kind::Known | Kind::Referral, _) => {}
        }
    }
    out.extend(open);
    out
}

/// Rule 9: the UTC instants `[start, end)` of the calendar days `from..=to`
/// in `tz`. A day that starts inside a DST gap starts at the first instant
/// that exists.
pub fn day_range(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    tz: chrono_tz::Tz,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = start_of_day(from, tz);
    let end = to
        .succ_opt()
        .map(|d| start_of_day(d, tz))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (start, end)
}

fn start_of_day(day: chrono::NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    // Walk forward over a DST gap in 15-minute steps (the finest offsets in use).
    (0..=8)
        .find_map(|i| {
            tz.from_local_datetime(&(midnight + Duration::minutes(15 * i)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// The reference model: derives a contact's lead straight from the rules'
/// wording, from the whole set of events at once. Tests compare the
/// incremental [`ContactState`] against it.
#[cfg(test)]
pub fn reference_lead(key: &str, events: &[Event]) -> Option<LeadFacts> {
    let mut evs: Vec<&Event> = events.iter().filter(|e| e.contact_key == key).collect();
    evs.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    evs.dedup_by(|a, b| a.id == b.id);
    let inbound: Vec<&&Event> = evs.iter().filter(|e| e.is_inbound()).collect();
    let first = inbound.first()?;
    let date = first.occurred_at;
    let with_source: Vec<&&&Event> = inbound.iter().filter(|e| e.source.is_some()).collect();
    Some(LeadFacts {
        key: key.to_owned(),
        date,
        channel: first.channel.clone(),
        name: evs.iter().rev().find_map(|e| e.name.clone()),
        phone: evs.iter().rev().find_map(|e| e.phone.clone()),
        email: evs.iter().rev().find_map(|e| e.email.clone()),
        first_source: with_source.first().and_then(|e| e.source.clone()),
        last_source: with_source.last().and_then(|e| e.source.clone()),
        first_touched_at: evs
            .iter()
            .filter(|e| e.is_touch() && e.occurred_at >= date)
            .map(|e| e.occurred_at)
            .min(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::event::{Direction, Sender};
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

    fn msg(id: &str, at: DateTime<Utc>, dir: Direction, sender: Sender) -> Event {
        Event {
            id: id.into(),
            kind: Kind::Message,
            occurred_at: at,
            channel: "whatsapp".into(),
            direction: Some(dir),
            sender,
            contact_key: KEY.into(),
            phone: Some(KEY.into()),
            external_id: None,
            name: None,
            email: None,
            source: None,
            ctwa_clid: None,
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

    #[test]
    fn rule2_lead_is_born_at_first_inbound() {
        let s = fold(&[inbound("b", t(10, 0)), inbound("a", t(9, 0))]);
        let lead = s.lead().expect("a lead");
        assert_eq!(lead.date, t(9, 0));
        assert_eq!(lead.channel, "whatsapp");
    }

    #[test]
    fn rule3_no_lead_without_inbound_then_born_when_customer_writes() {
        let mut s = fold(&[
            reply("o1", t(8, 0), Sender::Agent),
            reply("o2", t(8, 5), Sender::System),
        ]);
        assert!(s.lead().is_none());
        s.apply(&inbound("i1", t(9, 0)));
        let lead = s.lead().expect("lead");
        assert_eq!(lead.date, t(9, 0));
        // The agent wrote before the customer: that is not an answer to the lead.
        assert_eq!(lead.first_touched_at, None);
    }

    #[test]
    fn rule4_known_customers_are_never_leads() {
        let mut s = fold(&[inbound("i1", t(9, 0))]);
        s.mark_known_customer();
        assert!(s.lead().is_none());
    }

    #[test]
    fn rule5_first_and_last_source() {
        let mut a = inbound("a", t(9, 0));
        a.source = Some(src("1"));
        let b = inbound("b", t(10, 0));
        let mut c = inbound("c", t(11, 0));
        c.source = Some(src("2"));
        let lead = fold(&[c.clone(), b, a.clone()]).lead().expect("lead");
        assert_eq!(lead.first_source, Some(src("1")));
        assert_eq!(lead.last_source, Some(src("2")));
        assert!(lead.last_source_differs());

        // No source at all: both empty.
        let lead = fold(&[inbound("x", t(9, 0))]).lead().expect("lead");
        assert_eq!((lead.first_source, lead.last_source), (None, None));

        // Same platform and id: the same source, even with another name.
        let mut renamed = src("1");
        renamed.name = Some("Renamed".into());
        assert!(src("1").same_as(&renamed));
        let mut c2 = c;
        c2.source = Some(renamed);
        assert!(!fold(&[a, c2]).lead().expect("lead").last_source_differs());
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
        assert_eq!(s.lead().expect("lead").first_touched_at, Some(t(9, 2)));
        // Only system messages: awaiting first response.
        let s = fold(&[inbound("i", t(9, 0)), reply("sys", t(9, 1), Sender::System)]);
        assert_eq!(s.lead().expect("lead").first_touched_at, None);
        // An answer at the very instant of the first message counts.
        let s = fold(&[inbound("i", t(9, 0)), reply("ag", t(9, 0), Sender::Agent)]);
        assert_eq!(s.lead().expect("lead").first_touched_at, Some(t(9, 0)));
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
        assert_eq!(s.lead().expect("lead").first_touched_at, None);
        s.apply(&late);
        let lead = s.lead().expect("lead");
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
            let lead = fold(&order).lead().expect("lead");
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
        use proptest::prelude::*;

        const KEYS: [&str; 3] = ["+6281111111111", "+6282222222222", "instagram:77"];

        fn arb_event() -> impl Strategy<Value = Event> {
            (
                0..3usize,
                0..40u32,      // minutes: small range makes ties likely
                0..6u8,        // what kind of event
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
                        _ => (Kind::Resolved, None, Sender::Agent),
                    };
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
                        contact_key: KEYS[k].into(),
                        phone: (k < 2).then(|| KEYS[k].into()),
                        external_id: (k == 2).then(|| "77".into()),
                        name: (name > 0).then(|| format!("Name {name}")),
                        email: email.then(|| format!("n{minute}@example.com")),
                        source: (inbound && source > 0).then(|| src(&source.to_string())),
                        ctwa_clid: None,
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
                let mut arrival = history.clone();
                for r in &repeats {
                    arrival.push(r.get(&history).clone());
                }
                let n = arrival.len();
                let mut x = seed | 1;
                for i in (1..n).rev() {
                    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                    arrival.swap(i, (x as usize) % (i + 1));
                }
                arrival.rotate_left(order.index(n));
                let mut cut_points: Vec<usize> = cuts.iter().map(|c| c.index(n + 1)).collect();
                cut_points.sort_unstable();
                let mut batches = Vec::new();
                let mut last = 0;
                for c in cut_points.into_iter().chain([n]) {
                    batches.push(arrival[last..c].to_vec());
                    last = c;
                }

                let states = fold_batches(&batches);
                let in_order = fold_batches(&[history.clone()]);
                for key in KEYS {
                    let got = states.get(key).and_then(ContactState::lead);
                    prop_assert_eq!(&got, &reference_lead(key, &history), "contact {}", key);
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
}
