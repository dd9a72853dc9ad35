//! The Leads page: filters, KPI cards, chart, breakdown by source, the
//! table with keyset paging, the lead detail panel and live updates. All
//! state is in the URL; data comes from three server functions.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{load_dashboard, load_lead, load_leads};
use crate::components::chart::{Breakdown, ChartView};
use crate::components::detail::DetailPanel;
use crate::components::filters::Filters;
use crate::components::kpis::Kpis;
use crate::components::lead_table::LeadTable;
use crate::components::use_lang;
use crate::error::AppError;
use crate::model::{Lang, LeadRow, LeadsQuery};
use crate::url::UrlState;

/// Rows fetched with "Load more", kept only for the query they belong to.
#[derive(Clone, Default)]
struct More {
    query: LeadsQuery,
    rows: Vec<LeadRow>,
    next: Option<String>,
}

/// A readable error: the parameter's problem, or a fixed message.
fn error_text(e: &AppError, l: Lang) -> String {
    match e {
        AppError::InvalidParam { .. } => format!("{}: {e}", l.t("error.param")),
        _ => l.t("error").to_owned(),
    }
}

#[component]
fn ErrorBox(message: String, on_retry: Callback<()>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <div class="error" role="alert">
            <p>{message}</p>
            <button type="button" on:click=move |_| on_retry.run(())>{move || lang.get().t("retry")}</button>
        </div>
    }
}

#[component]
fn TableSkeleton() -> impl IntoView {
    view! {
        <div class="skeleton" aria-busy="true">
            {(0..8).map(|_| view! { <div class="skeleton-row"></div> }).collect_view()}
        </div>
    }
}

#[component]
fn DashSkeleton() -> impl IntoView {
    view! {
        <div class="dash-skeleton" aria-busy="true">
            <section class="kpis">{(0..4).map(|_| view! { <div class="kpi skeleton-block"></div> }).collect_view()}</section>
            <div class="skeleton-block chart-placeholder"></div>
        </div>
    }
}

