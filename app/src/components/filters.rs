//! The filter bar: date presets and custom days, time zone, channel, first
//! source, answered or not, lead quality, what Meta was told (`capi=`),
//! search, and the CSV download. Every control
//! writes the URL; the page reads only the URL.

use leptos::prelude::*;

use super::use_lang;
use crate::model::CHANNELS;
use crate::url::{NARROWING, UrlState, moved_days, query_string};

pub const PRESETS: [&str; 6] = [
    "today",
    "yesterday",
    "7d",
    "30d",
    "this_month",
    "last_month",
];

/// Lead quality choices (`quality=`; answered / awaiting is the status
/// filter, `touched=`).
const QUALITIES: [&str; 6] = [
    "engaged",
    "not_engaged",
    "one_message",
    "not_one_message",
    "buyer",
    "not_buyer",
];

/// Conversions API states (`capi=`, as the API takes them).
pub const CAPI_STATES: [&str; 4] = ["sent", "pending", "rejected", "not_sendable"];

/// Time zones offered (Indonesia's three first); the server's and the
/// URL's are added when they are not among them.
pub const ZONES: [&str; 8] = [
    "Asia/Jakarta",
    "Asia/Makassar",
    "Asia/Jayapura",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Bangkok",
    "Asia/Manila",
    "UTC",
];

