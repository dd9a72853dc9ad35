//! Events: the input format of `shared/spec/events.md`, validated and
//! normalised. Pure: no I/O, so the same code serves the API, the importer and
//! the tests.

use chrono::{DateTime, Datelike, Utc};
use phonenumber::country::Id as Region;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::money::{self, Minor};
use super::phone;
use crate::error::AppError;
use crate::model::Source;

pub const MAX_BATCH: usize = 1000;

pub use crate::model::CHANNELS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Message,
    Resolved,
    /// An existing customer, from an import of known customers (rule 4):
    /// never sent through the API, only made by `known_customer`.
    Known,
    /// A referral that arrives alone, before the customer writes (Messenger's
    /// `messaging_referrals`): it gives the lead its source but is no
    /// message, so it makes no lead by itself (rule 3). Only from webhooks.
    Referral,
    /// Identifiers of one person tied together (a number change, a phone
    /// and a WhatsApp user id): the event's contact and its `aliases` are
    /// one contact. No message. Only from webhooks.
    Link,
    /// A purchase, a qualification or submitted details
    /// (`shared/spec/outcomes.md`): never a lead, never a touch, no message.
    Conversion,
}

/// What a conversion says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversionType {
    Purchase,
    Qualified,
    LeadSubmitted,
}

impl ConversionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversionType::Purchase => "purchase",
            ConversionType::Qualified => "qualified",
            ConversionType::LeadSubmitted => "lead_submitted",
        }
    }

    /// The type [`Self::as_str`] names.
    pub fn named(name: &str) -> Option<ConversionType> {
        [
            ConversionType::Purchase,
            ConversionType::Qualified,
            ConversionType::LeadSubmitted,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }
}

/// The outcome a `conversion` event carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    #[serde(rename = "type")]
    pub kind: ConversionType,
    /// Hundredths of the currency (required for a purchase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Minor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Meta's own detection in a Click-to-WhatsApp chat (`automatic_events`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detected_by_meta: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    Customer,
    Agent,
    Ai,
    System,
}

impl Kind {
    /// The name on the wire (as serialised): `message`, `resolved`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Resolved => "resolved",
            Kind::Known => "known",
            Kind::Referral => "referral",
            Kind::Link => "link",
            Kind::Conversion => "conversion",
        }
    }
}

impl Direction {
    /// The name on the wire: `inbound` or `outbound`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

impl Sender {
    /// The name on the wire: `customer`, `agent`, `ai` or `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Agent => "agent",
            Sender::Ai => "ai",
            Sender::System => "system",
        }
    }
}

/// A valid, normalised event. `contact_key` is the contact's identity (rule 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub kind: Kind,
    pub occurred_at: DateTime<Utc>,
    pub channel: String,
    /// `None` for `resolved` events. (Absent values are left out of the
    /// stored form: fewer bytes a row.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    pub sender: Sender,
    /// The intake knew who sent it (Chatwoot's sender, the Business app's
    /// echo, a sending tool's tag), rather than inferring it from a status's
    /// category: of two copies of one message the known sender wins
    /// (`copies::join`). Not on the API (it says its sender).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sender_known: bool,
    pub contact_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Only inbound messages carry a source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Meta's click id of a Click-to-WhatsApp ad (`ctwa_clid`), kept with the
    /// event so conversions can be reported to Meta later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctwa_clid: Option<String>,
    /// Another person held `ctwa_clid` first (a reused id, or Meta's
    /// example placeholder): this event keeps it as its person's click for
    /// the Conversions API, but does not tie them to the click's owner. Set
    /// by the store, never by an intake or the API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub click_shared: bool,
    /// The Meta account the message came to: the WhatsApp Business Account
    /// (a webhook's `entry.id`), the Page or the Instagram account; what the
    /// Conversions API names besides the click (`shared/spec/meta-capi.md`).
    /// On the API: `meta_account_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_account: Option<String>,
    /// Other contact keys of the same person that this event ties to
    /// `contact_key` (`shared/spec/channels.md`, "One person, several
    /// identifiers"); on the API, the `external_id` of a contact named by
    /// its phone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Only on `conversion` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<Conversion>,
}

