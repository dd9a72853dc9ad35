//! Messenger and Instagram webhook bodies to events (`object: "page"` or
//! `"instagram"`). Each event of `entry[].messaging[]` and `entry[].standby[]`
//! (where a passive dashboard sits when an inbox owns the conversation):
//! - a customer's `message` or `postback`: an inbound message, with the
//!   `referral` it carries as its source;
//! - an echo (`message.is_echo`): outbound to the recipient, counted as
//!   `system` (not a touch), since the body does not say who wrote it;
//! - a `referral` alone (`messaging_referrals`, from an ad or an m.me/ig.me
//!   link before the first message): gives the lead its First Source;
//! - delivery and read receipts, reactions: ignored.
//!
//! Contacts are `external_id` = the page- or Instagram-scoped user id; ids
//! (which Meta may send as numbers, beyond 2^53) are read as text. Times are
//! milliseconds. Event ids are prefixed per channel (`fb:`, `ig:`).

use phonenumber::country::Id as Region;
use serde_json::{Map, Value, json};

use super::{Parsed, id_text, unix_time};
use crate::ssr::event::{Event, Kind, validate};

pub fn parse(body: &Value, region: Region) -> Parsed {
    let mut out = Parsed::default();
    let (channel, prefix) = match body.get("object").and_then(Value::as_str) {
        Some("page") => ("messenger", "fb"),
        Some("instagram") => ("instagram", "ig"),
        _ => return out,
    };
    let entries = body.get("entry").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        for list in ["messaging", "standby"] {
            let events = entry.get(list).and_then(Value::as_array);
            for e in events.into_iter().flatten() {
                match event(e, channel, prefix, region) {
                    Ok(Some(ev)) => out.events.push(ev),
                    Ok(None) => {}
                    Err(why) => out.skipped.push(why),
                }
            }
        }
    }
    out
}