#[component]
pub fn Filters(
    url: UrlState,
    /// `(from, to, tz)` the server applied, once known.
    #[prop(into)]
    applied: Signal<Option<(String, String, String)>>,
    /// The first sources of the current view (`source=` value, label), for
    /// the source picker.
    #[prop(into)]
    sources: Signal<Vec<(String, String)>>,
) -> impl IntoView {
    let lang = use_lang();
    let t = move |k: &'static str| lang.t(k);
    // A parameter as the page was first rendered.
    let first = move |k: &str| {
        url.query
            .with_untracked(|q| q.get(k))
            .filter(|v| !v.is_empty())
    };
    // The preset shown as chosen: the URL's, "7d" without any days, else custom.
    let active = move || match (url.get("range"), url.get("from"), url.get("to")) {
        (_, Some(_), _) | (_, _, Some(_)) => "custom".to_owned(),
        (Some(r), None, None) if PRESETS.contains(&r.as_str()) => r,
        _ => "7d".to_owned(),
    };
    let day = move |k: &'static str| {
        move || {
            url.get(k).unwrap_or_else(|| {
                applied
                    .get()
                    .map(|(f, t, _)| if k == "from" { f } else { t })
                    .unwrap_or_default()
            })
        }
    };
    let tz_now = move || {
        url.get("tz")
            .or_else(|| applied.get().map(|(_, _, tz)| tz))
            .unwrap_or_else(|| ZONES[0].to_owned())
    };
    let zones = move || {
        let mut z: Vec<String> = ZONES.iter().map(|s| (*s).to_owned()).collect();
        let now = tz_now();
        if !z.contains(&now) {
            z.insert(0, now);
        }
        z
    };
    // Typing searches after a pause, replacing the history entry.
    let typed = RwSignal::new(0u64);
    let on_search = move |value: String| {
        let ticket = typed.get_untracked() + 1;
        typed.set(ticket);
        set_timeout(
            move || {
                if typed.get_untracked() == ticket {
                    url.set(&[("q", Some(value))], true);
                }
            },
            std::time::Duration::from_millis(300),
        );
    };
    // Changing a day makes the range custom: both days go into the URL.
    let set_day = move |k: &'static str, value: String| {
        if let Some((from, to)) = moved_days(k, value, day("from")(), day("to")()) {
            url.set(
                &[("range", None), ("from", Some(from)), ("to", Some(to))],
                false,
            );
        }
    };
    let csv_href = move || {
        let q = url.leads_query();
        format!(
            "/export/leads.csv{}",
            query_string(&q, &[("lang", lang.code())])
        )
    };
    let has_filters = move || NARROWING.iter().any(|k| url.get(k).is_some());
    view! {
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <fieldset class="presets">
                <legend>{t("range")}</legend>
                {PRESETS
                    .into_iter()
                    .map(|p| {
                        view! {
                            <button type="button" data-preset=p
                                aria-pressed=move || (active() == p).to_string()
                                on:click=move |_| url.set(
                                    &[("range", Some(p.to_owned())), ("from", None), ("to", None)],
                                    false,
                                )>
                                {lang.t(&format!("range.{p}"))}
                            </button>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="row">
                // The applied days come from the server (presets, defaults in
                // the chosen zone): read inside a Transition.
                <label>
                    {t("from")}
                    <Transition fallback=move || view! { <input type="date" name="from" disabled=true/> }>
                        <input type="date" name="from" data-testid="from" prop:value=day("from")
                            on:change=move |ev| set_day("from", event_target_value(&ev))/>
                    </Transition>
                </label>
                <label>
                    {t("to")}
                    <Transition fallback=move || view! { <input type="date" name="to" disabled=true/> }>
                        <input type="date" name="to" data-testid="to" prop:value=day("to")
                            on:change=move |ev| set_day("to", event_target_value(&ev))/>
                    </Transition>
                </label>
                <label>
                    {t("tz")}
                    <select name="tz" data-testid="tz"
                        on:change=move |ev| url.set(&[("tz", Some(event_target_value(&ev)))], false)>
                        <Transition>
                            {move || {
                                let now = tz_now();
                                zones()
                                    .into_iter()
                                    .map(|z| {
                                        let selected = z == now;
                                        view! { <option value=z.clone() selected=selected>{z.clone()}</option> }
                                    })
                                    .collect_view()
                            }}
                        </Transition>
                    </select>
                </label>
                <label>
                    {t("channel")}
                    <select name="channel" data-testid="channel"
                        prop:value=move || url.get("channel").unwrap_or_default()
                        on:change=move |ev| url.set(&[("channel", Some(event_target_value(&ev)))], false)>
                        // `selected` for the first render; `prop:value` above follows the URL.
                        <option value="" selected=first("channel").is_none()>{t("channel.all")}</option>
                        {CHANNELS
                            .iter()
                            .map(|c| view! {
                                <option value=*c selected=first("channel").as_deref() == Some(*c)>{lang.channel(c)}</option>
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    {t("source")}
                    <select name="source" data-testid="source"
                        prop:value=move || url.get("source").unwrap_or_default()
                        on:change=move |ev| url.set(&[("source", Some(event_target_value(&ev)))], false)>
                        <option value="" selected=first("source").is_none()>{t("source.all")}</option>
                        <Transition>
                        {move || {
                            let chosen = url.get("source");
                            let mut seen: Vec<String> = Vec::new();
                            let mut options: Vec<(String, String)> = Vec::new();
                            for (value, label) in sources.get() {
                                if !seen.contains(&value) {
                                    seen.push(value.clone());
                                    options.push((value, label));
                                }
                            }
                            if let Some(c) = chosen.clone().filter(|c| !seen.contains(c)) {
                                options.push((c.clone(), c));
                            }
                            options
                                .into_iter()
                                .map(|(value, label)| {
                                    let selected = chosen.as_deref() == Some(value.as_str());
                                    view! { <option value=value selected=selected>{label}</option> }
                                })
                                .collect_view()
                        }}
                        </Transition>
                    </select>
                </label>
                // Set by a row of the Ads view by last source: shown, and removable.
                <Show when=move || url.get("last_source").is_some()>
                    <span class="filter-chip" data-testid="last-source">
                        {t("last_source")} ": "
                        <Transition>
                        {move || {
                            let v = url.get("last_source").unwrap_or_default();
                            sources
                                .get()
                                .into_iter()
                                .find(|(value, _)| *value == v)
                                .map_or(v, |(_, label)| label)
                        }}
                        </Transition>
                        <button type="button" class="secondary" data-testid="last-source-remove"
                            aria-label=t("last_source.remove")
                            on:click=move |_| url.set(&[("last_source", None)], false)>
                            "×"
                        </button>
                    </span>
                </Show>
                <label>
                    {t("status")}
                    <select name="touched" data-testid="touched"
                        prop:value=move || url.get("touched").unwrap_or_default()
                        on:change=move |ev| url.set(&[("touched", Some(event_target_value(&ev)))], false)>
                        <option value="" selected=first("touched").is_none()>{t("status.all")}</option>
                        <option value="yes" selected=first("touched").as_deref() == Some("yes")>{t("status.yes")}</option>
                        <option value="no" selected=first("touched").as_deref() == Some("no")>{t("status.no")}</option>
                    </select>
                </label>
                <label>
                    {t("quality")}
                    <select name="quality" data-testid="quality"
                        prop:value=move || url.get("quality").unwrap_or_default()
                        on:change=move |ev| url.set(&[("quality", Some(event_target_value(&ev)))], false)>
                        <option value="" selected=first("quality").is_none()>{t("quality.all")}</option>
                        {QUALITIES
                            .iter()
                            .map(|q| view! {
                                <option value=*q selected=first("quality").as_deref() == Some(*q)>
                                    {lang.t(&format!("quality.{q}"))}
                                </option>
                            })
                            .collect_view()}
                        // A link's other value (`answered`, two conditions) is shown as it is.
                        {first("quality")
                            .filter(|v| !QUALITIES.contains(&v.as_str()))
                            .map(|v| view! { <option value=v.clone() selected=true>{v.clone()}</option> })}
                    </select>
                </label>
                <label>
                    {t("capi")}
                    <select name="capi" data-testid="capi"
                        prop:value=move || url.get("capi").unwrap_or_default()
                        on:change=move |ev| url.set(&[("capi", Some(event_target_value(&ev)))], false)>
                        <option value="" selected=first("capi").is_none()>{t("capi.all")}</option>
                        {CAPI_STATES
                            .iter()
                            .map(|c| view! {
                                <option value=*c selected=first("capi").as_deref() == Some(*c)>
                                    {lang.t(&format!("capi.f.{c}"))}
                                </option>
                            })
                            .collect_view()}
                    </select>
                </label>
                <label class="search">
                    {t("search")}
                    <input type="search" name="q" data-testid="search"
                        placeholder=t("search.placeholder")
                        prop:value=move || url.get("q").unwrap_or_default()
                        on:input=move |ev| on_search(event_target_value(&ev))/>
                </label>
            </div>
            <div class="actions">
                <Show when=has_filters>
                    <button type="button" class="secondary" data-testid="reset"
                        on:click=move |_| url.set(&NARROWING.iter().map(|k| (*k, None)).collect::<Vec<_>>(), false)>
                        {t("reset")}
                    </button>
                </Show>
                <a class="button" data-testid="export" href=csv_href download="leads.csv" rel="external">{t("export")}</a>
            </div>
        </form>
    }
}
