//! The Leads page's data: what the server functions answer, read through the
//! `Leads` service and formatted for people in the chosen time zone and
//! language (the browser bundle carries no time-zone database).

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

use crate::components::chart::{Breakdown, ChartView};
use crate::components::detail_body::{DetailTexts, detail_body};
use crate::components::kpis::Kpis;
use crate::components::lead_table;
use crate::components::{source_label, source_value};
use crate::error::AppError;
use crate::model::{DashboardView, Lang, Lead, LeadPanel, LeadRow, LeadsQuery, LeadsView};
use crate::ssr::domain::filter::{Filter, encode_cursor};
use crate::ssr::domain::rules::LeadFacts;
use crate::ssr::domain::{capi, phone};
use crate::ssr::state::AppState;
use crate::url::query_string;
use leptos::prelude::*;

/// How many first sources the chart stacks before "other".
pub const CHART_SERIES: usize = 5;

impl From<LeadFacts> for Lead {
    fn from(f: LeadFacts) -> Self {
        let (buyer, revenue) = (f.buyer(), f.revenue());
        let phone = f.shown_phone();
        Lead {
            engaged: f.engaged,
            one_message: f.one_message,
            buyer,
            revenue: revenue as f64 / 100.0,
            id: f.key,
            date: f.date,
            name: f.name,
            phone,
            email: f.email,
            channel: f.channel,
            first_source: f.first_source,
            first_touched_at: f.first_touched_at,
            last_source: f.last_source,
        }
    }
}

/// `27 Nov 2026 09.15` in `tz`, in the language's style.
pub fn local_time(t: DateTime<Utc>, tz: Tz, lang: Lang) -> String {
    let l = t.with_timezone(&tz);
    lang.date_time(l.year(), l.month(), l.day(), l.hour(), l.minute())
}

pub fn row(facts: LeadFacts, tz: Tz, lang: Lang, now: DateTime<Utc>) -> LeadRow {
    let last_source_differs = facts.last_source_differs();
    let lead = Lead::from(facts);
    LeadRow {
        date_text: local_time(lead.date, tz, lang),
        phone_text: lead.phone.as_deref().map(phone::display),
        first_touched_text: lead.first_touched_at.map(|t| local_time(t, tz, lang)),
        wait_seconds: lead.first_touched_at.map(|t| (t - lead.date).num_seconds()),
        waiting_seconds: match lead.first_touched_at {
            None => Some((now - lead.date).num_seconds().max(0)),
            Some(_) => None,
        },
        last_source_differs,
        lead,
    }
}

fn filter(state: &AppState, query: &LeadsQuery) -> Result<Filter, AppError> {
    Filter::from_query(query, state.settings.tz, Utc::now())
}

pub fn leads_view(state: &AppState, query: &LeadsQuery, lang: Lang) -> Result<LeadsView, AppError> {
    let filter = filter(state, query)?;
    let page = state.leads.list(&filter);
    let now = Utc::now();
    let rows: Vec<LeadRow> = page
        .leads
        .into_iter()
        .map(|f| row(f, filter.tz, lang, now))
        .collect();
    let count = rows.len();
    let head_query = LeadsQuery {
        cursor: None,
        limit: None,
        ..query.clone()
    };
    let sort = filter.sort.name();
    Ok(LeadsView {
        head_html: html(move || lead_table::head(sort, lang, &head_query)),
        rows_html: html(move || lead_table::rows(rows, lang)),
        rows: count,
        total: page.total,
        next_cursor: page.next.map(|c| encode_cursor(filter.sort, &c)),
        from: filter.from.to_string(),
        to: filter.to.to_string(),
        tz: filter.tz.name().to_owned(),
        q: query.q.clone().unwrap_or_default(),
        any_leads: !state.leads.is_empty(),
    })
}

/// Renders a view to HTML in an owner of its own (the page inserts it).
pub fn html<V: IntoView + 'static>(f: impl FnOnce() -> V) -> String {
    let owner = Owner::new();
    owner.with(|| f().to_html())
}

