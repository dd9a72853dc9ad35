//! Reads of leads: a page, one lead, the summary, the CSV export and index
//! figures.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use app::error::AppError;
use app::model::{Lead, LeadDetail, LeadPage, Summary};
use app::ssr::csv;
use app::ssr::filter::encode_cursor;
use app::ssr::leads::{Export, Stats};
use app::ssr::state::AppState;

use super::ApiError;
use super::extract::{LeadFilter, UnpagedFilter};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/leads", get(get_leads))
        .route("/leads.csv", get(get_leads_csv))
        .route("/leads/summary", get(get_summary))
        .route("/leads/{id}", get(get_lead))
        .route("/stats", get(get_stats))
        // Without a token (see `auth`): it describes the API, it holds no data.
        .route("/openapi.json", get(super::openapi::serve))
}

async fn get_leads(
    State(state): State<AppState>,
    LeadFilter(filter): LeadFilter,
) -> axum::Json<LeadPage> {
    let page = state.leads.list(&filter);
    axum::Json(LeadPage {
        leads: page.leads.into_iter().map(Lead::from).collect(),
        total: page.total,
        next_cursor: page.next.map(|c| encode_cursor(filter.sort, &c)),
    })
}

/// One lead with its sessions and events; `404` for an id that is not a lead.
async fn get_lead(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<LeadDetail>, ApiError> {
    match state
        .leads
        .detail(&id, state.settings.session_timeout)
        .await?
    {
        Some(d) => Ok(axum::Json(d)),
        None => Err(AppError::NotFound("no lead with this id".into()).into()),
    }
}

async fn get_summary(
    State(state): State<AppState>,
    UnpagedFilter(filter): UnpagedFilter,
) -> axum::Json<Summary> {
    axum::Json(state.leads.summary(&filter))
}

/// Sizes of the lead index (leads, bytes, bytes per lead) and what each
/// webhook intake received and left out since the process started.
async fn get_stats(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    let stats: Stats = state.leads.stats();
    let mut v = serde_json::to_value(stats).unwrap_or_default();
    v["intake"] = serde_json::to_value(state.intake.snapshot()).unwrap_or_default();
    axum::Json(v)
}

/// Every matching lead as CSV: the set is fixed when the request starts and
/// streamed in chunks, so memory stays flat however many leads match.
async fn get_leads_csv(
    State(state): State<AppState>,
    UnpagedFilter(filter): UnpagedFilter,
) -> Response {
    let tz = filter.tz;
    csv_response(
        state.leads.export(&filter),
        csv::header(),
        "leads.csv",
        move |out, leads| csv::rows(out, leads, tz),
    )
}

/// Streams an export as CSV: `head`, then each chunk of leads formatted by
/// `rows` off the async threads.
pub fn csv_response(
    mut export: Export,
    head: String,
    file_name: &str,
    rows: impl Fn(&mut String, &[app::ssr::rules::LeadFacts]) + Send + 'static,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        if tx.blocking_send(Ok(head)).is_err() {
            return;
        }
        while let Some(leads) = export.next_chunk() {
            let mut chunk = String::with_capacity(leads.len() * 160);
            rows(&mut chunk, &leads);
            if tx.blocking_send(Ok(chunk)).is_err() {
                return;
            }
        }
    });
    // Fused: the compression layer polls once more after the end, which an
    // unfused `unfold` answers with a panic (a truncated download).
    let stream = futures::StreamExt::fuse(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|c| (c, rx))
    }));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
