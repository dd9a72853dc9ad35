//! The site's files (WASM, JS, CSS, favicon) carried inside the binary when
//! it is built with `embed-site` (`make dist`): served from memory with
//! their content type, gzip-compressed ahead of time, and an ETag so a
//! browser revalidates instead of downloading again. Without the feature
//! the list is empty and `--site-root` is served as before.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

pub struct Asset {
    pub path: &'static str,
    pub body: &'static [u8],
    pub gzip: &'static [u8],
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

pub fn embedded() -> bool {
    !ASSETS.is_empty()
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
    let asset = ASSETS.iter().find(|a| a.path == uri.path())?;
    // Names are not hashed: always revalidate, which costs a 304.
    let mut h = HeaderMap::new();
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
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
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let body = if gzip && asset.gzip.len() < asset.body.len() {
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
