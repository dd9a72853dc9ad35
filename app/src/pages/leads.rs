//! The Leads page: filters, KPI cards, chart, breakdown by source, the
//! table with keyset paging, the lead detail panel and live updates. All
//! state is in the URL; data comes from three server functions.

use leptos::either::Either;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{load_dashboard, load_lead, load_leads};
use crate::components::detail::DetailPanel;
use crate::components::filters::Filters;
use crate::components::use_lang;
use crate::error::AppError;
use crate::model::{Lang, LeadsQuery};
use crate::url::UrlState;

/// Rows fetched with "Load more", kept only for the query they belong to.
#[derive(Clone, Default)]
struct More {
    query: LeadsQuery,
    /// Each further page's rows (HTML), in order.
    pages: Vec<String>,
    rows: usize,
    next: Option<String>,
}

/// A readable error: the parameter's problem, or a fixed message.
fn error_text(e: &AppError, l: Lang) -> String {
    match e {
        AppError::InvalidParam { .. } => format!("{}: {e}", l.t("error.param")),
        AppError::Unauthorized => {
            // The sign-in ended: reloading leads to sign-in, and back here.
            #[cfg(feature = "hydrate")]
            let _ = window().location().reload();
            l.t("error").to_owned()
        }
        _ => l.t("error").to_owned(),
    }
}

