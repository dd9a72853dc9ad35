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
    let (user, admin) = initial_user();
    // The content security policy names this answer's nonce, which Leptos
    // puts on its own inline scripts.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(v) = axum::http::HeaderValue::from_str(&ssr::view::csp(Some(&nonce))) {
            res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang=lang.code() data-user=user data-admin=admin.then_some("true")>
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

/// Who is signed in (name, admin?): on the server from the session the
/// request carries; in the browser from what the server wrote on `<html>`.
fn initial_user() -> (Option<String>, bool) {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<ssr::auth::Caller>().cloned())
            .map_or((None, false), |c| {
                let admin = c.is_admin();
                (Some(c.name), admin)
            })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let html = document().document_element();
        let attr = |name| html.as_ref().and_then(|e| e.get_attribute(name));
        (attr("data-user"), attr("data-admin").is_some())
    }
}

/// Remembers the language for a year and reloads the page in it: the server
/// renders every text in the new language (the page keeps no code to
/// re-render its texts, which keeps the browser bundle small).
fn set_lang(lang: Lang) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Ok(html) = document().dyn_into::<web_sys::HtmlDocument>() {
            let _ = html.set_cookie(&format!(
                "lang={}; path=/; max-age=31536000; SameSite=Lax",
                lang.code()
            ));
        }
        let _ = window().location().reload();
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = lang;
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang = initial_lang();
    let (user, admin) = initial_user();
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
        <Title text=format!("{} · Leads Dashboard", lang.t("title"))/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Leads Dashboard"</a>
                <div class="lang" role="group" aria-label=lang.t("lang.switch")>
                    {Lang::ALL
                        .into_iter()
                        .map(|l| {
                            view! {
                                <button type="button" data-testid=format!("lang-{}", l.code())
                                    aria-pressed=(lang == l).to_string()
                                    on:click=move |_| set_lang(l)>
                                    {match l { Lang::Id => "ID", Lang::En => "EN" }}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
                {user.map(|name| view! {
                    <div class="account-links">
                        <span class="who" data-testid="user">{name}</span>
                        {admin.then(|| view! { <a href="/settings">{lang.t("settings")}</a> })}
                        <form method="post" action="/signout">
                            <button type="submit" data-testid="signout">{lang.t("signout")}</button>
                        </form>
                    </div>
                })}
            </header>
            <main>
                <Routes fallback=move || view! { <p class="empty">{lang.t("notfound")}</p> }>
                    <Route path=StaticSegment("") view=LeadsPage/>
                    <Route path=StaticSegment("leads") view=LeadsPage/>
                </Routes>
            </main>
        </Router>
    }
}