impl Event {
    /// Its place in rule 7's order: time first, the id breaking ties.
    pub fn order_key(&self) -> (DateTime<Utc>, &str) {
        (self.occurred_at, &self.id)
    }

    /// A tie from one number to another (`user_changed_number`): its phone
    /// is the person's new number (`channels.md`).
    pub fn is_number_change(&self) -> bool {
        self.kind == Kind::Link
            && self
                .phone
                .as_ref()
                .is_some_and(|p| self.aliases.iter().any(|a| a.starts_with('+') && a != p))
    }

    pub fn is_inbound(&self) -> bool {
        self.kind == Kind::Message && self.direction == Some(Direction::Inbound)
    }

    /// An answer by a person or the AI (rule 6); `system` messages do not count.
    pub fn is_touch(&self) -> bool {
        self.kind == Kind::Message
            && self.direction == Some(Direction::Outbound)
            && matches!(self.sender, Sender::Agent | Sender::Ai)
    }
}

/// The contact key of a contact without a phone: channel + the channel's own id.
pub fn external_key(channel: &str, external_id: &str) -> String {
    format!("{channel}:{external_id}")
}

/// Parses a request body: one event object or an array of at most
/// [`MAX_BATCH`]. The whole batch is validated before anything is written;
/// the first invalid event is named by index and field.
pub fn parse_batch(body: &[u8], region: Region, currency: &str) -> Result<Vec<Event>, AppError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| AppError::InvalidJson(e.to_string()))?;
    let items = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(AppError::InvalidJson(
                "expected an event object or an array of events".into(),
            ));
        }
    };
    if items.len() > MAX_BATCH {
        return Err(AppError::BatchTooLarge {
            max: MAX_BATCH,
            got: items.len(),
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            validate(item, region)
                .and_then(|ev| check_currency(ev, currency))
                .map_err(|(field, message)| AppError::InvalidEvent {
                    index,
                    field: field.to_owned(),
                    message,
                })
        })
        .collect()
}

type Invalid = (&'static str, String);

fn bad(field: &'static str, message: impl Into<String>) -> Invalid {
    (field, message.into())
}

/// The longest text each field may hold, in characters (README, "Input
/// limits"): generous for real data, small enough that one event cannot
/// bloat the store and the lead index.
pub fn max_chars(field: &str) -> usize {
    match field {
        "id" => 256,
        "contact.phone" => 64,
        "contact.external_id" => 128,
        "contact.name" => 256,
        "contact.email" => 254,
        "source.url" => 2048,
        "ctwa_clid" => 512,
        _ => 256,
    }
}

/// Optional text field: absent, `null` and blank all mean "not given".
fn opt_text(
    obj: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<String>, Invalid> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            let max = max_chars(field);
            if s.chars().count() > max {
                return Err(bad(field, format!("is longer than {max} characters")));
            }
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(bad(field, "must be a string")),
    }
}

/// A field of ours beyond `events.md` (`ctwa_clid`, `meta_account_id`):
/// text when it is text; any other value is one of the "unknown fields"
/// the spec says are ignored, so it is dropped rather than refusing the
/// batch (another system may use the same name for something else).
fn extension(obj: &Map<String, Value>, key: &'static str) -> Result<Option<String>, Invalid> {
    match obj.get(key) {
        Some(Value::String(_)) => opt_text(obj, key, key),
        _ => Ok(None),
    }
}

/// An optional identifier (phone, channel id, ad id): text, or a JSON number
/// as some systems send them (`6281234567890`), read as its digits.
fn opt_digits_or_text(
    obj: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<String>, Invalid> {
    match obj.get(key) {
        // A float (`6.28123456789e12`) would read as other digits.
        Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
        Some(Value::Number(_)) => Err(bad(field, "must be a whole number or a string")),
        _ => opt_text(obj, key, field),
    }
}

/// An optional top-level field with a fixed set of values.
fn one_of<T: Copy>(
    obj: &Map<String, Value>,
    field: &'static str,
    choices: &[(&str, T)],
) -> Result<Option<T>, Invalid> {
    let Some(text) = opt_text(obj, field, field)? else {
        return Ok(None);
    };
    choices
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, v)| Some(*v))
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            bad(field, format!("must be one of {}", names.join(", ")))
        })
}

