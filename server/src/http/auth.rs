//! Every `/api/v1/*` route needs `Authorization: Bearer TOKEN`: a token made
//! with `token create` (or on the settings page), or `LEADS_API_TOKEN`.

use axum::extract::{Request, State};
use axum::http::header;
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

/// The longest a wrong token's answer is held back, in seconds.
const MAX_SLOW: i64 = 2;

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
        Some(token) => match state.auth.api_token(token).await {
            // A right token is never refused, whatever came before it
            // from the same address (`api.md`).
            Ok(true) => true,
            Ok(false) => {
                // With a guessable LEADS_API_TOKEN, an address that keeps
                // giving wrong tokens gets each further 401 late (up to
                // MAX_SLOW), so a short token is not guessed at the
                // server's speed; the answer stays 401, as the spec says.
                if state.auth.weak_token() {
                    let wait = state.auth.token_wait(peer).min(MAX_SLOW);
                    state.auth.token_failed(peer);
                    if wait > 0 {
                        tokio::time::sleep(std::time::Duration::from_secs(wait as u64)).await;
                    }
                }
                false
            }
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
