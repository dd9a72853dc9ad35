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
        if status.is_server_error() {
            tracing::error!(code = self.0.code(), "request failed: {}", self.0);
        }
        (status, axum::Json(self.0.public().to_json())).into_response()
    }
}

/// Answers of the API that are errors but not yet in the JSON shape (axum's
/// own 405, 413, 415, 422 texts) get it, with a code from the status.
pub async fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the body is too large (at most 32 MiB)",
        ),
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
    let mut out = (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response();
    // Keep headers such as `Allow` on a 405.
    for (k, v) in res.headers() {
        if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}
