//! A bounded load test on loopback: concurrent clients mixing ingest with
//! the dashboard's reads (API pages, summaries, CSV, the signed-in page and
//! its server function) for a fixed time. Every answer must be a success:
//! no 5xx, no refused or dropped connection. Prints throughput and p50/p99.
//!
//! Beside them, a sign-in flood (LOAD_FLOOD clients, default 10, each
//! posting wrong passwords for made-up names from ever new addresses
//! through the trusted proxy, as a botnet would): sign-ins may be refused
//! (401, 429, 503 from their own lane), everything else still may not.
//!
//! `make test` runs it briefly (5 s, 50 clients, debug build);
//! `make load` runs 60 s against the release build
//! (LOAD_SECONDS, LOAD_CLIENTS, LEADS_TEST_BIN override).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{ADMIN_PASSWORD, Server, TOKEN};
use serde_json::json;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_ingest_and_reads_under_load_never_fail() {
    let seconds = env_or("LOAD_SECONDS", 5);
    let clients = env_or("LOAD_CLIENTS", 50);
    let (dir, db) = common::temp_db("load");
    let flooders = env_or("LOAD_FLOOD", 10);
    let s = Arc::new(Server::start_with_env(&db, &[("LEADS_TRUSTED_PROXIES", "127.0.0.1")]).await);
    let api = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let page = common::client();
    s.sign_in(&page, "admin", ADMIN_PASSWORD).await;

    let next_id = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (s, api, page, next_id) = (s.clone(), api.clone(), page.clone(), next_id.clone());
        tasks.push(tokio::spawn(async move {
            let mut times: Vec<(u8, Duration)> = Vec::new();
            let mut failures: Vec<String> = Vec::new();
            let mut i = 0u64;
            while Instant::now() < end {
                i += 1;
                let kind = ((c + i) % 10) as u8;
                let started = Instant::now();
                let req = match kind {
                    // 30%: a batch of 50 events, new contacts and replies,
                    // some contacts shared between clients.
                    0..=2 => {
                        let base = next_id.fetch_add(50, Ordering::Relaxed);
                        let events: Vec<_> = (0..50)
                            .map(|k| {
                                let n = base + k;
                                let contact = format!("+62812{:08}", n % 20_000);
                                let inbound = k % 3 != 2;
                                json!({"id": format!("load-{n}"),
                                   "occurred_at": format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + n % 27, n % 24, n % 60),
                                   "channel": "whatsapp",
                                   "direction": if inbound { "inbound" } else { "outbound" },
                                   "sender": if inbound { "customer" } else { "agent" },
                                   "contact": {"phone": contact, "name": format!("Pelanggan {n}")},
                                   "source": {"platform": "meta", "type": "ad", "id": format!("ad-{}", n % 40)}})
                            })
                            .collect();
                        api.post(s.url("/api/v1/events")).bearer_auth(TOKEN).json(&events)
                    }
                    3..=4 => api
                        .get(s.url("/api/v1/leads?from=2026-11-01&to=2026-11-30&limit=50"))
                        .bearer_auth(TOKEN),
                    5 => api
                        .get(s.url("/api/v1/leads/summary?from=2026-11-01&to=2026-11-30"))
                        .bearer_auth(TOKEN),
                    6 => api
                        .get(s.url("/api/v1/leads?from=2026-11-01&to=2026-11-30&q=0812000"))
                        .bearer_auth(TOKEN),
                    7 => api
                        .get(s.url("/api/v1/leads.csv?from=2026-11-20&to=2026-11-20"))
                        .bearer_auth(TOKEN),
                    8 => page.get(s.url("/?from=2026-11-01&to=2026-11-30")),
                    _ => page
                        .post(s.url("/srv/dashboard"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body("query[from]=2026-11-01&query[to]=2026-11-30&lang=En"),
                };
                match req.send().await {
                    Ok(r) => {
                        let status = r.status();
                        let body = r.bytes().await;
                        if !status.is_success() || body.is_err() {
                            failures.push(format!("kind {kind}: {status}"));
                        }
                    }
                    Err(e) => failures.push(format!("kind {kind}: {e}")),
                }
                times.push((kind, started.elapsed()));
            }
            (times, failures)
        }));
    }
    let flood: Vec<_> = (0..flooders)
        .map(|f| {
            let s = s.clone();
            let c = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client");
            tokio::spawn(async move {
                let (mut counts, mut failures) = ([0u64; 3], Vec::new());
                let mut i = 0u64;
                while Instant::now() < end {
                    i += 1;
                    let r = c
                        .post(s.url("/signin"))
                        .header("x-forwarded-for", format!("198.18.{}.{}", f, i % 250))
                        .form(&[
                            ("name", format!("bot{f}x{i}")),
                            ("password", "guess-guess-1".into()),
                        ])
                        .send()
                        .await;
                    match r.map(|r| r.status().as_u16()) {
                        Ok(401) => counts[0] += 1,
                        Ok(429) => counts[1] += 1,
                        Ok(503) => {
                            counts[2] += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Ok(other) => failures.push(format!("sign-in: {other}")),
                        Err(e) => failures.push(format!("sign-in: {e}")),
                    }
                }
                (counts, failures)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut failures = Vec::new();
    let mut flood_counts = [0u64; 3];
    for t in flood {
        let (c, f) = t.await.expect("flood task");
        for k in 0..3 {
            flood_counts[k] += c[k];
        }
        failures.extend(f);
    }
    for t in tasks {
        let (times, f) = t.await.expect("client task");
        all.extend(times);
        failures.extend(f);
    }
    let pct = |mut v: Vec<Duration>, p: f64| {
        v.sort();
        v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let total = all.len();
    let ingest: Vec<_> = all
        .iter()
        .filter(|(k, _)| *k <= 2)
        .map(|(_, d)| *d)
        .collect();
    let reads: Vec<_> = all
        .iter()
        .filter(|(k, _)| *k > 2)
        .map(|(_, d)| *d)
        .collect();
    println!(
        "load: {clients} clients, {seconds} s: {total} requests ({:.0}/s), {} ingest batches \
         ({:.0} events/s) p50 {:?} p99 {:?}; {} reads p50 {:?} p99 {:?}; all p99 {:?}; failures {}",
        total as f64 / seconds as f64,
        ingest.len(),
        ingest.len() as f64 * 50.0 / seconds as f64,
        pct(ingest.clone(), 0.5),
        pct(ingest, 0.99),
        reads.len(),
        pct(reads.clone(), 0.5),
        pct(reads, 0.99),
        pct(all.iter().map(|(_, d)| *d).collect(), 0.99),
        failures.len()
    );
    println!(
        "sign-in flood: {flooders} clients, {} wrong passwords checked (401), {} slowed (429), {} refused by the sign-in lane (503)",
        flood_counts[0], flood_counts[1], flood_counts[2]
    );
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    assert!(total > clients as usize, "every client got answers");
    drop(s);
    // What was acknowledged is what a recomputation from the events gives.
    assert_eq!(common::verify(&db)["mismatches"], 0);
    let _ = std::fs::remove_dir_all(dir);
}
