//! Sign-in, sign-out and the admins' settings page (users, API tokens, the
//! Conversions API and its test event): plain HTML forms, each handler one
//! call to a service.

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use app::model::Lang;
use app::ssr::auth::{
    AuthError, Caller, ChosenBy, Role, SECURE_SESSION_COOKIE, SESSION_COOKIE, SESSION_MAX_AGE,
    normalize_name,
};
use app::ssr::state::AppState;
use app::ssr::web::account::{
    self, Section, SignIn, TokenLine, UserLine, admins_only_page, settings_page, signin_page,
};
use app::ssr::web::shell::request_lang;

use super::access::{Peer, SignedIn, session_value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", get(signin_form).post(signin))
        .route("/lang/{code}", get(set_lang))
        .route("/signout", post(signout))
        .route("/settings", get(settings))
        .route("/settings/users", post(add_user))
        .route("/settings/users/remove", post(remove_user))
        .route("/settings/users/password", post(set_password))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/revoke", post(revoke_token))
        .route("/settings/capi/test", post(capi_test))
}

#[derive(Deserialize, Default)]
struct PageQuery {
    next: Option<String>,
    /// Set after an admin changed their own password (which ended their
    /// sessions): say so instead of "sign in to continue".
    changed: Option<String>,
}

/// `/lang/CODE`: remembers the language for a year and goes back to the
/// page the link was on (its `Referer`, when it is this site's).
async fn set_lang(
    axum::extract::Path(code): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| {
            let host = headers.get(header::HOST)?.to_str().ok()?;
            let rest = r.split_once("://")?.1.strip_prefix(host)?;
            rest.starts_with('/').then(|| rest.to_owned())
        });
    let mut res = Redirect::to(&local_path(back.as_deref())).into_response();
    if let Some(l) = Lang::from_code(&code) {
        if let Ok(c) = HeaderValue::from_str(&format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            l.code()
        )) {
            res.headers_mut().insert(header::SET_COOKIE, c);
        }
    }
    res
}

/// Only a path on this site is a place to go back to (never `//other.site`).
fn local_path(next: Option<&str>) -> String {
    match next {
        // Printable ASCII only: browsers drop tabs and newlines, which would
        // turn `/\t/evil.example` into `//evil.example`.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn no_user(state: &AppState) -> bool {
    state.auth.user_count().await.is_ok_and(|n| n == 0)
}

async fn signin_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let lang = request_lang(&headers);
    let next = local_path(q.next.as_deref());
    if let Some(c) = session_value(&headers) {
        if let Ok(Some(_)) = state.auth.session(c).await {
            return Redirect::to(&next).into_response();
        }
    }
    let page = signin_page(SignIn {
        lang,
        next: &next,
        name: "",
        error: (next != "/" && q.changed.is_none()).then(|| lang.t("expired").to_owned()),
        notice: q
            .changed
            .is_some()
            .then(|| lang.t("password.changed").to_owned()),
        no_user: no_user(&state).await,
    });
    html(StatusCode::OK, page)
}

#[derive(Deserialize)]
struct SignInForm {
    name: String,
    password: String,
    next: Option<String>,
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    // Over HTTPS the `__Host-` name (Secure, Path=/, no Domain: required).
    let (name, flag) = if secure {
        (SECURE_SESSION_COOKIE, "; Secure")
    } else {
        (SESSION_COOKIE, "")
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{flag}"
    ))
    .ok()
}

