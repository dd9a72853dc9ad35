//! `POST /api/v1/events`: ingest one event or a batch.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;

use app::ssr::domain::event;
use app::ssr::state::AppState;

use super::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route("/events", post(post_events))
}

/// Validated whole first; answered only after the commit is durable. The
/// write runs in the `Leads` writer task, so a client that disconnects
/// cannot leave a transaction open.
async fn post_events(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let events = event::parse_batch(&body, state.settings.region, &state.settings.currency)?;
    let done = state.leads.ingest(events).await?;
    tracing::debug!(
        accepted = done.accepted,
        duplicates = done.duplicates,
        "events stored"
    );
    Ok(axum::Json(serde_json::json!({
        "accepted": done.accepted,
        "duplicates": done.duplicates,
    })))
}
