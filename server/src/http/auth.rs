//! Every `/api/v1/*` route needs `Authorization: Bearer TOKEN`: a token made
//! with `token create` (or on the settings page), or `LEADS_API_TOKEN`.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;
use app::ssr::state::AppState;

use super::ApiError;

/// The token of an `Authorization: Bearer …` header (the scheme's name in
/// any case, as HTTP says).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // The API description is for anyone (a path inside the nested router).
    if req.uri().path() == "/openapi.json" {
        return next.run(req).await;
    }
    let ok = match bearer(req.headers()) {
        Some(token) => match state.auth.api_token(token).await {
            Ok(ok) => ok,
            Err(e) => return ApiError(e).into_response(),
        },
        None => false,
    };
    if ok {
        next.run(req).await
    } else {
        ApiError(AppError::Unauthorized).into_response()
    }
}