#[component]
fn ErrorBox(message: String, on_retry: Callback<()>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <div class="error" role="alert">
            <p>{message}</p>
            <button type="button" on:click=move |_| on_retry.run(())>{lang.t("retry")}</button>
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
    let l = use_lang();
    let url = UrlState::new();
    let query = Memo::new(move |_| url.leads_query());
    // The language is fixed for the page's life (switching reloads it).
    let page = Resource::new(move || query.get(), move |q| load_leads(q, l));
    let dash = Resource::new(move || query.get(), move |q| load_dashboard(q, l));
    let lead_id = Memo::new(move |_| url.get("lead"));
    let events_before =
        Memo::new(move |_| url.get("events_before").and_then(|v| v.parse::<u64>().ok()));
    let detail = Resource::new(
        move || (lead_id.get(), query.get().tz, events_before.get()),
        move |(id, tz, before)| async move {
            match id {
                Some(id) => load_lead(id, tz, before, l).await,
                None => Ok(None),
            }
        },
    );
    let more = RwSignal::new(None::<More>);
    let loading_more = RwSignal::new(false);
    // Live: new leads not yet in the table, and whether the stream is up.
    let pending = RwSignal::new(0usize);
    // `None` until the stream first opens or fails.
    let connected = RwSignal::new(None::<bool>);

    let applied = Signal::derive(move || {
        page.get()
            .and_then(Result::ok)
            .map(|v| (v.from, v.to, v.tz))
    });
    let sources = Signal::derive(move || {
        dash.get()
            .and_then(Result::ok)
            .map(|d| d.sources)
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
                    let mut current = m.take().filter(|m| m.query == q).unwrap_or(More {
                        query: q,
                        ..Default::default()
                    });
                    current.pages.push(view.rows_html);
                    current.rows += view.rows;
                    current.next = view.next_cursor;
                    *m = Some(current);
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

    // Rows come as HTML: a click or Enter on one opens its lead.
    let open_row = move |target: Option<leptos::web_sys::EventTarget>| {
        if let Some(id) = lead_of(target) {
            url.set(&[("lead", Some(id))], false);
        }
    };
    // Closing gives the focus back to the lead's row, so a keyboard user
    // goes on from where they were.
    let on_close = Callback::new(move |_| {
        let open = lead_id.get_untracked();
        url.set(&[("lead", None), ("events_before", None)], false);
        focus_row(open);
    });
    let on_window = Callback::new(move |before: Option<u64>| {
        url.set(&[("events_before", before.map(|b| b.to_string()))], false)
    });

    view! {
        <section class="leads-page">
            <div class="page-head">
                <div>
                    <h1>{l.t("title")}</h1>
                    <p class="subtitle">{l.t("subtitle")}</p>
                </div>
                <span class=move || if connected.get() == Some(true) { "live on" } else { "live" } data-testid="live">
                    {move || match connected.get() {
                        Some(false) => l.t("live.off"),
                        _ => l.t("live.on"),
                    }}
                </span>
            </div>
            <Filters url applied sources/>
            <Transition fallback=|| view! { <DashSkeleton/> }>
                {move || {
                    dash.get().map(|result| match result {
                        Err(e) => Either::Left(view! {
                            <ErrorBox message=error_text(&e, l) on_retry=Callback::new(move |_| dash.refetch())/>
                        }),
                        // Rendered on the server; the chart's caption follows the
                        // pointer and the focus through these two listeners.
                        Ok(d) => Either::Right(view! {
                            <div class="dash" inner_html=d.html
                                on:click=move |ev| breakdown_click(ev, url)
                                on:mouseover=move |ev| chart_caption(ev.target(), false)
                                on:focusin=move |ev| chart_caption(ev.target(), false)
                                on:mouseout=move |ev| chart_caption(ev.target(), true)
                                on:focusout=move |ev| chart_caption(ev.target(), true)></div>
                        }),
                    })
                }}
            </Transition>
            <Show when=move || { pending.get() > 0 }>
                <div class="banner" role="status" data-testid="live-banner">
                    {move || {
                        let n = pending.get();
                        let word = if n == 1 { l.t("live.new_one") } else { l.t("live.new_many") };
                        format!("{} {word}", l.int(n as u64))
                    }}
                    <button type="button" on:click=move |_| show_new()>{l.t("live.show")}</button>
                </div>
            </Show>
            <Transition fallback=|| view! { <TableSkeleton/> }>
                {move || {
                    page.get().map(|result| match result {
                        Err(e) => Either::Left(view! {
                            <ErrorBox message=error_text(&e, l) on_retry=Callback::new(move |_| page.refetch())/>
                        }),
                        Ok(view) => Either::Right({
                            let extra = more.get().filter(|m| m.query == query.get());
                            let next = match &extra {
                                Some(m) => m.next.clone(),
                                None => view.next_cursor.clone(),
                            };
                            let (more_pages, more_rows) = extra
                                .map(|m| (m.pages, m.rows))
                                .unwrap_or_default();
                            let shown = view.rows + more_rows;
                            let total = view.total;
                            let word = if total == 1 { l.t("lead") } else { l.t("leads") };
                            view! {
                                <p class="summary" data-testid="summary">
                                    <strong>{l.int(total)}</strong>
                                    {format!(" {word} · {} – {} · {} {}",
                                        l.day(&view.from, true), l.day(&view.to, true), l.t("times_in"), view.tz)}
                                </p>
                                {if shown == 0 {
                                    let narrowed = crate::url::NARROWING
                                        .iter()
                                        .any(|k| url.get(k).is_some());
                                    Either::Left(empty_state(view.any_leads, narrowed, l))
                                } else {
                                    Either::Right(
                                    view! {
                                        <div class="table-wrap">
                                            <table class="leads" data-testid="leads-table"
                                                on:click=move |ev| open_row(ev.target())
                                                on:keydown=move |ev| if ev.key() == "Enter" { open_row(ev.target()) }>
                                                <thead inner_html=view.head_html></thead>
                                                <tbody inner_html=view.rows_html></tbody>
                                                {more_pages
                                                    .into_iter()
                                                    .map(|h| view! { <tbody inner_html=h></tbody> })
                                                    .collect_view()}
                                            </table>
                                        </div>
                                    })
                                }}
                                {next.map(|_| view! {
                                    <button class="more" data-testid="more" on:click=load_more
                                        disabled=move || loading_more.get()>
                                        {format!("{} ({} {} {} {})", l.t("more"), l.int(shown as u64),
                                            l.t("shown_of"), l.int(total), l.t("shown"))}
                                    </button>
                                })}
                            }
                        }),
                    })
                }}
            </Transition>
            <Suspense>
                {move || {
                    lead_id.get()?;
                    detail.get().map(|result| match result {
                        Err(e) => Either::Left(view! {
                            <div class="backdrop" on:click=move |_| on_close.run(())></div>
                            <aside class="detail" role="dialog" aria-modal="true" data-testid="detail">
                                <ErrorBox message=error_text(&e, l) on_retry=Callback::new(move |_| detail.refetch())/>
                            </aside>
                        }),
                        Ok(panel) => Either::Right(view! { <DetailPanel panel on_window on_close/> }),
                    })
                }}
            </Suspense>
        </section>
    }
}

/// A source of the "By first source" card narrows the current view: its
/// link was written when the card was fetched, and a filter changed since
/// (the card comes a moment after the table) would be lost by following it.
fn breakdown_click(ev: leptos::ev::MouseEvent, url: UrlState) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        // A click meant for a new tab or window keeps the link's own way.
        if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() || ev.button() != 0 {
            return;
        }
        let source = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            .and_then(|e| {
                e.closest("[data-testid=breakdown] a[data-source]")
                    .ok()
                    .flatten()
            })
            .and_then(|a| a.get_attribute("data-source"));
        if let Some(v) = source {
            ev.prevent_default();
            url.set(&[("source", Some(v))], false);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, url);
}

/// No leads: with none at all, how to send the first events; else a hint
/// that the filters hide them, or that the period has none.
fn empty_state(any_leads: bool, narrowed: bool, l: Lang) -> impl IntoView {
    if any_leads {
        let text = if narrowed {
            "empty.filtered"
        } else {
            "empty.period"
        };
        Either::Left(view! { <p class="empty" data-testid="empty">{l.t(text)}</p> })
    } else {
        let curl = r#"curl -X POST http://127.0.0.1:3000/api/v1/events \
  -H "Authorization: Bearer $LEADS_API_TOKEN" -H "Content-Type: application/json" \
  -d '{"id":"msg-1","occurred_at":"2026-11-27T09:15:00+07:00","channel":"whatsapp",
       "direction":"inbound","contact":{"phone":"0812-3456-7890","name":"Budi"}}'"#;
        Either::Right(view! {
            <div class="empty" data-testid="empty">
                <p><strong>{l.t("empty.none")}</strong></p>
                <p>{l.t("empty.how")}</p>
                <pre><code>{curl}</code></pre>
            </div>
        })
    }
}

