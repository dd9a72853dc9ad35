//! The Ads view's table, rendered on the server as HTML: the report of
//! `GET /api/v1/ads` for the page's filters, with its toggles, sortable
//! columns and each row's link to the Leads page filtered to it.

use chrono::Utc;

use crate::components::filters::{CAPI_STATES, PRESETS, ZONES};
use crate::error::AppError;
use crate::model::{AdsFigures, AdsQuery, AdsRow, Lang, LeadsQuery};
use crate::ssr::domain::filter::Filter;
use crate::ssr::leads::{Attribution, CountBy};
use crate::ssr::reports::ads::AdsOrder;
use crate::ssr::state::AppState;
use crate::url::query_string;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The columns: URL name, text key, and the value sorted by.
const COLUMNS: [(&str, &str); 12] = [
    ("spend", "ads.spend"),
    ("leads", "ads.leads"),
    ("cost_per_lead", "ads.cpl"),
    ("answered", "ads.answered"),
    ("engaged", "ads.engaged"),
    ("one_message", "ads.one_message"),
    ("median_first_touch", "ads.median"),
    ("buyers", "ads.buyers"),
    ("revenue", "ads.revenue"),
    ("cost_per_buyer", "ads.cpb"),
    ("roas", "ads.roas"),
    ("source", "ads.source"),
];

use crate::components::money;

/// A ratio as the API gives it (at most three decimals), in the page's
/// writing: `1.364×`, `1,364×`.
fn ratio(r: f64, l: Lang) -> String {
    let text = format!("{r:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{}×", text.replace('.', l.decimal_mark()))
}

