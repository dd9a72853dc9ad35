//! WhatsApp Cloud API webhook bodies to events (`shared/spec/channels.md`,
//! "WhatsApp Cloud API"). Per change field:
//! - `messages`: a customer's message is inbound (its `referral` the
//!   source); reactions, groups and `system` notices are no messages (a
//!   number or user-id change ties the identifiers instead);
//!   `request_welcome` is a source-only referral. `statuses[]` with
//!   `status: sent` are the business's own messages — the Cloud API sends
//!   nothing else for them — with a sender from `biz_opaque_callback_data`,
//!   else the pricing category; other statuses are receipts.
//! - `smb_message_echoes`: typed by a person in the Business app: `agent`.
//! - `history`: earlier chats of a coexistence number, as the events they were.
//! - `smb_app_state_sync`: the app's contacts are known customers.
//! - `user_id_update`: the previous and current user id are one person.
//!
//! Contacts: `+` + the phone digits; a user who hides the phone is
//! `whatsapp:` + the business-scoped user id (`US.…`). A payload that names
//! both ties them (`Event::aliases`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Parsed, id_text, tagged_sender, text, unix_time};
use crate::ssr::domain::event::{Kind, Sender, external_key, known_customer, validate};
use crate::ssr::domain::phone;
use crate::ssr::domain::settings::Settings;

/// Ids of Meta's channels are unique per channel only: ours carry a prefix.
pub fn event_id(message_id: &str) -> String {
    format!("wa:{message_id}")
}

/// Message types that are no chat (the spec's table).
const NOT_A_MESSAGE: &[(&str, &str)] = &[("reaction", "reaction")];

/// Templates' pricing categories: sent by the business's automation.
const TEMPLATE_CATEGORIES: &[&str] = &[
    "marketing",
    "marketing_lite",
    "utility",
    "authentication",
    "authentication_international",
];

/// Categories of messages sent inside a customer-opened window: replies.
const REPLY_CATEGORIES: &[&str] = &["service", "referral_conversion"];

pub fn parse(body: &Value, settings: &Settings) -> Parsed {
    let mut out = Parsed::default();
    let entries = body.get("entry").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let changes = entry.get("changes").and_then(Value::as_array);
        for change in changes.into_iter().flatten() {
            let Some(value) = change.get("value") else {
                continue;
            };
            let field = change.get("field").and_then(Value::as_str).unwrap_or("");
            let mut cx = Cx {
                settings,
                names: contact_names(value),
                business: value
                    .get("metadata")
                    .and_then(|m| id_text(m, "display_phone_number"))
                    .map(|d| digits(&d)),
                account: id_text(entry, "id"),
                out: &mut out,
            };
            match field {
                "smb_message_echoes" => {
                    let list = value
                        .get("message_echoes")
                        .or_else(|| value.get("messages"));
                    for m in list.and_then(Value::as_array).into_iter().flatten() {
                        cx.echo(m, true);
                    }
                }
                "history" => cx.history(value),
                "automatic_events" => {
                    let list = value.get("automatic_events").and_then(Value::as_array);
                    for a in list.into_iter().flatten() {
                        cx.automatic_event(a);
                    }
                }
                "smb_app_state_sync" => cx.state_sync(value),
                _ => {
                    // `messages` and anything shaped like it. A `contacts[]`
                    // entry with a phone and a user id ties them on every
                    // event of the value (`Cx::contact`).
                    let msgs = value.get("messages").and_then(Value::as_array);
                    for m in msgs.into_iter().flatten() {
                        cx.message(m);
                    }
                    let statuses = value.get("statuses").and_then(Value::as_array);
                    for s in statuses.into_iter().flatten() {
                        cx.status(s);
                    }
                    let updates = value.get("user_id_update").and_then(Value::as_array);
                    for u in updates.into_iter().flatten() {
                        cx.user_id_update(u);
                    }
                    // A field with nothing of a chat (account and template
                    // notices, quality updates): counted, so that an admin
                    // sees the delivery arrived.
                    if msgs.is_none() && statuses.is_none() && updates.is_none() {
                        cx.out.no_event("other_field");
                    }
                }
            }
        }
    }
    out
}

/// The contact key a click id gives (`~` sorts last, so a phone or user
/// id stays the contact's key).
fn click_key(clid: &str) -> String {
    format!("{}{clid}", crate::ssr::domain::identity::CLICK)
}

/// Only the digits of a phone as WhatsApp writes it.
fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether an id is a phone as WhatsApp writes it: digits, perhaps after a
/// `+` (a user id, `US.…`, is not).
fn is_phone(s: &str) -> bool {
    let d = s.strip_prefix('+').unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// One person as a payload names them: phone digits and/or a user id.
#[derive(Default)]
struct Who {
    phone: Option<String>,
    user: Option<String>,
}

struct Cx<'a> {
    settings: &'a Settings,
    /// `contacts[]`: (wa_id or user_id, profile name, the other id).
    names: Vec<(Option<String>, Option<String>, Option<String>)>,
    /// The business's own number (history: which side sent a message).
    business: Option<String>,
    /// The WhatsApp Business Account (`entry.id`), kept on a click's message
    /// for the Conversions API.
    account: Option<String>,
    out: &'a mut Parsed,
}

/// `contacts[]`: each entry's phone, user id and profile name.
fn contact_names(value: &Value) -> Vec<(Option<String>, Option<String>, Option<String>)> {
    value
        .get("contacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            (
                id_text(c, "wa_id"),
                id_text(c, "user_id"),
                c.get("profile")
                    .and_then(|p| text(p, "name"))
                    .map(str::to_owned),
            )
        })
        .collect()
}

