//! `GET`/`POST /webhooks/whatsapp` against the real server, with the real
//! webhook bodies of `app/tests/fixtures/meta-webhooks/whatsapp`.

mod common;

use app::ssr::webhooks::signature::sign;
use common::Server;
use serde_json::{Value, json};

const SECRET: &str = "app-secret-for-tests";
const VERIFY: &str = "verify-me";
const META_SECRET: &str = "meta-secret-for-tests";

async fn server() -> Server {
    Server::start_with_env(
        "mem://",
        &[
            ("LEADS_WHATSAPP_APP_SECRET", SECRET),
            ("LEADS_WHATSAPP_VERIFY_TOKEN", VERIFY),
            ("LEADS_META_APP_SECRET", META_SECRET),
            ("LEADS_META_VERIFY_TOKEN", "meta-verify"),
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

async fn post(s: &Server, body: &[u8], signature: Option<String>) -> (u16, Value) {
    post_to(s, "/webhooks/whatsapp", body, signature).await
}

async fn post_to(s: &Server, path: &str, body: &[u8], signature: Option<String>) -> (u16, Value) {
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

#[tokio::test]
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

#[tokio::test]
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

    // A body that is not JSON (but signed) is a 400.
    let junk = b"not json";
    assert_eq!(post(&s, junk, Some(sign(SECRET, junk))).await.0, 400);
}

#[tokio::test]
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
    for body in [&b"{}"[..], br#"{"entry":[]}"#, br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"text"}]}}]}]}"#] {
        assert_eq!(post(&s, body, Some(sign(SECRET, body))).await.0, 200);
    }
    let statuses = fixture("status_read.json");
    let (_, answer) = post(&s, &statuses, Some(sign(SECRET, &statuses))).await;
    assert_eq!(
        (answer["accepted"].clone(), answer["skipped"].clone()),
        (json!(0), json!(0))
    );
}

#[tokio::test]
async fn without_a_secret_the_webhook_is_unavailable() {
    let s = Server::start("mem://").await;
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

#[tokio::test]
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
