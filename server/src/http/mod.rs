//! HTTP: one router per area (`events`, `leads`), health, and the Leptos
//! app. Handlers parse, call the one `Leads` service, and shape the answer.

mod access;
mod account;
mod assets;
mod auth;
mod capi;
mod error;
mod events;
mod extract;
mod leads;
mod limits;
mod openapi;
mod outcomes;
mod page;
mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use app::ssr::state::AppState;
use app::{App, shell};
pub use error::ApiError;

/// The largest API body: a full batch (1000 events) with every text field
/// at its limit in plain text is about 6 MB; larger bodies answer 413.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// How long a request may take to be answered (its body may stream on:
/// the CSV download and live updates are not cut), and to send its body.
pub(crate) const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The app's routes, listed once per process. While a list is generated,
/// leptos_server holds back every resource in the whole process, and one
/// first polled then never loads: a page being rendered as a second router
/// was built (two instances in one process, the tests) never finished.
fn routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState) -> Router {
    let routes = routes();
    let api = Router::new()
        .merge(events::router())
        .merge(leads::router())
        .merge(outcomes::router())
        .merge(capi::router())
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!(
                    {"error": {"code": "not_found", "message": "no such API route"}}
                )),
            )
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Outermost: every API error in the JSON shape, also axum's own.
        .layer(middleware::map_response(error::json_errors));
    // Errors in the API's JSON shape, also axum's own (405).
    let health = Router::new()
        .route("/healthz", get(healthz))
        .layer(middleware::map_response(error::json_errors));
    Router::new()
        .merge(health)
        .merge(page::router())
        .merge(account::router())
        .merge(webhooks::router())
        // `nest` leaves `/api/v1/` itself to the pages: it goes to the API
        // too (401 without a token, else its JSON 404).
        .route(
            "/api/v1/",
            axum::routing::any({
                let api = api.clone().with_state(state.clone());
                move |req: Request| {
                    use tower::ServiceExt;
                    api.oneshot(req)
                }
            }),
        )
        .nest("/api/v1", api)
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let root = app::ssr::web::shell::AssetRoot(assets::root());
                move || leptos::prelude::provide_context(root.clone())
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Inside the gates (Host, session: /pkg and the favicon are open).
        .layer(middleware::from_fn(assets::serve))
        .layer(middleware::from_fn(error::server_fn_status))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::require_session,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), same_origin))
        .layer(middleware::from_fn_with_state(state.clone(), access::check_host))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers))
        .layer(CompressionLayer::new())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            ANSWER_TIMEOUT,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(ANSWER_TIMEOUT))
        // Sign-in, ingest and everything else each in its own lane.
        .layer(middleware::from_fn_with_state(
            limits::Limits::default(),
            limits::limit,
        ))
        // Paths only: query strings can hold a customer's phone or name.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::debug_span!("http", method = %req.method(), path = %loggable(req))
        }))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

/// A path as the log may show it: the route's pattern where a route
/// matched (`/api/v1/leads/{id}`: a lead's id is a phone number), else the
/// path (the site's files, unknown paths).
fn loggable(req: &Request) -> &str {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or(req.uri().path(), |m| m.as_str())
}

/// Connections served at once; more wait in the listen backlog until one
/// ends (far below the open-file limit the server raises at start).
const MAX_CONNECTIONS: usize = 4096;
/// How long a client has to send a request's headers (also how long an idle
/// keep-alive connection stays open): a client sending them a byte at a
/// time held its connection for ever, and 19,500 of them exhausted the
/// server's open files (a review, 2026-12-07).
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Serves until SIGTERM or Ctrl-C, then lets open requests finish. Our own
/// accept loop rather than `axum::serve`, for the header timeout and the
/// connection limit above.
pub async fn serve(state: AppState) -> Result<(), String> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let addr = state.leptos_options.site_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!("serving on http://{addr}");
    let app = router(state);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let (closing, closed) = tokio::sync::watch::channel(false);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => s.map_err(|e| e.to_string())?,
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, say: wait, then accept again.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let app = app.clone();
        let service =
            tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        let builder = builder.clone();
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let conn = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                // (The guard `wait_for` gives is dropped inside, not held.)
                _ = async { closed.wait_for(|c| *c).await.map(drop) } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection finished (its slot back).
    let _ = slots.acquire_many(MAX_CONNECTIONS as u32).await;
    Ok(())
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
    page::shutdown().send_replace(true);
}