impl Cx<'_> {
    fn region(&self) -> phone::Region {
        self.settings.region
    }

    /// The contact key of a user id.
    fn user_key(user: &str) -> String {
        external_key("whatsapp", user)
    }

    /// The contact key of phone digits, if they are a phone number.
    fn phone_key(&self, digits: &str) -> Option<String> {
        phone::normalize(&format!("+{digits}"), self.region()).ok()
    }

    /// The `contacts[]` entry of a person, completing what the item left out.
    fn complete(&self, mut who: Who) -> (Who, Option<String>) {
        let entry = self.names.iter().find(|(wa, user, _)| {
            (who.phone.is_some() && *wa == who.phone) || (who.user.is_some() && *user == who.user)
        });
        let Some((wa, user, name)) = entry else {
            return (who, None);
        };
        if who.phone.is_none() {
            who.phone = wa.clone();
        }
        if who.user.is_none() {
            who.user = user.clone();
        }
        (who, name.clone())
    }

    /// The event's `contact` object and its aliases: the phone when there
    /// is one, the user id tied to it.
    fn contact(&self, who: Who) -> Option<(Map<String, Value>, Vec<String>)> {
        let (who, name) = self.complete(who);
        let mut contact = Map::new();
        let mut aliases = Vec::new();
        match (&who.phone, &who.user) {
            (Some(p), user) => {
                contact.insert("phone".into(), json!(format!("+{p}")));
                if let Some(u) = user {
                    aliases.push(Self::user_key(u));
                }
            }
            (None, Some(u)) => {
                contact.insert("external_id".into(), json!(u));
            }
            (None, None) => return None,
        }
        if let Some(n) = name {
            contact.insert("name".into(), json!(n));
        }
        Some((contact, aliases))
    }

    fn push(&mut self, ev: Value, aliases: Vec<String>, kind: Option<Kind>) {
        self.push_known(ev, aliases, kind, false);
    }

    /// As [`Self::push`]; `known`: the sender is known, not inferred.
    fn push_known(&mut self, ev: Value, aliases: Vec<String>, kind: Option<Kind>, known: bool) {
        match validate(&ev, self.region()) {
            Ok(mut e) => {
                if let Some(k) = kind {
                    e.kind = k;
                    if k == Kind::Link {
                        e.direction = None;
                    }
                }
                e.sender_known = known;
                e.aliases = aliases;
                e.aliases.retain(|a| *a != e.contact_key);
                // A set: sorted, so two copies of one delivery are equal.
                e.aliases.sort_unstable();
                e.aliases.dedup();
                self.out.events.push(e);
            }
            Err((field, why)) => self.out.skipped.push(format!("{field}: {why}")),
        }
    }

    fn base(
        &self,
        id: &str,
        at: DateTime<Utc>,
        direction: &str,
        sender: Sender,
        contact: Map<String, Value>,
    ) -> Value {
        super::event_json(&event_id(id), at, "whatsapp", direction, sender, contact)
    }

    fn message(&mut self, m: &Value) {
        let Some(id) = id_text(m, "id") else {
            self.out.skipped.push("a message without id".into());
            return;
        };
        let Some(at) = unix_time(m.get("timestamp"), false) else {
            self.out
                .skipped
                .push("a message without a valid timestamp".into());
            return;
        };
        if m.get("group_id").is_some() {
            self.out.no_event("group");
            return;
        }
        let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
        if let Some((_, why)) = NOT_A_MESSAGE.iter().find(|(t, _)| *t == kind) {
            self.out.no_event(why);
            return;
        }
        let who = Who {
            phone: id_text(m, "from").map(|d| digits(&d)),
            user: id_text(m, "from_user_id"),
        };
        if kind == "system" {
            self.system(m, &id, at, who);
            return;
        }
        let Some((contact, aliases)) = self.contact(who) else {
            self.out.skipped.push("a message without a sender".into());
            return;
        };
        let mut ev = self.base(&id, at, "inbound", Sender::Customer, contact);
        let mut aliases = aliases;
        if let Some(r) = m.get("referral").filter(|r| r.is_object()) {
            ev["source"] = source(r);
            if let Some(v) = text(r, "ctwa_clid") {
                // The click id names the person too: Meta's detected
                // conversions (`automatic_events`) come by it alone.
                aliases.push(click_key(&v));
                ev["ctwa_clid"] = json!(v);
                if let Some(a) = &self.account {
                    ev["meta_account_id"] = json!(a);
                }
            }
        }
        if kind == "request_welcome" {
            // The chat was opened and nothing typed: a referral event (the
            // spec's words, with or without an ad), no lead, no session;
            // its referral can still be the later lead's First Source.
            self.push(ev, aliases, Some(Kind::Referral));
            return;
        }
        self.push(ev, aliases, None);
    }

    /// `automatic_events`: Meta detected a purchase or submitted details in
    /// a Click-to-WhatsApp chat. A conversion of the person with that click
    /// id (`detected_by: meta`); a purchase in another currency than the
    /// deployment's is left out (its sum would mean nothing).
    fn automatic_event(&mut self, a: &Value) {
        let (Some(id), Some(clid)) = (id_text(a, "id"), text(a, "ctwa_clid")) else {
            self.out
                .skipped
                .push("an automatic event without id or ctwa_clid".into());
            return;
        };
        let Some(at) = unix_time(a.get("timestamp"), false) else {
            self.out
                .skipped
                .push("an automatic event without a valid timestamp".into());
            return;
        };
        let name = a.get("event_name").and_then(Value::as_str).unwrap_or("");
        let kind = match name {
            "Purchase" | "purchase" => "purchase",
            "LeadSubmitted" | "lead_submitted" => "lead_submitted",
            _ => {
                self.out.no_event("automatic_event");
                return;
            }
        };
        let mut conversion = json!({"type": kind});
        if kind == "purchase" {
            let data = a.get("custom_data").cloned().unwrap_or(Value::Null);
            conversion["value"] = data.get("value").cloned().unwrap_or(Value::Null);
            conversion["currency"] = data.get("currency").cloned().unwrap_or(Value::Null);
        }
        let item = json!({"id": format!("wa:auto:{id}:{kind}"), "kind": "conversion",
                          "occurred_at": at.to_rfc3339(), "channel": "whatsapp",
                          "contact": {"external_id": clid}, "conversion": conversion});
        match validate(&item, self.region())
            .and_then(|e| crate::ssr::domain::event::check_currency(e, &self.settings.currency))
        {
            Ok(mut e) => {
                e.contact_key = click_key(&clid);
                e.external_id = None;
                e.ctwa_clid = Some(clid.to_owned());
                if let Some(c) = e.conversion.as_mut() {
                    c.detected_by_meta = true;
                }
                self.out.events.push(e);
            }
            Err((field, why)) => self.out.skipped.push(format!("{field}: {why}")),
        }
    }

    /// `type: system`: a number change or a user-id change ties the old and
    /// new identifiers; anything else is a notice.
    fn system(&mut self, m: &Value, id: &str, at: DateTime<Utc>, who: Who) {
        let sys = m.get("system").cloned().unwrap_or(Value::Null);
        let what = sys.get("type").and_then(Value::as_str).unwrap_or("");
        let (current, mut old): (Who, Vec<String>) = match what {
            "user_changed_number" => {
                let new = id_text(&sys, "wa_id")
                    .or_else(|| id_text(&sys, "new_wa_id"))
                    .map(|d| digits(&d));
                let Some(new) = new else {
                    self.out.no_event("notice");
                    return;
                };
                // The old user id, where Meta names it in `system` too.
                let previous = id_text(&sys, "previous_user_id");
                let old: Vec<String> = who
                    .phone
                    .iter()
                    .filter_map(|p| self.phone_key(p))
                    .chain(who.user.iter().map(|u| Self::user_key(u)))
                    .chain(previous.iter().map(|u| Self::user_key(u)))
                    .collect();
                (
                    Who {
                        phone: Some(new),
                        user: id_text(&sys, "user_id").or_else(|| id_text(&sys, "new_user_id")),
                    },
                    old,
                )
            }
            "user_changed_user_id" => {
                let named =
                    id_text(&sys, "previous_user_id").or_else(|| id_text(&sys, "old_user_id"));
                // The new id: named in `system`, else the sender's own
                // (`from_user_id`) when `system` names only the old one.
                let new = id_text(&sys, "user_id")
                    .or_else(|| id_text(&sys, "new_user_id"))
                    .or_else(|| id_text(&sys, "current_user_id"))
                    .or_else(|| {
                        who.user
                            .clone()
                            .filter(|u| named.is_some() && named.as_ref() != Some(u))
                    });
                let previous = named.or_else(|| who.user.clone());
                let old: Vec<String> = previous
                    .filter(|p| Some(p) != new.as_ref())
                    .map(|p| vec![Self::user_key(&p)])
                    .unwrap_or_default();
                // Without a new id, the old one still belongs to the phone.
                if new.is_none() && (old.is_empty() || who.phone.is_none()) {
                    self.out.no_event("notice");
                    return;
                }
                (
                    Who {
                        phone: who.phone.clone(),
                        user: new,
                    },
                    old,
                )
            }
            _ => {
                self.out.no_event("notice");
                return;
            }
        };
        let Some((contact, aliases)) = self.contact(current) else {
            self.out.no_event("notice");
            return;
        };
        old.extend(aliases);
        let ev = self.base(id, at, "inbound", Sender::Customer, contact);
        self.push(ev, old, Some(Kind::Link));
    }

    /// `user_id_update`: the previous and current user id (and the phone,
    /// when given) are one person.
    fn user_id_update(&mut self, u: &Value) {
        let Some(at) = unix_time(u.get("timestamp"), false) else {
            self.out
                .skipped
                .push("a user id update without a valid timestamp".into());
            return;
        };
        let ids = u.get("user_id");
        let previous = ids.and_then(|i| id_text(i, "previous"));
        let current = ids.and_then(|i| id_text(i, "current"));
        let phone = id_text(u, "wa_id").map(|d| digits(&d));
        let mut keys: Vec<String> = previous.iter().map(|p| Self::user_key(p)).collect();
        let Some((contact, aliases)) = self.contact(Who {
            phone,
            user: current.clone(),
        }) else {
            self.out.no_event("notice");
            return;
        };
        keys.extend(aliases);
        if keys.is_empty() {
            self.out.no_event("notice");
            return;
        }
        let id = format!(
            "uid:{}:{}",
            previous.as_deref().unwrap_or(""),
            current.as_deref().unwrap_or("")
        );
        let ev = self.base(&id, at, "inbound", Sender::Customer, contact);
        self.push(ev, keys, Some(Kind::Link));
    }

    /// `statuses[]`: `sent` is the business's message; the rest receipts.
    fn status(&mut self, s: &Value) {
        if s.get("recipient_type").and_then(Value::as_str) == Some("group") {
            self.out.no_event("group");
            return;
        }
        if s.get("status").and_then(Value::as_str) != Some("sent") {
            self.out.no_event("receipt");
            return;
        }
        let (Some(id), Some(at)) = (id_text(s, "id"), unix_time(s.get("timestamp"), false)) else {
            self.out
                .skipped
                .push("a status without id or valid timestamp".into());
            return;
        };
        let who = Who {
            phone: id_text(s, "recipient_id").map(|d| digits(&d)),
            user: id_text(s, "recipient_user_id"),
        };
        let Some((contact, aliases)) = self.contact(who) else {
            self.out.skipped.push("a status without a recipient".into());
            return;
        };
        let tagged = s
            .get("biz_opaque_callback_data")
            .and_then(Value::as_str)
            .and_then(tagged_sender)
            .is_some();
        let sender = self.status_sender(s);
        let ev = self.base(&id, at, "outbound", sender, contact);
        self.push_known(ev, aliases, None, tagged);
    }

    /// Who sent a `sent` message: the sending software's tag, else its
    /// category (replies vs templates), else `system`.
    fn status_sender(&self, s: &Value) -> Sender {
        if let Some(tag) = s
            .get("biz_opaque_callback_data")
            .and_then(Value::as_str)
            .and_then(tagged_sender)
        {
            return tag;
        }
        let category = s
            .get("pricing")
            .and_then(|p| text(p, "category"))
            .or_else(|| {
                s.get("conversation")
                    .and_then(|c| c.get("origin"))
                    .and_then(|o| text(o, "type"))
            })
            .map(str::to_ascii_lowercase);
        match category.as_deref() {
            Some(c) if REPLY_CATEGORIES.contains(&c) => self.settings.whatsapp_reply_sender,
            Some(c) if TEMPLATE_CATEGORIES.contains(&c) => Sender::System,
            _ => Sender::System,
        }
    }

    /// `smb_message_echoes`: a person typed it in the Business app (a
    /// known sender; `history`'s business messages are only taken for one).
    fn echo(&mut self, m: &Value, known: bool) {
        let kind = m.get("type").and_then(Value::as_str).unwrap_or("");
        if matches!(kind, "edit" | "revoke") {
            self.out.no_event("edit");
            return;
        }
        if let Some((_, why)) = NOT_A_MESSAGE.iter().find(|(t, _)| *t == kind) {
            self.out.no_event(why);
            return;
        }
        if m.get("group_id").is_some() {
            self.out.no_event("group");
            return;
        }
        let (Some(id), Some(at)) = (id_text(m, "id"), unix_time(m.get("timestamp"), false)) else {
            self.out
                .skipped
                .push("an echo without id or valid timestamp".into());
            return;
        };
        let who = Who {
            phone: id_text(m, "to").map(|d| digits(&d)),
            user: id_text(m, "to_user_id"),
        };
        let Some((contact, aliases)) = self.contact(who) else {
            self.out.skipped.push("an echo without a recipient".into());
            return;
        };
        let ev = self.base(&id, at, "outbound", Sender::Agent, contact);
        self.push_known(ev, aliases, None, known);
    }

    /// `history`: each thread's messages as the events they were: the
    /// business's own as an agent's, the customer's as inbound. The
    /// thread's id is the customer's: a phone, or the user id (`US.…`) of
    /// one who hides it.
    fn history(&mut self, value: &Value) {
        let parts = value.get("history").and_then(Value::as_array);
        for part in parts.into_iter().flatten() {
            let threads = part.get("threads").and_then(Value::as_array);
            for thread in threads.into_iter().flatten() {
                let id = id_text(thread, "id");
                // Only a phone fills a message's `from` / `to`: a user id's
                // digits would be a bogus phone (`US.7…` → `+7…`); its
                // messages name the customer by `from_user_id` /
                // `to_user_id`, as live ones do.
                let customer = id.as_deref().filter(|t| is_phone(t)).map(digits);
                let user = id.filter(|_| customer.is_none());
                let msgs = thread.get("messages").and_then(Value::as_array);
                for m in msgs.into_iter().flatten() {
                    let from = id_text(m, "from").map(|d| digits(&d));
                    let by_business = match (&from, &self.business, &customer) {
                        (Some(f), Some(b), _) if f == b => true,
                        (Some(f), _, Some(c)) => f != c,
                        // A user id's thread: the business's message is
                        // the one sent to that user.
                        _ => user.is_some() && id_text(m, "to_user_id") == user,
                    };
                    if by_business {
                        let mut echo = m.clone();
                        if echo.get("to").is_none() {
                            if let Some(c) = &customer {
                                echo["to"] = json!(c);
                            }
                        }
                        self.echo(&echo, false);
                    } else {
                        let mut msg = m.clone();
                        if msg.get("from").is_none() {
                            if let Some(c) = &customer {
                                msg["from"] = json!(c);
                            }
                        }
                        self.message(&msg);
                    }
                }
            }
        }
    }

    /// `smb_app_state_sync`: the Business app's contacts are customers the
    /// business already had (rule 4).
    fn state_sync(&mut self, value: &Value) {
        let items = value.get("state_sync").and_then(Value::as_array);
        for item in items.into_iter().flatten() {
            if item.get("type").and_then(Value::as_str) != Some("contact") {
                continue;
            }
            if item.get("action").and_then(Value::as_str) == Some("remove") {
                self.out.no_event("contact_removed");
                continue;
            }
            let Some(c) = item.get("contact") else {
                continue;
            };
            let Some(number) = id_text(c, "phone_number").or_else(|| id_text(c, "wa_id")) else {
                self.out
                    .skipped
                    .push("a synced contact without phone".into());
                continue;
            };
            let at = item
                .get("metadata")
                .and_then(|m| unix_time(m.get("timestamp"), false))
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
            let name = text(c, "full_name").or_else(|| text(c, "first_name"));
            let phone = format!("+{}", digits(&number));
            match known_customer(&phone, name, None, at, self.region()) {
                Ok(e) => self.out.events.push(e),
                Err((field, why)) => self.out.skipped.push(format!("{field}: {why}")),
            }
        }
    }
}

