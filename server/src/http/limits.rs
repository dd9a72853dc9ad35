//! How many requests are handled at once, in three separate lanes, so
//! that one kind of traffic cannot stall another:
//! - sign-in (`POST /signin`, Argon2 two at a time): a short queue; beyond
//!   it `503` with `Retry-After` at once, so a flood of sign-ins never holds
//!   what ingest and the page need;
//! - ingest (`POST /api/v1/events`, `/webhooks/*`): its own limit, waiting
//!   its turn once its body has arrived (Meta disables webhooks that keep
//!   failing), its body charged to a budget of its own ([`BODY_BUDGET_KIB`]);
//! - everything else: the general limit, waiting its turn.
//!
//! Memory stays bounded under any flood, and the writer's queue cannot grow
//! without end.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use app::error::AppError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Sign-ins in progress or waiting for Argon2.
pub const SIGNIN_QUEUE: usize = 16;
/// Ingest requests at once (each holds at most one batch).
pub const INGEST: usize = 256;
/// Every other request at once.
pub const GENERAL: usize = 512;
/// The ingest bodies being read and parsed at once, in KiB, charged as
/// their bytes arrive and held until the request is answered. Bodies are
/// read before their signature can be checked: without a budget, 250
/// unsigned 8 MiB bodies sent to a webhook held 2.6 GB (a review,
/// 2026-12-07). Charged by what a body announced, four connections that
/// announced 8 MiB and then sent nothing held the whole budget, and every
/// webhook waited, for the minute a body may take; charged by what has
/// arrived, holding it takes sending it. Room for four bodies of the
/// largest size, or hundreds of ordinary ones (a batch of 1000 events is
/// about 0.5 MB).
pub const BODY_BUDGET_KIB: usize = 4 * super::MAX_BODY / 1024;

/// How long a body's next bytes wait for room in the budget before the
/// request is refused (`503`, try again): a short queue for a moment of
/// many large bodies, not a wait on a body that never ends.
const BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

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

/// What an ingest request's body has taken of the budget (held until the
/// request is answered, as its bytes are in memory until then), and
/// whether it was refused room.
#[derive(Default)]
struct Charge {
    held: std::sync::Mutex<Option<OwnedSemaphorePermit>>,
    refused: AtomicBool,
    /// More than the largest body arrived.
    too_long: AtomicBool,
}

impl Charge {
    fn hold(&self, permit: OwnedSemaphorePermit) {
        if let Ok(mut held) = self.held.lock() {
            match held.as_mut() {
                Some(h) => h.merge(permit),
                None => *held = Some(permit),
            }
        }
    }
}

type Waiting = Pin<Box<dyn Future<Output = Option<OwnedSemaphorePermit>> + Send>>;

/// A request body charging the budget a KiB at a time as its bytes
/// arrive: each frame is handed on once its bytes have room, which it
/// waits for at most [`BODY_WAIT`]; beyond it the body ends in an error
/// and the request is answered `503`.
struct Charged {
    inner: Body,
    budget: Arc<Semaphore>,
    charge: Arc<Charge>,
    /// Bytes received, and KiB charged for them (`ceil(seen / 1024)`).
    seen: u64,
    charged: u64,
    waiting: Option<(Waiting, Frame<Bytes>)>,
}

#[derive(Debug)]
struct NoRoom;

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no room for the body in the ingest budget")
    }
}

impl std::error::Error for NoRoom {}