/// Validates one event object. Unknown fields are ignored.
pub fn validate(item: &Value, region: Region) -> Result<Event, Invalid> {
    let obj = item
        .as_object()
        .ok_or_else(|| bad("", "an event must be a JSON object"))?;

    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 256 => s.clone(),
        Some(Value::String(_)) => return Err(bad("id", "must be 1 to 256 characters")),
        None | Some(Value::Null) => return Err(bad("id", "is required")),
        Some(_) => return Err(bad("id", "must be a string")),
    };

    let kind = one_of(
        obj,
        "kind",
        &[
            ("message", Kind::Message),
            ("resolved", Kind::Resolved),
            ("conversion", Kind::Conversion),
        ],
    )?
    .unwrap_or(Kind::Message);

    let occurred_at = match obj.get("occurred_at") {
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                bad(
                    "occurred_at",
                    "must be an RFC 3339 time with an offset, e.g. 2026-11-20T09:15:03+07:00",
                )
            })?,
        None | Some(Value::Null) => return Err(bad("occurred_at", "is required")),
        Some(_) => return Err(bad("occurred_at", "must be a string")),
    };
    if !(1970..=9998).contains(&occurred_at.year()) {
        return Err(bad(
            "occurred_at",
            "must lie between the years 1970 and 9998",
        ));
    }

    // A conversion (an order from a shop system) need not know the chat's
    // channel; its contact is found by phone like any other (by an
    // external id only with its channel: below).
    let channel_given = opt_text(obj, "channel", "channel")?;
    let channel = match channel_given.clone() {
        Some(c) => c,
        None if kind == Kind::Conversion => "other".to_owned(),
        None => return Err(bad("channel", "is required")),
    };
    if !CHANNELS.contains(&channel.as_str()) {
        return Err(bad(
            "channel",
            format!("must be one of {}", CHANNELS.join(", ")),
        ));
    }

    let direction = one_of(
        obj,
        "direction",
        &[
            ("inbound", Direction::Inbound),
            ("outbound", Direction::Outbound),
        ],
    )?;
    let sender = one_of(
        obj,
        "sender",
        &[
            ("customer", Sender::Customer),
            ("agent", Sender::Agent),
            ("ai", Sender::Ai),
            ("system", Sender::System),
        ],
    )?;
    let (direction, sender) = match (kind, direction) {
        // Who did it, when not said: an agent resolves a conversation, a
        // customer opens a chat from a referral; the rest are records a
        // system sends (no person's message, none counts as an answer).
        (Kind::Resolved, _) => (None, sender.unwrap_or(Sender::Agent)),
        (Kind::Referral, _) => (None, sender.unwrap_or(Sender::Customer)),
        (Kind::Known | Kind::Link | Kind::Conversion, _) => {
            (None, sender.unwrap_or(Sender::System))
        }
        (Kind::Message, None) => {
            return Err(bad(
                "direction",
                "is required for a message (inbound or outbound)",
            ));
        }
        (Kind::Message, Some(Direction::Inbound)) => match sender {
            None | Some(Sender::Customer) => (Some(Direction::Inbound), Sender::Customer),
            Some(_) => {
                return Err(bad(
                    "sender",
                    "an inbound message is always from the customer",
                ));
            }
        },
        (Kind::Message, Some(Direction::Outbound)) => match sender {
            Some(Sender::Customer) => {
                return Err(bad(
                    "sender",
                    "an outbound message is sent by agent, ai or system",
                ));
            }
            Some(s) => (Some(Direction::Outbound), s),
            None => return Err(bad("sender", "is required for an outbound message")),
        },
    };

    let contact = match obj.get("contact") {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => return Err(bad("contact", "is required")),
        Some(_) => return Err(bad("contact", "must be an object")),
    };
    let phone = opt_digits_or_text(contact, "phone", "contact.phone")?
        .map(|p| phone::normalize(&p, region).map_err(|why| bad("contact.phone", why)))
        .transpose()?;
    let external_id = opt_digits_or_text(contact, "external_id", "contact.external_id")?;
    let contact_key = match (&phone, &external_id) {
        (Some(p), _) => p.clone(),
        // An external id is the channel's own: without the channel it
        // names no contact (it would be credited to nobody, silently).
        (None, Some(_)) if channel_given.is_none() => {
            return Err(bad(
                "channel",
                "is required when the contact has no phone (an external_id is the channel's own id)",
            ));
        }
        (None, Some(x)) => external_key(&channel, x),
        (None, None) => {
            return Err(bad("contact", "needs a phone or an external_id"));
        }
    };
    // A phone and the channel's own id of one person: the phone names the
    // contact (rule 1) and the id is tied to it, so that the same person
    // writing later without the phone (an Instagram user id alone) is the
    // same contact, not a second lead.
    let aliases = match (&phone, &external_id) {
        (Some(_), Some(x)) if channel_given.is_some() => vec![external_key(&channel, x)],
        _ => Vec::new(),
    };
    let name = opt_text(contact, "name", "contact.name")?;
    let email = opt_text(contact, "email", "contact.email")?;
    if let Some(e) = &email {
        if !looks_like_email(e) {
            return Err(bad("contact.email", "must look like an e-mail address"));
        }
    }

    let source = match obj.get("source") {
        None | Some(Value::Null) => None,
        Some(Value::Object(s)) => Some(validate_source(s)?),
        Some(_) => return Err(bad("source", "must be an object")),
    };
    // Only an inbound message can have been brought by a referral.
    let source = if direction == Some(Direction::Inbound) {
        source
    } else {
        None
    };

    Ok(Event {
        id,
        kind,
        occurred_at,
        channel,
        direction,
        sender,
        sender_known: false,
        click_shared: false,
        contact_key,
        phone,
        external_id,
        name,
        email,
        source,
        ctwa_clid: extension(obj, "ctwa_clid")?,
        meta_account: extension(obj, "meta_account_id")?,
        aliases,
        conversion: match kind {
            Kind::Conversion => Some(validate_conversion(obj)?),
            _ => None,
        },
    })
}