/// A Click-to-WhatsApp referral as a source.
fn source(r: &Value) -> Value {
    let mut source = json!({
        "platform": "meta",
        "type": text(r, "source_type").map(|t| if t == "post" { "post" } else { "ad" }).unwrap_or("ad"),
    });
    if let Some(v) = id_text(r, "source_id") {
        source["id"] = json!(v);
    }
    if let Some(v) = text(r, "headline") {
        source["name"] = json!(v);
    }
    if let Some(v) = text(r, "source_url") {
        source["url"] = json!(v);
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::domain::event::Direction;

    fn settings() -> Settings {
        Settings::for_tests()
    }

    fn fixture(name: &str) -> Value {
        super::super::fixture("whatsapp", name)
    }

    fn parse_fixture(name: &str) -> Parsed {
        parse(&fixture(name), &settings())
    }

    fn value(field: &str, value: Value) -> Value {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": field, "value": value}]}]})
    }

    /// A field with nothing of a chat is counted, not silently passed over.
    #[test]
    fn other_fields_are_counted_as_dropped() {
        let body = value(
            "account_update",
            json!({"phone_number": "15550783881", "event": "VERIFIED_ACCOUNT"}),
        );
        let parsed = parse(&body, &settings());
        assert!(parsed.events.is_empty());
        assert_eq!(parsed.dropped, vec!["other_field"]);
    }

    #[test]
    fn every_fixture_parses_without_panic_and_receipts_are_no_events() {
        let dir = format!(
            "{}/tests/fixtures/meta-webhooks/whatsapp",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut seen = 0;
        for f in std::fs::read_dir(&dir).expect("fixtures") {
            let path = f.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            let parsed = parse_fixture(&name);
            if (name.starts_with("status") && name != "status_sent.json")
                || name.starts_with("bsuid_")
                || name.starts_with("reaction")
            {
                assert!(parsed.events.is_empty(), "{name}");
                assert!(!parsed.dropped.is_empty(), "{name}");
            }
            for e in &parsed.events {
                assert!(e.id.starts_with("wa:"), "{name}");
                assert_eq!(e.channel, "whatsapp");
            }
            seen += 1;
        }
        assert!(seen >= 30);
    }

    #[test]
    fn a_ctwa_referral_is_the_source_and_the_name_comes_from_contacts() {
        let p = parse_fixture("referral_ctwa_ad_text.json");
        assert_eq!(p.events.len(), 1, "{:?}", p.skipped);
        let e = &p.events[0];
        assert_eq!(e.id, "wa:wamid.ID");
        assert_eq!(e.phone.as_deref(), Some("+972987654321"));
        assert_eq!(e.name.as_deref(), Some("Test Name"));
        assert_eq!(e.direction, Some(Direction::Inbound));
        assert_eq!(e.sender, Sender::Customer);
        assert_eq!(e.occurred_at.timestamp(), 1_697_045_000);
        let s = e.source.as_ref().expect("source");
        assert_eq!(
            (s.platform.as_str(), s.id.as_deref(), s.name.as_deref()),
            ("meta", Some("ADID"), Some("AD_TITLE"))
        );
        assert_eq!(e.ctwa_clid.as_deref(), Some("CTWA_CLID"));
    }

    #[test]
    fn a_sent_status_is_a_reply_by_its_category() {
        // `service`: a reply inside the customer's window, by the setting's sender.
        let p = parse_fixture("status_sent.json");
        assert_eq!(p.events.len(), 1, "{:?}", p.skipped);
        let e = &p.events[0];
        assert_eq!(e.id, "wa:wamid.xyzxyz");
        assert_eq!(e.direction, Some(Direction::Outbound));
        assert_eq!(e.sender, Sender::Agent);
        assert!(e.is_touch());
        assert_eq!(e.contact_key, "+972987654321");
        assert_eq!(e.occurred_at.timestamp(), 1_698_266_945);
        // The contacts[] entry ties the phone to its user id.
        assert_eq!(e.aliases, vec!["whatsapp:US.13491208655302741918"]);
        let mut s = settings();
        s.whatsapp_reply_sender = Sender::Ai;
        assert_eq!(
            parse(&fixture("status_sent.json"), &s).events[0].sender,
            Sender::Ai
        );
        // Templates are the business's automation, not a touch.
        for category in ["marketing", "utility", "authentication", "marketing_lite"] {
            let mut body = fixture("status_sent.json");
            body["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"]["category"] =
                json!(category);
            let e = &parse(&body, &settings()).events[0];
            assert_eq!(e.sender, Sender::System, "{category}");
        }
        // Without pricing, the conversation's origin; without both, system.
        let mut body = fixture("status_sent.json");
        let st = &mut body["entry"][0]["changes"][0]["value"]["statuses"][0];
        st.as_object_mut().expect("status").remove("pricing");
        assert_eq!(parse(&body, &settings()).events[0].sender, Sender::Agent);
        let st = &mut body["entry"][0]["changes"][0]["value"]["statuses"][0];
        st.as_object_mut().expect("status").remove("conversation");
        assert_eq!(parse(&body, &settings()).events[0].sender, Sender::System);
    }

    #[test]
    fn the_senders_tag_wins_over_the_category() {
        let mut body = fixture("status_sent.json");
        let st = &mut body["entry"][0]["changes"][0]["value"]["statuses"][0];
        st["biz_opaque_callback_data"] = json!("crm=1;leads:sender=ai");
        st["pricing"]["category"] = json!("marketing");
        assert_eq!(parse(&body, &settings()).events[0].sender, Sender::Ai);
        let st = &mut body["entry"][0]["changes"][0]["value"]["statuses"][0];
        st["biz_opaque_callback_data"] = json!("leads:sender=system");
        st["pricing"]["category"] = json!("service");
        assert_eq!(parse(&body, &settings()).events[0].sender, Sender::System);
    }

    #[test]
    fn receipts_reactions_groups_and_notices_are_no_events() {
        for (name, why) in [
            ("status_delivered.json", "receipt"),
            ("status_read.json", "receipt"),
            ("status_failed.json", "receipt"),
            ("bsuid_status_delivered_pmp.json", "receipt"),
            ("reaction.json", "reaction"),
            ("reaction_removed.json", "reaction"),
            ("bsuid_group_text_no_from.json", "group"),
            ("system_identity_change.json", "notice"),
        ] {
            let p = parse_fixture(name);
            assert!(p.events.is_empty(), "{name}: {:?}", p.events);
            assert_eq!(p.dropped, vec![why], "{name}");
        }
        let group_status = value(
            "messages",
            json!({"statuses": [{"id": "wamid.G", "status": "sent", "timestamp": "1700000000",
                "recipient_id": "120363418770915618", "recipient_type": "group",
                "pricing": {"category": "service"}}]}),
        );
        assert_eq!(parse(&group_status, &settings()).dropped, vec!["group"]);
    }

    #[test]
    fn a_number_change_ties_the_old_and_new_number() {
        let p = parse_fixture("system_number_change.json");
        assert_eq!(p.events.len(), 1, "{:?}", p.skipped);
        let e = &p.events[0];
        assert_eq!(e.kind, Kind::Link);
        assert_eq!(e.contact_key, "+972912345678");
        assert_eq!(e.phone.as_deref(), Some("+972912345678"));
        assert_eq!(e.aliases, vec!["+972987654321"]);
        assert!(!e.is_inbound());
        // Placeholders instead of numbers: nothing tied, nothing made.
        let p = parse_fixture("system_user_changed_number_placeholders.json");
        assert!(p.events.iter().all(|e| e.kind == Kind::Link));
    }

    #[test]
    fn automatic_events_are_conversions_of_the_click() {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "automatic_events", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1"},
            "automatic_events": [
                {"id": "wamid.P", "event_name": "Purchase", "timestamp": 1750000000, "ctwa_clid": "CL1",
                 "custom_data": {"currency": "IDR", "value": 150000}},
                {"id": "wamid.L", "event_name": "LeadSubmitted", "timestamp": 1750000001, "ctwa_clid": "CL1"},
                {"id": "wamid.U", "event_name": "Purchase", "timestamp": 1750000002, "ctwa_clid": "CL1",
                 "custom_data": {"currency": "USD", "value": 9}}]}}]}]});
        let p = parse(&body, &Settings::for_tests());
        assert_eq!(p.events.len(), 2, "{:?}", p.skipped);
        let c = p.events[0].conversion.clone().expect("conversion");
        assert_eq!((c.value, c.detected_by_meta), (Some(15_000_000), true));
        assert_eq!(p.events[0].contact_key, "~ctwa:CL1");
        assert_eq!(
            p.events[1].conversion.as_ref().map(|c| c.kind.as_str()),
            Some("lead_submitted")
        );
        assert_eq!(p.skipped.len(), 1);
        // The click's first message ties the click id to the person.
        let m = parse_fixture("referral_ctwa_ad_text.json");
        assert!(m.events[0].aliases.contains(&"~ctwa:CTWA_CLID".to_owned()));
    }

    #[test]
    fn a_user_id_update_and_a_hidden_phone_tie_identifiers() {
        let p = parse_fixture("user_id_update.json");
        assert_eq!(p.events.len(), 1, "{:?}", p.skipped);
        let e = &p.events[0];
        assert_eq!(e.kind, Kind::Link);
        assert_eq!(e.contact_key, "+16505551234");
        let mut a = e.aliases.clone();
        a.sort();
        assert_eq!(
            a,
            vec![
                "whatsapp:US.10101010101010101010",
                "whatsapp:US.13491208655302741918"
            ]
        );
        // A message from a user who hides the phone: the user id is the contact.
        let body = value(
            "messages",
            json!({"contacts": [{"profile": {"name": "Pablo"}, "user_id": "US.777"}],
                   "messages": [{"from_user_id": "US.777", "id": "wamid.U", "timestamp": "1750000000", "type": "text", "text": {"body": "hi"}}]}),
        );
        let p = parse(&body, &settings());
        assert_eq!(p.events[0].contact_key, "whatsapp:US.777");
        assert_eq!(p.events[0].name.as_deref(), Some("Pablo"));
        assert!(p.events[0].aliases.is_empty());
        // With both: the phone is the contact, the user id its alias.
        let body = value(
            "messages",
            json!({"messages": [{"from": "6281234567890", "from_user_id": "US.777", "id": "wamid.V", "timestamp": "1750000001", "type": "text"}]}),
        );
        let e = &parse(&body, &settings()).events[0];
        assert_eq!(e.contact_key, "+6281234567890");
        assert_eq!(e.aliases, vec!["whatsapp:US.777"]);
        // A user id change that names only the old id in `system`: the
        // sender's own id is the new one.
        let body = value(
            "messages",
            json!({"messages": [{"from_user_id": "US.888", "id": "wamid.S1", "timestamp": "1750000002", "type": "system",
                "system": {"type": "user_changed_user_id", "previous_user_id": "US.777"}}]}),
        );
        let e = &parse(&body, &settings()).events[0];
        assert_eq!(e.kind, Kind::Link);
        let mut keys = e.aliases.clone();
        keys.push(e.contact_key.clone());
        keys.sort();
        assert_eq!(keys, ["whatsapp:US.777", "whatsapp:US.888"]);
        // A number change that names the old user id in `system`: it is
        // tied too.
        let body = value(
            "messages",
            json!({"messages": [{"from": "6281234567890", "id": "wamid.S2", "timestamp": "1750000003", "type": "system",
                "system": {"type": "user_changed_number", "wa_id": "6289999999999", "previous_user_id": "US.777", "user_id": "US.999"}}]}),
        );
        let e = &parse(&body, &settings()).events[0];
        let mut keys = e.aliases.clone();
        keys.push(e.contact_key.clone());
        keys.sort();
        assert_eq!(
            keys,
            [
                "+6281234567890",
                "+6289999999999",
                "whatsapp:US.777",
                "whatsapp:US.999"
            ]
        );
        // A user id change naming only the old id, from a phone: the old
        // id is the phone's.
        let body = value(
            "messages",
            json!({"messages": [{"from": "6281234567890", "id": "wamid.S3", "timestamp": "1750000004", "type": "system",
                "system": {"type": "user_changed_user_id", "previous_user_id": "US.777"}}]}),
        );
        let e = &parse(&body, &settings()).events[0];
        assert_eq!(e.contact_key, "+6281234567890");
        assert_eq!(e.aliases, vec!["whatsapp:US.777"]);
    }

    #[test]
    fn a_chat_opened_without_typing_is_a_referral_only() {
        let body = value(
            "messages",
            json!({"messages": [{"from": "6281234567890", "id": "wamid.W", "timestamp": "1750000000",
                "type": "request_welcome",
                "referral": {"source_id": "120210000000000001", "source_type": "ad", "headline": "Promo", "ctwa_clid": "CL"}}]}),
        );
        let p = parse(&body, &settings());
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].kind, Kind::Referral);
        assert!(!p.events[0].is_inbound());
        assert_eq!(
            p.events[0].source.as_ref().and_then(|s| s.id.as_deref()),
            Some("120210000000000001")
        );
        assert_eq!(p.events[0].ctwa_clid.as_deref(), Some("CL"));
        // Without a referral it is still a referral event, with no source:
        // it makes no lead.
        let body = value(
            "messages",
            json!({"messages": [{"from": "6281234567890", "id": "wamid.X", "timestamp": "1750000000", "type": "request_welcome"}]}),
        );
        let p = parse(&body, &settings());
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].kind, Kind::Referral);
        assert!(p.events[0].source.is_none());
        let mut state = crate::ssr::domain::rules::ContactState::new(&p.events[0].contact_key);
        state.apply(&p.events[0]);
        assert!(!state.is_lead());
    }

    #[test]
    fn business_app_echoes_history_and_synced_contacts() {
        let body = value(
            "smb_message_echoes",
            json!({"message_echoes": [
                {"from": "15550783881", "to": "6281234567890", "id": "wamid.E1", "timestamp": "1750000100", "type": "text", "text": {"body": "Halo"}},
                {"from": "15550783881", "to": "6281234567890", "id": "wamid.E2", "timestamp": "1750000200", "type": "edit"},
                {"from": "15550783881", "to": "6281234567890", "id": "wamid.E3", "timestamp": "1750000300", "type": "revoke"}]}),
        );
        let p = parse(&body, &settings());
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].sender, Sender::Agent);
        assert_eq!(p.events[0].contact_key, "+6281234567890");
        assert_eq!(p.dropped, vec!["edit", "edit"]);

        let body = value(
            "history",
            json!({"metadata": {"display_phone_number": "15550783881"},
                "history": [{"metadata": {"phase": 0}, "threads": [{"id": "6281234567890", "messages": [
                {"from": "6281234567890", "id": "wamid.H1", "timestamp": "1600000000", "type": "text", "history_context": {"status": "READ"}},
                {"from": "15550783881", "to": "6281234567890", "id": "wamid.H2", "timestamp": "1600000060", "type": "text", "history_context": {"status": "READ"}}]}]}]}),
        );
        let p = parse(&body, &settings());
        assert_eq!(p.events.len(), 2, "{:?}", p.skipped);
        assert!(p.events[0].is_inbound());
        assert_eq!(p.events[0].occurred_at.timestamp(), 1_600_000_000);
        assert!(p.events[1].is_touch());

        let body = value(
            "smb_app_state_sync",
            json!({"state_sync": [
                {"type": "contact", "contact": {"full_name": "Sari", "phone_number": "6281234567890"}, "action": "add", "metadata": {"timestamp": "1700000000"}},
                {"type": "contact", "contact": {"phone_number": "6281200000000"}, "action": "remove", "metadata": {"timestamp": "1700000000"}}]}),
        );
        let p = parse(&body, &settings());
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].kind, Kind::Known);
        assert_eq!(p.events[0].name.as_deref(), Some("Sari"));
    }

    /// A thread of a user who hides the phone has the user id as its id:
    /// its messages are that user's (`whatsapp:US.…`, as live ones), not
    /// the bogus phone the id's digits would make.
    #[test]
    fn a_history_thread_of_a_hidden_phone_is_the_user_ids() {
        let user = "US.7000000000000000099";
        for business_message in [
            json!({"to_user_id": user, "id": "wamid.HU2", "timestamp": "1600000060", "type": "text",
                   "history_context": {"status": "READ"}}),
            json!({"from": "15550783881", "to_user_id": user, "id": "wamid.HU2", "timestamp": "1600000060",
                   "type": "text", "history_context": {"status": "READ"}}),
        ] {
            let body = value(
                "history",
                json!({"metadata": {"display_phone_number": "15550783881"},
                    "history": [{"metadata": {"phase": 0}, "threads": [{"id": user, "messages": [
                    {"from_user_id": user, "id": "wamid.HU1", "timestamp": "1600000000", "type": "text",
                     "history_context": {"status": "READ"}},
                    business_message]}]}]}),
            );
            let p = parse(&body, &settings());
            assert_eq!(p.events.len(), 2, "{:?}", p.skipped);
            assert!(p.skipped.is_empty(), "{:?}", p.skipped);
            let (inbound, reply) = (&p.events[0], &p.events[1]);
            assert!(inbound.is_inbound());
            assert_eq!(inbound.occurred_at.timestamp(), 1_600_000_000);
            assert!(reply.is_touch());
            assert_eq!(reply.sender, Sender::Agent);
            for e in &p.events {
                assert_eq!(e.contact_key, "whatsapp:US.7000000000000000099");
                assert_eq!(e.phone, None);
            }
        }
        // A thread whose id is a phone, `+` or not, still fills the sides.
        for id in ["6281234567890", "+6281234567890"] {
            let body = value(
                "history",
                json!({"metadata": {"display_phone_number": "15550783881"},
                    "history": [{"threads": [{"id": id, "messages": [
                    {"id": "wamid.HP1", "timestamp": "1600000000", "type": "text"},
                    {"from": "15550783881", "id": "wamid.HP2", "timestamp": "1600000060", "type": "text"}]}]}]}),
            );
            let p = parse(&body, &settings());
            assert_eq!(p.events.len(), 2, "{id}: {:?}", p.skipped);
            assert!(p.events[0].is_inbound());
            assert!(p.events[1].is_touch());
            assert!(
                p.events.iter().all(|e| e.contact_key == "+6281234567890"),
                "{id}"
            );
        }
    }

    #[test]
    fn several_changes_and_message_types_are_all_inbound_messages() {
        // Two changes in one entry, each a message, from a placeholder
        // "PHONE_NUMBER" sender: both read, both skipped as not a phone.
        let p = parse_fixture("multiple_changes_one_entry.json");
        assert_eq!((p.events.len(), p.skipped.len()), (0, 2), "{:?}", p.skipped);
        assert!(p.skipped.iter().all(|s| s.starts_with("contact.phone")));
        for name in [
            "image.json",
            "location.json",
            "interactive_button_reply.json",
            "order.json",
            "unsupported_errors.json",
        ] {
            let p = parse_fixture(name);
            assert_eq!(p.events.len(), 1, "{name}: {:?}", p.skipped);
            assert!(p.events[0].is_inbound(), "{name}");
        }
        // An integer timestamp (a test author's quirk) is read too.
        let p = parse_fixture("button_context_referred_product_and_referral.json");
        assert_eq!(p.events.len(), 1, "{:?}", p.skipped);
        assert!(p.events[0].source.is_some());
    }

    #[test]
    fn a_post_referral_is_a_post_source() {
        let body = json!({"entry": [{"changes": [{"field": "messages", "value": {
            "contacts": [{"profile": {"name": "Sari"}, "wa_id": "6281234567890"}],
            "messages": [{"id": "wamid.P", "from": "6281234567890", "timestamp": "1764300000", "type": "text",
                "referral": {"source_url": "https://fb.me/post1", "source_id": "987", "source_type": "post",
                             "headline": "Koleksi Baru"}}]}}]}]});
        let p = parse(&body, &settings());
        let s = p.events[0].source.as_ref().expect("source");
        assert_eq!(
            (s.kind.as_str(), s.id.as_deref(), s.url.as_deref()),
            ("post", Some("987"), Some("https://fb.me/post1"))
        );
        assert_eq!(p.events[0].ctwa_clid, None);
    }

    #[test]
    fn empty_and_odd_bodies_give_nothing() {
        for body in [
            json!({}),
            json!({"entry": []}),
            json!({"entry": [{"changes": [{"value": {}}]}]}),
            json!([1, 2]),
            json!({"entry": [{"changes": [{"field": "history", "value": {"history": [{"threads": [{"messages": [{}]}]}]}}]}]}),
            json!({"entry": [{"changes": [{"field": "messages", "value": {"statuses": [{"status": "sent"}], "user_id_update": [{}]}}]}]}),
        ] {
            assert!(parse(&body, &settings()).events.is_empty());
        }
        // A sender that is not a possible phone number is skipped, not an error.
        let body = json!({"entry": [{"changes": [{"field": "messages", "value": {"messages": [
            {"id": "x", "from": "12", "timestamp": "1697045000", "type": "text"}]}}]}]});
        let p = parse(&body, &settings());
        assert!(p.events.is_empty());
        assert_eq!(p.skipped.len(), 1);
    }
}