/// `Secure` when configured, or when a trusted proxy (`proxied`) says the
/// browser used HTTPS.
pub fn secure(state: &AppState, headers: &HeaderMap, proxied: bool) -> bool {
    state.settings.secure_cookies
        || proxied
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

async fn signin(
    State(state): State<AppState>,
    Peer(addr): Peer,
    super::access::Proxied(proxied): super::access::Proxied,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let lang = request_lang(&headers);
    let next = local_path(f.next.as_deref());
    match state.auth.sign_in(&f.name, &f.password, addr).await {
        Ok((value, caller)) => {
            // No name in the log: a user name may be an e-mail address.
            tracing::info!(role = caller.role.as_str(), "signed in");
            let mut res = Redirect::to(&next).into_response();
            if let Some(c) =
                session_cookie(&value, SESSION_MAX_AGE, secure(&state, &headers, proxied))
            {
                res.headers_mut().insert(header::SET_COOKIE, c);
            }
            res
        }
        Err(e) => {
            // Failed sign-ins leave a trace (by address; no name: it may be
            // an e-mail address), so that guessing can be seen and alerted on.
            let client = addr.map(|a| a.to_string()).unwrap_or_default();
            let (status, text, wait) = match e {
                AuthError::Throttled(s) => {
                    tracing::warn!(%client, wait_seconds = s, "sign-in refused: too many wrong passwords");
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        lang.t("throttled").replace("{}", &s.to_string()),
                        Some(s),
                    )
                }
                AuthError::Store(e) => {
                    tracing::error!("sign-in failed: {e}");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        lang.t("failed").to_owned(),
                        None,
                    )
                }
                _ => {
                    tracing::warn!(%client, "sign-in refused: wrong name or password");
                    (StatusCode::UNAUTHORIZED, lang.t("wrong").to_owned(), None)
                }
            };
            let page = signin_page(SignIn {
                lang,
                next: &next,
                name: &f.name,
                error: Some(text),
                notice: None,
                no_user: no_user(&state).await,
            });
            let mut res = html(status, page);
            if let Some(s) = wait.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
                res.headers_mut().insert(header::RETRY_AFTER, s);
            }
            res
        }
    }
}

async fn signout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(c) = session_value(&headers) {
        if let Err(e) = state.auth.sign_out(c).await {
            tracing::error!("sign-out failed: {e}");
        }
    }
    let mut res = Redirect::to("/signin").into_response();
    // Both names cleared: one may be left from before HTTPS was set up.
    for c in [session_cookie("", 0, false), session_cookie("", 0, true)]
        .into_iter()
        .flatten()
    {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// What one settings action did, shown above the page.
#[derive(Default)]
struct Outcome {
    message: Option<String>,
    error: Option<String>,
    new_token: Option<(String, String)>,
    /// Which form the error is about, and the name typed into it.
    error_at: Option<Section>,
    typed_name: Option<String>,
    /// The Conversions API test event: Meta's receipt, or why not.
    capi_test: Option<Result<String, String>>,
}

fn outcome(lang: Lang, r: Result<(), AuthError>) -> Outcome {
    match r {
        Ok(()) => Outcome {
            message: Some(lang.t("done").to_owned()),
            ..Outcome::default()
        },
        Err(AuthError::Store(e)) => {
            tracing::error!("settings change failed: {e}");
            Outcome {
                error: Some(lang.t("failed").to_owned()),
                ..Outcome::default()
            }
        }
        Err(e) => Outcome {
            error: Some(auth_message(lang, &e)),
            ..Outcome::default()
        },
    }
}

impl Outcome {
    /// An error of a form in `section`, shown there, with the name typed
    /// into its text field kept (`None` for the forms that have none).
    fn at(mut self, section: Section, typed: Option<String>) -> Outcome {
        if self.error.is_some() {
            self.error_at = Some(section);
            self.typed_name = typed;
        }
        self
    }
}

/// What a settings form's refusal says, in the page's language.
fn auth_message(lang: Lang, e: &AuthError) -> String {
    let key = match e {
        AuthError::InvalidName => "auth.invalid_name",
        AuthError::WeakPassword => "auth.weak_password",
        AuthError::BadPassword => "auth.bad_password",
        AuthError::Taken => "auth.taken",
        AuthError::Unknown => "auth.unknown",
        AuthError::LastAdmin => "auth.last_admin",
        AuthError::BadRole => "auth.bad_role",
        // Not a settings form's (sign-in has its own page), or a failure.
        AuthError::Wrong | AuthError::Throttled(_) | AuthError::Store(_) => "failed",
    };
    lang.t(key).to_owned()
}

/// The settings page (for an admin), with what the last action did.
async fn render_settings(
    state: &AppState,
    me: Caller,
    headers: &HeaderMap,
    out: Outcome,
) -> Response {
    let lang = request_lang(headers);
    let tz = state.settings.tz;
    let when = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let (users, tokens) = match (state.auth.users().await, state.auth.tokens().await) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("settings page failed: {e}");
            return html(
                StatusCode::SERVICE_UNAVAILABLE,
                admins_only_page(lang, me).replace(lang.t("admins_only"), lang.t("failed")),
            );
        }
    };
    let capi = capi_section(state, lang, &when, out.capi_test).await;
    let page = settings_page(account::Settings {
        lang,
        me,
        users: users
            .into_iter()
            .map(|u| UserLine {
                name: u.name,
                role: u.role.as_str(),
                created: when(u.created),
            })
            .collect(),
        tokens: tokens
            .into_iter()
            .map(|t| TokenLine {
                name: t.name,
                created: when(t.created),
                last_used: t.last_used.map(when),
            })
            .collect(),
        new_token: out.new_token,
        message: out.message,
        error: out.error,
        error_at: out.error_at,
        typed_name: out.typed_name,
        intake: intake_lines(state),
        capi,
    });
    html(StatusCode::OK, page)
}

