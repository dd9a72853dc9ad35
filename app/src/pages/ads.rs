//! The Ads view (`shared/spec/outcomes.md`): one row per source with spend,
//! leads and what became of them. The table is rendered on the server (its
//! links, sorting and toggles are plain links), the state is in the URL
//! like the Leads page's.

use leptos::prelude::*;

use crate::api::load_ads;
use crate::components::use_lang;
use crate::model::AdsQuery;
use crate::url::UrlState;

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
    view! {
        <section class="ads" data-testid="ads">
            <Suspense fallback=move || view! { <div class="skeleton" aria-busy="true"></div> }>
                {move || report.get().map(|r| match r {
                    Ok(html) => view! { <div inner_html=html></div> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", l.t("error"))}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
