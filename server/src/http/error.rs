//! The API's one error shape: `{"error": {"code": …, "message": …}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use app::error::AppError;

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
        if let AppError::Busy(_, secs) = &self.0 {
            tracing::warn!("refused: {}", self.0);
            return (
                status,
                [(axum::http::header::RETRY_AFTER, secs.to_string())],
                axum::Json(self.0.to_json()),
            )
                .into_response();
        }
        if status.is_server_error() {
            tracing::error!(
                code = self.0.code(),
                "request failed: {}",
                app::ssr::domain::redact::redact(&self.0.to_string())
            );
        }
        (status, axum::Json(self.0.public().to_json())).into_response()
    }
}

/// Whether an answer's body is JSON.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
}

/// An error answer in the API's shape, for errors that are not an
/// [`AppError`] (HTTP-level refusals).
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Answers of the API that are errors but not yet in the JSON shape (axum's
/// own 405, 413, 415, 422 texts) get it, with a code from the status.
pub async fn json_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(res.headers()) {
        return res;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the body is too large (at most 8 MiB: a batch of 1000 events)",
        ),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long; try again"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this route does not take this method")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send JSON (Content-Type: application/json)",
        ),
        StatusCode::NOT_FOUND => ("not_found", "no such API route"),
        s if s.is_server_error() => ("internal", "the request failed; see the server log"),
        _ => ("bad_request", "the request is malformed"),
    };
    let mut out = json_error(status, code, message);
    // Keep headers such as `Allow` on a 405.
    for (k, v) in res.headers() {
        if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// Server functions answer every error with `500` (Leptos does); the body
/// is our [`AppError`], so give the answer that error's own status: a bad
/// argument is the caller's mistake (`400`), not a server failure.
pub async fn server_fn_status(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let is_fn = req.uri().path().starts_with("/srv/");
    let res = next.run(req).await;
    if !is_fn || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    if let Ok(e) = serde_json::from_slice::<AppError>(&bytes) {
        let status = match e {
            // Arguments that do not decode, or a request of the wrong form.
            AppError::ServerFn(_) => StatusCode::BAD_REQUEST,
            e => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        };
        parts.status = status;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Adds the request id to an answer: the `X-Request-Id` header, and in a
/// JSON server error also `error.request_id` and a mention in the message.
pub async fn with_request_id(res: Response, id: &str) -> Response {
    let (mut parts, body) = res.into_parts();
    if let Ok(v) = axum::http::HeaderValue::from_str(id) {
        parts.headers.insert("x-request-id", v);
    }
    if !parts.status.is_server_error() || !is_json(&parts.headers) {
        return Response::from_parts(parts, body);
    }
    // Error bodies are small: read, amend, write back.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let out = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut v) if v.get("error").is_some_and(|e| e.is_object()) => {
            let message = v["error"]["message"].as_str().unwrap_or("").to_owned();
            v["error"]["request_id"] = id.into();
            v["error"]["message"] = format!("{message} (request id {id})").into();
            serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn server_errors_carry_the_request_id_and_no_internal_text() {
        let res =
            ApiError(AppError::Unavailable("rocksdb: IO error: LOCK held".into())).into_response();
        let res = with_request_id(res, "abc-1").await;
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()["x-request-id"], "abc-1");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["request_id"], "abc-1");
        let message = v["error"]["message"].as_str().unwrap_or("");
        assert!(message.ends_with("(request id abc-1)"), "{message}");
        assert!(
            !message.contains("rocksdb") && !message.contains("LOCK"),
            "{message}"
        );
        // Client errors keep their body; the header is added.
        let res = with_request_id(
            ApiError(AppError::param("from", "bad")).into_response(),
            "abc-2",
        )
        .await;
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()["x-request-id"], "abc-2");
    }
}
