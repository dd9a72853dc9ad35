//! The Ads view (`shared/spec/outcomes.md`): one row per source with spend,
//! leads and what became of them. The table is rendered on the server (its
//! links, sorting and toggles are plain links), the state is in the URL
//! like the Leads page's.

use leptos::prelude::*;

use crate::api::load_ads;
use crate::components::use_lang;
use crate::model::AdsQuery;
use crate::url::{UrlState, moved_days};

#[component]
pub fn AdsPage() -> impl IntoView {
    let l = use_lang();
    let url = UrlState::new();
    let query = Memo::new(move |_| AdsQuery {
        leads: url.leads_query(),
        attribution: url.get("attribution"),
        count_by: url.get("count_by"),
        order: url.get("order"),
    });
    let report = Resource::new(move || query.get(), move |q| load_ads(q, l));
    // The period form is the server's (it works without WASM, with its
    // Apply button); once hydrated, a changed day, zone or channel applies
    // at once, as on the Leads page. A Transition keeps the table shown
    // while the next one loads.
    view! {
        <section class="ads" data-testid="ads" on:change=move |ev| period_change(ev, url)>
            <Transition fallback=move || view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || report.get().map(|r| match r {
                    Ok(html) => view! { <div inner_html=html></div> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", l.t("error"))}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// A change inside the period form, into the URL (the report follows it).
fn period_change(ev: leptos::ev::Event, url: UrlState) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::{Element, HtmlInputElement};
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Some(form) = target
            .closest("[data-testid=ads-period-form]")
            .ok()
            .flatten()
        else {
            return;
        };
        let value = event_target_value(&ev);
        let input = |name: &str| {
            form.query_selector(&format!("input[name={name}]"))
                .ok()
                .flatten()
                .map(|e| e.unchecked_into::<HtmlInputElement>().value())
                .unwrap_or_default()
        };
        match target.get_attribute("name").as_deref() {
            Some(end @ ("from" | "to")) => {
                if let Some((from, to)) = moved_days(end, value, input("from"), input("to")) {
                    url.set_at(
                        "/ads",
                        &[("range", None), ("from", Some(from)), ("to", Some(to))],
                        false,
                    );
                }
            }
            Some(k @ ("tz" | "channel")) => url.set_at("/ads", &[(k, Some(value))], false),
            _ => {}
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, url, moved_days);
}
