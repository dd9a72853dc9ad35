//! The lead detail's body, rendered to HTML on the server: the contact, its
//! first and last source with their links, and the timeline of its sessions
//! (rule 8) with their events, and what Meta was told (Conversions API).

use leptos::prelude::*;

use super::lead_table::SourceBadge;
use crate::model::{CapiEvent, CapiInfo, Lang, LeadDetail, Source, TimelineEvent};

/// The detail's texts formatted on the server (times in the chosen zone).
pub struct DetailTexts {
    pub phone: Option<String>,
    pub date: String,
    pub first_touched: Option<String>,
    /// Per event, in the order of `LeadDetail::events`.
    pub event_times: Vec<String>,
    /// Per session: its start and end.
    pub session_times: Vec<(String, Option<String>)>,
    /// The ad click's time and the end of its 7-day window.
    pub clicked: Option<String>,
    pub window_ends: Option<String>,
    /// Seconds until the window ends (negative: it has passed).
    pub window_left: Option<i64>,
    /// Per Conversions API outcome, in the order of `capi.events`: its
    /// time and when it was sent.
    pub capi_times: Vec<(String, Option<String>)>,
    /// Purchase values' currency (the settings').
    pub currency: String,
}

fn source_link(source: Option<Source>, l: Lang) -> AnyView {
    match source {
        None => view! { <span class="badge organic">{l.t("organic")}</span> }.into_any(),
        Some(s) => {
            let url = s
                .url
                .clone()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
            view! {
                <SourceBadge source=s/>
                {url.map(|u| view! { " " <a href=u.clone() target="_blank" rel="noopener noreferrer">{u.clone()}</a> })}
            }
            .into_any()
        }
    }
}

pub fn detail_body(d: LeadDetail, mut v: DetailTexts, l: Lang) -> impl IntoView {
    let lead = d.lead;
    let capi = capi_section(d.capi, &mut v, l);
    let wait = lead.first_touched_at.map(|t| (t - lead.date).num_seconds());
    let field = |key: &'static str, value: Option<String>| {
        view! {
            <dt>{l.t(key)}</dt>
            <dd>{value.unwrap_or_else(|| "—".into())}</dd>
        }
    };
    let first_touch = match (&v.first_touched, wait) {
        (Some(t), Some(w)) => Some(format!("{t} ({} {})", l.t("detail.wait"), l.duration(w))),
        _ => Some(l.t("awaiting").to_owned()),
    };
    // Where each event shows, decided once per event: a session's own
    // events in it; an event outside every session (rule 8) before the
    // first session, or after the session it follows; a conversion, which
    // belongs to no session, inside the one it was made during, so a
    // purchase made in a chat shows in that chat, and one made days later
    // after it. (Sessions come in time order.)
    let place = |e: &TimelineEvent| -> Place {
        if let Some(n) = e.session {
            return Place::In(n);
        }
        let i = d
            .sessions
            .partition_point(|s| s.started_at <= e.occurred_at);
        let Some(s) = i.checked_sub(1).and_then(|i| d.sessions.get(i)) else {
            return Place::Before;
        };
        let during = e.conversion.is_some() && s.ended_at.is_none_or(|end| e.occurred_at <= end);
        if during {
            Place::In(s.number)
        } else {
            Place::After(s.number)
        }
    };
    let events: Vec<(Place, TimelineEvent, String)> = d
        .events
        .into_iter()
        .zip(v.event_times)
        .map(|(e, t)| (place(&e), e, t))
        .collect();
    let in_place = |p: Place| -> Vec<(TimelineEvent, String)> {
        events
            .iter()
            .filter(|(at, _, _)| *at == p)
            .map(|(_, e, t)| (e.clone(), t.clone()))
            .collect()
    };
    let outside_block = |evs: Vec<(TimelineEvent, String)>| {
        (!evs.is_empty()).then(|| {
            view! {
                <div class="session outside">
                    <h4>{l.t("detail.outside")}</h4>
                    <ol class="events">{evs.into_iter().map(|(e, t)| event_item(e, t, l)).collect_view()}</ol>
                </div>
            }
        })
    };
    let before = outside_block(in_place(Place::Before));
    let sessions = d
        .sessions
        .into_iter()
        .zip(v.session_times)
        .map(|(s, (start, end))| {
            let evs = in_place(Place::In(s.number));
            let after = outside_block(in_place(Place::After(s.number)));
            let state = match s.end.as_str() {
                "timeout" => l.t("detail.timeout"),
                "resolved" => l.t("detail.resolved"),
                _ => l.t("detail.open"),
            };
            let span = match end {
                Some(end) => format!("{start} – {end}"),
                None => start,
            };
            view! {
                <li class="session" data-session=s.number>
                    <h4>{format!("{} {}", l.t("detail.session"), s.number)}</h4>
                    <p class="muted small">{format!("{span} · {state}")}</p>
                    <ol class="events">{evs.into_iter().map(|(e, t)| event_item(e, t, l)).collect_view()}</ol>
                    {after}
                </li>
            }
        })
        .collect_view();
    view! {
        <dl class="facts">
            {field("col.name", lead.name.clone())}
            {field("col.phone", v.phone.clone())}
            {field("col.email", lead.email.clone())}
            {field("col.channel", Some(l.channel(&lead.channel)))}
            {field("col.date", Some(v.date.clone()))}
            {field("col.first_touched", first_touch)}
            <dt>{l.t("col.first_source")}</dt>
            <dd>{source_link(lead.first_source.clone(), l)}</dd>
            <dt>{l.t("col.last_source")}</dt>
            <dd>{source_link(lead.last_source.clone(), l)}</dd>
            {field("col.id", Some(lead.id.clone()))}
        </dl>
        {capi}
        <h3>{l.t("detail.sessions")}</h3>
        {before}
        <ol class="sessions" data-testid="sessions">{sessions}</ol>
    }
}

