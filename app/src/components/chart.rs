//! New leads per day, stacked by first source: plain SVG rendered on the
//! server (fixed aspect ratio, so nothing jumps), and a breakdown table by
//! first source whose sources link to the page filtered by them. Each day
//! carries its numbers in `aria-label`; the page shows them in the caption
//! line for the day under the pointer or the focus.

use leptos::prelude::*;

use super::{source_label, source_value};
use crate::model::{Chart, Lang, LeadsQuery, SourceCount};
use crate::url::query_string;

const W: f64 = 720.0;
const H: f64 = 200.0;
const COLORS: [&str; 5] = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#db2777"];
const ORGANIC: &str = "#94a3b8";
const OTHER: &str = "#cbd5e1";

/// A colour for each series that depends on which sources the chart has,
/// not on their ranks: each source prefers the colour its filter value
/// hashes to, and the sources claim colours in the order of their hashes
/// (then values), so reordering the same sources keeps every colour; a
/// source taken over by another moves to the next free one. Organic is
/// always grey.
fn series_colors(series: &[Option<crate::model::SourceRef>]) -> Vec<&'static str> {
    // FNV-1a: the same on every machine and in every build.
    let hash = |key: &str| {
        key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let mut keyed: Vec<(u64, String, usize)> = series
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let key = source_value(Some(s.as_ref()?));
            Some((hash(&key), key, i))
        })
        .collect();
    keyed.sort();
    let mut colors = vec![ORGANIC; series.len()];
    let mut taken = [false; COLORS.len()];
    for (n, (h, _, i)) in keyed.into_iter().enumerate() {
        let first = (h % COLORS.len() as u64) as usize;
        let free = (0..COLORS.len())
            .map(|k| (first + k) % COLORS.len())
            .find(|&c| !taken[c]);
        colors[i] = match free {
            Some(c) => {
                taken[c] = true;
                COLORS[c]
            }
            // More sources than colours.
            None => COLORS[n % COLORS.len()],
        };
    }
    colors
}

