//! Outcomes (`shared/spec/outcomes.md`): the ads report as JSON and CSV,
//! and ad spend in.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use app::error::AppError;
use app::model::{AdsFigures, AdsReport};
use app::ssr::intake::spend;
use app::ssr::state::AppState;

use super::ApiError;
use super::extract::{AdsParams, UnpagedFilter};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ads", get(get_ads))
        .route("/ads.csv", get(get_ads_csv))
        .route("/spend", post(post_spend))
}

fn report(state: &AppState, filter: &UnpagedFilter, p: &AdsParams) -> AdsReport {
    state.leads.ads(
        &filter.0,
        p.attribution,
        p.count_by,
        &state.settings.currency,
    )
}

async fn get_ads(
    State(state): State<AppState>,
    filter: UnpagedFilter,
    params: AdsParams,
) -> axum::Json<AdsReport> {
    axum::Json(report(&state, &filter, &params))
}

/// The same report as CSV: one line per source, then the total.
async fn get_ads_csv(
    State(state): State<AppState>,
    filter: UnpagedFilter,
    params: AdsParams,
) -> Response {
    let r = report(&state, &filter, &params);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"ads.csv\"",
            ),
        ],
        ads_csv(&r),
    )
        .into_response()
}

pub fn ads_csv(r: &AdsReport) -> String {
    let mut out = format!(
        "row,source_platform,source_type,source_id,source_name,spend_{c},leads,cost_per_lead_{c},answered,engaged,one_message,median_first_touch_seconds,buyers,revenue_{c},cost_per_buyer_{c},roas\r\n",
        c = r.currency.to_lowercase()
    );
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let line = |out: &mut String, kind: &str, src: [String; 4], f: &AdsFigures| {
        let fields = [
            kind.to_owned(),
            src[0].clone(),
            src[1].clone(),
            src[2].clone(),
            src[3].clone(),
            num(f.spend),
            f.leads.to_string(),
            num(f.cost_per_lead),
            f.answered.to_string(),
            f.engaged.to_string(),
            f.one_message.to_string(),
            f.median_first_touch_seconds
                .map(|s| s.to_string())
                .unwrap_or_default(),
            f.buyers.to_string(),
            f.revenue.to_string(),
            num(f.cost_per_buyer),
            num(f.roas),
        ];
        out.push_str(&fields.map(|f| quote(&f)).join(","));
        out.push_str("\r\n");
    };
    for row in &r.rows {
        match &row.source {
            Some(s) => line(
                &mut out,
                "source",
                [
                    s.platform.clone(),
                    s.kind.clone(),
                    s.id.clone().unwrap_or_default(),
                    s.name.clone().unwrap_or_default(),
                ],
                &row.figures,
            ),
            None => line(&mut out, "organic", Default::default(), &row.figures),
        }
    }
    line(&mut out, "total", Default::default(), &r.total);
    out
}

/// A CSV field: quoted when it must be; a leading `=+-@` is defused so a
/// spreadsheet does not run an ad's name as a formula.
fn quote(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '@']) || (s.starts_with('-') && s.parse::<f64>().is_err()) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `POST /api/v1/spend`: a JSON array of `{date, platform, ad_id, spend,
/// ad_name?}`; checked whole, then stored, each row replacing the same ad's day.
async fn post_spend(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| AppError::InvalidJson(e.to_string()))?;
    let rows = spend::parse_spend_json(&value).map_err(|e| AppError::InvalidEvent {
        index: e.line,
        field: e.field,
        message: e.message,
    })?;
    let n = state.leads.put_spend(rows).await?;
    Ok(axum::Json(serde_json::json!({ "accepted": n })))
}
