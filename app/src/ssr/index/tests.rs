//! The index against a model written from the rules: pages, totals,
//! the visitor reports read through, and exports. The helpers are shared
//! with the reports' tests.

use super::*;
use chrono::{Duration, TimeZone};
use proptest::prelude::*;
use std::collections::HashMap as StdMap;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .expect("t")
}

fn ad(id: u8) -> Source {
    Source {
        platform: if id % 3 == 0 { "tiktok" } else { "meta" }.into(),
        kind: "ad".into(),
        // Source 4 is a link without an id: told apart by its name.
        id: (id != 4).then(|| format!("ad{id}")),
        name: Some(format!("Promo {id}")),
        url: None,
    }
}

fn lead(i: u32, minutes: i64, name: u8, touch: Option<i64>, src: u8, chan: u8) -> LeadFacts {
    let date = t0() + Duration::minutes(minutes) + Duration::nanoseconds(i64::from(i % 3));
    let phone = (chan != 1).then(|| format!("+62812{:07}", i));
    LeadFacts {
        key: phone.clone().unwrap_or_else(|| format!("instagram:{i}")),
        date,
        channel: ["whatsapp", "instagram", "web"][chan as usize % 3].into(),
        name: (name > 0).then(|| {
            ["Budi Santoso", "budi", "Sari", "ÉLODIE", "Ani"][name as usize % 5].to_owned()
        }),
        phone,
        email: (name % 2 == 1).then(|| format!("p{i}@Contoh.id")),
        first_source: (src > 0).then(|| ad(src)),
        last_source: (src > 1).then(|| ad(src - 1)),
        first_touched_at: touch.map(|w| date + Duration::seconds(w)),
        other_phones: Vec::new(),
        engaged: false,
        one_message: false,
        purchases: Vec::new(),
        sendable: src % 2 == 1,
        click_at: (src % 2 == 1)
            .then(|| date + Duration::seconds(i64::from(i % 7) - 3))
            .and_then(crate::ssr::domain::rules::whole_second),
        window_passed: src % 4 == 3,
        in_window: src % 4 == 1,
    }
}

fn arb_lead(i: u32) -> impl Strategy<Value = LeadFacts> {
    (
        0..20_000i64,
        0..6u8,
        prop::option::of(0..5000i64),
        0..5u8,
        0..3u8,
    )
        .prop_map(move |(m, n, t, s, c)| lead(i, m, n, t, s, c))
}

pub(crate) fn filter(pairs: &[(&str, &str)]) -> Filter {
    let params: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Filter::parse(&params, chrono_tz::Asia::Jakarta, t0() + Duration::days(13)).expect("filter")
}

/// The spec's wording, one lead at a time.
fn matches(l: &LeadFacts, f: &Filter) -> bool {
    let q_ok = match &f.q {
        None => true,
        Some(q) => {
            let text = |s: &Option<String>| {
                s.as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains(q.as_str())
            };
            let forms = l
                .phone
                .as_deref()
                .map(phone::search_forms)
                .unwrap_or_default();
            text(&l.name) || text(&l.email) || f.q_phone.iter().any(|d| forms.contains(d.as_str()))
        }
    };
    l.date >= f.start
        && l.date < f.end
        && q_ok
        && (f.channels.is_empty() || f.channels.contains(&l.channel))
        && f.source.as_deref().is_none_or(|s| match &l.first_source {
            None => s == "none",
            Some(x) => s != "none" && source_is(x, s),
        })
        && f.last_source
            .as_deref()
            .is_none_or(|s| match &l.last_source {
                None => s == "none",
                Some(x) => s != "none" && source_is(x, s),
            })
        && f.touched.is_none_or(|t| l.first_touched_at.is_some() == t)
}

/// The model's `source=` test: the platform, the id, or (without an id)
/// the name.
fn source_is(x: &Source, s: &str) -> bool {
    x.platform.eq_ignore_ascii_case(s)
        || x.id.as_deref() == Some(s)
        || (x.id.is_none() && x.name.as_deref() == Some(s))
}

type SortKey = (bool, String, String, DateTime<Utc>, DateTime<Utc>, String);

fn sort_key(l: &LeadFacts, field: SortField) -> SortKey {
    let far = DateTime::<Utc>::MAX_UTC;
    match field {
        SortField::Date => (
            false,
            String::new(),
            String::new(),
            l.date,
            far,
            l.key.clone(),
        ),
        SortField::Name => {
            // The spec's reading: accents set aside, then as written.
            let lc = l.name.as_deref().unwrap_or("").to_lowercase();
            (
                l.name.is_none(),
                super::orders::folded(&lc).collect(),
                lc,
                l.date,
                far,
                l.key.clone(),
            )
        }
        SortField::FirstTouch => (
            l.first_touched_at.is_none(),
            String::new(),
            String::new(),
            l.first_touched_at.unwrap_or(far),
            l.date,
            l.key.clone(),
        ),
    }
}

