//! Who may do what: users with roles, sign-in sessions and API tokens. The
//! one `Auth` service in `AppState`; handlers and the command line call it,
//! never the tables behind it.

pub(crate) mod password;
pub(crate) mod throttle;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::ssr::domain::secret::{hex, same_secret};
use crate::ssr::store::accounts::{self, SessionRow, TokenRow, UserRow};
use crate::ssr::store::db::Db;
use throttle::{FREE_PER_ACCOUNT, FREE_PER_ACCOUNT_ANYWHERE, FREE_PER_ADDRESS, Throttle};

/// The cookie that carries a sign-in session.
pub const SESSION_COOKIE: &str = "leads_session";
/// The same over HTTPS: the `__Host-` prefix makes browsers keep it only
/// from this exact host, over HTTPS, for the whole site (no subdomain or
/// plain-HTTP page can set or overwrite it).
pub const SECURE_SESSION_COOKIE: &str = "__Host-leads_session";
/// A session ends this long after it began, however active.
pub const SESSION_MAX_AGE: i64 = 30 * 86_400;
/// How often a session's or token's last use is written (not on every request).
const TOUCH_EVERY: i64 = 60;

/// A "last used" time is bookkeeping: when writing it fails — typically
/// because a concurrent request of the same session or token wrote it a
/// moment ago (a write conflict) — the request goes on. (It answered 503
/// under load before.)
fn touched(result: Result<(), AppError>) {
    if let Err(e) = result {
        tracing::debug!("last-use time not written: {e}");
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Users, tokens, settings; and everything a viewer does.
    Admin,
    /// Reads leads and exports them.
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

/// A signed-in person, as the request extensions carry them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("a name is 1–64 letters, digits, '.', '_', '-' or '@'")]
    InvalidName,
    #[error("a password needs at least 12 characters (and at most 1024)")]
    WeakPassword,
    #[error("a password is 1–1024 characters")]
    BadPassword,
    #[error("that name is taken")]
    Taken,
    #[error("no such name")]
    Unknown,
    #[error("a role is admin or viewer")]
    BadRole,
    #[error("the last admin cannot be removed")]
    LastAdmin,
    /// Wrong name or password: the same answer for both.
    #[error("wrong name or password")]
    Wrong,
    /// Too many wrong passwords: try again after this many seconds.
    #[error("too many attempts; try again in {0} s")]
    Throttled(i64),
    #[error(transparent)]
    Store(#[from] AppError),
}

pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub created: i64,
}

pub use accounts::TokenRow as TokenInfo;

#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    /// Inactivity after which a session ends, in seconds.
    idle: i64,
    /// `LEADS_API_TOKEN`, accepted as an API token.
    env_token: Option<String>,
    throttle: Mutex<Throttle>,
    /// Counts the times sessions were ended here (sign-out, a changed
    /// password, a removed user): open live streams check theirs again.
    ended: tokio::sync::watch::Sender<u64>,
}

/// The throttle's key for what `addr` tried, of a `kind` (`a`: passwords,
/// `t`: API tokens).
fn address_key(kind: &str, addr: Option<IpAddr>) -> String {
    format!(
        "{kind}:{}",
        addr.map_or_else(|| "-".to_owned(), crate::ssr::domain::net::throttle_key)
    )
}

/// Milliseconds since 1970 (the sign-in throttle's clock).
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Lower-cased and checked: names compare case-insensitively.
pub fn normalize_name(name: &str) -> Result<String, AuthError> {
    let n = name.trim().to_lowercase();
    let ok = !n.is_empty()
        && n.chars().count() <= 64
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(n)
    } else {
        Err(AuthError::InvalidName)
    }
}

/// The shortest password a user can choose in the dashboard: 12
/// characters. (Shorter ones from the operator, and API tokens, are
/// warned about.)
pub const MIN_PASSWORD: usize = 12;

/// Who chose a password. The operator (`LEADS_ADMIN_PASSWORD`, `user add`,
/// `user passwd`) may choose any, as the spec's settings promise, and is
/// warned when it is short; a user in the dashboard needs [`MIN_PASSWORD`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChosenBy {
    Operator,
    Dashboard,
}

