//! Reads of leads: a page, the summary, the CSV export and index figures.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use app::model::{Lead, LeadPage, Summary};
use app::ssr::csv;
use app::ssr::filter::encode_cursor;
use app::ssr::leads::Stats;
use app::ssr::state::AppState;

use super::extract::{LeadFilter, UnpagedFilter};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/leads", get(get_leads))
        .route("/leads.csv", get(get_leads_csv))
        .route("/leads/summary", get(get_summary))
        .route("/stats", get(get_stats))
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

async fn get_summary(
    State(state): State<AppState>,
    UnpagedFilter(filter): UnpagedFilter,
) -> axum::Json<Summary> {
    axum::Json(state.leads.summary(&filter))
}

/// Sizes of the lead index (leads, bytes, bytes per lead).
async fn get_stats(State(state): State<AppState>) -> axum::Json<Stats> {
    axum::Json(state.leads.stats())
}

/// Every matching lead as CSV: the set is fixed when the request starts and
/// streamed in chunks, so memory stays flat however many leads match.
async fn get_leads_csv(
    State(state): State<AppState>,
    UnpagedFilter(filter): UnpagedFilter,
) -> Response {
    let mut export = state.leads.export(&filter);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let tz = filter.tz;
    // Formatting runs off the async threads' hot path, a chunk at a time.
    tokio::task::spawn_blocking(move || {
        if tx.blocking_send(Ok(csv::header())).is_err() {
            return;
        }
        while let Some(leads) = export.next_chunk() {
            let mut chunk = String::with_capacity(leads.len() * 160);
            csv::rows(&mut chunk, &leads, tz);
            if tx.blocking_send(Ok(chunk)).is_err() {
                return;
            }
        }
    });
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leads.csv\"",
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
