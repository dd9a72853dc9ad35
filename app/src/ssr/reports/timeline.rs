//! A lead's detail: its sessions (rule 8) and its events, each with the
//! session it falls in. Pure: from the lead's facts and its stored events.

use crate::model::{ConversionInfo, LeadDetail, SessionInfo, TimelineEvent};
use crate::ssr::domain::event::ConversionType;
use crate::ssr::domain::event::Event;
use crate::ssr::domain::money::Minor;
use crate::ssr::domain::rules::{LeadFacts, Purchase, attributed};
use crate::ssr::domain::sessions::{SessionEnd, sessions_and_members};

/// What counts for a lead (`outcomes.md`: a conversion at or after its
/// Date and within the attribution window): its attributed purchases, and
/// for the other conversions the window itself.
#[derive(Clone, Debug)]
pub(crate) struct Counted {
    purchases: Vec<Purchase>,
    date: chrono::DateTime<chrono::Utc>,
    window: chrono::Duration,
}

impl Counted {
    pub(crate) fn of(facts: &LeadFacts, window: chrono::Duration) -> Self {
        Counted {
            purchases: facts.purchases.clone(),
            date: facts.date,
            window,
        }
    }

    /// Whether a conversion of `kind` at `at` of `value` counts for the lead.
    pub(crate) fn counts(
        &self,
        kind: ConversionType,
        at: chrono::DateTime<chrono::Utc>,
        value: Option<Minor>,
    ) -> bool {
        match kind {
            // One of the attributed purchases (the rules chose them).
            ConversionType::Purchase => {
                value.is_some_and(|v| self.purchases.iter().any(|p| p.at == at && p.value == v))
            }
            _ => attributed(self.date, self.window, at),
        }
    }
}

/// A lead's sessions and events, each event with the session it falls in.
pub(crate) fn timeline(
    facts: LeadFacts,
    mut events: Vec<Event>,
    timeout: chrono::Duration,
    counted: &Counted,
    now: chrono::DateTime<chrono::Utc>,
) -> LeadDetail {
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    events.dedup_by(|a, b| a.id == b.id);
    let (mut sessions, members) = sessions_and_members(&events, timeout);
    // Rule 8: a session closes after the timeout without a message, also
    // when nothing has come since (it is not "open" days later).
    if let Some(s) = sessions.last_mut() {
        if s.end == SessionEnd::Open && now - s.last_activity >= timeout {
            s.end = SessionEnd::Timeout;
            s.ended_at = Some(s.last_activity + timeout);
        }
    }
    // Each event's session as the walk of rule 7's order saw it (by time
    // alone, two events of one instant around a `resolved` were mislabelled).
    let session_of = |e: &Event| members.get(&e.id).copied();
    let conversion = |e: &Event| {
        e.conversion.as_ref().map(|c| ConversionInfo {
            kind: c.kind.as_str().into(),
            value: c.value.map(|v| v as f64 / 100.0),
            currency: c.currency.clone(),
            detected_by: c.detected_by_meta.then(|| "meta".to_owned()),
            attributed: counted.counts(c.kind, e.occurred_at, c.value),
            capi_state: None,
            capi_message: None,
        })
    };
    let timeline = events
        .iter()
        .map(|e| TimelineEvent {
            conversion: conversion(e),
            id: e.id.clone(),
            occurred_at: e.occurred_at,
            kind: e.kind.as_str().into(),
            direction: e.direction.map(|d| d.as_str().into()),
            sender: e.sender.as_str().into(),
            channel: e.channel.clone(),
            source: e.source.clone(),
            // A conversion is no message: it belongs to no session.
            session: session_of(e),
        })
        .collect();
    LeadDetail {
        lead: facts.into(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionInfo {
                number: s.number,
                started_at: s.started_at,
                last_activity: s.last_activity,
                ended_at: s.ended_at,
                end: match s.end {
                    SessionEnd::Open => "open",
                    SessionEnd::Timeout => "timeout",
                    SessionEnd::Resolved => "resolved",
                }
                .into(),
            })
            .collect(),
        events: timeline,
        events_total: 0,
        older: None,
        capi: Default::default(),
        conversions: Vec::new(),
    }
}
