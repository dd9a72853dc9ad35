//! The Conversions API (`shared/spec/meta-capi.md`) against a stand-in of
//! Meta's Graph API that each test starts on loopback (nothing here reaches
//! another machine): the requests' exact shape for WhatsApp, Messenger and
//! Instagram leads, retries and rejections, what is never sent, two senders
//! on one database, and a SIGKILL while events are pending.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::ssr::intake::signature::sign;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::InProcess;
use serde_json::{Value, json};

const DATASET: &str = "1234567890";
const CAPI_TOKEN: &str = "capi-token-never-shown-0123456789";
const WA_SECRET: &str = "app-secret-for-tests";
const META_SECRET: &str = "meta-secret-for-tests";

/// One request the stand-in received.
#[derive(Clone, Debug)]
struct Got {
    path: String,
    auth: Option<String>,
    body: Value,
}

#[derive(Default)]
struct Graph {
    got: Mutex<Vec<Got>>,
    /// Answers to give, in order; then 200 with `events_received`.
    script: Mutex<VecDeque<(u16, Value)>>,
}

#[derive(Clone)]
struct Standin {
    url: String,
    graph: Arc<Graph>,
}

impl Standin {
    async fn start() -> Standin {
        let graph = Arc::new(Graph::default());
        let app = axum::Router::new()
            .route("/{version}/{dataset}/events", post(events))
            .with_state(graph.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Standin { url, graph }
    }

    fn answer(&self, status: u16, body: Value) {
        self.graph
            .script
            .lock()
            .expect("lock")
            .push_back((status, body));
    }

    fn got(&self) -> Vec<Got> {
        self.graph.got.lock().expect("lock").clone()
    }

    /// Every event received (all requests, in order).
    fn events(&self) -> Vec<Value> {
        self.got()
            .iter()
            .flat_map(|g| g.body["data"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Waits until `n` events arrived (with a 200) or the time is up.
    async fn wait_events(&self, n: usize, secs: u64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let e = self.events();
            if e.len() >= n || Instant::now() > deadline {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn events(
    State(g): State<Arc<Graph>>,
    Path((version, dataset)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let n = body["data"].as_array().map_or(0, Vec::len);
    g.got.lock().expect("lock").push(Got {
        path: format!("/{version}/{dataset}/events"),
        auth: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    });
    let next = g.script.lock().expect("lock").pop_front();
    let (status, answer) =
        next.unwrap_or((200, json!({"events_received": n, "fbtrace_id": "TRACE1"})));
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        axum::Json(answer),
    )
}

async fn server(graph: &Standin, test_code: Option<&str>) -> InProcess {
    InProcess::start_on("mem://", None, &capi_env(graph, test_code)).await
}

fn capi_env<'a>(graph: &'a Standin, test_code: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("LEADS_META_GRAPH_URL", graph.url.as_str()),
        ("LEADS_META_DATASET_ID", DATASET),
        ("LEADS_META_CAPI_TOKEN", CAPI_TOKEN),
        ("LEADS_META_RETRY_SECONDS", "1"),
        ("LEADS_WHATSAPP_APP_SECRET", WA_SECRET),
        ("LEADS_META_APP_SECRET", META_SECRET),
    ];
    if let Some(c) = test_code {
        env.push(("LEADS_META_TEST_EVENT_CODE", c));
    }
    env
}

fn ago(mins: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::minutes(mins)
}

fn rfc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A Click-to-WhatsApp message as Meta delivers it (the recorded body with
/// its times moved to `at`), from `phone` with click id `clid`.
fn ctwa_body(phone: &str, clid: &str, id: &str, at: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA-777", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1122334455667"},
        "contacts": [{"profile": {"name": "Sari"}, "wa_id": phone}],
        "messages": [{"referral": {"source_url": "https://fb.me/x", "source_id": "120400001", "source_type": "ad",
                                   "headline": "Kopi A", "ctwa_clid": clid},
                      "from": phone, "id": id, "timestamp": at.timestamp().to_string(), "type": "text",
                      "text": {"body": "Halo, masih ada?"}}]}}]}]})
    .to_string()
    .into_bytes()
}