/// The `conversion` object of a conversion event (`shared/spec/outcomes.md`).
fn validate_conversion(obj: &Map<String, Value>) -> Result<Conversion, Invalid> {
    let c = match obj.get("conversion") {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => return Err(bad("conversion", "is required for a conversion")),
        Some(_) => return Err(bad("conversion", "must be an object")),
    };
    let kind = match c.get("type") {
        None | Some(Value::Null) => return Err(bad("conversion.type", "is required")),
        Some(Value::String(t)) => match t.trim() {
            "purchase" => ConversionType::Purchase,
            "qualified" => ConversionType::Qualified,
            "lead_submitted" => ConversionType::LeadSubmitted,
            _ => {
                return Err(bad(
                    "conversion.type",
                    "must be one of purchase, qualified, lead_submitted",
                ));
            }
        },
        Some(_) => return Err(bad("conversion.type", "must be a string")),
    };
    let value = match c.get("value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(money::from_json(v).map_err(|why| bad("conversion.value", why))?),
    };
    let currency = match c.get("currency") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            // `idr` is IDR: the code's letters in either case.
            let s = s.trim().to_ascii_uppercase();
            if !money::is_currency_code(&s) {
                return Err(bad(
                    "conversion.currency",
                    "must be an ISO 4217 code, e.g. IDR",
                ));
            }
            Some(s)
        }
        Some(_) => return Err(bad("conversion.currency", "must be a string")),
    };
    if kind == ConversionType::Purchase {
        if value.is_none() {
            return Err(bad("conversion.value", "is required for a purchase"));
        }
        if currency.is_none() {
            return Err(bad("conversion.currency", "is required for a purchase"));
        }
    }
    Ok(Conversion {
        kind,
        value,
        currency,
        detected_by_meta: false,
    })
}

/// A conversion's money must be in the deployment's currency
/// (`LEADS_CURRENCY`): sums across currencies would mean nothing.
pub fn check_currency(ev: Event, currency: &str) -> Result<Event, Invalid> {
    if let Some(c) = ev.conversion.as_ref().and_then(|c| c.currency.as_deref()) {
        if c != currency {
            return Err(bad(
                "conversion.currency",
                format!("must be the deployment's currency {currency} (LEADS_CURRENCY), not {c}"),
            ));
        }
    }
    Ok(ev)
}

