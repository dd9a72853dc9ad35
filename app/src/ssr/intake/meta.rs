//! Messenger and Instagram webhook bodies to events (`object: "page"` or
//! `"instagram"`; `shared/spec/channels.md`, "Messenger and Instagram").
//! Each event of `entry[].messaging[]` and `entry[].standby[]` (where a
//! passive app sits while an inbox owns the conversation):
//! - a customer's `message` or `postback`: an inbound message, with the
//!   `referral` it carries as its source;
//! - an echo (`message.is_echo`): the Page's own message, outbound to the
//!   party that is not `entry[].id`. Its sender: the `metadata` tag
//!   (`leads:sender=…`), else the app that sent it (`LEADS_META_AI_APP_IDS`,
//!   `LEADS_META_AGENT_APP_IDS`, by default Meta's Page inbox), else
//!   `system` — and such an app id is counted for the settings page;
//! - a `referral` alone (`messaging_referrals`, from an ad or an m.me/ig.me
//!   link before the first message): gives the lead its First Source;
//! - unsends, reactions, reads and deliveries: no events.
//!
//! Contacts are `external_id` = the page- or Instagram-scoped user id; ids
//! (which Meta may send as numbers, beyond 2^53) are read as text. Times are
//! milliseconds. Event ids are prefixed per channel (`fb:`, `ig:`), and
//! the Page's own messages (echoes) by `fb:echo:` / `ig:echo:`.

use serde_json::{Map, Value, json};

use super::{Parsed, id_text, tagged_sender, unix_time};
use crate::ssr::domain::event::{Kind, Sender, validate};
use crate::ssr::domain::rules::USER_REF;
use crate::ssr::domain::settings::Settings;

