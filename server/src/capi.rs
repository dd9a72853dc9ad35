//! The Conversions API sender (`shared/spec/meta-capi.md`): a task that
//! claims due events from the outbox (through the `Leads` service), posts
//! them to Meta in batches and records each answer. A 5xx, a 429 (or a 4xx
//! with one of the Graph API's rate-limit codes) or no answer is tried
//! again later with back-off; any other 4xx rejects every event of the
//! request with Meta's message and none is posted again. The token goes in
//! the request's `Authorization` header and body only: never in a URL, a
//! log line or an answer.

use std::time::Duration;

use app::ssr::domain::capi::{self, Reply};
use app::ssr::domain::settings::Settings;
use app::ssr::leads::{Claimed, Done, Leads};
use serde_json::{Value, json};

/// How long a claim holds: longer than a request may take, so a claim
/// expires only when its sender is gone (then another sender, or this one
/// restarted, takes its events after at most this long).
const LEASE_SECS: i64 = 45;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often due events are looked for without a wake-up (retries, other
/// instances' events, a claim left by a stopped instance).
const POLL: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct CapiSender {
    leads: Leads,
    client: reqwest::Client,
    url: String,
    token: String,
    test_event_code: Option<String>,
    /// This process's name in claims.
    me: String,
    retry_base: i64,
}

/// What a test event did, for the settings page.
pub enum TestOutcome {
    Sent { events_received: Option<i64> },
    Failed(String),
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl CapiSender {
    /// A sender when a dataset and token are set.
    pub fn new(leads: Leads, settings: &Settings) -> Option<CapiSender> {
        let (Some(dataset), Some(token)) = (&settings.meta_dataset_id, &settings.meta_capi_token)
        else {
            return None;
        };
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .ok()?;
        // Unique among the instances on one database: process and start time.
        let started = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        Some(CapiSender {
            leads,
            client,
            url: format!(
                "{}/{}/{}/events",
                settings.meta_graph_url, settings.meta_graph_version, dataset
            ),
            token: token.clone(),
            test_event_code: settings.meta_test_event_code.clone(),
            me: format!("{}-{started:x}", std::process::id()),
            retry_base: settings.meta_retry_seconds.max(1),
        })
    }

    /// Sends until the process ends.
    pub fn spawn(self) {
        tokio::spawn(async move {
            loop {
                match self.round().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "conversions API: the outbox could not be read")
                    }
                }
                tokio::select! {
                    _ = self.leads.capi_wait() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        });
    }

    /// Claims and posts one batch; how many events it held.
    pub async fn round(&self) -> Result<usize, app::error::AppError> {
        let t = now();
        let claimed = self
            .leads
            .capi_claim(&self.me, t, t + LEASE_SECS, capi::BATCH_MAX)
            .await?;
        let n = claimed.len();
        if n == 0 {
            return Ok(0);
        }
        // Meta's answer stands for every event of the request: a refusal
        // (of one event or of the request) rejects them all with its
        // message, and none is posted again.
        let reply = self.post(&claimed, None).await;
        self.finish(&claimed, reply).await?;
        Ok(n)
    }

    async fn finish(&self, claimed: &[Claimed], reply: Reply) -> Result<(), app::error::AppError> {
        let ids: Vec<String> = claimed.iter().map(|c| c.eid.clone()).collect();
        let t = now();
        let done = match &reply {
            Reply::Sent {
                events_received,
                fbtrace_id,
            } => Done::Sent {
                received: *events_received,
                trace: fbtrace_id.as_deref(),
            },
            Reply::Rejected {
                message,
                subcode,
                fbtrace_id,
            } => {
                tracing::warn!(events = ids.len(), %message, ?subcode, "conversions API: Meta rejected events");
                Done::Rejected {
                    message,
                    subcode: *subcode,
                    trace: fbtrace_id.as_deref(),
                }
            }
            Reply::Retry { why } => {
                let tries = claimed.iter().map(|c| c.tries).max().unwrap_or(0);
                let wait = capi::backoff(self.retry_base, tries).num_seconds();
                tracing::info!(events = ids.len(), %why, retry_in_s = wait, "conversions API: will try again");
                Done::Retry {
                    next: t + wait,
                    why,
                }
            }
        };
        self.leads.capi_finish(&ids, t, done).await
    }

    /// Posts events (their stored JSON) and reads the answer.
    async fn post(&self, claimed: &[Claimed], test_event_code: Option<&str>) -> Reply {
        let events: Vec<Value> = claimed
            .iter()
            .filter_map(|c| serde_json::from_str(&c.body).ok())
            .collect();
        let code = test_event_code.or(self.test_event_code.as_deref());
        self.post_events(&events, code).await
    }

    async fn post_events(&self, events: &[Value], code: Option<&str>) -> Reply {
        let mut body = capi::request_json(events, code);
        body["access_token"] = json!(self.token);
        let sent = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let reply = match resp.bytes().await {
                    Ok(b) => capi::classify(status, &b),
                    Err(_) => capi::classify(status, b""),
                };
                self.without_token(reply)
            }
            // Without the error's text: it may name the URL, never the token,
            // but a time-out or refused connection says enough.
            Err(e) if e.is_timeout() => Reply::Retry {
                why: "no answer in time".into(),
            },
            Err(e) if e.is_connect() => Reply::Retry {
                why: "could not connect to the Graph API".into(),
            },
            Err(_) => Reply::Retry {
                why: "the request failed".into(),
            },
        }
    }

    /// Meta's message as it is, but never with the token in it (a message
    /// echoing the request would put it in the outbox, a log and the pages).
    fn without_token(&self, reply: Reply) -> Reply {
        let clean = |m: String| {
            if self.token.is_empty() {
                m
            } else {
                m.replace(&self.token, "…")
            }
        };
        match reply {
            Reply::Rejected {
                message,
                subcode,
                fbtrace_id,
            } => Reply::Rejected {
                message: clean(message),
                subcode,
                fbtrace_id,
            },
            Reply::Retry { why } => Reply::Retry { why: clean(why) },
            sent => sent,
        }
    }

    /// One `LeadSubmitted` marked with the test event code, so that it shows
    /// under Test events in Events Manager and nowhere else.
    pub async fn send_test(&self) -> TestOutcome {
        let Some(code) = self.test_event_code.clone() else {
            return TestOutcome::Failed("LEADS_META_TEST_EVENT_CODE is not set".into());
        };
        let t = now();
        let click = self.leads.latest_click().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "conversions API: no lead's click for the test event");
            None
        });
        let at = chrono::DateTime::from_timestamp(t, 0).unwrap_or_else(chrono::Utc::now);
        let event = capi::test_event(at, click.as_ref());
        let reply = self.post_events(&[event], Some(&code)).await;
        let outcome = match reply {
            Reply::Sent {
                events_received, ..
            } => TestOutcome::Sent { events_received },
            Reply::Rejected { message, .. } => TestOutcome::Failed(message),
            Reply::Retry { why } => TestOutcome::Failed(why),
        };
        let error = match &outcome {
            TestOutcome::Sent { .. } => None,
            TestOutcome::Failed(m) => Some(format!("test event: {m}")),
        };
        if let Err(e) = self.leads.capi_note(t, error.as_deref()).await {
            tracing::warn!(error = %e, "conversions API: could not note the test event");
        }
        outcome
    }
}