/// Focuses the row of lead `id`, if it is on the page, once the panel has
/// gone (its focus trap with it).
fn focus_row(id: Option<String>) {
    #[cfg(feature = "hydrate")]
    if let Some(id) = id {
        set_timeout(
            move || focus_row_now(&id),
            std::time::Duration::from_millis(30),
        );
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

#[cfg(feature = "hydrate")]
fn focus_row_now(id: &str) {
    use leptos::wasm_bindgen::JsCast;
    // A quoted attribute value: only `\` and `"` need escaping.
    let quoted = id.replace('\\', "\\\\").replace('"', "\\\"");
    let row = document()
        .query_selector(&format!("tr[data-lead=\"{quoted}\"]"))
        .ok()
        .flatten()
        .and_then(|r| r.dyn_into::<leptos::web_sys::HtmlElement>().ok());
    // Only where the focus fell with the closed panel (the page's body):
    // a row or control the user focused in the meantime keeps it.
    let doc = document();
    let moved_on = doc
        .active_element()
        .is_some_and(|a| doc.body().is_none_or(|b| !b.is_same_node(Some(&a))));
    if let Some(row) = row.filter(|_| !moved_on) {
        let _ = row.focus();
    }
}

/// The lead id of the table row an event happened in.
fn lead_of(target: Option<leptos::web_sys::EventTarget>) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let el = target?.dyn_into::<leptos::web_sys::Element>().ok()?;
        el.closest("tr[data-lead]")
            .ok()??
            .get_attribute("data-lead")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = target;
        None
    }
}

/// Shows the numbers of the chart's day under the pointer or focus (its
/// `aria-label`) in the caption line; `reset` puts the hint back.
fn chart_caption(target: Option<leptos::web_sys::EventTarget>, reset: bool) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let Some(el) = target.and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok()) else {
            return;
        };
        let Ok(Some(day)) = el.closest("g.day") else {
            return;
        };
        let Ok(Some(caption)) = document().query_selector("[data-testid=chart-caption]") else {
            return;
        };
        let text = if reset {
            caption.get_attribute("data-hint")
        } else {
            day.get_attribute("aria-label")
        };
        caption.set_text_content(text.as_deref());
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (target, reset);
    }
}

/// Listens to `/srv/live` (server-sent events; the browser reconnects by
/// itself) and calls `on_change(new leads)` at most once a second.
fn live_updates(on_change: impl Fn(usize) + Clone + 'static, connected: RwSignal<Option<bool>>) {
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
                // `{"new":N,"changed":M}`: N read without a JSON parser.
                let n = ev
                    .data()
                    .as_string()
                    .and_then(|d| {
                        let rest = d.split("\"new\":").nth(1)?;
                        rest.trim_start()
                            .split(|c: char| !c.is_ascii_digit())
                            .next()?
                            .parse::<u64>()
                            .ok()
                    })
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
        let on_open = Closure::<dyn Fn()>::new(move || connected.set(Some(true)));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let on_error = Closure::<dyn Fn()>::new(move || connected.set(Some(false)));
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
