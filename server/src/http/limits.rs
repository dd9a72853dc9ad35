//! How many requests are handled at once, in three separate lanes, so
//! that one kind of traffic cannot stall another:
//! - sign-in (`POST /signin`, Argon2 two at a time): a short queue; beyond
//!   it `503` with `Retry-After` at once, so a flood of sign-ins never holds
//!   what ingest and the page need;
//! - ingest (`POST /api/v1/events`, `/webhooks/*`): its own limit, waiting
//!   its turn (Meta disables webhooks that keep failing);
//! - everything else: the general limit, waiting its turn.
//!
//! Memory stays bounded under any flood, and the writer's queue cannot grow
//! without end.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// Sign-ins in progress or waiting for Argon2.
pub const SIGNIN_QUEUE: usize = 16;
/// Ingest requests at once (each holds at most one batch).
pub const INGEST: usize = 256;
/// Every other request at once.
pub const GENERAL: usize = 512;

#[derive(Clone)]
pub struct Limits {
    signin: Arc<Semaphore>,
    ingest: Arc<Semaphore>,
    general: Arc<Semaphore>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            signin: Arc::new(Semaphore::new(SIGNIN_QUEUE)),
            ingest: Arc::new(Semaphore::new(INGEST)),
            general: Arc::new(Semaphore::new(GENERAL)),
        }
    }
}

enum Lane {
    SignIn,
    Ingest,
    General,
}

fn lane(req: &Request) -> Lane {
    let path = req.uri().path();
    let post = req.method() == Method::POST;
    if post && path == "/signin" {
        Lane::SignIn
    } else if path.starts_with("/webhooks/") || (post && path == "/api/v1/events") {
        Lane::Ingest
    } else {
        Lane::General
    }
}

pub async fn limit(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    // Sign-ins never queue beyond their lane; the others wait their turn
    // (their semaphores are never closed: only a sign-in finds none).
    let permit = match lane(&req) {
        Lane::SignIn => limits.signin.clone().try_acquire_owned().ok(),
        Lane::Ingest => limits.ingest.clone().acquire_owned().await.ok(),
        Lane::General => limits.general.clone().acquire_owned().await.ok(),
    };
    let Some(permit) = permit else {
        tracing::warn!("sign-in queue full: answered 503");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "2")],
            "Too many sign-ins at once; try again in a moment.",
        )
            .into_response();
    };
    let res = next.run(req).await;
    // Held until the answer's head is ready; a streamed body (CSV, live
    // updates) then goes on without a permit, as before.
    drop(permit);
    res
}
