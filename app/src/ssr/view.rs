//! The Leads page's data: the read path's page, formatted for people in the
//! business time zone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::filter::{Filter, encode_cursor};
use super::phone;
use super::rules::LeadFacts;
use super::state::AppState;
use crate::error::AppError;
use crate::model::{Lead, LeadRow, LeadsQuery, LeadsView};

impl From<LeadFacts> for Lead {
    fn from(f: LeadFacts) -> Self {
        Lead {
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

pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%d %b %Y, %H:%M").to_string()
}

pub fn row(facts: LeadFacts, tz: Tz) -> LeadRow {
    let last_source_differs = facts.last_source_differs();
    let lead = Lead::from(facts);
    LeadRow {
        date_text: local_time(lead.date, tz),
        phone_text: lead.phone.as_deref().map(phone::display),
        first_touched_text: lead.first_touched_at.map(|t| local_time(t, tz)),
        last_source_differs,
        lead,
    }
}

pub async fn leads_view(state: &AppState, query: &LeadsQuery) -> Result<LeadsView, AppError> {
    let filter = Filter::from_query(query, state.settings.tz, Utc::now())?;
    let page = state.leads.list(&filter);
    Ok(LeadsView {
        rows: page.leads.into_iter().map(|f| row(f, filter.tz)).collect(),
        total: page.total,
        next_cursor: page.next.map(|c| encode_cursor(filter.sort, &c)),
        from: filter.from.to_string(),
        to: filter.to.to_string(),
        tz: filter.tz.name().to_owned(),
        q: query.q.clone().unwrap_or_default(),
    })
}
