//! The Leads page's parts. The KPI cards, chart, breakdown, the table's
//! header and rows and the lead detail's body are rendered to HTML on the
//! server only (`ssr`): they have no state of their own, and leaving them
//! out of the browser bundle keeps it small (it would otherwise carry the
//! code to build and decode every one of them). The filters, the page
//! around them and the panel around the detail run in the browser too.

#[cfg(feature = "ssr")]
pub mod chart;
pub mod detail;
#[cfg(feature = "ssr")]
pub mod detail_body;
pub mod filters;
#[cfg(feature = "ssr")]
pub mod kpis;
#[cfg(feature = "ssr")]
pub mod lead_table;

use leptos::prelude::*;

use crate::model::{Lang, SourceRef};

/// The page's language (provided by `App`; switching reloads the page).
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or_default()
}

/// What the page shows for a first source; `None` is organic.
pub fn source_label(source: Option<&SourceRef>, lang: Lang) -> String {
    match source {
        None => lang.t("organic").to_owned(),
        Some(s) => match (&s.name, &s.id) {
            (Some(n), _) => n.clone(),
            (None, Some(id)) => format!("{} {}", s.platform, id),
            (None, None) => s.platform.clone(),
        },
    }
}

/// The `source=` filter value that selects this source: its id, else its
/// name (a source without an id is told by its name), else its platform;
/// `none` for organic.
pub fn source_value(source: Option<&SourceRef>) -> String {
    match source {
        None => "none".into(),
        Some(s) => source_filter(&s.platform, s.id.as_deref(), s.name.as_deref()),
    }
}

/// Money as the API gives it: whole units, with the cents when there are
/// any (`Rp 36,666.67`), so the page and the API agree; `–` for none.
pub fn money(v: Option<f64>, currency: &str, l: Lang) -> String {
    match v {
        None => "–".into(),
        Some(v) => {
            let cur = if currency == "IDR" { "Rp" } else { currency };
            let cents = (v.max(0.0) * 100.0).round() as u64;
            match cents % 100 {
                0 => format!("{cur} {}", l.int(cents / 100)),
                c => format!("{cur} {}{}{c:02}", l.int(cents / 100), l.decimal_mark()),
            }
        }
    }
}

/// [`source_value`] of a source's parts.
pub fn source_filter(platform: &str, id: Option<&str>, name: Option<&str>) -> String {
    id.or(name).unwrap_or(platform).to_owned()
}

/// A change against the previous period: `+12% ▲`; `good` when the change
/// is in the direction the team wants.
pub fn delta(now: f64, before: f64, higher_is_better: bool) -> Option<(String, bool)> {
    if before <= 0.0 {
        return None;
    }
    let pct = ((now - before) / before * 100.0).round() as i64;
    let arrow = match pct.signum() {
        1 => "▲",
        -1 => "▼",
        _ => "=",
    };
    let sign = if pct > 0 { "+" } else { "" };
    let good = if pct == 0 {
        true
    } else {
        (pct > 0) == higher_is_better
    };
    Some((format!("{sign}{pct}% {arrow}"), good))
}
