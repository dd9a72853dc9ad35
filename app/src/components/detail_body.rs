//! The lead detail's body, rendered to HTML on the server: the contact, its
//! first and last source with their links, and the timeline of its sessions
//! (rule 8) with their events.

use leptos::prelude::*;

use super::lead_table::SourceBadge;
use crate::model::{Lang, LeadDetail, Source, TimelineEvent};

/// The detail's texts formatted on the server (times in the chosen zone).
pub struct DetailTexts {
    pub phone: Option<String>,
    pub date: String,
    pub first_touched: Option<String>,
    /// Per event, in the order of `LeadDetail::events`.
    pub event_times: Vec<String>,
    /// Per session: its start and end.
    pub session_times: Vec<(String, Option<String>)>,
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

pub fn detail_body(d: LeadDetail, v: DetailTexts, l: Lang) -> impl IntoView {
    let lead = d.lead;
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
    let events: Vec<(TimelineEvent, String)> = d.events.into_iter().zip(v.event_times).collect();
    // Events outside any session (before the first inbound message) first.
    let outside: Vec<(TimelineEvent, String)> = events
        .iter()
        .filter(|(e, _)| e.session.is_none())
        .cloned()
        .collect();
    let sessions = d
        .sessions
        .into_iter()
        .zip(v.session_times)
        .map(|(s, (start, end))| {
            let evs: Vec<(TimelineEvent, String)> = events
                .iter()
                .filter(|(e, _)| e.session == Some(s.number))
                .cloned()
                .collect();
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
                </li>
            }
        })
        .collect_view();
    view! {
        <dl class="facts">
            {field("col.name", lead.name.clone())}
            {field("col.phone", v.phone.clone())}
            {field("col.email", lead.email.clone())}
            {field("col.channel", Some(lead.channel.clone()))}
            {field("col.date", Some(v.date.clone()))}
            {field("col.first_touched", first_touch)}
            <dt>{l.t("col.first_source")}</dt>
            <dd>{source_link(lead.first_source.clone(), l)}</dd>
            <dt>{l.t("col.last_source")}</dt>
            <dd>{source_link(lead.last_source.clone(), l)}</dd>
            {field("col.id", Some(lead.id.clone()))}
        </dl>
        <h3>{l.t("detail.sessions")}</h3>
        {(!outside.is_empty()).then(|| view! {
            <div class="session outside">
                <h4>{l.t("detail.outside")}</h4>
                <ol class="events">{outside.into_iter().map(|(e, t)| event_item(e, t, l)).collect_view()}</ol>
            </div>
        })}
        <ol class="sessions" data-testid="sessions">{sessions}</ol>
    }
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
        ("referral", _, _) => "ev.referral",
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
            text.push_str(&format!(" · {cur} {v}"));
        }
        if c.detected_by.is_some() {
            text.push_str(&format!(" · {}", l.t("ev.by_meta")));
        }
        if c.kind == "purchase" && !c.attributed {
            text.push_str(&format!(" · {}", l.t("ev.not_attributed")));
        }
        source = Some(text);
    }
    view! {
        <li class=class>
            <span class="time">{time}</span>
            <span class="what">{l.t(key)}{source}</span>
            <span class="muted small">{e.channel}</span>
        </li>
    }
}