#[component]
pub fn LeadsPage() -> impl IntoView {
    let lang = use_lang();
    let url = UrlState::new();
    let query = Memo::new(move |_| url.leads_query());
    let page = Resource::new(move || (query.get(), lang.get()), |(q, l)| load_leads(q, l));
    let dash = Resource::new(move || query.get(), load_dashboard);
    let lead_id = Memo::new(move |_| url.get("lead"));
    let detail = Resource::new(
        move || (lead_id.get(), query.get().tz, lang.get()),
        |(id, tz, l)| async move {
            match id {
                Some(id) => load_lead(id, tz, l).await,
                None => Ok(None),
            }
        },
    );
    let more = RwSignal::new(None::<More>);
    let loading_more = RwSignal::new(false);
    // Live: new leads not yet in the table, and whether the stream is up.
    let pending = RwSignal::new(0usize);
    let connected = RwSignal::new(false);

    let applied = Signal::derive(move || {
        page.get()
            .and_then(Result::ok)
            .map(|v| (v.from, v.to, v.tz))
    });
    let sources = Signal::derive(move || {
        dash.get()
            .and_then(Result::ok)
            .map(|d| d.summary.by_source)
            .unwrap_or_default()
    });

    let load_more = move |_| {
        let q = query.get_untracked();
        let cursor = match more.get_untracked() {
            Some(m) if m.query == q => m.next,
            _ => page
                .get_untracked()
                .and_then(Result::ok)
                .and_then(|v| v.next_cursor),
        };
        let Some(cursor) = cursor else { return };
        loading_more.set(true);
        let l = lang.get_untracked();
        spawn_local(async move {
            let result = load_leads(
                LeadsQuery {
                    cursor: Some(cursor),
                    ..q.clone()
                },
                l,
            )
            .await;
            if let Ok(view) = result {
                more.update(|m| {
                    let current = m.take().filter(|m| m.query == q);
                    let mut rows = current.map(|m| m.rows).unwrap_or_default();
                    rows.extend(view.rows);
                    *m = Some(More {
                        query: q,
                        rows,
                        next: view.next_cursor,
                    });
                });
            }
            loading_more.set(false);
        });
    };

    // Shows what arrived: back to the first page, reloaded.
    let show_new = move || {
        pending.set(0);
        more.set(None);
        page.refetch();
        dash.refetch();
    };
    // A commit changed leads: the cards and chart follow at once; the table
    // reloads by itself only where new leads would appear at the top of
    // what the user is looking at, else a banner offers them.
    let on_live = move |new: usize| {
        dash.refetch();
        let q = query.get_untracked();
        let at_top = more.get_untracked().is_none()
            && q.sort.as_deref().is_none_or(|s| s == "-date")
            && q.q.is_none()
            && q.channel.is_none()
            && q.source.is_none()
            && q.touched.is_none();
        if at_top {
            page.refetch();
        } else if new > 0 {
            pending.update(|p| *p += new);
        }
    };
    live_updates(on_live, connected);

    let on_sort =
        Callback::new(move |s: String| url.set(&[("sort", (s != "-date").then_some(s))], false));
    let on_open = Callback::new(move |id: String| url.set(&[("lead", Some(id))], false));
    let on_close = Callback::new(move |_| url.set(&[("lead", None)], false));
    let on_pick = Callback::new(move |s: String| url.set(&[("source", Some(s))], false));

    view! {
        <section class="leads-page">
            <div class="page-head">
                <div>
                    <h1>{move || lang.get().t("title")}</h1>
                    <p class="subtitle">{move || lang.get().t("subtitle")}</p>
                </div>
                <span class=move || if connected.get() { "live on" } else { "live" } data-testid="live">
                    {move || if connected.get() { lang.get().t("live.on") } else { lang.get().t("live.off") }}
                </span>
            </div>
            <Filters url applied sources/>
            <Transition fallback=|| view! { <DashSkeleton/> }>
                {move || {
                    let l = lang.get();
                    dash.get().map(|result| match result {
                        Err(e) => view! {
                            <ErrorBox message=error_text(&e, l) on_retry=Callback::new(move |_| dash.refetch())/>
                        }.into_any(),
                        Ok(d) => view! {
                            <Kpis summary=d.summary.clone()/>
                            <div class="charts">
                                <ChartView chart=d.chart/>
                                <Breakdown sources=d.summary.by_source on_pick/>
                            </div>
                        }.into_any(),
                    })
                }}
            </Transition>
            <Show when=move || { pending.get() > 0 }>
                <div class="banner" role="status" data-testid="live-banner">
                    {move || {
                        let l = lang.get();
                        let n = pending.get();
                        let word = if n == 1 { l.t("live.new_one") } else { l.t("live.new_many") };
                        format!("{} {word}", l.int(n as u64))
                    }}
                    <button type="button" on:click=move |_| show_new()>{move || lang.get().t("live.show")}</button>
                </div>
            </Show>
            <Transition fallback=|| view! { <TableSkeleton/> }>
                {move || {
                    let l = lang.get();
                    page.get().map(|result| match result {
                        Err(e) => view! {
                            <ErrorBox message=error_text(&e, l) on_retry=Callback::new(move |_| page.refetch())/>
                        }.into_any(),
                        Ok(view) => {
                            let extra = more.get().filter(|m| m.query == query.get());
                            let next = match &extra {
                                Some(m) => m.next.clone(),
                                None => view.next_cursor.clone(),
                            };
                            let mut rows = view.rows;
                            rows.extend(extra.map(|m| m.rows).unwrap_or_default());
                            let shown = rows.len();
                            let total = view.total;
                            let sort = query.get().sort.unwrap_or_else(|| "-date".into());
                            let word = if total == 1 { l.t("lead") } else { l.t("leads") };
                            view! {
                                <p class="summary" data-testid="summary">
                                    <strong>{l.int(total)}</strong>
                                    {format!(" {word} · {} – {} · {} {}",
                                        l.day(&view.from, true), l.day(&view.to, true), l.t("times_in"), view.tz)}
                                </p>
                                {if rows.is_empty() {
                                    empty_state(view.any_leads, l).into_any()
                                } else {
                                    view! { <LeadTable rows sort on_sort on_open/> }.into_any()
                                }}
                                {next.map(|_| view! {
                                    <button class="more" data-testid="more" on:click=load_more
                                        disabled=move || loading_more.get()>
                                        {format!("{} ({} {} {} {})", l.t("more"), l.int(shown as u64),
                                            l.t("shown_of"), l.int(total), l.t("shown"))}
                                    </button>
                                })}
                            }.into_any()
                        }
                    })
                }}
            </Transition>
            <Suspense>
                {move || {
                    let l = lang.get();
                    lead_id.get()?;
                    detail.get().map(|result| match result {
                        Err(e) => view! {
                            <div class="backdrop" on:click=move |_| on_close.run(())></div>
                            <aside class="detail" role="dialog" aria-modal="true" data-testid="detail">
                                <ErrorBox message=error_text(&e, l) on_retry=Callback::new(move |_| detail.refetch())/>
                            </aside>
                        }.into_any(),
                        Ok(v) => view! { <DetailPanel view_data=v on_close/> }.into_any(),
                    })
                }}
            </Suspense>
        </section>
    }
}

