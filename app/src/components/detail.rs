//! The lead detail panel: the contact, its sources with their links, and
//! the timeline of its sessions (rule 8) with their events. Opened by the
//! `lead` URL parameter, so it has its own link; Escape or Close shuts it.

use leptos::prelude::*;

use super::lead_table::SourceBadge;
use super::use_lang;
use crate::model::{Lang, LeadDetailView, Source, TimelineEvent};

#[component]
pub fn DetailPanel(view_data: Option<LeadDetailView>, on_close: Callback<()>) -> impl IntoView {
    let l = use_lang().get_untracked();
    let body = match view_data {
        None => view! { <p class="empty" data-testid="detail-missing">{l.t("detail.missing")}</p> }
            .into_any(),
        Some(v) => detail_body(v, l).into_any(),
    };
    // Escape closes from anywhere on the page; focus moves into the panel
    // when it opens, so keyboard users land on it.
    let listener = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            on_close.run(());
        }
    });
    on_cleanup(move || listener.remove());
    let close_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(b) = close_button.get() {
            let _ = b.focus();
        }
    });
    view! {
        <div class="backdrop" on:click=move |_| on_close.run(())></div>
        <aside class="detail" role="dialog" aria-modal="true" aria-labelledby="detail-title"
            data-testid="detail">
            <header>
                <h2 id="detail-title">{l.t("detail.title")}</h2>
                <button type="button" class="close" data-testid="detail-close" node_ref=close_button
                    on:click=move |_| on_close.run(())>
                    {l.t("detail.close")}
                </button>
            </header>
            {body}
        </aside>
    }
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

fn detail_body(v: LeadDetailView, l: Lang) -> impl IntoView {
    let d = v.detail;
    let lead = d.lead;
    let wait = lead.first_touched_at.map(|t| (t - lead.date).num_seconds());
    let field = |key: &'static str, value: Option<String>| {
        view! {
            <dt>{l.t(key)}</dt>
            <dd>{value.unwrap_or_else(|| "—".into())}</dd>
        }
    };
    let first_touch = match (&v.first_touched_text, wait) {
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
            {field("col.phone", v.phone_text.clone())}
            {field("col.email", lead.email.clone())}
            {field("col.channel", Some(lead.channel.clone()))}
            {field("col.date", Some(v.date_text.clone()))}
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
    let key = match (e.kind.as_str(), e.direction.as_deref(), e.sender.as_str()) {
        ("resolved", _, _) => "ev.resolved",
        (_, Some("inbound"), _) => "ev.inbound",
        (_, _, "agent") => "ev.agent",
        (_, _, "ai") => "ev.ai",
        (_, _, "customer") => "ev.customer",
        _ => "ev.system",
    };
    let class = format!("event {}", key.trim_start_matches("ev."));
    let source = e
        .source
        .map(|s| format!(" · {} {}", l.t("ev.source"), s.label()));
    view! {
        <li class=class>
            <span class="time">{time}</span>
            <span class="what">{l.t(key)}{source}</span>
            <span class="muted small">{e.channel}</span>
        </li>
    }
}