/// Meta's messages are shown as they are, but never with the token in them
/// (a message that echoed the request would).
fn without_token(state: &AppState, text: String) -> String {
    match state.settings.meta_capi_token.as_deref() {
        Some(t) if !t.is_empty() => text.replace(t, "…"),
        _ => text,
    }
}

/// The Conversions API section: the settings (the token as set or not) and
/// the outbox's counts, last success and last error.
async fn capi_section(
    state: &AppState,
    lang: Lang,
    when: &(dyn Fn(i64) -> String + Sync),
    test: Option<Result<String, String>>,
) -> account::CapiSection {
    let status = match super::capi::status(state).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("conversions API status failed: {e}");
            app::model::CapiStatus {
                last_error: Some(lang.t("failed").to_owned()),
                ..Default::default()
            }
        }
    };
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| when(t.timestamp()));
    account::CapiSection {
        dataset_id: state.settings.meta_dataset_id.clone(),
        token_set: status.token_set,
        test_code_set: status.test_event_code_set,
        last_success: at(status.last_success),
        last_error: status.last_error.map(|e| {
            (
                at(status.last_error_at).unwrap_or_default(),
                without_token(state, e),
            )
        }),
        pending: status.pending,
        sent: status.sent,
        rejected: status.rejected,
        not_sendable: status.not_sendable,
        window_passed: status.window_passed,
        test: test.map(|r| r.map_err(|e| without_token(state, e))),
    }
}

/// "Send a test event": one `LeadSubmitted` with the test event code, and
/// the settings page with what Meta answered.
async fn capi_test(
    State(state): State<AppState>,
    Admin(me): Admin,
    headers: HeaderMap,
) -> Response {
    let lang = request_lang(&headers);
    let result = if state.settings.meta_test_event_code.is_none() {
        Err(lang.t("capi.test.no_code").to_owned())
    } else {
        match crate::capi::CapiSender::new(state.leads.clone(), &state.settings) {
            None => Err(lang.t("capi.off").to_owned()),
            Some(sender) => match sender.send_test().await {
                crate::capi::TestOutcome::Sent { events_received } => Ok(lang
                    .t("capi.test.sent")
                    .replace("{}", &events_received.unwrap_or(0).to_string())),
                crate::capi::TestOutcome::Failed(why) => Err(why),
            },
        }
    };
    let out = Outcome {
        capi_test: Some(result),
        ..Outcome::default()
    };
    render_settings(&state, me, &headers, out).await
}

