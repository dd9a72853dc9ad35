//! The real server on `mem://`, driven over HTTP.

mod common;

use common::{Server, enc};
use serde_json::{Value, json};

fn budi() -> Value {
    json!([
        {
            "id": "wamid.demo-0001",
            "occurred_at": "2026-11-20T09:15:03+07:00",
            "channel": "whatsapp",
            "direction": "inbound",
            "contact": { "phone": "0812-3456-7890", "name": "Budi Santoso" },
            "source": { "platform": "meta", "type": "ad", "id": "120210000000000001",
                        "name": "Promo 11.11 Carousel", "url": "https://fb.me/promo1111" }
        },
        {
            "id": "wamid.demo-0002",
            "occurred_at": "2026-11-20T09:15:43+07:00",
            "channel": "whatsapp",
            "direction": "outbound",
            "sender": "ai",
            "contact": { "phone": "+6281234567890" }
        },
        {
            "id": "ig.m.demo-77",
            "occurred_at": "2026-11-20T10:00:00Z",
            "channel": "instagram",
            "direction": "inbound",
            "contact": { "external_id": "17841400000000077", "name": "sari.shop", "email": "Sari@Example.COM" }
        }
    ])
}

fn names(page: &Value) -> Vec<String> {
    page["leads"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_lead_appears_with_the_spec_shape_and_repeats_are_ignored() {
    let s = Server::start("mem://").await;
    let (status, body) = s.post_events(&budi()).await;
    assert_eq!(
        (status, body),
        (200, json!({"accepted": 3, "duplicates": 0}))
    );

    let (status, page) = s.get("/api/v1/leads?from=2026-11-20&to=2026-11-20").await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 2);
    assert_eq!(page["next_cursor"], Value::Null);
    let lead = &page["leads"][1];
    let ad = json!({"platform": "meta", "type": "ad", "id": "120210000000000001",
                    "name": "Promo 11.11 Carousel", "url": "https://fb.me/promo1111"});
    assert_eq!(
        *lead,
        json!({
            "id": "+6281234567890",
            "date": "2026-11-20T02:15:03Z",
            "name": "Budi Santoso",
            "phone": "+6281234567890",
            "email": null,
            "channel": "whatsapp",
            "first_source": ad,
            "first_touched_at": "2026-11-20T02:15:43Z",
            "last_source": ad
        })
    );
    // Newest first: Sari wrote at 10:00Z, after Budi's 02:15Z.
    assert_eq!(names(&page), ["sari.shop", "Budi Santoso"]);
    assert_eq!(page["leads"][0]["phone"], Value::Null);
    assert_eq!(page["leads"][0]["first_touched_at"], Value::Null);

    // The same events again: acknowledged, ignored.
    let (status, body) = s.post_events(&budi()).await;
    assert_eq!(
        (status, body),
        (200, json!({"accepted": 0, "duplicates": 3}))
    );
    // A single object works too, and a repeat inside one batch counts once.
    let one = budi()[0].clone();
    let (_, body) = s.post_events(&one).await;
    assert_eq!(body, json!({"accepted": 0, "duplicates": 1}));
    let mut fresh = budi()[0].clone();
    fresh["id"] = json!("wamid.new");
    let (_, body) = s.post_events(&json!([fresh.clone(), fresh])).await;
    assert_eq!(body, json!({"accepted": 1, "duplicates": 1}));
}

#[tokio::test]
async fn a_bad_batch_is_refused_whole_and_names_the_event() {
    let s = Server::start("mem://").await;
    let mut batch = budi();
    batch[2]["contact"]["phone"] = json!("call me maybe");
    let (status, body) = s.post_events(&batch).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_event");
    assert_eq!(body["error"]["index"], 2);
    assert_eq!(body["error"]["field"], "contact.phone");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    // Nothing of it was written.
    let (_, page) = s.get("/api/v1/leads?from=2026-11-01&to=2026-11-30").await;
    assert_eq!(page["total"], 0);
    assert_eq!(page["leads"], json!([]));

    let (status, body) = s.post_events(&json!({"id": 5})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("id")));

    let r = s
        .http
        .post(s.url("/api/v1/events"))
        .bearer_auth(common::TOKEN)
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);

    let too_many = Value::Array(vec![budi()[0].clone(); 1001]);
    let (status, body) = s.post_events(&too_many).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("batch_too_large"))
    );
}

