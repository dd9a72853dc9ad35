//! Channel webhooks: `GET`/`POST /webhooks/whatsapp` (WhatsApp Cloud API).
//! The signature is checked on the raw body before anything is parsed; the
//! answer comes only after the events are durable (`Leads::ingest`).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use app::error::AppError;
use app::ssr::state::AppState;
use app::ssr::webhooks::{signature, whatsapp};

use super::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/webhooks/whatsapp",
        get(whatsapp_verify).post(whatsapp_receive),
    )
}

/// Meta's verification handshake: `hub.mode=subscribe` with the configured
/// `hub.verify_token` answers `hub.challenge` as plain text; anything else 403.
async fn whatsapp_verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let want = state.settings.whatsapp_verify_token.as_deref();
    match (
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token"),
        q.get("hub.challenge"),
        want,
    ) {
        (Some("subscribe"), Some(given), Some(challenge), Some(want))
            if signature::same_secret(given, want) =>
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
async fn whatsapp_receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let Some(secret) = state.settings.whatsapp_app_secret.as_deref() else {
        return Err(AppError::NotConfigured(
            "the WhatsApp webhook needs LEADS_WHATSAPP_APP_SECRET".into(),
        )
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
    let parsed = whatsapp::parse(&value, state.settings.region);
    if !parsed.skipped.is_empty() {
        // Reasons only (field and rule), never a phone number or a name.
        tracing::info!(
            skipped = parsed.skipped.len(),
            first = parsed.skipped.first().map(String::as_str).unwrap_or(""),
            "whatsapp webhook: messages skipped"
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
