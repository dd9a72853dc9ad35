//! The sign-in page and the admins' settings page (users, API tokens,
//! intake counts, the Conversions API).
//! Plain HTML forms rendered on the server only: they work without the
//! browser bundle and add nothing to it.

use leptos::prelude::*;

use crate::model::Lang;
use crate::ssr::auth::Caller;

/// A whole document around `body`, with the site's stylesheet.
pub fn document(lang: Lang, title: &str, body: String) -> String {
    let head = super::view::html(move || {
        view! {
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" href="/pkg/leads-dashboard.css"/>
                <title>{format!("{title} · Leads Dashboard")}</title>
            </head>
        }
    });
    // Nothing here hydrates: drop the hydration markers.
    format!(
        "<!DOCTYPE html><html lang=\"{}\">{head}<body>{body}</body></html>",
        lang.code()
    )
    .replace("<!>", "")
}

fn topbar(lang: Lang, caller: Option<Caller>) -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Leads Dashboard"</a>
        </header>
        {top_right(lang, caller)}
    }
}

/// The language switch (links to `/lang/CODE`, which sets the cookie and
/// goes back to the page, filters and all)
/// and, when signed in, who it is, the settings link for admins and
/// sign-out. Drawn over the top bar's right end.
pub fn top_right(lang: Lang, caller: Option<Caller>) -> impl IntoView {
    view! {
        <nav class="top-right" aria-label=lang.t("lang.switch")>
            <span class="lang">
                {Lang::ALL
                    .into_iter()
                    .map(|l| {
                        view! {
                            // `external`: not the client-side router's to handle.
                            <a class="lang-link" href=format!("/lang/{}", l.code()) rel="external"
                                data-testid=format!("lang-{}", l.code())
                                aria-current=(lang == l).then_some("true")>
                                {match l { Lang::Id => "ID", Lang::En => "EN" }}
                            </a>
                        }
                    })
                    .collect_view()}
            </span>
            {caller.map(|c| {
                let admin = c.is_admin();
                view! {
                    <span class="who" data-testid="user">{c.name}</span>
                    {admin.then(|| view! { <a href="/settings" rel="external">{lang.t("settings")}</a> })}
                    <form method="post" action="/signout">
                        <button type="submit" data-testid="signout">{lang.t("signout")}</button>
                    </form>
                }
            })}
        </nav>
    }
}

pub struct SignIn<'a> {
    pub lang: Lang,
    /// Where to go after signing in (a local path).
    pub next: &'a str,
    pub name: &'a str,
    pub error: Option<String>,
    /// Said above the form (a changed password).
    pub notice: Option<String>,
    /// No user exists yet: say how to create the first.
    pub no_user: bool,
}

pub fn signin_page(p: SignIn) -> String {
    let lang = p.lang;
    let body = super::view::html(move || {
        view! {
            {topbar(lang, None)}
            <main class="account">
                <form class="card signin" method="post" action="/signin">
                    <h1>{lang.t("signin.title")}</h1>
                    {p.no_user.then(|| view! { <p class="notice" role="status">{lang.t("no_user")}</p> })}
                    {p.notice.map(|n| view! { <p class="notice" role="status" data-testid="signin-notice">{n}</p> })}
                    {p.error.map(|e| view! { <p class="error" role="alert" data-testid="signin-error">{e}</p> })}
                    <input type="hidden" name="next" value=p.next.to_owned()/>
                    <label>
                        <span>{lang.t("name")}</span>
                        <input name="name" autocomplete="username" required value=p.name.to_owned()
                            autofocus=p.name.is_empty()/>
                    </label>
                    <label>
                        <span>{lang.t("password")}</span>
                        <input name="password" type="password" autocomplete="current-password" required
                            autofocus=!p.name.is_empty()/>
                    </label>
                    <button type="submit" class="primary">{lang.t("signin")}</button>
                </form>
            </main>
        }
    });
    document(lang, lang.t("signin"), body)
}

pub struct UserLine {
    pub name: String,
    pub role: &'static str,
    pub created: String,
}