/// A referral object (ad or link) as a source.
fn source(r: &Value) -> Option<Value> {
    if !r.is_object() {
        return None;
    }
    let ad = id_text(r, "ad_id");
    let reference = id_text(r, "ref");
    let title = r
        .get("ads_context_data")
        .and_then(|a| a.get("ad_title"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let kind = match (&ad, r.get("source").and_then(Value::as_str)) {
        (Some(_), _) | (_, Some("ADS")) => "ad".to_owned(),
        (None, Some(s)) => s.to_lowercase(),
        (None, None) => "link".to_owned(),
    };
    let mut s = json!({"platform": "meta", "type": kind});
    match (&ad, &reference) {
        (Some(id), _) | (None, Some(id)) => s["id"] = json!(id),
        (None, None) => {}
    }
    match (title, &reference) {
        (Some(t), _) => s["name"] = json!(t),
        (None, Some(r)) => s["name"] = json!(r),
        (None, None) => {
            // A referral without ad or ref (a chat plugin): name its kind.
            s["name"] = json!(kind);
        }
    }
    Some(s)
}

fn event(e: &Value, channel: &str, prefix: &str, region: Region) -> Result<Option<Event>, String> {
    let message = e.get("message");
    let postback = e.get("postback");
    let lone_referral = e.get("referral");
    if message.is_none() && postback.is_none() && lone_referral.is_none() {
        // Delivery, read, reaction, …: no message.
        return Ok(None);
    }
    let at = unix_time(e.get("timestamp"), true).ok_or("an event without a valid timestamp")?;
    let echo = message
        .and_then(|m| m.get("is_echo"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let party = if echo {
        e.get("recipient")
    } else {
        e.get("sender")
    };
    let user = party
        .and_then(|p| id_text(p, "id"))
        .ok_or("an event without a user id (e.g. a chat plugin's user_ref)")?;
    let mut contact = Map::new();
    contact.insert("external_id".into(), json!(user));
    let base_id = match (message, postback) {
        (Some(m), _) => id_text(m, "mid"),
        (None, Some(p)) => id_text(p, "mid"),
        _ => None,
    };
    // Postbacks and lone referrals may lack an id: the user and the time
    // name them (Meta's retries carry the same).
    let id = match base_id {
        Some(mid) => format!("{prefix}:{mid}"),
        None => format!(
            "{prefix}:{}:{user}:{}",
            if message.is_none() && postback.is_none() {
                "ref"
            } else {
                "pb"
            },
            at.timestamp_millis()
        ),
    };
    let referral = message
        .and_then(|m| m.get("referral"))
        .or_else(|| postback.and_then(|p| p.get("referral")))
        .or(lone_referral);
    let mut ev = json!({
        "id": id,
        "occurred_at": at.to_rfc3339(),
        "channel": channel,
        "direction": if echo { "outbound" } else { "inbound" },
        "sender": if echo { "system" } else { "customer" },
        "contact": contact,
    });
    if let Some(s) = referral.and_then(source) {
        ev["source"] = s;
    }
    let mut ev = validate(&ev, region).map_err(|(field, why)| format!("{field}: {why}"))?;
    if message.is_none() && postback.is_none() {
        ev.kind = Kind::Referral;
    }
    Ok(Some(ev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::event::{Direction, Sender};
    use crate::ssr::rules::ContactState;

    fn fixture(dir: &str, name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/meta-webhooks/{dir}/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn messages_echoes_and_receipts() {
        let p = parse(&fixture("messenger", "text.json"), Region::ID);
        assert_eq!(p.events.len(), 1);
        let e = &p.events[0];
        assert_eq!(e.id, "fb:mid.1457764197618:41d102a3e1ae206a38");
        assert_eq!(e.contact_key, "messenger:987654321432");
        assert_eq!(e.direction, Some(Direction::Inbound));
        assert_eq!(e.occurred_at.timestamp_millis(), 1_457_764_197_627);
        let echo = parse(&fixture("messenger", "echo.json"), Region::ID);
        assert_eq!(echo.events[0].direction, Some(Direction::Outbound));
        assert_eq!(echo.events[0].sender, Sender::System);
        assert_eq!(echo.events[0].contact_key, "messenger:12345654332");
        let standby = parse(&fixture("messenger", "standby_echo.json"), Region::ID);
        assert_eq!(standby.events.len(), 1);
        for receipt in ["delivery.json", "read.json", "reaction.json"] {
            assert!(
                parse(&fixture("messenger", receipt), Region::ID)
                    .events
                    .is_empty(),
                "{receipt}"
            );
        }
        let ig = parse(
            &fixture("instagram", "attachment_unsupported_type.json"),
            Region::ID,
        );
        assert_eq!(ig.events[0].channel, "instagram");
        assert!(ig.events[0].id.starts_with("ig:"));
    }

    #[test]
    fn a_lone_ad_referral_gives_the_later_lead_its_first_source() {
        let p = parse(
            &fixture("messenger", "referral_ads_open_thread.json"),
            Region::ID,
        );
        assert_eq!(p.events.len(), 1, "{:?}", p.skipped);
        let referral = &p.events[0];
        assert_eq!(referral.kind, Kind::Referral);
        let src = referral.source.as_ref().expect("source");
        assert_eq!(
            (src.kind.as_str(), src.id.as_deref()),
            ("ad", Some("<ID OF THE AD>"))
        );
        // Alone it is no lead (rule 3); with a message after it, the lead's
        // First Source is the ad.
        let mut state = ContactState::new(&referral.contact_key);
        state.apply(referral);
        assert!(state.lead().is_none());
        let mut body = fixture("messenger", "text.json");
        body["entry"][0]["messaging"][0]["sender"]["id"] = json!("<USER_ID>");
        body["entry"][0]["messaging"][0]["timestamp"] = json!(1_458_692_760_000_i64);
        let msg = &parse(&body, Region::ID).events[0];
        state.apply(msg);
        let lead = state.lead().expect("a lead");
        assert_eq!(
            lead.first_source.and_then(|s| s.id),
            Some("<ID OF THE AD>".into())
        );
    }

    #[test]
    fn every_fixture_is_read_without_panic() {
        for dir in ["messenger", "instagram"] {
            let path = format!(
                "{}/tests/fixtures/meta-webhooks/{dir}",
                env!("CARGO_MANIFEST_DIR")
            );
            for f in std::fs::read_dir(&path).expect("fixtures") {
                let name = f
                    .expect("entry")
                    .file_name()
                    .into_string()
                    .unwrap_or_default();
                let p = parse(&fixture(dir, &name), Region::ID);
                for e in &p.events {
                    assert!(e.id.starts_with("fb:") || e.id.starts_with("ig:"), "{name}");
                }
            }
        }
    }
}
