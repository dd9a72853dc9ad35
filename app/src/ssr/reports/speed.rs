//! The reports' speed at a million leads, in process, for profiling one
//! change at a time without the HTTP benchmark (which stays the measure of
//! record, `make bench`). Ignored: run with
//! `cargo test --release -p app --lib reports::speed -- --ignored --nocapture`.

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};

use super::ads::{Attribution, CountBy, ads};
use super::summary::dashboard;
use crate::model::Source;
use crate::ssr::domain::filter::Filter;
use crate::ssr::domain::money::SpendRow;
use crate::ssr::domain::rules::{LeadFacts, Purchase};
use crate::ssr::index::LeadIndex;
use crate::ssr::index::spend::SpendBook;

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn source(ad: u64) -> Source {
    Source {
        platform: "meta".into(),
        kind: "ad".into(),
        id: Some(format!("1202{ad:08}")),
        name: Some(format!("Promo {ad}")),
        url: None,
    }
}

/// A year of leads like the benchmark's: 500 ads, a third organic, 70 %
/// answered, 20 % buyers, in arrival order with a little disorder.
fn leads(n: u64) -> Vec<LeadFacts> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = Utc
        .with_ymd_and_hms(2025, 12, 1, 0, 0, 0)
        .single()
        .expect("t");
    (0..n)
        .map(|i| {
            let date = start
                + Duration::seconds((i * 365 * 86_400 / n) as i64)
                + Duration::seconds(rng.below(3600) as i64);
            let ad = (rng.below(3) != 0).then(|| rng.below(500));
            let touch =
                (rng.below(10) < 7).then(|| date + Duration::seconds(rng.below(7200) as i64));
            let buyer = rng.below(5) == 0;
            let phone = format!("+62812{i:08}");
            LeadFacts {
                key: phone.clone(),
                date,
                channel: "whatsapp".into(),
                name: Some(format!("Pelanggan {i}")),
                phone: Some(phone),
                email: None,
                first_source: ad.map(source),
                last_source: ad.map(|a| source((a + rng.below(2)) % 500)),
                first_touched_at: touch,
                other_phones: Vec::new(),
                engaged: rng.below(2) == 0,
                one_message: rng.below(4) == 0,
                purchases: if buyer {
                    vec![Purchase {
                        at: date + Duration::days(rng.below(20) as i64),
                        value: 150_000_00 + rng.below(100) as i64 * 1000_00,
                    }]
                } else {
                    Vec::new()
                },
                sendable: ad.is_some(),
                click_at: ad.and_then(|_| crate::ssr::domain::rules::whole_second(date)),
                window_passed: false,
                in_window: false,
            }
        })
        .collect()
}

fn filter(days: i64) -> Filter {
    let to = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("day");
    let from = to - Duration::days(days - 1);
    let params = [("from", from.to_string()), ("to", to.to_string())]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("t");
    Filter::parse(&params, chrono_tz::Asia::Jakarta, now).expect("filter")
}

/// The 95th percentile of `reps` timed calls, in milliseconds.
fn p95(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut ms: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[(reps * 95 / 100).min(reps - 1)]
}

#[test]
#[ignore]
fn reports_at_a_million() {
    crate::ssr::index::scan::SPLIT_IN_TESTS.set(false);
    let t = Instant::now();
    let index = LeadIndex::build(leads(1_000_000));
    let start = chrono::NaiveDate::from_ymd_opt(2025, 12, 1).expect("day");
    let rows: Vec<SpendRow> = (0..365)
        .flat_map(|d| {
            (0..500u64).map(move |ad| SpendRow {
                date: start + Duration::days(d),
                platform: "meta".into(),
                ad_id: format!("1202{ad:08}"),
                spend: 50_000_00,
                ad_name: None,
                campaign_name: None,
            })
        })
        .collect();
    let book = SpendBook::build(rows);
    eprintln!("built in {:.1} s", t.elapsed().as_secs_f64());
    for days in [30, 365] {
        let f = filter(days);
        let summary = p95(20, || {
            std::hint::black_box(dashboard(&index, &f, None, f.end));
        });
        let chart = p95(20, || {
            std::hint::black_box(dashboard(&index, &f, Some(8), f.end));
        });
        let by_lead = p95(20, || {
            std::hint::black_box(ads(
                &index,
                &book,
                &f,
                Attribution::First,
                CountBy::LeadDate,
                "IDR",
            ));
        });
        let last = p95(20, || {
            std::hint::black_box(ads(
                &index,
                &book,
                &f,
                Attribution::Last,
                CountBy::LeadDate,
                "IDR",
            ));
        });
        let by_event = p95(20, || {
            std::hint::black_box(ads(
                &index,
                &book,
                &f,
                Attribution::First,
                CountBy::EventDate,
                "IDR",
            ));
        });
        eprintln!(
            "{days:>3} days p95 ms: summary {summary:.1}, with chart {chart:.1}, ads {by_lead:.1}, \
             ads last {last:.1}, ads by event date {by_event:.1}"
        );
    }
}