pub struct TokenLine {
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// A row's Remove or Revoke: the summary opens a second button, naming
/// what goes, that posts the form (no script needed).
fn confirm_form(
    lang: Lang,
    action: &'static str,
    name: String,
    label: &'static str,
    confirm: &'static str,
) -> impl IntoView {
    view! {
        <details class="confirm">
            <summary class="link danger">{lang.t(label)}</summary>
            <form method="post" action=action>
                <button type="submit" class="danger">{lang.t(confirm).replace("{}", &name)}</button>
                <input type="hidden" name="name" value=name/>
            </form>
        </details>
    }
}

/// A part of the settings page with forms of its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Users,
    Tokens,
}

pub struct Settings {
    pub lang: Lang,
    /// The signed-in admin.
    pub me: Caller,
    pub users: Vec<UserLine>,
    pub tokens: Vec<TokenLine>,
    /// A token just created: shown this once.
    pub new_token: Option<(String, String)>,
    pub message: Option<String>,
    pub error: Option<String>,
    /// The section whose form the error is about: shown there, with the
    /// name as typed; else at the top.
    pub error_at: Option<Section>,
    pub typed_name: Option<String>,
    pub intake: Vec<IntakeLine>,
    pub capi: CapiSection,
}

/// The Conversions API on the settings page: what is set (the token only
/// as set or not), how sending goes, and the test button's outcome.
pub struct CapiSection {
    pub dataset_id: Option<String>,
    pub token_set: bool,
    pub test_code_set: bool,
    pub last_success: Option<String>,
    /// When, and Meta's or the sender's message.
    pub last_error: Option<(String, String)>,
    pub pending: u64,
    pub sent: u64,
    pub rejected: u64,
    pub not_sendable: u64,
    pub window_passed: Option<u64>,
    /// What the test button just did: received by Meta (with the text), or
    /// why not.
    pub test: Option<Result<String, String>>,
}

/// One webhook intake's counts on the settings page.
pub struct IntakeLine {
    pub name: String,
    /// Its secret is set.
    pub configured: bool,
    pub deliveries: u64,
    pub refused: u64,
    /// `kind count, …`
    pub events: String,
    pub dropped: String,
    /// Echo app ids no setting names, with their replies.
    pub unknown_apps: Vec<(String, u64)>,
}

