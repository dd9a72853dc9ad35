//! Crash test: the real binary on the embedded RocksDB engine, concurrent
//! clients, SIGKILL at random moments, restart, and every event that got a
//! 2xx must still be there; of a batch that got no answer, each contact's
//! events are all there or none (a batch is split between the writers by
//! contact, so it may be partly stored).
//!
//! One more client sends WhatsApp webhook deliveries for the same people,
//! some by phone, some by user id only (a hidden phone), some tying the
//! two: merges of contacts happen under the kills too, and in the end each
//! person (whatever identifiers they wrote under, once tied) is one lead.
//!
//! `CRASH_KILLS` (default 5) and `CRASH_MIN_MB` (default 0: no minimum) make
//! the long run of `make crash-test-long`.
//!
//! Also here, on the same terms (the binary on RocksDB, `verify` after): a
//! client that disconnects mid-batch, and concurrent batches that conflict.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Rng, Server, inbound};
use serde_json::{Value, json};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A batch of `n` events, about four for each of its contacts, drawn from a
/// pool shared by all clients: now and then concurrent batches meet on a
/// contact. (Same-contact races are tested head-on in `api.rs`.)
fn batch(client: u64, seq: u64, n: u64, rng: &mut Rng) -> Value {
    let pool: Vec<u64> = (0..n.div_ceil(4)).map(|_| rng.below(2_000_000)).collect();
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let contact = pool[rng.below(pool.len() as u64) as usize];
            let minute = rng.below(60 * 24 * 28);
            let at = format!(
                "2026-11-{:02}T{:02}:{:02}:{:02}+07:00",
                1 + minute / (60 * 24),
                (minute / 60) % 24,
                minute % 60,
                rng.below(60)
            );
            let id = format!("crash-{client}-{seq}-{i}");
            let phone = format!("+62812{contact:08}");
            if rng.below(4) == 0 {
                json!({"id": id, "occurred_at": at, "channel": "whatsapp", "direction": "outbound",
                       "sender": if rng.below(2) == 0 { "agent" } else { "ai" },
                       "contact": {"phone": phone}})
            } else {
                json!({"id": id, "occurred_at": at, "channel": "whatsapp", "direction": "inbound",
                       "contact": {"phone": phone, "name": format!("Customer {contact}"),
                                   "email": format!("c{contact}@example.com")},
                       "source": {"platform": "meta", "id": format!("ad-{}", contact % 17),
                                  "name": format!("Ad {}", contact % 17)},
                       "text": "Halo kak, masih ready? ".repeat(3)})
            }
        })
        .collect();
    Value::Array(events)
}

const WA_SECRET: &str = "crash-secret";

/// The person's phone as the API events carry it.
fn phone_of(contact: u64) -> String {
    format!("+62812{contact:08}")
}

/// A WhatsApp delivery of `n` messages: each from a phone, from a user id
/// (hidden phone), or from both (which ties the two).
fn wa_batch(client: u64, seq: u64, n: u64, rng: &mut Rng) -> Value {
    let base = 1_793_466_000; // 2026-11-01T00:00:00+07:00
    let changes: Vec<Value> = (0..n)
        .map(|i| {
            // Few people: the same person writes by phone, by user id and
            // by both across deliveries, so ties merge existing leads.
            let c = rng.below(5_000);
            let at = base + rng.below(28 * 86_400);
            let mut m = json!({"id": format!("wamid.crash-{client}-{seq}-{i}"), "timestamp": at.to_string(),
                "type": "text", "text": {"body": "Halo kak"}});
            let mut contact = json!({"profile": {"name": format!("Customer {c}")}});
            let how = rng.below(3);
            if how != 1 {
                m["from"] = json!(phone_of(c)[1..]);
                contact["wa_id"] = m["from"].clone();
            }
            if how != 0 {
                m["from_user_id"] = json!(format!("US.{c}"));
                contact["user_id"] = m["from_user_id"].clone();
            }
            json!({"field": "messages", "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1"},
                "contacts": [contact], "messages": [m]}})
        })
        .collect();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": changes}]})
}

/// Union-find over identifiers, for the expected number of people.
#[derive(Default)]
struct People(std::collections::HashMap<String, String>);

