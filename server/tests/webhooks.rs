//! `GET`/`POST /webhooks/whatsapp` through the router in this process, with the real
//! webhook bodies of `app/tests/fixtures/meta-webhooks/whatsapp`.

mod common;

use app::ssr::intake::signature::{sign, sign_chatwoot};
use common::InProcess;
use serde_json::{Value, json};

const SECRET: &str = "app-secret-for-tests";
const VERIFY: &str = "verify-me";
const META_SECRET: &str = "meta-secret-for-tests";
const CHATWOOT_SECRET: &str = "chatwoot-secret-for-tests";

async fn server() -> InProcess {
    InProcess::start_with_env(
        "mem://",
        &[
            ("LEADS_WHATSAPP_APP_SECRET", SECRET),
            ("LEADS_WHATSAPP_VERIFY_TOKEN", VERIFY),
            ("LEADS_META_APP_SECRET", META_SECRET),
            ("LEADS_META_VERIFY_TOKEN", "meta-verify"),
            ("LEADS_CHATWOOT_SECRET", CHATWOOT_SECRET),
        ],
    )
    .await
}

fn fixture_in(dir: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../app/tests/fixtures/meta-webhooks/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture(name: &str) -> Vec<u8> {
    fixture_in("whatsapp", name)
}

async fn post(s: &InProcess, body: &[u8], signature: Option<String>) -> (u16, Value) {
    post_to(s, "/webhooks/whatsapp", body, signature).await
}

async fn post_to(
    s: &InProcess,
    path: &str,
    body: &[u8],
    signature: Option<String>,
) -> (u16, Value) {
    let mut req = s
        .http
        .post(s.url(path))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_handshake_answers_the_challenge_only_to_the_right_token() {
    let s = server().await;
    let get = |q: &'static str| {
        let (http, url) = (s.http.clone(), s.url(&format!("/webhooks/whatsapp?{q}")));
        async move {
            let r = http.get(url).send().await.expect("request");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(
        get("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444").await,
        (200, "1158201444".into())
    );
    assert_eq!(
        get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
            .await
            .0,
        403
    );
    assert_eq!(
        get("hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1")
            .await
            .0,
        403
    );
    assert_eq!(get("hub.challenge=1").await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_ctwa_message_becomes_a_lead_with_its_ad() {
    let s = server().await;
    let body = fixture("referral_ctwa_ad_text.json");
    // Unsigned or wrongly signed: 401, nothing written.
    assert_eq!(post(&s, &body, None).await.0, 401);
    assert_eq!(
        post(&s, &body, Some(sign("not-the-secret", &body))).await.0,
        401
    );
    let (_, page) = s.get("/api/v1/leads?from=2023-10-11&to=2023-10-11").await;
    assert_eq!(page["total"], 0);

    let (status, answer) = post(&s, &body, Some(sign(SECRET, &body))).await;
    assert_eq!(
        (status, answer["accepted"].clone()),
        (200, json!(1)),
        "{answer}"
    );
    // Meta retries the same delivery: a duplicate.
    let (_, again) = post(&s, &body, Some(sign(SECRET, &body))).await;
    assert_eq!(again["duplicates"], 1);

    let (_, page) = s
        .get("/api/v1/leads?from=2023-10-11&to=2023-10-11&tz=UTC")
        .await;
    assert_eq!(page["total"], 1, "{page}");
    let lead = &page["leads"][0];
    assert_eq!(lead["phone"], "+972987654321");
    assert_eq!(lead["name"], "Test Name");
    assert_eq!(lead["channel"], "whatsapp");
    assert_eq!(lead["first_source"]["platform"], "meta");
    assert_eq!(lead["first_source"]["id"], "ADID");
    assert_eq!(lead["first_source"]["name"], "AD_TITLE");
    assert_eq!(lead["date"], "2023-10-11T17:23:20Z");

    // A body that is not JSON (but signed) is a 400, and so is JSON that
    // is no delivery: nothing of either is written.
    let junk = b"not json";
    assert_eq!(post(&s, junk, Some(sign(SECRET, junk))).await.0, 400);
    for junk in [
        &b"[1,2]"[..],
        b"{\"object\":\"whatsapp_business_account\"}",
        b"{\"entry\":{}}",
    ] {
        let (status, answer) = post(&s, junk, Some(sign(SECRET, junk))).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_body");
    }
    let (_, page) = s
        .get("/api/v1/leads?from=2023-10-11&to=2023-10-11&tz=UTC")
        .await;
    assert_eq!(page["total"], 1, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_body_is_acknowledged_and_statuses_make_no_lead() {
    let s = server().await;
    let dir = format!(
        "{}/../app/tests/fixtures/meta-webhooks/whatsapp",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|f| f.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in &names {
        let body = fixture(name);
        let (status, answer) = post(&s, &body, Some(sign(SECRET, &body))).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    // A delivery with nothing in it, or an item missing its fields, is
    // acknowledged (Meta would retry a refusal for days); `{}` is no
    // delivery at all (a bad body: 400).
    for body in [&br#"{"entry":[]}"#[..], br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"text"}]}}]}]}"#] {
        assert_eq!(post(&s, body, Some(sign(SECRET, body))).await.0, 200);
    }
    assert_eq!(post(&s, b"{}", Some(sign(SECRET, b"{}"))).await.0, 400);
    let statuses = fixture("status_read.json");
    let (_, answer) = post(&s, &statuses, Some(sign(SECRET, &statuses))).await;
    assert_eq!(
        (answer["accepted"].clone(), answer["skipped"].clone()),
        (json!(0), json!(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_the_webhook_is_unavailable() {
    let s = InProcess::start("mem://").await;
    let body = fixture("text.json");
    let (status, answer) = post(&s, &body, Some(sign(SECRET, &body))).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (503, Some("not_configured"))
    );
    let r = s
        .http
        .get(s.url("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
}

/// api.md names only the WhatsApp secret and token: with those alone,
/// Messenger and Instagram deliveries of the same Meta app are taken too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whatsapp_secret_serves_the_meta_webhook_when_it_has_none_of_its_own() {
    let s = InProcess::start_with_env(
        "mem://",
        &[
            ("LEADS_WHATSAPP_APP_SECRET", SECRET),
            ("LEADS_WHATSAPP_VERIFY_TOKEN", VERIFY),
        ],
    )
    .await;
    let r = s
        .http
        .get(s.url("/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=7"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap_or_default(), "7");
    let body = fixture_in("messenger", "text.json");
    let (status, answer) = post_to(&s, "/webhooks/meta", &body, Some(sign(SECRET, &body))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        post_to(&s, "/webhooks/meta", &body, Some(sign("another", &body)))
            .await
            .0,
        401
    );
    // The chat plugin's guest (`sender: {user_ref}`) is a lead too.
    let body = fixture_in("messenger", "postback_customer_chat_plugin_user_ref.json");
    let (status, answer) = post_to(&s, "/webhooks/meta", &body, Some(sign(SECRET, &body))).await;
    assert_eq!(status, 200, "{answer}");
    let (_, lead) = s.get("/api/v1/leads/messenger:ref:987654321432").await;
    assert_eq!(lead["lead"]["channel"], "messenger", "{lead}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messenger_and_instagram_bodies_make_leads_with_referrals_as_sources() {
    let s = server().await;
    let r =
        s.http
            .get(s.url(
                "/webhooks/meta?hub.mode=subscribe&hub.verify_token=meta-verify&hub.challenge=42",
            ))
            .send()
            .await
            .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap_or_default(), "42");
    // Every real body: acknowledged, never a 5xx.
    for dir in ["messenger", "instagram"] {
        let path = format!(
            "{}/../app/tests/fixtures/meta-webhooks/{dir}",
            env!("CARGO_MANIFEST_DIR")
        );
        for f in std::fs::read_dir(&path).expect("fixtures") {
            let name = f
                .expect("entry")
                .file_name()
                .into_string()
                .unwrap_or_default();
            let body = fixture_in(dir, &name);
            let (status, answer) =
                post_to(&s, "/webhooks/meta", &body, Some(sign(META_SECRET, &body))).await;
            assert_eq!(status, 200, "{dir}/{name}: {answer}");
        }
    }
    // The WhatsApp secret does not sign Meta's webhook.
    let body = fixture_in("messenger", "text.json");
    assert_eq!(
        post_to(&s, "/webhooks/meta", &body, Some(sign(SECRET, &body)))
            .await
            .0,
        401
    );

    // An ad referral alone, then the customer's first message a minute later.
    let referral = json!({"object": "page", "entry": [{"id": "PAGE", "time": 1_700_000_000_000_i64, "messaging": [
        {"sender": {"id": "USER-77"}, "recipient": {"id": "PAGE"}, "timestamp": 1_700_000_000_000_i64,
         "referral": {"ref": "promo", "ad_id": "6045246247433", "source": "ADS", "type": "OPEN_THREAD",
                      "ads_context_data": {"ad_title": "Diskon Akhir Tahun"}}}]}]});
    let message = json!({"object": "page", "entry": [{"id": "PAGE", "time": 1_700_000_060_000_i64, "messaging": [
        {"sender": {"id": "USER-77"}, "recipient": {"id": "PAGE"}, "timestamp": 1_700_000_060_000_i64,
         "message": {"mid": "m_77", "text": "halo kak"}}]}]});
    let b1 = serde_json::to_vec(&referral).expect("json");
    let (_, a) = post_to(&s, "/webhooks/meta", &b1, Some(sign(META_SECRET, &b1))).await;
    assert_eq!(a["accepted"], 1);
    // No message yet: no lead (rule 3).
    let (_, page) = s
        .get("/api/v1/leads?from=2023-11-14&to=2023-11-15&channel=messenger")
        .await;
    assert_eq!(page["total"], 0);
    let b2 = serde_json::to_vec(&message).expect("json");
    assert_eq!(
        post_to(&s, "/webhooks/meta", &b2, Some(sign(META_SECRET, &b2)))
            .await
            .0,
        200
    );
    let (_, page) = s
        .get("/api/v1/leads?from=2023-11-14&to=2023-11-15&channel=messenger")
        .await;
    assert_eq!(page["total"], 1, "{page}");
    let lead = &page["leads"][0];
    assert_eq!(lead["id"], "messenger:USER-77");
    assert_eq!(lead["date"], "2023-11-14T22:14:20Z");
    assert_eq!(lead["first_source"]["id"], "6045246247433");
    assert_eq!(lead["first_source"]["name"], "Diskon Akhir Tahun");
}

// ---- Real-channel sequences (shared/spec/channels.md) ----

/// A WhatsApp delivery of one `messages`-field value.
fn wa(value: Value) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA-1",
        "changes": [{"field": "messages", "value": value}]}]}),
    )
    .expect("json")
}

/// A customer's text at Unix time `at`.
fn wa_text(id: &str, from: Option<&str>, user: Option<&str>, at: i64) -> Vec<u8> {
    let mut m = json!({"id": id, "timestamp": at.to_string(), "type": "text", "text": {"body": "Halo kak, ready?"}});
    let mut contact = json!({"profile": {"name": "Sari"}});
    if let Some(f) = from {
        m["from"] = json!(f);
        contact["wa_id"] = json!(f);
    }
    if let Some(u) = user {
        m["from_user_id"] = json!(u);
        contact["user_id"] = json!(u);
    }
    wa(
        json!({"metadata": {"display_phone_number": "15550001111", "phone_number_id": "1"},
        "contacts": [contact], "messages": [m]}),
    )
}

/// The business's message as WhatsApp reports it: a `sent` status.
fn wa_sent(id: &str, to: &str, at: i64, category: &str, tag: Option<&str>) -> Vec<u8> {
    let mut st = json!({"id": id, "status": "sent", "timestamp": at.to_string(), "recipient_id": to,
        "conversation": {"id": "c1", "origin": {"type": category}},
        "pricing": {"billable": true, "pricing_model": "PMP", "category": category}});
    if let Some(t) = tag {
        st["biz_opaque_callback_data"] = json!(t);
    }
    wa(
        json!({"metadata": {"display_phone_number": "15550001111", "phone_number_id": "1"}, "statuses": [st]}),
    )
}

async fn deliver(s: &InProcess, body: &[u8]) -> Value {
    let (status, answer) = post(s, body, Some(sign(SECRET, body))).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The leads of 2025-06-01 (UTC).
async fn june_first(s: &InProcess) -> Value {
    s.get("/api/v1/leads?from=2025-06-01&to=2025-06-01&tz=UTC")
        .await
        .1
}

const T0: i64 = 1_748_772_000; // 2025-06-01T10:00:00Z

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_seen_only_as_a_sent_status_answers_the_lead_in_either_order() {
    let s = server().await;
    // Reply after the message.
    deliver(&s, &wa_text("wamid.A1", Some("6281111111111"), None, T0)).await;
    let page = june_first(&s).await;
    assert_eq!(page["total"], 1);
    assert!(page["leads"][0]["first_touched_at"].is_null());
    deliver(
        &s,
        &wa_sent("wamid.R1", "6281111111111", T0 + 90, "service", None),
    )
    .await;
    // Its receipts change nothing.
    let mut read = wa_sent("wamid.R1", "6281111111111", T0 + 95, "service", None);
    read = String::from_utf8(read)
        .expect("utf8")
        .replace("\"sent\"", "\"read\"")
        .into_bytes();
    let a = deliver(&s, &read).await;
    assert_eq!(
        (a["accepted"].clone(), a["ignored"].clone()),
        (json!(0), json!(1))
    );
    // The status arrives before the message it answers.
    deliver(
        &s,
        &wa_sent("wamid.R2", "6282222222222", T0 + 300, "service", None),
    )
    .await;
    deliver(
        &s,
        &wa_text("wamid.B1", Some("6282222222222"), None, T0 + 200),
    )
    .await;
    // A template is no answer; a bot's tagged template is.
    deliver(&s, &wa_text("wamid.C1", Some("6283333333333"), None, T0)).await;
    deliver(
        &s,
        &wa_sent("wamid.T1", "6283333333333", T0 + 10, "marketing", None),
    )
    .await;
    deliver(&s, &wa_text("wamid.D1", Some("6284444444444"), None, T0)).await;
    deliver(
        &s,
        &wa_sent(
            "wamid.T2",
            "6284444444444",
            T0 + 20,
            "utility",
            Some("flow=7;leads:sender=ai"),
        ),
    )
    .await;

    let page = june_first(&s).await;
    assert_eq!(page["total"], 4, "{page}");
    let touched = |phone: &str| first_touched(&page, "phone", phone).unwrap_or(Value::Null);
    assert_eq!(touched("+6281111111111"), json!("2025-06-01T10:01:30Z"));
    assert_eq!(touched("+6282222222222"), json!("2025-06-01T10:05:00Z"));
    assert_eq!(touched("+6283333333333"), Value::Null);
    assert_eq!(touched("+6284444444444"), json!("2025-06-01T10:00:20Z"));
    // The detail names who answered.
    let (_, d) = s.get("/api/v1/leads/%2B6284444444444").await;
    let senders: Vec<&str> = d["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["sender"].as_str())
        .collect();
    assert_eq!(senders, ["customer", "ai"], "{d}");
}

/// One delivery carrying two copies of one business message (the Business
/// app's echo and its `sent` status without a category): joined as if
/// they came apart, so the echo's person answers in either order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_of_a_reply_in_one_delivery_are_joined() {
    let to = "6281110000021";
    let status = json!({"field": "messages", "value": {
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1"},
        "statuses": [{"id": "wamid.J1", "status": "sent", "timestamp": (T0 + 30).to_string(),
                      "recipient_id": to}]}});
    let echo = json!({"field": "smb_message_echoes", "value": {
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1"},
        "message_echoes": [{"from": "15550001111", "to": to, "id": "wamid.J1",
                            "timestamp": (T0 + 31).to_string(), "type": "text", "text": {"body": "Siap kak"}}]}});
    let mut leads = Vec::new();
    for changes in [json!([status, echo]), json!([echo, status])] {
        let s = server().await;
        deliver(&s, &wa_text("wamid.I1", Some(to), None, T0)).await;
        let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account",
            "entry": [{"id": "WABA-1", "changes": changes}]}))
        .expect("json");
        let a = deliver(&s, &body).await;
        assert_eq!(
            (&a["accepted"], &a["duplicates"]),
            (&json!(1), &json!(1)),
            "{a}"
        );
        let page = june_first(&s).await;
        assert_eq!(page["total"], 1, "{page}");
        leads.push(page["leads"][0].clone());
    }
    assert_eq!(leads[0], leads[1]);
    assert_eq!(leads[0]["first_touched_at"], "2025-06-01T10:00:30Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_groups_notices_and_chat_opens_make_no_lead() {
    let s = server().await;
    for name in [
        "reaction.json",
        "reaction_removed.json",
        "bsuid_group_text_no_from.json",
        "system_identity_change.json",
    ] {
        let body = fixture(name);
        let a = deliver(&s, &body).await;
        assert_eq!(a["accepted"], 0, "{name}: {a}");
    }
    // The chat opened from an ad, nothing typed: no lead, but the ad is
    // the First Source of the message that comes later.
    let open = wa(
        json!({"messages": [{"from": "6285555555555", "id": "wamid.W1", "timestamp": T0.to_string(),
        "type": "request_welcome", "referral": {"source_id": "120210000000000009", "source_type": "ad", "headline": "Promo Juni"}}]}),
    );
    deliver(&s, &open).await;
    assert_eq!(june_first(&s).await["total"], 0);
    deliver(
        &s,
        &wa_text("wamid.W2", Some("6285555555555"), None, T0 + 600),
    )
    .await;
    let page = june_first(&s).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["leads"][0]["first_source"]["id"], "120210000000000009");
    assert_eq!(page["leads"][0]["date"], "2025-06-01T10:10:00Z");
    // What was left out is counted for admins.
    let (_, stats) = s.get("/api/v1/stats").await;
    let dropped = &stats["intake"]["whatsapp"]["dropped"];
    assert_eq!(dropped["reaction"], 2, "{stats}");
    assert_eq!(dropped["group"], 1);
    assert_eq!(dropped["notice"], 1);
    assert_eq!(stats["intake"]["whatsapp"]["events"]["referral"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_is_one_lead_across_username_phone_and_number_changes() {
    let s = server().await;
    // A user who hides the phone writes first: a lead under the user id.
    deliver(&s, &wa_text("wamid.U1", None, Some("US.900"), T0)).await;
    let page = june_first(&s).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["leads"][0]["id"], "whatsapp:US.900");
    // It shows the user id where the phone goes ("else the user id").
    assert_eq!(page["leads"][0]["phone"], "US.900");
    // A second person writes with a phone only, later.
    deliver(
        &s,
        &wa_text("wamid.P1", Some("6286666666666"), None, T0 + 60),
    )
    .await;
    assert_eq!(june_first(&s).await["total"], 2);
    // Then a message ties that phone to the user id: one lead, dated by
    // the earliest message of either, shown with the phone.
    deliver(
        &s,
        &wa_text("wamid.P2", Some("6286666666666"), Some("US.900"), T0 + 120),
    )
    .await;
    let page = june_first(&s).await;
    assert_eq!(page["total"], 1, "{page}");
    let lead = &page["leads"][0];
    assert_eq!(lead["phone"], "+6286666666666");
    assert_eq!(lead["date"], "2025-06-01T10:00:00Z");
    // A reply to the user id answers the one lead.
    let reply = wa(
        json!({"statuses": [{"id": "wamid.R9", "status": "sent", "timestamp": (T0 + 180).to_string(),
        "recipient_user_id": "US.900", "pricing": {"category": "service"}}]}),
    );
    deliver(&s, &reply).await;
    let page = june_first(&s).await;
    assert_eq!(page["leads"][0]["first_touched_at"], "2025-06-01T10:03:00Z");
    // The number changes; the new number writes: still one lead, now
    // shown with the new number, found by the old one and by the new one.
    let change = wa(
        json!({"messages": [{"from": "6286666666666", "id": "wamid.S1", "timestamp": (T0 + 240).to_string(),
        "type": "system", "system": {"body": "changed", "wa_id": "6287777777777", "type": "user_changed_number"}}]}),
    );
    deliver(&s, &change).await;
    deliver(
        &s,
        &wa_text("wamid.N1", Some("6287777777777"), None, T0 + 300),
    )
    .await;
    let page = june_first(&s).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["leads"][0]["phone"], "+6287777777777");
    let id = page["leads"][0]["id"]
        .as_str()
        .unwrap_or("")
        .replace('+', "%2B");
    let (status, detail) = s.get(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        detail["events"].as_array().map(Vec::len),
        Some(6),
        "{detail}"
    );
    for alias in ["%2B6286666666666", "%2B6287777777777", "whatsapp:US.900"] {
        let (status, _) = s.get(&format!("/api/v1/leads/{alias}")).await;
        assert_eq!(status, 200, "{alias}");
    }
    // The search finds it by either number, in any form.
    for q in [
        "0866-6666-6666",
        "6287777777777",
        "%2B62%20866%206666%206666",
    ] {
        let (_, page) = s
            .get(&format!(
                "/api/v1/leads?from=2025-06-01&to=2025-06-01&tz=UTC&q={q}"
            ))
            .await;
        assert_eq!(page["total"], 1, "{q}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_echoes_count_by_their_app_and_unknown_apps_are_listed() {
    let s = server().await;
    let msg = |user: &str, mid: &str, at: i64| {
        json!({"object": "page", "entry": [{"id": "PAGE-1", "time": at, "messaging": [
            {"sender": {"id": user}, "recipient": {"id": "PAGE-1"}, "timestamp": at, "message": {"mid": mid, "text": "halo"}}]}]})
    };
    let echo = |user: &str, mid: &str, at: i64, app: u64| {
        json!({"object": "page", "entry": [{"id": "PAGE-1", "time": at, "messaging": [
            {"sender": {"id": "PAGE-1"}, "recipient": {"id": user}, "timestamp": at,
             "message": {"mid": mid, "is_echo": true, "app_id": app, "text": "Halo kak"}}]}]})
    };
    let ms = T0 * 1000;
    // The unknown app's echo comes three times (Meta retries a delivery
    // it saw no answer to): its reply counts once.
    for body in [
        msg("U-1", "m1", ms),
        echo("U-1", "m2", ms + 30_000, 263902037430900),
        msg("U-2", "m3", ms),
        echo("U-2", "m4", ms + 30_000, 1517776481860111),
        echo("U-2", "m4", ms + 30_000, 1517776481860111),
        echo("U-2", "m4", ms + 30_000, 1517776481860111),
    ] {
        let b = serde_json::to_vec(&body).expect("json");
        let (status, a) = post_to(&s, "/webhooks/meta", &b, Some(sign(META_SECRET, &b))).await;
        assert_eq!(status, 200, "{a}");
    }
    let page = s
        .get("/api/v1/leads?from=2025-06-01&to=2025-06-01&tz=UTC&channel=messenger")
        .await
        .1;
    assert_eq!(page["total"], 2, "{page}");
    let touched = |id: &str| first_touched(&page, "id", id);
    assert_eq!(
        touched("messenger:U-1"),
        Some(json!("2025-06-01T10:00:30Z"))
    );
    assert_eq!(touched("messenger:U-2"), Some(Value::Null));
    let (_, stats) = s.get("/api/v1/stats").await;
    assert_eq!(
        stats["intake"]["meta"]["unknown_echo_apps"]["1517776481860111"], 1,
        "{stats}"
    );
    assert_eq!(stats["intake"]["meta"]["events"]["reply_agent"], 1);
    assert_eq!(stats["intake"]["meta"]["events"]["outbound_system"], 1);
    assert_eq!(stats["intake"]["meta"]["deliveries"], 6);
}

/// First Touched At of the lead on `page` whose `field` is `value`.
fn first_touched(page: &Value, field: &str, value: &str) -> Option<Value> {
    page["leads"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l[field] == value)
        .map(|l| l["first_touched_at"].clone())
}

/// A Chatwoot delivery signed as Chatwoot signs it, `age` seconds old.
async fn chatwoot(s: &InProcess, body: &Value, secret: &str, age: i64) -> (u16, Value) {
    let raw = serde_json::to_vec(body).expect("json");
    let ts = chrono::Utc::now().timestamp() - age;
    let r = s
        .http
        .post(s.url("/webhooks/chatwoot"))
        .header("Content-Type", "application/json")
        .header("X-Chatwoot-Timestamp", ts.to_string())
        .header("X-Chatwoot-Signature", sign_chatwoot(secret, ts, &raw))
        .body(raw)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn cw_message(id: u64, message_type: &str, sender: Value, at: &str, phone: &str) -> Value {
    let contact = json!({"id": 11, "name": "Budi", "phone_number": phone, "type": "contact"});
    json!({"event": "message_created", "id": id, "content": "Halo", "content_type": "text",
        "content_attributes": {}, "created_at": at, "message_type": message_type, "private": false,
        "source_id": null, "sender": if message_type == "incoming" { contact.clone() } else { sender },
        "account": {"id": 7, "name": "Toko"}, "inbox": {"id": 3, "name": "WA"},
        "conversation": {"id": 42, "channel": "Channel::Whatsapp",
            "contact_inbox": {"source_id": phone.trim_start_matches('+')}, "meta": {"sender": contact}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatwoot_replies_count_by_who_sent_them_and_forgeries_are_refused() {
    let s = server().await;
    let first = cw_message(
        1,
        "incoming",
        Value::Null,
        "2025-06-01T10:00:00Z",
        "+6281000000001",
    );
    // Forged, stale or unsigned: 401, nothing written; the message names
    // Chatwoot's headers, not Meta's.
    let (status, answer) = chatwoot(&s, &first, "not-the-secret", 0).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], "invalid_signature");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("X-Chatwoot-Signature"), "{answer}");
    assert!(!message.contains("X-Hub-Signature-256"), "{answer}");
    assert_eq!(chatwoot(&s, &first, CHATWOOT_SECRET, 301).await.0, 401);
    assert_eq!(chatwoot(&s, &first, CHATWOOT_SECRET, -301).await.0, 401);
    // Signed JSON that is no Chatwoot delivery: 400.
    let (status, answer) = chatwoot(&s, &json!({"id": 1}), CHATWOOT_SECRET, 0).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (400, &json!("invalid_body"))
    );
    let r = s
        .http
        .post(s.url("/webhooks/chatwoot"))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&first).expect("json"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    assert_eq!(june_first(&s).await["total"], 0);

    let agent = json!({"id": 1, "name": "Rina", "type": "user"});
    let bot = json!({"id": 2, "name": "Bot", "type": "agent_bot"});
    let mut note = cw_message(
        3,
        "outgoing",
        agent.clone(),
        "2025-06-01T10:00:30Z",
        "+6281000000001",
    );
    note["private"] = json!(true);
    let deliveries = [
        first,
        // A private note and a template are no answers; the agent's reply is.
        note,
        cw_message(
            4,
            "template",
            Value::Null,
            "2025-06-01T10:00:40Z",
            "+6281000000001",
        ),
        cw_message(
            5,
            "outgoing",
            agent,
            "2025-06-01T10:02:00Z",
            "+6281000000001",
        ),
        // The second customer is answered by the bot.
        cw_message(
            6,
            "incoming",
            Value::Null,
            "2025-06-01T11:00:00Z",
            "+6281000000002",
        ),
        cw_message(7, "outgoing", bot, "2025-06-01T11:00:05Z", "+6281000000002"),
        // The third only gets an automation message.
        cw_message(
            8,
            "incoming",
            Value::Null,
            "2025-06-01T12:00:00Z",
            "+6281000000003",
        ),
        cw_message(
            9,
            "outgoing",
            Value::Null,
            "2025-06-01T12:00:01Z",
            "+6281000000003",
        ),
    ];
    for d in &deliveries {
        let (status, a) = chatwoot(&s, d, CHATWOOT_SECRET, 0).await;
        assert_eq!(status, 200, "{a}");
    }
    // A retry of the same delivery is a duplicate.
    let (_, again) = chatwoot(&s, &deliveries[0], CHATWOOT_SECRET, 0).await;
    assert_eq!(again["duplicates"], 1);
    let page = june_first(&s).await;
    assert_eq!(page["total"], 3, "{page}");
    let touched = |phone: &str| first_touched(&page, "phone", phone);
    assert_eq!(
        touched("+6281000000001"),
        Some(json!("2025-06-01T10:02:00Z"))
    );
    assert_eq!(
        touched("+6281000000002"),
        Some(json!("2025-06-01T11:00:05Z"))
    );
    assert_eq!(touched("+6281000000003"), Some(Value::Null));
    let (_, stats) = s.get("/api/v1/stats").await;
    assert_eq!(stats["intake"]["chatwoot"]["refused"], 4, "{stats}");
    assert_eq!(stats["intake"]["chatwoot"]["dropped"]["private_note"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_seen_by_metas_webhook_and_chatwoot_is_one_event() {
    let s = server().await;
    deliver(&s, &wa_text("wamid.SAME1", Some("6289000000001"), None, T0)).await;
    let mut m = cw_message(
        20,
        "incoming",
        Value::Null,
        "2025-06-01T10:00:00Z",
        "+6289000000001",
    );
    m["source_id"] = json!("wamid.SAME1");
    let (status, a) = chatwoot(&s, &m, CHATWOOT_SECRET, 0).await;
    assert_eq!((status, a["duplicates"].clone()), (200, json!(1)), "{a}");
}

/// Each message's two copies, Meta's and Chatwoot's, Meta's first or second.
async fn deliver_pairs(s: &InProcess, pairs: &[(Vec<u8>, Value)], meta_first: bool) {
    for (meta, chatwoot_copy) in pairs {
        if !meta_first {
            assert_eq!(chatwoot(s, chatwoot_copy, CHATWOOT_SECRET, 0).await.0, 200);
        }
        deliver(s, meta).await;
        if meta_first {
            assert_eq!(chatwoot(s, chatwoot_copy, CHATWOOT_SECRET, 0).await.0, 200);
        }
    }
}

/// Meta's webhook and Chatwoot send each message of a conversation, with
/// their own times, names and senders: either order gives the same lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metas_and_chatwoots_copies_give_the_same_lead_in_either_order() {
    let phone = "+6289000000002";
    let cw = |id: u64, kind: &str, sender: Value, at: &str, wamid: &str| {
        let mut m = cw_message(id, kind, sender, at, phone);
        m["source_id"] = json!(wamid);
        m
    };
    let mut automation = cw(
        31,
        "outgoing",
        Value::Null,
        "2025-06-01T10:00:30Z",
        "wamid.X2",
    );
    automation["content_attributes"]["automation_rule_id"] = json!(5);
    let agent = json!({"id": 1, "name": "Rina", "type": "user"});
    // Each message as (Meta's copy, Chatwoot's copy).
    let pairs = [
        (
            wa_text("wamid.X1", Some(&phone[1..]), None, T0),
            cw(
                30,
                "incoming",
                Value::Null,
                "2025-06-01T10:00:02Z",
                "wamid.X1",
            ),
        ),
        (
            wa_sent("wamid.X2", &phone[1..], T0 + 31, "service", None),
            automation,
        ),
        (
            wa_sent("wamid.X3", &phone[1..], T0 + 121, "service", None),
            cw(32, "outgoing", agent, "2025-06-01T10:02:00Z", "wamid.X3"),
        ),
    ];
    let mut leads = Vec::new();
    for meta_first in [true, false] {
        let s = server().await;
        deliver_pairs(&s, &pairs, meta_first).await;
        let page = june_first(&s).await;
        assert_eq!(page["total"], 1, "{page}");
        leads.push(page["leads"][0].clone());
    }
    assert_eq!(leads[0], leads[1]);
    assert_eq!(leads[0]["date"], "2025-06-01T10:00:00Z");
    // The automation's message is no answer; the agent's is, at Chatwoot's time.
    assert_eq!(leads[0]["first_touched_at"], "2025-06-01T10:02:00Z");
}

/// An agent edited the customer's number in Chatwoot: its copies name the
/// edited number, Meta's the WhatsApp number. Chatwoot's payload ties the
/// two (the conversation's source id), so either order gives one lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_chatwoot_number_and_metas_give_one_lead_in_either_order() {
    let wa_number = "+6289000000004";
    let edited = "+6281111111112";
    let cw = |id: u64, kind: &str, sender: Value, at: &str, wamid: &str| {
        let mut m = cw_message(id, kind, sender, at, wa_number);
        m["source_id"] = json!(wamid);
        m["conversation"]["meta"]["sender"]["phone_number"] = json!(edited);
        if kind == "incoming" {
            m["sender"]["phone_number"] = json!(edited);
        }
        m
    };
    let agent = json!({"id": 1, "name": "Rina", "type": "user"});
    let pairs = [
        (
            wa_text("wamid.E1", Some(&wa_number[1..]), None, T0),
            cw(
                40,
                "incoming",
                Value::Null,
                "2025-06-01T10:00:02Z",
                "wamid.E1",
            ),
        ),
        (
            wa_sent("wamid.E2", &wa_number[1..], T0 + 121, "service", None),
            cw(41, "outgoing", agent, "2025-06-01T10:02:00Z", "wamid.E2"),
        ),
    ];
    let mut leads = Vec::new();
    for meta_first in [true, false] {
        let s = server().await;
        deliver_pairs(&s, &pairs, meta_first).await;
        let page = june_first(&s).await;
        assert_eq!(page["total"], 1, "meta first: {meta_first}: {page}");
        let lead = page["leads"][0].clone();
        assert_eq!(lead["date"], "2025-06-01T10:00:00Z", "{lead}");
        assert_eq!(lead["first_touched_at"], "2025-06-01T10:02:00Z", "{lead}");
        // Found by either number.
        for q in ["6289000000004", "6281111111112"] {
            let (_, found) = s
                .get(&format!(
                    "/api/v1/leads?from=2025-06-01&to=2025-06-01&tz=UTC&q={q}"
                ))
                .await;
            assert_eq!(found["total"], 1, "{q}: {found}");
        }
        leads.push(lead);
    }
    assert_eq!(leads[0], leads[1]);
}

/// A web visitor writes before an agent saves their number in Chatwoot:
/// the messages before and after are one person, one lead, in any order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_whose_number_is_saved_later_is_one_lead() {
    let visitor = |id: u64, kind: &str, sender: Value, at: &str, phone: Option<&str>| {
        let mut m = cw_message(id, kind, sender, at, phone.unwrap_or(""));
        m["conversation"]["channel"] = json!("Channel::WebWidget");
        m["conversation"]["contact_inbox"]["source_id"] = json!("a1b2c3d4-visitor");
        let number = phone.map_or(Value::Null, |p| json!(p));
        m["conversation"]["meta"]["sender"]["phone_number"] = number.clone();
        if m["sender"]["type"] == "contact" {
            m["sender"]["phone_number"] = number;
        }
        m
    };
    let agent = json!({"id": 1, "name": "Rina", "type": "user"});
    let deliveries = [
        visitor(41, "incoming", Value::Null, "2025-06-01T10:00:00Z", None),
        visitor(
            42,
            "outgoing",
            agent,
            "2025-06-01T10:01:00Z",
            Some("+6281222000001"),
        ),
        visitor(
            43,
            "incoming",
            Value::Null,
            "2025-06-01T11:00:00Z",
            Some("+6281222000001"),
        ),
    ];
    let mut leads = Vec::new();
    for order in [[0, 1, 2], [2, 1, 0]] {
        let s = server().await;
        for i in order {
            let (status, a) = chatwoot(&s, &deliveries[i], CHATWOOT_SECRET, 0).await;
            assert_eq!(status, 200, "{a}");
        }
        let page = june_first(&s).await;
        assert_eq!(page["total"], 1, "{page}");
        leads.push(page["leads"][0].clone());
    }
    assert_eq!(leads[0], leads[1]);
    assert_eq!(leads[0]["date"], "2025-06-01T10:00:00Z");
    assert_eq!(leads[0]["phone"], "+6281222000001");
    assert_eq!(leads[0]["first_touched_at"], "2025-06-01T10:01:00Z");
}

/// The default view, as the page calls it with no query string at all
/// (the live update of a bare `/`): the server functions answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_server_functions_answer_without_any_filter() {
    let s = server().await;
    for f in ["/srv/leads", "/srv/dashboard"] {
        let r = s
            .http
            .post(s.url(f))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Origin", s.base.clone())
            .body("lang=Id")
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        assert_eq!(status, 200, "{f}: {text}");
    }
}

/// A Click-to-WhatsApp lead, answered, that Meta later detects buying
/// (`automatic_events`, matched by its click id): a buyer on the Leads
/// page and in the ads report, marked as detected by Meta.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_meta_detects_is_the_clicks_lead() {
    let s = server().await;
    let at = chrono::Utc::now().timestamp() - 3600;
    let body = |value: Value, field: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1",
               "changes": [{"field": field, "value": value}]}]})
        .to_string()
    };
    // Meta's detection can arrive before the message it is about.
    let detected = body(
        json!({"messaging_product": "whatsapp",
               "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1"},
               "automatic_events": [{"id": "wamid.BUY", "event_name": "Purchase", "timestamp": at + 600,
                                     "ctwa_clid": "CLICK-1", "custom_data": {"currency": "IDR", "value": 250000}}]}),
        "automatic_events",
    );
    let message = body(
        json!({"messaging_product": "whatsapp",
               "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "1"},
               "contacts": [{"profile": {"name": "Budi"}, "wa_id": "6281234500001"}],
               "messages": [{"from": "6281234500001", "id": "wamid.IN", "timestamp": at.to_string(), "type": "text",
                             "text": {"body": "halo"},
                             "referral": {"source_id": "120400001", "source_type": "ad", "headline": "Kopi A",
                                          "ctwa_clid": "CLICK-1"}}]}),
        "messages",
    );
    for b in [detected, message] {
        let sig = app::ssr::intake::signature::sign(SECRET, b.as_bytes());
        let (status, answer) = post(&s, b.as_bytes(), Some(sig)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (_, page) = s.get("/api/v1/leads?quality=buyer").await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["leads"][0]["id"], "+6281234500001");
    let (_, sum) = s.get("/api/v1/leads/summary?quality=buyer").await;
    assert_eq!(sum["revenue"], 250000);
    let (_, detail) = s.get("/api/v1/leads/%2B6281234500001").await;
    let conv = detail["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "conversion"))
        .cloned()
        .expect("the purchase on the lead");
    assert_eq!(conv["conversion"]["detected_by"], "meta");
    let (_, ads) = s.get("/api/v1/ads").await;
    assert_eq!(ads["rows"][0]["source"]["id"], "120400001");
    assert_eq!(ads["rows"][0]["buyers"], 1);
}
