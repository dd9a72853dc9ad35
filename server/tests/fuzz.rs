//! Hostile input at every door: the events endpoint, both webhooks (with
//! valid signatures, so the parsers are reached), every query parameter and
//! the page's server functions. Every answer must be a 2xx or a 4xx with a
//! JSON error, never a 5xx or a crash; nothing invalid is written.
//! Deterministic (seeded), a few thousand requests.

mod common;

use app::ssr::intake::signature::sign;
use common::{Rng, Server, TOKEN};
use serde_json::{Value, json};

const SECRET: &str = "fuzz-secret";

fn valid_event(i: usize) -> Value {
    json!({"id": format!("ok-{i}"), "occurred_at": "2026-11-20T10:00:00Z", "channel": "whatsapp",
           "direction": "inbound", "contact": {"phone": "+6281234567890", "name": "Budi"},
           "source": {"platform": "meta", "type": "ad", "id": "1202", "name": "Promo"}})
}

/// Bodies that are never a valid batch.
fn invalid_bodies() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        "",
        "{",
        "[",
        "]",
        "null",
        "1",
        "\"x\"",
        "true",
        "[1,2]",
        "[null]",
        "{}",
        "[{}]",
        "{\"id\":1}",
        "[[]]",
        "\u{0}",
        "{\"id\": \"a\"}x",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    // Deep nesting, in an array and inside a field.
    out.push(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes());
    let mut deep = valid_event(0);
    deep["contact"]["name"] =
        serde_json::from_str(&format!("{}1{}", "[".repeat(100), "]".repeat(100)))
            .unwrap_or(Value::Null);
    out.push(deep.to_string().into_bytes());
    // Invalid UTF-8 inside a string.
    let mut bytes = valid_event(0).to_string().into_bytes();
    let at = bytes.windows(4).position(|w| w == b"Budi").unwrap_or(0);
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    out.push(bytes);
    // A huge string (under the body limit, over every field limit).
    let mut huge = valid_event(0);
    huge["contact"]["name"] = json!("x".repeat(7_000_000));
    out.push(huge.to_string().into_bytes());
    // Wrong types and bad values, one field at a time.
    let wrong: Vec<(&[&str], Value)> = vec![
        (&["id"], json!(null)),
        (&["id"], json!("")),
        (&["id"], json!(1.5)),
        (&["id"], json!({"a": 1})),
        (&["id"], json!("x".repeat(257))),
        (&["occurred_at"], json!("2026-13-45T10:00:00Z")),
        (&["occurred_at"], json!("-262143-01-01T00:00:00Z")),
        (&["occurred_at"], json!("+275760-09-13T00:00:00Z")),
        (&["occurred_at"], json!("yesterday")),
        (&["occurred_at"], json!(1e300)),
        (&["occurred_at"], json!(-1)),
        (&["occurred_at"], json!("")),
        (&["channel"], json!("")),
        (&["channel"], json!(["whatsapp"])),
        (&["channel"], json!("x".repeat(10_000))),
        (&["direction"], json!("sideways")),
        (&["direction"], json!(true)),
        (&["contact"], json!(null)),
        (&["contact"], json!("+6281234567890")),
        (&["contact"], json!({})),
        (&["contact", "phone"], json!("+")),
        (&["contact", "phone"], json!("++62")),
        (&["contact", "phone"], json!("0".repeat(65))),
        (
            &["contact", "phone"],
            json!(format!("+62{}", "9".repeat(60))),
        ),
        (&["contact", "phone"], json!("١٢٣٤٥٦٧٨٩٠")),
        (&["contact", "phone"], json!("<script>alert(1)</script>")),
        (&["contact", "phone"], json!("\u{0}\u{0}")),
        (&["contact", "phone"], json!(6.28123456789e12)),
        (&["contact", "phone"], json!(-6281234567890i64)),
        (&["contact", "phone"], json!([1, 2])),
        (&["contact", "email"], json!("not an e-mail")),
        (&["contact", "name"], json!({"first": "Budi"})),
        (&["source"], json!("meta")),
        (&["source", "url"], json!("u".repeat(5000))),
        (&["source", "platform"], json!(12)),
    ];
    for (path, v) in wrong {
        let mut e = valid_event(0);
        let mut at = &mut e;
        for (i, key) in path.iter().enumerate() {
            if i + 1 == path.len() {
                at[*key] = v.clone();
            } else {
                at = &mut at[*key];
            }
        }
        out.push(e.to_string().into_bytes());
        // The same bad event inside an otherwise valid batch: all refused.
        out.push(json!([valid_event(1), e]).to_string().into_bytes());
    }
    // A batch over the limit.
    out.push(
        Value::Array((0..1001).map(valid_event).collect())
            .to_string()
            .into_bytes(),
    );
    out
}

/// Random byte changes to a valid event: some stay valid, most do not.
fn mutations(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let base = json!([valid_event(7), valid_event(8)])
        .to_string()
        .into_bytes();
    let alphabet = b"{}[]\",:\\0123456789-+eE. aZ\x00\xff\xc3";
    (0..n)
        .map(|_| {
            let mut b = base.clone();
            for _ in 0..1 + rng.below(4) as usize {
                let at = rng.below(b.len() as u64) as usize;
                match rng.below(3) {
                    0 => b[at] = alphabet[rng.below(alphabet.len() as u64) as usize],
                    1 => {
                        b.remove(at);
                    }
                    _ => b.insert(at, alphabet[rng.below(alphabet.len() as u64) as usize]),
                }
            }
            b
        })
        .collect()
}

