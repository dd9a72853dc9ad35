//! The Leads page's parts.

pub mod chart;
pub mod detail;
pub mod filters;
pub mod kpis;
pub mod lead_table;

use leptos::prelude::*;

use crate::model::{Lang, SourceRef};

/// The page's language (provided by `App`).
pub fn use_lang() -> RwSignal<Lang> {
    use_context::<RwSignal<Lang>>().unwrap_or_else(|| RwSignal::new(Lang::default()))
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
/// platform; `none` for organic.
pub fn source_value(source: Option<&SourceRef>) -> String {
    match source {
        None => "none".into(),
        Some(s) => s.id.clone().unwrap_or_else(|| s.platform.clone()),
    }
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
        _ => "＝",
    };
    let sign = if pct > 0 { "+" } else { "" };
    let good = if pct == 0 {
        true
    } else {
        (pct > 0) == higher_is_better
    };
    Some((format!("{sign}{pct}% {arrow}"), good))
}
