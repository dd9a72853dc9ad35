//! HTTP: the JSON API, health, and the Leptos app.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use app::error::AppError;
use app::model::{Lead, LeadPage, Summary};
use app::ssr::filter::Filter;
use app::ssr::state::AppState;
use app::ssr::{csv, db, event, ingest, query};
use app::{App, shell};

/// An [`AppError`] as an HTTP response: its status and the JSON error shape.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = self.0.code(), "request failed: {}", self.0);
        }
        (status, axum::Json(self.0.to_json())).into_response()
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let api = Router::new()
        .route("/events", post(post_events))
        .route("/leads", get(get_leads))
        .route("/leads.csv", get(get_leads_csv))
        .route("/leads/summary", get(get_summary))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!(
                    {"error": {"code": "not_found", "message": "no such API route"}}
                )),
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        // 1000 events of a few KB each; larger bodies answer 413.
        .layer(DefaultBodyLimit::max(32 * 1024 * 1024));
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api)
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(CompressionLayer::new())
        // Paths only: query strings can hold a customer's phone or name.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::debug_span!("http", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(state)
}

pub async fn serve(state: AppState) -> Result<(), String> {
    let addr = state.leptos_options.site_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("serving on http://{addr}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// Every `/api/v1/*` route needs `Authorization: Bearer TOKEN`.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let ok = match (&state.settings.api_token, given) {
        // Compare digests so the time taken says nothing about the token.
        (Some(expected), Some(given)) => {
            Sha256::digest(expected.as_bytes()) == Sha256::digest(given.as_bytes())
        }
        _ => false,
    };
    if ok {
        next.run(req).await
    } else {
        ApiError(AppError::Unauthorized).into_response()
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

async fn post_events(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let events = event::parse_batch(&body, state.settings.region)?;
    let outcome = ingest::ingest(&state.db, events).await?;
    tracing::info!(
        accepted = outcome.accepted,
        duplicates = outcome.duplicates,
        "events stored"
    );
    Ok(axum::Json(serde_json::json!({
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
    }))
    .into_response())
}

async fn get_leads(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<LeadPage>, ApiError> {
    let filter = Filter::parse(&params, state.settings.tz, Utc::now())?;
    let page = query::list(&state.db, &filter).await?;
    Ok(axum::Json(LeadPage {
        leads: page.leads.into_iter().map(Lead::from).collect(),
        total: page.total,
        next_cursor: page.next_cursor,
    }))
}

async fn get_summary(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<Summary>, ApiError> {
    let filter = Filter::parse(&params, state.settings.tz, Utc::now())?;
    Ok(axum::Json(query::summary(&state.db, &filter).await?))
}

/// Every matching lead as CSV, streamed page by page: memory stays flat
/// however many leads match.
async fn get_leads_csv(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let filter = Filter::parse(&params, state.settings.tz, Utc::now())?;
    let mut pages = query::Pages::new(&filter);
    // The first page is read before answering, so a failure is still a proper error.
    let first = pages.next(&state.db).await?.unwrap_or_default();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let tz = filter.tz;
    tokio::spawn(async move {
        let mut chunk = csv::header();
        csv::rows(&mut chunk, &first, tz);
        if tx.send(Ok(chunk)).await.is_err() {
            return;
        }
        loop {
            match pages.next(&state.db).await {
                Ok(Some(leads)) => {
                    let mut chunk = String::new();
                    csv::rows(&mut chunk, &leads, tz);
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::error!("CSV export stopped: {e}");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            }
        }
    });
    let stream =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leads.csv\"",
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
