//! The browser bundle: hydrates the server-rendered page.

// Leptos views are deeply nested types; release builds (without
// `erase_components`) need more than the default 128 levels.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
