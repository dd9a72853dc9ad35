//! Channel webhooks: `GET`/`POST /webhooks/whatsapp` (WhatsApp Cloud API)
//! and `/webhooks/meta` (Messenger and Instagram). The signature is checked
//! on the raw body before anything is parsed; the answer comes only after
//! the events are durable (`Leads::ingest`).

use std::collections::HashMap;

use app::ssr::phone::Region;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use app::error::AppError;
use app::ssr::state::{AppState, Settings};
use app::ssr::webhooks::{Parsed, meta, signature, whatsapp};

use super::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/whatsapp",
            get(|s, q| verify(s, q, &WHATSAPP)).post(|s, h, b| receive(s, h, b, &WHATSAPP)),
        )
        .route(
            "/webhooks/meta",
            get(|s, q| verify(s, q, &META)).post(|s, h, b| receive(s, h, b, &META)),
        )
        .layer(axum::extract::DefaultBodyLimit::max(super::MAX_BODY))
        // Errors in the API's JSON shape, also axum's own (413, 405).
        .layer(axum::middleware::map_response(super::error::json_errors))
}

/// What differs between the two webhooks.
struct Hook {
    name: &'static str,
    secret_var: &'static str,
    secret: fn(&Settings) -> Option<&str>,
    verify_token: fn(&Settings) -> Option<&str>,
    parse: fn(&Value, Region) -> Parsed,
}

const WHATSAPP: Hook = Hook {
    name: "whatsapp",
    secret_var: "LEADS_WHATSAPP_APP_SECRET",
    secret: |s| s.whatsapp_app_secret.as_deref(),
    verify_token: |s| s.whatsapp_verify_token.as_deref(),
    parse: whatsapp::parse,
};

const META: Hook = Hook {
    name: "meta",
    secret_var: "LEADS_META_APP_SECRET",
    secret: |s| s.meta_app_secret.as_deref(),
    verify_token: |s| s.meta_verify_token.as_deref(),
    parse: meta::parse,
};

/// Meta's verification handshake: `hub.mode=subscribe` with the configured
/// `hub.verify_token` answers `hub.challenge` as plain text; anything else 403.
async fn verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    hook: &Hook,
) -> Response {
    let want = (hook.verify_token)(&state.settings);
    match (
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token"),
        q.get("hub.challenge"),
        want,
    ) {
        (Some("subscribe"), Some(given), Some(challenge), Some(want))
            if app::ssr::secret::same_secret(given, want) =>
        {
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                challenge.clone(),
            )
                .into_response()
        }
        _ => ApiError(AppError::Forbidden).into_response(),
    }
}

/// A webhook delivery: `503` without a configured app secret, `401` for a
/// bad or missing signature (nothing written), `400` for a body that is not
/// JSON; otherwise every message becomes an event and the answer is `200`
/// once they are stored. What carries nothing useful is acknowledged.
async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
    hook: &Hook,
) -> Result<axum::Json<Value>, ApiError> {
    let Some(secret) = (hook.secret)(&state.settings) else {
        return Err(AppError::NotConfigured(format!(
            "the {} webhook needs {}",
            hook.name, hook.secret_var
        ))
        .into());
    };
    let given = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signature::valid(secret, &body, given) {
        return Err(AppError::BadSignature.into());
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| AppError::InvalidJson("the webhook body is not JSON".into()))?;
    let parsed = (hook.parse)(&value, state.settings.region);
    if !parsed.skipped.is_empty() {
        // Reasons only (field and rule), never a phone number or a name.
        tracing::info!(
            webhook = hook.name,
            skipped = parsed.skipped.len(),
            first = parsed.skipped.first().map(String::as_str).unwrap_or(""),
            "webhook: messages skipped"
        );
    }
    let skipped = parsed.skipped.len();
    let done = state.leads.ingest(parsed.events).await?;
    Ok(axum::Json(json!({
        "accepted": done.accepted,
        "duplicates": done.duplicates,
        "skipped": skipped,
    })))
}
