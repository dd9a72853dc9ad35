//! What a lead's detail shows of the Conversions API: its click, each
//! outcome and what became of it. Pure: from the contact's state and the
//! outbox rows of its events.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::timeline::Counted;
use crate::model::{CapiEvent, CapiInfo, ConversionInfo, LeadConversion, LeadDetail};
use crate::ssr::domain::capi::{self, Outcome, Plan};
use crate::ssr::domain::event::ConversionType;
use crate::ssr::domain::rules::ContactState;
use crate::ssr::store::outbox::Stored;

fn time(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.and_then(|s| DateTime::from_timestamp(s, 0))
}

/// The lead's Conversions API picture from its `outcomes`; `rows` are the
/// outbox rows of their event ids.
pub(crate) fn lead_capi(
    state: &ContactState,
    outcomes: Vec<Outcome>,
    rows: &[Stored],
    configured: bool,
) -> CapiInfo {
    let click = state.click.as_ref();
    let events = outcomes
        .into_iter()
        .map(|o| {
            let row = rows.iter().find(|r| r.eid == o.event_id);
            let (state, reason) = match (row, &o.plan) {
                (Some(r), _) => (r.state.clone(), None),
                (None, Plan::Send) => ("unsent".to_owned(), None),
                (None, Plan::NotSendable(why)) => {
                    ("not_sendable".to_owned(), Some((*why).to_owned()))
                }
                (None, Plan::WindowPassed) => ("window_passed".to_owned(), None),
            };
            CapiEvent {
                event_id: o.event_id,
                event_name: o.name.as_str().to_owned(),
                event_time: o.at,
                conversion_id: o.conversion,
                value: o.value.map(|v| v as f64 / 100.0),
                state,
                reason,
                sent_at: row
                    .filter(|r| r.state == "sent")
                    .and_then(|r| time(r.done_at)),
                message: row.and_then(|r| r.error.clone()),
                error_subcode: row.and_then(|r| r.subcode),
                events_received: row.and_then(|r| r.received),
                fbtrace_id: row.and_then(|r| r.trace.clone()),
                tries: row.map_or(0, |r| r.tries),
            }
        })
        .collect();
    CapiInfo {
        configured,
        click_id: click.and_then(|c| c.value.clid.clone()),
        channel: click.map(|c| c.value.channel.clone()),
        account_id: click.and_then(|c| c.value.account.clone()),
        user_id: click.and_then(|c| c.value.user.clone()),
        clicked_at: click.map(|c| c.stamp.at),
        window_ends_at: click.map(|c| c.stamp.at + capi::window()),
        sendable: click.is_some_and(|c| c.value.missing().is_none()),
        not_sendable_reason: match click {
            None => Some(capi::no_click(state).to_owned()),
            Some(c) => c.value.missing().map(str::to_owned),
        },
        events,
    }
}

/// Puts the picture on the detail, and each outcome's state on the
/// conversion it comes from.
pub(crate) fn attach(detail: &mut LeadDetail, info: CapiInfo) {
    for ev in &mut detail.events {
        let Some(c) = ev.conversion.as_mut() else {
            continue;
        };
        let Some(kind) = ConversionType::named(&c.kind) else {
            continue;
        };
        if let Some((state, message)) = send_state(&info, &ev.id, kind, c.attributed) {
            c.capi_state = Some(state);
            c.capi_message = message;
        }
    }
    detail.capi = info;
}

/// The send state of the outcome conversion `id` (of `kind`) makes, with
/// Meta's message or why it cannot be sent. A `qualified` or
/// `lead_submitted` conversion that `counts` for the lead and came after
/// its `LeadSubmitted` (once per lead) has that event's state.
fn send_state(
    info: &CapiInfo,
    id: &str,
    kind: ConversionType,
    counts: bool,
) -> Option<(String, Option<String>)> {
    let own = info
        .events
        .iter()
        .find(|o| o.conversion_id.as_deref() == Some(id));
    let lead_submitted = || {
        (counts
            && matches!(
                kind,
                ConversionType::Qualified | ConversionType::LeadSubmitted
            ))
        .then(|| info.events.iter().find(|o| o.event_name == "LeadSubmitted"))
        .flatten()
    };
    let o = own.or_else(lead_submitted)?;
    Some((
        o.state.clone(),
        o.message.clone().or_else(|| o.reason.clone()),
    ))
}

/// The detail's list of the lead's conversions, oldest first: every one
/// its state holds (and, without a state, the window's), each as its
/// event in the window shows it, or, when older than the window, from the
/// state: its type, value (in `currency`), whether Meta detected it,
/// whether it counts for the lead (`purchases`: the attributed ones) and
/// its send state.
pub(crate) fn conversions(
    detail: &mut LeadDetail,
    state: Option<&ContactState>,
    counted: &Counted,
    currency: &str,
) {
    let in_window: HashMap<&str, (DateTime<Utc>, &ConversionInfo)> = detail
        .events
        .iter()
        .filter_map(|e| Some((e.id.as_str(), (e.occurred_at, e.conversion.as_ref()?))))
        .collect();
    let marks = state.map_or(&[][..], |s| &s.conversions[..]);
    let mut list: Vec<LeadConversion> = marks
        .iter()
        .filter(|m| !in_window.contains_key(m.id.as_str()))
        .map(|m| {
            let counts = counted.counts(m.kind, m.at, m.value);
            let (capi_state, capi_message) =
                send_state(&detail.capi, &m.id, m.kind, counts).unzip();
            LeadConversion {
                id: m.id.clone(),
                occurred_at: m.at,
                conversion: ConversionInfo {
                    kind: m.kind.as_str().into(),
                    value: m.value.map(|v| v as f64 / 100.0),
                    currency: m.value.map(|_| currency.to_owned()),
                    detected_by: m.meta.then(|| "meta".to_owned()),
                    attributed: counts,
                    capi_state,
                    capi_message: capi_message.flatten(),
                },
            }
        })
        .collect();
    list.extend(in_window.into_iter().map(|(id, (at, c))| LeadConversion {
        id: id.to_owned(),
        occurred_at: at,
        conversion: c.clone(),
    }));
    list.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    detail.conversions = list;
}