/// Where the detail shows an event.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// Before the first session (or with no session at all).
    Before,
    /// In session n.
    In(u32),
    /// After session n ended, before the next began.
    After(u32),
}

fn event_item(e: TimelineEvent, time: String, l: Lang) -> impl IntoView {
    let conv = e.conversion.clone();
    let key = match (e.kind.as_str(), e.direction.as_deref(), e.sender.as_str()) {
        ("conversion", _, _) => match conv.as_ref().map(|c| c.kind.as_str()) {
            Some("purchase") => "ev.purchase",
            Some("qualified") => "ev.qualified",
            _ => "ev.lead_submitted",
        },
        ("resolved", _, _) => "ev.resolved",
        ("referral", _, _) if e.source.is_some() => "ev.referral",
        ("referral", _, _) => "ev.opened",
        ("known", _, _) => "ev.known",
        (_, Some("inbound"), _) => "ev.inbound",
        (_, _, "agent") => "ev.agent",
        (_, _, "ai") => "ev.ai",
        (_, _, "customer") => "ev.customer",
        _ => "ev.system",
    };
    let class = format!("event {}", key.trim_start_matches("ev."));
    let mut source = e
        .source
        .map(|s| format!(" · {} {}", l.t("ev.source"), s.label()));
    if let Some(c) = conv {
        let mut text = String::new();
        if let (Some(v), Some(cur)) = (c.value, c.currency.as_deref()) {
            text.push_str(&format!(" · {}", super::money(Some(v), cur, l)));
        }
        if c.detected_by.is_some() {
            text.push_str(&format!(" · {}", l.t("ev.by_meta")));
        }
        if c.kind == "purchase" && !c.attributed {
            text.push_str(&format!(" · {}", l.t("ev.not_attributed")));
        }
        source = Some(text);
    }
    // An outcome has no channel of its own (`other` when none was given).
    let channel = (e.kind != "conversion").then_some(e.channel);
    view! {
        <li class=class>
            <span class="time">{time}</span>
            <span class="what">{l.t(key)}{source}</span>
            <span class="muted small">{channel}</span>
        </li>
    }
}

/// Why an outcome or a lead cannot be sent, for people.
fn reason(code: &str, l: Lang) -> String {
    match code {
        "no_click" | "no_click_id" | "no_account" | "no_user_id" | "detected_by_meta"
        | "before_click" => l.t(&format!("capi.why.{code}")).to_owned(),
        other => other.to_owned(),
    }
}

