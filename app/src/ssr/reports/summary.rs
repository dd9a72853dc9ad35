//! The dashboard's figures for a filter: KPIs, the previous period, the
//! first-response buckets, leads per day and per first source, and the
//! chart stacked by the largest sources. Read through the index's one
//! visitor ([`LeadIndex::each_parts`]); the index knows nothing of these shapes.

use crate::model::{
    Chart, DayCount, FirstResponse, HoursSplit, PeriodTotals, SourceCount, SourceRef, Summary,
};
use crate::ssr::domain::days::day_range;
use crate::ssr::domain::filter::Filter;
use crate::ssr::domain::hours::BusinessHours;
use crate::ssr::index::{LeadIndex, Seen, Stamp, parts, stamp};

/// The summary with the previous period's totals and, with `top = Some(n)`,
/// the per-day chart stacked by the `n` largest first sources (and
/// "other"): one pass over the range, plus one over the previous period.
pub fn dashboard(
    index: &LeadIndex,
    f: &Filter,
    top: Option<usize>,
    now: chrono::DateTime<chrono::Utc>,
) -> (Summary, Chart) {
    let previous = f.previous_period(now);
    // The previous period's pass runs beside this period's: a month's scan
    // is one thread's (too few leads to split), so on two cores the two
    // passes take the time of one.
    let ((mut summary, chart), before) = std::thread::scope(|scope| {
        let before = previous
            .as_ref()
            .map(|p| scope.spawn(move || totals(index, p)));
        let now = summary_and_chart(index, f, top);
        let before = before.map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        (now, before)
    });
    summary.previous = previous
        .zip(before)
        .map(|(p, (total, touched, median))| PeriodTotals {
            from: p.from.to_string(),
            to: p.to.to_string(),
            // Cut short (the chosen period is still running): until when,
            // in the view's zone.
            until: (p.end < day_range(p.from, p.to, p.tz).1)
                .then(|| p.end.with_timezone(&p.tz).to_rfc3339()),
            total,
            touched,
            untouched: total - touched,
            median_first_touch_seconds: median,
        });
    (summary, chart)
}