pub(crate) fn expected(leads: &StdMap<String, LeadFacts>, f: &Filter) -> Vec<LeadFacts> {
    let mut m: Vec<LeadFacts> = leads.values().filter(|l| matches(l, f)).cloned().collect();
    m.sort_by_key(|l| sort_key(l, f.sort.field));
    if f.sort.desc {
        m.reverse();
    }
    m
}

/// Every page of `f`, following cursors.
fn all_pages(index: &LeadIndex, f: &Filter) -> (Vec<LeadFacts>, u64) {
    let mut f = f.clone();
    let mut out = Vec::new();
    let first = index.page(&f);
    let total = first.total;
    let mut page = first;
    loop {
        assert!(page.leads.len() <= f.limit);
        out.extend(page.leads);
        match page.next {
            Some(c) => f.after = Some(c),
            None => return (out, total),
        }
        page = index.page(&f);
    }
}

pub(crate) const FILTERS: &[&[(&str, &str)]] = &[
    &[],
    &[("from", "2026-11-03"), ("to", "2026-11-08")],
    &[("touched", "no")],
    &[("touched", "yes"), ("channel", "whatsapp,web")],
    &[("channel", "instagram")],
    &[("channel", "whatsapp,web"), ("tz", "Asia/Kolkata")],
    &[
        ("touched", "yes"),
        ("tz", "Asia/Kathmandu"),
        ("from", "2026-11-02"),
        ("to", "2026-11-03"),
    ],
    // New York's clocks go back on 2026-11-01: a day of 25 hours.
    &[
        ("tz", "America/New_York"),
        ("from", "2026-10-31"),
        ("to", "2026-11-05"),
    ],
    &[("source", "meta")],
    &[("source", "ad3")],
    &[("source", "none")],
    &[("last_source", "ad2")],
    &[("last_source", "none"), ("channel", "whatsapp")],
    &[("source", "ad3"), ("last_source", "ad2")],
    // A source without an id by its name; one with an id never by it.
    &[("source", "Promo 4")],
    &[("source", "Promo 1")],
    &[("q", "budi")],
    &[("q", "contoh")],
    &[("q", "0812000")],
    &[("q", "+62 0812-0000")],
    &[("q", "0062812000")],
    &[("q", "élodie")],
    &[("q", "zzz")],
];

/// Two lists of leads (repeated contacts among them): the leads at start,
/// and the committed changes after it (see [`built`]).
pub(crate) fn leads_arriving() -> impl Strategy<Value = (Vec<LeadFacts>, Vec<LeadFacts>)> {
    (
        prop::collection::vec((0..400u32).prop_flat_map(arb_lead), 0..300),
        prop::collection::vec((0..400u32).prop_flat_map(arb_lead), 0..150),
    )
}