pub fn ads_html(state: &AppState, q: &AdsQuery, l: Lang) -> Result<String, AppError> {
    let attribution = Attribution::parse(q.attribution.as_deref())?;
    let count_by = CountBy::parse(q.count_by.as_deref())?;
    // The report's order: `sort=` (the API's name for it; the page's own
    // links carry `order=` and no `sort`), else `order=`, as the API reads
    // them; the leads' own sort means nothing here.
    let mut q = q.clone();
    let sort = q.leads.sort.take().filter(|s| !s.trim().is_empty());
    let (param, text) = match (&sort, &q.order) {
        (Some(s), _) => ("sort", Some(s.as_str())),
        (None, o) => ("order", o.as_deref()),
    };
    let ads_order = AdsOrder::parse(text, param)?;
    let order = ads_order.as_param();
    let (col, desc) = (ads_order.column.to_owned(), ads_order.desc);
    let q = &q;
    let filter = Filter::from_query(&q.leads, state.settings.tz, Utc::now())?;
    let report = state
        .leads
        .ads(&filter, attribution, count_by, &state.settings.currency);
    let mut rows: Vec<AdsRow> = report.rows.clone();
    // The same labels as the API's and the CSV's order.
    ads_order.sort(&mut rows, crate::ssr::reports::ads::plain_label);
    let from = filter.from.to_string();
    let to = filter.to.to_string();
    // The rows' links name the days, so the Leads page shows the same
    // leads; the view's own links keep a preset relative, as the Leads
    // page's do.
    let mut base = q.leads.clone();
    base.from = Some(from.clone());
    base.to = Some(to.clone());
    base.range = None;
    let mut view = q.leads.clone();
    view.cursor = None;
    view.limit = None;
    let link = |period: &LeadsQuery, extra: &[(&str, &str)]| {
        let mut pairs: Vec<(&str, String)> = vec![
            ("attribution", attribution.as_str().into()),
            ("count_by", count_by.as_str().into()),
            ("order", order.clone()),
        ];
        for (k, v) in extra {
            match pairs.iter_mut().find(|(key, _)| key == k) {
                Some(p) => p.1 = (*v).to_owned(),
                None => pairs.push((k, (*v).to_owned())),
            }
        }
        let extra: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/ads{}", query_string(period, &extra))
    };
    let here = |extra: &[(&str, &str)]| link(&view, extra);
    // The period's presets, chosen as on the Leads page ("7d" without days).
    let has_days = [&q.leads.from, &q.leads.to]
        .iter()
        .any(|d| d.as_deref().is_some_and(|d| !d.trim().is_empty()));
    let preset_now = match q.leads.range.as_deref().map(str::trim) {
        _ if has_days => "",
        None | Some("") => "7d",
        Some(r) => r,
    };
    let presets: String = PRESETS
        .iter()
        .map(|p| {
            let mut period = view.clone();
            period.from = None;
            period.to = None;
            period.range = Some((*p).to_owned());
            let on = *p == preset_now;
            format!(
                "<a class=\"chip{}\" data-preset=\"{p}\" href=\"{}\"{}>{}</a>",
                if on { " on" } else { "" },
                esc(&link(&period, &[])),
                if on { " aria-current=\"true\"" } else { "" },
                esc(l.t(&format!("range.{p}")))
            )
        })
        .collect();
    let toggle = |key: &str, value: &str, text: &str, on: bool| {
        format!(
            "<a class=\"chip{}\" href=\"{}\"{}>{}</a>",
            if on { " on" } else { "" },
            esc(&here(&[(key, value)])),
            if on { " aria-current=\"true\"" } else { "" },
            esc(l.t(text))
        )
    };
    // What Meta was told (`capi=`): the same filter as the Leads page's,
    // so a row's link shows the same leads there.
    let capi_now = q.leads.capi.as_deref().map(str::trim).unwrap_or("");
    let capi_chip = |value: &str, text: &str| {
        let mut period = view.clone();
        period.capi = (!value.is_empty()).then(|| value.to_owned());
        let on = value == capi_now;
        format!(
            "<a class=\"chip{}\" data-capi=\"{}\" href=\"{}\"{}>{}</a>",
            if on { " on" } else { "" },
            if value.is_empty() { "all" } else { value },
            esc(&link(&period, &[])),
            if on { " aria-current=\"true\"" } else { "" },
            esc(text)
        )
    };
    let mut capi_chips = capi_chip("", l.t("capi.all"));
    for c in CAPI_STATES {
        capi_chips.push_str(&capi_chip(c, l.t(&format!("capi.f.{c}"))));
    }
    let period_form = period_form(
        &view,
        &filter,
        &[
            ("attribution", attribution.as_str()),
            ("count_by", count_by.as_str()),
            ("order", order.as_str()),
        ],
        l,
    );
    let mut html = String::new();
    html.push_str(&format!(
        "<h2>{}</h2><p class=\"muted\" data-testid=\"ads-period\">{} – {}</p><nav class=\"toggles presets\" aria-label=\"{}\">{presets}</nav>{period_form}<div class=\"toggles\">{}{}<span class=\"sep\"></span>{}{}<a class=\"csv\" href=\"/export/ads.csv{}\" download>{}</a></div>",
        esc(l.t("ads.title")),
        esc(&l.day(&from, true)),
        esc(&l.day(&to, true)),
        esc(l.t("range")),
        toggle("attribution", "first", "ads.first", attribution == Attribution::First),
        toggle("attribution", "last", "ads.last", attribution == Attribution::Last),
        toggle("count_by", "lead_date", "ads.lead_date", count_by == CountBy::LeadDate),
        toggle("count_by", "event_date", "ads.event_date", count_by == CountBy::EventDate),
        esc(&here(&[]).trim_start_matches("/ads").to_owned()),
        esc(l.t("ads.csv")),
    ));
    html.push_str(&format!(
        "<nav class=\"toggles capi\" data-testid=\"ads-capi\" aria-label=\"{0}\"><span class=\"muted\">{0}</span>{capi_chips}</nav>",
        esc(l.t("capi")),
    ));
    if rows.is_empty() {
        html.push_str(&format!("<p class=\"empty\">{}</p>", esc(l.t("ads.empty"))));
        return Ok(html);
    }
    // Spend names no channel: with one chosen, the costs set an ad's whole
    // spend against that channel's leads; say so beside the table.
    if !filter.channels.is_empty() {
        html.push_str(&format!(
            "<p class=\"muted small\" data-testid=\"ads-channel-note\">{}</p>",
            esc(l.t("ads.channel_note"))
        ));
    }
    html.push_str("<div class=\"table-wrap\"><table class=\"ads-table\" data-testid=\"ads-table\"><thead><tr>");
    let head = |c: &str, key: &str| {
        let next = if col == c && desc {
            c.to_owned()
        } else {
            format!("-{c}")
        };
        let mark = if col == c {
            if desc { " ▼" } else { " ▲" }
        } else {
            ""
        };
        format!(
            "<th data-col=\"{c}\"{}><a href=\"{}\">{}{mark}</a></th>",
            if col == c {
                format!(
                    " aria-sort=\"{}\"",
                    if desc { "descending" } else { "ascending" }
                )
            } else {
                String::new()
            },
            esc(&here(&[("order", &next)])),
            esc(l.t(key))
        )
    };
    html.push_str(&head("source", "ads.source"));
    for (c, key) in COLUMNS.iter().take(11) {
        html.push_str(&head(c, key));
    }
    html.push_str("</tr></thead><tbody>");
    let cur = report.currency.as_str();
    let cells = |f: &AdsFigures| {
        let pct = |n: u64| {
            format!(
                "{} <span class=\"muted\">({})</span>",
                l.int(n),
                l.percent(n, f.leads)
            )
        };
        [
            money(f.spend, cur, l),
            l.int(f.leads),
            money(f.cost_per_lead, cur, l),
            pct(f.answered),
            pct(f.engaged),
            pct(f.one_message),
            f.median_first_touch_seconds
                .map(|s| l.duration(s))
                .unwrap_or_else(|| "–".into()),
            l.int(f.buyers),
            money(Some(f.revenue), cur, l),
            money(f.cost_per_buyer, cur, l),
            f.roas.map(|r| ratio(r, l)).unwrap_or_else(|| "–".into()),
        ]
        .iter()
        .map(|c| format!("<td class=\"num\">{c}</td>"))
        .collect::<String>()
    };
    for r in &rows {
        let source = match &r.source {
            None => "none".to_owned(),
            Some(s) => {
                crate::components::source_filter(&s.platform, s.id.as_deref(), s.name.as_deref())
            }
        };
        // The row's leads: those whose first source it is (by either
        // attribution: it moves only the purchases).
        let mut leads_q = base.clone();
        leads_q.source = Some(source.clone());
        html.push_str(&format!(
            "<tr data-source=\"{}\"><th scope=\"row\"><a href=\"/{}\">{}</a></th>{}</tr>",
            esc(&source),
            esc(&query_string(&leads_q, &[])),
            esc(&label(r, l)),
            cells(&r.figures)
        ));
    }
    html.push_str(&format!(
        "</tbody><tfoot><tr class=\"total\"><th scope=\"row\">{}</th>{}</tr></tfoot></table></div>",
        esc(l.t("ads.total")),
        cells(&report.total)
    ));
    Ok(html)
}