impl People {
    fn root(&mut self, k: &str) -> String {
        let mut k = k.to_owned();
        while let Some(p) = self.0.get(&k).filter(|p| **p != k).cloned() {
            k = p;
        }
        k
    }

    fn add(&mut self, a: &str, b: Option<&str>) {
        let ra = self.root(a);
        self.0.entry(ra.clone()).or_insert_with(|| ra.clone());
        if let Some(b) = b {
            let rb = self.root(b);
            self.0.entry(rb.clone()).or_insert_with(|| rb.clone());
            if ra != rb {
                let (hi, lo) = if ra > rb { (ra, rb) } else { (rb, ra) };
                self.0.insert(hi, lo);
            }
        }
    }

    fn count(&mut self) -> usize {
        let keys: Vec<String> = self.0.keys().cloned().collect();
        let roots: std::collections::HashSet<String> = keys.iter().map(|k| self.root(k)).collect();
        roots.len()
    }
}

#[derive(Default)]
struct Ledger {
    acked: Vec<Value>,
    unanswered: Vec<Value>,
    wa_acked: Vec<Value>,
    wa_unanswered: Vec<Value>,
    acked_events: u64,
    acked_bytes: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_sigkill() {
    let kills = env_num("CRASH_KILLS", 5);
    let min_bytes = env_num("CRASH_MIN_MB", 0) * 1024 * 1024;
    let clients = env_num("CRASH_CLIENTS", 4);
    let batch_size = env_num("CRASH_BATCH", 200);
    let dir = std::env::temp_dir().join(format!(
        "leads-crash-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let db = format!("rocksdb://{}", dir.display());
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let started = Instant::now();
    let mut busy = Duration::ZERO;

    let mut cycle = 0u64;
    loop {
        let done_kills = cycle >= kills;
        let done_bytes = ledger.lock().map(|l| l.acked_bytes).unwrap_or(0) >= min_bytes;
        if done_kills && done_bytes {
            break;
        }
        let mut server =
            Server::start_with_env(&db, &[("LEADS_WHATSAPP_APP_SECRET", WA_SECRET)]).await;
        let load_started = Instant::now();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for client in 0..clients {
            let http = server.http.clone();
            let url = server.url("/api/v1/events");
            let ledger = ledger.clone();
            let stop = stop.clone();
            let mut rng = Rng(rng.next() | 1);
            tasks.push(tokio::spawn(async move {
                let mut seq = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    seq += 1;
                    let body = batch(cycle * 1000 + client, seq, batch_size, &mut rng);
                    let text = body.to_string();
                    let result = http
                        .post(&url)
                        .bearer_auth(common::TOKEN)
                        .header("content-type", "application/json")
                        .body(text.clone())
                        .send()
                        .await;
                    let ok = match result {
                        Ok(r) if r.status().is_success() => {
                            let answer: Value = r.json().await.unwrap_or(Value::Null);
                            answer["accepted"].as_u64() == Some(batch_size)
                        }
                        _ => false,
                    };
                    if let Ok(mut l) = ledger.lock() {
                        if ok {
                            l.acked_events += batch_size;
                            l.acked_bytes += text.len() as u64;
                            l.acked.push(body);
                        } else {
                            l.unanswered.push(body);
                        }
                    }
                    if !ok {
                        break;
                    }
                }
            }));
        }
        // The WhatsApp client: merges under load.
        {
            let http = server.http.clone();
            let url = server.url("/webhooks/whatsapp");
            let ledger = ledger.clone();
            let stop = stop.clone();
            let mut rng = Rng(rng.next() | 1);
            tasks.push(tokio::spawn(async move {
                let mut seq = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    seq += 1;
                    let body = wa_batch(cycle, seq, 40, &mut rng);
                    let text = body.to_string();
                    let result = common::meta_signed(&http, &url, WA_SECRET, text)
                        .send()
                        .await;
                    let ok = match result {
                        Ok(r) if r.status().is_success() => {
                            let answer: Value = r.json().await.unwrap_or(Value::Null);
                            answer["accepted"].as_u64() == Some(40)
                        }
                        _ => false,
                    };
                    if let Ok(mut l) = ledger.lock() {
                        if ok {
                            l.acked_events += 40;
                            l.wa_acked.push(body);
                        } else {
                            l.wa_unanswered.push(body);
                        }
                    }
                    if !ok {
                        break;
                    }
                }
            }));
        }
        // Kill at a random moment under load.
        let wait = 1000 + rng.below(3000);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill();
        busy += load_started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        cycle += 1;
        let l = ledger
            .lock()
            .map(|l| (l.acked.len(), l.acked_events, l.acked_bytes))
            .unwrap_or_default();
        // While no server holds the database: the lead index built at start
        // must equal a recomputation from every stored event.
        let v = common::verify(&db);
        eprintln!(
            "kill {cycle}: after {wait} ms; {} batches, {} events, {} MB acknowledged so far; \
             verify: {} events stored, {} leads, 0 mismatches",
            l.0,
            l.1,
            l.2 / (1024 * 1024),
            v["events"],
            v["leads"]
        );
        assert!(
            v["events"].as_u64().unwrap_or(0) >= l.1,
            "stored events < acknowledged"
        );
    }

    // Restart and check.
    let server = Server::start_with_env(&db, &[("LEADS_WHATSAPP_APP_SECRET", WA_SECRET)]).await;
    let (acked, unanswered, wa_acked, wa_unanswered, events, bytes) = {
        let l = ledger.lock().expect("ledger");
        (
            l.acked.clone(),
            l.unanswered.clone(),
            l.wa_acked.clone(),
            l.wa_unanswered.clone(),
            l.acked_events,
            l.acked_bytes,
        )
    };
    assert!(!wa_acked.is_empty(), "some deliveries were acknowledged");
    let url = server.url("/webhooks/whatsapp");
    let deliver =
        |body: &Value| common::meta_signed(&server.http, &url, WA_SECRET, body.to_string()).send();
    for body in &wa_acked {
        let r = deliver(body).await.expect("delivery");
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(answer["accepted"], 0, "acknowledged deliveries were lost");
    }
    for body in &wa_unanswered {
        let r = deliver(body).await.expect("delivery");
        assert_eq!(r.status(), 200);
    }
    assert!(!acked.is_empty(), "some batches were acknowledged");
    let mut lost = 0;
    for body in &acked {
        let (status, answer) = server.post_events(body).await;
        assert_eq!(status, 200);
        lost += answer["accepted"].as_u64().unwrap_or(u64::MAX);
    }
    assert_eq!(lost, 0, "acknowledged events were lost");
    // Each contact's part of an unanswered batch, sent again on its own, is
    // wholly new or wholly stored.
    for body in &unanswered {
        let mut by_contact: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
        for e in body.as_array().into_iter().flatten() {
            let phone = e["contact"]["phone"].as_str().unwrap_or("");
            by_contact.entry(phone).or_default().push(e.clone());
        }
        for part in by_contact.into_values() {
            let n = part.len() as u64;
            let (status, answer) = server.post_events(&Value::Array(part)).await;
            assert_eq!(status, 200);
            let accepted = answer["accepted"].as_u64().unwrap_or(u64::MAX);
            assert!(
                accepted == 0 || accepted == n,
                "a contact's events were half written: {accepted} of {n}"
            );
        }
    }

    // Every person that wrote is exactly one lead, whichever identifiers
    // they wrote under once those are tied.
    let mut people = People::default();
    for body in acked.iter().chain(&unanswered) {
        for e in body.as_array().into_iter().flatten() {
            if e["direction"] == "inbound" {
                people.add(e["contact"]["phone"].as_str().unwrap_or(""), None);
            }
        }
    }
    let mut merged = 0;
    for body in wa_acked.iter().chain(&wa_unanswered) {
        for c in body["entry"][0]["changes"].as_array().into_iter().flatten() {
            let m = &c["value"]["messages"][0];
            let phone = m["from"].as_str().map(|p| format!("+{p}"));
            let user = m["from_user_id"].as_str().map(|u| format!("whatsapp:{u}"));
            match (phone, user) {
                (Some(p), Some(u)) => {
                    merged += 1;
                    people.add(&p, Some(&u));
                }
                (Some(k), None) | (None, Some(k)) => people.add(&k, None),
                (None, None) => {}
            }
        }
    }
    let (_, page) = server
        .get("/api/v1/leads?from=2026-10-01&to=2026-12-31&limit=1")
        .await;
    assert_eq!(page["total"].as_u64(), Some(people.count() as u64));

    eprintln!("crash test: {merged} messages tied a phone to a user id");
    eprintln!(
        "crash test: {cycle} kills survived, {events} acknowledged events ({} MB) in {} batches, 0 lost; \
         ingest {:.0} events/s under load; whole test {:.0} s",
        bytes / (1024 * 1024),
        acked.len(),
        events as f64 / busy.as_secs_f64().max(0.001),
        started.elapsed().as_secs_f64()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

// What a client that goes away, or many at once, leave in the database:
// the real binary on RocksDB, checked afterwards with `verify`.

fn big_batch(tag: &str, n: usize, contacts: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                inbound(
                    &format!("{tag}-{i}"),
                    &format!("+62812400{:05}", i % contacts),
                    &format!("2026-11-20T{:02}:{:02}:00+07:00", 8 + i % 10, i % 60),
                )
            })
            .collect(),
    )
}