/// The index built from `first`, then changed by `later`; and the model.
pub(crate) fn built(
    first: &[LeadFacts],
    later: &[LeadFacts],
) -> (LeadIndex, StdMap<String, LeadFacts>) {
    let mut model: StdMap<String, LeadFacts> = StdMap::new();
    for l in first {
        model.insert(l.key.clone(), l.clone());
    }
    let mut index = LeadIndex::build(model.values().cloned());
    for l in later {
        index.upsert(l);
        model.insert(l.key.clone(), l.clone());
    }
    (index, model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn pages_totals_and_summaries_match_the_rules(
        (first, later) in leads_arriving(),
        limit in 1..40usize,
    ) {
        let (index, model) = built(&first, &later);
        prop_assert_eq!(index.len(), model.len());
        for pairs in FILTERS {
            for sort in ["-date", "date", "name", "-name", "first_touched_at", "-first_touched_at"] {
                let mut p: Vec<(&str, &str)> = vec![("from", "2026-10-25")];
                p.extend_from_slice(pairs);
                let lim = limit.to_string();
                p.push(("sort", sort));
                p.push(("limit", &lim));
                // Explicit days in `pairs` win over the defaults above.
                let mut dedup: Vec<(&str, &str)> = Vec::new();
                for (k, v) in p.iter().rev() {
                    if !dedup.iter().any(|(k2, _)| k2 == k) { dedup.push((k, v)); }
                }
                let f = filter(&dedup);
                let want = expected(&model, &f);
                let (got, total) = all_pages(&index, &f);
                prop_assert_eq!(total as usize, want.len(), "{:?} {}", pairs, sort);
                prop_assert_eq!(&got, &want, "{:?} {}", pairs, sort);
                let export = index.rows(&index.snapshot(&f));
                prop_assert_eq!(&export, &want, "export {:?} {}", pairs, sort);
            }
            // The visitor sees exactly the matching leads, each once.
            let f = filter(&[&[("from", "2026-10-25")], *pairs].concat());
            let want: Vec<LeadFacts> = expected(&model, &f);
            let parts = index.each_parts(&f, Vec::new, |seen: &mut Vec<_>, l| {
                seen.push((l.date, l.wait, index.group_source(l.group)))
            });
            let mut seen: Vec<(Stamp, Option<i64>, Option<Source>)> = parts.concat();
            let order = |x: &(Stamp, Option<i64>, Option<Source>)| {
                (x.0, x.1, x.2.as_ref().map(|s| (s.platform.clone(), s.id.clone(), s.name.clone())))
            };
            seen.sort_by_key(order);
            let mut model_seen: Vec<(Stamp, Option<i64>, Option<Source>)> = want
                .iter()
                .map(|l| (stamp(l.date), l.first_touched_at.map(|t| (t - l.date).num_seconds()), l.first_source.clone()))
                .collect();
            model_seen.sort_by_key(order);
            prop_assert_eq!(seen.len(), model_seen.len(), "{:?}", pairs);
            for (got, want) in seen.iter().zip(&model_seen) {
                prop_assert_eq!(got.0, want.0);
                prop_assert_eq!(got.1, want.1);
                // A group shows one of its sources: the same by rule 5.
                prop_assert_eq!(got.2.is_some(), want.2.is_some());
                if let (Some(a), Some(b)) = (&got.2, &want.2) {
                    prop_assert!(a.same_as(b), "{:?} {:?}", a, b);
                }
            }
        }
    }
}

#[test]
fn pages_never_skip_or_repeat_while_leads_arrive() {
    let mut index = LeadIndex::build((0..300).map(|i| lead(i, i64::from(i) * 7, 1, None, 1, 0)));
    for sort in [
        "-date",
        "date",
        "name",
        "-name",
        "first_touched_at",
        "-first_touched_at",
    ] {
        let mut f = filter(&[("from", "2026-10-25"), ("sort", sort), ("limit", "25")]);
        let mut seen = std::collections::HashSet::new();
        let mut next_new = 10_000;
        loop {
            let page = index.page(&f);
            for l in &page.leads {
                assert!(seen.insert(l.key.clone()), "{sort}: {} twice", l.key);
            }
            // New leads arrive between pages, before and after the cursor.
            for m in [0, 1000, 20_000] {
                index.upsert(&lead(next_new, m, 2, Some(5), 2, 0));
                next_new += 1;
            }
            match page.next {
                Some(c) => f.after = Some(c),
                None => break,
            }
        }
        for i in 0..300 {
            assert!(
                seen.contains(&format!("+62812{i:07}")),
                "{sort}: lead {i} missed"
            );
        }
    }
}

#[test]
fn phone_searches_in_any_format() {
    let index = LeadIndex::build([lead(1234567, 10, 5, None, 0, 0)]);
    for q in [
        "0812123",
        "62812123",
        "+62 812-123",
        "+62 0812 123",
        "0062812123",
        "SANTOSO",
        "contoh.ID",
    ] {
        let f = filter(&[("from", "2026-10-25"), ("q", q)]);
        assert_eq!(index.page(&f).total, 1, "{q}");
    }
    for q in ["0813", "santosa", "instagram"] {
        let f = filter(&[("from", "2026-10-25"), ("q", q)]);
        assert_eq!(index.page(&f).total, 0, "{q}");
    }
}

/// The review's case: a snapshot, two of its three leads removed, a
/// rebuild (here triggered by renames with long names), then the rest
/// read: exactly the one lead left, never another.
#[test]
fn an_export_holds_exactly_its_leads_across_rebuilds() {
    let mut index = LeadIndex::build((1..=3).map(|i| lead(i, 10 * i as i64, 1, None, 0, 0)));
    let f = filter(&[("from", "2026-10-25")]);
    let epoch = index.pin();
    let mut slots = index.snapshot(&f);
    assert_eq!(slots.len(), 3);
    index.remove(&lead(1, 0, 0, None, 0, 0).key);
    index.remove(&lead(3, 0, 0, None, 0, 0).key);
    // Others arrive and are renamed until the dead text triggers a rebuild.
    let before = index.epoch;
    for i in 10..400u32 {
        let mut l = lead(i, 5, 1, None, 0, 0);
        index.upsert(&l);
        l.name = Some("x".repeat(8000));
        index.upsert(&l);
        l.name = Some("y".repeat(8000));
        index.upsert(&l);
    }
    assert!(index.epoch > before, "a rebuild happened");
    let now = index.follow(epoch, &mut slots);
    assert_eq!(now, index.epoch);
    let rows = index.rows(&slots);
    assert_eq!(rows, vec![lead(2, 20, 1, None, 0, 0)]);
    index.unpin(now);
    assert!(index.pins().open.is_empty() && index.pins().moves.is_empty());
}

#[test]
fn a_lead_is_found_by_any_of_its_numbers() {
    let mut moved = lead(1, 10, 1, None, 0, 0);
    moved.other_phones = vec!["+6285711112222".into()];
    let mut index = LeadIndex::build([moved.clone(), lead(2, 20, 2, None, 0, 0)]);
    for q in ["+62 857-1111-2222", "085711112222", "11112222"] {
        let f = filter(&[("from", "2026-10-25"), ("q", q)]);
        assert_eq!(index.page(&f).leads, vec![moved.clone()], "{q}");
    }
    // A national form must follow the country code there too.
    let f = filter(&[("from", "2026-10-25"), ("q", "062857")]);
    assert_eq!(index.page(&f).total, 0);
    // The numbers go with the lead.
    moved.other_phones.clear();
    index.upsert(&moved);
    let f = filter(&[("from", "2026-10-25"), ("q", "085711112222")]);
    assert_eq!(index.page(&f).total, 0);
}

#[test]
fn a_changed_lead_moves_and_its_text_is_searched_anew() {
    let mut index = LeadIndex::build([lead(1, 10, 1, None, 0, 0), lead(2, 20, 2, None, 0, 0)]);
    let mut renamed = lead(1, 30, 2, Some(60), 1, 0);
    renamed.name = Some("Dewi".into());
    index.upsert(&renamed);
    let f = filter(&[("from", "2026-10-25"), ("q", "dewi")]);
    assert_eq!(index.page(&f).leads, vec![renamed.clone()]);
    let f = filter(&[("from", "2026-10-25"), ("q", "budi")]);
    assert_eq!(index.page(&f).total, 0);
    let f = filter(&[("from", "2026-10-25")]);
    assert_eq!(index.page(&f).leads[0], renamed);
    index.remove(&renamed.key);
    assert_eq!(index.page(&f).total, 1);
}

#[test]
fn compact_enough_when_built_and_when_grown() {
    let make = |i: u32| {
        lead(
            i,
            i64::from(i),
            1 + (i % 5) as u8,
            Some(30),
            (i % 5) as u8,
            (i % 3) as u8,
        )
    };
    let mut index = LeadIndex::build((0..20_000).map(make));
    let s = index.stats();
    assert_eq!(s.leads, 20_000);
    assert!(s.bytes_per_lead <= 200, "built: {s:?}");
    // Grown one committed lead at a time, as ingest does.
    for i in 20_000..60_000 {
        index.upsert(&make(i));
    }
    let s = index.stats();
    assert_eq!(s.leads, 60_000);
    assert!(s.bytes_per_lead <= 200, "grown: {s:?}");
}

/// The settings' counts: leads that cannot be sent, and sendable leads
/// with nothing queued whose outcome is past the click's 7 days, or was
/// within them but never queued and the 7 days are over.
#[test]
fn window_passed_counts_late_outcomes_and_never_queued_ones_once_closed() {
    let now = t0() + Duration::days(30);
    let at = |days: i64| crate::ssr::domain::rules::whole_second(now - Duration::days(days));
    let sendable = |i: u32, click_days_ago: i64, late: bool, in_window: bool| LeadFacts {
        sendable: true,
        click_at: at(click_days_ago),
        window_passed: late,
        in_window,
        date: now - Duration::days(click_days_ago),
        ..lead(i, 0, 1, None, 0, 0)
    };
    let mut index = LeadIndex::build([
        sendable(1, 10, true, false),
        sendable(2, 10, false, true),
        sendable(3, 2, false, true),
        sendable(4, 10, false, false),
        lead(5, 0, 1, None, 0, 0),
    ]);
    assert_eq!(index.capi_unsent_counts(now), (1, 2));
    // One queued (sent) is counted by its events' state instead.
    index.set_capi("+628120000002", CAPI_SENT);
    assert_eq!(index.capi_unsent_counts(now), (1, 1));
}
