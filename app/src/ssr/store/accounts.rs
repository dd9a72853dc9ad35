//! Users, sign-in sessions and API tokens. Only hashes of secrets are
//! stored: a password's Argon2id hash, the SHA-256 of a session cookie or an
//! API token (both random, so a fast hash is enough). Times are Unix seconds.

use serde::Deserialize;
use serde_json::json;

use super::db::{Db, db_error, record, row};
use crate::error::AppError;

#[derive(Clone, Debug, Deserialize)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    pub hash: String,
    pub created: i64,
    /// Random, per user: tells this user from a later one of the same name.
    /// (Absent on users from before.)
    #[serde(default)]
    pub uid: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SessionRow {
    pub user: String,
    pub created: i64,
    pub seen: i64,
    /// Its user's `uid`: a session belongs to that user only, not to a
    /// later user of the same name. (Absent on sessions from before.)
    #[serde(default)]
    pub user_uid: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TokenRow {
    pub name: String,
    pub created: i64,
    pub last_used: Option<i64>,
}

async fn rows<T: for<'de> Deserialize<'de>>(
    db: &Db,
    sql: &'static str,
    binds: serde_json::Value,
) -> Result<Vec<T>, AppError> {
    let mut q = db.query(sql);
    if let serde_json::Value::Object(map) = binds {
        for (k, v) in map {
            q = q.bind((k, v));
        }
    }
    let mut res = q.await.map_err(db_error)?;
    let values: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    values
        .into_iter()
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| AppError::Internal(format!("unreadable row: {e}")))
        })
        .collect()
}

pub async fn user_count(db: &Db) -> Result<usize, AppError> {
    let n: Vec<serde_json::Value> = rows(db, "SELECT VALUE id FROM user", json!({})).await?;
    Ok(n.len())
}

/// Creates a record; `false` when its id exists.
async fn create(db: &Db, r: surrealdb::types::Value) -> Result<bool, AppError> {
    let res = db
        .query("CREATE ONLY $r.id CONTENT $r RETURN NONE")
        .bind(("r", r))
        .await
        .map_err(db_error)?;
    match res.check() {
        Ok(_) => Ok(true),
        // A duplicate id, or a unique index (token names): "already contains".
        Err(e) if e.is_already_exists() || e.message().contains("already") => Ok(false),
        Err(e) => Err(db_error(e)),
    }
}

/// One record read by id, or `None`.
async fn one<T: for<'de> Deserialize<'de>>(
    db: &Db,
    sql: &'static str,
    id: surrealdb::types::RecordId,
) -> Result<Option<T>, AppError> {
    let mut res = db.query(sql).bind(("id", id)).await.map_err(db_error)?;
    let v: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    v.into_iter()
        .next()
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| AppError::Internal(format!("unreadable row: {e}")))
        })
        .transpose()
}

/// A statement on one record (`$id`), with `$now` when given.
async fn exec(
    db: &Db,
    sql: &'static str,
    id: surrealdb::types::RecordId,
    now: Option<i64>,
) -> Result<(), AppError> {
    db.query(sql)
        .bind(("id", id))
        .bind(("now", now))
        .await
        .and_then(|r| r.check())
        .map(|_| ())
        .map_err(db_error)
}

/// `false` when the name is taken.
pub async fn insert_user(db: &Db, u: &UserRow) -> Result<bool, AppError> {
    create(
        db,
        row(
            record("user", &u.name),
            json!({"name": u.name, "role": u.role, "hash": u.hash, "created": u.created, "uid": u.uid}),
        ),
    )
    .await
}

pub async fn user(db: &Db, name: &str) -> Result<Option<UserRow>, AppError> {
    one(
        db,
        "SELECT name, role, hash, created, uid FROM $id",
        record("user", name),
    )
    .await
}

pub async fn users(db: &Db) -> Result<Vec<UserRow>, AppError> {
    rows(
        db,
        "SELECT name, role, hash, created, uid FROM user ORDER BY name",
        json!({}),
    )
    .await
}

/// A new password hash for `name`, and its sessions ended, in one
/// transaction. `false`: no such user.
pub async fn set_password(db: &Db, name: &str, hash: &str) -> Result<bool, AppError> {
    const SQL: &str = "BEGIN;
        IF (SELECT VALUE name FROM ONLY $id) = NONE { THROW 'leads:unknown' };
        UPDATE $id SET hash = $hash RETURN NONE;
        DELETE session WHERE user = $name;
        COMMIT;";
    let result = db
        .query(SQL)
        .bind(("id", record("user", name)))
        .bind(("hash", hash.to_owned()))
        .bind(("name", name.to_owned()))
        .await
        .and_then(super::db::first_error);
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.message().contains("leads:unknown") => Ok(false),
        Err(e) => Err(db_error(e)),
    }
}

/// What [`delete_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    Unknown,
    LastAdmin,
}

