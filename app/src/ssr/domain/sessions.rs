//! Rule 8 of `shared/spec/leads.md`: a contact's conversations (sessions),
//! from its events in any order. Pure. (Tested with the other rules in
//! `rules.rs`.)

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::event::{Event, Kind};

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
/// Takes the contact's events in any order, with repeats. (The lead detail
/// reads [`sessions_and_members`]; the rules' tests read this.)
#[cfg(test)]
pub fn sessions(events: &[Event], timeout: Duration) -> Vec<Session> {
    sessions_and_members(events, timeout).0
}

/// [`sessions`], and the session each event falls in, by event id, as the
/// same walk in rule 7's order sees it: at one instant, a `resolved` closes
/// its session for what sorts after it, and a message after it opens the
/// next (or, outbound, belongs to none). A `resolved` belongs to the session
/// it closed; an event that is no message (a referral, a tie, being known)
/// to the session open when it came; a conversion to none.
pub fn sessions_and_members(
    events: &[Event],
    timeout: Duration,
) -> (Vec<Session>, std::collections::HashMap<String, u32>) {
    let mut evs: Vec<&Event> = events.iter().collect();
    evs.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    evs.dedup_by(|a, b| a.id == b.id);

    let mut out: Vec<Session> = Vec::new();
    let mut members = std::collections::HashMap::new();
    let mut open: Option<Session> = None;
    for ev in evs {
        // Being a known customer, a referral, a tie or a conversion is no
        // message: it neither opens, extends nor closes a session.
        let message = matches!(ev.kind, Kind::Message | Kind::Resolved);
        if !message {
            let current = open
                .as_ref()
                .filter(|s| ev.occurred_at - s.last_activity < timeout);
            if let (Some(s), false) = (current, ev.kind == Kind::Conversion) {
                members.insert(ev.id.clone(), s.number);
            }
            continue;
        }
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
        let member = match (ev.kind, &mut open) {
            (Kind::Resolved, Some(_)) => open.take().map(|s| {
                let number = s.number;
                out.push(Session {
                    ended_at: Some(ev.occurred_at),
                    end: SessionEnd::Resolved,
                    ..s
                });
                number
            }),
            (Kind::Message, Some(s)) => {
                s.last_activity = ev.occurred_at;
                Some(s.number)
            }
            (Kind::Message, None) if ev.is_inbound() => {
                let number = out.len() as u32 + 1;
                open = Some(Session {
                    number,
                    started_at: ev.occurred_at,
                    last_activity: ev.occurred_at,
                    ended_at: None,
                    end: SessionEnd::Open,
                });
                Some(number)
            }
            _ => None,
        };
        if let Some(n) = member {
            members.insert(ev.id.clone(), n);
        }
    }
    out.extend(open);
    (out, members)
}