/// A client that goes away mid-request leaves no transaction open: the batch
/// is stored whole or not at all, and the next writes go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_batch_leaves_nothing_half_done() {
    let (dir, db) = common::temp_db("disconnect");
    let s = Server::start(&db).await;
    let body = big_batch("d", 1000, 400);
    let text = body.to_string();
    for _ in 0..5 {
        // Whole body sent, then gone before the answer; and gone halfway.
        s.post_and_disconnect(&text, text.len()).await;
        s.post_and_disconnect(&text, text.len() / 2).await;
    }
    let (status, answer) = s.post_events(&body).await;
    assert_eq!(status, 200);
    let accepted = answer["accepted"].as_u64().unwrap_or(u64::MAX);
    assert_eq!(accepted + answer["duplicates"].as_u64().unwrap_or(0), 1000);
    assert!(
        accepted == 0 || accepted == 1000,
        "half a batch: {accepted}"
    );
    // The same contacts are still writable at once.
    let (status, _) = s.post_events(&big_batch("e", 1000, 400)).await;
    assert_eq!(status, 200);
    let (_, page) = s
        .get("/api/v1/leads?from=2026-11-20&to=2026-11-20&limit=1")
        .await;
    assert_eq!(page["total"], 400);
    drop(s);
    common::verify(&db);
    let _ = std::fs::remove_dir_all(dir);
}