/// Removes a user and every session of theirs, never the last admin, in
/// one transaction. Every removal of an admin also writes `meta:admins`,
/// so two removals at once (two instances) conflict and the second runs
/// again, seeing the first: the last two admins cannot both go.
pub async fn delete_user(db: &Db, name: &str) -> Result<Removal, AppError> {
    const SQL: &str = "BEGIN;
        LET $u = (SELECT VALUE role FROM ONLY $id);
        IF $u = NONE { THROW 'leads:unknown' };
        IF $u = 'admin' AND array::len(SELECT VALUE id FROM user WHERE role = 'admin') <= 1 {
            THROW 'leads:last_admin'
        };
        IF $u = 'admin' { UPSERT meta:admins SET changed = time::now() RETURN NONE };
        DELETE $id;
        DELETE session WHERE user = $name;
        COMMIT;";
    let mut attempt = 0;
    loop {
        let result = db
            .query(SQL)
            .bind(("id", record("user", name)))
            .bind(("name", name.to_owned()))
            .await;
        let result = result.and_then(super::db::first_error);
        match result {
            Ok(()) => return Ok(Removal::Removed),
            Err(e) if e.message().contains("leads:unknown") => return Ok(Removal::Unknown),
            Err(e) if e.message().contains("leads:last_admin") => return Ok(Removal::LastAdmin),
            Err(e) if attempt < 10 && super::db::is_retryable(&e) => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5 << attempt.min(6))).await;
            }
            Err(e) => return Err(db_error(e)),
        }
    }
}

pub async fn insert_session(db: &Db, hash: &str, s: &SessionRow) -> Result<(), AppError> {
    let r = row(
        record("session", hash),
        json!({"user": s.user, "created": s.created, "seen": s.seen, "user_uid": s.user_uid}),
    );
    // 256 random bits: an existing id would be a broken random source.
    if create(db, r).await? {
        Ok(())
    } else {
        Err(AppError::Internal("session id collision".into()))
    }
}

/// A session with its user's current role (`None`: no session, its user is
/// gone, or the name now belongs to another user).
pub async fn session(db: &Db, hash: &str) -> Result<Option<(SessionRow, String)>, AppError> {
    let mut res = db
        .query(
            "SELECT user, created, seen, user_uid, type::record('user', user).role AS role,
                    type::record('user', user).created AS ucreated,
                    type::record('user', user).uid AS uid FROM $id",
        )
        .bind(("id", record("session", hash)))
        .await
        .map_err(db_error)?;
    let v: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    let Some(v) = v.into_iter().next() else {
        return Ok(None);
    };
    let role = v["role"].as_str().map(str::to_owned);
    let ucreated = v["ucreated"].as_i64();
    let uid = v["uid"].as_str().map(str::to_owned);
    let s: SessionRow = serde_json::from_value(v)
        .map_err(|e| AppError::Internal(format!("unreadable session: {e}")))?;
    let same_user = match (&s.user_uid, &uid, ucreated) {
        (Some(a), Some(b), _) => a == b,
        // Users and sessions from before uids: not older than its user.
        (None, None, Some(c)) => s.created >= c,
        _ => false,
    };
    Ok(role.filter(|_| same_user).map(|r| (s, r)))
}

pub async fn touch_session(db: &Db, hash: &str, now: i64) -> Result<(), AppError> {
    exec(
        db,
        "UPDATE $id SET seen = $now RETURN NONE",
        record("session", hash),
        Some(now),
    )
    .await
}

pub async fn delete_session(db: &Db, hash: &str) -> Result<(), AppError> {
    exec(db, "DELETE $id", record("session", hash), None).await
}

/// Drops sessions not seen since `before` (expired ones stay unusable
/// anyway; this only keeps the table small).
pub async fn delete_sessions_seen_before(db: &Db, before: i64) -> Result<(), AppError> {
    db.query("DELETE session WHERE seen < $before")
        .bind(("before", before))
        .await
        .and_then(|r| r.check())
        .map(|_| ())
        .map_err(db_error)
}

/// `false` when a token of that name exists (the unique index on names).
pub async fn insert_token(db: &Db, hash: &str, t: &TokenRow) -> Result<bool, AppError> {
    create(
        db,
        row(
            record("api_token", hash),
            json!({"name": t.name, "created": t.created, "last_used": null}),
        ),
    )
    .await
}

pub async fn token(db: &Db, hash: &str) -> Result<Option<TokenRow>, AppError> {
    one(
        db,
        "SELECT name, created, last_used FROM $id",
        record("api_token", hash),
    )
    .await
}

pub async fn tokens(db: &Db) -> Result<Vec<TokenRow>, AppError> {
    rows(
        db,
        "SELECT name, created, last_used FROM api_token ORDER BY name",
        json!({}),
    )
    .await
}

pub async fn touch_token(db: &Db, hash: &str, now: i64) -> Result<(), AppError> {
    exec(
        db,
        "UPDATE $id SET last_used = $now RETURN NONE",
        record("api_token", hash),
        Some(now),
    )
    .await
}

/// `false`: no token of that name.
pub async fn delete_token(db: &Db, name: &str) -> Result<bool, AppError> {
    let mut res = db
        .query("DELETE api_token WHERE name = $name RETURN BEFORE")
        .bind(("name", name.to_owned()))
        .await
        .map_err(db_error)?;
    let gone: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    Ok(!gone.is_empty())
}
