//! Reads of leads: a page, one lead, the summary, the CSV export and index
//! figures.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use app::error::AppError;
use app::model::{Lead, LeadDetail, LeadPage, Summary};
use app::ssr::domain::csv;
use app::ssr::domain::filter::Filter;
use app::ssr::domain::filter::encode_cursor;
use app::ssr::leads::{Leads, Stats};
use app::ssr::state::AppState;

use super::ApiError;
use super::access::Requester;
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

/// `?before=`: a previous answer's `older`, for the window before it.
#[derive(serde::Deserialize)]
struct Window {
    before: Option<String>,
}

/// One lead with its sessions and its latest events (a window of about a
/// thousand; `older` names the next); `404` for an id that is not a lead.
async fn get_lead(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(window): Query<Window>,
) -> Result<axum::Json<LeadDetail>, ApiError> {
    let before = match window.before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(b) => Some(
            b.parse::<u64>()
                .map_err(|_| AppError::param("before", "must be a previous answer's older"))?,
        ),
    };
    match state
        .leads
        .detail(
            &id,
            before,
            state.settings.session_timeout,
            &state.settings.currency,
        )
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
    let mut summary = state.leads.summary(&filter);
    if let Some(h) = &state.settings.business_hours {
        summary.business_hours = Some(state.leads.hours(&filter, h, state.settings.tz));
    }
    axum::Json(summary)
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
    who: Requester,
    UnpagedFilter(filter): UnpagedFilter,
) -> Response {
    let tz = filter.tz;
    csv_response(
        &state.leads,
        who,
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
/// Downloads one caller (a user, a token, an address) may have open at
/// once, so one script cannot take every slot.
pub const MAX_DOWNLOADS_EACH: usize = 4;
/// How long a download waits for one of those before it answers 503.
pub const DOWNLOAD_QUEUE: std::time::Duration = std::time::Duration::from_secs(10);
/// A client that reads nothing for this long loses its download.
pub const DOWNLOAD_STALL: std::time::Duration = std::time::Duration::from_secs(60);

fn downloads() -> &'static std::sync::Arc<tokio::sync::Semaphore> {
    static D: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    D.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_DOWNLOADS)))
}

/// Open downloads per caller.
fn open_downloads() -> &'static std::sync::Mutex<std::collections::HashMap<Requester, usize>> {
    static O: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<Requester, usize>>> =
        std::sync::OnceLock::new();
    O.get_or_init(Default::default)
}

/// One of a caller's open downloads; dropping it (the download ends, its
/// client goes) frees it.
struct Share(Requester);

/// Wakes callers waiting for one of their shares.
fn share_freed() -> &'static tokio::sync::Notify {
    static N: std::sync::OnceLock<tokio::sync::Notify> = std::sync::OnceLock::new();
    N.get_or_init(tokio::sync::Notify::new)
}

impl Share {
    /// One of `who`'s shares, waiting until `deadline` for one of their
    /// downloads to end (a script that fetches in parallel is queued, not
    /// refused).
    async fn wait(who: Requester, deadline: tokio::time::Instant) -> Option<Share> {
        loop {
            let freed = share_freed().notified();
            if let Some(s) = Share::take(who.clone()) {
                return Some(s);
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return None;
            }
        }
    }

    fn take(who: Requester) -> Option<Share> {
        let mut open = open_downloads().lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(who.clone()).or_default();
        if *n >= MAX_DOWNLOADS_EACH {
            return None;
        }
        *n += 1;
        Some(Share(who))
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut open = open_downloads().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.0) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.0);
            }
        }
        drop(open);
        share_freed().notify_waiters();
    }
}

/// Streams the leads of `filter` as CSV: `head`, then each chunk of leads
/// formatted by `rows`. Bounded: at most [`MAX_DOWNLOADS`] at once (more
/// wait up to [`DOWNLOAD_QUEUE`], then answer 503 with Retry-After), at
/// most [`MAX_DOWNLOADS_EACH`] of them one caller's (more wait the same
/// way for one of theirs), and a client that stops reading for
/// [`DOWNLOAD_STALL`] loses the download; a waiting download holds no
/// thread, only its snapshot.
pub async fn csv_response(
    leads: &Leads,
    who: Requester,
    filter: &Filter,
    head: String,
    file_name: &str,
    rows: impl Fn(&mut String, &[app::ssr::domain::rules::LeadFacts]) + Send + 'static,
) -> Response {
    // One wait for both: a caller's own share, then a place among all.
    let deadline = tokio::time::Instant::now() + DOWNLOAD_QUEUE;
    let Some(share) = Share::wait(who, deadline).await else {
        return ApiError(AppError::Busy(format!(
            "you have {MAX_DOWNLOADS_EACH} downloads open already; try again when one has finished"
        ), 5))
        .into_response();
    };
    let waited = tokio::time::timeout_at(deadline, downloads().clone().acquire_owned()).await;
    let Ok(Ok(permit)) = waited else {
        return ApiError(AppError::Busy(
            format!("{MAX_DOWNLOADS} downloads are open already; try again in a moment"),
            5,
        ))
        .into_response();
    };
    let mut export = leads.export(filter);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::spawn(async move {
        let _permit = (permit, share);
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
        csv_headers(file_name),
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

/// The headers of a CSV download named `file_name`.
pub fn csv_headers(file_name: &str) -> [(header::HeaderName, String); 2] {
    [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ),
    ]
}
