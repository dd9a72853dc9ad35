//! The seven-column Leads table, rendered to HTML on the server: the header
//! (Date, Customer Name and First Touched At link to their sorts) and the
//! rows. The page opens a row's lead on click or Enter (`data-lead`).

use leptos::prelude::*;

use crate::model::{Lang, LeadRow, LeadsQuery, Source};
use crate::url::query_string;

/// Column text keys, in the order of `shared/spec/leads.md`, with the sort
/// each header toggles (first click: its first sort).
pub const COLUMNS: [(&str, Option<[&str; 2]>); 7] = [
    ("col.date", Some(["-date", "date"])),
    ("col.name", Some(["name", "-name"])),
    ("col.phone", None),
    ("col.email", None),
    ("col.first_source", None),
    (
        "col.first_touched",
        Some(["-first_touched_at", "first_touched_at"]),
    ),
    ("col.last_source", None),
];

/// The header row: sortable columns link to the same view sorted by them
/// (first click: the column's first sort; again: the other direction).
pub fn head(sort: &str, lang: Lang, query: &LeadsQuery) -> impl IntoView + use<> {
    let l = lang;
    let headers = COLUMNS
        .iter()
        .map(|(key, sorts)| match sorts {
            None => view! { <th scope="col">{l.t(key)}</th> }.into_any(),
            Some([first, second]) => {
                let (aria, next) = if sort == *first {
                    (sort_word(first), *second)
                } else if sort == *second {
                    (sort_word(second), *first)
                } else {
                    ("none", *first)
                };
                // The default sort is the URL without `sort`.
                let href = format!("/{}", query_string(query, &[("sort", next)]))
                    .replace("&sort=-date", "")
                    .replace("?sort=-date&", "?")
                    .replace("?sort=-date", "");
                view! {
                    <th scope="col" aria-sort=aria>
                        <a class="sort" data-sort=next href=href
                            title=format!("{} {}", l.t("sort.by"), l.t(key))>
                            {l.t(key)}
                        </a>
                    </th>
                }
                .into_any()
            }
        })
        .collect_view();
    view! { <tr>{headers}</tr> }
}

/// The rows of one page of leads.
pub fn rows(rows: Vec<LeadRow>, lang: Lang) -> impl IntoView {
    rows.into_iter()
        .map(|row| view! { <LeadRowView row lang/> })
        .collect_view()
}

fn sort_word(sort: &str) -> &'static str {
    if sort.starts_with('-') {
        "descending"
    } else {
        "ascending"
    }
}

#[component]
fn LeadRowView(row: LeadRow, lang: Lang) -> impl IntoView {
    let l = lang;
    let LeadRow {
        lead,
        date_text,
        phone_text,
        first_touched_text,
        wait_seconds,
        waiting_seconds,
        last_source_differs,
    } = row;
    let dash = || view! { <span class="muted" aria-label="–">"—"</span> }.into_any();
    let last = if last_source_differs {
        lead.last_source.clone()
    } else {
        None
    };
    let label = format!(
        "{} {}",
        l.t("detail.title"),
        lead.name.clone().or(phone_text.clone()).unwrap_or_default()
    );
    view! {
        <tr data-lead=lead.id.clone() tabindex="0" aria-label=label>
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
                    // A long address is cut with an ellipsis (whole on hover
                    // and in the detail), so Last Source stays on screen.
                    Some(e) => {
                        let whole = e.clone();
                        view! { <span class="cut" title=whole>{e}</span> }.into_any()
                    }
                    None => dash(),
                }}
            </td>
            <td class="first-source" data-label=l.t("col.first_source")>
                {match lead.first_source {
                    Some(s) => view! { <SourceBadge source=s/> }.into_any(),
                    None => view! { <span class="badge organic">{l.t("organic")}</span> }.into_any(),
                }}
            </td>
            <td class="first-touched" data-label=l.t("col.first_touched")>
                {match first_touched_text {
                    Some(t) => view! {
                        {t}
                        {wait_seconds.map(|w| view! { <span class="wait">{l.duration(w)}</span> })}
                    }
                    .into_any(),
                    None => view! {
                        <span class="badge awaiting">{l.t("awaiting")}</span>
                        {waiting_seconds.map(|w| view! {
                            <span class="wait waiting">{format!("{} {}", l.t("waited"), l.duration(w))}</span>
                        })}
                    }
                    .into_any(),
                }}
                // What became of the lead (quality=, the CSV): who wrote
                // back after our answer, who bought.
                {(lead.engaged || lead.buyer).then(|| view! {
                    <span class="quality">
                        {lead.engaged.then(|| view! { <span class="badge engaged">{l.t("quality.engaged")}</span> })}
                        {lead.buyer.then(|| view! { <span class="badge buyer">{l.t("quality.buyer")}</span> })}
                    </span>
                })}
            </td>
            <td class="last-source" data-label=l.t("col.last_source")>
                {match last {
                    Some(s) => view! { <SourceBadge source=s/> }.into_any(),
                    None => dash(),
                }}
            </td>
        </tr>
    }
}

#[component]
pub fn SourceBadge(source: Source) -> impl IntoView {
    // The whole name (the badge may cut it), then where it links.
    let title = [
        Some(source.label()),
        source.url.clone(),
        Some(format!("{} {}", source.platform, source.kind)),
    ]
    .into_iter()
    .flatten()
    .filter(|t| !t.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    view! {
        <span class="badge source" title=title>
            <span class="platform">{source.platform.clone()}</span>
            " "
            {source.label()}
        </span>
    }
}
