//! What every request handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::auth::Auth;
use super::domain::settings::Settings;
use super::intake::IntakeCounts;
use super::leads::Leads;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Every read and write of leads goes through this one service.
    pub leads: Leads,
    /// Users, sessions and API tokens.
    pub auth: Auth,
    /// What each webhook intake received and dropped (for admins).
    pub intake: Arc<IntakeCounts>,
    pub settings: Arc<Settings>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
