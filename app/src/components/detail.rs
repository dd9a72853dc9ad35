//! The lead detail panel: opened by the `lead` URL parameter, so it has its
//! own link; Escape or Close shuts it. Its body (the contact, its sources,
//! its sessions and events) is HTML from the server (`detail_body`).

use leptos::either::Either;
use leptos::prelude::*;

use super::use_lang;
use crate::model::LeadPanel;

#[component]
pub fn DetailPanel(
    panel: Option<LeadPanel>,
    /// Shows the window of events before the given page (`None`: the latest).
    on_window: Callback<Option<u64>>,
    on_close: Callback<()>,
) -> impl IntoView {
    let l = use_lang();
    let body = match panel {
        None => Either::Left(
            view! { <p class="empty" data-testid="detail-missing">{l.t("detail.missing")}</p> },
        ),
        Some(p) => {
            // A long history is read window by window, latest first.
            let windowed = p.older.is_some() || p.shown < p.total;
            let note = windowed.then(|| {
                view! {
                    <p class="muted small window" data-testid="detail-window">
                        {format!("{} {} {} {}", l.t("detail.window"), l.int(p.shown), l.t("shown_of"), l.int(p.total))}
                        " "
                        {p.older.map(|o| view! {
                            <button type="button" class="link" data-testid="detail-older"
                                on:click=move |_| on_window.run(Some(o))>{l.t("detail.older")}</button>
                        })}
                        " "
                        <button type="button" class="link" data-testid="detail-latest"
                            on:click=move |_| on_window.run(None)>{l.t("detail.latest")}</button>
                    </p>
                }
            });
            Either::Right(view! { {note} <div class="detail-body" inner_html=p.html></div> })
        }
    };
    // Escape closes from anywhere on the page; focus moves into the panel
    // when it opens, so keyboard users land on it.
    let listener = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            on_close.run(());
        }
    });
    on_cleanup(move || listener.remove());
    let close_button = NodeRef::<leptos::html::Button>::new();
    let panel = NodeRef::<leptos::html::Aside>::new();
    // A modal dialog keeps the focus: Tab past its last control comes back
    // to Close instead of wandering behind the backdrop.
    let trap = window_event_listener(leptos::ev::focusin, move |ev| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let target = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::Node>().ok());
            if let (Some(p), Some(t)) = (panel.get_untracked(), target) {
                if !p.contains(Some(&t)) {
                    if let Some(b) = close_button.get_untracked() {
                        // After this event: focusing here would fire focusin
                        // again inside this very handler, which a Rust
                        // closure called from JS must not be.
                        request_animation_frame(move || {
                            let _ = b.focus();
                        });
                    }
                }
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    });
    on_cleanup(move || trap.remove());
    Effect::new(move |_| {
        if let Some(b) = close_button.get() {
            let _ = b.focus();
        }
    });
    view! {
        <div class="backdrop" on:click=move |_| on_close.run(())></div>
        <aside class="detail" role="dialog" aria-modal="true" aria-labelledby="detail-title"
            data-testid="detail" node_ref=panel>
            <header>
                <h2 id="detail-title">{l.t("detail.title")}</h2>
                <button type="button" class="close" data-testid="detail-close" node_ref=close_button
                    on:click=move |_| on_close.run(())>
                    {l.t("detail.close")}
                </button>
            </header>
            {body}
        </aside>
    }
}