/// Each webhook intake's counts, as the settings page lists them.
fn intake_lines(state: &AppState) -> Vec<account::IntakeLine> {
    let counts = state.intake.snapshot();
    let list = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    app::ssr::intake::CHANNELS
        .iter()
        .map(|c| {
            let t = counts.get(c.name).cloned().unwrap_or_default();
            account::IntakeLine {
                name: c.name.to_owned(),
                configured: (c.secret)(&state.settings).is_some(),
                deliveries: t.deliveries,
                refused: t.refused,
                events: list(&t.events),
                dropped: list(&t.dropped),
                unknown_apps: t.unknown_echo_apps.into_iter().collect(),
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct SettingsQuery {
    done: Option<String>,
}

async fn settings(
    State(state): State<AppState>,
    Admin(me): Admin,
    headers: HeaderMap,
    Query(q): Query<SettingsQuery>,
) -> Response {
    let out = match q.done {
        Some(_) => outcome(request_lang(&headers), Ok(())),
        None => Outcome::default(),
    };
    render_settings(&state, me, &headers, out).await
}

/// A settings form's answer: done goes back to the page by a redirect (a
/// reload then does not post the form again), a refusal is shown at once.
/// (Creating a token and the test event render their answer themselves:
/// what they show is shown once.)
async fn answer(state: &AppState, me: Caller, headers: &HeaderMap, out: Outcome) -> Response {
    if out.error.is_none() {
        return Redirect::to("/settings?done=1").into_response();
    }
    render_settings(state, me, headers, out).await
}

#[derive(Deserialize)]
struct UserForm {
    name: String,
    password: String,
    role: String,
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

/// An admin, for the settings page and its forms: anyone else is refused
/// (`403`) before the request's form is read.
struct Admin(Caller);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(me) = SignedIn::from_request_parts(parts, state).await?;
        if me.is_admin() {
            Ok(Admin(me))
        } else {
            Err(html(
                StatusCode::FORBIDDEN,
                admins_only_page(request_lang(&parts.headers), me),
            ))
        }
    }
}

async fn add_user(
    State(state): State<AppState>,
    Admin(me): Admin,
    headers: HeaderMap,
    Form(f): Form<UserForm>,
) -> Response {
    let r = match Role::parse(&f.role) {
        Some(role) => {
            state
                .auth
                .add_user(&f.name, role, &f.password, ChosenBy::Dashboard)
                .await
        }
        None => Err(AuthError::BadRole),
    };
    let out = outcome(request_lang(&headers), r).at(Section::Users, Some(f.name));
    answer(&state, me, &headers, out).await
}

#[derive(Deserialize)]
struct PasswordForm {
    name: String,
    password: String,
}

/// An admin sets a user's password (their own included); the user's
/// sessions end, so an admin changing their own signs in again.
async fn set_password(
    State(state): State<AppState>,
    Admin(me): Admin,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    let r = state
        .auth
        .set_password(&f.name, &f.password, ChosenBy::Dashboard)
        .await;
    // Their own: every session of theirs ended, this one too.
    let own = r.is_ok() && normalize_name(&f.name).is_ok_and(|n| n == me.name);
    if own {
        return Redirect::to("/signin?changed=1").into_response();
    }
    let out = outcome(request_lang(&headers), r).at(Section::Users, None);
    answer(&state, me, &headers, out).await
}

async fn remove_user(
    State(state): State<AppState>,
    Admin(me): Admin,
    headers: HeaderMap,
    Form(f): Form<NameForm>,
) -> Response {
    let r = state.auth.remove_user(&f.name).await;
    let out = outcome(request_lang(&headers), r).at(Section::Users, None);
    answer(&state, me, &headers, out).await
}

async fn create_token(
    State(state): State<AppState>,
    Admin(me): Admin,
    headers: HeaderMap,
    Form(f): Form<NameForm>,
) -> Response {
    let out = match state.auth.create_token(&f.name).await {
        Ok(token) => Outcome {
            new_token: Some((f.name.trim().to_lowercase(), token)),
            ..Outcome::default()
        },
        Err(e) => outcome(request_lang(&headers), Err(e)).at(Section::Tokens, Some(f.name)),
    };
    render_settings(&state, me, &headers, out).await
}

async fn revoke_token(
    State(state): State<AppState>,
    Admin(me): Admin,
    headers: HeaderMap,
    Form(f): Form<NameForm>,
) -> Response {
    let r = state.auth.revoke_token(&f.name).await;
    let out = outcome(request_lang(&headers), r).at(Section::Tokens, None);
    answer(&state, me, &headers, out).await
}
