//! Chatwoot account webhooks to events (`shared/spec/channels.md`,
//! "Chatwoot"). The body is what Chatwoot's `Message#webhook_data` and
//! `Conversation#webhook_data` give, with `event` naming it:
//! - `message_created`: `incoming` (or `0`) is the customer's message
//!   (its `content_attributes.referral` the source, its `ctwa_clid` kept);
//!   `outgoing` (`1`) a reply, a WhatsApp template too, whose sender is the
//!   message's `sender.type` (`user` an agent, `agent_bot` /
//!   `captain_assistant` the AI; no sender but an `external_echo` from the
//!   channel: an agent typing in the channel's own app; else automation,
//!   campaigns and rules included, `system`); `template` (`3`) is
//!   `system`; `activity` (`2`) and private notes are no events.
//! - `conversation_status_changed` to `resolved`: `resolved`.
//! - everything else: acknowledged, nothing stored.
//!
//! The contact: the sender's (or for replies the conversation's contact)
//! phone, else `contact_inbox.source_id` with the inbox's channel. A
//! WhatsApp message's `source_id` (its wamid) gives the id `wa:` + it, so
//! a message that also came through `/webhooks/whatsapp` is one event.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Parsed, id_text, text, unix_time, validate_contact};
use crate::ssr::domain::event::Sender;
use crate::ssr::domain::settings::Settings;

/// Chatwoot's inbox channel classes and our channel names.
const CHANNELS: &[(&str, &str)] = &[
    ("Channel::Whatsapp", "whatsapp"),
    ("Channel::FacebookPage", "messenger"),
    ("Channel::Instagram", "instagram"),
    ("Channel::WebWidget", "web"),
    ("Channel::Telegram", "telegram"),
    ("Channel::Line", "line"),
    ("Channel::Email", "email"),
];

pub fn parse(body: &Value, settings: &Settings) -> Parsed {
    let mut out = Parsed::default();
    match body.get("event").and_then(Value::as_str) {
        Some("message_created") => message(body, settings, &mut out),
        Some("conversation_status_changed") => status_changed(body, settings, &mut out),
        Some(_) | None => out.no_event("other_event"),
    }
    out
}

/// Our channel name for a conversation's inbox.
fn channel(body: &Value, conversation: Option<&Value>) -> &'static str {
    let class = conversation
        .and_then(|c| text(c, "channel"))
        .or_else(|| body.get("inbox").and_then(|i| text(i, "channel_type")))
        .or_else(|| {
            conversation
                .and_then(|c| c.get("inbox"))
                .and_then(|i| text(i, "channel_type"))
        });
    class
        .and_then(|c| CHANNELS.iter().find(|(k, _)| *k == c))
        .map(|(_, v)| *v)
        .unwrap_or("other")
}

/// A time as Chatwoot writes it: Unix seconds (a number, or digits) or an
/// RFC 3339 text.
fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    match v? {
        Value::Number(n) => {
            let secs = n.as_f64()?;
            DateTime::from_timestamp(secs.trunc() as i64, 0)
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            // Rails' own way of writing a time (`2020-03-03 13:05:57 UTC`,
            // Chatwoot's published webhook sample), or with an offset.
            .or_else(|| DateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f %z").ok())
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| {
                let utc = s.trim().strip_suffix("UTC")?.trim_end();
                chrono::NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S%.f")
                    .ok()
                    .map(|t| t.and_utc())
            })
            .or_else(|| unix_time(v, false)),
        _ => None,
    }
}

/// `message_type` as a name: Chatwoot sends the enum's name, some
/// versions and relays its number.
fn message_type(body: &Value) -> &str {
    let number = match body.get("message_type") {
        Some(Value::String(s)) => match s.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return s.as_str(),
        },
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    match number {
        Some(0) => "incoming",
        Some(1) => "outgoing",
        Some(2) => "activity",
        Some(3) => "template",
        _ => "",
    }
}

