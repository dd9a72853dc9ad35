//! Channel webhooks turned into events (`shared/spec/events.md`). Pure: no
//! I/O; the HTTP side checks signatures and hands the events to `Leads`.

pub mod meta;
pub mod signature;
pub mod whatsapp;

use serde_json::Value;

use crate::ssr::event::Event;

/// What a body gave: the events, and what was skipped and why (for the log;
/// never customer data).
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub skipped: Vec<String>,
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

/// A Unix time as a string or a number: seconds (WhatsApp) or
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
