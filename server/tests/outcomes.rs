//! Outcomes (`shared/spec/outcomes.md`): conversions in, lead quality on the
//! list and in the summary, ad spend in (replace, not add), and the ads
//! report in JSON and CSV. The router in this process on `mem://`; the
//! import command as the binary.

mod common;

use common::InProcess;
use serde_json::{Value, json};

const AD: &str = "120400001";

fn inbound(id: &str, phone: &str, at: &str, ad: Option<&str>) -> Value {
    let mut e = json!({"id": id, "occurred_at": at, "channel": "whatsapp",
                       "direction": "inbound", "contact": {"phone": phone}});
    if let Some(a) = ad {
        e["source"] = json!({"platform": "meta", "type": "ad", "id": a, "name": "Kopi A"});
    }
    e
}

fn reply(id: &str, phone: &str, at: &str) -> Value {
    json!({"id": id, "occurred_at": at, "channel": "whatsapp", "direction": "outbound",
           "sender": "agent", "contact": {"phone": phone}})
}

fn purchase(id: &str, phone: &str, at: &str, value: Value) -> Value {
    json!({"id": id, "kind": "conversion", "occurred_at": at, "contact": {"phone": phone},
           "conversion": {"type": "purchase", "value": value, "currency": "IDR"}})
}

/// The spec's example: four leads of the ad Kopi A (three answered, two
/// engaged, two with one message, one buyer of Rp 150,000) and one organic
/// lead answered after 30 minutes; Rp 110,000 spent on the ad.
fn example() -> Value {
    json!([
        // Answered after 1 min, wrote back: engaged; bought.
        inbound("a1", "+6281100000001", "2026-10-05T02:00:00Z", Some(AD)),
        reply("a1r", "+6281100000001", "2026-10-05T02:01:00Z"),
        inbound("a1b", "+6281100000001", "2026-10-05T02:03:00Z", None),
        purchase(
            "order-1",
            "0811-0000-0001",
            "2026-10-07T05:00:00Z",
            json!("150000")
        ),
        // Answered after 3 min, wrote back: engaged.
        inbound("a2", "+6281100000002", "2026-10-05T03:00:00Z", Some(AD)),
        reply("a2r", "+6281100000002", "2026-10-05T03:03:00Z"),
        inbound("a2b", "+6281100000002", "2026-10-05T03:04:00Z", None),
        // Answered after 5 min, one message.
        inbound("a3", "+6281100000003", "2026-10-05T04:00:00Z", Some(AD)),
        reply("a3r", "+6281100000003", "2026-10-05T04:05:00Z"),
        // Never answered, one message.
        inbound("a4", "+6281100000004", "2026-10-06T04:00:00Z", Some(AD)),
        // Organic, answered after 30 min, one message.
        inbound("o1", "+6281100000005", "2026-10-06T05:00:00Z", None),
        reply("o1r", "+6281100000005", "2026-10-06T05:30:00Z"),
    ])
}

const RANGE: &str = "from=2026-10-01&to=2026-10-31";

async fn server_with_example() -> InProcess {
    let s = InProcess::start("mem://").await;
    let (status, body) = s.post_events(&example()).await;
    assert_eq!(status, 200, "{body}");
    let spend = json!([
        {"date": "2026-10-05", "platform": "meta", "ad_id": AD, "spend": 60000, "ad_name": "Kopi A"},
        {"date": "2026-10-06", "platform": "meta", "ad_id": AD, "spend": "50000"},
    ]);
    let (status, _, text) = s.call(s.api("/api/v1/spend", Some(&spend))).await;
    assert_eq!(status, 200, "{text}");
    s
}

/// The report's row of the ad `id`.
fn ad_row(report: &Value, id: &str) -> Value {
    report["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|x| x["source"]["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("a row for ad {id}: {report}"))
}

