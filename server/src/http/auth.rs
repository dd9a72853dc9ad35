//! Every `/api/v1/*` route needs `Authorization: Bearer TOKEN`: a token made
//! with `token create` (or on the settings page), or `LEADS_API_TOKEN`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;
use app::ssr::state::AppState;

use super::ApiError;
use super::access::Peer;

/// The token of an `Authorization: Bearer …` header (the scheme's name in
/// any case, as HTTP says).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub async fn require_token(
    State(state): State<AppState>,
    Peer(peer): Peer,
    req: Request,
    next: Next,
) -> Response {
    // The API description is for anyone (a path inside the nested router).
    if req.uri().path() == "/openapi.json" {
        return next.run(req).await;
    }
    let ok = match bearer(req.headers()) {
        Some(token) => {
            // With a guessable LEADS_API_TOKEN, an address that kept giving
            // wrong tokens waits (429).
            let weak = state.auth.weak_token();
            let wait = if weak { state.auth.token_wait(peer) } else { 0 };
            if wait > 0 {
                let mut res = super::error::json_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "throttled",
                    "too many wrong tokens from this address: try again later",
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait));
                return res;
            }
            match state.auth.api_token(token).await {
                Ok(true) => true,
                Ok(false) => {
                    if weak {
                        state.auth.token_failed(peer);
                    }
                    false
                }
                Err(e) => return ApiError(e).into_response(),
            }
        }
        None => false,
    };
    if ok {
        next.run(req).await
    } else {
        ApiError(AppError::Unauthorized).into_response()
    }
}
