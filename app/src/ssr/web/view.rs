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
use crate::ssr::domain::phone;
use crate::ssr::domain::rules::LeadFacts;
use crate::ssr::state::AppState;
use leptos::prelude::*;

/// How many first sources the chart stacks before "other".
pub const CHART_SERIES: usize = 5;

impl From<LeadFacts> for Lead {
    fn from(f: LeadFacts) -> Self {
        let (buyer, revenue) = (f.buyer(), f.revenue());
        Lead {
            engaged: f.engaged,
            one_message: f.one_message,
            buyer,
            revenue: revenue as f64 / 100.0,
            id: f.key,
            date: f.date,
            name: f.name,
            phone: f.phone,
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

pub fn dashboard_view(
    state: &AppState,
    query: &LeadsQuery,
    lang: Lang,
) -> Result<DashboardView, AppError> {
    let mut query = query.clone();
    // Totals and the chart cover every page.
    query.cursor = None;
    query.limit = None;
    let filter = filter(state, &query)?;
    let (mut summary, chart) = state.leads.dashboard(&filter, Some(CHART_SERIES));
    if let Some(h) = &state.settings.business_hours {
        summary.business_hours = Some(state.leads.hours(&filter, h, state.settings.tz));
    }
    // Each source, and before a platform's first ad the platform as a whole.
    let mut sources: Vec<(String, String)> = Vec::new();
    for c in &summary.by_source {
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
        .detail(id, before, state.settings.session_timeout)
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
