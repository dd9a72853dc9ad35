//! What every server-rendered document shares: where the site's files
//! are, the content security policy, and the language of the request.

use crate::model::Lang;

/// Where the page loads its WASM, JS and CSS from: `""` (the site root's
/// `/pkg/…`), or `/v/VERSION` when the binary carries its site, so that
/// browsers may keep those files for a year.
#[derive(Clone, Debug, Default)]
pub struct AssetRoot(pub String);

/// The content security policy: scripts only from this site (and, on the
/// Leptos pages, its inline scripts carrying this answer's nonce), WASM
/// compilation, no plugins, no framing, forms only to this site. Inline
/// `style` attributes stay allowed (the chart's bars use them).
pub fn csp(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(n) => format!("'self' 'wasm-unsafe-eval' 'nonce-{n}'"),
        None => "'self' 'wasm-unsafe-eval'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// The language of this request: the `lang` cookie, else the browser's
/// `Accept-Language`, else Indonesian.
pub fn request_lang(headers: &axum::http::HeaderMap) -> Lang {
    let cookie = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("lang="))
        .and_then(Lang::from_code);
    cookie
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}
