//! Intake: every outside format turned into validated events
//! (`shared/spec/channels.md`). Pure: no I/O, no clock; the HTTP side checks
//! signatures with [`signature`], hands the events to `Leads` and counts
//! what arrived with [`IntakeCounts`].
//!
//! [`CHANNELS`] is the one table of webhook intakes: the server builds its
//! `/webhooks/*` routes from it.

pub(crate) mod chatwoot;
pub(crate) mod meta;
pub mod signature;
pub mod spend;
pub(crate) mod whatsapp;

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::ssr::domain::event::{Event, Kind, Sender};
use crate::ssr::domain::settings::Settings;

/// What a body gave: the events, what was invalid (for the log; never
/// customer data), and what was left out on purpose, by kind.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub skipped: Vec<String>,
    /// Kinds of payload that are no event by the spec (`receipt`,
    /// `reaction`, `group`, `notice`, `edit`, `unsend`, …), one per item.
    pub dropped: Vec<&'static str>,
    /// App ids of Messenger/Instagram echoes that no setting names (their
    /// echoes were counted as `system`), each with its echo's event id.
    pub unknown_apps: Vec<(String, String)>,
    /// The kind and id of each event taken out to be stored (for the
    /// counts, which count an event once, not each retry of it).
    taken: Vec<(&'static str, String)>,
}

impl Parsed {
    fn no_event(&mut self, kind: &'static str) {
        self.dropped.push(kind);
    }

    /// The events, to be stored; their kinds and ids stay behind for the counts
    /// (no copy of the events is kept for that).
    pub fn take_events(&mut self) -> Vec<Event> {
        self.taken
            .extend(self.events.iter().map(|e| (event_kind(e), e.id.clone())));
        std::mem::take(&mut self.events)
    }
}

/// How a channel signs its deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Meta: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>`.
    Hub,
    /// Chatwoot: `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256("ts.body")>`
    /// with `X-Chatwoot-Timestamp` within five minutes of now.
    Chatwoot,
}

impl Scheme {
    /// What a refused delivery is told (`401`): the headers this scheme
    /// reads, so that a Chatwoot setup is not sent looking for Meta's.
    pub fn refusal(self) -> &'static str {
        match self {
            Scheme::Hub => "the X-Hub-Signature-256 signature is missing or does not match",
            // `signature::CHATWOOT_WINDOW_SECONDS`: five minutes.
            Scheme::Chatwoot => {
                "the X-Chatwoot-Signature signature is missing or does not match, \
                 or X-Chatwoot-Timestamp is more than 5 minutes from now"
            }
        }
    }
}

/// One webhook intake: where it is served, how it is checked, what it reads.
pub struct Channel {
    /// The name in logs, counts and `/api/v1/stats`.
    pub name: &'static str,
    pub path: &'static str,
    /// The setting holding the signing secret (for the 503's message).
    pub secret_var: &'static str,
    pub secret: fn(&Settings) -> Option<&str>,
    /// Meta's `hub.challenge` handshake on `GET`, with this verify token.
    pub handshake: Option<fn(&Settings) -> Option<&str>>,
    pub scheme: Scheme,
    /// Whether a body is a delivery of this channel at all (else `400`,
    /// nothing written); what its items hold is `parse`'s concern.
    pub shape: fn(&Value) -> Result<(), &'static str>,
    pub parse: fn(&Value, &Settings) -> Parsed,
}

/// A Meta delivery (WhatsApp, Messenger, Instagram): an object with an
/// `entry` list. (Another `object` is another subscription on the same
/// address: acknowledged, nothing taken.)
fn meta_shape(body: &Value) -> Result<(), &'static str> {
    match body.get("entry") {
        Some(Value::Array(_)) => Ok(()),
        _ => Err("a delivery is a JSON object with an \"entry\" list"),
    }
}

/// A Chatwoot delivery: an object naming its `event`.
fn chatwoot_shape(body: &Value) -> Result<(), &'static str> {
    match body.get("event") {
        Some(Value::String(_)) => Ok(()),
        _ => Err("a delivery is a JSON object with an \"event\" name"),
    }
}

/// Every webhook intake.
pub static CHANNELS: [Channel; 3] = [
    Channel {
        name: "whatsapp",
        path: "/webhooks/whatsapp",
        secret_var: "LEADS_WHATSAPP_APP_SECRET",
        secret: |s| s.whatsapp_app_secret.as_deref(),
        handshake: Some(|s| s.whatsapp_verify_token.as_deref()),
        scheme: Scheme::Hub,
        shape: meta_shape,
        parse: whatsapp::parse,
    },
    Channel {
        name: "meta",
        path: "/webhooks/meta",
        secret_var: "LEADS_META_APP_SECRET (or LEADS_WHATSAPP_APP_SECRET)",
        secret: |s| s.meta_app_secret.as_deref(),
        handshake: Some(|s| s.meta_verify_token.as_deref()),
        scheme: Scheme::Hub,
        shape: meta_shape,
        parse: meta::parse,
    },
    Channel {
        name: "chatwoot",
        path: "/webhooks/chatwoot",
        secret_var: "LEADS_CHATWOOT_SECRET",
        secret: |s| s.chatwoot_secret.as_deref(),
        handshake: None,
        scheme: Scheme::Chatwoot,
        shape: chatwoot_shape,
        parse: chatwoot::parse,
    },
];

