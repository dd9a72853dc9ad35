//! Outcomes (`shared/spec/outcomes.md`): the ads report as JSON and CSV,
//! and ad spend in.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use app::error::AppError;
use app::model::AdsReport;
use app::ssr::domain::csv;
use app::ssr::intake::spend;
use app::ssr::leads::plain_label;
use app::ssr::state::AppState;

use super::ApiError;
use super::extract::AdsParams;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ads", get(get_ads))
        .route("/ads.csv", get(get_ads_csv))
        .route("/spend", post(post_spend))
}

/// The report in its order.
pub(super) fn report(state: &AppState, p: &AdsParams) -> AdsReport {
    let mut r = state.leads.ads(
        &p.filter,
        p.attribution,
        p.count_by,
        &state.settings.currency,
    );
    p.order.sort(&mut r.rows, plain_label);
    r
}

async fn get_ads(State(state): State<AppState>, params: AdsParams) -> axum::Json<AdsReport> {
    axum::Json(report(&state, &params))
}

/// The same report as CSV: one line per source, then the total.
async fn get_ads_csv(State(state): State<AppState>, params: AdsParams) -> Response {
    ads_csv_response(&report(&state, &params), &params, false)
}

/// A report as a CSV download (the API's and the page's), named by its
/// days; the page's starts with the byte-order mark spreadsheets need to
/// read UTF-8 (the API's is for programs, without it).
pub fn ads_csv_response(r: &AdsReport, p: &AdsParams, for_spreadsheets: bool) -> Response {
    let name = format!("ads-{}-{}.csv", p.filter.from, p.filter.to);
    let bom = if for_spreadsheets { csv::BOM } else { "" };
    (
        super::leads::csv_headers(&name),
        format!("{bom}{}", csv::ads(r)),
    )
        .into_response()
}

/// `POST /api/v1/spend`: a JSON array of `{date, platform, ad_id, spend,
/// ad_name?}`; checked whole, then stored, each row replacing the same ad's day.
async fn post_spend(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| AppError::InvalidJson(e.to_string()))?;
    let rows = spend::parse_spend_json(&value, &state.settings.currency).map_err(|e| {
        AppError::InvalidEvent {
            index: e.line,
            field: e.field,
            message: e.message,
        }
    })?;
    let n = state.leads.put_spend(rows).await?;
    Ok(axum::Json(serde_json::json!({ "accepted": n })))
}
