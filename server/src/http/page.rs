//! What the Leads page needs besides its server functions: the live
//! updates stream and the CSV download. Same access as the page itself.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use tokio::sync::{broadcast, watch};

use app::model::Lang;
use app::ssr::domain::csv;
use app::ssr::state::AppState;

use super::access::Requester;
use super::extract::UnpagedFilter;
use super::leads::csv_response;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/srv/live", get(live))
        .route("/export/leads.csv", get(download))
        .route("/export/ads.csv", get(download_ads))
}

/// Set when the server shuts down: open live streams end, so a graceful
/// shutdown does not wait for browsers to go away.
pub fn shutdown() -> &'static watch::Sender<bool> {
    static SHUTDOWN: OnceLock<watch::Sender<bool>> = OnceLock::new();
    SHUTDOWN.get_or_init(|| watch::channel(false).0)
}

/// Server-sent events: one `{"new": n, "changed": m}` per commit that
/// changed leads (counts only: no customer data goes down this stream).
async fn live(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = state.leads.subscribe();
    let stop = shutdown().subscribe();
    let stream = futures::stream::unfold((changes, stop), |(mut changes, mut stop)| async move {
        if *stop.borrow() {
            return None;
        }
        let data = tokio::select! {
            _ = stop.changed() => return None,
            change = changes.recv() => match change {
                Ok(c) => serde_json::json!({"new": c.new, "changed": c.changed}),
                // Too slow a reader: say that something changed.
                Err(broadcast::error::RecvError::Lagged(n)) => serde_json::json!({"new": 0, "changed": n}),
                Err(broadcast::error::RecvError::Closed) => return None,
            },
        };
        Some((Ok(Event::default().data(data.to_string())), (changes, stop)))
    });
    Sse::new(futures::StreamExt::fuse(stream)).keep_alive(KeepAlive::default())
}

/// The page's "Download CSV": exactly the filtered leads, for spreadsheets
/// (byte-order mark, the table's columns in the page's language).
async fn download(
    State(state): State<AppState>,
    who: Requester,
    UnpagedFilter(filter): UnpagedFilter,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = params
        .get("lang")
        .and_then(|l| Lang::from_code(l))
        .unwrap_or_default();
    let tz = filter.tz;
    let name = format!("leads-{}-{}.csv", filter.from, filter.to);
    csv_response(
        &state.leads,
        who,
        &filter,
        csv::page_header(lang),
        &name,
        move |out, leads| csv::page_rows(out, leads, tz, lang),
    )
    .await
    .into_response()
}

/// The Ads view's download: the report of `/api/v1/ads.csv` for a
/// signed-in person (the page's filters and toggles).
async fn download_ads(
    State(state): State<AppState>,
    params: super::extract::AdsParams,
) -> Response {
    super::outcomes::ads_csv_response(&super::outcomes::report(&state, &params))
}