#[tokio::test]
async fn the_api_needs_the_token() {
    let s = Server::start("mem://").await;
    for req in [
        s.http.get(s.url("/api/v1/leads")),
        s.http.post(s.url("/api/v1/events")).json(&budi()),
        s.http.get(s.url("/api/v1/leads")).bearer_auth("wrong"),
    ] {
        let r = req.send().await.expect("request");
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.expect("json error");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let r = s.http.get(s.url("/healthz")).send().await.expect("request");
    assert_eq!(
        (r.status().as_u16(), r.text().await.ok()),
        (200, Some("ok".into()))
    );
}

#[tokio::test]
async fn search_by_name_email_and_phone_digits_in_any_format() {
    let s = Server::start("mem://").await;
    s.post_events(&budi()).await;
    let mut other = budi()[0].clone();
    other["id"] = json!("other");
    other["contact"] = json!({"phone": "+65 9123 4567", "name": "Wei Ling"});
    s.post_events(&other).await;

    let range = "from=2026-11-20&to=2026-11-20";
    for (q, expected) in [
        ("budi", vec!["Budi Santoso"]),
        ("SANTOSO", vec!["Budi Santoso"]),
        ("example.com", vec!["sari.shop"]),
        ("0812", vec!["Budi Santoso"]),
        ("62812", vec!["Budi Santoso"]),
        ("+62 812-3456", vec!["Budi Santoso"]),
        ("0812 3456 7890", vec!["Budi Santoso"]),
        ("91234567", vec!["Wei Ling"]),
        ("nobody", vec![]),
    ] {
        let (status, page) = s.get(&format!("/api/v1/leads?{range}&q={}", enc(q))).await;
        assert_eq!(status, 200, "{q}");
        assert_eq!(names(&page), expected, "q={q}");
        assert_eq!(page["total"], expected.len(), "q={q}");
    }
}

#[tokio::test]
async fn days_are_whole_days_in_the_chosen_time_zone() {
    let s = Server::start("mem://").await;
    let mut ev = budi()[0].clone();
    // 01:00 in Jakarta is still the 19th in UTC.
    ev["occurred_at"] = json!("2026-11-20T01:00:00+07:00");
    s.post_events(&ev).await;
    let total = |q: &'static str| {
        let s = &s;
        async move { s.get(&format!("/api/v1/leads?{q}")).await.1["total"].clone() }
    };
    assert_eq!(total("from=2026-11-20&to=2026-11-20").await, 1);
    assert_eq!(total("from=2026-11-20&to=2026-11-20&tz=UTC").await, 0);
    assert_eq!(total("from=2026-11-19&to=2026-11-19&tz=UTC").await, 1);
    assert_eq!(total("from=2026-11-19&to=2026-11-19").await, 0);
}

#[tokio::test]
async fn malformed_parameters_answer_400_naming_them() {
    let s = Server::start("mem://").await;
    for (q, param) in [
        ("from=yesterday", "from"),
        ("tz=Nowhere/Land", "tz"),
        ("limit=9999", "limit"),
        ("cursor=garbage!", "cursor"),
        ("sort=phone", "sort"),
        ("touched=perhaps", "touched"),
        ("channel=fax", "channel"),
    ] {
        let (status, body) = s.get(&format!("/api/v1/leads?{q}")).await;
        assert_eq!(status, 400, "{q}");
        assert_eq!(body["error"]["param"], param, "{q}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(param))
        );
    }
}

fn inbound(id: &str, phone: &str, at: &str) -> Value {
    json!({"id": id, "occurred_at": at, "channel": "whatsapp", "direction": "inbound",
           "contact": {"phone": phone, "name": format!("Lead {id}")}})
}

