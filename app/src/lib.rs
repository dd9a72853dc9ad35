//! Leads Dashboard: the Leptos app (pages, components, server functions) and,
//! behind the `ssr` feature, everything that runs only on the server.

pub mod api;
pub mod components;
pub mod error;
pub mod i18n;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod url;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

use crate::model::Lang;
use crate::pages::leads::LeadsPage;

/// The HTML document around the app, rendered on the server. Its `lang`
/// tells the browser bundle which language the server rendered.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = initial_lang();
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The language of the first render: on the server from the request (the
/// `lang` cookie, else `Accept-Language`, else Indonesian); in the browser
/// the one the server wrote into `<html lang>`.
fn initial_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>()
            .map(|p| crate::ssr::view::request_lang(&p.headers))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|l| Lang::from_code(&l))
            .unwrap_or_default()
    }
}

/// Switches the language for this page and remembers it for a year.
fn set_lang(signal: RwSignal<Lang>, lang: Lang) {
    signal.set(lang);
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let doc = document();
        if let Some(root) = doc.document_element() {
            let _ = root.set_attribute("lang", lang.code());
        }
        if let Ok(html) = doc.dyn_into::<web_sys::HtmlDocument>() {
            let _ = html.set_cookie(&format!(
                "lang={}; path=/; max-age=31536000; SameSite=Lax",
                lang.code()
            ));
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang = RwSignal::new(initial_lang());
    provide_context(lang);
    // Effects run only in the browser: this marks the page as hydrated, for
    // people debugging and for the browser tests.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/leads-dashboard.css"/>
        <Title text=move || format!("{} · Leads Dashboard", lang.get().t("title"))/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Leads Dashboard"</a>
                <div class="lang" role="group" aria-label=move || lang.get().t("lang.switch")>
                    {Lang::ALL
                        .into_iter()
                        .map(|l| {
                            view! {
                                <button type="button" data-testid=format!("lang-{}", l.code())
                                    aria-pressed=move || (lang.get() == l).to_string()
                                    on:click=move |_| set_lang(lang, l)>
                                    {l.code().to_uppercase()}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
            </header>
            <main>
                <Routes fallback=move || view! { <p class="empty">{move || lang.get().t("notfound")}</p> }>
                    <Route path=StaticSegment("") view=LeadsPage/>
                    <Route path=StaticSegment("leads") view=LeadsPage/>
                </Routes>
            </main>
        </Router>
    }
}
