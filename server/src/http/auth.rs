//! Every `/api/v1/*` route needs `Authorization: Bearer TOKEN`.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use app::error::AppError;
use app::ssr::state::AppState;

use super::ApiError;

pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
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