#[tokio::test]
async fn keyset_pages_neither_skip_nor_repeat_while_leads_arrive() {
    let s = Server::start("mem://").await;
    // 120 leads, several sharing a second so ties are broken by key.
    let batch: Vec<Value> = (0..120)
        .map(|i| {
            inbound(
                &format!("p{i}"),
                &format!("+62811000{i:05}"),
                &format!("2026-11-1{}T0{}:00:{:02}+07:00", i % 3, i % 5, i % 7),
            )
        })
        .collect();
    assert_eq!(s.post_events(&Value::Array(batch)).await.0, 200);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut last_date = String::from("9999");
    for page_no in 0.. {
        let q = match &cursor {
            Some(c) => format!("/api/v1/leads?from=2026-11-01&to=2026-11-30&limit=50&cursor={c}"),
            None => "/api/v1/leads?from=2026-11-01&to=2026-11-30&limit=50".to_owned(),
        };
        let (status, page) = s.get(&q).await;
        assert_eq!(status, 200);
        assert_eq!(page["total"].as_u64().map(|t| t >= 120), Some(true));
        for l in page["leads"].as_array().expect("leads") {
            let date = l["date"].as_str().expect("date").to_owned();
            assert!(date <= last_date, "newest first");
            last_date = date;
            seen.push(l["id"].as_str().expect("id").to_owned());
        }
        // New, newer leads arrive between pages: they belong before page 1.
        let newer = inbound(
            &format!("new{page_no}"),
            &format!("+62819000{page_no:05}"),
            "2026-11-25T12:00:00+07:00",
        );
        s.post_events(&newer).await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no lead repeated");
    assert_eq!(seen.len(), 120, "every lead listed once");
}

#[tokio::test]
async fn concurrent_batches_for_one_contact_make_one_lead() {
    let s = Server::start("mem://").await;
    let phone = "+6287700000001";
    let mut tasks = Vec::new();
    for b in 0..8 {
        let http = s.http.clone();
        let url = s.url("/api/v1/events");
        // Every batch holds an inbound message of the same contact; the
        // earliest one is in batch 5, and an agent answer before the others.
        let mut batch = vec![inbound(
            &format!("c{b}"),
            phone,
            &format!("2026-11-20T1{b}:00:00+07:00"),
        )];
        if b == 5 {
            batch.push(inbound("c-first", phone, "2026-11-20T08:00:00+07:00"));
        }
        if b == 2 {
            batch.push(json!({"id": "c-agent", "occurred_at": "2026-11-20T09:00:00+07:00", "channel": "whatsapp",
                              "direction": "outbound", "sender": "agent", "contact": {"phone": phone}}));
        }
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(common::TOKEN)
                .json(&batch)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 200);
            let body: Value = r.json().await.expect("json");
            body["accepted"].as_u64().unwrap_or(0)
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.expect("task");
    }
    assert_eq!(accepted, 10);
    let (_, page) = s.get("/api/v1/leads?from=2026-11-20&to=2026-11-20").await;
    assert_eq!(page["total"], 1);
    let lead = &page["leads"][0];
    assert_eq!(lead["date"], "2026-11-20T01:00:00Z");
    assert_eq!(lead["first_touched_at"], "2026-11-20T02:00:00Z");
}

#[tokio::test]
async fn filters_of_the_spec_narrow_the_list() {
    let s = Server::start("mem://").await;
    s.post_events(&budi()).await;
    let range = "from=2026-11-20&to=2026-11-20";
    let check = |q: String, expected: Vec<&'static str>| {
        let s = &s;
        async move {
            let (status, page) = s.get(&format!("/api/v1/leads?{range}&{q}")).await;
            assert_eq!(status, 200, "{q}");
            assert_eq!(names(&page), expected, "{q}");
        }
    };
    check("channel=instagram".into(), vec!["sari.shop"]).await;
    check(
        "channel=whatsapp,instagram".into(),
        vec!["sari.shop", "Budi Santoso"],
    )
    .await;
    check("touched=yes".into(), vec!["Budi Santoso"]).await;
    check("touched=no".into(), vec!["sari.shop"]).await;
    check("source=meta".into(), vec!["Budi Santoso"]).await;
    check("source=120210000000000001".into(), vec!["Budi Santoso"]).await;
    check("sort=date".into(), vec!["Budi Santoso", "sari.shop"]).await;
    check("sort=name".into(), vec!["Budi Santoso", "sari.shop"]).await;
    check("sort=-name".into(), vec!["sari.shop", "Budi Santoso"]).await;
    check(
        "sort=first_touched_at".into(),
        vec!["Budi Santoso", "sari.shop"],
    )
    .await;
}

#[tokio::test]
async fn summary_and_csv_use_the_same_filters() {
    let s = Server::start("mem://").await;
    s.post_events(&budi()).await;
    let (status, sum) = s
        .get("/api/v1/leads/summary?from=2026-11-19&to=2026-11-20")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            sum["total"].clone(),
            sum["touched"].clone(),
            sum["untouched"].clone()
        ),
        (json!(2), json!(1), json!(1))
    );
    assert_eq!(sum["median_first_touch_seconds"], 40);
    assert_eq!(
        sum["by_day"],
        json!([{"day": "2026-11-19", "count": 0}, {"day": "2026-11-20", "count": 2}])
    );
    let by_source = sum["by_source"].as_array().expect("by_source");
    assert!(by_source.contains(
        &json!({"source": {"platform": "meta", "id": "120210000000000001",
                                                   "name": "Promo 11.11 Carousel"}, "count": 1})
    ));
    assert!(by_source.contains(&json!({"source": null, "count": 1})));

    let r = s
        .http
        .get(s.url("/api/v1/leads.csv?from=2026-11-20&to=2026-11-20&q=budi"))
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/csv"))
    );
    let text = r.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,date,name,phone,email,channel"));
    assert!(lines[1].starts_with(
        "+6281234567890,2026-11-20T09:15:03+07:00,Budi Santoso,+6281234567890,,whatsapp,meta,"
    ));

    let (status, body) = s.get("/api/v1/leads/summary?from=nope").await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("from"))
    );
}