async fn webhook(s: &InProcess, path: &str, secret: &str, body: &[u8]) {
    let r = s
        .http
        .post(s.url(path))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", sign(secret, body))
        .body(body.to_vec())
        .send()
        .await
        .expect("webhook");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

fn reply(id: &str, phone: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
    json!({"id": id, "occurred_at": rfc(at), "channel": "whatsapp", "direction": "outbound",
           "sender": "agent", "contact": {"phone": phone}})
}

fn inbound(id: &str, phone: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
    json!({"id": id, "occurred_at": rfc(at), "channel": "whatsapp", "direction": "inbound",
           "contact": {"phone": phone}})
}

fn purchase(id: &str, phone: &str, at: chrono::DateTime<chrono::Utc>, value: &str) -> Value {
    json!({"id": id, "kind": "conversion", "occurred_at": rfc(at), "contact": {"phone": phone},
           "conversion": {"type": "purchase", "value": value, "currency": "IDR"}})
}

async fn detail(s: &InProcess, key: &str) -> Value {
    let (status, d) = s
        .get(&format!("/api/v1/leads/{}", key.replace('+', "%2B")))
        .await;
    assert_eq!(status, 200, "{d}");
    d
}

/// Waits until the lead's events are all in one of `states`.
async fn wait_states(s: &InProcess, key: &str, states: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = detail(s, key).await;
        let evs = d["capi"]["events"].as_array().cloned().unwrap_or_default();
        if !evs.is_empty()
            && evs
                .iter()
                .all(|e| states.contains(&e["state"].as_str().unwrap_or("")))
        {
            return d;
        }
        assert!(Instant::now() < deadline, "states never reached: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ctwa_lead_that_engages_and_buys_is_one_lead_submitted_and_one_purchase() {
    let graph = Standin::start().await;
    let s = server(&graph, None).await;
    let phone = "6281234500001";
    let key = format!("+{phone}");
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(phone, "CLID-1", "wamid.A1", ago(60)),
    )
    .await;
    let (t57, t30) = (ago(57), ago(30));
    let (st, b) = s
        .post_events(&json!([
            reply("r1", &key, ago(58)),
            inbound("m2", &key, t57)
        ]))
        .await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = s
        .post_events(&json!([purchase("order-1", &key, t30, "150000")]))
        .await;
    assert_eq!(st, 200, "{b}");
    let d = wait_states(&s, &key, &["sent"]).await;
    let got = graph.events();
    assert_eq!(got.len(), 2, "{got:?}");
    let ls = got
        .iter()
        .find(|e| e["event_name"] == "LeadSubmitted")
        .expect("LeadSubmitted");
    let pu = got
        .iter()
        .find(|e| e["event_name"] == "Purchase")
        .expect("Purchase");
    let user = json!({"whatsapp_business_account_id": "WABA-777", "ctwa_clid": "CLID-1"});
    assert_eq!(
        ls,
        &json!({"event_name": "LeadSubmitted", "event_time": t57.timestamp(),
                "event_id": ls["event_id"], "action_source": "business_messaging",
                "messaging_channel": "whatsapp", "user_data": user})
    );
    assert!(ls["event_id"].as_str().is_some_and(|i| !i.is_empty()));
    assert_eq!(
        pu,
        &json!({"event_name": "Purchase", "event_time": t30.timestamp(),
                "event_id": pu["event_id"], "action_source": "business_messaging",
                "messaging_channel": "whatsapp", "user_data": user,
                "custom_data": {"value": 150000, "currency": "IDR"}})
    );
    // Where it went and how: the dataset's events, the token as bearer.
    for g in graph.got() {
        assert_eq!(g.path, format!("/v21.0/{DATASET}/events"));
        assert_eq!(
            g.auth.as_deref(),
            Some(format!("Bearer {CAPI_TOKEN}").as_str())
        );
        assert!(g.body.get("test_event_code").is_none());
    }
    // The lead shows its click and each outcome's state.
    assert_eq!(d["capi"]["click_id"], "CLID-1");
    assert_eq!(d["capi"]["sendable"], true);
    for e in d["capi"]["events"].as_array().expect("events") {
        assert_eq!(e["state"], "sent");
        assert_eq!(e["events_received"], 1);
        assert_eq!(e["fbtrace_id"], "TRACE1");
    }
    let conv = d["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "conversion")
        .expect("the purchase");
    assert_eq!(conv["conversion"]["capi_state"], "sent");
    // The detail's list of conversions says the same.
    let listed = &d["conversions"][0];
    assert_eq!(listed["id"], conv["id"]);
    assert_eq!(listed["type"], "purchase");
    assert_eq!(listed["capi_state"], "sent");
    // Meta's message is there as `null` when there is none, not left out.
    for c in [listed, &conv["conversion"]] {
        assert_eq!(c.get("capi_message"), Some(&Value::Null), "{c}");
    }
    // The order again, another message and a `qualified` (the lead's
    // LeadSubmitted went already): nothing new is sent.
    let qualified = json!({"id": "q-1", "kind": "conversion", "occurred_at": rfc(ago(19)),
        "contact": {"phone": key}, "conversion": {"type": "qualified"}});
    let (st, b) = s
        .post_events(&json!([
            purchase("order-1", &key, t30, "150000"),
            inbound("m3", &key, ago(20)),
            qualified
        ]))
        .await;
    assert_eq!(st, 200, "{b}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(graph.events().len(), 2);
    // The qualified counts for the lead and shows the lead's LeadSubmitted
    // state (sent once per lead).
    let d = detail(&s, &key).await;
    let q = d["conversions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "q-1"))
        .expect("the qualified");
    assert_eq!(
        (&q["attributed"], &q["capi_state"]),
        (&json!(true), &json!("sent")),
        "{q}"
    );
    // The filter finds it; the token is in no answer.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let range = format!("from={}&to={today}", today - chrono::Days::new(1));
    let (_, sent) = s.get(&format!("/api/v1/leads?{range}&capi=sent")).await;
    assert_eq!(sent["total"], 1, "{sent}");
    let (_, none) = s.get(&format!("/api/v1/leads?{range}&capi=pending")).await;
    assert_eq!(none["total"], 0);
    let (st, _, page) = s
        .call(common::request("/api/v1/capi", Some(common::TOKEN), None))
        .await;
    assert_eq!(st, 200, "{page}");
    assert!(!page.contains(CAPI_TOKEN) && !d.to_string().contains(CAPI_TOKEN));
    let status: Value = serde_json::from_str(&page).expect("json");
    assert_eq!(
        (status["sent"].as_u64(), status["token_set"].as_bool()),
        (Some(2), Some(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messenger_and_instagram_leads_name_the_page_and_the_user() {
    let graph = Standin::start().await;
    let s = server(&graph, Some("TEST4242")).await;
    let t = ago(90).timestamp_millis();
    // One moment for the conversions and the check (two calls of `ago` can
    // straddle a second).
    let qualified_at = ago(80);
    for (object, page, user, mid) in [
        ("page", "PAGE-1", "PSID-1", "m.fb1"),
        ("instagram", "IG-1", "IGSID-1", "m.ig1"),
    ] {
        let body = json!({"object": object, "entry": [{"id": page, "time": t, "messaging": [{
            "sender": {"id": user}, "recipient": {"id": page}, "timestamp": t,
            "message": {"mid": mid, "text": "Halo",
                        "referral": {"ref": "promo", "ad_id": "AD-9", "source": "ADS", "type": "OPEN_THREAD"}}}]}]});
        webhook(
            &s,
            "/webhooks/meta",
            META_SECRET,
            body.to_string().as_bytes(),
        )
        .await;
        let channel = if object == "page" {
            "messenger"
        } else {
            "instagram"
        };
        let q = json!({"id": format!("q-{user}"), "kind": "conversion", "occurred_at": rfc(qualified_at),
                       "channel": channel, "contact": {"external_id": user},
                       "conversion": {"type": "qualified"}});
        let (st, b) = s.post_events(&json!([q])).await;
        assert_eq!(st, 200, "{b}");
    }
    let got = graph.wait_events(2, 20).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let fb = got
        .iter()
        .find(|e| e["messaging_channel"] == "messenger")
        .expect("messenger");
    assert_eq!(
        fb["user_data"],
        json!({"page_id": "PAGE-1", "page_scoped_user_id": "PSID-1"})
    );
    assert_eq!(fb["event_name"], "LeadSubmitted");
    assert_eq!(fb["event_time"], qualified_at.timestamp());
    let ig = got
        .iter()
        .find(|e| e["messaging_channel"] == "instagram")
        .expect("instagram");
    assert_eq!(
        ig["user_data"],
        json!({"ig_account_id": "IG-1", "ig_sid": "IGSID-1"})
    );
    // The test event code goes with every request while it is set.
    assert!(
        graph
            .got()
            .iter()
            .all(|g| g.body["test_event_code"] == "TEST4242")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_are_retried_and_rejections_are_shown_not_retried() {
    let graph = Standin::start().await;
    graph.answer(
        500,
        json!({"error": {"message": "An unexpected error has occurred."}}),
    );
    graph.answer(
        429,
        json!({"error": {"message": "Too many calls", "code": 4}}),
    );
    let s = server(&graph, None).await;
    let a = "6281234500011";
    let ka = format!("+{a}");
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(a, "CLID-A", "wamid.R1", ago(60)),
    )
    .await;
    s.post_events(&json!([purchase("o-a", &ka, ago(50), "10000")]))
        .await;
    // 500, then 429, then taken: three requests, one event sent.
    let d = wait_states(&s, &ka, &["sent"]).await;
    assert_eq!(graph.got().len(), 3, "{:?}", graph.got());
    assert_eq!(d["capi"]["events"][0]["tries"], 2);
    // A 400 with Meta's error: rejected with its message, never again.
    graph.answer(
        400,
        json!({"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100,
                         "error_subcode": 2804019, "fbtrace_id": "TRACE-BAD"}}),
    );
    let b = "6281234500012";
    let kb = format!("+{b}");
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(b, "CLID-B", "wamid.R2", ago(40)),
    )
    .await;
    s.post_events(&json!([purchase("o-b", &kb, ago(30), "20000")]))
        .await;
    let d = wait_states(&s, &kb, &["rejected"]).await;
    let e = &d["capi"]["events"][0];
    assert_eq!(e["message"], "Invalid parameter");
    assert_eq!(e["error_subcode"], 2804019);
    assert_eq!(e["fbtrace_id"], "TRACE-BAD");
    let before = graph.got().len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(graph.got().len(), before, "a rejected event was sent again");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let range = format!("from={}&to={today}", today - chrono::Days::new(1));
    let (_, rej) = s.get(&format!("/api/v1/leads?{range}&capi=rejected")).await;
    assert_eq!(rej["total"], 1, "{rej}");
    let (_, status) = s.get("/api/v1/capi").await;
    assert_eq!(
        (status["sent"].as_u64(), status["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        status["last_error"]
            .as_str()
            .is_some_and(|m| m.contains("Invalid parameter"))
    );
}

/// A Click-to-WhatsApp lead (click `CLID-{n}`, `mins` ago) that engages
/// and buys in one batch: its LeadSubmitted and Purchase are queued in one
/// commit, so posted in one request. Its key.
async fn ctwa_lead_engaging_and_buying(s: &InProcess, phone: &str, n: usize, mins: i64) -> String {
    let key = format!("+{phone}");
    let body = ctwa_body(
        phone,
        &format!("CLID-{n}"),
        &format!("wamid.T{n}"),
        ago(mins),
    );
    webhook(s, "/webhooks/whatsapp", WA_SECRET, &body).await;
    let (st, b) = s
        .post_events(&json!([
            reply(&format!("r{n}"), &key, ago(mins - 1)),
            inbound(&format!("m{n}"), &key, ago(mins - 2)),
            purchase(&format!("order-{n}"), &key, ago(mins - 10), "99000")
        ]))
        .await;
    assert_eq!(st, 200, "{b}");
    key
}

/// Meta's refusal of a request stands for every event in it: one request,
/// and each of its events rejected with Meta's message and never posted
/// again, whether Meta refused the request itself (the token) or one of its
/// events. A rate limit on a request of two is no refusal: both are posted
/// again later, together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_rejects_all_its_events_in_one_request_and_a_throttle_retries_all() {
    let graph = Standin::start().await;
    graph.answer(
        400,
        json!({"error": {"message": "Error validating access token: Session has expired",
                         "type": "OAuthException", "code": 190, "error_subcode": 463}}),
    );
    let s = server(&graph, None).await;
    let ka = ctwa_lead_engaging_and_buying(&s, "6281234500091", 1, 60).await;
    let d = wait_states(&s, &ka, &["rejected"]).await;
    let got = graph.got();
    assert_eq!(
        got.len(),
        1,
        "the token's refusal was posted again: {got:?}"
    );
    assert_eq!(got[0].body["data"].as_array().map(Vec::len), Some(2));
    for e in d["capi"]["events"].as_array().expect("events") {
        assert_eq!(
            e["message"],
            "Error validating access token: Session has expired"
        );
    }
    // One bad event (Meta's answer to the request of two): one request,
    // both events rejected with Meta's message, subcode and trace.
    graph.answer(
        400,
        json!({"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100,
                         "error_subcode": 2804019, "fbtrace_id": "TRACE-BAD"}}),
    );
    let kc = ctwa_lead_engaging_and_buying(&s, "6281234500092", 2, 60).await;
    let d = wait_states(&s, &kc, &["rejected"]).await;
    let events = d["capi"]["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "{d}");
    for e in events {
        assert_eq!(e["message"], "Invalid parameter", "{e}");
        assert_eq!(e["error_subcode"], 2804019, "{e}");
        assert_eq!(e["fbtrace_id"], "TRACE-BAD", "{e}");
    }
    let sizes = |from: usize| -> Vec<usize> {
        graph.got()[from..]
            .iter()
            .map(|g| g.body["data"].as_array().map_or(0, Vec::len))
            .collect()
    };
    assert_eq!(sizes(1), [2]);
    // Longer than the back-off (1 s, then 2 s): neither is posted again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sizes(1), [2], "a rejected event was posted again");
    let ids: Vec<&Value> = events.iter().map(|e| &e["event_id"]).collect();
    let posts = graph
        .events()
        .iter()
        .filter(|e| ids.contains(&&e["event_id"]))
        .count();
    assert_eq!(posts, 2, "{:?}", graph.got());
    let d = detail(&s, &kc).await;
    assert!(
        d["capi"]["events"]
            .as_array()
            .is_some_and(|evs| evs.iter().all(|e| e["state"] == "rejected")),
        "{d}"
    );
    // A rate limit on a request of two: no refusal; both go later, together.
    graph.answer(
        400,
        json!({"error": {"message": "User request limit reached", "code": 17}}),
    );
    let kd = ctwa_lead_engaging_and_buying(&s, "6281234500093", 3, 60).await;
    wait_states(&s, &kd, &["sent"]).await;
    assert_eq!(sizes(2), [2, 2]);
}

/// Two numbers whose messages carry one click id (Meta's documentation
/// placeholder, as copied into a test or an integration): two leads, each
/// sent once with the click id it carried, under event ids of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_with_one_placeholder_click_id_are_two_leads_each_sent_once() {
    let graph = Standin::start().await;
    let s = server(&graph, None).await;
    let phones = ["6281234500081", "6281234500082"];
    for (i, phone) in phones.iter().enumerate() {
        let key = format!("+{phone}");
        let body = ctwa_body(phone, "CTWA_CLID", &format!("wamid.P{i}"), ago(60));
        webhook(&s, "/webhooks/whatsapp", WA_SECRET, &body).await;
        let (st, b) = s
            .post_events(&json!([
                reply(&format!("pr{i}"), &key, ago(58)),
                inbound(&format!("pm{i}"), &key, ago(57))
            ]))
            .await;
        assert_eq!(st, 200, "{b}");
    }
    for phone in phones {
        let d = wait_states(&s, &format!("+{phone}"), &["sent"]).await;
        assert_eq!(d["capi"]["click_id"], "CTWA_CLID");
    }
    let got = graph.events();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter()
            .all(|e| e["event_name"] == "LeadSubmitted"
                && e["user_data"]["ctwa_clid"] == "CTWA_CLID")
    );
    assert_ne!(got[0]["event_id"], got[1]["event_id"]);
    // Meta delivers the second person's message again: nothing new is sent.
    let body = ctwa_body(phones[1], "CTWA_CLID", "wamid.P1", ago(60));
    webhook(&s, "/webhooks/whatsapp", WA_SECRET, &body).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(graph.events().len(), 2);
}

/// A lead's LeadSubmitted is sent once: a late delivery of the person's
/// earlier click (another click id, so another event id) queues no second
/// one, after the change or at the next start, and the lead detail still
/// shows the one Meta got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_earlier_click_sends_no_second_lead_submitted() {
    let graph = Standin::start().await;
    let db = app::ssr::store::db::connect("mem://", None, None, None)
        .await
        .expect("database");
    let phone = "6281234500091";
    let key = format!("+{phone}");
    {
        let s = InProcess::start_on("mem://", Some(db.clone()), &capi_env(&graph, None)).await;
        let body = ctwa_body(phone, "CLID-B", "wamid.LB", ago(30));
        webhook(&s, "/webhooks/whatsapp", WA_SECRET, &body).await;
        s.post_events(&json!([
            reply("lr", &key, ago(28)),
            inbound("lm", &key, ago(27))
        ]))
        .await;
        wait_states(&s, &key, &["sent"]).await;
        assert_eq!(graph.events().len(), 1);
        let body = ctwa_body(phone, "CLID-A", "wamid.LA", ago(60));
        webhook(&s, "/webhooks/whatsapp", WA_SECRET, &body).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let d = wait_states(&s, &key, &["sent"]).await;
        assert_eq!(d["capi"]["click_id"], "CLID-A", "{d}");
        assert_eq!(graph.events().len(), 1, "{:?}", graph.events());
    }
    // A start queues what is in the window and not yet queued: not this.
    let s = InProcess::start_on("mem://", Some(db), &capi_env(&graph, None)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    wait_states(&s, &key, &["sent"]).await;
    assert_eq!(graph.events().len(), 1, "{:?}", graph.events());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_without_a_click_or_past_the_window() {
    let graph = Standin::start().await;
    let s = server(&graph, None).await;
    // Organic: no click id.
    let k1 = "+6281234500021";
    s.post_events(&json!([
        inbound("n1", k1, ago(60)),
        purchase("o-n1", k1, ago(50), "5000")
    ]))
    .await;
    // A click eight days ago: its purchase today is past the window.
    let old = "6281234500022";
    let k2 = format!("+{old}");
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(old, "CLID-OLD", "wamid.O1", ago(8 * 24 * 60)),
    )
    .await;
    s.post_events(&json!([purchase("o-old", &k2, ago(10), "5000")]))
        .await;
    // A click six days ago, nothing sent: closing soon.
    let soon = "6281234500023";
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(soon, "CLID-SOON", "wamid.S1", ago(6 * 24 * 60)),
    )
    .await;
    // A lead that wrote nine days ago without an ad, and came back through
    // one six days and an hour ago: its window runs from that click.
    let late = "6281234500024";
    s.post_events(&json!([inbound(
        "l1",
        &format!("+{late}"),
        ago(9 * 24 * 60)
    )]))
    .await;
    let late_click = ago(6 * 24 * 60 + 60);
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(late, "CLID-LATE", "wamid.L1", late_click),
    )
    .await;
    // A click an hour ago and a purchase Meta detected itself: not sent,
    // and not past any window either.
    let detected = "6281234500025";
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(detected, "CLID-DET", "wamid.D1", ago(60)),
    )
    .await;
    let auto = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA-777", "changes": [
        {"field": "automatic_events", "value": {"messaging_product": "whatsapp",
         "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1122334455667"},
         "automatic_events": [{"id": "ae-D1", "event_name": "Purchase", "timestamp": ago(30).timestamp(),
                               "ctwa_clid": "CLID-DET", "custom_data": {"currency": "IDR", "value": 300000}}]}}]}]});
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        auto.to_string().as_bytes(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(graph.got().is_empty(), "{:?}", graph.got());
    let dd = detail(&s, &format!("+{detected}")).await;
    assert_eq!(
        dd["capi"]["events"][0]["reason"], "detected_by_meta",
        "{dd}"
    );
    let d1 = detail(&s, k1).await;
    assert_eq!(d1["capi"]["sendable"], false);
    assert_eq!(d1["capi"]["not_sendable_reason"], "no_click");
    assert_eq!(d1["capi"]["events"][0]["state"], "not_sendable");
    let d2 = detail(&s, &k2).await;
    assert_eq!(d2["capi"]["events"][0]["state"], "window_passed");
    let (st, list) = s.get("/api/v1/capi/closing_soon").await;
    assert_eq!(st, 200, "{list}");
    let leads = list["leads"].as_array().expect("leads");
    assert_eq!(leads.len(), 2, "{list}");
    assert_eq!(leads[0]["lead"]["id"], format!("+{soon}"));
    assert_eq!(leads[1]["lead"]["id"], format!("+{late}"));
    let ends: chrono::DateTime<chrono::Utc> = leads[1]["window_ends_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("window_ends_at");
    assert_eq!(
        ends.timestamp(),
        (late_click + chrono::Duration::days(7)).timestamp()
    );
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let range = format!("from={}&to={today}", today - chrono::Days::new(10));
    let (_, ns) = s
        .get(&format!("/api/v1/leads?{range}&capi=not_sendable"))
        .await;
    assert_eq!(ns["total"], 1, "{ns}");
    // The settings' counts: the organic lead cannot be sent, the late
    // purchase is past its window; the lead closing soon has no outcome,
    // nor one Meta detected a purchase of.
    let (_, status) = s.get("/api/v1/capi").await;
    assert_eq!(
        (
            status["not_sendable"].as_u64(),
            status["window_passed"].as_u64()
        ),
        (Some(1), Some(1)),
        "{status}"
    );
}

/// "Closing soon" lists the leads with nothing sent: one whose only event
/// Meta rejected is still one (someone can qualify it in time), one with
/// an event sent is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_whose_only_event_was_rejected_is_still_closing_soon() {
    let graph = Standin::start().await;
    graph.answer(
        400,
        json!({"error": {"message": "Invalid parameter", "code": 100, "error_subcode": 2804019}}),
    );
    let s = server(&graph, None).await;
    let clicked = ago(7 * 24 * 60 - 120);
    let (rejected, sent) = ("6281234500041", "6281234500042");
    for (n, phone) in [(1, rejected), (2, sent)] {
        webhook(
            &s,
            "/webhooks/whatsapp",
            WA_SECRET,
            &ctwa_body(
                phone,
                &format!("CLID-C{n}"),
                &format!("wamid.C{n}"),
                clicked,
            ),
        )
        .await;
        s.post_events(&json!([purchase(
            &format!("o-c{n}"),
            &format!("+{phone}"),
            ago(7 * 24 * 60 - 150),
            "9000"
        )]))
        .await;
        let want = if n == 1 { "rejected" } else { "sent" };
        wait_states(&s, &format!("+{phone}"), &[want]).await;
    }
    let (_, list) = s.get("/api/v1/capi/closing_soon").await;
    let leads: Vec<&Value> = list["leads"]
        .as_array()
        .map(|l| l.iter().map(|x| &x["lead"]["id"]).collect())
        .unwrap_or_default();
    assert_eq!(leads, [&json!(format!("+{rejected}"))], "{list}");
}