pub fn parse(body: &Value, settings: &Settings) -> Parsed {
    let mut out = Parsed::default();
    let (channel, prefix) = match body.get("object").and_then(Value::as_str) {
        Some("page") => ("messenger", "fb"),
        Some("instagram") => ("instagram", "ig"),
        // Another product's delivery (`user`, a WhatsApp body sent here):
        // counted, so that an admin sees it arrived.
        _ => {
            out.no_event("other_object");
            return out;
        }
    };
    let entries = body.get("entry").and_then(Value::as_array);
    for entry in entries.into_iter().flatten() {
        let page = id_text(entry, "id");
        // Field changes (Instagram comments, mentions): not chats.
        let changes = entry.get("changes").and_then(Value::as_array);
        for _ in changes.into_iter().flatten() {
            out.no_event("change");
        }
        for list in ["messaging", "standby"] {
            let events = entry.get(list).and_then(Value::as_array);
            for e in events.into_iter().flatten() {
                event(e, channel, prefix, page.as_deref(), settings, &mut out);
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

/// Who wrote an echo (the spec's order of rules), and the app id that no
/// setting names, if that is what made it `system`.
fn echo_sender(m: &Value, settings: &Settings) -> (Sender, Option<String>) {
    if let Some(tag) = m
        .get("metadata")
        .and_then(Value::as_str)
        .and_then(tagged_sender)
    {
        return (tag, None);
    }
    let app = id_text(m, "app_id");
    match app {
        Some(a) if settings.meta_ai_app_ids.contains(&a) => (Sender::Ai, None),
        Some(a) if settings.meta_agent_app_ids.contains(&a) => (Sender::Agent, None),
        Some(a) => (Sender::System, Some(a)),
        None => (Sender::System, None),
    }
}

fn event(
    e: &Value,
    channel: &str,
    prefix: &str,
    page: Option<&str>,
    settings: &Settings,
    out: &mut Parsed,
) {
    let message = e.get("message");
    let postback = e.get("postback");
    let lone_referral = e.get("referral");
    if message.is_none() && postback.is_none() && lone_referral.is_none() {
        out.no_event(if e.get("reaction").is_some() {
            "reaction"
        } else if e.get("read").is_some() || e.get("delivery").is_some() {
            "receipt"
        } else {
            "other"
        });
        return;
    }
    if message
        .and_then(|m| m.get("is_deleted"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        out.no_event("unsend");
        return;
    }
    let Some(at) = unix_time(e.get("timestamp"), true) else {
        out.skipped
            .push("an event without a valid timestamp".into());
        return;
    };
    let echo = message
        .and_then(|m| m.get("is_echo"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    // The customer is whichever party is not the Page (or Instagram
    // account) the entry is for; without an entry id, the recipient of an
    // echo and the sender of anything else.
    // A website chat plugin's guest is named by a `user_ref` instead,
    // which the website chooses: kept apart from Meta's user ids.
    let party = |p: &Value| {
        id_text(p, "id").or_else(|| id_text(p, "user_ref").map(|r| format!("{USER_REF}{r}")))
    };
    let sender_id = e.get("sender").and_then(party);
    let recipient_id = e.get("recipient").and_then(party);
    let user = match (page, echo) {
        (Some(p), _) if sender_id.as_deref() == Some(p) => recipient_id,
        (Some(p), _) if recipient_id.as_deref() == Some(p) => sender_id,
        (_, true) => recipient_id,
        (_, false) => sender_id,
    };
    let Some(user) = user else {
        out.skipped.push("an event without a user id".into());
        return;
    };
    let (sender, unknown_app) = match (echo, message) {
        (true, Some(m)) => echo_sender(m, settings),
        _ => (Sender::Customer, None),
    };
    let mut contact = Map::new();
    contact.insert("external_id".into(), json!(user));
    let base_id = match (message, postback) {
        (Some(m), _) => id_text(m, "mid"),
        (None, Some(p)) => id_text(p, "mid"),
        _ => None,
    };
    // Postbacks and lone referrals may lack an id: the user and the time
    // name them (Meta's retries carry the same).
    // The Page's own messages (echoes) have ids of their own: a customer's
    // message and an echo never name one event, so no delivery order can
    // make an echo hide a customer's message (Meta's published examples
    // give both the same mid).
    let id = match base_id {
        Some(mid) if echo => format!("{prefix}:echo:{mid}"),
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
    let direction = if echo { "outbound" } else { "inbound" };
    let mut ev = super::event_json(&id, at, channel, direction, sender, contact);
    if let Some(s) = referral.and_then(source) {
        // An ad's referral on the customer's side: the Page or Instagram
        // account is what the Conversions API names with the user's id.
        if !echo && s["type"] == "ad" {
            if let Some(p) = page {
                ev["meta_account_id"] = json!(p);
            }
        }
        ev["source"] = s;
    }
    match validate(&ev, settings.region) {
        Ok(mut ev) => {
            if message.is_none() && postback.is_none() {
                ev.kind = Kind::Referral;
            }
            if let Some(a) = unknown_app {
                out.unknown_apps.push((a, ev.id.clone()));
            }
            out.events.push(ev);
        }
        Err((field, why)) => out.skipped.push(format!("{field}: {why}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::domain::event::Direction;
    use crate::ssr::domain::rules::ContactState;

    use super::super::fixture;

    fn p(body: &Value) -> Parsed {
        parse(body, &Settings::for_tests())
    }

    /// Meta's documented echo: the Page (entry id) sends to the user.
    fn echo(app_id: Value, metadata: Option<&str>) -> Value {
        let mut m =
            json!({"mid": "m_echo1", "is_echo": true, "app_id": app_id, "text": "Halo kak"});
        if let Some(md) = metadata {
            m["metadata"] = json!(md);
        }
        json!({"object": "page", "entry": [{"id": "1111", "time": 1, "messaging": [{
            "sender": {"id": "1111"}, "recipient": {"id": "2222"},
            "timestamp": 1_764_300_000_000_i64, "message": m}]}]})
    }

    #[test]
    fn messages_and_receipts() {
        let parsed = p(&fixture("messenger", "text.json"));
        assert_eq!(parsed.events.len(), 1);
        let e = &parsed.events[0];
        assert_eq!(e.id, "fb:mid.1457764197618:41d102a3e1ae206a38");
        assert_eq!(e.contact_key, "messenger:987654321432");
        assert_eq!(e.direction, Some(Direction::Inbound));
        assert_eq!(e.occurred_at.timestamp_millis(), 1_457_764_197_627);
        for (receipt, why) in [
            ("delivery.json", "receipt"),
            ("read.json", "receipt"),
            ("reaction.json", "reaction"),
            ("message_deleted.json", "unsend"),
        ] {
            let parsed = p(&fixture("messenger", receipt));
            assert!(parsed.events.is_empty(), "{receipt}");
            assert_eq!(parsed.dropped, vec![why], "{receipt}");
        }
        let ig = p(&fixture("instagram", "attachment_unsupported_type.json"));
        assert_eq!(ig.events[0].channel, "instagram");
        assert!(ig.events[0].id.starts_with("ig:"));
        // Instagram comments (a field change) and other products' bodies
        // are counted as dropped.
        let comments = p(&fixture("instagram", "comments_change.json"));
        assert!(comments.events.is_empty());
        assert_eq!(comments.dropped, vec!["change"]);
        let other = p(&json!({"object": "user", "entry": [{"id": "1", "changes": []}]}));
        assert_eq!(other.dropped, vec!["other_object"]);
        // Meta's echo example carries the text example's mid: two events.
        let echo = p(&fixture("messenger", "echo.json"));
        assert_eq!(echo.events[0].direction, Some(Direction::Outbound));
        assert_eq!(
            echo.events[0].id,
            "fb:echo:mid.1457764197618:41d102a3e1ae206a38"
        );
        assert_ne!(echo.events[0].id, e.id);
    }

    /// A website chat plugin's guest is a `user_ref`, not an `id`: the
    /// postback is still their inbound message.
    #[test]
    fn a_chat_plugin_guest_is_named_by_user_ref() {
        let parsed = p(&fixture(
            "messenger",
            "postback_customer_chat_plugin_user_ref.json",
        ));
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let e = &parsed.events[0];
        assert_eq!(e.contact_key, "messenger:ref:987654321432");
        assert_eq!(e.direction, Some(Direction::Inbound));
        assert_eq!(e.sender, Sender::Customer);
    }

    #[test]
    fn an_echo_goes_to_whichever_party_is_not_the_page() {
        // Meta's documented shape: sender = the Page, recipient = the user.
        let parsed = p(&echo(json!(263902037430900_u64), None));
        let e = &parsed.events[0];
        assert_eq!(e.direction, Some(Direction::Outbound));
        assert_eq!(e.contact_key, "messenger:2222");
        // The shared fixture has them the other way round (entry id =
        // recipient): the customer is still the party that is not the Page.
        for name in ["echo.json", "standby_echo.json"] {
            let parsed = p(&fixture("messenger", name));
            assert_eq!(parsed.events.len(), 1, "{name}");
            assert_eq!(
                parsed.events[0].contact_key, "messenger:987654321432",
                "{name}"
            );
            assert_eq!(parsed.events[0].direction, Some(Direction::Outbound));
        }
    }

    #[test]
    fn an_echos_sender_comes_from_its_tag_then_its_app() {
        // Meta's Page inbox / Business Suite: a person answered.
        let parsed = p(&echo(json!(263902037430900_u64), None));
        assert_eq!(parsed.events[0].sender, Sender::Agent);
        assert!(parsed.unknown_apps.is_empty());
        // An app no setting names: system, and counted for the settings page.
        let parsed = p(&echo(json!(1517776481860111_u64), None));
        assert_eq!(parsed.events[0].sender, Sender::System);
        assert_eq!(
            parsed
                .unknown_apps
                .iter()
                .map(|(a, _)| a.as_str())
                .collect::<Vec<_>>(),
            ["1517776481860111"]
        );
        // The same app named as the AI.
        let mut s = Settings::for_tests();
        s.meta_ai_app_ids = vec!["1517776481860111".into()];
        let parsed = parse(&echo(json!(1517776481860111_u64), None), &s);
        assert_eq!(parsed.events[0].sender, Sender::Ai);
        // The tag wins over the app.
        let parsed = p(&echo(json!(263902037430900_u64), Some("x;leads:sender=ai")));
        assert_eq!(parsed.events[0].sender, Sender::Ai);
        let parsed = p(&echo(
            json!(1517776481860111_u64),
            Some("leads:sender=agent"),
        ));
        assert_eq!(parsed.events[0].sender, Sender::Agent);
        assert!(parsed.unknown_apps.is_empty());
        // Instagram echoes come with `messages` in the same shape.
        let mut ig = echo(json!(263902037430900_u64), None);
        ig["object"] = json!("instagram");
        let parsed = p(&ig);
        assert_eq!(parsed.events[0].channel, "instagram");
        assert_eq!(parsed.events[0].contact_key, "instagram:2222");
        assert!(parsed.events[0].is_touch());
    }

    #[test]
    fn a_lone_ad_referral_gives_the_later_lead_its_first_source() {
        let parsed = p(&fixture("messenger", "referral_ads_open_thread.json"));
        assert_eq!(parsed.events.len(), 1, "{:?}", parsed.skipped);
        let referral = &parsed.events[0];
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
        assert!(
            state
                .lead(&crate::ssr::domain::rules::Terms::default())
                .is_none()
        );
        let mut body = fixture("messenger", "text.json");
        body["entry"][0]["messaging"][0]["sender"]["id"] = json!("<USER_ID>");
        body["entry"][0]["messaging"][0]["timestamp"] = json!(1_458_692_760_000_i64);
        let msg = &p(&body).events[0];
        state.apply(msg);
        let lead = state
            .lead(&crate::ssr::domain::rules::Terms::default())
            .expect("a lead");
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
                let parsed = p(&fixture(dir, &name));
                for e in &parsed.events {
                    assert!(e.id.starts_with("fb:") || e.id.starts_with("ig:"), "{name}");
                }
            }
        }
    }
}