/// The customer of a conversation: the contact object Chatwoot attaches
/// (the sender of an incoming message, else `conversation.meta.sender`).
fn contact(
    body: &Value,
    channel: &str,
    conversation: Option<&Value>,
    customer: Option<&Value>,
    with_phone: bool,
) -> Option<Map<String, Value>> {
    let mut c = Map::new();
    let source = source_of(body, conversation, customer);
    let number = whatsapp_number(channel, source.as_deref());
    let phone = customer
        .and_then(|s| text(s, "phone_number"))
        .filter(|_| with_phone);
    match (phone, number, source) {
        (Some(p), number, source) => {
            c.insert("phone".into(), json!(p));
            // The channel's own id goes with the phone, so that the person
            // is one contact before and after an agent saves their number
            // (a web visitor, an Instagram user Meta's webhook names by
            // that id). A WhatsApp number is a phone of its own: not tied.
            if let (None, Some(s)) = (number, source) {
                c.insert("external_id".into(), json!(s));
            }
        }
        (None, Some(n), _) => {
            c.insert("phone".into(), json!(n));
        }
        (None, None, Some(s)) => {
            c.insert("external_id".into(), json!(s));
        }
        (None, None, None) => return None,
    }
    if let Some(n) = customer.and_then(|s| text(s, "name")) {
        c.insert("name".into(), json!(n));
    }
    if let Some(e) = customer.and_then(|s| text(s, "email")) {
        c.insert("email".into(), json!(e));
    }
    Some(c)
}

/// The customer's id in the inbox's channel: the conversation's
/// `contact_inbox.source_id`, else the contact's `identifier`, else the
/// contact's own id in Chatwoot.
fn source_of(
    body: &Value,
    conversation: Option<&Value>,
    customer: Option<&Value>,
) -> Option<String> {
    conversation
        .and_then(|c| c.get("contact_inbox"))
        .and_then(|ci| id_text(ci, "source_id"))
        .or_else(|| customer.and_then(|s| id_text(s, "identifier")))
        .or_else(|| {
            // The contact's own id in Chatwoot, as a last resort.
            let account = body.get("account").and_then(|a| id_text(a, "id"))?;
            let id = customer.and_then(|s| id_text(s, "id"))?;
            Some(format!("cw:{account}:contact:{id}"))
        })
}