/// The summary (without the previous period) and the chart of `f`.
pub fn summary_and_chart(index: &LeadIndex, f: &Filter, top: Option<usize>) -> (Summary, Chart) {
    let days = (f.to - f.from).num_days().max(0) as usize + 1;
    // Day d runs from bounds[d] to bounds[d + 1].
    let bounds: Vec<Stamp> = (0..=days)
        .map(|i| {
            f.from
                .checked_add_days(chrono::Days::new(i as u64))
                .map_or(stamp(f.end), |d| stamp(day_range(d, d, f.tz).0))
        })
        .collect();
    let groups = index.source_groups();
    let day_of = day_finder(&bounds);
    let chart = top.is_some();
    let parts = index.each_parts(
        f,
        || Part::new(days, groups, index.len() / parts()),
        |p: &mut Part, lead: Seen| {
            let day = day_of(lead.date);
            p.by_day[day] += 1;
            p.by_group[lead.group as usize] += 1;
            if chart {
                p.day_group.push((day as u32, lead.group));
            }
            // Counted without branches: the bounds a wait reaches, 6 for none.
            let b = lead.wait.map_or(6, |w| {
                FirstResponse::BOUNDS
                    .iter()
                    .map(|b| usize::from(w >= *b))
                    .sum()
            });
            p.buckets[0][b] += 1;
            p.buckets[1][b] += u64::from(lead.engaged);
            p.buckets[2][b] += u64::from(lead.buyer);
            p.one_message += u64::from(lead.one_message);
            if lead.buyer {
                p.revenue += index.revenue(lead.slot);
            }
            if let Some(w) = lead.wait {
                p.waits.push(w);
                p.wait_groups.push(lead.group);
            }
        },
    );
    let mut by_day = vec![0u64; days];
    let mut by_group = vec![0u64; groups];
    let mut buckets = [[0u64; 7]; 3];
    let (mut one_message, mut revenue) = (0u64, 0i64);
    for p in &parts {
        add_into(&mut by_day, &p.by_day);
        add_into(&mut by_group, &p.by_group);
        for (sum, part) in buckets.iter_mut().zip(&p.buckets) {
            add_into(sum, part);
        }
        one_message += p.one_message;
        revenue += p.revenue;
    }
    let total: u64 = buckets[0].iter().sum();
    let engaged: u64 = buckets[1].iter().sum();
    let buyers: u64 = buckets[2].iter().sum();
    let first_response = FirstResponse::from_counts(buckets[0], buckets[1], buckets[2]);
    let touched: u64 = parts.iter().map(|p| p.waits.len() as u64).sum();
    let (group_stats, mut waits) = group_medians(
        parts.iter().map(|p| (&p.waits[..], &p.wait_groups[..])),
        groups,
    );
    let median_all = median_of(&mut waits);
    let mut order: Vec<usize> = (0..groups).filter(|g| by_group[*g] > 0).collect();
    let refs: Vec<Option<SourceRef>> = (0..groups)
        .map(|g| {
            (by_group[g] > 0)
                .then(|| index.group_source(g as u32))
                .flatten()
                .map(|s| SourceRef {
                    platform: s.platform,
                    id: s.id,
                    name: s.name,
                })
        })
        .collect();
    order.sort_by(|a, b| {
        by_group[*b].cmp(&by_group[*a]).then_with(|| {
            let label = |g: usize| {
                refs[g]
                    .as_ref()
                    .map(|s| (s.platform.clone(), s.id.clone(), s.name.clone()))
            };
            label(*a).cmp(&label(*b))
        })
    });
    let by_source: Vec<SourceCount> = order
        .iter()
        .map(|g| SourceCount {
            source: refs[*g].clone(),
            count: by_group[*g],
            touched: group_stats[*g].0,
            median_first_touch_seconds: group_stats[*g].1,
        })
        .collect();
    let day_name = |i: usize| {
        f.from
            .checked_add_days(chrono::Days::new(i as u64))
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let chart = match top {
        None => Chart::default(),
        Some(n) => {
            let shown = &order[..order.len().min(n)];
            let other = order.len() > shown.len();
            let width = shown.len() + usize::from(other);
            let mut series_of = vec![width.saturating_sub(1); groups];
            for (i, g) in shown.iter().enumerate() {
                series_of[*g] = i;
            }
            let mut counts = vec![vec![0u64; width]; days];
            for (d, g) in parts.iter().flat_map(|p| &p.day_group) {
                let (d, g) = (*d, *g);
                counts[d as usize][series_of[g as usize]] += 1;
            }
            Chart {
                series: shown.iter().map(|g| refs[*g].clone()).collect(),
                other,
                days: counts
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| (day_name(i), c))
                    .collect(),
            }
        }
    };
    let summary = Summary {
        total,
        touched,
        untouched: total - touched,
        median_first_touch_seconds: median_all,
        answered: touched,
        engaged,
        one_message,
        buyers,
        buyer: buyers,
        revenue: revenue as f64 / 100.0,
        by_day: by_day
            .into_iter()
            .enumerate()
            .map(|(i, count)| DayCount {
                day: day_name(i),
                count,
            })
            .collect(),
        by_source,
        first_response_outcomes: first_response.outcomes(),
        first_response,
        business_hours: None,
        previous: None,
    };
    (summary, chart)
}

/// Each group's count and median of the waits given in parts (each a
/// wait and its group), and every wait: the waits are laid out group by
/// group (a counting sort, linear), then selected in each group's slice,
/// which only reorders inside it.
pub(crate) fn group_medians<'a>(
    parts: impl Iterator<Item = (&'a [i64], &'a [u32])> + Clone,
    groups: usize,
) -> (Vec<(u64, Option<i64>)>, Vec<i64>) {
    let mut start = vec![0usize; groups + 1];
    for (_, gs) in parts.clone() {
        for g in gs {
            start[*g as usize + 1] += 1;
        }
    }
    for i in 0..groups {
        start[i + 1] += start[i];
    }
    let mut waits = vec![0i64; start[groups]];
    let mut next = start.clone();
    for (ws, gs) in parts {
        for (w, g) in ws.iter().zip(gs) {
            waits[next[*g as usize]] = *w;
            next[*g as usize] += 1;
        }
    }
    let stats = (0..groups)
        .map(|g| {
            let slice = &mut waits[start[g]..start[g + 1]];
            (slice.len() as u64, median_of(slice))
        })
        .collect();
    (stats, waits)
}

