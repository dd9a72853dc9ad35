//! The seven-column Leads table.

use leptos::prelude::*;

use crate::model::{LeadRow, Source};

/// Column titles, in the order of `shared/spec/leads.md`.
pub const COLUMNS: [&str; 7] = [
    "Date",
    "Customer Name",
    "Phone Number",
    "Email",
    "First Source",
    "First Touched At",
    "Last Source",
];

#[component]
pub fn LeadTable(rows: Vec<LeadRow>) -> impl IntoView {
    view! {
        <table class="leads" data-testid="leads-table">
            <thead>
                <tr>{COLUMNS.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}</tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| view! { <LeadRowView row/> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn LeadRowView(row: LeadRow) -> impl IntoView {
    let LeadRow {
        lead,
        date_text,
        phone_text,
        first_touched_text,
        last_source_differs,
    } = row;
    let dash = || view! { <span class="muted">"—"</span> }.into_any();
    let last = if last_source_differs {
        lead.last_source.clone()
    } else {
        None
    };
    view! {
        <tr data-lead=lead.id.clone()>
            <td class="date" title=lead.date.to_rfc3339()>{date_text}</td>
            <td class="name">
                {match lead.name {
                    Some(n) => n.into_any(),
                    None => dash(),
                }}
            </td>
            <td class="phone">
                {match phone_text {
                    Some(p) => p.into_any(),
                    None => dash(),
                }}
            </td>
            <td class="email">
                {match lead.email {
                    Some(e) => e.into_any(),
                    None => dash(),
                }}
            </td>
            <td class="first-source">
                {match lead.first_source {
                    Some(s) => view! { <SourceBadge source=s/> }.into_any(),
                    None => view! { <span class="badge organic">"Organic"</span> }.into_any(),
                }}
            </td>
            <td class="first-touched">
                {match first_touched_text {
                    Some(t) => t.into_any(),
                    None => view! { <span class="badge awaiting">"Awaiting first response"</span> }
                        .into_any(),
                }}
            </td>
            <td class="last-source">
                {match last {
                    Some(s) => view! { <SourceBadge source=s/> }.into_any(),
                    None => dash(),
                }}
            </td>
        </tr>
    }
}

#[component]
fn SourceBadge(source: Source) -> impl IntoView {
    let title = source
        .url
        .clone()
        .unwrap_or_else(|| format!("{} {}", source.platform, source.kind));
    view! {
        <span class="badge source" title=title>
            <span class="platform">{source.platform.clone()}</span>
            " "
            {source.label()}
        </span>
    }
}
