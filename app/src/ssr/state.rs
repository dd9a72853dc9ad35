//! What every request handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use chrono_tz::Tz;
use leptos::config::LeptosOptions;
use phonenumber::country::Id as Region;

use super::auth::Auth;
use super::leads::Leads;

/// The settings of `shared/spec/api.md`, resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    pub tz: Tz,
    pub region: Region,
    pub session_timeout: chrono::Duration,
    pub api_token: Option<String>,
    /// `LEADS_WHATSAPP_APP_SECRET`: checks WhatsApp webhook signatures.
    pub whatsapp_app_secret: Option<String>,
    /// `LEADS_WHATSAPP_VERIFY_TOKEN`: the webhook verification handshake.
    pub whatsapp_verify_token: Option<String>,
    /// `LEADS_META_APP_SECRET`: checks Messenger/Instagram webhook signatures.
    pub meta_app_secret: Option<String>,
    /// `LEADS_META_VERIFY_TOKEN`: their verification handshake.
    pub meta_verify_token: Option<String>,
    /// `LEADS_PUBLIC_NAMES`: host names the server is reached by (besides
    /// IP addresses and `localhost`); any other `Host` is refused.
    pub public_names: Vec<String>,
    /// `LEADS_SECURE_COOKIES`: mark the session cookie `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// `LEADS_SIGNIN_TIMEOUT`: inactivity after which a sign-in ends.
    pub signin_timeout: chrono::Duration,
}

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Every read and write of leads goes through this one service.
    pub leads: Leads,
    /// Users, sessions and API tokens.
    pub auth: Auth,
    pub settings: Arc<Settings>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