/// A sender named by the sending software in a free-text field
/// (`biz_opaque_callback_data`, Messenger's `metadata`): `leads:sender=agent`,
/// `=ai` or `=system`, other text around it allowed.
pub fn tagged_sender(text: &str) -> Option<Sender> {
    let mut rest = text;
    while let Some(at) = rest.find("leads:sender=") {
        let tail = &rest[at + "leads:sender=".len()..];
        let word: String = tail
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match word.to_ascii_lowercase().as_str() {
            "agent" => return Some(Sender::Agent),
            "ai" => return Some(Sender::Ai),
            "system" => return Some(Sender::System),
            _ => rest = tail,
        }
    }
    None
}

/// An id that may come as text or as a number (read as its digits: Meta's
/// ids can be beyond 2^53).
fn id_text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A trimmed, non-empty string field.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A Unix time as a string or a number: seconds (WhatsApp, Chatwoot) or
/// milliseconds (Messenger, Instagram).
fn unix_time(v: Option<&Value>, millis: bool) -> Option<chrono::DateTime<chrono::Utc>> {
    let n = match v? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    if millis {
        chrono::DateTime::from_timestamp_millis(n)
    } else {
        chrono::DateTime::from_timestamp(n, 0)
    }
}

/// What one intake received since the process started, by kind.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct IntakeTally {
    /// Deliveries answered 2xx.
    pub deliveries: u64,
    /// Deliveries refused: wrong or missing signature, stale timestamp.
    pub refused: u64,
    /// Events made, by what they are (`inbound`, `reply_agent`, `reply_ai`,
    /// `outbound_system`, `referral`, `link`, `known`, `resolved`).
    pub events: BTreeMap<String, u64>,
    /// Payloads that are no event by the spec, by kind.
    pub dropped: BTreeMap<String, u64>,
    /// Items that could not be read (e.g. a sender that is no phone number).
    pub invalid: u64,
    /// Echo app ids no setting names, with how many replies each sent
    /// (counted as `system`: set `LEADS_META_AGENT_APP_IDS` or
    /// `LEADS_META_AI_APP_IDS`).
    pub unknown_echo_apps: BTreeMap<String, u64>,
}

/// The counts of every intake, for admins (`/api/v1/stats`, the settings
/// page): a business sees its subscription works and which setting is
/// missing. Kept in memory, per process, since it started.
#[derive(Debug, Default)]
pub struct IntakeCounts {
    by_intake: Mutex<BTreeMap<&'static str, IntakeTally>>,
}

impl IntakeCounts {
    fn with(&self, intake: &'static str, f: impl FnOnce(&mut IntakeTally)) {
        let mut map = self.by_intake.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(intake).or_default());
    }

    /// A delivery refused before it was read.
    pub fn refused(&self, intake: &'static str) {
        self.with(intake, |t| t.refused += 1);
    }

    /// A delivery stored (called after the commit). `fresh`: for each event
    /// taken from `parsed` ([`Parsed::take_events`]), whether it was new:
    /// events (and the replies of unknown apps) count once, however often
    /// Meta retries their delivery. What carries no id (a reaction, a
    /// receipt) counts with each delivery.
    pub fn delivered(&self, intake: &'static str, parsed: &Parsed, fresh: &[bool]) {
        let new: std::collections::HashSet<&str> = parsed
            .taken
            .iter()
            .zip(fresh)
            .filter_map(|((_, id), f)| f.then_some(id.as_str()))
            .collect();
        self.with(intake, |t| {
            t.deliveries += 1;
            t.invalid += parsed.skipped.len() as u64;
            for (k, _) in parsed
                .taken
                .iter()
                .filter(|(_, id)| new.contains(id.as_str()))
            {
                *t.events.entry((*k).to_owned()).or_default() += 1;
            }
            for d in &parsed.dropped {
                *t.dropped.entry((*d).to_owned()).or_default() += 1;
            }
            for (a, _) in parsed
                .unknown_apps
                .iter()
                .filter(|(_, id)| new.contains(id.as_str()))
            {
                *t.unknown_echo_apps.entry(a.clone()).or_default() += 1;
            }
        });
    }

    /// Every intake's counts (the three webhook intakes always listed).
    pub fn snapshot(&self) -> BTreeMap<String, IntakeTally> {
        let map = self.by_intake.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: BTreeMap<String, IntakeTally> = CHANNELS
            .iter()
            .map(|c| (c.name.to_owned(), IntakeTally::default()))
            .collect();
        for (k, v) in map.iter() {
            out.insert((*k).to_owned(), v.clone());
        }
        out
    }
}

