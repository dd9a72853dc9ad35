//! Channel webhooks, one route per entry of intake's `CHANNELS` table
//! (`/webhooks/whatsapp`, `/webhooks/meta`, `/webhooks/chatwoot`). The
//! signature is checked on the raw body before anything is parsed; the
//! answer comes only after the events are durable (`Leads::ingest`).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use app::error::AppError;
use app::ssr::intake::{CHANNELS, Channel, signature};
use app::ssr::state::AppState;

use super::ApiError;

pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for c in CHANNELS.iter() {
        let receive = post(move |s, h, b| receive(s, h, b, c));
        router = router.route(
            c.path,
            match c.handshake {
                Some(_) => get(move |s, q| verify(s, q, c)).merge(receive),
                None => receive,
            },
        );
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(super::MAX_BODY))
        // Errors in the API's JSON shape, also axum's own (413, 405).
        .layer(axum::middleware::map_response(super::error::json_errors))
}

/// Meta's verification handshake: `hub.mode=subscribe` with the configured
/// `hub.verify_token` answers `hub.challenge` as plain text; anything else 403.
async fn verify(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    c: &'static Channel,
) -> Response {
    let want = c.handshake.and_then(|token| token(&state.settings));
    match (
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token"),
        q.get("hub.challenge"),
        want,
    ) {
        (Some("subscribe"), Some(given), Some(challenge), Some(want))
            if app::ssr::domain::secret::same_secret(given, want) =>
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

/// A webhook delivery: `503` without a configured secret, `401` for a bad
/// or missing signature (or a stale Chatwoot timestamp; nothing written),
/// `400` for a body that is not JSON or not a delivery of the channel
/// (nothing written); otherwise every message becomes an
/// event and the answer is `200` once they are stored. What carries
/// nothing useful is acknowledged and counted.
async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
    c: &'static Channel,
) -> Result<axum::Json<Value>, ApiError> {
    let Some(secret) = (c.secret)(&state.settings) else {
        return Err(AppError::NotConfigured(format!(
            "the {} webhook needs {}",
            c.name, c.secret_var
        ))
        .into());
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if !signature::check(c.scheme, secret, &body, header, now) {
        state.intake.refused(c.name);
        return Err(AppError::BadSignature(c.scheme.refusal().into()).into());
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| AppError::InvalidJson("the webhook body is not JSON".into()))?;
    (c.shape)(&value).map_err(|why| AppError::InvalidBody(why.into()))?;
    let mut parsed = (c.parse)(&value, &state.settings);
    if !parsed.skipped.is_empty() {
        // Reasons only (field and rule), never a phone number or a name.
        tracing::info!(
            webhook = c.name,
            skipped = parsed.skipped.len(),
            first = parsed.skipped.first().map(String::as_str).unwrap_or(""),
            "webhook: items skipped"
        );
    }
    let skipped = parsed.skipped.len();
    let dropped = parsed.dropped.len();
    // Counted only once stored.
    let done = state.leads.ingest(parsed.take_events()).await?;
    state.intake.delivered(c.name, &parsed, &done.fresh);
    Ok(axum::Json(json!({
        "accepted": done.accepted,
        "duplicates": done.duplicates,
        "skipped": skipped,
        "ignored": dropped,
    })))
}