/// An existing customer as an event (rule 4: never a new lead): id
/// `known:<contact key>` so importing the same customer again changes
/// nothing; its name and e-mail count as of `known_since`.
pub fn known_customer(
    phone: &str,
    name: Option<&str>,
    email: Option<&str>,
    known_since: DateTime<Utc>,
    region: Region,
) -> Result<Event, Invalid> {
    let mut contact = Map::new();
    contact.insert("phone".into(), Value::String(phone.to_owned()));
    if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
        contact.insert("name".into(), Value::String(n.to_owned()));
    }
    if let Some(e) = email.filter(|e| !e.trim().is_empty()) {
        contact.insert("email".into(), Value::String(e.to_owned()));
    }
    let item = serde_json::json!({
        "id": "known",
        "kind": "resolved",
        "occurred_at": known_since.to_rfc3339(),
        "channel": "other",
        "contact": contact,
    });
    let mut ev = validate(&item, region)?;
    ev.id = format!("known:{}", ev.contact_key);
    ev.kind = Kind::Known;
    ev.sender = Sender::System;
    Ok(ev)
}

fn validate_source(s: &Map<String, Value>) -> Result<Source, Invalid> {
    let platform = opt_text(s, "platform", "source.platform")?
        .ok_or_else(|| bad("source.platform", "is required in a source"))?
        .to_lowercase();
    if !platform
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad(
            "source.platform",
            "must be one lowercase word, e.g. meta",
        ));
    }
    let kind = opt_text(s, "type", "source.type")?
        .map(|t| t.to_lowercase())
        .unwrap_or_else(|| "ad".to_owned());
    let id = opt_digits_or_text(s, "id", "source.id")?;
    Ok(Source {
        platform,
        kind,
        id,
        name: opt_text(s, "name", "source.name")?,
        url: opt_text(s, "url", "source.url")?,
    })
}