/// The window is the outcome's time against the click's: a purchase a day
/// after a click three weeks ago, learnt today (an import of old orders),
/// is sent with its own time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_purchase_within_its_click_window_is_sent_when_learnt() {
    let graph = Standin::start().await;
    let s = server(&graph, None).await;
    let wa = "6281234500031";
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(wa, "CLID-LATE", "wamid.L1", ago(21 * 24 * 60)),
    )
    .await;
    let bought = ago(20 * 24 * 60);
    s.post_events(&json!([purchase(
        "o-late",
        &format!("+{wa}"),
        bought,
        "7000"
    )]))
    .await;
    let got = graph.wait_events(1, 10).await;
    let purchases: Vec<&Value> = got
        .iter()
        .filter(|e| e["event_name"] == "Purchase")
        .collect();
    assert_eq!(purchases.len(), 1, "{got:?}");
    assert_eq!(purchases[0]["event_time"], bought.timestamp());
    assert_eq!(purchases[0]["user_data"]["ctwa_clid"], "CLID-LATE");
}

/// A SIGKILL while events are pending (Meta answering 500) loses none:
/// the restarted server sends every one, and its log never holds the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_while_events_are_pending_loses_none() {
    let graph = Standin::start().await;
    for _ in 0..1000 {
        graph.answer(500, json!({"error": {"message": "down"}}));
    }
    let (dir, db) = common::temp_db("capi-kill");
    let log = dir.with_extension("log");
    let log_text = log.display().to_string();
    let env = [
        ("LEADS_META_GRAPH_URL", graph.url.as_str()),
        ("LEADS_META_DATASET_ID", DATASET),
        ("LEADS_META_CAPI_TOKEN", CAPI_TOKEN),
        ("LEADS_META_RETRY_SECONDS", "1"),
        ("RUST_LOG", "debug"),
        ("TEST_STDERR_FILE", log_text.as_str()),
    ];
    let mut s = common::Server::start_with_env(&db, &env).await;
    let mut batch = Vec::new();
    for i in 0..20 {
        let k = format!("+62812345{i:05}");
        let mut m = inbound(&format!("k{i}"), &k, ago(60));
        m["ctwa_clid"] = json!(format!("CL-{i}"));
        m["meta_account_id"] = json!("WABA-1");
        m["source"] = json!({"platform": "meta", "type": "ad", "id": "AD-1"});
        batch.push(m);
        batch.push(purchase(&format!("ko{i}"), &k, ago(50), "1000"));
    }
    let (st, b) = s.post_events(&Value::Array(batch)).await;
    assert_eq!(st, 200, "{b}");
    // Meta is down: they stay pending; then the process dies.
    let deadline = Instant::now() + Duration::from_secs(20);
    while graph.got().is_empty() {
        assert!(Instant::now() < deadline, "nothing was tried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.kill();
    graph.graph.script.lock().expect("lock").clear();
    // Every answer so far was a 500: nothing was sent before the kill.
    let n = graph.got().len();
    let s = common::Server::start_with_env(&db, &env).await;
    // Events the killed process had claimed wait for its claim to expire (45 s).
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let sent: std::collections::HashSet<String> = graph.got()[n..]
            .iter()
            .flat_map(|g| g.body["data"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
            .collect();
        if sent.len() == 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sent after the restart: {} of 20",
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(s);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.is_empty(), "the log was written");
    assert!(!text.contains(CAPI_TOKEN), "the token is in the log");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log);
}

/// Two instances on one database, each with its own sender: every event is
/// claimed in the database by one of them, so Meta gets each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_never_send_one_event_twice() {
    let graph = Standin::start().await;
    // Slow answers keep both senders' claims overlapping in time.
    for _ in 0..6 {
        graph.answer(500, json!({"error": {"message": "busy", "code": 2}}));
    }
    let db = app::ssr::store::db::connect("mem://", None, None, None)
        .await
        .expect("database");
    let env = capi_env(&graph, None);
    let a = InProcess::start_on("mem://", Some(db.clone()), &env).await;
    let b = InProcess::start_on("mem://", Some(db), &env).await;
    // 40 ad leads that each buy: 80 events, written through both instances.
    let n = 40;
    for i in 0..n {
        let s = if i % 2 == 0 { &a } else { &b };
        ctwa_lead_engaging_and_buying(s, &format!("62812345{i:05}"), i, 90).await;
    }
    // Only 200s count as delivered: the 500s' events were posted again.
    let delivered = |graph: &Standin| {
        let mut d = std::collections::HashMap::<String, usize>::new();
        for g in graph.got().iter().skip(6) {
            for e in g.body["data"].as_array().cloned().unwrap_or_default() {
                *d.entry(e["event_id"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
        d
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    while delivered(&graph).len() < 2 * n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a second send, if either sender were to make one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let d = delivered(&graph);
    assert_eq!(d.len(), 2 * n, "every event once: {d:?}");
    assert!(
        d.values().all(|&c| c == 1),
        "an event was sent twice: {d:?}"
    );
    let (_, status) = a.get("/api/v1/capi").await;
    assert_eq!(status["sent"].as_u64(), Some(2 * n as u64), "{status}");
}

/// Sending set up after the outcomes were known: a start with it queues
/// what is still within the window (and nothing past it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_known_before_sending_was_set_up_are_sent_at_start() {
    let graph = Standin::start().await;
    let db = app::ssr::store::db::connect("mem://", None, None, None)
        .await
        .expect("database");
    let plain = [
        ("LEADS_WHATSAPP_APP_SECRET", WA_SECRET),
        ("LEADS_META_APP_SECRET", META_SECRET),
    ];
    let before = InProcess::start_on("mem://", Some(db.clone()), &plain).await;
    for (phone, clid, mins) in [
        ("6281234599001", "CLID-IN", 60),
        // Clicked 8 days ago: past the window.
        ("6281234599002", "CLID-OLD", 8 * 24 * 60),
    ] {
        webhook(
            &before,
            "/webhooks/whatsapp",
            WA_SECRET,
            &ctwa_body(phone, clid, &format!("wamid.{clid}"), ago(mins)),
        )
        .await;
        let key = format!("+{phone}");
        let (st, b) = before
            .post_events(&json!([purchase(
                &format!("order-{clid}"),
                &key,
                ago(mins - 10),
                "50000"
            )]))
            .await;
        assert_eq!(st, 200, "{b}");
    }
    let (_, status) = before.get("/api/v1/capi").await;
    assert_eq!(status["pending"].as_u64().unwrap_or(0), 0, "{status}");
    drop(before);
    let after = InProcess::start_on("mem://", Some(db), &capi_env(&graph, None)).await;
    let got = graph.wait_events(1, 20).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got_now = graph.events();
    assert_eq!(got.len(), 1, "{got_now:?}");
    assert_eq!(got_now.len(), 1, "{got_now:?}");
    assert_eq!(got_now[0]["event_name"], "Purchase");
    assert_eq!(got_now[0]["user_data"]["ctwa_clid"], "CLID-IN");
    let d = detail(&after, "+6281234599001").await;
    assert_eq!(d["capi"]["click_id"], "CLID-IN");
}

/// The admin's session cookie (`name=value`), signed in through the form
/// with one request through the router.
async fn admin_cookie(s: &InProcess) -> String {
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/signin")
        .header("host", "127.0.0.1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!(
            "name=admin&password={}&next=/",
            common::ADMIN_PASSWORD
        )))
        .expect("request");
    let (status, headers, body) = s.call(req).await;
    assert_eq!(status, 303, "{body}");
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next().filter(|c| c.contains("session")))
        .expect("a session cookie")
        .to_owned()
}

/// A page (`GET`) or a form without fields (`POST`) in English, signed in
/// with `cookie`, through the router: status and HTML.
async fn page(s: &InProcess, cookie: &str, method: &str, path: &str) -> (u16, String) {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("cookie", cookie)
        .header("accept-language", "en")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::empty())
        .expect("request");
    let (status, _, html) = s.call(req).await;
    (status, html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_show_each_outcome_the_closing_leads_and_the_test_event() {
    let graph = Standin::start().await;
    let s = server(&graph, Some("TEST4242")).await;
    let cookie = admin_cookie(&s).await;
    // An ad lead that engaged: its LeadSubmitted is sent.
    let key = "+6281234500011";
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(&key[1..], "CLID-PAGE", "wamid.P1", ago(60)),
    )
    .await;
    let (st, b) = s
        .post_events(&json!([
            reply("p-r1", key, ago(58)),
            inbound("p-m2", key, ago(57))
        ]))
        .await;
    assert_eq!(st, 200, "{b}");
    wait_states(&s, key, &["sent"]).await;
    // An ad lead clicked six days and 22 hours ago that never engaged: its
    // window closes in about two hours with nothing sent.
    let late = "+6281234500012";
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &ctwa_body(&late[1..], "CLID-LATE", "wamid.P2", ago(7 * 24 * 60 - 120)),
    )
    .await;

    // The lead detail (the page rendered with the lead open).
    let (st, html) = page(&s, &cookie, "GET", "/?range=30d&lead=%2B6281234500011").await;
    assert_eq!(st, 200);
    assert!(html.contains("data-testid=\"capi\""), "{html}");
    assert!(html.contains("CLID-PAGE"));
    assert!(
        html.contains("data-event=\"LeadSubmitted\" data-state=\"sent\""),
        "{html}"
    );
    assert!(html.contains("7-day window ends"));
    // The closing-soon card names the late lead, linked to it, and not the
    // one that was sent.
    let card = html
        .split("data-testid=\"closing-soon\"")
        .nth(1)
        .expect("the closing-soon card")
        .split("</section>")
        .next()
        .unwrap_or_default();
    assert!(card.contains("lead=%2B6281234500012"), "{card}");
    assert!(!card.contains("6281234500011"), "{card}");
    let (_, api) = s.get("/api/v1/capi/closing_soon").await;
    assert_eq!(api["leads"].as_array().map(Vec::len), Some(1), "{api}");
    // The filter on the Leads page and the Ads view.
    let (st, html) = page(&s, &cookie, "GET", "/?range=30d&capi=sent").await;
    assert_eq!(st, 200);
    assert!(html.contains("data-lead=\"+6281234500011\"") || html.contains("6281234500011"));
    assert!(!html.contains("data-lead=\"+6281234500012\""));
    let (st, html) = page(&s, &cookie, "GET", "/ads?range=30d&capi=sent").await;
    assert_eq!(st, 200);
    assert!(
        html.contains("class=\"chip on\" data-capi=\"sent\""),
        "{html}"
    );

    // Settings: the dataset, the token as set (never its value), counts.
    let (st, html) = page(&s, &cookie, "GET", "/settings").await;
    assert_eq!(st, 200);
    let section = html
        .split("data-testid=\"capi-settings\"")
        .nth(1)
        .expect("the Conversions API section");
    assert!(section.contains(DATASET));
    assert!(section.contains("set (never shown)"));
    assert!(section.contains("1 sent"), "{section}");
    assert!(!html.contains(CAPI_TOKEN));
    let before = graph.got().len();
    // The test event: one LeadSubmitted with the test code, shown received.
    let (st, html) = page(&s, &cookie, "POST", "/settings/capi/test").await;
    assert_eq!(st, 200);
    assert!(
        html.contains("Meta received the test event (events_received: 1)"),
        "{html}"
    );
    assert!(!html.contains(CAPI_TOKEN));
    let got = graph.got();
    assert_eq!(got.len(), before + 1);
    let test = &got[before];
    assert_eq!(test.body["test_event_code"], "TEST4242");
    assert_eq!(test.body["data"][0]["event_name"], "LeadSubmitted");
    // Naming the lead clicked last, so that Meta can match it.
    assert_eq!(
        test.body["data"][0]["user_data"],
        json!({"whatsapp_business_account_id": "WABA-777", "ctwa_clid": "CLID-PAGE"})
    );
    assert_eq!(
        test.auth.as_deref(),
        Some(format!("Bearer {CAPI_TOKEN}").as_str())
    );
    // Meta refuses it: its message on the page and as the last error,
    // without the token even when the message carries it.
    graph.answer(
        400,
        json!({"error": {"message": format!("Invalid token {CAPI_TOKEN} for dataset"), "error_subcode": 33}}),
    );
    let (st, html) = page(&s, &cookie, "POST", "/settings/capi/test").await;
    assert_eq!(st, 200);
    assert!(
        html.contains("The test event failed: Invalid token … for dataset"),
        "{html}"
    );
    assert!(html.contains("data-testid=\"capi-last-error\""));
    assert!(!html.contains(CAPI_TOKEN));
    let (_, status) = s.get("/api/v1/capi").await;
    assert!(
        status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("Invalid token …")),
        "{status}"
    );
    assert!(!status.to_string().contains(CAPI_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_test_code_the_settings_say_so_and_send_nothing() {
    let graph = Standin::start().await;
    let s = server(&graph, None).await;
    let cookie = admin_cookie(&s).await;
    let (st, html) = page(&s, &cookie, "GET", "/settings").await;
    assert_eq!(st, 200);
    assert!(html.contains("Set LEADS_META_TEST_EVENT_CODE"), "{html}");
    let button = html
        .split("data-testid=\"capi-test\"")
        .nth(1)
        .and_then(|b| b.split('>').next())
        .expect("the test button");
    assert!(button.contains("disabled"), "{button}");
    let (st, html) = page(&s, &cookie, "POST", "/settings/capi/test").await;
    assert_eq!(st, 200);
    assert!(html.contains("The test event failed: Set LEADS_META_TEST_EVENT_CODE"));
    assert!(graph.got().is_empty());
    // Without a dataset and token: the section says nothing is sent.
    let plain = InProcess::start("mem://").await;
    let cookie = admin_cookie(&plain).await;
    let (_, html) = page(&plain, &cookie, "GET", "/settings").await;
    assert!(html.contains("data-testid=\"capi-off\""), "{html}");
    assert!(html.contains("not set"));
}

/// A lead whose outcome was sent, merged later into another contact (a
/// hidden number that turns out to be a known phone): the send state
/// follows it, and it is not counted as past its window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_lead_keeps_what_meta_was_told() {
    let graph = Standin::start().await;
    let s = server(&graph, None).await;
    let wa = |value: Value| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA-777", "changes": [
            {"field": "messages", "value": value}]}]})
        .to_string()
        .into_bytes()
    };
    let meta = json!({"display_phone_number": "15550001111", "phone_number_id": "1122334455667"});
    let text = |id: &str,
                at: chrono::DateTime<chrono::Utc>,
                phone: Option<&str>,
                referral: bool| {
        let mut m = json!({"from_user_id": "US.77", "id": id, "timestamp": at.timestamp().to_string(),
                           "type": "text", "text": {"body": "Halo"}});
        let mut c = json!({"profile": {"name": "Sari"}, "user_id": "US.77"});
        if let Some(p) = phone {
            m["from"] = json!(p);
            c["wa_id"] = json!(p);
        }
        if referral {
            m["referral"] =
                json!({"source_id": "120400001", "source_type": "ad", "ctwa_clid": "CLID-M"});
        }
        wa(
            json!({"messaging_product": "whatsapp", "metadata": meta, "contacts": [c], "messages": [m]}),
        )
    };
    // A hidden number clicks an ad, is answered and writes back: engaged.
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &text("wamid.M1", ago(60), None, true),
    )
    .await;
    let reply = wa(
        json!({"messaging_product": "whatsapp", "metadata": meta, "statuses": [
        {"id": "wamid.R1", "status": "sent", "timestamp": ago(59).timestamp().to_string(),
         "recipient_user_id": "US.77", "pricing": {"category": "service"}}]}),
    );
    webhook(&s, "/webhooks/whatsapp", WA_SECRET, &reply).await;
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &text("wamid.M2", ago(58), None, false),
    )
    .await;
    let (_, page) = s.get("/api/v1/leads?range=7d").await;
    let hidden = page["leads"][0]["id"].as_str().expect("a lead").to_owned();
    wait_states(&s, &hidden, &["sent"]).await;
    // The number shows up: the hidden contact joins the phone's.
    webhook(
        &s,
        "/webhooks/whatsapp",
        WA_SECRET,
        &text("wamid.M3", ago(30), Some("6281234500031"), false),
    )
    .await;
    let d = wait_states(&s, "+6281234500031", &["sent"]).await;
    assert_eq!(d["capi"]["events"][0]["event_name"], "LeadSubmitted", "{d}");
    let (_, sent) = s.get("/api/v1/leads?range=7d&capi=sent").await;
    assert_eq!(sent["total"], 1, "{sent}");
    assert_eq!(sent["leads"][0]["id"], "+6281234500031");
    let (_, status) = s.get("/api/v1/capi").await;
    assert_eq!(status["window_passed"].as_u64(), Some(0), "{status}");
    assert_eq!(graph.got().len(), 1, "sent once");
}
