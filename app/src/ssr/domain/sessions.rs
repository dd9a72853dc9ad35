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
/// Takes the contact's events in any order, with repeats.
pub fn sessions(events: &[Event], timeout: Duration) -> Vec<Session> {
    let mut evs: Vec<&Event> = events.iter().collect();
    evs.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    evs.dedup_by(|a, b| a.id == b.id);
    // Being a known customer, a referral, a tie or a conversion is no message.
    evs.retain(|e| {
        !matches!(
            e.kind,
            Kind::Known | Kind::Referral | Kind::Link | Kind::Conversion
        )
    });

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
            (Kind::Message, None)
            | (Kind::Known | Kind::Referral | Kind::Link | Kind::Conversion, _) => {}
        }
    }
    out.extend(open);
    out
}
