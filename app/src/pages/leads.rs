//! The Leads page: filters in the URL, the table from a server function.
//! Changing a filter navigates within the app (no page load) and the table
//! reloads through `load_leads`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::load_leads;
use crate::components::lead_table::LeadTable;
use crate::model::{LeadRow, LeadsQuery};

/// Rows fetched with "Load more", kept only for the query they belong to.
#[derive(Clone, Default)]
struct More {
    query: LeadsQuery,
    rows: Vec<LeadRow>,
    next: Option<String>,
}

#[component]
pub fn LeadsPage() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        let q = query_map.read();
        LeadsQuery {
            from: q.get("from"),
            to: q.get("to"),
            tz: q.get("tz"),
            q: q.get("q"),
            cursor: None,
            limit: None,
        }
    });
    let page = Resource::new(move || query.get(), load_leads);
    let more = RwSignal::new(None::<More>);
    let loading_more = RwSignal::new(false);

    // Writes one URL parameter, keeping the others; the router then
    // re-renders and the resource reloads.
    let navigate = use_navigate();
    let set_param = move |key: &'static str, value: String| {
        let mut params = query_map.get_untracked();
        if value.trim().is_empty() {
            params.remove(key);
        } else {
            params.insert(key, value.trim().to_owned());
        }
        navigate(
            &format!("/{}", params.to_query_string()),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };

    // The search box waits for a pause in typing before it searches.
    let typed = RwSignal::new(0u64);
    let set_search = {
        let set_param = set_param.clone();
        move |value: String| {
            let ticket = typed.get_untracked() + 1;
            typed.set(ticket);
            let set_param = set_param.clone();
            set_timeout(
                move || {
                    if typed.get_untracked() == ticket {
                        set_param("q", value);
                    }
                },
                std::time::Duration::from_millis(300),
            );
        }
    };

    let applied = move || page.get().and_then(Result::ok);
    let from_value = move || {
        query
            .get()
            .from
            .or_else(|| applied().map(|v| v.from))
            .unwrap_or_default()
    };
    let to_value = move || {
        query
            .get()
            .to
            .or_else(|| applied().map(|v| v.to))
            .unwrap_or_default()
    };

    let load_more = move |_| {
        let q = query.get_untracked();
        let cursor = match more.get_untracked() {
            Some(m) if m.query == q => m.next,
            _ => applied().and_then(|v| v.next_cursor),
        };
        let Some(cursor) = cursor else { return };
        loading_more.set(true);
        spawn_local(async move {
            let result = load_leads(LeadsQuery {
                cursor: Some(cursor),
                ..q.clone()
            })
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

    let set_from = set_param.clone();
    let set_to = set_param.clone();
    view! {
        <section class="leads-page">
            <div class="page-head">
                <h1>"Leads"</h1>
                <p class="subtitle">"New customers who started a chat, by the day of their first message."</p>
            </div>
            <form class="filters" on:submit=|ev| ev.prevent_default()>
                <label>
                    "From"
                    <input type="date" name="from" data-testid="from"
                        prop:value=from_value
                        on:change=move |ev| set_from("from", event_target_value(&ev))/>
                </label>
                <label>
                    "To"
                    <input type="date" name="to" data-testid="to"
                        prop:value=to_value
                        on:change=move |ev| set_to("to", event_target_value(&ev))/>
                </label>
                <label class="search">
                    "Search"
                    <input type="search" name="q" data-testid="search"
                        placeholder="Name, e-mail or phone (0812…)"
                        prop:value=move || query.get().q.unwrap_or_default()
                        on:input=move |ev| set_search(event_target_value(&ev))/>
                </label>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading leads…"</p> }>
                {move || page.get().map(|result| match result {
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
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
                        view! {
                            <p class="summary" data-testid="summary">
                                <strong>{total}</strong>
                                {if total == 1 { " lead" } else { " leads" }}
                                {format!(" · {} to {} · times in {}", view.from, view.to, view.tz)}
                            </p>
                            {if rows.is_empty() {
                                view! { <p class="empty" data-testid="empty">"No new leads in this period."</p> }.into_any()
                            } else {
                                view! { <LeadTable rows/> }.into_any()
                            }}
                            {next.map(|_| view! {
                                <button class="more" data-testid="more" on:click=load_more
                                    disabled=move || loading_more.get()>
                                    {format!("Load more ({shown} of {total} shown)")}
                                </button>
                            })}
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