impl HttpBody for Charged {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Some((wait, _)) = this.waiting.as_mut() {
            let Poll::Ready(permit) = wait.as_mut().poll(cx) else {
                return Poll::Pending;
            };
            let Some((_, frame)) = this.waiting.take() else {
                return Poll::Pending;
            };
            return match permit {
                Some(p) => {
                    this.charge.hold(p);
                    Poll::Ready(Some(Ok(frame)))
                }
                None => {
                    this.charge.refused.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(axum::Error::new(NoRoom))))
                }
            };
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        let Some(data) = frame.data_ref() else {
            return Poll::Ready(Some(Ok(frame)));
        };
        this.seen += data.len() as u64;
        if this.seen > super::MAX_BODY as u64 {
            // Refused at its length (`413`), not charged for it.
            this.charge.too_long.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(NoRoom))));
        }
        let need = this.seen.div_ceil(1024) - this.charged;
        if need == 0 {
            return Poll::Ready(Some(Ok(frame)));
        }
        // More than the whole budget can never be had (the body limit
        // refuses such a body anyway).
        let Ok(n) = u32::try_from(need) else {
            this.charge.refused.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(NoRoom))));
        };
        this.charged += need;
        match this.budget.clone().try_acquire_many_owned(n) {
            Ok(p) => {
                this.charge.hold(p);
                Poll::Ready(Some(Ok(frame)))
            }
            Err(_) => {
                let budget = this.budget.clone();
                let wait = Box::pin(async move {
                    tokio::time::timeout(BODY_WAIT, budget.acquire_many_owned(n))
                        .await
                        .ok()
                        .and_then(Result::ok)
                });
                this.waiting = Some((wait, frame));
                // Polled at once, so that its waker is registered.
                self.poll_frame(cx)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.waiting.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let held = self
            .waiting
            .as_ref()
            .and_then(|(_, f)| f.data_ref())
            .map_or(0, |d| d.len() as u64);
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + held);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + held);
        }
        hint
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
    let lane = lane(&req);
    // An ingest request's body is read first, within the body budget and
    // its time, and only then waits for its turn in the lane: a client
    // that sends its body slowly, or never, holds neither the lane nor
    // (beyond what it sent) the budget.
    let (req, charge) = match lane {
        // Refused at its length by the route's body limit, unread, as
        // any other route does it (see `announced`).
        Lane::Ingest if announced(&req) > super::MAX_BODY as u64 => (req, None),
        Lane::Ingest => match read_body(&limits, req).await {
            Ok((req, charge)) => (req, Some(charge)),
            Err(res) => return res,
        },
        _ => (req, None),
    };
    // Sign-ins never queue beyond their lane; the others wait their turn
    // (their semaphores are never closed: only a sign-in finds none).
    let permit = match lane {
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
    // updates) then goes on without a permit, as before. The body's share
    // of the budget too: its bytes are in memory until then.
    drop(permit);
    drop(charge);
    res
}

/// The length a request's body announces (`Content-Length`, else its size
/// hint). One longer than the largest is not read: answered `413` at once
/// (the client, still sending, may see the connection close first).
fn announced(req: &Request) -> u64 {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .max(req.body().size_hint().lower())
}

