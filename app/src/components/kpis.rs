//! KPI cards against the previous period, and the first-response
//! distribution with each bucket's engaged and buyer rate.

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
            summary.business_hours.as_ref().map(|h| {
                format!(
                    "{} {} · {} {}",
                    l.int(h.in_hours),
                    l.t("kpi.in_hours"),
                    l.int(h.out_of_hours),
                    l.t("kpi.out_of_hours")
                )
            }),
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
        // A period still running is set against the previous one up to the
        // same hour: say until when.
        let until = p
            .until
            .as_deref()
            .and_then(|t| t.get(11..16))
            .map(|hm| format!(" {} {hm}", l.t("kpi.until")))
            .unwrap_or_default();
        format!(
            "{} {} – {}{until}",
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

/// How long leads waited, and per wait what became of them: each bucket's
/// engaged and buyer rate (speed vs outcome, `shared/spec/outcomes.md`).
#[component]
fn Distribution(summary: Summary, lang: Lang) -> impl IntoView {
    let l = lang;
    let outcomes = summary.first_response.outcomes();
    let max = outcomes.iter().map(|o| o.leads).max().unwrap_or(0).max(1);
    view! {
        <section class="card distribution" data-testid="distribution">
            <h2>{l.t("dist.title")}</h2>
            <table>
                <thead>
                    <tr>
                        <th scope="col">{l.t("dist.wait")}</th>
                        <td class="bar"></td>
                        <th scope="col" class="num" colspan="2">{l.t("dist.leads")}</th>
                        <th scope="col" class="num rate">{l.t("dist.engaged")}</th>
                        <th scope="col" class="num rate">{l.t("dist.bought")}</th>
                    </tr>
                </thead>
                <tbody>
                    {outcomes
                        .into_iter()
                        .enumerate()
                        .map(|(i, o)| {
                            let width = format!("width: {:.1}%", o.leads as f64 * 100.0 / max as f64);
                            view! {
                                <tr class=if i == 6 { "never" } else { "" } data-bucket=o.bucket.clone()>
                                    <th scope="row">{l.t(&format!("dist.{i}"))}</th>
                                    <td class="bar"><span style=width></span></td>
                                    <td class="num">{l.int(o.leads)}</td>
                                    <td class="num muted">{l.percent(o.leads, summary.total)}</td>
                                    <td class="num rate engaged">{l.percent(o.engaged, o.leads)}</td>
                                    <td class="num rate bought">{l.percent(o.buyers, o.leads)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
                <tfoot>
                    <tr data-bucket="all">
                        <th scope="row">{l.t("dist.all")}</th>
                        <td class="bar"></td>
                        <td class="num">{l.int(summary.total)}</td>
                        <td class="num muted"></td>
                        <td class="num rate engaged">{l.percent(summary.engaged, summary.total)}</td>
                        <td class="num rate bought">{l.percent(summary.buyers, summary.total)}</td>
                    </tr>
                </tfoot>
            </table>
        </section>
    }
}