fn check_password(p: &str, by: ChosenBy) -> Result<(), AuthError> {
    let n = p.chars().count();
    match by {
        ChosenBy::Dashboard if !(MIN_PASSWORD..=1024).contains(&n) => Err(AuthError::WeakPassword),
        ChosenBy::Operator if !(1..=1024).contains(&n) => Err(AuthError::BadPassword),
        _ => {
            if n < MIN_PASSWORD {
                tracing::warn!(
                    "a password of fewer than {MIN_PASSWORD} characters was set; throttling slows guessing it, a longer one stops it"
                );
            }
            Ok(())
        }
    }
}

/// A new random secret (256 bits), URL-safe.
fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

impl Auth {
    pub fn new(db: Db, idle: chrono::Duration, env_token: Option<String>) -> Auth {
        Auth {
            inner: Arc::new(Inner {
                db,
                idle: idle.num_seconds().max(60),
                env_token,
                throttle: Mutex::new(Throttle::default()),
                ended: tokio::sync::watch::channel(0).0,
            }),
        }
    }

    fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The throttle (a panic elsewhere while holding it leaves valid data).
    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.inner
            .throttle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// First run: with `LEADS_ADMIN_PASSWORD` and no user yet, creates
    /// `admin`. Answers how many users exist afterwards.
    pub async fn first_run(&self, admin_password: Option<&str>) -> Result<usize, AuthError> {
        let n = self.user_count().await?;
        if n > 0 {
            return Ok(n);
        }
        match admin_password {
            Some(p) => match self
                .add_user("admin", Role::Admin, p, ChosenBy::Operator)
                .await
            {
                Ok(()) => {
                    tracing::info!("created the user admin from LEADS_ADMIN_PASSWORD");
                    Ok(1)
                }
                // Another instance on the same database server was first
                // (a taken name, or a write conflict with its creation).
                Err(AuthError::Taken) => Ok(1),
                Err(e) => match self.user_count().await? {
                    0 => Err(e),
                    n => Ok(n),
                },
            },
            None => Ok(0),
        }
    }

    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
        by: ChosenBy,
    ) -> Result<(), AuthError> {
        let name = normalize_name(name)?;
        check_password(password, by)?;
        let hash = password::hash(password).await?;
        let row = UserRow {
            name,
            role: role.as_str().to_owned(),
            hash,
            created: now(),
            uid: Some(secret()),
        };
        if accounts::insert_user(self.db(), &row).await? {
            Ok(())
        } else {
            Err(AuthError::Taken)
        }
    }

    /// Sets a user's password and ends every session of theirs (a changed
    /// password is often a stolen one).
    pub async fn set_password(
        &self,
        name: &str,
        password: &str,
        by: ChosenBy,
    ) -> Result<(), AuthError> {
        let name = normalize_name(name)?;
        check_password(password, by)?;
        let hash = password::hash(password).await?;
        if accounts::set_password(self.db(), &name, &hash).await? {
            self.sessions_ended();
            Ok(())
        } else {
            Err(AuthError::Unknown)
        }
    }

    pub async fn user_count(&self) -> Result<usize, AuthError> {
        Ok(accounts::user_count(self.db()).await?)
    }

    pub async fn users(&self) -> Result<Vec<UserInfo>, AuthError> {
        Ok(accounts::users(self.db())
            .await?
            .into_iter()
            .map(|u| UserInfo {
                role: Role::parse(&u.role).unwrap_or(Role::Viewer),
                name: u.name,
                created: u.created,
            })
            .collect())
    }

    /// Removes a user and ends their sessions; never the last admin.
    pub async fn remove_user(&self, name: &str) -> Result<(), AuthError> {
        let name = normalize_name(name)?;
        // The check and the removal are one transaction (two instances
        // may remove at once).
        match accounts::delete_user(self.db(), &name).await? {
            accounts::Removal::Removed => {
                self.sessions_ended();
                Ok(())
            }
            accounts::Removal::Unknown => Err(AuthError::Unknown),
            accounts::Removal::LastAdmin => Err(AuthError::LastAdmin),
        }
    }

    /// Checks a name and password; on success starts a session and answers
    /// its cookie value. Wrong names and wrong passwords answer alike, in
    /// about the same time; repeated failures are slowed.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        addr: Option<IpAddr>,
    ) -> Result<(String, Caller), AuthError> {
        let t = now();
        // A name no user can have (too long, odd characters) is wrong
        // without a lookup, and never becomes a throttle key.
        let Ok(name) = normalize_name(name) else {
            return Err(AuthError::Wrong);
        };
        // Three counts (OWASP's lockout guidance): the strict one per
        // (account, address), one per address (one address trying many
        // accounts), and one per account (many addresses trying one). The
        // last never stops an address that has not been failing: someone
        // hammering `admin` from elsewhere cannot keep its owner out.
        let address = address_key("a", addr);
        let pair = format!("p:{name}|{address}");
        let account = format!("u:{name}");
        {
            // Counted as failures before the (slow) check, so that many
            // attempts at once cannot all pass the wait; taken back on success.
            let ms = now_ms();
            let mut th = self.throttle();
            let clean = th.failures(&pair, ms) == 0 && th.wait(&address, FREE_PER_ADDRESS, ms) == 0;
            let mut wait =
                th.wait(&pair, FREE_PER_ACCOUNT, ms)
                    .max(th.wait(&address, FREE_PER_ADDRESS, ms));
            if !clean {
                wait = wait.max(th.wait(&account, FREE_PER_ACCOUNT_ANYWHERE, ms));
            }
            if wait > 0 {
                return Err(AuthError::Throttled((wait + 999) / 1000));
            }
            th.failed(&pair, ms);
            th.failed(&address, ms);
            th.failed(&account, ms);
        }
        let user = match password.len() <= 4096 {
            true => accounts::user(self.db(), &name).await?,
            false => None,
        };
        let ok = match &user {
            Some(u) => password::verify(password, &u.hash).await?,
            None => {
                let _ = password::verify(password, password::dummy().await).await;
                false
            }
        };
        let role = user.as_ref().and_then(|u| Role::parse(&u.role));
        let (Some(user), Some(role), true) = (user, role, ok) else {
            return Err(AuthError::Wrong);
        };
        {
            let mut th = self.throttle();
            th.succeeded(&pair);
            th.forgive(&address);
            // Only this attempt: the account's count from elsewhere stays.
            th.forgive(&account);
        }
        let cookie = secret();
        accounts::insert_session(
            self.db(),
            &digest(&cookie),
            &SessionRow {
                user: user.name.clone(),
                created: t,
                seen: t,
                user_uid: user.uid.clone(),
            },
        )
        .await?;
        // Now and then, drop sessions long expired.
        if rand::random_range(0..100) == 0 {
            let _ = accounts::delete_sessions_seen_before(self.db(), t - self.inner.idle).await;
        }
        Ok((
            cookie,
            Caller {
                name: user.name,
                role,
            },
        ))
    }

    /// The person a session cookie belongs to, if it is still valid.
    pub async fn session(&self, cookie: &str) -> Result<Option<Caller>, AppError> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(None);
        }
        let hash = digest(cookie);
        let Some((s, role)) = accounts::session(self.db(), &hash).await? else {
            return Ok(None);
        };
        let t = now();
        if self.expired(&s, t) {
            accounts::delete_session(self.db(), &hash).await?;
            return Ok(None);
        }
        let Some(role) = Role::parse(&role) else {
            return Ok(None);
        };
        if t - s.seen >= TOUCH_EVERY {
            touched(accounts::touch_session(self.db(), &hash, t).await);
        }
        Ok(Some(Caller { name: s.user, role }))
    }

    pub async fn sign_out(&self, cookie: &str) -> Result<(), AppError> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(());
        }
        accounts::delete_session(self.db(), &digest(cookie)).await?;
        self.sessions_ended();
        Ok(())
    }

    fn sessions_ended(&self) {
        self.inner.ended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes each time sessions end in this process (sign-out, a changed
    /// password, a removed user).
    pub fn ended_sessions(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.ended.subscribe()
    }

    /// Whether the session of `cookie` is still valid, without counting
    /// this as activity: an open live stream does not keep a session
    /// alive, and ends with it.
    pub async fn still_signed_in(&self, cookie: &str) -> Result<bool, AppError> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(false);
        }
        let Some((s, role)) = accounts::session(self.db(), &digest(cookie)).await? else {
            return Ok(false);
        };
        Ok(!self.expired(&s, now()) && Role::parse(&role).is_some())
    }

    /// Unused for longer than the idle time, or older than the longest a
    /// session lasts.
    fn expired(&self, s: &SessionRow, t: i64) -> bool {
        t - s.seen > self.inner.idle || t - s.created > SESSION_MAX_AGE
    }

    /// Whether `LEADS_API_TOKEN` is short enough to guess. Only then are
    /// wrong tokens throttled: a made token is 256 random bits, and a
    /// throttle keyed by address would let anyone behind the same proxy
    /// lock every API client out.
    pub fn weak_token(&self) -> bool {
        self.inner
            .env_token
            .as_ref()
            .is_some_and(|t| t.chars().count() < MIN_PASSWORD)
    }

    /// Seconds an address must wait before its next API token is checked:
    /// wrong tokens are slowed per address as wrong passwords are (after
    /// [`FREE_PER_ADDRESS`] free ones), so that a short token the operator
    /// chose cannot be guessed at the server's speed ([`Auth::weak_token`]).
    pub fn token_wait(&self, addr: Option<IpAddr>) -> i64 {
        let ms = self
            .throttle()
            .wait(&address_key("t", addr), FREE_PER_ADDRESS, now_ms());
        (ms + 999) / 1000
    }

    /// Counts a wrong API token from `addr`.
    pub fn token_failed(&self, addr: Option<IpAddr>) {
        self.throttle().failed(&address_key("t", addr), now_ms());
    }

    /// Whether a bearer token may use the API: `LEADS_API_TOKEN`, or a
    /// token made with `token create` and not revoked.
    pub async fn api_token(&self, token: &str) -> Result<bool, AppError> {
        if token.is_empty() || token.len() > 512 {
            return Ok(false);
        }
        if let Some(expected) = &self.inner.env_token {
            if same_secret(expected, token) {
                return Ok(true);
            }
        }
        let hash = digest(token);
        match accounts::token(self.db(), &hash).await? {
            Some(row) => {
                let t = now();
                if row.last_used.is_none_or(|u| t - u >= TOUCH_EVERY) {
                    touched(accounts::touch_token(self.db(), &hash, t).await);
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// A new API token named `name`; the token itself is shown once and
    /// only its hash is kept.
    pub async fn create_token(&self, name: &str) -> Result<String, AuthError> {
        let name = normalize_name(name)?;
        let token = format!("ld_{}", secret());
        let row = TokenRow {
            name,
            created: now(),
            last_used: None,
        };
        if accounts::insert_token(self.db(), &digest(&token), &row).await? {
            Ok(token)
        } else {
            Err(AuthError::Taken)
        }
    }

    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, AuthError> {
        Ok(accounts::tokens(self.db()).await?)
    }

    pub async fn revoke_token(&self, name: &str) -> Result<(), AuthError> {
        let name = normalize_name(name)?;
        if accounts::delete_token(self.db(), &name).await? {
            Ok(())
        } else {
            Err(AuthError::Unknown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn auth() -> Auth {
        let db = crate::ssr::store::db::connect("mem://", None, None, None)
            .await
            .expect("db");
        Auth::new(db, chrono::Duration::hours(1), Some("env-token".into()))
    }

    #[tokio::test]
    async fn users_sessions_and_tokens() {
        let a = auth().await;
        assert_eq!(a.first_run(None).await.expect("first"), 0);
        assert_eq!(a.first_run(Some("correct horse")).await.expect("first"), 1);
        assert!(matches!(
            a.add_user("Admin", Role::Viewer, "another one!!", ChosenBy::Dashboard)
                .await,
            Err(AuthError::Taken)
        ));
        assert!(matches!(
            a.add_user("ani", Role::Viewer, "short", ChosenBy::Dashboard)
                .await,
            Err(AuthError::WeakPassword)
        ));
        // The operator's choice (the command line, the environment) stands.
        a.add_user("eko", Role::Viewer, "short", ChosenBy::Operator)
            .await
            .expect("an operator's short password");
        assert!(matches!(
            a.add_user("eka", Role::Viewer, "", ChosenBy::Operator)
                .await,
            Err(AuthError::BadPassword)
        ));
        assert!(matches!(
            a.add_user("a b", Role::Viewer, "long enough!!", ChosenBy::Dashboard)
                .await,
            Err(AuthError::InvalidName)
        ));
        a.add_user("Ani", Role::Viewer, "long enough!!", ChosenBy::Dashboard)
            .await
            .expect("ani");

        assert!(matches!(
            a.sign_in("ani", "wrong password", None).await,
            Err(AuthError::Wrong)
        ));
        assert!(matches!(
            a.sign_in("nobody", "long enough!!", None).await,
            Err(AuthError::Wrong)
        ));
        let (cookie, who) = a.sign_in(" ANI ", "long enough!!", None).await.expect("in");
        assert_eq!(
            who,
            Caller {
                name: "ani".into(),
                role: Role::Viewer
            }
        );
        assert_eq!(a.session(&cookie).await.expect("s"), Some(who));
        assert_eq!(a.session("made-up").await.expect("s"), None);
        a.sign_out(&cookie).await.expect("out");
        assert_eq!(a.session(&cookie).await.expect("s"), None);

        // Removing a user ends their sessions; the last admin stays.
        let (cookie, _) = a.sign_in("ani", "long enough!!", None).await.expect("in");
        a.remove_user("ani").await.expect("removed");
        assert_eq!(a.session(&cookie).await.expect("s"), None);
        let r = a.remove_user("admin").await;
        assert!(matches!(r, Err(AuthError::LastAdmin)), "{r:?}");

        assert!(a.api_token("env-token").await.expect("t"));
        let t = a.create_token("zapier").await.expect("token");
        assert!(t.starts_with("ld_") && t.len() > 40);
        assert!(matches!(
            a.create_token("zapier").await,
            Err(AuthError::Taken)
        ));
        assert!(a.api_token(&t).await.expect("t"));
        let list = a.tokens().await.expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "zapier");
        assert!(list[0].last_used.is_some());
        a.revoke_token("zapier").await.expect("revoked");
        assert!(!a.api_token(&t).await.expect("t"));
        assert!(matches!(
            a.revoke_token("zapier").await,
            Err(AuthError::Unknown)
        ));
    }

    #[tokio::test]
    async fn wrong_passwords_are_slowed_for_known_and_unknown_names_alike() {
        let a = auth().await;
        a.add_user("budi", Role::Admin, "long enough!!", ChosenBy::Dashboard)
            .await
            .expect("budi");
        for name in ["budi", "nobody"] {
            for _ in 0..FREE_PER_ACCOUNT {
                assert!(matches!(
                    a.sign_in(name, "nope nope", None).await,
                    Err(AuthError::Wrong)
                ));
            }
            assert!(matches!(
                a.sign_in(name, "nope nope", None).await,
                Err(AuthError::Throttled(_))
            ));
        }
        // The right password from an address that has been failing waits
        // its turn too (more failures: a long wait, so that this test does
        // not race the clock)...
        let here: IpAddr = "203.0.113.5".parse().expect("ip");
        for _ in 0..FREE_PER_ACCOUNT {
            let _ = a.sign_in("budi", "nope nope", Some(here)).await;
        }
        for _ in 0..10 {
            a.throttle().failed("p:budi|a:203.0.113.5", now_ms());
        }
        assert!(matches!(
            a.sign_in("budi", "long enough!!", Some(here)).await,
            Err(AuthError::Throttled(_))
        ));
        // ...but not from one that has not: failures elsewhere cannot keep
        // the owner out, even when they come from many addresses.
        for _ in 0..3 {
            let there: IpAddr = "198.51.100.1".parse().expect("ip");
            let _ = a.sign_in("budi", "nope nope", Some(there)).await;
        }
        for _ in 0..100 {
            a.throttle().failed("u:budi", now_ms());
        }
        let home: IpAddr = "192.0.2.7".parse().expect("ip");
        assert!(a.sign_in("budi", "long enough!!", Some(home)).await.is_ok());
        // A wrong password from a fresh address, while the account is under
        // attack, makes that address a failing one.
        let fresh: IpAddr = "192.0.2.99".parse().expect("ip");
        assert!(matches!(
            a.sign_in("budi", "nope nope", Some(fresh)).await,
            Err(AuthError::Wrong)
        ));
        assert!(matches!(
            a.sign_in("budi", "long enough!!", Some(fresh)).await,
            Err(AuthError::Throttled(_))
        ));
    }

    /// Two instances removing the last two admins at once: one wins, the
    /// other is told it would remove the last admin.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_two_admins_cannot_both_be_removed_at_once() {
        let (db, dir) = crate::ssr::store::db::temp_rocksdb("admins", 256 << 20).await;
        for round in 0..5 {
            let (x, y) = (format!("a{round}x"), format!("a{round}y"));
            let one = Auth::new(db.clone(), chrono::Duration::minutes(1), None);
            let two = Auth::new(db.clone(), chrono::Duration::minutes(1), None);
            one.add_user(&x, Role::Admin, "long enough!!", ChosenBy::Dashboard)
                .await
                .expect("x");
            one.add_user(&y, Role::Admin, "long enough!!", ChosenBy::Dashboard)
                .await
                .expect("y");
            let (a, b) = tokio::join!(one.remove_user(&x), two.remove_user(&y));
            let ok = [a.is_ok(), b.is_ok()];
            assert_eq!(
                ok.iter().filter(|o| **o).count(),
                1,
                "round {round}: {a:?} {b:?}"
            );
            assert!(
                matches!(a, Err(AuthError::LastAdmin)) || matches!(b, Err(AuthError::LastAdmin)),
                "{a:?} {b:?}"
            );
            let admins = one.users().await.expect("users");
            assert_eq!(admins.iter().filter(|u| u.role == Role::Admin).count(), 1);
            // No admin left for the next round (by hand: the product never
            // removes the last one).
            db.query("DELETE user").await.expect("cleanup");
        }
        crate::ssr::store::db::remove_temp(db, dir).await;
    }

    /// A session belongs to the user it was made for: removing the user
    /// ends it, and a new user of the same name does not inherit it (not
    /// even one a slow sign-in wrote after the removal).
    #[tokio::test]
    async fn a_removed_users_session_never_comes_back() {
        let db = crate::ssr::store::db::connect("mem://", None, None, None)
            .await
            .expect("db");
        let a = Auth::new(db.clone(), chrono::Duration::minutes(10), None);
        a.add_user("boss", Role::Admin, "long enough!!", ChosenBy::Dashboard)
            .await
            .expect("boss");
        a.add_user("budi", Role::Admin, "long enough!!", ChosenBy::Dashboard)
            .await
            .expect("budi");
        let (cookie, _) = a.sign_in("budi", "long enough!!", None).await.expect("in");
        let old = accounts::user(&db, "budi").await.expect("u").expect("budi");
        a.remove_user("budi").await.expect("removed");
        assert_eq!(a.session(&cookie).await.expect("s"), None);
        // A sign-in that read the old user, finishing after the removal.
        let late = "late-cookie";
        accounts::insert_session(
            &db,
            &digest(late),
            &SessionRow {
                user: "budi".into(),
                created: now(),
                seen: now(),
                user_uid: old.uid.clone(),
            },
        )
        .await
        .expect("late session");
        a.add_user("budi", Role::Admin, "another password", ChosenBy::Dashboard)
            .await
            .expect("again");
        assert_eq!(a.session(late).await.expect("s"), None);
        assert_eq!(a.session(&cookie).await.expect("s"), None);
    }

    #[tokio::test]
    async fn sessions_end_after_inactivity() {
        let db = crate::ssr::store::db::connect("mem://", None, None, None)
            .await
            .expect("db");
        let a = Auth::new(db.clone(), chrono::Duration::minutes(1), None);
        a.add_user("budi", Role::Admin, "long enough!!", ChosenBy::Dashboard)
            .await
            .expect("budi");
        let (cookie, _) = a.sign_in("budi", "long enough!!", None).await.expect("in");
        assert!(a.session(&cookie).await.expect("s").is_some());
        // Last seen two minutes ago.
        accounts::touch_session(&db, &digest(&cookie), now() - 120)
            .await
            .expect("touch");
        assert_eq!(a.session(&cookie).await.expect("s"), None);
    }

    /// Many requests of one session at once, each due to write its last
    /// use: their writes conflict on the on-disk engine, and every request
    /// still gets its caller.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_requests_of_one_session_all_pass() {
        let (db, dir) = crate::ssr::store::db::temp_rocksdb("touch", 256 << 20).await;
        let a = Auth::new(db.clone(), chrono::Duration::hours(1), None);
        a.add_user("budi", Role::Viewer, "long enough!!", ChosenBy::Dashboard)
            .await
            .expect("budi");
        let (cookie, _) = a.sign_in("budi", "long enough!!", None).await.expect("in");
        for _ in 0..5 {
            accounts::touch_session(&db, &digest(&cookie), now() - 120)
                .await
                .expect("touch");
            let calls: Vec<_> = (0..16)
                .map(|_| {
                    let (a, cookie) = (a.clone(), cookie.clone());
                    tokio::spawn(async move { a.session(&cookie).await })
                })
                .collect();
            for c in calls {
                let caller = c.await.expect("task").expect("no error");
                assert_eq!(caller.map(|c| c.name).as_deref(), Some("budi"));
            }
        }
        drop(a);
        crate::ssr::store::db::remove_temp(db, dir).await;
    }
}