/// The lead's Conversions API part: its ad click, whether it can be sent
/// and until when, and each outcome with what became of it.
fn capi_section(info: CapiInfo, v: &mut DetailTexts, l: Lang) -> impl IntoView + use<> {
    let click = match (&info.click_id, &info.account_id, &info.user_id) {
        (Some(clid), _, _) => Some(clid.clone()),
        (None, Some(a), Some(u)) => Some(format!("{a} · {u}")),
        (None, Some(a), None) => Some(a.clone()),
        (None, None, Some(u)) => Some(u.clone()),
        (None, None, None) => None,
    };
    let sendable = match (&info.not_sendable_reason, info.sendable) {
        (None, true) => l.t("capi.sendable.yes").to_owned(),
        (Some(why), _) => format!("{}: {}", l.t("capi.sendable.no"), reason(why, l)),
        (None, false) => l.t("capi.sendable.no").to_owned(),
    };
    // A lead that cannot be sent has no window running for it.
    let window = v
        .window_ends
        .take()
        .filter(|_| info.sendable)
        .map(|end| match v.window_left {
            Some(left) if left > 0 => {
                format!("{end} ({} {})", l.t("capi.window.left"), l.duration(left))
            }
            _ => format!("{end} ({})", l.t("capi.window.over")),
        });
    let clicked = v.clicked.take();
    let times = std::mem::take(&mut v.capi_times);
    let currency = v.currency.clone();
    let none = info.events.is_empty();
    let events = info
        .events
        .into_iter()
        .zip(times)
        .map(|(e, (at, sent))| capi_event(e, at, sent, &currency, l))
        .collect_view();
    view! {
        <section class="capi" data-testid="capi">
            <h3>{l.t("capi.title")}</h3>
            {(!info.configured).then(|| view! {
                <p class="muted small" data-testid="capi-off">{l.t("capi.off")}</p>
            })}
            <dl class="facts">
                // WhatsApp names a click by its id; Messenger and
                // Instagram by the account and the person's id there.
                <dt>{l.t(if info.click_id.is_none() && (info.account_id.is_some() || info.user_id.is_some()) {
                    "capi.click.person"
                } else {
                    "capi.click"
                })}</dt>
                <dd data-testid="capi-click"><code>{click.unwrap_or_else(|| "—".into())}</code>
                    {clicked.map(|c| view! { <span class="muted small">{format!(" · {c}")}</span> })}</dd>
                <dt>{l.t("capi.sendable")}</dt>
                <dd data-testid="capi-sendable">{sendable}</dd>
                <dt>{l.t("capi.window")}</dt>
                <dd data-testid="capi-window">{window.unwrap_or_else(|| "—".into())}</dd>
            </dl>
            {none.then(|| view! { <p class="muted small">{l.t("capi.none")}</p> })}
            <ul class="capi-events" data-testid="capi-events">{events}</ul>
        </section>
    }
}

fn capi_event(
    e: CapiEvent,
    at: String,
    sent: Option<String>,
    currency: &str,
    l: Lang,
) -> impl IntoView + use<> {
    let state = match e.state.as_str() {
        "sent" => match sent {
            Some(t) => format!("{} {t}", l.t("capi.state.sent")),
            None => l.t("capi.state.sent").to_owned(),
        },
        "rejected" => format!(
            "{}: {}",
            l.t("capi.state.rejected"),
            e.message.clone().unwrap_or_else(|| "—".into())
        ),
        "not_sendable" => format!(
            "{}: {}",
            l.t("capi.state.not_sendable"),
            e.reason
                .as_deref()
                .map(|r| reason(r, l))
                .unwrap_or_default()
        ),
        "pending" | "window_passed" | "unsent" => {
            l.t(&format!("capi.state.{}", e.state)).to_owned()
        }
        other => other.to_owned(),
    };
    // A pending event that failed before says why it is still waiting.
    let note = match e.state.as_str() {
        "pending" if e.tries > 0 => Some(format!(
            "{} {}{}",
            l.t("capi.tries"),
            e.tries,
            e.message
                .as_deref()
                .map(|m| format!(" · {m}"))
                .unwrap_or_default()
        )),
        "rejected" => e.error_subcode.map(|c| format!("error_subcode {c}")),
        _ => None,
    };
    let value = e
        .value
        .map(|v| format!(" · {}", super::money(Some(v), currency, l)));
    let class = format!("capi-state {}", e.state);
    view! {
        <li class="capi-event" data-event=e.event_name.clone() data-state=e.state.clone()>
            <span class="what"><strong>{e.event_name.clone()}</strong>{value}</span>
            <span class="time muted small">{at}</span>
            <span class=class>{state}</span>
            {note.map(|n| view! { <span class="muted small note">{n}</span> })}
        </li>
    }
}
