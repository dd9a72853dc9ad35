//! WhatsApp Cloud API webhook bodies to events. Each message of
//! `entry[].changes[].value.messages[]` is an inbound customer message; its
//! `referral` (a Click-to-WhatsApp ad) is its source. `statuses[]` (sent,
//! delivered, read, failed) are never messages. Messages the business sent
//! from the WhatsApp Business app (`smb_message_echoes`) are outbound and
//! count as an agent's answer: a person typed them.

use phonenumber::country::Id as Region;
use serde_json::{Map, Value, json};

use super::{Parsed, id_text, unix_time};
use crate::ssr::event::{Event, validate};

/// Ids of Meta's channels are unique per channel only: ours carry a prefix.
pub fn event_id(message_id: &str) -> String {
    format!("wa:{message_id}")
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub fn parse(body: &Value, region: Region) -> Parsed {
    let mut out = Parsed::default();
    let entries = body.get("entry").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let changes = entry.get("changes").and_then(Value::as_array);
        for change in changes.into_iter().flatten() {
            let Some(value) = change.get("value") else {
                continue;
            };
            let field = change.get("field").and_then(Value::as_str).unwrap_or("");
            let names = contact_names(value);
            let outbound = field == "smb_message_echoes";
            let list = if outbound {
                value
                    .get("message_echoes")
                    .or_else(|| value.get("messages"))
            } else {
                value.get("messages")
            };
            for m in list.and_then(Value::as_array).into_iter().flatten() {
                match message(m, &names, outbound, region) {
                    Ok(ev) => out.events.push(ev),
                    Err(why) => out.skipped.push(why),
                }
            }
        }
    }
    out
}

/// `contacts[]`: the profile name of each `wa_id`.
fn contact_names(value: &Value) -> Vec<(String, String)> {
    value
        .get("contacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let id = id_text(c, "wa_id").or_else(|| id_text(c, "user_id"))?;
            let name = c.get("profile").and_then(|p| text(p, "name"))?;
            Some((id, name.to_owned()))
        })
        .collect()
}

fn message(
    m: &Value,
    names: &[(String, String)],
    outbound: bool,
    region: Region,
) -> Result<Event, String> {
    let id = id_text(m, "id").ok_or("a message without id")?;
    let at = unix_time(m.get("timestamp"), false).ok_or("a message without a valid timestamp")?;
    // The customer: the sender of an inbound message, the recipient of an
    // echo. Phones come as international digits without `+`.
    let who = if outbound {
        id_text(m, "to")
    } else {
        id_text(m, "from")
    };
    let mut contact = Map::new();
    match who {
        Some(digits) => {
            contact.insert("phone".into(), json!(format!("+{digits}")));
            if let Some((_, name)) = names.iter().find(|(id, _)| *id == digits) {
                contact.insert("name".into(), json!(name));
            }
        }
        None => {
            // Newer payloads may name the user only by a business-scoped id.
            let user = id_text(
                m,
                if outbound {
                    "to_user_id"
                } else {
                    "from_user_id"
                },
            )
            .ok_or("a message without a sender")?;
            if let Some((_, name)) = names.iter().find(|(id, _)| *id == user) {
                contact.insert("name".into(), json!(name));
            }
            contact.insert("external_id".into(), json!(user));
        }
    }
    let mut ev = json!({
        "id": event_id(&id),
        "occurred_at": at.to_rfc3339(),
        "channel": "whatsapp",
        "direction": if outbound { "outbound" } else { "inbound" },
        "sender": if outbound { "agent" } else { "customer" },
        "contact": contact,
    });
    if let Some(r) = m.get("referral").filter(|r| r.is_object()) {
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
        ev["source"] = source;
        if let Some(v) = text(r, "ctwa_clid") {
            ev["ctwa_clid"] = json!(v);
        }
    }
    validate(&ev, region).map_err(|(field, why)| format!("{field}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::event::{Direction, Sender};

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/meta-webhooks/whatsapp/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_fixture_parses_without_panic_and_statuses_are_not_messages() {
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
            let parsed = parse(&fixture(&name), Region::ID);
            if name.starts_with("status")
                || name.starts_with("bsuid_status")
                || name == "user_id_update.json"
            {
                assert!(parsed.events.is_empty(), "{name}");
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
        let p = parse(&fixture("referral_ctwa_ad_text.json"), Region::ID);
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
    fn several_changes_and_message_types_are_all_inbound_messages() {
        // Two changes in one entry, each a message, from a placeholder
        // "PHONE_NUMBER" sender: both read, both skipped as not a phone.
        let p = parse(&fixture("multiple_changes_one_entry.json"), Region::ID);
        assert_eq!((p.events.len(), p.skipped.len()), (0, 2), "{:?}", p.skipped);
        assert!(p.skipped.iter().all(|s| s.starts_with("contact.phone")));
        for name in [
            "image.json",
            "reaction.json",
            "location.json",
            "interactive_button_reply.json",
            "order.json",
        ] {
            let p = parse(&fixture(name), Region::ID);
            assert_eq!(p.events.len(), 1, "{name}: {:?}", p.skipped);
        }
        // An integer timestamp (a test author's quirk) is read too.
        let p = parse(
            &fixture("button_context_referred_product_and_referral.json"),
            Region::ID,
        );
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
        let p = parse(&body, Region::ID);
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
        ] {
            assert!(parse(&body, Region::ID).events.is_empty());
        }
        // A sender that is not a possible phone number is skipped, not an error.
        let body = json!({"entry": [{"changes": [{"field": "messages", "value": {"messages": [
            {"id": "x", "from": "12", "timestamp": "1697045000", "type": "text"}]}}]}]});
        let p = parse(&body, Region::ID);
        assert!(p.events.is_empty());
        assert_eq!(p.skipped.len(), 1);
    }
}
