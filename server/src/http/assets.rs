//! The site's files (WASM, JS, CSS, favicon) carried inside the binary when
//! it is built with `embed-site` (`make dist`): served from memory with
//! their content type, brotli- or gzip-compressed ahead of time. The page
//! asks for them under `/v/VERSION/…` (a hash of the whole site): those
//! answers may be cached for a year, since another build has another
//! version. Plain `/pkg/…` answers carry an ETag and are revalidated.
//! Without the feature the list is empty and `--site-root` is served.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

pub struct Asset {
    pub path: &'static str,
    pub body: &'static [u8],
    pub gzip: &'static [u8],
    pub brotli: &'static [u8],
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

pub fn embedded() -> bool {
    !ASSETS.is_empty()
}

/// The prefix the page loads the site's files with.
pub fn root() -> String {
    if embedded() {
        format!("/v/{SITE_VERSION}")
    } else {
        String::new()
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "png" => "image/png",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// An embedded file, or `None` (then the request goes on as usual).
pub fn answer(uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    // `/v/VERSION/pkg/x` is `/pkg/x`; only this build's version is immutable.
    let (path, immutable) = match uri.path().strip_prefix("/v/") {
        Some(rest) => {
            let (version, path) = rest.split_once('/')?;
            (
                &rest[version.len()..],
                version == SITE_VERSION && !path.is_empty(),
            )
        }
        None => (uri.path(), false),
    };
    let asset = ASSETS.iter().find(|a| a.path == path)?;
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    if fresh {
        return Some((StatusCode::NOT_MODIFIED, h).into_response());
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(asset.path)),
    );
    let accepts = |enc: &str| {
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with(enc)))
    };
    let body = if accepts("br") && asset.brotli.len() < asset.body.len() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        asset.brotli
    } else if accepts("gzip") && asset.gzip.len() < asset.body.len() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        asset.gzip
    } else {
        asset.body
    };
    Some((StatusCode::OK, h, body).into_response())
}

/// Serves embedded files before anything else looks at the path.
pub async fn serve(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if embedded() {
        if let Some(res) = answer(req.uri(), req.headers()) {
            return res;
        }
    }
    next.run(req).await
}
