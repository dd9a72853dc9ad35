//! The API's behaviour: the router in this process on `mem://`, driven
//! in-process (`oneshot`) or over loopback HTTP. (Writes on RocksDB checked
//! afterwards with `verify` are in `crash.rs`, with the binary.)

mod common;

use common::{InProcess, enc, inbound, request};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_appears_with_the_spec_shape_and_repeats_are_ignored() {
    let s = InProcess::start("mem://").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_batch_is_refused_whole_and_names_the_event() {
    let s = InProcess::start("mem://").await;
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
    // A refused batch, as the spec answers every one: 400 invalid_event,
    // pointing at the first event past the limit.
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_event"))
    );
    assert_eq!(body["error"]["index"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_needs_the_token() {
    let s = InProcess::start("mem://").await;
    for req in [
        request("/api/v1/leads", None, None),
        request("/api/v1/events", None, Some(&budi())),
        request("/api/v1/leads", Some("wrong"), None),
    ] {
        let (status, _, text) = s.call(req).await;
        assert_eq!(status, 401);
        let body: Value = serde_json::from_str(&text).expect("json error");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, _, text) = s.call(request("/healthz", None, None)).await;
    assert_eq!((status, text.as_str()), (200, "ok"));
    // Every path under /api/v1, the bare `/api/v1/` too, is the API's: a
    // JSON 401 without the token, a JSON 404 with it where no route is.
    for path in ["/api/v1", "/api/v1/", "/api/v1/nope", "/api/v1/leads/"] {
        let (status, _, text) = s.call(request(path, None, None)).await;
        assert_eq!(status, 401, "{path}");
        let body: Value = serde_json::from_str(&text).expect("json error");
        assert_eq!(body["error"]["code"], "unauthorized", "{path}");
        let (status, _, text) = s.call(request(path, Some(common::TOKEN), None)).await;
        assert_eq!(status, 404, "{path}");
        let body: Value = serde_json::from_str(&text).expect("json error");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_by_name_email_and_phone_digits_in_any_format() {
    let s = InProcess::start("mem://").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_are_whole_days_in_the_chosen_time_zone() {
    let s = InProcess::start("mem://").await;
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

/// `path` answers 400 with the JSON error naming `param`.
async fn assert_names_param(s: &InProcess, path: &str, param: &str) {
    let (status, body) = s.get(path).await;
    assert_eq!(status, 400, "{path}");
    assert_eq!(body["error"]["param"], param, "{path}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(param)),
        "{path}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_with_a_phone_and_a_channel_id_is_one_lead_in_any_order() {
    let s = InProcess::start("mem://").await;
    let ig = |id: &str, at: &str, contact: Value| {
        json!({"id": id, "occurred_at": at, "channel": "instagram",
               "direction": "inbound", "contact": contact})
    };
    // Sari gives her phone first, then writes with her Instagram id alone.
    s.post_events(&json!([ig(
        "s1",
        "2026-06-20T10:00:00Z",
        json!({"phone": "0813 0000 2001", "external_id": "1784001", "name": "Sari"})
    )]))
    .await;
    s.post_events(&json!([ig(
        "s2",
        "2026-06-25T10:00:00Z",
        json!({"external_id": "1784001"})
    )]))
    .await;
    // Rina's messages arrive the other way round.
    s.post_events(&json!([ig(
        "r2",
        "2026-06-26T10:00:00Z",
        json!({"external_id": "1784002"})
    )]))
    .await;
    s.post_events(&json!([ig(
        "r1",
        "2026-06-21T10:00:00Z",
        json!({"phone": "0813 0000 2002", "external_id": "1784002", "name": "Rina"})
    )]))
    .await;
    let (status, page) = s
        .get("/api/v1/leads?from=2026-06-01&to=2026-06-30&tz=UTC&sort=date")
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(names(&page), ["Sari", "Rina"]);
    let dates: Vec<&str> = page["leads"]
        .as_array()
        .expect("leads")
        .iter()
        .map(|l| l["date"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(dates, ["2026-06-20T10:00:00Z", "2026-06-21T10:00:00Z"]);
    assert_eq!(page["leads"][1]["phone"], "+6281300002002");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_parameters_answer_400_naming_them() {
    let s = InProcess::start("mem://").await;
    for (q, param) in [
        ("from=yesterday", "from"),
        ("tz=Nowhere/Land", "tz"),
        ("limit=9999", "limit"),
        ("cursor=garbage!", "cursor"),
        ("sort=phone", "sort"),
        ("touched=perhaps", "touched"),
        ("channel=fax", "channel"),
    ] {
        assert_names_param(&s, &format!("/api/v1/leads?{q}"), param).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_neither_skip_nor_repeat_while_leads_arrive() {
    let s = InProcess::start("mem://").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_for_one_contact_make_one_lead() {
    let s = InProcess::start("mem://").await;
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
            let r = common::post_json(&http, &url, &batch).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_of_the_spec_narrow_the_list() {
    let s = InProcess::start("mem://").await;
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
    // A list as some clients write one: the key repeated.
    check(
        "channel=whatsapp&channel=instagram".into(),
        vec!["sari.shop", "Budi Santoso"],
    )
    .await;
    assert_names_param(
        &s,
        &format!("/api/v1/leads?{range}&sort=date&sort=name"),
        "sort",
    )
    .await;
    check("touched=yes".into(), vec!["Budi Santoso"]).await;
    check("touched=no".into(), vec!["sari.shop"]).await;
    check("source=meta".into(), vec!["Budi Santoso"]).await;
    check("source=Meta".into(), vec!["Budi Santoso"]).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_and_csv_use_the_same_filters() {
    let s = InProcess::start("mem://").await;
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
    // Exactly the spec's shape.
    assert!(by_source.contains(&json!({
        "source": {"platform": "meta", "id": "120210000000000001", "name": "Promo 11.11 Carousel"},
        "count": 1
    })));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_ranges_are_bounded_and_never_crash_the_server() {
    let s = InProcess::start("mem://").await;
    for (q, param) in [
        (
            "/api/v1/leads/summary?from=-262143-01-01&to=9999-12-31",
            "from",
        ),
        ("/api/v1/leads?to=-262143-01-03", "to"),
        ("/api/v1/leads?from=+262142-01-01", "from"),
        ("/api/v1/leads/summary?from=2000-01-01&to=2026-12-31", "to"),
        ("/api/v1/leads.csv?from=1970-01-01&to=9999-12-31", "to"),
    ] {
        assert_names_param(&s, q, param).await;
    }
    // Ten years is allowed, and the summary has one entry per day.
    let (status, sum) = s
        .get("/api/v1/leads/summary?from=2017-01-01&to=2026-12-31")
        .await;
    assert_eq!(status, 200);
    assert_eq!(sum["by_day"].as_array().map(Vec::len), Some(3652));
    assert_eq!(s.get("/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_and_csv_check_paging_parameters_then_ignore_them() {
    let s = InProcess::start("mem://").await;
    let batch: Vec<Value> = (0..7)
        .map(|i| {
            inbound(
                &format!("g{i}"),
                &format!("+62811200{i:05}"),
                "2026-11-20T09:00:00+07:00",
            )
        })
        .collect();
    s.post_events(&Value::Array(batch)).await;
    let range = "from=2026-11-20&to=2026-11-20";
    let (_, page) = s.get(&format!("/api/v1/leads?{range}&limit=2")).await;
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (status, sum) = s
        .get(&format!(
            "/api/v1/leads/summary?{range}&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!((status, sum["total"].as_u64()), (200, Some(7)));
    // The filter table is shared (`api.md`): malformed paging is a 400
    // naming it on every route, well-formed paging is ignored.
    assert_names_param(
        &s,
        &format!("/api/v1/leads/summary?{range}&cursor=not-a-cursor"),
        "cursor",
    )
    .await;
    assert_names_param(
        &s,
        &format!("/api/v1/leads/summary?{range}&limit=0"),
        "limit",
    )
    .await;
    assert_names_param(&s, &format!("/api/v1/leads.csv?{range}&limit=501"), "limit").await;
    let r = s
        .http
        .get(s.url(&format!(
            "/api/v1/leads.csv?{range}&limit=2&cursor={cursor}"
        )))
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    assert_eq!(text.lines().count(), 1 + 7, "{text}");
}

/// The names on `first` and on every page after it, following cursors.
async fn rest_of_pages(s: &InProcess, path: &str, first: &Value) -> Vec<String> {
    let mut seen = names(first);
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (_, p) = s.get(&format!("{path}&cursor={c}")).await;
        seen.extend(names(&p));
        cursor = p["next_cursor"].as_str().map(str::to_owned);
    }
    seen
}

/// What a user sees when a lead's own sort value changes between two pages:
/// it is shown where it now belongs. Newest first, a late earlier message
/// moves a lead that was on page 1 to a later page: it shows up again there.
/// Oldest first, the same lead moves into pages already passed: this paging
/// does not show it again (a new first page does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_whose_date_moves_between_pages_is_shown_where_it_now_belongs() {
    let s = InProcess::start("mem://").await;
    let batch: Vec<Value> = (0..6)
        .map(|i| {
            inbound(
                &format!("m{i}"),
                &format!("+62811300{i:05}"),
                &format!("2026-11-20T1{i}:00:00+07:00"),
            )
        })
        .collect();
    s.post_events(&Value::Array(batch)).await;
    let range = "from=2026-11-20&to=2026-11-20&limit=2";
    let (_, p1) = s.get(&format!("/api/v1/leads?{range}")).await;
    assert_eq!(names(&p1), ["Lead m5", "Lead m4"]);
    // m5 turns out to have written first, at 08:00.
    s.post_events(&inbound(
        "m5-early",
        "+6281130000005",
        "2026-11-20T08:00:00+07:00",
    ))
    .await;
    let seen = rest_of_pages(&s, &format!("/api/v1/leads?{range}"), &p1).await;
    // The name stays the latest one (15:00), the Date moved to 08:00.
    assert_eq!(
        seen,
        [
            "Lead m5", "Lead m4", "Lead m3", "Lead m2", "Lead m1", "Lead m0", "Lead m5"
        ]
    );

    let (_, p1) = s.get(&format!("/api/v1/leads?{range}&sort=date")).await;
    assert_eq!(names(&p1), ["Lead m5", "Lead m0"]);
    s.post_events(&inbound(
        "m4-early",
        "+6281130000004",
        "2026-11-20T07:00:00+07:00",
    ))
    .await;
    let seen = rest_of_pages(&s, &format!("/api/v1/leads?{range}&sort=date"), &p1).await;
    assert_eq!(
        seen,
        ["Lead m5", "Lead m0", "Lead m1", "Lead m2", "Lead m3"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_error_is_json_and_answers_carry_security_headers() {
    let s = InProcess::start("mem://").await;
    // A full batch with every text field at its limit fits the body limit.
    let long = |c: char, n: usize| std::iter::repeat_n(c, n).collect::<String>();
    let full: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"id": format!("{i:04}{}", long('i', 252)),
               "occurred_at": "2026-11-20T10:00:00Z", "channel": "web", "direction": "inbound",
               "contact": {"external_id": format!("{i:04}{}", long('x', 124)), "name": long('n', 256),
                           "email": format!("{}@{}.com", long('e', 64), long('d', 185))},
               "source": {"platform": long('p', 256), "type": "ad", "id": long('a', 256),
                          "name": long('s', 256), "url": format!("https://{}", long('u', 2040))}})
        })
        .collect();
    let full = Value::Array(full);
    assert!(full.to_string().len() > 3_500_000);
    let (status, body) = s.post_events(&full).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 1000);
    // Larger than the 8 MiB limit.
    let big = vec![b' '; 8 * 1024 * 1024 + 1];
    let r = s
        .http
        .post(s.url("/api/v1/events"))
        .bearer_auth(common::TOKEN)
        .header("Content-Type", "application/json")
        // The server does not read a refused body and closes the connection:
        // do not offer it for reuse.
        .header("Connection", "close")
        .body(big)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "payload_too_large");
    // A method the route does not take.
    for wrong in [
        s.http.delete(s.url("/api/v1/leads")),
        s.http.post(s.url("/healthz")),
    ] {
        let r = wrong
            .bearer_auth(common::TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 405);
        let body: Value = r.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
    // Headers on the page and on the API.
    for path in ["/", "/api/v1/leads"] {
        let r = s
            .http
            .get(s.url(path))
            .bearer_auth(common::TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(r.headers()["x-frame-options"], "DENY", "{path}");
        assert_eq!(r.headers()["referrer-policy"], "same-origin", "{path}");
        assert!(r.headers().contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_cannot_write_from_other_sites_and_the_api_answers_by_its_token() {
    let s = InProcess::start("mem://").await;
    let post = |headers: Vec<(&'static str, String)>, id: &'static str| {
        let mut req = s
            .http
            .post(s.url("/api/v1/events"))
            .bearer_auth(common::TOKEN)
            .json(&inbound(id, "+6281298765432", "2026-11-20T09:00:00+07:00"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { req.send().await.expect("request").status().as_u16() }
    };
    let h = |k: &'static str, v: &str| vec![(k, v.to_owned())];
    // The API takes only a bearer token (never the session cookie), which
    // a foreign page cannot send on a browser's behalf: wherever a request
    // comes from, the token decides (a client on another origin, say a
    // dev server, works).
    assert_eq!(post(h("Sec-Fetch-Site", "cross-site"), "x1").await, 200);
    assert_eq!(post(h("Origin", "http://evil.example"), "x2").await, 200);
    assert_eq!(post(h("Sec-Fetch-Site", "same-origin"), "x4").await, 200);
    assert_eq!(post(vec![], "x5").await, 200);
    assert_eq!(post(h("Origin", &s.base), "x6").await, 200);
    // What a browser sends by itself, the session cookie, works only from
    // this site: a form posted from another one is refused.
    for (k, v) in [
        ("Sec-Fetch-Site", "cross-site"),
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
    ] {
        let r = s
            .http
            .post(s.url("/signout"))
            .header(k, v)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 403, "{k}: {v}");
    }
}

/// The API description is served without a token and names every route of
/// the API and the webhooks (a unit test checks the routers' source).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served() {
    let s = InProcess::start("mem://").await;
    let r = reqwest::get(s.url("/api/v1/openapi.json"))
        .await
        .expect("doc");
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/events",
        "/api/v1/leads",
        "/api/v1/leads/summary",
        "/webhooks/whatsapp",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // What the server enforces is described, so a generated client or a
    // fuzzer sends what it accepts: every value an enum or schema allows
    // is answered 200.
    let params = doc["paths"]["/api/v1/leads"]["get"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let param = |n: &str| {
        params
            .iter()
            .find(|p| p["name"] == n)
            .map(|p| p["schema"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(param("limit")["anyOf"][0]["maximum"], 500);
    for name in ["touched", "range", "sort", "tz"] {
        for v in param(name)["enum"].as_array().cloned().unwrap_or_default() {
            let v = v.as_str().unwrap_or("").replace('+', "%2B");
            let (status, body) = s.get(&format!("/api/v1/leads?{name}={v}")).await;
            assert_eq!(status, 200, "{name}={v}: {body}");
        }
    }
    let channels = doc["components"]["schemas"]["Event"]["properties"]["channel"]["enum"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(channels.len() >= 3);
    for c in channels {
        let c = c.as_str().unwrap_or("");
        let (status, body) = s.get(&format!("/api/v1/leads?channel={c}")).await;
        assert_eq!(status, 200, "channel={c}: {body}");
    }
}

/// No answer with customers' data may be kept by a CDN or shared proxy:
/// every route but the site's own files says `no-store`, varying by the
/// credentials; HSTS once served over HTTPS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_data_is_never_cacheable() {
    let s = InProcess::start("mem://").await;
    let (status, _) = s
        .post_events(&inbound(
            "cache-1",
            "+6281298765432",
            "2026-11-20T09:00:00+07:00",
        ))
        .await;
    assert_eq!(status, 200);
    let q = "from=2026-11-20&to=2026-11-20";
    for path in [
        "/".to_owned(),
        format!("/?{q}"),
        format!("/export/leads.csv?{q}"),
        format!("/api/v1/leads?{q}"),
        format!("/api/v1/leads.csv?{q}"),
        format!("/api/v1/leads/summary?{q}"),
        "/api/v1/leads/%2B6281298765432".to_owned(),
        "/api/v1/stats".to_owned(),
        "/settings".to_owned(),
        "/signin".to_owned(),
    ] {
        let r = s
            .http
            .get(s.url(&path))
            .bearer_auth(common::TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        let vary: Vec<&str> = r
            .headers()
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(
            vary.iter()
                .any(|v| v.contains("Cookie") && v.contains("Authorization")),
            "{path}: {vary:?}"
        );
        assert!(
            !r.headers().contains_key("strict-transport-security"),
            "plain HTTP"
        );
    }
    // The page's server functions too.
    let r = s
        .http
        .post(s.url("/srv/leads"))
        .form(&[("lang", "Id")])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // The Ads view's, as the page calls it with no filter set and only a
    // toggle or a sort (no `query[leads]` at all).
    for body in [
        "query[order]=leads&lang=En",
        "query[attribution]=last&lang=Id",
        "query[count_by]=event_date&query[order]=-roas&lang=En",
    ] {
        let r = s
            .http
            .post(s.url("/srv/ads"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "{body}: {:?}", r.text().await);
    }
    // A client that says HTTPS is not believed: only a trusted proxy is.
    let says_https = |s: &InProcess| {
        s.http
            .get(s.url("/healthz"))
            .header("x-forwarded-proto", "https")
            .send()
    };
    let r = says_https(&s).await.expect("request");
    assert!(r.headers().get("strict-transport-security").is_none());
    // Behind a trusted proxy that says HTTPS: HSTS.
    let s = InProcess::start_with_env("mem://", &[("LEADS_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let r = says_https(&s).await.expect("request");
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
}

/// Downloads are bounded: one caller holds at most 4 open at once, and all
/// callers together at most 16 snapshots; the next is told to come back
/// later, and once they go away downloads work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_downloads_are_bounded() {
    let s = InProcess::start("mem://").await;
    // Enough leads that an unread download cannot finish into the socket.
    for b in 0..40 {
        let batch: Vec<Value> = (0..1000)
            .map(|i| {
                json!({"id": format!("dl-{b}-{i}"), "occurred_at": "2026-11-20T09:00:00+07:00",
                   "channel": "whatsapp", "direction": "inbound",
                   "contact": {"phone": format!("+62813{b:03}{i:05}"), "name": "Pelanggan Setia Sekali Namanya Panjang",
                               "email": format!("pelanggan{b}x{i}@contoh-toko-online.co.id")}})
            })
            .collect();
        assert_eq!(s.post_events(&Value::Array(batch)).await.0, 200);
    }
    let url = s.url("/api/v1/leads.csv?from=2026-11-20&to=2026-11-20");
    // Four callers: LEADS_API_TOKEN and three tokens made on the settings page.
    let mut tokens = vec![common::TOKEN.to_owned()];
    for name in ["agency", "sheet", "bi"] {
        let page = s
            .http
            .post(s.url("/settings/tokens"))
            .form(&[("name", name)])
            .send()
            .await
            .expect("create")
            .text()
            .await
            .expect("page");
        tokens.push(
            page.split("data-testid=\"new-token\">")
                .nth(1)
                .and_then(|t| t.split('<').next())
                .expect("the token")
                .to_owned(),
        );
    }
    let mut open = Vec::new();
    for (n, token) in tokens.iter().enumerate() {
        for _ in 0..4 {
            // Each on its own connection, never read.
            let c = reqwest::Client::new();
            let r = c
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .expect("download");
            assert_eq!(r.status(), 200);
            open.push((c, r));
        }
        if n == 0 {
            // A fifth of one caller's waits for one of theirs, then is refused;
            // others still go.
            let r = s
                .http
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .expect("fifth");
            assert_eq!(r.status(), 503);
            let body: Value = r.json().await.expect("json");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("you have 4"),
                "{body}"
            );
        }
    }
    let r = s
        .http
        .get(&url)
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .expect("one more");
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "busy");
    drop(open);
    // The stalled ones notice their clients are gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = s
            .http
            .get(&url)
            .bearer_auth(common::TOKEN)
            .send()
            .await
            .expect("again");
        if r.status() == 200 {
            let text = r.text().await.expect("csv");
            assert_eq!(text.lines().count(), 40_001);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "downloads never freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
