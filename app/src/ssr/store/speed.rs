//! The write path's speed on RocksDB, in process: chats, then purchases of
//! the same contacts, each stored as the writers store them (one batch of
//! 1000 at a time per writer, two writers side by side). For profiling one
//! change at a time without the HTTP benchmark (which stays the measure of
//! record, `make bench`). Ignored: run with
//! `cargo test --release -p app -p server --lib store::speed -- --ignored --nocapture`
//! (`SPEED_CONTACTS` sets the contacts, default 100,000; `SPEED_BUYER_EVERY`
//! which of them buy, default every 5th).

use std::time::Instant;

use super::batch::store;
use super::db;
use crate::ssr::domain::event::{Event, test_batch};

fn phone(c: usize) -> String {
    format!("+62812{:08}", c)
}

/// Three events of contact `c` on its day: its first message, an answer, a
/// second message.
fn chat(c: usize) -> Vec<serde_json::Value> {
    let day = 1 + c % 28;
    let at = |m: usize| format!("2026-10-{day:02}T{:02}:{:02}:00Z", 8 + c % 10, m);
    let ev = |n: usize, dir: &str| {
        serde_json::json!({"id": format!("c{c}-{n}"), "occurred_at": at(n * 7),
            "channel": "whatsapp", "direction": dir,
            "sender": if dir == "inbound" { "customer" } else { "agent" },
            "contact": {"phone": phone(c), "name": format!("Budi {c}")},
            "source": {"platform": "meta", "type": "ad", "id": format!("1202{:08}", c % 500)}})
    };
    vec![ev(0, "inbound"), ev(1, "outbound"), ev(2, "inbound")]
}

fn purchase(c: usize) -> serde_json::Value {
    serde_json::json!({"id": format!("order-{c}"), "kind": "conversion",
        "occurred_at": format!("2026-11-{:02}T10:00:00Z", 1 + c % 28),
        "channel": "whatsapp", "direction": "inbound",
        "contact": {"phone": phone(c)},
        "conversion": {"type": "purchase", "value": "150000", "currency": "IDR"}})
}

/// This process's CPU time so far (user + system), in seconds: steadier
/// than the rate on a shared VM.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime
    // are the 14th and 15th of the line, in clock ticks (100 a second).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    f.get(11)
        .zip(f.get(12))
        .map_or(0.0, |(u, s)| (u + s) / 100.0)
}

/// Stores `batches` two at a time (as two writers would); events per
/// second, and CPU microseconds per event.
async fn run(db: &db::Db, batches: Vec<Vec<Event>>) -> (f64, f64) {
    let n: usize = batches.iter().map(Vec::len).sum();
    let cpu = cpu_seconds();
    let started = Instant::now();
    let mut it = batches.into_iter();
    loop {
        let (a, b) = (it.next(), it.next());
        let Some(a) = a else { break };
        let da = db.clone();
        let ta = tokio::spawn(async move { store(&da, &a, None).await });
        if let Some(b) = b {
            let db = db.clone();
            store(&db, &b, None).await.expect("stored");
        }
        ta.await.expect("task").expect("stored");
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    (rate, (cpu_seconds() - cpu) * 1e6 / n as f64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn chats_then_purchases() {
    let contacts: usize = std::env::var("SPEED_CONTACTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let (db, dir) = db::temp_rocksdb("speed", 1 << 30).await;
    // Two writers each take half of a client's batch of 1000: batches of
    // 500 contacts' events, a writer's share of one request.
    let chats: Vec<Vec<Event>> = (0..contacts)
        .collect::<Vec<_>>()
        .chunks(333)
        .map(|cs| test_batch(cs.iter().flat_map(|c| chat(*c)).collect()))
        .collect();
    let (rate, cpu) = run(&db, chats).await;
    println!("chats: {contacts} contacts, {rate:.0} events/s, {cpu:.1} CPU µs an event");
    let every: usize = std::env::var("SPEED_BUYER_EVERY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let buys: Vec<Vec<Event>> = (0..contacts)
        .step_by(every)
        .collect::<Vec<_>>()
        .chunks(1000)
        .map(|cs| test_batch(cs.iter().map(|c| purchase(*c)).collect()))
        .collect();
    let (rate, cpu) = run(&db, buys).await;
    println!(
        "purchases: {} contacts, {rate:.0} events/s, {cpu:.1} CPU µs an event",
        contacts / every
    );
    db::remove_temp(db, dir).await;
}
