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

/// How often an open live stream checks that its session is still valid
/// (ended on another instance, or expired); an end in this process is
/// seen at once.
const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Server-sent events: one `{"new": n, "changed": m}` per commit that
/// changed leads (counts only: no customer data goes down this stream).
/// The stream ends with its session (signed out, the password changed,
/// the user removed, expired): the browser's reconnection is then refused.
async fn live(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let cookie = super::access::session_value(&headers)
        .unwrap_or_default()
        .to_owned();
    let changes = state.leads.subscribe();
    let stop = shutdown().subscribe();
    // (A new receiver has seen the current count: only later ends wake it.)
    let ended = state.auth.ended_sessions();
    let recheck = tokio::time::interval_at(
        tokio::time::Instant::now() + SESSION_RECHECK,
        SESSION_RECHECK,
    );
    let auth = state.auth.clone();
    let stream = futures::stream::unfold(
        (changes, stop, ended, recheck),
        move |(mut changes, mut stop, mut ended, mut recheck)| {
            let (auth, cookie) = (auth.clone(), cookie.clone());
            async move {
                loop {
                    if *stop.borrow() {
                        return None;
                    }
                    let data = tokio::select! {
                        _ = stop.changed() => return None,
                        r = ended.changed() => {
                            if r.is_err() || !signed_in(&auth, &cookie).await {
                                return None;
                            }
                            continue;
                        }
                        _ = recheck.tick() => {
                            if !signed_in(&auth, &cookie).await {
                                return None;
                            }
                            continue;
                        }
                        change = changes.recv() => match change {
                            Ok(c) => serde_json::json!({"new": c.new, "changed": c.changed}),
                            // Too slow a reader: say that something changed.
                            Err(broadcast::error::RecvError::Lagged(n)) => {
                                serde_json::json!({"new": 0, "changed": n})
                            }
                            Err(broadcast::error::RecvError::Closed) => return None,
                        },
                    };
                    let event = Ok(Event::default().data(data.to_string()));
                    return Some((event, (changes, stop, ended, recheck)));
                }
            }
        },
    );
    Sse::new(futures::StreamExt::fuse(stream)).keep_alive(KeepAlive::default())
}

/// Whether a live stream's session still holds; a database error keeps
/// the stream (it carries counts only) until the next check.
async fn signed_in(auth: &app::ssr::auth::Auth, cookie: &str) -> bool {
    match auth.still_signed_in(cookie).await {
        Ok(ok) => ok,
        Err(e) => {
            tracing::warn!(error = %e, "checking a live stream's session failed");
            true
        }
    }
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
    let report = super::outcomes::report(&state, &params);
    super::outcomes::ads_csv_response(&report, &params, true)
}
