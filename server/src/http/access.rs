//! Who may reach what. Every request passes the `Host` check (DNS
//! rebinding); pages, server functions, live updates and the page's CSV
//! download need a sign-in session; `/api/v1` needs an API token
//! (`auth::require_token`); the webhooks check their signatures; the
//! sign-in page, health and the site's static files are open.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use app::error::AppError;
use app::ssr::auth::{Caller, SECURE_SESSION_COOKIE, SESSION_COOKIE};
use app::ssr::state::AppState;

use super::ApiError;

/// Paths anyone may request: the API and webhooks have their own checks.
fn is_open(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/signin" | "/signout" | "/favicon.svg" | "/favicon.ico"
    ) || path.starts_with("/api/")
        || path.starts_with("/webhooks/")
        || path.starts_with("/pkg/")
        || path.starts_with("/v/")
        || path.starts_with("/lang/")
}

/// A path without `.` or `..` segments (plain or percent-encoded) and
/// without `\\` (which the page's router would read as `/`).
fn plain_path(path: &str) -> bool {
    !path.contains('\\')
        && path.split('/').all(|seg| {
            !matches!(
                seg.to_ascii_lowercase().replace("%2e", ".").as_str(),
                "." | ".."
            )
        })
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The session cookie's value: the `__Host-` one (HTTPS) or the plain one.
pub fn session_value(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SECURE_SESSION_COOKIE).or_else(|| cookie(headers, SESSION_COOKIE))
}

/// Resolves the session into a [`Caller`] in the request's extensions, or
/// turns the request away: a page is redirected to sign-in (and back
/// afterwards), anything else answers `401`.
pub async fn require_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    // `.`/`..` segments: a path like `/pkg/%2e%2e/`
    // would pass as open and then be read as `/` by the page's router.
    if !plain_path(path) {
        return super::error::json_error(
            StatusCode::BAD_REQUEST,
            "bad_path",
            "the path has dot segments",
        );
    }
    if is_open(path) {
        return next.run(req).await;
    }
    let caller = match session_value(req.headers()) {
        Some(c) => match state.auth.session(c).await {
            Ok(c) => c,
            Err(e) => return ApiError(e).into_response(),
        },
        None => None,
    };
    if let Some(c) = caller {
        req.extensions_mut().insert(c);
        return next.run(req).await;
    }
    let page =
        (req.method() == Method::GET || req.method() == Method::HEAD) && !path.starts_with("/srv/");
    if page {
        let back = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let to = if back == "/" {
            "/signin".to_owned()
        } else {
            format!("/signin?next={}", app::url::encode(&back))
        };
        return Redirect::to(&to).into_response();
    }
    // Server functions decode their error from this body (the page then
    // reloads, which leads to sign-in).
    let body = serde_json::to_string(&AppError::Unauthorized).unwrap_or_default();
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The signed-in person, for handlers behind [`require_session`].
pub struct SignedIn(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(SignedIn)
            .ok_or_else(|| Redirect::to("/signin").into_response())
    }
}

/// The client a request came from (when served with connection info):
/// the TCP peer, or behind a trusted proxy the client it forwards for
/// (`LEADS_TRUSTED_PROXIES`).
pub struct Peer(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(Peer(peer.map(|p| {
            app::ssr::domain::net::client(p, forwarded, &state.settings.trusted_proxies)
        })))
    }
}

/// Whether the request came through one of `LEADS_TRUSTED_PROXIES`: only
/// then are a proxy's `X-Forwarded-*` headers believed (any client can
/// send them).
pub fn via_trusted_proxy(extensions: &axum::http::Extensions, state: &AppState) -> bool {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|c| {
            app::ssr::domain::net::is_trusted(c.0.ip(), &state.settings.trusted_proxies)
        })
}

/// [`via_trusted_proxy`] as an extractor.
pub struct Proxied(pub bool);

impl FromRequestParts<AppState> for Proxied {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Proxied(via_trusted_proxy(&parts.extensions, state)))
    }
}

/// The routes of programs rather than browsers: the API, the webhooks, the
/// health check.
pub(super) fn machine_route(path: &str) -> bool {
    path == "/healthz" || path.starts_with("/api/") || path.starts_with("/webhooks/")
}

/// Whether a `Host` header names this server: an IP address or
/// `localhost` (with any port), or one of the configured public names. A
/// DNS-rebinding page reaches us under its own domain name, never these.
pub fn host_allowed(host: &str, public_names: &[String]) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest
            .split_once(']')
            .is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok());
    } else {
        match host.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => host.as_str(),
        }
    };
    let name = name.trim_end_matches('.');
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
        || public_names.iter().any(|p| p.trim_end_matches('.') == name)
}

pub async fn check_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Machines' routes answer under any name: each request proves itself
    // (a bearer token, a platform's signature), which a rebinding page
    // cannot, and Meta or a container network reaches us by a name nobody
    // listed. The check guards what a browser uses.
    if machine_route(req.uri().path()) {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    match host {
        // HTTP/1.0 without Host: not a browser, nothing to rebind.
        None => next.run(req).await,
        Some(h) if host_allowed(h, &state.settings.public_names) => next.run(req).await,
        Some(h) => {
            // Quoted and escaped (`?`): a Host header is the client's text,
            // and must not write log lines of its own.
            tracing::warn!(host = ?h.chars().take(100).collect::<String>(),
                "refused a request for a host name not in LEADS_PUBLIC_NAMES");
            super::error::json_error(
                StatusCode::FORBIDDEN,
                "unknown_host",
                "this server is not reached by that name; add it to LEADS_PUBLIC_NAMES",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let names = vec!["leads.example.com".to_owned()];
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST",
            "10.0.0.5",
            "[::1]:3000",
            "leads.example.com",
            "Leads.Example.com:443",
            "leads.example.com.",
        ] {
            assert!(host_allowed(ok, &names), "{ok}");
        }
        for bad in [
            "evil.com",
            "evil.com:3000",
            "leads.example.com.evil.com",
            "127.0.0.1.nip.io",
            "[evil]:1",
            "",
        ] {
            assert!(!host_allowed(bad, &names), "{bad}");
        }
    }

    #[test]
    fn dot_segments_are_not_plain() {
        for ok in [
            "/",
            "/pkg/leads-dashboard.wasm",
            "/api/v1/leads/web%3Aa%2Fb",
            "/a.b/c..d",
        ] {
            assert!(plain_path(ok), "{ok}");
        }
        for bad in [
            "/pkg/../",
            "/pkg/%2e%2e/",
            "/pkg/%2E./x",
            "/webhooks/./x",
            "/a\\b",
            "/lang/x/..",
        ] {
            assert!(!plain_path(bad), "{bad}");
        }
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "lang=en; leads_session=abc=; x=1".parse().expect("header"),
        );
        assert_eq!(cookie(&h, "leads_session"), Some("abc="));
        assert_eq!(cookie(&h, "lang"), Some("en"));
        assert_eq!(cookie(&h, "nope"), None);
    }
}

/// Who a request counts against for per-caller bounds (downloads): the
/// signed-in user (all their sessions together), else the API token (by
/// its digest, never the token itself), else the client address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requester(pub String);

impl FromRequestParts<AppState> for Requester {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(Requester(format!("user:{}", c.name)));
        }
        if let Some(token) = super::auth::bearer(&parts.headers) {
            use sha2::Digest;
            let d = sha2::Sha256::digest(token.as_bytes());
            let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
            return Ok(Requester(format!("token:{hex}")));
        }
        let Peer(ip) = Peer::from_request_parts(parts, state).await?;
        Ok(Requester(format!(
            "address:{}",
            ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
        )))
    }
}
