//! Server functions: thin, the work is in `ssr`.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AdsQuery, DashboardView, Lang, LeadPanel, LeadsQuery, LeadsView};

/// Logs a server-side failure and keeps its cause out of the answer.
#[cfg(feature = "ssr")]
fn public<T>(r: Result<T, AppError>) -> Result<T, AppError> {
    r.map_err(|e| {
        if e.status() >= 500 {
            tracing::error!(code = e.code(), "server function failed: {e}");
        }
        e.public()
    })
}

#[cfg(feature = "ssr")]
fn state() -> Result<crate::ssr::state::AppState, AppError> {
    // Only for someone signed in (the session gate puts them into the
    // request), also when the page's render calls these in-process.
    let signed_in = use_context::<axum::http::request::Parts>()
        .is_some_and(|p| p.extensions.get::<crate::ssr::auth::Caller>().is_some());
    if !signed_in {
        return Err(AppError::Unauthorized);
    }
    use_context::<crate::ssr::state::AppState>()
        .ok_or_else(|| AppError::Internal("no application state".into()))
}

/// One page of the Leads table for the page's filters.
#[server(prefix = "/srv", endpoint = "leads")]
pub async fn load_leads(
    // The default view (a bare `/`) has no parameter at all: the encoded
    // arguments then have no `query` field.
    #[server(default)] query: LeadsQuery,
    lang: Lang,
) -> Result<LeadsView, AppError> {
    public(crate::ssr::web::view::leads_view(&state()?, &query, lang))
}

/// KPI cards, first-response distribution, chart and breakdown by source,
/// and the leads whose window for Meta closes soon.
#[server(prefix = "/srv", endpoint = "dashboard")]
pub async fn load_dashboard(
    #[server(default)] query: LeadsQuery,
    lang: Lang,
) -> Result<DashboardView, AppError> {
    public(crate::ssr::web::view::dashboard_view(&state()?, &query, lang).await)
}

/// One lead with its sessions and its latest events (or those before
/// `before`), as the detail panel's HTML (`None`: no such lead).
#[server(prefix = "/srv", endpoint = "lead")]
pub async fn load_lead(
    id: String,
    tz: Option<String>,
    #[server(default)] before: Option<u64>,
    lang: Lang,
) -> Result<Option<LeadPanel>, AppError> {
    public(crate::ssr::web::view::lead_view(&state()?, &id, tz.as_deref(), before, lang).await)
}

/// The Ads view's table as HTML.
#[server(prefix = "/srv", endpoint = "ads")]
pub async fn load_ads(#[server(default)] query: AdsQuery, lang: Lang) -> Result<String, AppError> {
    public(crate::ssr::web::ads::ads_html(&state()?, &query, lang))
}