/// Many concurrent batches for the same few contacts on the on-disk engine:
/// every one answered 2xx, one lead per contact with the right Date and
/// First Touched At.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_on_rocksdb_all_succeed() {
    let (dir, db) = common::temp_db("concurrent");
    let s = Server::start(&db).await;
    let mut tasks = Vec::new();
    for b in 0..24u32 {
        let http = s.http.clone();
        let url = s.url("/api/v1/events");
        let batch: Vec<Value> = (0..5u32)
            .flat_map(|c| {
                let phone = format!("+6281250000{c:03}");
                let hour = 10 + (b % 12);
                vec![
                    inbound(&format!("r{b}-{c}"), &phone, &format!("2026-11-20T{hour}:00:00+07:00")),
                    json!({"id": format!("r{b}-{c}-ai"), "occurred_at": format!("2026-11-20T{hour}:05:00+07:00"),
                           "channel": "whatsapp", "direction": "outbound", "sender": "ai",
                           "contact": {"phone": phone}}),
                ]
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            let r = common::post_json(&http, &url, &batch).await;
            r.status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 200);
    }
    let (_, page) = s.get("/api/v1/leads?from=2026-11-20&to=2026-11-20").await;
    assert_eq!(page["total"], 5);
    for lead in page["leads"].as_array().expect("leads") {
        assert_eq!(lead["date"], "2026-11-20T03:00:00Z");
        assert_eq!(lead["first_touched_at"], "2026-11-20T03:05:00Z");
    }
    drop(s);
    common::verify(&db);
    let _ = std::fs::remove_dir_all(dir);
}