/// Reads an ingest request's body whole: charged to the budget as its
/// bytes arrive, at most [`super::MAX_BODY`], within
/// [`super::ANSWER_TIMEOUT`]. The request goes on with the body read, and
/// the charge is held until it is answered; or the refusal (`503` `busy`
/// when the budget had no room, `413`, `408`; in the API's JSON shape on
/// the API).
async fn read_body(limits: &Limits, req: Request) -> Result<(Request, Arc<Charge>), Response> {
    let (parts, body) = req.into_parts();
    let charge = Arc::new(Charge::default());
    let charged = Body::new(Charged {
        inner: body,
        budget: limits.bodies.clone(),
        charge: charge.clone(),
        seen: 0,
        charged: 0,
        waiting: None,
    });
    let read = tokio::time::timeout(
        super::ANSWER_TIMEOUT,
        axum::body::to_bytes(charged, super::MAX_BODY),
    )
    .await;
    let refusal = match read {
        Ok(Ok(bytes)) => return Ok((Request::from_parts(parts, Body::from(bytes)), charge)),
        _ if charge.refused.load(Ordering::Relaxed) => {
            // (Logged as refused by `ApiError`.)
            let busy = AppError::Busy(
                "too many request bodies at once; send it again in a moment".into(),
                2,
            );
            return Err(super::error::ApiError(busy).into_response());
        }
        Err(_) => StatusCode::REQUEST_TIMEOUT,
        Ok(Err(_)) if charge.too_long.load(Ordering::Relaxed) => StatusCode::PAYLOAD_TOO_LARGE,
        // The client went away, or sent a malformed body.
        Ok(Err(_)) => StatusCode::BAD_REQUEST,
    };
    let res = refusal.into_response();
    Err(if parts.uri.path().starts_with("/api/") {
        super::error::json_errors(res).await
    } else {
        res
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use futures::channel::mpsc;
    use tower::ServiceExt;

    fn request(path: &str) -> Request {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri(path)
            .body(Body::empty())
            .expect("request")
    }

    #[test]
    fn ingest_lanes() {
        assert!(matches!(lane(&request("/webhooks/whatsapp")), Lane::Ingest));
        assert!(matches!(lane(&request("/api/v1/events")), Lane::Ingest));
        assert!(matches!(lane(&request("/api/v1/spend")), Lane::General));
        assert!(matches!(lane(&request("/signin")), Lane::SignIn));
        // Four of the largest bodies at once.
        assert_eq!(BODY_BUDGET_KIB * 1024 / crate::http::MAX_BODY, 4);
    }

    /// A body whose frames are sent through the returned sender, as a
    /// client sends them (dropping the sender ends the body).
    fn streamed() -> (mpsc::UnboundedSender<Result<Bytes, std::io::Error>>, Body) {
        let (tx, rx) = mpsc::unbounded();
        (tx, Body::from_stream(rx))
    }

    fn bytes(n: usize) -> Result<Bytes, std::io::Error> {
        Ok(Bytes::from(vec![b'x'; n]))
    }

    /// An ingest route behind the limits, with a body budget of `kib`,
    /// answering the length of the body it read.
    fn app(kib: usize) -> (Router, Arc<Semaphore>) {
        app_with(kib, INGEST)
    }

    fn app_with(kib: usize, lane: usize) -> (Router, Arc<Semaphore>) {
        let bodies = Arc::new(Semaphore::new(kib));
        let limits = Limits {
            bodies: bodies.clone(),
            ingest: Arc::new(Semaphore::new(lane)),
            ..Limits::default()
        };
        let app = Router::new()
            .route(
                "/webhooks/meta",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .layer(axum::middleware::from_fn_with_state(limits, limit));
        (app, bodies)
    }

    fn post_body(body: Body) -> Request {
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/webhooks/meta")
            .body(body)
            .expect("request")
    }

    /// A body takes a KiB of the budget for each KiB that has arrived (a
    /// trickle of single bytes is not charged a KiB a byte), holds it until
    /// it is answered, and gives it back.
    #[tokio::test]
    async fn a_body_takes_the_budget_its_bytes_need_as_they_arrive() {
        let budget = Arc::new(Semaphore::new(8));
        let charge = Arc::new(Charge::default());
        let frames: Vec<_> = (0..1500).map(|_| bytes(1)).collect();
        let body = Body::new(Charged {
            inner: Body::from_stream(futures::stream::iter(frames)),
            budget: budget.clone(),
            charge: charge.clone(),
            seen: 0,
            charged: 0,
            waiting: None,
        });
        let read = axum::body::to_bytes(body, usize::MAX).await.expect("read");
        assert_eq!(read.len(), 1500);
        assert_eq!(budget.available_permits(), 6);
        assert!(!charge.refused.load(Ordering::Relaxed));
        drop(charge);
        assert_eq!(budget.available_permits(), 8);
    }

    /// Connections that announce large bodies and send a little hold only
    /// what they sent: others are answered beside them. (Charged by what
    /// they announced, four such connections held every webhook back for
    /// a minute.)
    #[tokio::test]
    async fn stalled_bodies_hold_only_what_they_sent() {
        let (app, budget) = app(16);
        let mut stalled = Vec::new();
        for _ in 0..4 {
            let (tx, body) = streamed();
            tx.unbounded_send(bytes(2048)).expect("sent");
            let mut req = post_body(body);
            req.headers_mut()
                .insert(header::CONTENT_LENGTH, "8000000".parse().expect("header"));
            stalled.push((tx, tokio::spawn(app.clone().oneshot(req))));
        }
        // The four have sent 8 KiB between them.
        for _ in 0..100 {
            if budget.available_permits() == 8 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(budget.available_permits(), 8);
        let frames: Vec<_> = (0..6).map(|_| bytes(1024)).collect();
        let body = Body::from_stream(futures::stream::iter(frames));
        let res = app.clone().oneshot(post_body(body)).await.expect("answer");
        assert_eq!(res.status(), StatusCode::OK);
        let read = axum::body::to_bytes(res.into_body(), 100)
            .await
            .expect("read");
        assert_eq!(&read[..], b"6144");
        assert_eq!(budget.available_permits(), 8);
        // Their clients go away: their share comes back.
        for (tx, task) in stalled {
            drop(tx);
            let _ = task.await;
        }
        assert_eq!(budget.available_permits(), 16);
    }

    /// A body that finds no room within a moment is refused with `503`
    /// and `Retry-After` (Meta and the import command send it again),
    /// not held until its time runs out; a moment's shortage is waited for.
    #[tokio::test]
    async fn a_body_without_room_is_refused_after_a_moment() {
        let (app, budget) = app(4);
        let (tx, body) = streamed();
        tx.unbounded_send(bytes(3 * 1024)).expect("sent");
        let held = tokio::spawn(app.clone().oneshot(post_body(body)));
        for _ in 0..100 {
            if budget.available_permits() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(budget.available_permits(), 1);
        let started = std::time::Instant::now();
        let body = Body::from_stream(futures::stream::iter(vec![bytes(2048)]));
        let res = app.clone().oneshot(post_body(body)).await.expect("answer");
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        let read = axum::body::to_bytes(res.into_body(), 1000)
            .await
            .expect("read");
        let json: serde_json::Value = serde_json::from_slice(&read).expect("json");
        assert_eq!(json["error"]["code"], "busy");
        assert!(started.elapsed() >= BODY_WAIT);
        assert_eq!(budget.available_permits(), 1);
        // Room that comes within the moment is waited for.
        let body = Body::from_stream(futures::stream::iter(vec![bytes(2048)]));
        let waiting = tokio::spawn(app.clone().oneshot(post_body(body)));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        drop(tx);
        let _ = held.await;
        let res = waiting.await.expect("task").expect("answer");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(budget.available_permits(), 4);
    }

    /// A body being sent holds no place in the ingest lane: with a lane
    /// of one, a client that never finishes its body does not keep the
    /// next request waiting.
    #[tokio::test]
    async fn a_body_being_sent_holds_no_place_in_the_lane() {
        let (app, _) = app_with(64, 1);
        let (tx, body) = streamed();
        tx.unbounded_send(bytes(10)).expect("sent");
        let stalled = tokio::spawn(app.clone().oneshot(post_body(body)));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let body = Body::from_stream(futures::stream::iter(vec![bytes(100)]));
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            app.clone().oneshot(post_body(body)),
        )
        .await
        .expect("answered without waiting")
        .expect("answer");
        assert_eq!(res.status(), StatusCode::OK);
        drop(tx);
        let res = stalled.await.expect("task").expect("answer");
        assert_eq!(res.status(), StatusCode::OK);
    }

    /// A body that turns out longer than the largest (it announced no
    /// length) is refused at that length (`413`) and gives its share back.
    /// (One that announces it is not read: `api::every_api_error_is_json…`.)
    #[tokio::test]
    async fn a_body_too_long_is_refused_at_its_length() {
        let (app, budget) = app(BODY_BUDGET_KIB);
        let frames: Vec<_> = (0..9).map(|_| bytes(1 << 20)).collect();
        let body = Body::from_stream(futures::stream::iter(frames));
        let res = app.clone().oneshot(post_body(body)).await.expect("answer");
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(budget.available_permits(), BODY_BUDGET_KIB);
    }
}