#[component]
pub fn ChartView(chart: Chart, lang: Lang) -> impl IntoView {
    let l = lang;
    let mut names: Vec<String> = chart
        .series
        .iter()
        .map(|s| source_label(s.as_ref(), l))
        .collect();
    let mut colors = series_colors(&chart.series);
    if chart.other {
        names.push(l.t("chart.other").to_owned());
        colors.push(OTHER);
    }
    let days = chart.days.len().max(1);
    let max = chart
        .days
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = W / days as f64;
    let gap = if step > 4.0 { step * 0.2 } else { 0.0 };
    let caption = |i: usize| {
        let Some((day, counts)) = chart.days.get(i) else {
            return String::new();
        };
        let total: u64 = counts.iter().sum();
        let parts: Vec<String> = counts
            .iter()
            .zip(&names)
            .filter(|(n, _)| **n > 0)
            .map(|(n, name)| format!("{name} {}", l.int(*n)))
            .collect();
        let word = if total == 1 {
            l.t("lead")
        } else {
            l.t("leads")
        };
        let mut text = format!("{}: {} {word}", l.day(day, true), l.int(total));
        if !parts.is_empty() {
            text.push_str(" — ");
            text.push_str(&parts.join(" · "));
        }
        text
    };
    let totals: Vec<u64> = chart.days.iter().map(|(_, c)| c.iter().sum()).collect();
    let bars = chart
        .days
        .iter()
        .enumerate()
        .map(|(i, (day, counts))| {
            let x = i as f64 * step + gap / 2.0;
            let width = (step - gap).max(0.5);
            let mut y = H;
            let rects = counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(s, n)| {
                    let h = *n as f64 / max as f64 * H;
                    y -= h;
                    view! {
                        <rect x=format!("{x:.2}") y=format!("{y:.2}") width=format!("{width:.2}")
                            height=format!("{h:.2}") fill=colors[s]></rect>
                    }
                })
                .collect_view();
            // The numbers once, in `aria-label`: screen readers read it, and
            // the page copies it into the caption line on hover or focus.
            view! {
                <g class="day" tabindex="0" role="img" aria-label=caption(i)
                    data-day=day.clone() data-count=totals[i].to_string()>
                    // The whole column catches the pointer, even above short bars.
                    <rect class="hit" x=format!("{:.2}", i as f64 * step) y="0"
                        width=format!("{step:.2}") height=format!("{H}")></rect>
                    {rects}
                </g>
            }
        })
        .collect_view();
    let first = chart
        .days
        .first()
        .map(|(d, _)| l.day(d, false))
        .unwrap_or_default();
    let last = chart
        .days
        .last()
        .map(|(d, _)| l.day(d, false))
        .unwrap_or_default();
    view! {
        <section class="card chart" data-testid="chart">
            <h2>{l.t("chart.title")}</h2>
            <p class="chart-caption" aria-live="polite" data-testid="chart-caption"
                data-hint=l.t("chart.hint")>{l.t("chart.hint")}</p>
            <div class="chart-frame">
                <span class="chart-max">{l.int(max)}</span>
                <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="group"
                    aria-label=l.t("chart.title")>
                    <line x1="0" y1="0.5" x2=format!("{W}") y2="0.5" class="grid"></line>
                    {bars}
                </svg>
            </div>
            <div class="chart-axis"><span>{first}</span><span>{last}</span></div>
            <ul class="legend">
                {names
                    .into_iter()
                    .zip(colors)
                    .map(|(name, color)| view! {
                        <li><span class="swatch" style=format!("background:{color}")></span>{name}</li>
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

#[component]
pub fn Breakdown(sources: Vec<SourceCount>, lang: Lang, query: LeadsQuery) -> impl IntoView {
    let l = lang;
    view! {
        <section class="card breakdown" data-testid="breakdown">
            <h2>{l.t("breakdown.title")}</h2>
            <p class="muted small">{l.t("breakdown.filter")}</p>
            <div class="scroll">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">{l.t("source")}</th>
                            <th scope="col" class="num">{l.t("breakdown.leads")}</th>
                            <th scope="col" class="num">{l.t("breakdown.answered")}</th>
                            <th scope="col" class="num">{l.t("breakdown.median")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {sources
                            .into_iter()
                            .take(12)
                            .map(|c| {
                                let value = source_value(c.source.as_ref());
                                let platform = c.source.as_ref().map(|s| s.platform.clone());
                                view! {
                                    <tr>
                                        <td>
                                            <a class="link" data-source=value.clone()
                                                href=format!("/{}", query_string(&query, &[("source", &value)]))>
                                                {source_label(c.source.as_ref(), l)}
                                            </a>
                                            {platform.map(|p| view! { <span class="platform">{p}</span> })}
                                        </td>
                                        <td class="num">{l.int(c.count)}</td>
                                        <td class="num">{l.percent(c.touched, c.count)}</td>
                                        <td class="num">
                                            {c.median_first_touch_seconds.map(|s| l.duration(s)).unwrap_or_else(|| "–".into())}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceRef;

    fn ad(id: &str) -> Option<SourceRef> {
        Some(SourceRef {
            platform: "meta".into(),
            id: Some(id.into()),
            name: None,
        })
    }

    #[test]
    fn a_source_keeps_its_colour_whatever_its_rank() {
        // Any order of the same sources gives each the same colour, also
        // when their hashes collide (many ids, so some do).
        let ids: Vec<String> = (0..40).map(|i| format!("1202106411742{i:05}")).collect();
        for set in ids.chunks(5) {
            let a: Vec<_> = set.iter().map(|i| ad(i)).chain([None]).collect();
            let mut b = a.clone();
            b.reverse();
            b.rotate_left(2);
            let (ca, cb) = (series_colors(&a), series_colors(&b));
            for (k, s) in a.iter().enumerate() {
                let m = b.iter().position(|x| x == s).expect("same sources");
                assert_eq!(ca[k], cb[m], "{s:?}");
            }
            // Never two sources of one chart alike; organic grey.
            let mut d: Vec<_> = ca.iter().filter(|c| **c != ORGANIC).collect();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), 5, "{ca:?}");
            assert_eq!(ca[5], ORGANIC);
        }
    }
}