/// A 2xx, or a 4xx whose body is the JSON error shape.
async fn check(r: reqwest::Response, what: &str) -> u16 {
    let status = r.status().as_u16();
    assert!(status < 500, "{what}: answered {status}");
    if status >= 400 {
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(
            v["error"]["code"].is_string(),
            "{what}: {status} without a JSON error: {v}"
        );
    }
    status
}

#[tokio::test]
async fn hostile_input_never_gets_a_server_error_and_writes_nothing() {
    let s = Server::start_with_env(
        "mem://",
        &[
            ("LEADS_WHATSAPP_APP_SECRET", SECRET),
            ("LEADS_META_APP_SECRET", SECRET),
        ],
    )
    .await;
    let api = reqwest::Client::new();
    let post = |path: &str, body: Vec<u8>, signed: bool| {
        let mut req = api
            .post(s.url(path))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json");
        if signed {
            req = req.header("x-hub-signature-256", sign(SECRET, &body));
        }
        req.body(body)
    };

    // Invalid batches: refused, nothing written.
    let invalid = invalid_bodies();
    for (i, body) in invalid.iter().enumerate() {
        let r = post("/api/v1/events", body.clone(), false)
            .send()
            .await
            .expect("events");
        let status = check(r, &format!("invalid body {i}")).await;
        assert!(
            (400..500).contains(&status),
            "invalid body {i} answered {status}"
        );
    }
    let (_, page) = s.get("/api/v1/leads?from=2026-01-01&to=2026-12-31").await;
    assert_eq!(page["total"], 0, "nothing invalid was written");

    // Random mutations: valid ones are stored, the rest refused, no 5xx.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (i, body) in mutations(&mut rng, 400).into_iter().enumerate() {
        let r = post("/api/v1/events", body, false)
            .send()
            .await
            .expect("events");
        check(r, &format!("mutation {i}")).await;
    }

    // Webhooks, correctly signed, with every body above and mutated real
    // shapes: parsed without a 5xx.
    let wa = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1"},
                  "contacts": [{"profile": {"name": "Budi"}, "wa_id": "6281234567890"}],
                  "messages": [{"from": "6281234567890", "id": "wamid.X", "timestamp": "1764300000", "type": "text",
                                "text": {"body": "halo"}}]}}]}]});
    let meta = json!({"object": "page", "entry": [{"id": "1", "time": 1764300000000u64, "messaging": [{
        "sender": {"id": "123"}, "recipient": {"id": "1"}, "timestamp": 1764300000000u64,
        "message": {"mid": "m.1", "text": "halo"}}]}]});
    for (path, shape) in [("/webhooks/whatsapp", wa), ("/webhooks/meta", meta)] {
        let mut bodies = invalid.clone();
        let base = shape.to_string().into_bytes();
        for _ in 0..200 {
            let mut b = base.clone();
            let at = rng.below(b.len() as u64) as usize;
            let alphabet = b"{}[]\":,0a\xff";
            b[at] = alphabet[rng.below(alphabet.len() as u64) as usize];
            bodies.push(b);
        }
        for (i, body) in bodies.into_iter().enumerate() {
            let r = post(path, body, true).send().await.expect("webhook");
            check(r, &format!("{path} body {i}")).await;
        }
    }

    // Every query parameter, hostile values.
    let values = [
        "",
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "-1",
        "0",
        "501",
        "99999999999999999999",
        "2026-02-30",
        "0000-00-00",
        "-262143-01-01",
        "9999-12-31",
        "%FF%FE",
        "%E2%80%AE",
        "<script>",
        "Asia%2FNowhere",
        "a,b,,c",
        "-date,name",
        "yes,no",
    ];
    let long = "9".repeat(10_000);
    for path in [
        "/api/v1/leads",
        "/api/v1/leads/summary",
        "/api/v1/leads.csv",
    ] {
        for param in [
            "from", "to", "tz", "q", "channel", "source", "touched", "sort", "limit", "cursor",
            "range",
        ] {
            for v in values.iter().copied().chain([long.as_str()]) {
                let url = format!("{}?{param}={v}", s.url(path));
                let r = api.get(url).bearer_auth(TOKEN).send().await.expect("query");
                let status = check(r, &format!("{path}?{param}={v:.20}")).await;
                assert!(
                    status == 200 || status == 400,
                    "{path}?{param}={v:.20}: {status}"
                );
            }
        }
        // A made-up cursor.
        let r = api
            .get(format!("{}?cursor=AAAA{}", s.url(path), "Zz".repeat(50)))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("cursor");
        check(r, "cursor").await;
    }

    // The page's server functions (signed in), with garbage arguments.
    for body in [
        "",
        "query=",
        "query[from]=nope",
        "lang=xx",
        "%%%",
        "query[limit]=-5&lang=en",
    ] {
        for f in ["/srv/leads", "/srv/dashboard", "/srv/lead"] {
            let r = s
                .http
                .post(s.url(f))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("server fn");
            let status = r.status().as_u16();
            assert!(status < 500, "{f} with {body:?}: {status}");
        }
    }
    let r = reqwest::get(s.url("/healthz")).await.expect("alive");
    assert_eq!(r.status(), 200, "still serving");
}