/// What one part of a summary's scan counted.
struct Part {
    by_day: Vec<u64>,
    by_group: Vec<u64>,
    /// Per first-response bucket: leads, engaged, buyers.
    buckets: [[u64; 7]; 3],
    one_message: u64,
    revenue: i64,
    /// The waits of answered leads, and each one's source group.
    waits: Vec<i64>,
    wait_groups: Vec<u32>,
    /// With a chart: each counted lead's (day, group).
    day_group: Vec<(u32, u32)>,
}

impl Part {
    /// `expect` leads reserved for: untouched pages cost nothing, and a
    /// year's summary no longer copies the waits as they grow.
    fn new(days: usize, groups: usize, expect: usize) -> Part {
        Part {
            by_day: vec![0; days],
            by_group: vec![0; groups],
            buckets: [[0; 7]; 3],
            one_message: 0,
            revenue: 0,
            waits: Vec::with_capacity(expect),
            wait_groups: Vec::with_capacity(expect),
            day_group: Vec::new(),
        }
    }
}

fn add_into(sum: &mut [u64], part: &[u64]) {
    for (s, p) in sum.iter_mut().zip(part) {
        *s += p;
    }
}

/// The leads matching `f` whose Date fell in and out of `hours`, which are
/// in the business's zone `tz` (not the view's: choosing another zone to
/// read the page in does not move the opening hours). A pass of its own,
/// made only when a calendar is set: the time-zone conversion per lead
/// would slow every summary.
pub fn hours_split(
    index: &LeadIndex,
    f: &Filter,
    hours: &BusinessHours,
    tz: chrono_tz::Tz,
) -> HoursSplit {
    let counted = index.each_parts(
        f,
        || (0u64, 0u64),
        |(open, closed): &mut (u64, u64), lead: Seen| {
            let inside = chrono::DateTime::from_timestamp(lead.date.0, lead.date.1)
                .is_some_and(|t| hours.contains(t.with_timezone(&tz).naive_local()));
            *open += u64::from(inside);
            *closed += u64::from(!inside);
        },
    );
    HoursSplit {
        in_hours: counted.iter().map(|c| c.0).sum(),
        out_of_hours: counted.iter().map(|c| c.1).sum(),
    }
}

/// Total, answered and the median wait of the leads matching `f`: the
/// previous period's figures, without days, sources or a chart.
pub fn totals(index: &LeadIndex, f: &Filter) -> (u64, u64, Option<i64>) {
    let parts = index.each_parts(
        f,
        || (0u64, Vec::new()),
        |(total, waits): &mut (u64, Vec<i64>), lead: Seen| {
            *total += 1;
            waits.extend(lead.wait);
        },
    );
    let total = parts.iter().map(|p| p.0).sum();
    let mut waits: Vec<i64> = parts.into_iter().flat_map(|p| p.1).collect();
    (total, waits.len() as u64, median_of(&mut waits))
}

/// The day (index into `bounds`, where day d runs from `bounds[d]` to
/// `bounds[d + 1]`) of a time inside the range. Days of exactly 24 hours
/// (zones without daylight saving, such as Indonesia's) are found by
/// division; a binary search was most of a year's summary.
fn day_finder(bounds: &[Stamp]) -> impl Fn(Stamp) -> usize + '_ {
    let days = bounds.len().saturating_sub(1).max(1);
    let uniform = bounds
        .windows(2)
        .all(|w| w[1].0 - w[0].0 == 86_400 && w[0].1 == 0 && w[1].1 == 0);
    let start = bounds.first().map_or(0, |b| b.0);
    move |t: Stamp| {
        let day = if uniform {
            usize::try_from((t.0 - start).div_euclid(86_400)).unwrap_or(0)
        } else {
            bounds[1..days].partition_point(|b| *b <= t)
        };
        day.min(days - 1)
    }
}

