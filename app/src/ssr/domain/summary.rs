//! Totals and breakdowns of a set of leads. Pure.

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;

use super::rules::LeadFacts;
use crate::model::{DayCount, FirstResponse, Source, SourceCount, SourceRef, Summary};

/// Summarises `leads` (the leads of the days `from..=to` in `tz`): one
/// `by_day` entry per day, zeros included; sources by count, largest first,
/// with "no source" as `null`.
pub fn summarize(leads: &[LeadFacts], from: NaiveDate, to: NaiveDate, tz: Tz) -> Summary {
    let days = (to - from).num_days().max(0) as usize + 1;
    let mut by_day = vec![0u64; days];
    let mut sources: Vec<(Option<Source>, u64, Vec<i64>)> = Vec::new();
    let mut waits: Vec<i64> = Vec::new();
    let mut first_response = FirstResponse::default();
    for lead in leads {
        let day = lead.date.with_timezone(&tz).date_naive();
        if let Ok(i) = usize::try_from((day - from).num_days()) {
            if let Some(slot) = by_day.get_mut(i) {
                *slot += 1;
            }
        }
        let wait = lead.first_touched_at.map(|t| (t - lead.date).num_seconds());
        waits.extend(wait);
        first_response.add_lead(wait, lead.engaged, lead.buyer());
        // Rule 5's sameness: platform and id, or name without id.
        let same = |counted: &Option<Source>| match (counted, &lead.first_source) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same_as(b),
            _ => false,
        };
        match sources.iter_mut().find(|(s, _, _)| same(s)) {
            Some((_, n, w)) => {
                *n += 1;
                w.extend(wait);
            }
            None => sources.push((lead.first_source.clone(), 1, wait.into_iter().collect())),
        }
    }
    let mut sources: Vec<SourceCount> = sources
        .into_iter()
        .map(|(source, count, mut w)| SourceCount {
            source: source.map(|s| SourceRef {
                platform: s.platform,
                id: s.id,
                name: s.name,
            }),
            count,
            touched: w.len() as u64,
            median_first_touch_seconds: median(&mut w),
        })
        .collect();
    sources.sort_by(|a, b| b.count.cmp(&a.count));
    let touched = waits.len() as u64;
    Summary {
        total: leads.len() as u64,
        touched,
        untouched: leads.len() as u64 - touched,
        median_first_touch_seconds: median(&mut waits),
        answered: touched,
        engaged: leads.iter().filter(|l| l.engaged).count() as u64,
        one_message: leads.iter().filter(|l| l.one_message).count() as u64,
        buyers: leads.iter().filter(|l| l.buyer()).count() as u64,
        buyer: leads.iter().filter(|l| l.buyer()).count() as u64,
        revenue: leads.iter().map(LeadFacts::revenue).sum::<i64>() as f64 / 100.0,
        by_day: by_day
            .into_iter()
            .enumerate()
            .map(|(i, count)| DayCount {
                day: (from + Duration::days(i as i64)).to_string(),
                count,
            })
            .collect(),
        by_source: sources,
        first_response_outcomes: first_response.outcomes(),
        first_response,
        business_hours: None,
        previous: None,
    }
}

/// The median, the mean of the two middle values for an even count, rounded.
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        let (a, b) = (values[n / 2 - 1], values[n / 2]);
        a + ((b - a) as f64 / 2.0).round() as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn lead(key: &str, day: u32, wait: Option<i64>, source: Option<&str>) -> LeadFacts {
        let date = Utc
            .with_ymd_and_hms(2026, 11, day, 3, 0, 0)
            .single()
            .expect("t");
        LeadFacts {
            first_source: source.map(|id| Source {
                platform: "meta".into(),
                kind: "ad".into(),
                id: Some(id.into()),
                name: Some(format!("Ad {id}")),
                url: None,
            }),
            first_touched_at: wait.map(|w| date + Duration::seconds(w)),
            ..LeadFacts::bare(key, date)
        }
    }

    #[test]
    fn totals_days_sources_and_median() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("day");
        let leads = [
            lead("a", 20, Some(60), Some("1")),
            lead("b", 20, Some(120), Some("1")),
            lead("c", 18, None, None),
            lead("d", 18, Some(30), Some("2")),
            lead("e", 18, Some(100), Some("1")),
        ];
        let s = summarize(
            &leads,
            d("2026-11-17"),
            d("2026-11-20"),
            chrono_tz::Asia::Jakarta,
        );
        assert_eq!((s.total, s.touched, s.untouched), (5, 4, 1));
        assert_eq!(s.median_first_touch_seconds, Some(80));
        let days: Vec<(String, u64)> = s.by_day.iter().map(|d| (d.day.clone(), d.count)).collect();
        assert_eq!(
            days,
            [
                ("2026-11-17", 0),
                ("2026-11-18", 3),
                ("2026-11-19", 0),
                ("2026-11-20", 2)
            ]
            .map(|(d, c)| (d.to_owned(), c))
        );
        assert_eq!(s.by_source[0].count, 3);
        assert_eq!(
            s.by_source[0].source.as_ref().and_then(|s| s.id.as_deref()),
            Some("1")
        );
        assert!(
            s.by_source
                .iter()
                .any(|c| c.source.is_none() && c.count == 1)
        );
    }

    #[test]
    fn no_leads_no_median() {
        let d = "2026-11-20".parse::<NaiveDate>().expect("day");
        let s = summarize(&[], d, d, chrono_tz::Asia::Jakarta);
        assert_eq!(
            (s.total, s.median_first_touch_seconds, s.by_day.len()),
            (0, None, 1)
        );
    }
}
