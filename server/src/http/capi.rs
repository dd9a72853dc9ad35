//! The Conversions API's state (`shared/spec/meta-capi.md`): counts, last
//! success and error (never the token), and the ad leads whose window
//! closes soon with nothing sent.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use app::model::{CapiStatus, ClosingSoon};
use app::ssr::domain::capi;
use app::ssr::state::AppState;

use super::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/capi", get(get_status))
        .route("/capi/closing_soon", get(get_closing_soon))
}

/// The status with what the settings say: dataset, token set or not.
pub(crate) async fn status(state: &AppState) -> Result<CapiStatus, app::error::AppError> {
    let mut s = state.leads.capi_status().await?;
    s.dataset_id = state.settings.meta_dataset_id.clone();
    s.token_set = state.settings.meta_capi_token.is_some();
    s.test_event_code_set = state.settings.meta_test_event_code.is_some();
    Ok(s)
}

async fn get_status(State(state): State<AppState>) -> Result<axum::Json<CapiStatus>, ApiError> {
    Ok(axum::Json(status(&state).await?))
}

#[derive(serde::Serialize)]
struct Closing {
    leads: Vec<ClosingSoon>,
}

pub(crate) async fn closing_soon(
    state: &AppState,
) -> Result<Vec<ClosingSoon>, app::error::AppError> {
    state
        .leads
        .closing_soon(
            chrono::Utc::now(),
            capi::closing_within(),
            capi::CLOSING_MAX,
        )
        .await
}

async fn get_closing_soon(State(state): State<AppState>) -> Result<axum::Json<Closing>, ApiError> {
    Ok(axum::Json(Closing {
        leads: closing_soon(&state).await?,
    }))
}