/// The median of `values` (the mean of the two middle ones, rounded, for
/// an even count).
pub(crate) fn median_of(values: &mut [i64]) -> Option<i64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let b = *values.select_nth_unstable(mid).1;
    let a = if n % 2 == 0 {
        // The largest value below the middle one.
        values[..mid].iter().copied().max().unwrap_or(b)
    } else {
        b
    };
    Some(a + ((b - a) as f64 / 2.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::domain::rules::LeadFacts;
    use crate::ssr::domain::summary::summarize;
    use crate::ssr::index::tests::{FILTERS, built, expected, filter, leads_arriving};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        /// The summary, the chart and the previous period's totals against
        /// the model summary written from the rules.
        #[test]
        fn summaries_match_the_rules(
            (first, later) in leads_arriving(),
        ) {
            let (index, model) = built(&first, &later);
            for pairs in FILTERS {
                let f = filter(&[&[("from", "2026-10-25")], *pairs].concat());
                let want: Vec<LeadFacts> = expected(&model, &f);
                // Sources of equal count may come in either order.
                let norm = |mut s: Summary| {
                    s.by_source.sort_by_key(|c| (std::cmp::Reverse(c.count), c.source.as_ref().map(|s| (s.platform.clone(), s.id.clone()))));
                    s
                };
                let (summary, chart) = summary_and_chart(&index, &f, Some(3));
                prop_assert_eq!(norm(summary.clone()), norm(summarize(&want, f.from, f.to, f.tz)), "{:?}", pairs);
                // The chart's stacks add up to the days, its series to the sources.
                prop_assert_eq!(chart.days.len(), summary.by_day.len());
                for ((day, stack), d) in chart.days.iter().zip(&summary.by_day) {
                    prop_assert_eq!(day, &d.day);
                    prop_assert_eq!(stack.iter().sum::<u64>(), d.count);
                }
                for (i, series) in chart.series.iter().enumerate() {
                    let n: u64 = chart.days.iter().map(|(_, c)| c[i]).sum();
                    prop_assert_eq!(series, &summary.by_source[i].source);
                    prop_assert_eq!(n, summary.by_source[i].count);
                }
                prop_assert_eq!(chart.other, summary.by_source.len() > 3);
                prop_assert_eq!(
                    totals(&index, &f),
                    (summary.total, summary.touched, summary.median_first_touch_seconds)
                );
                // The previous period is the model's summary of its days.
                let (with_previous, _) = dashboard(&index, &f, None, f.end);
                let previous = f.previous_period(f.end).map(|p| {
                    let s = summarize(&expected(&model, &p), p.from, p.to, p.tz);
                    (s.total, s.touched, s.median_first_touch_seconds)
                });
                prop_assert_eq!(
                    with_previous.previous.map(|p| (p.total, p.touched, p.median_first_touch_seconds)),
                    previous
                );
            }
        }
    }

    /// An empty index: nothing to split, nothing counted.
    #[test]
    fn an_empty_index_sums_to_nothing() {
        let index = LeadIndex::default();
        let f = filter(&[("from", "2026-10-25")]);
        let (summary, chart) = summary_and_chart(&index, &f, Some(3));
        assert_eq!((summary.total, summary.touched), (0, 0));
        assert!(chart.series.is_empty());
        assert_eq!(totals(&index, &f), (0, 0, None));
    }

    #[test]
    fn medians() {
        assert_eq!(median_of(&mut []), None);
        assert_eq!(median_of(&mut [5]), Some(5));
        assert_eq!(median_of(&mut [9, 1, 4]), Some(4));
        // Even counts: the rounded mean of the middle two.
        assert_eq!(median_of(&mut [1, 2, 10, 20]), Some(6));
        assert_eq!(median_of(&mut [1, 2]), Some(2));
    }
}