/// `attribution=last` credits a purchase to the lead's Last Source; the
/// rows stay first sources, so the lead itself stays where it began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_source_gets_the_purchase_and_the_first_keeps_the_lead() {
    let s = InProcess::start("mem://").await;
    let events = json!([
        inbound("b1", "+6281100000011", "2026-10-05T02:00:00Z", Some(AD)),
        reply("b1r", "+6281100000011", "2026-10-05T02:01:00Z"),
        {"id": "b1b", "occurred_at": "2026-10-09T02:00:00Z", "channel": "whatsapp",
         "direction": "inbound", "contact": {"phone": "+6281100000011"},
         "source": {"platform": "meta", "type": "ad", "id": "120400002", "name": "Teh B"}},
        purchase("order-b1", "+6281100000011", "2026-10-10T05:00:00Z", json!(90000)),
    ]);
    let (status, body) = s.post_events(&events).await;
    assert_eq!(status, 200, "{body}");
    for count_by in ["lead_date", "event_date"] {
        let q = format!("/api/v1/ads?{RANGE}&count_by={count_by}");
        let (_, first) = s.get(&format!("{q}&attribution=first")).await;
        let a = ad_row(&first, AD);
        assert_eq!(
            (&a["leads"], &a["buyers"], &a["revenue"]),
            (&json!(1), &json!(1), &json!(90000)),
            "{first}"
        );
        assert_eq!(first["rows"].as_array().map(Vec::len), Some(1), "{first}");
        let (_, last) = s.get(&format!("{q}&attribution=last")).await;
        let a = ad_row(&last, AD);
        assert_eq!(
            (&a["leads"], &a["buyers"], &a["revenue"]),
            (&json!(1), &json!(0), &json!(0)),
            "{last}"
        );
        let b = ad_row(&last, "120400002");
        assert_eq!(
            (&b["leads"], &b["buyers"], &b["revenue"]),
            (&json!(0), &json!(1), &json!(90000)),
            "{last}"
        );
        assert_eq!(
            (&b["cost_per_lead"], &b["answered"]),
            (&Value::Null, &json!(0)),
            "{last}"
        );
        assert_eq!(
            (&last["total"]["leads"], &last["total"]["buyers"]),
            (&json!(1), &json!(1))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ads_report_is_the_specs_example() {
    let s = server_with_example().await;
    let (status, r) = s.get(&format!("/api/v1/ads?{RANGE}")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r,
        json!({"currency": "IDR", "attribution": "first", "count_by": "lead_date",
         "rows": [{"source": {"platform": "meta", "type": "ad", "id": AD, "name": "Kopi A"},
                   "spend": 110000, "leads": 4, "cost_per_lead": 27500,
                   "answered": 3, "engaged": 2, "one_message": 2, "median_first_touch_seconds": 180,
                   "buyers": 1, "revenue": 150000, "cost_per_buyer": 110000, "roas": 1.364},
                  {"source": null, "spend": null, "leads": 1, "cost_per_lead": null, "answered": 1,
                   "engaged": 0, "one_message": 1, "median_first_touch_seconds": 1800,
                   "buyers": 0, "revenue": 0, "cost_per_buyer": null, "roas": null}],
         "total": {"spend": 110000, "leads": 5, "cost_per_lead": 22000, "answered": 4, "engaged": 2,
                   "one_message": 3, "median_first_touch_seconds": 240, "buyers": 1, "revenue": 150000,
                   "cost_per_buyer": 110000, "roas": 1.364}})
    );
    // The sum of leads is the Leads page's total for the same filters.
    let (_, page) = s.get(&format!("/api/v1/leads?{RANGE}")).await;
    assert_eq!(page["total"], 5);

    // Importing the same spend again, or a correction, replaces it.
    let fix = json!([{"date": "2026-10-06", "platform": "meta", "ad_id": AD, "spend": 40000}]);
    for _ in 0..2 {
        let (status, _, _) = s.call(s.api("/api/v1/spend", Some(&fix))).await;
        assert_eq!(status, 200);
    }
    let (_, r) = s.get(&format!("/api/v1/ads?{RANGE}")).await;
    assert_eq!(r["total"]["spend"], 100000);

    // Spend for an ad no lead names is shown: money spent, no leads.
    let other = json!([{"date": "2026-10-06", "platform": "meta", "ad_id": "999", "spend": 5000}]);
    s.call(s.api("/api/v1/spend", Some(&other))).await;
    let (_, r) = s.get(&format!("/api/v1/ads?{RANGE}")).await;
    let row = ad_row(&r, "999");
    assert_eq!(
        (row["leads"].clone(), row["cost_per_lead"].clone()),
        (json!(0), Value::Null)
    );

    // An ad its leads name without a name takes the name its spend gives.
    let mut unnamed = inbound("u1", "+6281100000009", "2026-10-08T04:00:00Z", Some("777"));
    unnamed["source"]["name"] = Value::Null;
    s.post_events(&json!([unnamed])).await;
    // Its spend not imported yet: an ad's spend sums to 0 (not unknown).
    let (_, r) = s.get(&format!("/api/v1/ads?{RANGE}")).await;
    let row = ad_row(&r, "777");
    assert_eq!(
        (
            row["spend"].as_f64(),
            row["cost_per_lead"].as_f64(),
            row["roas"].clone()
        ),
        (Some(0.0), Some(0.0), Value::Null),
        "{row}"
    );
    let named = json!([{"date": "2026-10-08", "platform": "meta", "ad_id": "777", "spend": 3000, "ad_name": "Kopi Z"}]);
    s.call(s.api("/api/v1/spend", Some(&named))).await;
    let (_, r) = s.get(&format!("/api/v1/ads?{RANGE}")).await;
    let row = ad_row(&r, "777");
    assert_eq!(row["source"]["name"], "Kopi Z", "{row}");
    assert_eq!(row["leads"], 1);

    // The CSV has the same numbers.
    let (status, headers, csv) = s
        .call(s.api(&format!("/api/v1/ads.csv?{RANGE}"), None))
        .await;
    assert_eq!(status, 200);
    assert!(
        headers[axum::http::header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().expect("header").split(',').collect();
    for name in [
        "spend",
        "leads",
        "cost_per_lead",
        "buyers",
        "revenue",
        "cost_per_buyer",
        "roas",
    ] {
        assert!(head.contains(&name), "{name} in {head:?}");
    }
    let total = csv.lines().last().expect("total line");
    assert!(
        total.starts_with("total,,,,,IDR,108000,6,18000,4,2,4,240,1,150000,"),
        "{total}"
    );
    assert!(
        csv.starts_with("row,"),
        "the API's CSV has no byte-order mark"
    );
    assert_eq!(
        headers[axum::http::header::CONTENT_DISPOSITION],
        "attachment; filename=\"ads-2026-10-01-2026-10-31.csv\""
    );
    // The page's download: the same lines, for spreadsheets.
    let r = s
        .http
        .get(s.url(&format!("/export/ads.csv?{RANGE}")))
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"ads-2026-10-01-2026-10-31.csv\""
    );
    // (Bytes: reqwest's `text` would drop the mark.)
    let page_csv = String::from_utf8(r.bytes().await.expect("csv").to_vec()).expect("UTF-8");
    assert_eq!(page_csv, format!("\u{feff}{csv}"));

    // Sorted by any column (spend descending by default), empty values
    // last either way; the same order in the CSV; a name that is no
    // column is refused naming `sort`.
    let leads_of = |r: &Value| -> Vec<u64> {
        r["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|x| x["leads"].as_u64().unwrap_or(0))
            .collect()
    };
    let (_, r) = s.get(&format!("/api/v1/ads?{RANGE}&sort=-leads")).await;
    let desc = leads_of(&r);
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    let (_, r) = s.get(&format!("/api/v1/ads?{RANGE}&sort=leads")).await;
    let asc = leads_of(&r);
    assert!(asc.windows(2).all(|w| w[0] <= w[1]), "{asc:?}");
    for sort in ["cost_per_lead", "-cost_per_lead"] {
        let (_, r) = s.get(&format!("/api/v1/ads?{RANGE}&sort={sort}")).await;
        let cpl: Vec<&Value> = r["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|x| &x["cost_per_lead"])
            .collect();
        let first_null = cpl.iter().position(|v| v.is_null()).unwrap_or(cpl.len());
        assert!(
            cpl[first_null..].iter().all(|v| v.is_null()),
            "{sort}: {cpl:?}"
        );
    }
    let (_, _, csv) = s
        .call(s.api(&format!("/api/v1/ads.csv?{RANGE}&sort=leads"), None))
        .await;
    let csv_leads: Vec<u64> = csv
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("total"))
        .map(|l| {
            l.split(',')
                .nth(7)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(csv_leads, asc);
    let (status, e) = s.get(&format!("/api/v1/ads?{RANGE}&sort=name")).await;
    assert_eq!(
        (status, e["error"]["param"].as_str()),
        (400, Some("sort")),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_filters_summary_and_toggles() {
    let s = server_with_example().await;
    let total = |q: &str| {
        let s = &s;
        let q = q.to_owned();
        async move { s.get(&format!("/api/v1/leads?{RANGE}&quality={q}")).await.1["total"].clone() }
    };
    assert_eq!(total("answered").await, 4);
    assert_eq!(total("engaged").await, 2);
    assert_eq!(total("one_message").await, 3);
    assert_eq!(total("buyer").await, 1);
    assert_eq!(total("not_buyer").await, 4);
    assert_eq!(total("engaged,not_buyer").await, 1);
    let (status, e) = s.get(&format!("/api/v1/leads?{RANGE}&quality=rich")).await;
    assert_eq!(
        (status, e["error"]["param"].clone()),
        (400, json!("quality"))
    );

    let (_, sum) = s.get(&format!("/api/v1/leads/summary?{RANGE}")).await;
    assert_eq!(
        (
            sum["engaged"].clone(),
            sum["one_message"].clone(),
            sum["buyers"].clone()
        ),
        (json!(2), json!(3), json!(1))
    );
    assert_eq!(sum["revenue"], 150000);
    assert_eq!(sum["answered"], sum["touched"]);
    let (_, answered) = s
        .get(&format!("/api/v1/leads?{RANGE}&quality=answered"))
        .await;
    assert_eq!(sum["answered"], answered["total"], "{sum}");

    // The buyer's lead carries its outcome; its detail lists the purchase.
    let (_, page) = s.get(&format!("/api/v1/leads?{RANGE}&quality=buyer")).await;
    assert_eq!(page["leads"][0]["id"], "+6281100000001");
    let (_, _, csv) = s
        .call(s.api(&format!("/api/v1/leads.csv?{RANGE}&quality=buyer"), None))
        .await;
    let line = csv.lines().nth(1).expect("the buyer's line");
    assert!(line.ends_with(",yes,yes,no,yes,150000"), "{line}");
    let (_, detail) = s.get("/api/v1/leads/%2B6281100000001").await;
    let conv: Vec<&Value> = detail["events"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["kind"] == "conversion").collect())
        .unwrap_or_default();
    assert_eq!(conv.len(), 1);
    assert_eq!(conv[0]["conversion"]["type"], "purchase");
    assert_eq!(conv[0]["conversion"]["attributed"], true);
    let listed = detail["conversions"].as_array().expect("conversions");
    assert_eq!(listed.len(), 1, "{detail}");
    assert_eq!(listed[0]["type"], "purchase");
    assert_eq!(listed[0]["value"], 150000.0);
    assert_eq!(listed[0]["currency"], "IDR");
    assert_eq!(listed[0]["attributed"], true);

    // By the purchase's date: a range holding only the purchase day has
    // the buyer and revenue, and no leads.
    let (_, r) = s
        .get("/api/v1/ads?from=2026-10-07&to=2026-10-07&count_by=event_date")
        .await;
    assert_eq!(
        (r["total"]["leads"].clone(), r["total"]["buyers"].clone()),
        (json!(0), json!(1))
    );
    let (_, r) = s.get("/api/v1/ads?from=2026-10-07&to=2026-10-07").await;
    assert_eq!(r["total"]["buyers"], 0);
    let (status, _) = s.get("/api/v1/ads?attribution=middle").await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_conversions_and_spend_are_refused_naming_the_field() {
    let s = InProcess::start("mem://").await;
    let ok = inbound("x1", "+6281100000009", "2026-10-05T02:00:00Z", None);
    let cases = [
        (json!({"currency": "USD"}), "conversion.currency"),
        (json!({"value": -1}), "conversion.value"),
        (json!({"value": null}), "conversion.value"),
        (json!({"type": "refund"}), "conversion.type"),
    ];
    for (patch, field) in cases {
        let mut c = purchase("c1", "+6281100000009", "2026-10-06T02:00:00Z", json!(1000));
        for (k, v) in patch.as_object().expect("patch") {
            c["conversion"][k] = v.clone();
        }
        let (status, body) = s.post_events(&json!([ok.clone(), c])).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            (
                body["error"]["index"].clone(),
                body["error"]["field"].clone()
            ),
            (json!(1), json!(field))
        );
    }
    // Nothing of a refused batch was written; a conversion alone makes no lead.
    let (_, page) = s.get("/api/v1/leads?from=2026-10-01&to=2026-10-31").await;
    assert_eq!(page["total"], 0);
    let (status, _) = s
        .post_events(&purchase(
            "c2",
            "+6281100000009",
            "2026-10-06T02:00:00Z",
            json!(1000),
        ))
        .await;
    assert_eq!(status, 200);
    let (_, page) = s.get("/api/v1/leads?from=2026-10-01&to=2026-10-31").await;
    assert_eq!(page["total"], 0);

    for (bad, field) in [
        (
            json!([{"date": "2026-10-05", "platform": "meta", "ad_id": AD, "spend": -5}]),
            "spend",
        ),
        (
            json!([{"date": "05/10/2026", "platform": "meta", "ad_id": AD, "spend": 5}]),
            "date",
        ),
        (
            json!([{"date": "2026-10-05", "platform": "meta", "spend": 5}]),
            "ad_id",
        ),
    ] {
        let (status, _, text) = s.call(s.api("/api/v1/spend", Some(&bad))).await;
        assert_eq!(status, 400, "{text}");
        let body: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(body["error"]["field"], field);
    }
}

#[test]
fn the_import_command_takes_an_ads_manager_export_and_orders() {
    let (db_dir, db) = common::temp_db("outcomes-import");
    let dir = db_dir.with_extension("files");
    std::fs::create_dir_all(&dir).expect("dir");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let events = write(
        "events.ndjson",
        &example()
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] != "conversion")
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let (ok, _, err) = common::run_cli(&["import", events.to_str().expect("path")], &db, None);
    assert!(ok, "{err}");
    let export = write(
        "ads.csv",
        "\u{feff}Reporting starts,Reporting ends,Campaign name,Ad name,Ad ID,Day,Amount spent (IDR)\n\
         2026-10-01,2026-10-31,Kopi,\"Kopi A, promo\",120400001,2026-10-05,60000\n\
         2026-10-01,2026-10-31,Kopi,\"Kopi A, promo\",120400001,2026-10-06,50000\n",
    );
    for _ in 0..2 {
        let (ok, _, err) = common::run_cli(&["import", export.to_str().expect("path")], &db, None);
        assert!(ok, "{err}");
    }
    // Known by its header, whatever the file's name (again: it replaces).
    let renamed = dir.join("ads-export.txt");
    std::fs::copy(&export, &renamed).expect("copy");
    let (ok, _, err) = common::run_cli(&["import", renamed.to_str().expect("path")], &db, None);
    assert!(ok, "{err}");
    // Through a running server it is refused, saying what the file is.
    let (ok, _, err) = common::run_cli(
        &[
            "import",
            export.to_str().expect("path"),
            "--url",
            "http://127.0.0.1:9",
        ],
        &db,
        None,
    );
    assert!(
        !ok && err.contains("ad spend (CSV)") && err.contains("/api/v1/spend"),
        "{err}"
    );
    let monthly = write(
        "monthly.csv",
        "Reporting starts,Reporting ends,Ad ID,Amount spent (IDR)\n2026-10-01,2026-10-31,120400001,110000\n",
    );
    let (ok, _, err) = common::run_cli(&["import", monthly.to_str().expect("path")], &db, None);
    assert!(!ok);
    assert!(err.contains("By Time") && err.contains("Day"), "{err}");
    let usd = write(
        "usd.csv",
        "Ad ID,Day,Amount spent (USD)\n120400001,2026-10-05,6\n",
    );
    let (ok, _, err) = common::run_cli(&["import", usd.to_str().expect("path")], &db, None);
    assert!(!ok && err.contains("IDR"), "{err}");

    let orders = write(
        "orders.csv",
        "order_id,phone,occurred_at,value,currency\norder-1,0811-0000-0001,2026-10-07T12:00:00+07:00,150000,IDR\n",
    );
    let (ok, _, err) = common::run_cli(&["import", orders.to_str().expect("path")], &db, None);
    assert!(ok, "{err}");
    let bad = write(
        "bad-orders.csv",
        "order_id,phone,occurred_at,value,currency\norder-2,0811-0000-0002,2026-10-07,150000,USD\n",
    );
    let (ok, _, err) = common::run_cli(&["import", bad.to_str().expect("path")], &db, None);
    assert!(!ok && err.contains("line 2: currency"), "{err}");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let s = InProcess::start(&db).await;
        let (_, r) = s.get(&format!("/api/v1/ads?{RANGE}")).await;
        assert_eq!(r["rows"][0]["spend"], 110000, "{r}");
        assert_eq!(r["rows"][0]["buyers"], 1);
        assert_eq!(r["total"]["leads"], 5);
    });
    // The runtime's end closes the database.
    drop(rt);
    common::remove_dirs(&[db_dir, dir]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_hours_split_the_leads_in_and_out_of_hours() {
    let s = InProcess::start_with_env(
        "mem://",
        &[(
            "LEADS_BUSINESS_HOURS",
            "mon-fri 09:00-17:00, sat 09:00-13:00",
        )],
    )
    .await;
    let (status, body) = s.post_events(&example()).await;
    assert_eq!(status, 200, "{body}");
    // Jakarta time: Monday 5 October 09:00, 10:00, 11:00 and Tuesday
    // 6 October 11:00, 12:00 are in hours; add a Saturday afternoon and a
    // Monday night.
    let late = json!([
        inbound("n1", "+6281100000006", "2026-10-10T07:00:00Z", None),
        inbound("n2", "+6281100000007", "2026-10-05T15:00:00Z", None),
        inbound("n3", "+6281100000008", "2026-10-10T05:59:00Z", None),
    ]);
    let (status, body) = s.post_events(&late).await;
    assert_eq!(status, 200, "{body}");
    let (status, r) = s.get(&format!("/api/v1/leads/summary?{RANGE}")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["total"], 8);
    // Saturday 12:59 is in; 14:00 and Monday 22:00 are out.
    assert_eq!(
        r["business_hours"],
        json!({"in_hours": 6, "out_of_hours": 2})
    );
    // The page read in another zone: the same days hold the same leads, and
    // the opening hours stay the business's (Jakarta's), not UTC's.
    let (_, r) = s
        .get(&format!("/api/v1/leads/summary?{RANGE}&tz=UTC"))
        .await;
    assert_eq!(r["total"], 8);
    assert_eq!(
        r["business_hours"],
        json!({"in_hours": 6, "out_of_hours": 2})
    );
    // Filters apply: of the ad's four leads, all in hours.
    let (_, r) = s
        .get(&format!("/api/v1/leads/summary?{RANGE}&source={AD}"))
        .await;
    assert_eq!(
        r["business_hours"],
        json!({"in_hours": 4, "out_of_hours": 0})
    );

    // Without a calendar the summary has no such field.
    let plain = server_with_example().await;
    let (_, r) = plain.get(&format!("/api/v1/leads/summary?{RANGE}")).await;
    assert!(r.get("business_hours").is_none(), "{r}");
}

#[test]
fn a_wrong_business_hours_calendar_stops_the_start_naming_the_setting() {
    let (_dir, db) = common::temp_db("outcomes-hours");
    let (ok, _, err) = common::run_cli(&["serve", "--business-hours", "weekdays 9-5"], &db, None);
    assert!(!ok);
    assert!(
        err.contains("LEADS_BUSINESS_HOURS") && err.contains("weekdays"),
        "{err}"
    );
}

/// The detail lists every conversion of a lead, also one older than its
/// window of events (a chatty buyer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_lists_conversions_older_than_its_window() {
    let s = InProcess::start("mem://").await;
    let phone = "+6281100000077";
    let (status, body) = s
        .post_events(&json!([
            inbound("c0", phone, "2026-10-05T02:00:00Z", Some(AD)),
            purchase("order-77", phone, "2026-10-05T02:30:00Z", json!("25000"))
        ]))
        .await;
    assert_eq!(status, 200, "{body}");
    let start = chrono::DateTime::parse_from_rfc3339("2026-10-05T03:00:00Z").expect("time");
    for batch in 0..4 {
        let events: Vec<Value> = (0..600)
            .map(|i| {
                let at = start + chrono::Duration::seconds(batch * 600 + i);
                inbound(
                    &format!("c{batch}-{i}"),
                    phone,
                    &at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    None,
                )
            })
            .collect();
        let (status, body) = s.post_events(&Value::Array(events)).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, d) = s.get("/api/v1/leads/%2B6281100000077").await;
    assert!(
        d["older"].is_number(),
        "the window leaves the purchase out: {}",
        d["older"]
    );
    assert!(
        d["events"]
            .as_array()
            .is_some_and(|e| e.iter().all(|e| e["kind"] != "conversion"))
    );
    let listed = d["conversions"].as_array().expect("conversions");
    assert_eq!(listed.len(), 1, "{}", d["conversions"]);
    assert_eq!(listed[0]["id"], "order-77");
    assert_eq!(listed[0]["type"], "purchase");
    assert_eq!(listed[0]["value"], 25000);
    assert_eq!(listed[0]["currency"], "IDR");
    assert_eq!(listed[0]["attributed"], true);
}