pub async fn dashboard_view(
    state: &AppState,
    query: &LeadsQuery,
    lang: Lang,
) -> Result<DashboardView, AppError> {
    let mut query = query.clone();
    // Totals and the chart cover every page.
    query.cursor = None;
    query.limit = None;
    let filter = filter(state, &query)?;
    // Whatever the period: a window closes by the clock, not the filters.
    let now = Utc::now();
    let closing = state
        .leads
        .closing_soon(now, capi::closing_within(), capi::CLOSING_MAX)
        .await?;
    let closing: Vec<ClosingLine> = closing
        .into_iter()
        .map(|c| ClosingLine {
            href: format!("/{}", query_string(&query, &[("lead", c.lead.id.as_str())])),
            who: c
                .lead
                .name
                .clone()
                .or_else(|| c.lead.phone.as_deref().map(phone::display))
                .unwrap_or_else(|| c.lead.id.clone()),
            source: c
                .lead
                .first_source
                .as_ref()
                .map(|s| s.label())
                .unwrap_or_else(|| lang.t("organic").to_owned()),
            channel: c.lead.channel.clone(),
            ends: local_time(c.window_ends_at, filter.tz, lang),
            left: (c.window_ends_at - now).num_seconds(),
        })
        .collect();
    let (mut summary, chart) = state.leads.dashboard(&filter, Some(CHART_SERIES));
    if let Some(h) = &state.settings.business_hours {
        summary.business_hours = Some(state.leads.hours(&filter, h, state.settings.tz));
    }
    // The picker offers the sources of the other filters, so a marketer
    // can switch from one ad straight to another (with a source chosen,
    // the view's own sources are that one alone).
    let picked = [&query.source, &query.last_source]
        .iter()
        .any(|s| s.as_deref().is_some_and(|s| !s.trim().is_empty()));
    let offered = if picked {
        let mut others = query.clone();
        others.source = None;
        others.last_source = None;
        state
            .leads
            .summary(&self::filter(state, &others)?)
            .by_source
    } else {
        summary.by_source.clone()
    };
    // Each source, and before a platform's first ad the platform as a whole.
    let mut sources: Vec<(String, String)> = Vec::new();
    for c in &offered {
        if let Some(s) = c.source.as_ref().filter(|s| s.id.is_some()) {
            if !sources.iter().any(|(v, _)| *v == s.platform) {
                let all = lang.t("status.all").to_lowercase();
                sources.push((s.platform.clone(), format!("{} ({all})", s.platform)));
            }
        }
        sources.push((
            source_value(c.source.as_ref()),
            source_label(c.source.as_ref(), lang),
        ));
    }
    let by_source = summary.by_source.clone();
    Ok(DashboardView {
        html: html(move || {
            view! {
                {closing_card(closing, lang)}
                <Kpis summary lang/>
                <div class="charts">
                    <ChartView chart lang/>
                    <Breakdown sources=by_source lang query/>
                </div>
            }
        }),
        sources,
    })
}

/// One lead of the closing-soon card, formatted.
struct ClosingLine {
    href: String,
    who: String,
    source: String,
    channel: String,
    ends: String,
    left: i64,
}

/// The ad leads whose window for Meta closes within 48 hours with nothing
/// sent, newest deadline first, each opening its lead (nothing when none).
fn closing_card(lines: Vec<ClosingLine>, l: Lang) -> impl IntoView {
    (!lines.is_empty()).then(move || {
        let n = lines.len();
        let items = lines
            .into_iter()
            .map(|c| {
                view! {
                    <li>
                        <a href=c.href>{c.who}</a>
                        <span class="muted small">{format!(" · {} · {}", c.channel, c.source)}</span>
                        <span class="ends">
                            {format!("{} {} ({} {})", l.t("closing.ends"), c.ends, l.t("capi.window.left"), l.duration(c.left))}
                        </span>
                    </li>
                }
            })
            .collect_view();
        view! {
            <section class="card closing" data-testid="closing-soon">
                <h2>{format!("{} ({})", l.t("closing.title"), l.int(n as u64))}</h2>
                <p class="muted small">{l.t("closing.help")}</p>
                <ol>{items}</ol>
            </section>
        }
    })
}

