//! The database: connecting, the schema and its version (migrations).

use surrealdb::types::{RecordId, SurrealValue, Value};

use crate::error::AppError;
use crate::ssr::domain::memory::DbMemory;

pub use super::engine::Db;

const NAMESPACE: &str = "leads";
const DATABASE: &str = "leads";

/// The schema version this build writes. A database written by a newer
/// build is refused rather than misread.
pub const SCHEMA_VERSION: i64 = 7;

/// Migrations in order: `(version reached, SurrealQL)`. Each runs in one
/// transaction together with the version bump.
/// One step of the schema: definitions, or data rewritten in code.
enum Step {
    Sql(&'static str),
    Code(fn(&Db) -> futures::future::BoxFuture<'_, Result<(), AppError>>),
}

/// The schema's history, one step per version in order: `migrate` runs
/// those above the stored version, each followed by its version number.
const MIGRATIONS: &[(i64, Step)] = &[
    (
        1,
        Step::Sql(
            r#"
    DEFINE TABLE IF NOT EXISTS meta SCHEMALESS;
    -- event:⟨event id⟩, idempotent by key. (Schema 1 and 2 also indexed it
    -- by contact; schema 3 lists a contact's event ids on the contact.)
    DEFINE TABLE IF NOT EXISTS event SCHEMALESS;
    -- contact:⟨contact key⟩: the rules' state. (Schema 1 also indexed lead
    -- columns here; schema 2 removes those indexes again.)
    DEFINE TABLE IF NOT EXISTS contact SCHEMALESS;
    "#,
        ),
    ),
    (
        2,
        Step::Sql(
            r#"
    -- Reads are served by the in-memory lead index: the contact table keeps
    -- only each contact's rules state, and every index on it only cost writes.
    REMOVE INDEX IF EXISTS contact_sort ON contact;
    REMOVE INDEX IF EXISTS contact_name ON contact;
    REMOVE INDEX IF EXISTS contact_touch ON contact;
    "#,
        ),
    ),
    (
        3,
        // A contact row lists its event ids: data, not only definitions.
        Step::Code(|db| Box::pin(list_events_on_contacts(db))),
    ),
    (
        4,
        Step::Sql(
            r#"
    -- Sign-in: user:⟨name⟩ (role, Argon2id hash), session:⟨SHA-256 of the
    -- cookie⟩ (user, created, seen), api_token:⟨SHA-256 of the token⟩
    -- (name, created, last_used). Secrets are never stored, only hashes.
    DEFINE TABLE IF NOT EXISTS user SCHEMALESS;
    DEFINE TABLE IF NOT EXISTS session SCHEMALESS;
    DEFINE TABLE IF NOT EXISTS api_token SCHEMALESS;
    DEFINE INDEX IF NOT EXISTS api_token_name ON api_token FIELDS name UNIQUE;
    "#,
        ),
    ),
    (
        5,
        Step::Sql(
            r#"
    -- history:⟨contact key#first event id⟩: a page of a chatty contact's
    -- older event ids, so a contact row lists at most 512 (ingest reads and
    -- rewrites that list on every write to the contact).
    DEFINE TABLE IF NOT EXISTS history SCHEMALESS;
    "#,
        ),
    ),
    (
        6,
        Step::Sql(
            r#"
    -- spend:⟨day|platform|ad id⟩: money spent on one ad on one day, in the
    -- deployment's currency (hundredths); a new row for the same key
    -- replaces the old one (`shared/spec/outcomes.md`, "Ad spend").
    DEFINE TABLE IF NOT EXISTS spend SCHEMALESS;
    "#,
        ),
    ),
    (
        7,
        Step::Sql(
            r#"
    -- capi:⟨event id⟩: the Conversions API outbox, one row per event for
    -- Meta, written in the commit that makes its outcome known; its state
    -- (pending, sent, rejected) and a sender's claim on it.
    DEFINE TABLE IF NOT EXISTS capi SCHEMALESS;
    DEFINE INDEX IF NOT EXISTS capi_state ON capi FIELDS state;
    DEFINE INDEX IF NOT EXISTS capi_lead ON capi FIELDS lead;
    "#,
        ),
    ),
];

pub fn db_error(e: surrealdb::Error) -> AppError {
    // The message may quote a record id or value: a phone, an e-mail.
    AppError::Unavailable(crate::ssr::domain::redact::redact(&e.to_string()))
}

/// Optimistic transactions lose to a concurrent writer of the same key at
/// commit (another process on the same database server); such a batch is
/// simply run again from a fresh read. An insert that meets a key another
/// process committed after our read is the same race. The SDK marks
/// conflicts as `QueryError::TransactionConflict`; the text check covers
/// engines that only say so in words.
pub fn is_retryable(e: &surrealdb::Error) -> bool {
    if e.query_details() == Some(&surrealdb::types::QueryError::TransactionConflict)
        || is_duplicate(e)
    {
        return true;
    }
    let m = e.message();
    m.contains("can be retried") || m.contains("onflict")
}

/// Exponential backoff with jitter before running again what lost a
/// conflict, so that two losers do not collide again.
pub fn backoff(attempt: u32) -> std::time::Duration {
    let base = 5u64 << attempt.min(7);
    std::time::Duration::from_millis(base + rand::random_range(0..base))
}

/// The error of a transaction's statements that says why it failed: a
/// THROW of ours (`leads:…`) first, then a conflict (to retry), then any
/// (the others only say the transaction failed).
pub fn first_error(mut r: surrealdb::IndexedResults) -> Result<(), surrealdb::Error> {
    let mut errors: Vec<surrealdb::Error> = r.take_errors().into_values().collect();
    errors.sort_by_key(|e| (!e.message().contains("leads:"), !is_retryable(e)));
    errors.into_iter().next().map_or(Ok(()), Err)
}

/// An insert met a record that exists already.
pub fn is_duplicate(e: &surrealdb::Error) -> bool {
    e.is_already_exists() || e.message().contains("already exists")
}

/// Opens the database named by `--db` and brings its schema up to date.
/// `memory` sizes an embedded RocksDB's caches (see [`open`]).
pub async fn connect(
    address: &str,
    user: Option<&str>,
    pass: Option<&str>,
    memory: Option<&DbMemory>,
) -> Result<Db, AppError> {
    let db = open(address, user, pass, memory).await?;
    refuse_unfinished_restore(&db).await?;
    // Instances starting together on one database server migrate together:
    // the loser of a write conflict tries again (and finds it done). A
    // server may tell the loser only that its statements were "not executed
    // due to a failed transaction" (seen with two instances starting at
    // once on a SurrealDB 3.3.5 server), so that counts as a conflict too.
    let mut attempt = 0;
    loop {
        match migrate(&db).await {
            Ok(()) => return Ok(db),
            Err(AppError::Unavailable(m))
                if attempt < 5
                    && (m.contains("onflict")
                        || m.contains("retried")
                        || m.contains("failed transaction")) =>
            {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Opens the database for a command that is not `serve` or `restore`:
/// its schema must be this build's (an empty database is set up). Only
/// `serve` and `restore` migrate: a backup taken with a newer binary must
/// not upgrade a database that older instances still run on.
pub async fn open_current(
    address: &str,
    user: Option<&str>,
    pass: Option<&str>,
    memory: Option<&DbMemory>,
) -> Result<Db, AppError> {
    let db = open(address, user, pass, memory).await?;
    refuse_unfinished_restore(&db).await?;
    match stored_version(&db).await? {
        None => {
            migrate(&db).await?;
            Ok(db)
        }
        Some(v) if v == SCHEMA_VERSION => Ok(db),
        Some(v) if v < SCHEMA_VERSION => Err(AppError::Unavailable(format!(
            "the database has schema version {v}, older than this build's {SCHEMA_VERSION}: \
             upgrade it first by starting `leads-dashboard serve` of this build on it (back it up \
             with the build that wrote it), or use that build for this command"
        ))),
        Some(v) => Err(AppError::Unavailable(format!(
            "the database has schema version {v}, newer than this build's {SCHEMA_VERSION}; \
             use a newer leads-dashboard"
        ))),
    }
}

/// The schema version without writing anything; `None` for an empty
/// database (no tables at all).
async fn stored_version(db: &Db) -> Result<Option<i64>, AppError> {
    let mut res = db.query("INFO FOR DB").await.map_err(db_error)?;
    let info: Option<serde_json::Value> = res.take(0).map_err(db_error)?;
    let tables = info
        .as_ref()
        .and_then(|i| i.get("tables"))
        .and_then(|t| t.as_object());
    let Some(tables) = tables.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if !tables.contains_key("meta") {
        return Ok(Some(0));
    }
    let mut res = db
        .query("SELECT VALUE version FROM meta:schema;")
        .await
        .map_err(db_error)?;
    let versions: Vec<i64> = res.take(0).map_err(db_error)?;
    Ok(Some(versions.first().copied().unwrap_or(0)))
}

/// Writes the whole database (schema and data, as SurrealQL) to `path`.
/// The file holds password and token hashes and customers' data: it is
/// created for the owner's eyes only before anything is written to it,
/// and removed when the backup fails.
pub async fn backup(db: &Db, path: &std::path::Path) -> Result<(), AppError> {
    let fail = |e: String| AppError::Unavailable(format!("{}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            fail("exists already; choose a new file name".into())
        } else {
            fail(e.to_string())
        }
    })?;
    if let Err(e) = db.export(path).await {
        let _ = std::fs::remove_file(path);
        return Err(db_error(e));
    }
    Ok(())
}

/// Loads a backup into an empty database, then brings its schema up to
/// date (a backup of an older version is migrated like a database).
pub async fn restore(db: &Db, path: &std::path::Path) -> Result<(), AppError> {
    if !path.is_file() {
        return Err(AppError::Unavailable(format!(
            "no backup file {}",
            path.display()
        )));
    }
    if !tables(db).await?.is_empty() {
        return Err(AppError::Unavailable(
            "the database is not empty: restore into a new --db (an empty folder)".into(),
        ));
    }
    // A table of its own marks the restore under way until it has ended:
    // a restore stopped half-way leaves it, and no command serves or reads
    // that half of a database (`refuse_unfinished_restore`).
    db.query(format!("DEFINE TABLE {RESTORING} SCHEMALESS;"))
        .await
        .and_then(|r| r.check())
        .map_err(db_error)?;
    db.import(path).await.map_err(db_error)?;
    migrate(db).await?;
    db.query(format!("REMOVE TABLE {RESTORING};"))
        .await
        .and_then(|r| r.check())
        .map_err(db_error)?;
    Ok(())
}

/// The table that marks a restore under way.
const RESTORING: &str = "restore_unfinished";

/// The database's tables, by name.
async fn tables(db: &Db) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
    let mut res = db.query("INFO FOR DB").await.map_err(db_error)?;
    let info: Option<serde_json::Value> = res.take(0).map_err(db_error)?;
    Ok(info
        .and_then(|mut i| i.get_mut("tables").map(serde_json::Value::take))
        .and_then(|t| match t {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default())
}

/// Refuses a database a restore was stopped in the middle of.
async fn refuse_unfinished_restore(db: &Db) -> Result<(), AppError> {
    if tables(db).await?.contains_key(RESTORING) {
        return Err(AppError::Unavailable(
            "a restore into this database was stopped before it ended, so it holds only part \
             of the backup: restore the backup again into a new, empty --db"
                .into(),
        ));
    }
    Ok(())
}

/// Opens the database named by `--db` as it is. An embedded RocksDB path
/// gets its folder created first, and its caches sized by `memory` (`None`:
/// SurrealDB's own sizing, from the host's memory).
pub async fn open(
    address: &str,
    user: Option<&str>,
    pass: Option<&str>,
    memory: Option<&DbMemory>,
) -> Result<Db, AppError> {
    let db = if let Some(path) = address.strip_prefix("rocksdb://") {
        private_folder(std::path::Path::new(path))
            .map_err(|e| AppError::Unavailable(format!("cannot create {path}: {e}")))?;
        super::engine::open_rocksdb(path, memory)
            .await
            .map_err(db_error)?
    } else {
        let db = surrealdb::engine::any::connect(address)
            .await
            .map_err(db_error)?;
        if let (Some(user), Some(pass)) = (user, pass) {
            db.signin(surrealdb::opt::auth::Root {
                username: user.to_owned(),
                password: pass.to_owned(),
            })
            .await
            .map_err(db_error)?;
        }
        Db::Any(db)
    };
    db.use_ns_db(NAMESPACE, DATABASE).await.map_err(db_error)?;
    Ok(db)
}

/// Whether `address` names an embedded database folder that holds no
/// database yet (`None`: not an embedded database).
pub fn rocksdb_missing(address: &str) -> Option<bool> {
    let path = std::path::Path::new(address.strip_prefix("rocksdb://")?);
    Some(!holds_database(path))
}

/// Whether a folder holds a RocksDB database (its `CURRENT` file).
fn holds_database(path: &std::path::Path) -> bool {
    path.join("CURRENT").is_file()
}

/// The embedded database's folder: created `0700`, and narrowed to that
/// (its files to `0600`) when an older version left it readable. New files
/// are private by the process's umask (`main` sets `077`). A folder that
/// holds other files and no database is refused, never taken over (a
/// mistyped `--db` must not change a user's own files).
fn private_folder(path: &std::path::Path) -> std::io::Result<()> {
    // A new volume's `lost+found`, hidden files, and RocksDB's own files
    // (a database whose first start stopped before `CURRENT`) are no one
    // else's.
    let ours = |name: &str| {
        name == "lost+found"
            || name.starts_with('.')
            || ["LOCK", "IDENTITY", "CURRENT"].contains(&name)
            || ["LOG", "MANIFEST-", "OPTIONS-"]
                .iter()
                .any(|p| name.starts_with(p))
            || [".log", ".sst", ".blob", ".dbtmp"]
                .iter()
                .any(|x| name.ends_with(x))
    };
    let foreign = path.is_dir()
        && !holds_database(path)
        && std::fs::read_dir(path)?
            .filter_map(Result::ok)
            .any(|e| !ours(&e.file_name().to_string_lossy()));
    if foreign {
        return Err(std::io::Error::other(
            "the folder holds other files and no database: name a new or empty folder",
        ));
    }
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        dir.mode(0o700);
        dir.create(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    dir.create(path)
}

/// Brings the schema to [`SCHEMA_VERSION`].
pub async fn migrate(db: &Db) -> Result<(), AppError> {
    let current = schema_version(db).await?;
    if current > SCHEMA_VERSION {
        return Err(AppError::Unavailable(format!(
            "the database has schema version {current}, newer than this build's {SCHEMA_VERSION}; use a newer leads-dashboard"
        )));
    }
    for (version, step) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let sql = match step {
            Step::Sql(sql) => sql,
            Step::Code(run) => {
                // Idempotent: a crash before the version is written runs it again.
                run(db).await?;
                ""
            }
        };
        let query = format!("BEGIN; {sql}; UPSERT meta:schema SET version = $version; COMMIT;");
        db.query(query)
            .bind(("version", *version))
            .await
            .and_then(first_error)
            .map_err(db_error)?;
        tracing::info!(version, "database schema migrated");
    }
    Ok(())
}

/// Schema 3: a contact row lists its event ids (`events`), which replaces
/// the `event_contact` index: that index cost two thirds of every event
/// insert. Rebuilds the lists from the stored events (idempotent), then
/// drops the index; `migrate` writes the version.
async fn list_events_on_contacts(db: &Db) -> Result<(), AppError> {
    let mut res = db
        .query("SELECT VALUE [contact, eid] FROM event")
        .await
        .map_err(db_error)?;
    let pairs: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    let mut lists: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for pair in pairs {
        if let (Some(contact), Some(eid)) = (pair[0].as_str(), pair[1].as_str()) {
            lists
                .entry(contact.to_owned())
                .or_default()
                .push(eid.to_owned());
        }
    }
    let rows: Vec<Value> = lists
        .into_iter()
        .map(|(k, ids)| row(record("contact", &k), serde_json::json!({ "events": ids })))
        .collect();
    for chunk in rows.chunks(1000) {
        db.query("FOR $u IN $rows { UPDATE $u.id SET events = $u.events RETURN NONE; };")
            .bind(("rows", chunk.to_vec()))
            .await
            .and_then(|r| r.check())
            .map_err(db_error)?;
    }
    db.query("REMOVE INDEX IF EXISTS event_contact ON event;")
        .await
        .and_then(|r| r.check())
        .map_err(db_error)?;
    Ok(())
}

async fn schema_version(db: &Db) -> Result<i64, AppError> {
    // Selecting from a table that does not exist is an error in SurrealDB 3.
    let mut res = db
        .query("DEFINE TABLE IF NOT EXISTS meta SCHEMALESS; SELECT VALUE version FROM meta:schema;")
        .await
        .map_err(db_error)?;
    let versions: Vec<i64> = res.take(1).map_err(db_error)?;
    Ok(versions.first().copied().unwrap_or(0))
}

/// `table:⟨key⟩` for any text key, without SurrealQL escaping.
pub fn record(table: &str, key: &str) -> RecordId {
    RecordId::new(table, key)
}

/// A JSON object as a SurrealDB object with its record id set.
pub fn row(id: RecordId, json: serde_json::Value) -> Value {
    let mut v = json.into_value();
    if let Value::Object(obj) = &mut v {
        obj.insert("id", id);
    }
    v
}

/// The rows `live` (a `LIVE SELECT …`) reports created or updated by any
/// process from now on (on a SurrealDB server, other instances' commits
/// too). Deletions are left out: contacts and outbox rows are never
/// deleted, and a spend row only to be inserted again in the same commit.
/// The stream ends when the connection does; what was committed meanwhile
/// is not replayed (the follower loads again).
pub async fn live(db: &Db, live: &str) -> Result<Rows, AppError> {
    use futures::StreamExt;
    use surrealdb::types::Action;
    // Instances subscribing at once, or one starting again while the server
    // drops its old subscriptions, can conflict on the server's list of
    // live queries (seen on a SurrealDB 3.3.5 server): subscribe again.
    let mut attempt = 0u32;
    let stream = loop {
        let subscribed = match db.query(live.to_owned()).await {
            Ok(mut res) => res.stream::<surrealdb::Notification<Value>>(0),
            Err(e) => Err(e),
        };
        match subscribed {
            Ok(stream) => break stream,
            Err(e) if attempt < 8 && is_retryable(&e) => {
                attempt += 1;
                tokio::time::sleep(backoff(attempt + 1)).await;
            }
            Err(e) => return Err(db_error(e)),
        }
    };
    Ok(stream
        .filter_map(|n| async move {
            match n {
                Ok(n) if matches!(n.action, Action::Create | Action::Update) => Some(
                    serde_json::Value::from_value(n.data)
                        .map_err(|e| AppError::Internal(format!("an unreadable change: {e}"))),
                ),
                Ok(_) => None,
                Err(e) => Some(Err(db_error(e))),
            }
        })
        .boxed())
}

/// Rows as a live query reports them ([`live`]).
pub type Rows = futures::stream::BoxStream<'static, Result<serde_json::Value, AppError>>;

/// Tests: an embedded RocksDB in a fresh folder named after `name` and
/// this process, its caches sized for `budget` bytes; the caller removes
/// it with [`remove_temp`].
#[cfg(test)]
pub async fn temp_rocksdb(name: &str, budget: u64) -> (Db, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("leads-{name}-{}", std::process::id()));
    let memory = DbMemory::for_budget(budget);
    let db = connect(
        &format!("rocksdb://{}", dir.display()),
        None,
        None,
        Some(&memory),
    )
    .await
    .expect("db");
    (db, dir)
}

/// Tests: removes a test database's folder once `db` is closed. RocksDB
/// closes on a task of its own after the last handle is dropped, and its
/// close writes the folder again (a flushed table, a manifest) when it comes
/// after a first removal, so the removal is repeated until the folder stays
/// gone.
#[cfg(test)]
pub async fn remove_temp(db: Db, dir: std::path::PathBuf) {
    drop(db);
    for _ in 0..50 {
        let _ = std::fs::remove_dir_all(&dir);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if !dir.exists() {
            return;
        }
    }
}

/// Health: a trivial query answers.
pub async fn ping(db: &Db) -> Result<(), AppError> {
    db.query("RETURN 1")
        .await
        .and_then(|r| r.check())
        .map(|_| ())
        .map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::store::contacts;

    /// Every version from 1 to the current one has exactly one step, in order.
    #[test]
    fn the_migrations_are_one_list() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    }

    /// A database written by the first slice (schema 1: nested objects, an
    /// index of events by contact) is migrated and read as it was.
    #[tokio::test]
    async fn schema_1_databases_are_migrated() {
        let db = Db::Any(surrealdb::engine::any::connect("mem://").await.expect("db"));
        db.use_ns_db(NAMESPACE, DATABASE).await.expect("ns");
        let state = serde_json::json!({"key": "web:v1", "phone": null, "external_id": null,
            "first_inbound": {"stamp": {"at": "2026-11-20T10:00:00Z", "id": "a"}, "value": "web"},
            "first_source": null, "last_source": null, "name": null, "email": null,
            "first_touch": null, "early_touches": [], "known_customer": false});
        let event = serde_json::json!({"id": "a", "kind": "message", "occurred_at": "2026-11-20T10:00:00Z",
            "channel": "web", "direction": "inbound", "sender": "customer", "contact_key": "web:v1",
            "phone": null, "external_id": "v1", "name": null, "email": null, "source": null});
        db.query(
            "DEFINE TABLE meta SCHEMALESS; DEFINE TABLE event SCHEMALESS;
             DEFINE INDEX event_contact ON event FIELDS contact, at;
             DEFINE TABLE contact SCHEMALESS; DEFINE INDEX contact_sort ON contact FIELDS sort_key;
             UPSERT meta:schema SET version = 1;
             CREATE event:a SET eid = 'a', contact = 'web:v1', at = '2026-11-20T10:00:00Z', event = $event;
             CREATE type::record('contact', 'web:v1') SET state = $state, sort_key = 'x';",
        )
        .bind(("event", event))
        .bind(("state", state))
        .await
        .and_then(|r| r.check())
        .expect("schema 1 data");
        migrate(&db).await.expect("migrated");
        assert_eq!(schema_version(&db).await.expect("version"), SCHEMA_VERSION);
        let history = contacts::contact_events(&db, "web:v1")
            .await
            .expect("history");
        assert_eq!(history.len(), 1);
        let (_, states) = contacts::load_states(&db, Some).await.expect("states");
        assert_eq!(states.len(), 1);
        assert!(
            states[0]
                .lead(&crate::ssr::domain::rules::Terms::default())
                .is_some()
        );
        let mut res = db.query("INFO FOR TABLE event").await.expect("info");
        let info: Vec<serde_json::Value> = res.take(0).expect("info");
        assert!(
            !serde_json::Value::Array(info)
                .to_string()
                .contains("event_contact")
        );
        // Migrating again changes nothing.
        migrate(&db).await.expect("again");
    }

    /// A folder of other files is refused; a new volume's `lost+found`,
    /// hidden files and RocksDB's own files are not other files.
    #[test]
    fn only_a_folder_of_other_files_is_refused() {
        let dir = std::env::temp_dir().join(format!("leads-folder-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lost+found")).expect("mkdir");
        for f in [
            ".gitkeep",
            "LOCK",
            "LOG",
            "IDENTITY",
            "MANIFEST-000001",
            "000004.log",
        ] {
            std::fs::write(dir.join(f), "").expect("write");
        }
        assert!(private_folder(&dir).is_ok());
        std::fs::write(dir.join("index.html"), "<p>").expect("write");
        assert!(private_folder(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A restore stopped half-way leaves its mark: neither `serve` nor any
    /// other command opens that part of a database.
    #[tokio::test]
    async fn a_restore_stopped_half_way_is_refused() {
        let dir = std::env::temp_dir().join(format!("leads-restoring-{}", std::process::id()));
        let address = format!("rocksdb://{}", dir.display());
        {
            let db = open(&address, None, None, None).await.expect("db");
            db.query(format!(
                "DEFINE TABLE {RESTORING} SCHEMALESS; DEFINE TABLE contact SCHEMALESS;"
            ))
            .await
            .and_then(|r| r.check())
            .expect("half a restore");
        }
        for current in [false, true] {
            // (RocksDB frees its lock a moment after the last handle.)
            let mut err = String::new();
            for _ in 0..50 {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let opened = if current {
                    open_current(&address, None, None, None).await.err()
                } else {
                    connect(&address, None, None, None).await.err()
                };
                err = opened.expect("refused").to_string();
                if !err.contains("lock") {
                    break;
                }
            }
            assert!(err.contains("stopped before it ended"), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Commands other than `serve` and `restore` never migrate: they refuse
    /// another schema and leave it as it was.
    #[tokio::test]
    async fn other_commands_refuse_another_schema_and_leave_it() {
        let dir = std::env::temp_dir().join(format!("leads-schema-{}", std::process::id()));
        let address = format!("rocksdb://{}", dir.display());
        {
            let db = open(&address, None, None, None).await.expect("db");
            db.query("DEFINE TABLE meta SCHEMALESS; UPSERT meta:schema SET version = 1;")
                .await
                .and_then(|r| r.check())
                .expect("schema 1");
        }
        // (RocksDB frees its lock once the handle is gone.)
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let err = open_current(&address, None, None, None)
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("older than this build"), "{err}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let db = open(&address, None, None, None).await.expect("db");
        assert_eq!(stored_version(&db).await.expect("v"), Some(1));
        drop(db);
        // An empty database is set up.
        let fresh = open_current("mem://", None, None, None)
            .await
            .expect("fresh");
        assert_eq!(
            stored_version(&fresh).await.expect("v"),
            Some(SCHEMA_VERSION)
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
