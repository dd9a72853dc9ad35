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
/// The ingest bodies being read and parsed at once, in KiB, by the length
/// they announce (or the largest a body may be, when they announce none).
/// Bodies are read before their signature can be checked: without this,
/// 250 unsigned 8 MiB bodies sent to a webhook held 2.6 GB (a review,
/// 2026-12-07). Room for four bodies of the largest size, or hundreds of
/// ordinary ones (a batch of 1000 events is about 0.5 MB).
pub const BODY_BUDGET_KIB: usize = 4 * super::MAX_BODY / 1024;

#[derive(Clone)]
pub struct Limits {
    signin: Arc<Semaphore>,
    ingest: Arc<Semaphore>,
    general: Arc<Semaphore>,
    bodies: Arc<Semaphore>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            signin: Arc::new(Semaphore::new(SIGNIN_QUEUE)),
            ingest: Arc::new(Semaphore::new(INGEST)),
            general: Arc::new(Semaphore::new(GENERAL)),
            bodies: Arc::new(Semaphore::new(BODY_BUDGET_KIB)),
        }
    }
}

/// The KiB of the ingest body budget a request takes: what its
/// `Content-Length` announces (a longer body is refused at that length by
/// the body limit), else the largest body allowed.
fn body_kib(req: &Request) -> u32 {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(super::MAX_BODY);
    (announced.min(super::MAX_BODY).div_ceil(1024)).max(1) as u32
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
    // An ingest request's body, read and parsed, within the budget.
    let body = match lane(&req) {
        Lane::Ingest => limits
            .bodies
            .clone()
            .acquire_many_owned(body_kib(&req))
            .await
            .ok(),
        _ => None,
    };
    let res = next.run(req).await;
    // Held until the answer's head is ready; a streamed body (CSV, live
    // updates) then goes on without a permit, as before.
    drop(permit);
    drop(body);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(path: &str, length: Option<&str>) -> Request {
        let mut b = axum::http::Request::builder()
            .method(Method::POST)
            .uri(path);
        if let Some(l) = length {
            b = b.header(header::CONTENT_LENGTH, l);
        }
        b.body(axum::body::Body::empty()).expect("request")
    }

    /// An ingest body takes the budget it announces, the largest allowed
    /// when it announces none (or too much): a flood of large bodies waits
    /// for room instead of being held in memory all at once.
    #[test]
    fn ingest_bodies_take_the_budget_they_announce() {
        assert!(matches!(
            lane(&post("/webhooks/whatsapp", None)),
            Lane::Ingest
        ));
        assert!(matches!(lane(&post("/api/v1/events", None)), Lane::Ingest));
        let max = (crate::http::MAX_BODY / 1024) as u32;
        assert_eq!(body_kib(&post("/webhooks/meta", Some("2048"))), 2);
        assert_eq!(body_kib(&post("/webhooks/meta", Some("10"))), 1);
        assert_eq!(body_kib(&post("/webhooks/meta", None)), max);
        assert_eq!(body_kib(&post("/webhooks/meta", Some("999999999999"))), max);
        assert_eq!(body_kib(&post("/webhooks/meta", Some("x"))), max);
        // Four of the largest bodies at once, no more.
        assert_eq!(BODY_BUDGET_KIB as u32 / max, 4);
    }
}