pub fn settings_page(p: Settings) -> String {
    let lang = p.lang;
    let me = p.me.name.clone();
    let names: Vec<String> = p.users.iter().map(|u| u.name.clone()).collect();
    let users = p
        .users
        .into_iter()
        .map(|u| {
            let removable = u.name != me;
            view! {
                <tr>
                    <td>{u.name.clone()}</td>
                    <td>{u.role}</td>
                    <td>{u.created}</td>
                    <td>
                        {removable.then(|| confirm_form(lang, "/settings/users/remove", u.name.clone(), "remove", "confirm.remove"))}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let no_tokens = p.tokens.is_empty();
    let tokens = p
        .tokens
        .into_iter()
        .map(|tk| {
            view! {
                <tr>
                    <td>{tk.name.clone()}</td>
                    <td>{tk.created}</td>
                    <td>{tk.last_used.unwrap_or_else(|| lang.t("never").to_owned())}</td>
                    <td>
                        {confirm_form(lang, "/settings/tokens/revoke", tk.name.clone(), "revoke", "confirm.revoke")}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let unknown: Vec<(String, String, u64)> = p
        .intake
        .iter()
        .flat_map(|i| {
            i.unknown_apps
                .iter()
                .map(|(a, n)| (i.name.clone(), a.clone(), *n))
        })
        .collect();
    let any_unknown = !unknown.is_empty();
    let intake = p
        .intake
        .into_iter()
        .map(|i| {
            view! {
                <tr>
                    <td>{i.name}</td>
                    <td>{lang.t(if i.configured { "yes" } else { "no" })}</td>
                    <td>{i.deliveries}</td>
                    // None of a kind yet reads 0, as the other counts.
                    <td>{if i.events.is_empty() { "0".to_owned() } else { i.events }}</td>
                    <td>{if i.dropped.is_empty() { "0".to_owned() } else { i.dropped }}</td>
                    <td>{i.refused}</td>
                </tr>
            }
        })
        .collect_view();
    let unknown = unknown
        .into_iter()
        .map(|(intake, app, n)| view! { <li>{intake}": app "<code>{app}</code>" × "{n}</li> })
        .collect_view();
    let capi = capi_section(p.capi, lang);
    let error_at = p.error_at;
    let (mut top_error, mut users_error, mut tokens_error) = (None, None, None);
    match error_at {
        Some(Section::Users) => users_error = p.error,
        Some(Section::Tokens) => tokens_error = p.error,
        None => top_error = p.error,
    }
    let typed = |section: Section| {
        (error_at == Some(section))
            .then(|| p.typed_name.clone())
            .flatten()
            .unwrap_or_default()
    };
    let (typed_user, typed_token) = (typed(Section::Users), typed(Section::Tokens));
    let form_error = |e: Option<String>| e.map(|e| view! { <p class="error" role="alert">{e}</p> });
    let body = super::view::html(move || {
        view! {
            {topbar(lang, Some(p.me))}
            <main class="account">
                <p><a href="/">{lang.t("back")}</a></p>
                <h1>{lang.t("settings")}</h1>
                {p.message.map(|m| view! { <p class="notice" role="status">{m}</p> })}
                {form_error(top_error)}
                {p.new_token.map(|(name, token)| view! {
                    <div class="card new-token" role="status">
                        <p>{lang.t("new_token")}" "<strong>{name}</strong></p>
                        <code data-testid="new-token">{token}</code>
                    </div>
                })}
                <section class="card">
                    <h2>{lang.t("users")}</h2>
                    <table class="plain">
                        <thead><tr>
                            <th>{lang.t("name")}</th><th>{lang.t("role")}</th><th>{lang.t("created")}</th><th></th>
                        </tr></thead>
                        <tbody>{users}</tbody>
                    </table>
                    {form_error(users_error)}
                    <form class="inline" method="post" action="/settings/users">
                        <label><span>{lang.t("name")}</span><input name="name" required autocomplete="off" value=typed_user/></label>
                        <label><span>{lang.t("password")}</span>
                            <input name="password" type="password" required minlength="12" autocomplete="new-password"/></label>
                        <label><span>{lang.t("role")}</span>
                            <select name="role">
                                <option value="viewer">{lang.t("role.viewer")}</option>
                                <option value="admin">{lang.t("role.admin")}</option>
                            </select>
                        </label>
                        <button type="submit" class="primary">{lang.t("add_user")}</button>
                    </form>
                    <form class="inline" method="post" action="/settings/users/password" data-testid="set-password">
                        <label><span>{lang.t("name")}</span>
                            <select name="name">
                                {names.into_iter().map(|n| {
                                    let selected = n == me;
                                    view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        <label><span>{lang.t("new_password")}</span>
                            <input name="password" type="password" required minlength="12" autocomplete="new-password"/></label>
                        <button type="submit" class="primary">{lang.t("set_password")}</button>
                    </form>
                </section>
                <section class="card">
                    <h2>{lang.t("tokens")}</h2>
                    <p class="muted">{lang.t("tokens.help")}</p>
                    {no_tokens.then(|| view! { <p class="muted">{lang.t("none")}</p> })}
                    <table class="plain">
                        <thead><tr>
                            <th>{lang.t("token.name")}</th><th>{lang.t("created")}</th><th>{lang.t("last_used")}</th><th></th>
                        </tr></thead>
                        <tbody>{tokens}</tbody>
                    </table>
                    {form_error(tokens_error)}
                    <form class="inline" method="post" action="/settings/tokens">
                        <label><span>{lang.t("token.name")}</span><input name="name" required autocomplete="off" value=typed_token/></label>
                        <button type="submit" class="primary">{lang.t("create_token")}</button>
                    </form>
                </section>
                <section class="card" data-testid="intake">
                    <h2>{lang.t("intake")}</h2>
                    <p class="muted">{lang.t("intake.help")}</p>
                    // Scrolls inside the card on a phone, the card keeps its padding.
                    <div class="table-wrap"><table class="plain">
                        <thead><tr>
                            <th>{lang.t("intake.name")}</th><th>{lang.t("intake.configured")}</th>
                            <th>{lang.t("intake.deliveries")}</th><th>{lang.t("intake.events")}</th>
                            <th>{lang.t("intake.dropped")}</th><th>{lang.t("intake.refused")}</th>
                        </tr></thead>
                        <tbody>{intake}</tbody>
                    </table></div>
                    {any_unknown.then(|| view! {
                        <p>{lang.t("intake.unknown_apps")}</p>
                        <ul>{unknown}</ul>
                        <p class="muted">{lang.t("intake.unknown_help")}</p>
                    })}
                </section>
                {capi}
            </main>
        }
    });
    document(lang, lang.t("settings"), body)
}

fn capi_section(c: CapiSection, lang: Lang) -> impl IntoView {
    let configured = c.dataset_id.is_some() && c.token_set;
    let can_test = configured && c.test_code_set;
    let test = c.test.map(|r| match r {
        Ok(text) => view! { <p class="notice" role="status" data-testid="capi-test-result">{text}</p> }.into_any(),
        Err(e) => view! {
            <p class="error" role="alert" data-testid="capi-test-result">{format!("{}: {e}", lang.t("capi.test.failed"))}</p>
        }
        .into_any(),
    });
    let never = lang.t("never").to_owned();
    view! {
        <section class="card" id="capi" data-testid="capi-settings">
            <h2>{lang.t("capi.title")}</h2>
            {(!configured).then(|| view! { <p class="muted" data-testid="capi-off">{lang.t("capi.off")}</p> })}
            {test}
            <dl class="capi-status">
                <dt>{lang.t("capi.dataset")}</dt>
                <dd data-testid="capi-dataset">{c.dataset_id.unwrap_or_else(|| "—".into())}</dd>
                <dt>{lang.t("capi.token")}</dt>
                <dd data-testid="capi-token">{lang.t(if c.token_set { "capi.token.set" } else { "capi.token.unset" })}</dd>
                <dt>{lang.t("capi.test_code")}</dt>
                <dd>{lang.t(if c.test_code_set { "capi.token.set" } else { "capi.token.unset" })}</dd>
                <dt>{lang.t("capi.last_success")}</dt>
                <dd data-testid="capi-last-success">{c.last_success.unwrap_or_else(|| never.clone())}</dd>
                <dt>{lang.t("capi.last_error")}</dt>
                <dd data-testid="capi-last-error">{match c.last_error {
                    // Meta's own message stays as Meta wrote it; the word
                    // before it is ours, in the page's language.
                    Some((at, text)) => match text.strip_prefix("rejected: ") {
                        Some(m) => format!("{at} · {}: {m}", lang.t("capi.f.rejected")),
                        None => format!("{at} · {text}"),
                    },
                    None => "—".to_owned(),
                }}</dd>
                <dt>{lang.t("capi.counts")}</dt>
                <dd data-testid="capi-counts">{format!(
                    "{} {} · {} {} · {} {}",
                    lang.int(c.sent), lang.t("capi.n.sent"),
                    lang.int(c.pending), lang.t("capi.n.pending"),
                    lang.int(c.rejected), lang.t("capi.n.rejected"),
                )}</dd>
                <dt>{lang.t("capi.leads_unsent")}</dt>
                <dd data-testid="capi-unsent">{
                    let mut s = format!("{} {}", lang.int(c.not_sendable), lang.t("capi.n.not_sendable"));
                    if let Some(n) = c.window_passed {
                        s.push_str(&format!(" · {} {}", lang.int(n), lang.t("capi.n.window_passed")));
                    }
                    s
                }</dd>
            </dl>
            <form class="inline" method="post" action="/settings/capi/test#capi">
                <button type="submit" class="primary" data-testid="capi-test" disabled=!can_test>{lang.t("capi.test")}</button>
            </form>
            <p class="muted small">{lang.t(if !configured || c.test_code_set { "capi.test.help" } else { "capi.test.no_code" })}</p>
        </section>
    }
}

/// What a viewer sees on an admin page (with status 403).
pub fn admins_only_page(lang: Lang, caller: Caller) -> String {
    let body = super::view::html(move || {
        view! {
            {topbar(lang, Some(caller))}
            <main class="account">
                <p class="error" role="alert">{lang.t("admins_only")}</p>
                <p><a href="/">{lang.t("back")}</a></p>
            </main>
        }
    });
    document(lang, lang.t("settings"), body)
}