fn looks_like_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !e.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn region() -> Region {
        phone::parse_region("ID").expect("region")
    }

    fn inbound() -> Value {
        json!({
            "id": "wamid.1", "occurred_at": "2026-11-20T09:15:03+07:00",
            "channel": "whatsapp", "direction": "inbound",
            "contact": {"phone": "0812-3456-7890", "name": "Budi"},
            "source": {"platform": "meta", "id": "1202", "name": "Promo"},
            "unknown_field": {"is": "ignored"}
        })
    }

    fn error_of(v: Value) -> (String, String) {
        match parse_batch(v.to_string().as_bytes(), region(), "IDR") {
            Err(AppError::InvalidEvent { field, message, .. }) => (field, message),
            other => panic!("expected an invalid event, got {other:?}"),
        }
    }

    #[test]
    fn spec_example_is_valid_and_normalised() {
        let ev = validate(&inbound(), region()).expect("valid");
        assert_eq!(ev.contact_key, "+6281234567890");
        assert_eq!(ev.occurred_at.to_rfc3339(), "2026-11-20T02:15:03+00:00");
        assert_eq!(ev.source.as_ref().map(|s| s.kind.as_str()), Some("ad"));
        assert!(ev.is_inbound());
    }

    #[test]
    fn one_object_or_an_array() {
        let one = parse_batch(inbound().to_string().as_bytes(), region(), "IDR").expect("one");
        assert_eq!(one.len(), 1);
        let two = parse_batch(
            json!([inbound(), inbound()]).to_string().as_bytes(),
            region(),
            "IDR",
        )
        .expect("two");
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn fields_are_bounded_and_float_phones_refused() {
        let mut ev = inbound();
        ev["contact"]["name"] = json!("x".repeat(257));
        assert_eq!(error_of(ev).0, "contact.name");
        let mut ev = inbound();
        ev["contact"]["name"] = json!("é".repeat(256));
        assert!(parse_batch(ev.to_string().as_bytes(), region(), "IDR").is_ok());
        let mut ev = inbound();
        ev["source"]["url"] = json!(format!("https://x/{}", "a".repeat(2048)));
        assert_eq!(error_of(ev).0, "source.url");
        let mut ev = inbound();
        ev["contact"]["phone"] = json!(6.28123456789e12);
        let (field, message) = error_of(ev);
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("contact.phone", "must be a whole number or a string")
        );
        let mut ev = inbound();
        ev["contact"]["phone"] = json!(6281234567890_u64);
        assert!(parse_batch(ev.to_string().as_bytes(), region(), "IDR").is_ok());
    }

    #[test]
    fn errors_name_index_and_field() {
        let mut bad_phone = inbound();
        bad_phone["contact"]["phone"] = json!("not a phone");
        let batch = json!([inbound(), inbound(), bad_phone]);
        match parse_batch(batch.to_string().as_bytes(), region(), "IDR") {
            Err(AppError::InvalidEvent { index, field, .. }) => {
                assert_eq!((index, field.as_str()), (2, "contact.phone"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_required_field_is_checked() {
        for (key, field) in [
            ("id", "id"),
            ("occurred_at", "occurred_at"),
            ("channel", "channel"),
            ("direction", "direction"),
            ("contact", "contact"),
        ] {
            let mut ev = inbound();
            ev.as_object_mut().expect("object").remove(key);
            assert_eq!(error_of(ev).0, field, "missing {key}");
        }
        let mut ev = inbound();
        ev["occurred_at"] = json!("2026-11-20 09:15:03");
        assert_eq!(error_of(ev).0, "occurred_at");
        let mut ev = inbound();
        ev["channel"] = json!("fax");
        assert_eq!(error_of(ev).0, "channel");
        let mut ev = inbound();
        ev["contact"] = json!({"name": "nobody"});
        assert_eq!(error_of(ev).0, "contact");
        let mut ev = inbound();
        ev["contact"]["email"] = json!("budi at mail");
        assert_eq!(error_of(ev).0, "contact.email");
        let mut ev = inbound();
        ev["contact"]["email"] = json!("budi@mail@example.com");
        assert_eq!(error_of(ev).0, "contact.email");
        let mut ev = inbound();
        ev["source"] = json!({"name": "no platform"});
        assert_eq!(error_of(ev).0, "source.platform");
        let mut ev = inbound();
        ev["id"] = json!("x".repeat(257));
        assert_eq!(error_of(ev).0, "id");
        let mut ev = inbound();
        ev["direction"] = json!("outbound");
        assert_eq!(error_of(ev).0, "sender");
        let mut ev = inbound();
        ev["sender"] = json!("agent");
        assert_eq!(error_of(ev).0, "sender");
    }

    #[test]
    fn our_own_fields_of_another_type_are_ignored_as_unknown() {
        let mut ev = inbound();
        ev["ctwa_clid"] = json!(12345);
        ev["meta_account_id"] = json!({"id": "1"});
        let batch = parse_batch(
            Value::Array(vec![ev]).to_string().as_bytes(),
            region(),
            "IDR",
        )
        .expect("valid");
        assert_eq!(batch[0].ctwa_clid, None);
        assert_eq!(batch[0].meta_account, None);
        let mut ev = inbound();
        ev["ctwa_clid"] = json!("ARAkLkA8rmlFeiCktEJQ");
        let batch = parse_batch(
            Value::Array(vec![ev]).to_string().as_bytes(),
            region(),
            "IDR",
        )
        .expect("valid");
        assert_eq!(batch[0].ctwa_clid.as_deref(), Some("ARAkLkA8rmlFeiCktEJQ"));
    }

    #[test]
    fn more_than_a_thousand_is_refused() {
        let batch = Value::Array(vec![inbound(); MAX_BATCH + 1]);
        assert!(matches!(
            parse_batch(batch.to_string().as_bytes(), region(), "IDR"),
            Err(AppError::BatchTooLarge { .. })
        ));
    }

    #[test]
    fn contact_without_phone_is_keyed_by_channel_and_external_id() {
        let ev = json!({"id": "ig.1", "occurred_at": "2026-11-20T10:00:00Z", "channel": "instagram",
                        "direction": "inbound", "contact": {"external_id": "17841400000000077"}});
        let ev = validate(&ev, region()).expect("valid");
        assert_eq!(ev.contact_key, "instagram:17841400000000077");
    }

    #[test]
    fn resolved_needs_no_direction() {
        let ev = json!({"id": "r.1", "kind": "resolved", "occurred_at": "2026-11-20T10:00:00Z",
                        "channel": "whatsapp", "contact": {"phone": "+6281234567890"}});
        let ev = validate(&ev, region()).expect("valid");
        assert_eq!(ev.kind, Kind::Resolved);
        assert!(!ev.is_inbound() && !ev.is_touch());
    }

    fn purchase() -> Value {
        json!({"id": "order-1001", "kind": "conversion", "occurred_at": "2026-11-21T10:00:00+07:00",
               "contact": {"phone": "0812-3456-7890"},
               "conversion": {"type": "purchase", "value": "149999.50", "currency": "IDR"}})
    }

    #[test]
    fn a_conversion_needs_type_and_a_purchase_value_and_currency() {
        let ev = validate(&purchase(), region()).expect("valid");
        assert_eq!(ev.kind, Kind::Conversion);
        assert_eq!(ev.contact_key, "+6281234567890");
        assert_eq!(ev.channel, "other");
        let c = ev.conversion.clone().expect("conversion");
        assert_eq!(
            (c.kind, c.value),
            (ConversionType::Purchase, Some(14_999_950))
        );
        assert!(!ev.is_inbound() && !ev.is_touch());
        let field = |v: Value| match parse_batch(
            json!([inbound(), v]).to_string().as_bytes(),
            region(),
            "IDR",
        ) {
            Err(AppError::InvalidEvent { index, field, .. }) => {
                assert_eq!(index, 1);
                field
            }
            other => panic!("expected a rejection, got {other:?}"),
        };
        let mut v = purchase();
        v["conversion"]["currency"] = json!("USD");
        assert_eq!(field(v), "conversion.currency");
        // The code in small letters is the same currency.
        let mut v = purchase();
        v["conversion"]["currency"] = json!("idr");
        let ok = parse_batch(json!([v]).to_string().as_bytes(), region(), "IDR");
        let currency = ok
            .ok()
            .and_then(|b| b.into_iter().next()?.conversion?.currency);
        assert_eq!(currency.as_deref(), Some("IDR"));
        let mut v = purchase();
        v["conversion"]["value"] = json!(-5);
        assert_eq!(field(v), "conversion.value");
        let mut v = purchase();
        v["conversion"].as_object_mut().map(|c| c.remove("value"));
        assert_eq!(field(v), "conversion.value");
        let mut v = purchase();
        v["conversion"]["type"] = json!("refund");
        assert_eq!(field(v), "conversion.type");
        let mut v = purchase();
        v.as_object_mut().map(|c| c.remove("conversion"));
        assert_eq!(field(v), "conversion");
        // A qualification needs no money.
        let q = json!({"id": "q1", "kind": "conversion", "occurred_at": "2026-11-21T10:00:00Z",
                       "contact": {"phone": "+6281234567890"}, "conversion": {"type": "qualified"}});
        assert!(parse_batch(q.to_string().as_bytes(), region(), "IDR").is_ok());
        // By a channel's own id: only with the channel.
        let mut v = purchase();
        v["contact"] = json!({"external_id": "17841400000000077"});
        assert_eq!(field(v.clone()), "channel");
        v["channel"] = json!("instagram");
        let e = parse_batch(v.to_string().as_bytes(), region(), "IDR").expect("with its channel");
        assert_eq!(e[0].contact_key, "instagram:17841400000000077");
        assert_eq!(
            parse_batch(purchase().to_string().as_bytes(), region(), "USD")
                .err()
                .map(|e| e.to_string().contains("USD")),
            Some(true)
        );
    }

    #[test]
    fn wire_names_are_the_serialised_ones() {
        use Kind::*;
        for k in [Message, Resolved, Known, Referral, Link, Conversion] {
            assert_eq!(serde_json::to_value(k).expect("kind"), k.as_str());
        }
        for d in [Direction::Inbound, Direction::Outbound] {
            assert_eq!(serde_json::to_value(d).expect("direction"), d.as_str());
        }
        for x in [Sender::Customer, Sender::Agent, Sender::Ai, Sender::System] {
            assert_eq!(serde_json::to_value(x).expect("sender"), x.as_str());
        }
    }
}

/// A valid batch from JSON (Indonesian numbers), for other modules' tests.
#[cfg(test)]
pub fn test_batch(json: serde_json::Value) -> Vec<Event> {
    let region = super::phone::parse_region("ID").expect("region");
    parse_batch(json.to_string().as_bytes(), region, "IDR").expect("valid")
}
