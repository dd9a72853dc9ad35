//! KPI cards against the previous period, and the first-response
//! distribution.

use leptos::prelude::*;

use super::delta;
use crate::model::{Lang, Summary};

#[component]
pub fn Kpis(summary: Summary, lang: Lang) -> impl IntoView {
    let prev = summary.previous.clone();
    let l = lang;
    let median = |m: Option<i64>| m.map(|s| l.duration(s)).unwrap_or_else(|| "–".into());
    let cards = [
        (
            "kpi.leads",
            "kpi-leads",
            l.int(summary.total),
            None,
            prev.as_ref()
                .map(|p| (summary.total as f64, p.total as f64, true)),
        ),
        (
            "kpi.answered",
            "kpi-answered",
            l.int(summary.touched),
            Some(format!(
                "{} {}",
                l.percent(summary.touched, summary.total),
                l.t("kpi.of")
            )),
            prev.as_ref()
                .map(|p| (summary.touched as f64, p.touched as f64, true)),
        ),
        (
            "kpi.awaiting",
            "kpi-awaiting",
            l.int(summary.untouched),
            None,
            prev.as_ref()
                .map(|p| (summary.untouched as f64, p.untouched as f64, false)),
        ),
        (
            "kpi.median",
            "kpi-median",
            median(summary.median_first_touch_seconds),
            None,
            prev.as_ref().and_then(|p| {
                Some((
                    summary.median_first_touch_seconds? as f64,
                    p.median_first_touch_seconds? as f64,
                    false,
                ))
            }),
        ),
    ];
    let previous_text = prev.as_ref().map(|p| {
        format!(
            "{} {} – {}",
            l.t("kpi.vs"),
            l.day(&p.from, false),
            l.day(&p.to, true)
        )
    });
    view! {
        <section class="kpis" aria-label=l.t("kpi.leads")>
            {cards
                .into_iter()
                .map(|(key, testid, value, note, cmp)| {
                    let change = cmp.and_then(|(now, before, up)| delta(now, before, up));
                    view! {
                        <div class="kpi" data-testid=testid>
                            <div class="kpi-label">{l.t(key)}</div>
                            <div class="kpi-value">{value}</div>
                            {note.map(|n| view! { <div class="kpi-note">{n}</div> })}
                            {change.map(|(text, good)| view! {
                                <div class=if good { "kpi-delta good" } else { "kpi-delta bad" }
                                    title=previous_text.clone()>
                                    {text}
                                    <span class="sr-only">{format!(" {}", l.t("kpi.vs"))}</span>
                                </div>
                            })}
                        </div>
                    }
                })
                .collect_view()}
        </section>
        <Distribution summary lang/>
    }
}

#[component]
fn Distribution(summary: Summary, lang: Lang) -> impl IntoView {
    let l = lang;
    let buckets = summary.first_response.buckets();
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    view! {
        <section class="card distribution" data-testid="distribution">
            <h2>{l.t("dist.title")}</h2>
            <table>
                <tbody>
                    {buckets
                        .iter()
                        .enumerate()
                        .map(|(i, n)| {
                            let width = format!("width: {:.1}%", *n as f64 * 100.0 / max as f64);
                            view! {
                                <tr class=if i == 6 { "never" } else { "" }>
                                    <th scope="row">{l.t(&format!("dist.{i}"))}</th>
                                    <td class="bar"><span style=width></span></td>
                                    <td class="num">{l.int(*n)}</td>
                                    <td class="num muted">{l.percent(*n, summary.total)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