/// No leads: with none at all, how to send the first events; else a hint
/// that the filters hide them.
fn empty_state(any_leads: bool, l: Lang) -> impl IntoView {
    if any_leads {
        view! { <p class="empty" data-testid="empty">{l.t("empty.filtered")}</p> }.into_any()
    } else {
        let curl = r#"curl -X POST http://127.0.0.1:3000/api/v1/events \
  -H "Authorization: Bearer $LEADS_API_TOKEN" -H "Content-Type: application/json" \
  -d '{"id":"msg-1","occurred_at":"2026-11-27T09:15:00+07:00","channel":"whatsapp",
       "direction":"inbound","contact":{"phone":"0812-3456-7890","name":"Budi"}}'"#;
        view! {
            <div class="empty" data-testid="empty">
                <p><strong>{l.t("empty.none")}</strong></p>
                <p>{l.t("empty.how")}</p>
                <pre><code>{curl}</code></pre>
            </div>
        }
        .into_any()
    }
}

/// Listens to `/srv/live` (server-sent events; the browser reconnects by
/// itself) and calls `on_change(new leads)` at most once a second.
fn live_updates(on_change: impl Fn(usize) + Clone + 'static, connected: RwSignal<bool>) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        use std::cell::Cell;
        use std::rc::Rc;

        let Ok(source) = web_sys::EventSource::new("/srv/live") else {
            return;
        };
        let new = Rc::new(Cell::new(0usize));
        let scheduled = Rc::new(Cell::new(false));
        let on_message =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let n = ev
                    .data()
                    .as_string()
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                    .and_then(|v| v.get("new").and_then(serde_json::Value::as_u64))
                    .unwrap_or(0);
                new.set(new.get() + n as usize);
                if !scheduled.replace(true) {
                    let (new, scheduled, f) = (new.clone(), scheduled.clone(), on_change.clone());
                    set_timeout(
                        move || {
                            scheduled.set(false);
                            f(new.replace(0));
                        },
                        std::time::Duration::from_millis(1000),
                    );
                }
            });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_open = Closure::<dyn Fn()>::new(move || connected.set(true));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let on_error = Closure::<dyn Fn()>::new(move || connected.set(false));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // The closures live as long as the page's listener.
        let keep = send_wrapper::SendWrapper::new((source, on_message, on_open, on_error));
        on_cleanup(move || {
            let (source, ..) = &*keep;
            source.close();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (on_change, connected);
    }
}