pub async fn lead_view(
    state: &AppState,
    id: &str,
    tz: Option<&str>,
    before: Option<u64>,
    lang: Lang,
) -> Result<Option<LeadPanel>, AppError> {
    let tz = match tz.map(str::trim).filter(|t| !t.is_empty()) {
        None => state.settings.tz,
        Some(t) => t
            .parse::<Tz>()
            .map_err(|_| AppError::param("tz", "must be an IANA time zone"))?,
    };
    let Some(detail) = state
        .leads
        .detail(
            id,
            before,
            state.settings.session_timeout,
            &state.settings.currency,
        )
        .await?
    else {
        return Ok(None);
    };
    let time = |t: DateTime<Utc>| local_time(t, tz, lang);
    let texts = DetailTexts {
        phone: detail.lead.phone.as_deref().map(phone::display),
        date: time(detail.lead.date),
        first_touched: detail.lead.first_touched_at.map(time),
        event_times: detail.events.iter().map(|e| time(e.occurred_at)).collect(),
        session_times: detail
            .sessions
            .iter()
            .map(|s| (time(s.started_at), s.ended_at.map(time)))
            .collect(),
        clicked: detail.capi.clicked_at.map(time),
        window_ends: detail.capi.window_ends_at.map(time),
        window_left: detail
            .capi
            .window_ends_at
            .map(|end| (end - Utc::now()).num_seconds()),
        capi_times: detail
            .capi
            .events
            .iter()
            .map(|e| (time(e.event_time), e.sent_at.map(time)))
            .collect(),
        currency: state.settings.currency.clone(),
    };
    let (shown, total, older) = (
        detail.events.len() as u64,
        detail.events_total,
        detail.older,
    );
    Ok(Some(LeadPanel {
        html: html(move || detail_body(detail, texts, lang)),
        shown,
        total,
        older,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::domain::event::test_batch;
    use crate::ssr::domain::rules::LeadFacts;
    use crate::ssr::reports::timeline::{Counted, timeline};

    /// The detail shows an event where it happened: an agent's message
    /// before the customer wrote above the sessions, a purchase made in a
    /// chat inside that chat's session, an answer after the session timed
    /// out below it (not all of them in one block above the sessions).
    #[test]
    fn detail_places_events_outside_sessions_where_they_happened() {
        let p = "+6281234567890";
        let at = |id: &str, t: &str, dir: &str, sender: &str| {
            serde_json::json!({"id": id, "occurred_at": format!("2026-11-{t}:00Z"),
                "channel": "whatsapp", "direction": dir, "sender": sender, "contact": {"phone": p}})
        };
        let events = test_batch(serde_json::json!([
            at("early", "19T23:00", "outbound", "agent"),
            at("hello", "20T01:00", "inbound", "customer"),
            at("reply", "20T01:01", "outbound", "agent"),
            {"id": "buy", "kind": "conversion", "occurred_at": "2026-11-20T01:30:00Z",
             "channel": "whatsapp", "direction": "inbound", "contact": {"phone": p},
             "conversion": {"type": "purchase", "value": "150000", "currency": "IDR"}},
            at("late", "22T09:00", "outbound", "agent"),
            at("again", "25T10:00", "inbound", "customer"),
        ]));
        let date = events[1].occurred_at;
        let facts = LeadFacts::bare(p, date);
        let counted = Counted::of(&facts, chrono::Duration::days(30));
        let now = date + chrono::Duration::days(10);
        let d = timeline(facts, events, chrono::Duration::hours(24), &counted, now);
        let ids: Vec<String> = d.events.iter().map(|e| e.id.clone()).collect();
        let texts = DetailTexts {
            phone: None,
            date: String::new(),
            first_touched: None,
            event_times: ids.iter().map(|id| format!("at-{id}")).collect(),
            session_times: d
                .sessions
                .iter()
                .map(|s| (format!("s{}", s.number), None))
                .collect(),
            clicked: None,
            window_ends: None,
            window_left: None,
            capi_times: Vec::new(),
            currency: "IDR".into(),
        };
        let out = html(move || detail_body(d, texts, Lang::En));
        let pos = |needle: &str| {
            out.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {out}"))
        };
        // Above the sessions: only what came before the first.
        let first_session = pos("data-session=\"1\"");
        assert!(pos("at-early") < first_session);
        let second_session = pos("data-session=\"2\"");
        // The purchase in session 1, after its messages; the late answer
        // after session 1, before session 2.
        assert!(first_session < pos("at-reply") && pos("at-reply") < pos("at-buy"));
        assert!(pos("at-buy") < pos("at-late") && pos("at-late") < second_session);
        assert!(second_session < pos("at-again"));
        assert_eq!(out.matches("Outside sessions").count(), 2, "{out}");
    }
}
