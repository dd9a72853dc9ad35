//! Server functions: thin, the work is in `ssr`.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{LeadsQuery, LeadsView};

/// One page of the Leads table for the page's filters.
#[server(prefix = "/srv", endpoint = "leads")]
pub async fn load_leads(query: LeadsQuery) -> Result<LeadsView, AppError> {
    let state = use_context::<crate::ssr::state::AppState>()
        .ok_or_else(|| AppError::Internal("no application state".into()))?;
    crate::ssr::view::leads_view(&state, &query).await
}
