//! Totals over a filter: the dashboard's summary and chart, totals.

use super::*;

impl LeadIndex {
    /// Totals and breakdowns of every lead matching `f` (paging ignored).
    pub fn summary(&self, f: &Filter) -> Summary {
        self.summary_and_chart(f, None).0
    }

    /// The summary and, with `top = Some(n)`, the per-day chart stacked by
    /// the `n` largest first sources (and "other"): one pass over the range.
    pub fn summary_and_chart(&self, f: &Filter, top: Option<usize>) -> (Summary, Chart) {
        let pred = self.pred(f);
        let days = (f.to - f.from).num_days().max(0) as usize + 1;
        // Day d runs from bounds[d] to bounds[d + 1].
        let bounds: Vec<Stamp> = (0..=days)
            .map(|i| {
                f.from
                    .checked_add_days(chrono::Days::new(i as u64))
                    .map_or(pred.range.1, |d| stamp(day_range(d, d, f.tz).0))
            })
            .collect();
        let mut by_day = vec![0u64; days];
        let groups = self.sources.group_first.len();
        let mut by_group = vec![0u64; groups];
        // The waits of answered leads, and each one's source group.
        let mut waits: Vec<i64> = Vec::new();
        let mut wait_groups: Vec<u32> = Vec::new();
        // With a chart: each counted lead's (day, group).
        let mut day_group: Vec<(u32, u32)> = Vec::new();
        let mut first_response = FirstResponse::default();
        let mut total = 0u64;
        let day_of = day_finder(&bounds);
        self.scan(pred.range, &pred, |slot| {
            let h = &self.store.hot[slot as usize];
            let day = day_of(h.date());
            by_day[day] += 1;
            total += 1;
            let group = self.sources.group[h.src as usize];
            by_group[group as usize] += 1;
            if top.is_some() {
                day_group.push((day as u32, group));
            }
            let wait = self.wait(slot);
            first_response.add(wait);
            if let Some(w) = wait {
                waits.push(w);
                wait_groups.push(group);
            }
        });
        let touched = waits.len() as u64;
        // Medians per group: the waits laid out group by group (a counting
        // sort, linear), then a selection in each group's slice.
        let mut start = vec![0usize; groups + 1];
        for g in &wait_groups {
            start[*g as usize + 1] += 1;
        }
        for i in 0..groups {
            start[i + 1] += start[i];
        }
        let mut by_group_waits = vec![0i64; waits.len()];
        let mut next = start.clone();
        for (w, g) in waits.iter().zip(&wait_groups) {
            by_group_waits[next[*g as usize]] = *w;
            next[*g as usize] += 1;
        }
        let group_stats: Vec<(u64, Option<i64>)> = (0..groups)
            .map(|g| {
                let slice = &mut by_group_waits[start[g]..start[g + 1]];
                (slice.len() as u64, median_of(slice))
            })
            .collect();
        let median_all = median_of(&mut waits);
        let mut order: Vec<usize> = (0..groups).filter(|g| by_group[*g] > 0).collect();
        let source_ref = |g: usize| {
            self.sources
                .get(self.sources.group_first[g])
                .map(|s| SourceRef {
                    platform: s.platform,
                    id: s.id,
                    name: s.name,
                })
        };
        let refs: Vec<Option<SourceRef>> = (0..groups)
            .map(|g| if by_group[g] > 0 { source_ref(g) } else { None })
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
                for (d, g) in day_group {
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
            by_day: by_day
                .into_iter()
                .enumerate()
                .map(|(i, count)| DayCount {
                    day: day_name(i),
                    count,
                })
                .collect(),
            by_source,
            first_response,
            previous: None,
        };
        (summary, chart)
    }

    /// Seconds from a lead's Date to its First Touched At, if answered.
    pub(super) fn wait(&self, slot: u32) -> Option<i64> {
        let h = &self.store.hot[slot as usize];
        match h.wait {
            UNTOUCHED => None,
            WAIT_SATURATED => {
                let c = &self.store.cold[slot as usize];
                Some((time(c.touch()) - time(h.date())).num_seconds())
            }
            w => Some(i64::from(w)),
        }
    }

    /// Total, answered and the median wait of the leads matching `f`: the
    /// previous period's figures, without days, sources or a chart.
    pub fn totals(&self, f: &Filter) -> (u64, u64, Option<i64>) {
        let pred = self.pred(f);
        let mut total = 0u64;
        let mut waits: Vec<i64> = Vec::new();
        self.scan(pred.range, &pred, |slot| {
            total += 1;
            waits.extend(self.wait(slot));
        });
        (total, waits.len() as u64, median_of(&mut waits))
    }
}

/// The median, the mean of the two middle values for an even count, rounded.
/// The median of `values` (the mean of the two middle ones, rounded, for
/// an even count).
pub(super) fn median_of(values: &mut [i64]) -> Option<i64> {
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