/// Every request gets an id: in the span of everything logged for it, in
/// the `X-Request-Id` answer header, and in the body of a server-side
/// failure, so a user can quote it and the log says what went wrong.
async fn request_id(req: Request, next: middleware::Next) -> Response {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tracing::Instrument;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    });
    let id = format!("{start:x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed));
    let span = tracing::info_span!("request", request_id = %id);
    let res = next.run(req).instrument(span).await;
    error::with_request_id(res, &id).await
}

/// Cross-site request forgery: a browser's state-changing request (any
/// method but GET, HEAD, OPTIONS) must come from this site. Browsers send
/// `Sec-Fetch-Site` and `Origin`; API clients (curl, scripts) send neither
/// and pass. Machines' routes (`access::machine_route`) are not checked:
/// the webhooks are proven by their signature, and the API takes only a
/// bearer token (never a cookie, so a foreign page has nothing to forge
/// with; a client on another origin, a dev server say, gets its answer or
/// its `401`).
async fn same_origin(
    State(state): State<AppState>,
    req: Request,
    next: middleware::Next,
) -> Response {
    use axum::http::{Method, header};
    let m = req.method();
    if *m == Method::GET
        || *m == Method::HEAD
        || *m == Method::OPTIONS
        || access::machine_route(req.uri().path())
    {
        return next.run(req).await;
    }
    let h = req.headers();
    let text = |name| {
        h.get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    // Modern browsers say where a request comes from; trust that alone (a
    // reverse proxy may rewrite `Host`). Older ones: compare `Origin` with
    // the host asked for (or the one a proxy forwarded).
    let refused = match text("sec-fetch-site") {
        // `same-site` is refused too: another port of this host or a sibling
        // subdomain is another application.
        Some(site) => site != "same-origin" && site != "none",
        None => match text(header::ORIGIN.as_str()) {
            None => false,
            Some(origin) => {
                let origin_host = origin.split_once("://").map(|(_, rest)| rest);
                // A forwarded host only from a trusted proxy.
                let forwarded = access::via_trusted_proxy(req.extensions(), &state)
                    .then(|| text("x-forwarded-host"))
                    .flatten();
                let asked = [forwarded, text(header::HOST.as_str())];
                !asked.iter().flatten().any(|h| Some(*h) == origin_host)
            }
        },
    };
    if refused {
        return ApiError(app::error::AppError::CrossSite).into_response();
    }
    next.run(req).await
}

/// Headers every answer carries: a content security policy, no MIME
/// sniffing, no framing by other sites (clickjacking), no full URLs (with filters, i.e. customer names or
/// phones) sent to other sites as referrer. And no caching of anything
/// but the site's own files: a CDN or shared proxy in front must never
/// keep a page, an export or an API answer (customers' data) for the
/// next person who asks.
async fn security_headers(
    State(state): State<AppState>,
    req: Request,
    next: middleware::Next,
) -> Response {
    use axum::http::{HeaderValue, header};
    // Served over HTTPS (said by the settings, or by the proxy in front):
    // browsers are to use nothing else for a year.
    let https = account::secure(
        &state,
        req.headers(),
        access::via_trusted_proxy(req.extensions(), &state),
    );
    let path = req.uri().path();
    let site_file = path.starts_with("/pkg/")
        || path.starts_with("/v/")
        || path == "/favicon.svg"
        || path == "/favicon.ico";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if site_file { "no-cache" } else { "no-store" }),
        );
    }
    if !site_file {
        h.append(
            header::VARY,
            HeaderValue::from_static("Cookie, Authorization"),
        );
    }
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Leptos pages set their own, with the nonce of their inline scripts.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(v) = HeaderValue::from_str(&app::ssr::web::shell::csp(None)) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    res
}

/// `200 ok` once the database answers. The server listens only after the
/// lead index is built, so this also means reads are served.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.leads.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}