/// A WhatsApp inbox's source id is the customer's WhatsApp number
/// (`wa_id`), as Meta's webhook names the person.
fn whatsapp_number(channel: &str, source: Option<&str>) -> Option<String> {
    let s = source?;
    let digits = s.strip_prefix('+').unwrap_or(s);
    (channel == "whatsapp"
        && (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then(|| format!("+{digits}"))
}

/// An agent may edit a WhatsApp contact's `phone_number` in Chatwoot: the
/// event then names that number, and the WhatsApp number Meta's webhook
/// names the person by (the conversation's source id) is tied to it, one
/// contact (`channels.md`: identifiers a payload ties together are aliases),
/// so the lead does not depend on which copy of a message came first.
fn tie_whatsapp_number(
    e: &mut crate::ssr::domain::event::Event,
    body: &Value,
    conversation: Option<&Value>,
    customer: Option<&Value>,
) {
    let source = source_of(body, conversation, customer);
    if let Some(n) = whatsapp_number(&e.channel, source.as_deref()) {
        if n != e.contact_key && !e.aliases.contains(&n) {
            e.aliases.push(n);
            // A set: sorted, so two copies of one delivery are equal.
            e.aliases.sort_unstable();
        }
    }
}

/// The conversation's contact, wherever this payload puts it.
fn conversation_contact(conversation: Option<&Value>) -> Option<&Value> {
    let c = conversation?;
    c.get("meta")
        .and_then(|m| m.get("sender"))
        .or_else(|| c.get("contact"))
}

/// Who sent an outgoing message, and whether Chatwoot says so (a campaign,
/// an automation rule, a user, a bot, an echo of the channel's own app, a
/// template) or it is a guess (`system` for a sender it does not name).
fn reply_sender(body: &Value) -> (Sender, bool) {
    // A campaign's message carries its campaign (and is sent as the
    // campaign's user), an automation rule's its rule: both `system`.
    let marked = |attrs: &str, key: &str| {
        body.get(attrs)
            .and_then(|a| a.get(key))
            .is_some_and(|v| !v.is_null())
    };
    if marked("additional_attributes", "campaign_id")
        || marked("content_attributes", "automation_rule_id")
    {
        return (Sender::System, true);
    }
    // A WhatsApp template sent from Chatwoot (its parameters kept) is its
    // sender's like any reply: after WhatsApp's 24 hours an agent can only
    // answer with one (channels.md: sender `user` → `agent`). Without a
    // sender it is the business's automation, `system`, as Meta's status
    // of it says.
    let template = marked("additional_attributes", "template_params");
    let kind = body
        .get("sender")
        .and_then(|s| text(s, "type"))
        .or_else(|| text(body, "sender_type"))
        .map(|t| t.to_ascii_lowercase().replace("::", "_"));
    match kind.as_deref() {
        Some("user") => (Sender::Agent, true),
        Some("agent_bot" | "agentbot" | "captain_assistant" | "captain") => (Sender::Ai, true),
        Some(_) => (Sender::System, template),
        None => {
            let echo = body
                .get("content_attributes")
                .and_then(|a| a.get("external_echo"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if echo {
                (Sender::Agent, true)
            } else {
                (Sender::System, template)
            }
        }
    }
}

/// The event id: a WhatsApp message's `source_id` (its wamid) as `wa:` + it
/// (the same message through Meta's webhook is one event), else account
/// and message id. A WhatsApp inbox's source id is the wamid whatever its
/// spelling (the on-premises API's ids have no `wamid.` prefix); another
/// inbox's counts only when it is one.
fn event_id(body: &Value, channel: &str) -> Option<String> {
    if let Some(src) = text(body, "source_id")
        .filter(|s| !s.trim().is_empty())
        .filter(|s| channel == "whatsapp" || s.starts_with("wamid."))
    {
        return Some(super::whatsapp::event_id(src));
    }
    let account = body
        .get("account")
        .and_then(|a| id_text(a, "id"))
        .unwrap_or_else(|| "0".into());
    Some(format!("cw:{account}:{}", id_text(body, "id")?))
}

fn message(body: &Value, settings: &Settings, out: &mut Parsed) {
    if body.get("private").and_then(Value::as_bool) == Some(true) {
        out.no_event("private_note");
        return;
    }
    let kind = message_type(body);
    let conversation = body.get("conversation");
    let channel = channel(body, conversation);
    let (direction, (sender, known)) = match kind {
        // A customer's message: both copies say so; only replies differ.
        "incoming" => ("inbound", (Sender::Customer, false)),
        "outgoing" => ("outbound", reply_sender(body)),
        "template" => ("outbound", (Sender::System, true)),
        "activity" => {
            out.no_event("activity");
            return;
        }
        _ => {
            out.skipped.push("message_type: unknown".into());
            return;
        }
    };
    let customer = if direction == "inbound" {
        body.get("sender")
            .filter(|s| s.is_object())
            .or_else(|| conversation_contact(conversation))
    } else {
        conversation_contact(conversation)
    };
    let Some(id) = event_id(body, channel) else {
        out.skipped.push("id: missing".into());
        return;
    };
    let Some(at) = time(body.get("created_at")) else {
        out.skipped.push("created_at: missing or not a time".into());
        return;
    };
    let by_id = contact(body, channel, conversation, customer, false);
    let Some(contact) = contact(body, channel, conversation, customer, true) else {
        out.skipped
            .push("contact: no phone and no source id".into());
        return;
    };
    let mut ev = super::event_json(&id, at, channel, direction, sender, contact);
    if direction == "inbound" {
        if let Some(r) = body
            .get("content_attributes")
            .and_then(|a| a.get("referral"))
            .filter(|r| r.is_object())
        {
            ev["source"] = referral(r);
            // Chatwoot keeps Meta's referral whole: its click id, as the
            // WhatsApp intake keeps it, names the lead to Meta's
            // Conversions API.
            if let Some(v) = text(r, "ctwa_clid") {
                ev["ctwa_clid"] = json!(v);
            }
        }
    }
    match validate_contact(ev, settings.region, by_id) {
        Ok(mut e) => {
            e.sender_known = known;
            tie_whatsapp_number(&mut e, body, conversation, customer);
            out.events.push(e)
        }
        Err(why) => out.skipped.push(why),
    }
}

/// A referral Chatwoot kept from the channel (Meta's fields: WhatsApp's
/// `source_id` / `headline`, or Messenger's `ad_id` / `ref` with the ad's
/// title in `ads_context_data`).
fn referral(r: &Value) -> Value {
    let mut s = json!({"platform": "meta", "type": text(r, "source_type")
        .map(|t| if t.eq_ignore_ascii_case("post") { "post" } else { "ad" })
        .unwrap_or("ad")});
    if let Some(v) = id_text(r, "source_id").or_else(|| id_text(r, "ad_id")) {
        s["id"] = json!(v);
    }
    // The ad's title over the `ref` parameter, as the Messenger intake.
    let title = r.get("ads_context_data").and_then(|a| text(a, "ad_title"));
    if let Some(v) = text(r, "headline").or(title).or_else(|| text(r, "ref")) {
        s["name"] = json!(v);
    }
    if let Some(v) = text(r, "source_url") {
        s["url"] = json!(v);
    }
    s
}

fn status_changed(body: &Value, settings: &Settings, out: &mut Parsed) {
    if text(body, "status") != Some("resolved") {
        out.no_event("status");
        return;
    }
    // The payload is the conversation itself.
    let channel = channel(body, Some(body));
    let customer = conversation_contact(Some(body));
    let at = time(body.get("updated_at"))
        .or_else(|| time(body.get("timestamp")))
        .or_else(|| time(body.get("last_activity_at")));
    let (Some(at), Some(conv)) = (at, id_text(body, "id")) else {
        out.skipped
            .push("a resolved conversation without id or time".into());
        return;
    };
    let account = body
        .get("account")
        .and_then(|a| id_text(a, "id"))
        .or_else(|| id_text(body, "account_id"))
        .unwrap_or_else(|| "0".into());
    let by_id = contact(body, channel, Some(body), customer, false);
    let Some(contact) = contact(body, channel, Some(body), customer, true) else {
        out.skipped
            .push("contact: no phone and no source id".into());
        return;
    };
    let ev = json!({
        "id": format!("cw:{account}:conversation:{conv}:resolved:{}", at.timestamp()),
        "kind": "resolved",
        "occurred_at": at.to_rfc3339(),
        "channel": channel,
        "contact": contact,
    });
    match validate_contact(ev, settings.region, by_id) {
        Ok(mut e) => {
            tie_whatsapp_number(&mut e, body, Some(body), customer);
            out.events.push(e)
        }
        Err(why) => out.skipped.push(why),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ssr::domain::event::{Direction, Kind};

    /// A `message_created` body as `Message#webhook_data` builds it: the
    /// message's fields, `sender` (the contact, a user or a bot, each with
    /// its `type`), `conversation` (with `channel`, `contact_inbox` and
    /// `meta.sender`, the contact), `inbox` and `account`.
    pub fn message_body(id: u64, message_type: &str, sender: Value, created_at: &str) -> Value {
        json!({
            "event": "message_created",
            "id": id,
            "content": "Halo kak",
            "content_type": "text",
            "content_attributes": {},
            "created_at": created_at,
            "message_type": message_type,
            "private": false,
            "source_id": null,
            "additional_attributes": {},
            "sender": sender,
            "account": {"id": 7, "name": "Toko Sari"},
            "inbox": {"id": 3, "name": "WhatsApp Toko"},
            "conversation": {
                "id": 42, "inbox_id": 3, "status": "open",
                "channel": "Channel::Whatsapp",
                "contact_inbox": {"id": 5, "contact_id": 11, "inbox_id": 3, "source_id": "6281234567890"},
                "meta": {"sender": contact()},
                "created_at": 1_764_300_000, "timestamp": 1_764_300_000
            }
        })
    }

    pub fn contact() -> Value {
        json!({"id": 11, "name": "Budi", "phone_number": "+6281234567890",
               "email": "budi@example.com", "identifier": null, "type": "contact"})
    }

    fn p(body: &Value) -> Parsed {
        parse(body, &Settings::for_tests())
    }

    #[test]
    fn an_incoming_message_is_the_customers_with_its_contact() {
        let parsed = p(&message_body(
            100,
            "incoming",
            contact(),
            "2025-06-01T10:00:00.000Z",
        ));
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let e = &parsed.events[0];
        assert_eq!(e.id, "cw:7:100");
        assert_eq!(e.direction, Some(Direction::Inbound));
        assert_eq!(e.contact_key, "+6281234567890");
        assert_eq!(e.name.as_deref(), Some("Budi"));
        assert_eq!(e.email.as_deref(), Some("budi@example.com"));
        assert_eq!(e.channel, "whatsapp");
        assert_eq!(e.occurred_at.timestamp(), 1_748_772_000);
        // The enum's number, and a Unix time, read the same.
        let mut b = message_body(100, "incoming", contact(), "");
        b["message_type"] = json!(0);
        b["created_at"] = json!(1_748_772_000);
        assert_eq!(p(&b).events[0].occurred_at.timestamp(), 1_748_772_000);
        // ...and the number as text.
        b["message_type"] = json!("0");
        assert_eq!(p(&b).events[0].direction, Some(Direction::Inbound));
        // Rails' way of writing times, as in Chatwoot's webhook sample.
        for text in [
            "2025-06-01 10:00:00 UTC",
            "2025-06-01 10:00:00.250 UTC",
            "2025-06-01 17:00:00 +0700",
        ] {
            b["created_at"] = json!(text);
            let parsed = p(&b);
            assert_eq!(parsed.events.len(), 1, "{text}: {:?}", parsed.skipped);
            assert_eq!(
                parsed.events[0].occurred_at.timestamp(),
                1_748_772_000,
                "{text}"
            );
        }
    }

    /// Chatwoot keeps details the API would refuse: the message is kept
    /// without them (a bad e-mail or an overlong name left out, an
    /// impossible phone giving way to the conversation's source id).
    #[test]
    fn an_odd_contact_detail_does_not_lose_the_message() {
        let at = "2025-06-01T10:00:00Z";
        let mut odd = contact();
        odd["email"] = json!("not an address");
        odd["name"] = json!("x".repeat(300));
        let parsed = p(&message_body(120, "incoming", odd, at));
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let e = &parsed.events[0];
        assert_eq!(e.contact_key, "+6281234567890");
        assert_eq!((e.name.as_deref(), e.email.as_deref()), (None, None));
        // The WhatsApp inbox's source id is the customer's number: the
        // contact Meta's webhook names too.
        let mut odd = contact();
        odd["phone_number"] = json!("+62123");
        let parsed = p(&message_body(121, "incoming", odd, at));
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let e = &parsed.events[0];
        assert_eq!(e.contact_key, "+6281234567890");
        assert_eq!(e.name.as_deref(), Some("Budi"));
    }

    #[test]
    fn replies_by_agent_bot_captain_automation_and_echo() {
        let agent = json!({"id": 1, "name": "Rina", "type": "user"});
        let bot = json!({"id": 2, "name": "Bot", "type": "agent_bot"});
        let captain = json!({"id": 3, "name": "Captain", "type": "captain_assistant"});
        let at = "2025-06-01T10:01:00Z";
        for (sender, want) in [
            (agent, Sender::Agent),
            (bot, Sender::Ai),
            (captain, Sender::Ai),
            (Value::Null, Sender::System),
        ] {
            let parsed = p(&message_body(101, "outgoing", sender.clone(), at));
            let e = &parsed.events[0];
            assert_eq!(e.sender, want, "{sender}");
            assert_eq!(e.direction, Some(Direction::Outbound));
            // The customer is the conversation's contact, not the sender.
            assert_eq!(e.contact_key, "+6281234567890");
        }
        // Typed in the channel's own app (echoed back): a person.
        let mut b = message_body(102, "outgoing", Value::Null, at);
        b["content_attributes"] = json!({"external_echo": true});
        assert_eq!(p(&b).events[0].sender, Sender::Agent);
        // A campaign's message (sent as the campaign's user) and an
        // automation rule's: the business's automation, no touch.
        let mut c = message_body(107, "outgoing", json!({"id": 1, "type": "user"}), at);
        c["additional_attributes"] = json!({"campaign_id": 9});
        assert_eq!(p(&c).events[0].sender, Sender::System);
        let mut r = message_body(108, "outgoing", Value::Null, at);
        r["content_attributes"] = json!({"automation_rule_id": 4});
        assert_eq!(p(&r).events[0].sender, Sender::System);
        // A template is the business's automation: no touch.
        let t = p(&message_body(103, "template", json!({"type": "user"}), at));
        assert_eq!(t.events[0].sender, Sender::System);
        assert!(!t.events[0].is_touch());
    }

    /// After WhatsApp's 24 hours an agent can only answer with a template:
    /// sent by a user it is the agent's reply; sent by no one, by a
    /// campaign or by an automation rule it is the business's automation.
    #[test]
    fn a_template_is_its_senders_reply_and_without_one_the_automations() {
        let at = "2025-06-02T10:00:00Z";
        let agent = json!({"id": 1, "name": "Rina", "type": "user"});
        let mut t = message_body(110, "outgoing", agent.clone(), at);
        t["additional_attributes"] = json!({"template_params": {
            "name": "follow_up", "category": "UTILITY", "language": "id",
            "processed_params": {"1": "Budi"}}});
        let parsed = p(&t);
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let e = &parsed.events[0];
        assert_eq!((e.sender, e.sender_known), (Sender::Agent, true));
        assert!(e.is_touch());
        // No sender: the business's automation, as Chatwoot says.
        t["sender"] = Value::Null;
        let e = &p(&t).events[0];
        assert_eq!((e.sender, e.sender_known), (Sender::System, true));
        assert!(!e.is_touch());
        // A campaign's template (sent as the campaign's user) and an
        // automation rule's.
        let mut c = t.clone();
        c["sender"] = agent.clone();
        c["additional_attributes"]["campaign_id"] = json!(9);
        assert_eq!(p(&c).events[0].sender, Sender::System);
        let mut r = t.clone();
        r["sender"] = agent;
        r["content_attributes"] = json!({"automation_rule_id": 4});
        assert_eq!(p(&r).events[0].sender, Sender::System);
    }

    /// Chatwoot keeps Meta's WhatsApp referral whole in the message's
    /// `content_attributes.referral`: the source, and the click id on the
    /// event; a Messenger referral names its ad by `ads_context_data`.
    #[test]
    fn a_referral_gives_the_source_and_keeps_the_click_id() {
        let mut b = message_body(111, "incoming", contact(), "2025-06-01T10:00:00Z");
        b["source_id"] = json!("wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABIYFDNBRkE=");
        b["content_attributes"] = json!({"referral": {
            "source_url": "https://fb.me/promo1111", "source_id": "120210000000000001",
            "source_type": "ad", "headline": "Promo 11.11", "body": "Diskon 50%",
            "media_type": "image", "image_url": "https://scontent.example/ad.jpg",
            "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ"}});
        let parsed = p(&b);
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let e = &parsed.events[0];
        assert_eq!(e.ctwa_clid.as_deref(), Some("ARAkLkA8rmlFeiCktEJQ"));
        let s = e.source.as_ref().expect("source");
        assert_eq!(
            (
                s.platform.as_str(),
                s.kind.as_str(),
                s.id.as_deref(),
                s.name.as_deref(),
                s.url.as_deref()
            ),
            (
                "meta",
                "ad",
                Some("120210000000000001"),
                Some("Promo 11.11"),
                Some("https://fb.me/promo1111")
            )
        );
        // A Messenger ad's referral: its id and title, no click id.
        let mut m = message_body(112, "incoming", contact(), "2025-06-01T10:00:00Z");
        m["conversation"]["channel"] = json!("Channel::FacebookPage");
        m["content_attributes"] = json!({"referral": {
            "ref": "promo", "ad_id": "6045246247433", "source": "ADS", "type": "OPEN_THREAD",
            "ads_context_data": {"ad_title": "Diskon Akhir Tahun",
                                 "photo_url": "https://scontent.example/ad.jpg"}}});
        let parsed = p(&m);
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let e = &parsed.events[0];
        let s = e.source.as_ref().expect("source");
        assert_eq!(
            (s.id.as_deref(), s.name.as_deref()),
            (Some("6045246247433"), Some("Diskon Akhir Tahun"))
        );
        assert_eq!(e.ctwa_clid, None);
        // Only a customer's message carries its referral.
        let mut r = b.clone();
        r["message_type"] = json!("outgoing");
        r["sender"] = json!({"id": 1, "type": "user"});
        let e = &p(&r).events[0];
        assert!(e.source.is_none());
        assert_eq!(e.ctwa_clid, None);
    }

    #[test]
    fn private_notes_activities_and_other_events_are_no_events() {
        let at = "2025-06-01T10:01:00Z";
        let mut note = message_body(104, "outgoing", json!({"type": "user"}), at);
        note["private"] = json!(true);
        assert_eq!(p(&note).dropped, vec!["private_note"]);
        assert!(p(&note).events.is_empty());
        let act = p(&message_body(105, "activity", Value::Null, at));
        assert_eq!(
            (act.events.len(), act.dropped.clone()),
            (0, vec!["activity"])
        );
        for event in [
            "conversation_created",
            "contact_updated",
            "webwidget_triggered",
            "message_updated",
        ] {
            let parsed = p(&json!({"event": event, "id": 1}));
            assert!(parsed.events.is_empty(), "{event}");
        }
        assert!(p(&json!([])).events.is_empty());
    }

    #[test]
    fn a_whatsapp_message_has_the_id_of_metas_webhook() {
        let mut b = message_body(106, "incoming", contact(), "2025-06-01T10:00:00Z");
        b["source_id"] = json!("wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABIYFDNBMEE=");
        let e = &p(&b).events[0];
        assert_eq!(e.id, "wa:wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABIYFDNBMEE=");
        // A WhatsApp inbox's id without the prefix is still the wamid; a
        // web widget's source id is no WhatsApp message's.
        b["source_id"] = json!("ABGGFlA5FpafAgo6EhC6");
        b["conversation"]["channel"] = json!("Channel::Whatsapp");
        assert_eq!(p(&b).events[0].id, "wa:ABGGFlA5FpafAgo6EhC6");
        b["conversation"]["channel"] = json!("Channel::WebWidget");
        assert_eq!(p(&b).events[0].id, "cw:7:106");
    }

    #[test]
    fn a_contact_without_phone_is_its_channel_id() {
        let mut b = message_body(
            107,
            "incoming",
            json!({"id": 12, "name": "sari.shop", "type": "contact"}),
            "2025-06-01T10:00:00Z",
        );
        b["conversation"]["channel"] = json!("Channel::Instagram");
        b["conversation"]["contact_inbox"]["source_id"] = json!("17841400000000077");
        let e = &p(&b).events[0];
        assert_eq!(e.channel, "instagram");
        assert_eq!(e.contact_key, "instagram:17841400000000077");
        b["conversation"]["channel"] = json!("Channel::Api");
        assert_eq!(p(&b).events[0].channel, "other");
    }

    #[test]
    fn a_phone_comes_with_the_channels_id_except_a_whatsapp_number() {
        // A web visitor whose number an agent saved: the phone names the
        // contact and the visitor id is tied to it, so the messages before
        // the number was saved are the same person's.
        let mut b = message_body(108, "incoming", contact(), "2025-06-01T10:00:00Z");
        b["conversation"]["channel"] = json!("Channel::WebWidget");
        b["conversation"]["contact_inbox"]["source_id"] = json!("5b1d7c0e-visitor");
        let e = &p(&b).events[0];
        assert_eq!(e.contact_key, "+6281234567890");
        assert_eq!(e.aliases, vec!["web:5b1d7c0e-visitor".to_string()]);
        // The same on Instagram: the id Meta's webhook names the user by.
        b["conversation"]["channel"] = json!("Channel::Instagram");
        b["conversation"]["contact_inbox"]["source_id"] = json!("17841400000000077");
        assert_eq!(
            p(&b).events[0].aliases,
            vec!["instagram:17841400000000077".to_string()]
        );
        // A channel id too long to keep is left out, not the message.
        b["conversation"]["contact_inbox"]["source_id"] = json!("x".repeat(300));
        let e = &p(&b).events[0];
        assert_eq!(
            (e.contact_key.as_str(), e.aliases.len()),
            ("+6281234567890", 0)
        );
        // A WhatsApp inbox's source id is the number itself: nothing to tie.
        let wa = message_body(109, "incoming", contact(), "2025-06-01T10:00:00Z");
        let e = &p(&wa).events[0];
        assert_eq!(e.contact_key, "+6281234567890");
        assert!(e.aliases.is_empty(), "{:?}", e.aliases);
        // Unless an agent edited the number: the WhatsApp number is tied.
        let mut edited = wa.clone();
        edited["sender"]["phone_number"] = json!("+6281111111111");
        let e = &p(&edited).events[0];
        assert_eq!(e.contact_key, "+6281111111111");
        assert_eq!(e.aliases, vec!["+6281234567890".to_string()]);
    }

    #[test]
    fn a_resolved_conversation_ends_the_session() {
        let body = json!({"event": "conversation_status_changed", "id": 42, "status": "resolved",
            "channel": "Channel::Whatsapp", "account_id": 7, "inbox_id": 3,
            "contact_inbox": {"source_id": "6281234567890"},
            "meta": {"sender": contact()},
            "created_at": 1_748_772_000, "timestamp": 1_748_775_600, "updated_at": 1_748_775_600.25,
            "changed_attributes": [{"status": {"previous_value": "open", "current_value": "resolved"}}]});
        let parsed = p(&body);
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let e = &parsed.events[0];
        assert_eq!(e.kind, Kind::Resolved);
        assert_eq!(e.contact_key, "+6281234567890");
        assert_eq!(e.occurred_at.timestamp(), 1_748_775_600);
        let mut open = body.clone();
        open["status"] = json!("open");
        assert!(p(&open).events.is_empty());
    }
}
