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
use app::ssr::filter::Filter;
use app::ssr::filter::encode_cursor;
use app::ssr::leads::{Leads, Stats};
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
        &state.leads,
        &filter,
        csv::header(),
        "leads.csv",
        move |out, leads| csv::rows(out, leads, tz),
    )
    .await
}

/// Downloads open at once: each holds its snapshot (4 bytes a lead) while
/// its client reads.
pub const MAX_DOWNLOADS: usize = 16;
/// How long a download waits for one of those before it answers 503.
pub const DOWNLOAD_QUEUE: std::time::Duration = std::time::Duration::from_secs(10);
/// A client that reads nothing for this long loses its download.
pub const DOWNLOAD_STALL: std::time::Duration = std::time::Duration::from_secs(60);

fn downloads() -> &'static std::sync::Arc<tokio::sync::Semaphore> {
    static D: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    D.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_DOWNLOADS)))
}

/// Streams the leads of `filter` as CSV: `head`, then each chunk of leads
/// formatted by `rows`. Bounded: at most [`MAX_DOWNLOADS`] at once (more
/// wait up to [`DOWNLOAD_QUEUE`], then answer 503 with Retry-After), and a client that stops reading for
/// [`DOWNLOAD_STALL`] loses the download; a waiting download holds no
/// thread, only its snapshot.
pub async fn csv_response(
    leads: &Leads,
    filter: &Filter,
    head: String,
    file_name: &str,
    rows: impl Fn(&mut String, &[app::ssr::rules::LeadFacts]) + Send + 'static,
) -> Response {
    let waited = tokio::time::timeout(DOWNLOAD_QUEUE, downloads().clone().acquire_owned()).await;
    let Ok(Ok(permit)) = waited else {
        return ApiError(AppError::Busy(format!(
            "{MAX_DOWNLOADS} downloads are open already; try again in a moment"
        )))
        .into_response();
    };
    let mut export = leads.export(filter);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::spawn(async move {
        let _permit = permit;
        let send = |chunk: String| {
            let tx = tx.clone();
            async move {
                matches!(
                    tokio::time::timeout(DOWNLOAD_STALL, tx.send(Ok(chunk))).await,
                    Ok(Ok(()))
                )
            }
        };
        if !send(head).await {
            return;
        }
        // A chunk is a couple of thousand rows: about a millisecond to read
        // and format, fine on an async thread.
        while let Some(leads) = export.next_chunk() {
            let mut chunk = String::with_capacity(leads.len() * 160);
            rows(&mut chunk, &leads);
            drop(leads);
            if !send(chunk).await {
                return;
            }
            tokio::task::yield_now().await;
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
