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
}

#[derive(Clone, Debug, Deserialize)]
pub struct SessionRow {
    pub user: String,
    pub created: i64,
    pub seen: i64,
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

/// `false` when the name is taken.
pub async fn insert_user(db: &Db, u: &UserRow) -> Result<bool, AppError> {
    let r = row(
        record("user", &u.name),
        json!({"name": u.name, "role": u.role, "hash": u.hash, "created": u.created}),
    );
    match db
        .query("CREATE ONLY $u.id CONTENT $u RETURN NONE")
        .bind(("u", r))
        .await
    {
        Ok(res) => match res.check() {
            Ok(_) => Ok(true),
            Err(e) if e.is_already_exists() || e.message().contains("already exists") => Ok(false),
            Err(e) => Err(db_error(e)),
        },
        Err(e) => Err(db_error(e)),
    }
}

pub async fn user(db: &Db, name: &str) -> Result<Option<UserRow>, AppError> {
    let mut res = db
        .query("SELECT name, role, hash, created FROM $id")
        .bind(("id", record("user", name)))
        .await
        .map_err(db_error)?;
    let v: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    v.into_iter()
        .next()
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| AppError::Internal(format!("unreadable user: {e}")))
        })
        .transpose()
}

pub async fn users(db: &Db) -> Result<Vec<UserRow>, AppError> {
    rows(
        db,
        "SELECT name, role, hash, created FROM user ORDER BY name",
        json!({}),
    )
    .await
}

/// Removes a user and every session of theirs (a session whose user is
/// gone is refused anyway). `false`: no such user.
pub async fn delete_user(db: &Db, name: &str) -> Result<bool, AppError> {
    let mut res = db
        .query("DELETE $id RETURN BEFORE")
        .bind(("id", record("user", name)))
        .await
        .map_err(db_error)?;
    let gone: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    db.query("DELETE session WHERE user = $name")
        .bind(("name", name.to_owned()))
        .await
        .and_then(|r| r.check())
        .map_err(db_error)?;
    Ok(!gone.is_empty())
}

pub async fn insert_session(db: &Db, hash: &str, s: &SessionRow) -> Result<(), AppError> {
    let r = row(
        record("session", hash),
        json!({"user": s.user, "created": s.created, "seen": s.seen}),
    );
    db.query("CREATE ONLY $s.id CONTENT $s RETURN NONE")
        .bind(("s", r))
        .await
        .and_then(|r| r.check())
        .map(|_| ())
        .map_err(db_error)
}

/// A session with its user's current role (`None`: no session, or its user
/// is gone).
pub async fn session(db: &Db, hash: &str) -> Result<Option<(SessionRow, String)>, AppError> {
    let mut res = db
        .query("SELECT user, created, seen, type::record('user', user).role AS role FROM $id")
        .bind(("id", record("session", hash)))
        .await
        .map_err(db_error)?;
    let v: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    let Some(v) = v.into_iter().next() else {
        return Ok(None);
    };
    let role = v["role"].as_str().map(str::to_owned);
    let s: SessionRow = serde_json::from_value(v)
        .map_err(|e| AppError::Internal(format!("unreadable session: {e}")))?;
    Ok(role.map(|r| (s, r)))
}

pub async fn touch_session(db: &Db, hash: &str, now: i64) -> Result<(), AppError> {
    db.query("UPDATE $id SET seen = $now RETURN NONE")
        .bind(("id", record("session", hash)))
        .bind(("now", now))
        .await
        .and_then(|r| r.check())
        .map(|_| ())
        .map_err(db_error)
}

pub async fn delete_session(db: &Db, hash: &str) -> Result<(), AppError> {
    db.query("DELETE $id")
        .bind(("id", record("session", hash)))
        .await
        .and_then(|r| r.check())
        .map(|_| ())
        .map_err(db_error)
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

/// `false` when a token of that name exists.
pub async fn insert_token(db: &Db, hash: &str, t: &TokenRow) -> Result<bool, AppError> {
    let r = row(
        record("api_token", hash),
        json!({"name": t.name, "created": t.created, "last_used": null}),
    );
    match db
        .query("CREATE ONLY $t.id CONTENT $t RETURN NONE")
        .bind(("t", r))
        .await
    {
        Ok(res) => match res.check() {
            Ok(_) => Ok(true),
            Err(e) if e.is_already_exists() || e.message().contains("already") => Ok(false),
            Err(e) => Err(db_error(e)),
        },
        Err(e) => Err(db_error(e)),
    }
}

pub async fn token(db: &Db, hash: &str) -> Result<Option<TokenRow>, AppError> {
    let mut res = db
        .query("SELECT name, created, last_used FROM $id")
        .bind(("id", record("api_token", hash)))
        .await
        .map_err(db_error)?;
    let v: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    v.into_iter()
        .next()
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| AppError::Internal(format!("unreadable token: {e}")))
        })
        .transpose()
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
    db.query("UPDATE $id SET last_used = $now RETURN NONE")
        .bind(("id", record("api_token", hash)))
        .bind(("now", now))
        .await
        .and_then(|r| r.check())
        .map(|_| ())
        .map_err(db_error)
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