/// The event every intake builds (in the API's format, then `validate`d
/// like the API's, so that phones, limits and sources follow one set of
/// rules).
pub(super) fn event_json(
    id: &str,
    at: chrono::DateTime<chrono::Utc>,
    channel: &str,
    direction: &str,
    sender: Sender,
    contact: impl Serialize,
) -> Value {
    serde_json::json!({
        "id": id,
        "occurred_at": at.to_rfc3339(),
        "channel": channel,
        "direction": direction,
        "sender": sender,
        "contact": contact,
    })
}

/// Validates an intake's event so that one odd detail of the contact does
/// not lose the message: a name or e-mail that fails is left out, and a
/// phone that fails gives way to `without_phone` (the contact by its
/// channel's id, with the same name and e-mail), when there is one. What
/// still fails is `field: why`.
pub(super) fn validate_contact(
    mut ev: Value,
    region: phonenumber::country::Id,
    mut without_phone: Option<serde_json::Map<String, Value>>,
) -> Result<Event, String> {
    // Each round removes one field, so this ends.
    for _ in 0..4 {
        let field = match crate::ssr::domain::event::validate(&ev, region) {
            Ok(e) => return Ok(e),
            Err((field, why)) => match (field, without_phone.take()) {
                ("contact.name" | "contact.email" | "contact.external_id", back) => {
                    without_phone = back;
                    field
                }
                ("contact.phone", Some(mut instead)) => {
                    for keep in ["name", "email"] {
                        if let Some(v) = ev["contact"].get(keep) {
                            instead.insert(keep.into(), v.clone());
                        }
                    }
                    ev["contact"] = Value::Object(instead);
                    continue;
                }
                (field, _) => return Err(format!("{field}: {why}")),
            },
        };
        if let Some(c) = ev.get_mut("contact").and_then(Value::as_object_mut) {
            c.remove(&field["contact.".len()..]);
        }
    }
    Err("contact: unusable".into())
}

/// A recorded webhook body from `app/tests/fixtures/meta-webhooks/`.
#[cfg(test)]
pub(super) fn fixture(dir: &str, name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/meta-webhooks/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The label an event is counted under.
fn event_kind(e: &Event) -> &'static str {
    match e.kind {
        Kind::Message if e.is_inbound() => "inbound",
        Kind::Message => match e.sender {
            Sender::Agent => "reply_agent",
            Sender::Ai => "reply_ai",
            _ => "outbound_system",
        },
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_tags_are_found_inside_other_text() {
        assert_eq!(tagged_sender("leads:sender=ai"), Some(Sender::Ai));
        assert_eq!(
            tagged_sender("order=77;leads:sender=agent;x=1"),
            Some(Sender::Agent)
        );
        assert_eq!(
            tagged_sender("leads:sender=bogus leads:sender=system"),
            Some(Sender::System)
        );
        assert_eq!(tagged_sender("LEADS:SENDER=ai"), None);
        assert_eq!(tagged_sender("sender=ai"), None);
        assert_eq!(tagged_sender(""), None);
    }

    #[test]
    fn a_refused_delivery_is_told_its_schemes_headers() {
        let hub = Scheme::Hub.refusal();
        assert!(hub.contains("X-Hub-Signature-256"), "{hub}");
        let cw = Scheme::Chatwoot.refusal();
        assert!(cw.contains("X-Chatwoot-Signature"), "{cw}");
        assert!(cw.contains("X-Chatwoot-Timestamp"), "{cw}");
        assert!(!cw.contains("X-Hub"), "{cw}");
        assert_eq!(signature::CHATWOOT_WINDOW_SECONDS, 5 * 60);
        // The Chatwoot route's intake says Chatwoot's headers.
        let chatwoot = CHANNELS.iter().find(|c| c.name == "chatwoot");
        assert_eq!(chatwoot.map(|c| c.scheme), Some(Scheme::Chatwoot));
    }

    #[test]
    fn counts_are_kept_per_intake_and_kind() {
        let c = IntakeCounts::default();
        let mut p = Parsed::default();
        p.no_event("receipt");
        p.no_event("receipt");
        p.unknown_apps.push(("42".into(), "m:echo:1".into()));
        p.taken.push(("outbound_system", "m:echo:1".into()));
        c.delivered("meta", &p, &[true]);
        // Meta's retry of the delivery: its event is a repeat, counted once.
        c.delivered("meta", &p, &[false]);
        c.refused("chatwoot");
        let s = c.snapshot();
        assert_eq!(s["meta"].deliveries, 2);
        assert_eq!(s["meta"].dropped["receipt"], 4);
        assert_eq!(s["meta"].events["outbound_system"], 1);
        assert_eq!(s["meta"].unknown_echo_apps["42"], 1);
        assert_eq!(s["chatwoot"].refused, 1);
        assert_eq!(s["whatsapp"], IntakeTally::default());
    }
}
