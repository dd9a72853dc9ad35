//! Leads Dashboard: the Leptos app (pages, components, server functions) and,
//! behind the `ssr` feature, everything that runs only on the server.

// Leptos views are deeply nested types; release builds (without
// `erase_components`) need more than the default 128 levels.
#![recursion_limit = "256"]

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
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{A, Route, Router, Routes},
};

use crate::model::Lang;
use crate::pages::leads::LeadsPage;

/// The HTML document around the app, rendered on the server. Its `lang`
/// tells the browser bundle which language the server rendered.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = initial_lang();
    let root = asset_root();
    // The content security policy names this answer's nonce, which Leptos
    // puts on its own inline scripts.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(v) = axum::http::HeaderValue::from_str(&ssr::web::shell::csp(Some(&nonce))) {
            res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="leptos" href=format!("{root}/pkg/leads-dashboard.css")/>
                <HydrationScripts options root=root/>
                <MetaTags/>
            </head>
            <body>
                <App/>
                {top_right()}
            </body>
        </html>
    }
}

/// The language switch and who is signed in, at the top bar's right: plain
/// links and a form rendered on the server, outside the hydrated app, so
/// the browser bundle carries none of it (switching language reloads).
fn top_right() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        let caller = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<ssr::auth::Caller>().cloned());
        ssr::web::account::top_right(initial_lang(), caller)
    }
    #[cfg(not(feature = "ssr"))]
    {}
}

/// The prefix of the site's files (see `ssr::web::shell::AssetRoot`).
fn asset_root() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<ssr::web::shell::AssetRoot>()
            .map(|r| r.0)
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

/// The language of the first render: on the server from the request (the
/// `lang` cookie, else `Accept-Language`, else Indonesian); in the browser
/// the one the server wrote into `<html lang>`.
fn initial_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>()
            .map(|p| crate::ssr::web::shell::request_lang(&p.headers))
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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang = initial_lang();
    provide_context(lang);
    // Effects run only in the browser: this marks the page as hydrated, for
    // people debugging and for the browser tests.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title text=format!("{} · Leads Dashboard", lang.t("title"))/>
        <Router>
            // For keyboard and screen reader users: past the tabs and the
            // filters' header at once. `rel=external` leaves the jump to the
            // browser (which also moves the focus), not the router.
            <a class="skip" href="#main" rel="external">{lang.t("skip")}</a>
            <header class="topbar">
                <a class="brand" href="/">"Leads Dashboard"</a>
                <nav class="tabs">
                    // `A` marks the view you are on (aria-current="page").
                    <A href="/" exact=true>{lang.t("nav.leads")}</A>
                    <A href="/ads">{lang.t("nav.ads")}</A>
                </nav>
            </header>
            <main id="main" tabindex="-1">
                <Routes fallback=move || view! { <p class="empty">{lang.t("notfound")}</p> }>
                    <Route path=StaticSegment("") view=LeadsPage/>
                    <Route path=StaticSegment("leads") view=LeadsPage/>
                    <Route path=StaticSegment("ads") view=pages::ads::AdsPage/>
                </Routes>
            </main>
        </Router>
    }
}