/// Chosen days, time zone and channel: a plain form that reloads the view
/// with them (`from`, `to`, `tz`, `channel`, as the API takes them), keeping
/// every other filter and the report's toggles.
fn period_form(view: &LeadsQuery, filter: &Filter, toggles: &[(&str, &str)], l: Lang) -> String {
    let mut kept = view.clone();
    kept.range = None;
    kept.from = None;
    kept.to = None;
    kept.tz = None;
    kept.channel = None;
    kept.sort = None;
    let hidden: String = kept
        .pairs()
        .into_iter()
        .filter(|(k, _)| *k != "cursor" && *k != "limit")
        .map(|(k, v)| (k, v.as_str()))
        .chain(toggles.iter().copied())
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    let tz = filter.tz.name();
    let mut zones: Vec<&str> = ZONES.to_vec();
    if !zones.contains(&tz) {
        zones.push(tz);
    }
    let zones: String = zones
        .iter()
        .map(|z| {
            format!(
                "<option value=\"{0}\"{1}>{0}</option>",
                esc(z),
                if *z == tz { " selected" } else { "" }
            )
        })
        .collect();
    let chosen = view.channel.as_deref().map(str::trim).unwrap_or("");
    let mut channels = format!(
        "<option value=\"\"{}>{}</option>",
        if chosen.is_empty() { " selected" } else { "" },
        esc(l.t("channel.all"))
    );
    let mut known = false;
    for &c in crate::model::CHANNELS {
        known |= c == chosen;
        channels.push_str(&format!(
            "<option value=\"{c}\"{}>{}</option>",
            if c == chosen { " selected" } else { "" },
            esc(&l.channel(c))
        ));
    }
    if !chosen.is_empty() && !known {
        // A list of channels from a link (`whatsapp,instagram`) stays chosen.
        channels.push_str(&format!(
            "<option value=\"{0}\" selected>{0}</option>",
            esc(chosen)
        ));
    }
    let day = |k: &str, d: &str| {
        format!(
            "<label>{}<input type=\"date\" name=\"{k}\" data-testid=\"ads-{k}\" value=\"{d}\" required></label>",
            esc(l.t(k))
        )
    };
    format!(
        "<form class=\"toggles period\" method=\"get\" action=\"/ads\" data-testid=\"ads-period-form\">{hidden}{}{}<label>{}<select name=\"tz\" data-testid=\"ads-tz\">{zones}</select></label><label>{}<select name=\"channel\" data-testid=\"ads-channel\">{channels}</select></label><button type=\"submit\" class=\"secondary\">{}</button></form>",
        day("from", &filter.from.to_string()),
        day("to", &filter.to.to_string()),
        esc(l.t("tz")),
        esc(l.t("channel")),
        esc(l.t("apply")),
    )
}

fn label(r: &AdsRow, l: Lang) -> String {
    match &r.source {
        None => l.t("ads.organic").to_owned(),
        Some(_) => crate::ssr::reports::ads::plain_label(r),
    }
}
