//! The connection behind [`Db`]: SurrealDB's `Any` engine for `mem://` and
//! SurrealDB servers, its `Local` engine for the embedded RocksDB, which we
//! open ourselves to size its caches (the SDK's `connect` sizes them from
//! the host's memory). The SDK has no conversion between the two, so `Db`
//! forwards the few calls the store makes (queries, transactions, export,
//! import) to whichever it holds.

use std::borrow::Cow;
use std::future::IntoFuture;
use std::path::Path;
use std::sync::Arc;

use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::engine::local::Db as Local;
use surrealdb::method::{IntoVariables, Query as SdkQuery, Transaction};

use crate::ssr::domain::memory::DbMemory;

/// A connection to the database (cheap to clone: a handle).
#[derive(Clone, Debug)]
pub enum Db {
    Any(Surreal<Any>),
    Local(Surreal<Local>),
}

/// A query being built ([`Db::query`], [`Tx::query`]): `bind`, then await.
#[must_use = "a query runs when awaited"]
pub enum Query<'a> {
    Any(SdkQuery<'a, Any>),
    Local(SdkQuery<'a, Local>),
}

/// A transaction ([`Db::begin`]): queries, then `commit` or `cancel`.
pub enum Tx {
    Any(Transaction<Any>),
    Local(Transaction<Local>),
}

impl Db {
    pub fn query<'a>(&'a self, sql: impl Into<Cow<'a, str>>) -> Query<'a> {
        match self {
            Db::Any(db) => Query::Any(db.query(sql)),
            Db::Local(db) => Query::Local(db.query(sql)),
        }
    }

    pub async fn begin(self) -> surrealdb::Result<Tx> {
        Ok(match self {
            Db::Any(db) => Tx::Any(db.begin().await?),
            Db::Local(db) => Tx::Local(db.begin().await?),
        })
    }

    pub async fn export(&self, path: &Path) -> surrealdb::Result<()> {
        match self {
            Db::Any(db) => db.export(path).await,
            Db::Local(db) => db.export(path).await,
        }
    }

    pub async fn import(&self, path: &Path) -> surrealdb::Result<()> {
        match self {
            Db::Any(db) => db.import(path).await,
            Db::Local(db) => db.import(path).await,
        }
    }

    pub async fn use_ns_db(&self, ns: &str, db: &str) -> surrealdb::Result<()> {
        match self {
            Db::Any(d) => d.use_ns(ns).use_db(db).await.map(drop),
            Db::Local(d) => d.use_ns(ns).use_db(db).await.map(drop),
        }
    }
}

impl<'a> Query<'a> {
    pub fn bind(self, vars: impl IntoVariables) -> Self {
        match self {
            Query::Any(q) => Query::Any(q.bind(vars)),
            Query::Local(q) => Query::Local(q.bind(vars)),
        }
    }
}

impl<'a> IntoFuture for Query<'a> {
    type Output = surrealdb::Result<surrealdb::IndexedResults>;
    // Both engines' queries are the same boxed future.
    type IntoFuture = <SdkQuery<'a, Any> as IntoFuture>::IntoFuture;

    fn into_future(self) -> Self::IntoFuture {
        match self {
            Query::Any(q) => q.into_future(),
            Query::Local(q) => q.into_future(),
        }
    }
}

impl Tx {
    pub fn query<'a>(&'a self, sql: impl Into<Cow<'a, str>>) -> Query<'a> {
        match self {
            Tx::Any(tx) => Query::Any(tx.query(sql)),
            Tx::Local(tx) => Query::Local(tx.query(sql)),
        }
    }

    pub async fn commit(self) -> surrealdb::Result<()> {
        match self {
            Tx::Any(tx) => tx.commit().await.map(drop),
            Tx::Local(tx) => tx.commit().await.map(drop),
        }
    }

    pub async fn cancel(self) -> surrealdb::Result<()> {
        match self {
            Tx::Any(tx) => tx.cancel().await.map(drop),
            Tx::Local(tx) => tx.cancel().await.map(drop),
        }
    }
}

/// The `SURREAL_ROCKSDB_*` variables of `vars` as SurrealDB's configuration
/// keys (`rocksdb_…`).
fn rocksdb_overrides(vars: impl Iterator<Item = (String, String)>) -> surrealdb_cnf::ConfigMap {
    vars.filter_map(|(k, v)| {
        let key = k.strip_prefix("SURREAL_")?.to_ascii_lowercase();
        key.starts_with("rocksdb_").then(|| {
            tracing::info!(setting = %key, value = %v, "RocksDB setting from the environment");
            (key, v)
        })
    })
    .fold(surrealdb_cnf::ConfigMap::empty(), |c, (k, v)| {
        c.with_key_value(k, v)
    })
}

/// The embedded RocksDB at `path`, its caches sized by `memory` (`None`:
/// SurrealDB's own sizing, from the host). What SurrealDB 3.3.5's
/// `surrealdb_engine_local::connect` does for the SDK's `connect`, with the
/// one difference of a configuration map (the SDK passes none, and ignores
/// `?key=value` on the address). `unstable_from_datastore` is hidden and
/// without a semver promise: SurrealDB is pinned (`=3.3.5`) for it; check
/// this function against `connect` on every upgrade.
pub async fn open_rocksdb(path: &str, memory: Option<&DbMemory>) -> surrealdb::Result<Db> {
    use surrealdb_cnf::{ConfigMap, NOTIFICATIONS_CHANNEL_SIZE};
    use surrealdb_engine_local::Datastore;
    // (The datastore's errors are text to the SDK too.)
    fn error(e: impl std::fmt::Display) -> surrealdb::Error {
        surrealdb::Error::internal(e.to_string())
    }
    let sized = memory
        .map(|m| m.config())
        .unwrap_or_default()
        .into_iter()
        .fold(ConfigMap::empty(), |c, (k, v)| c.with_key_value(k, v));
    // An operator's own RocksDB settings (`SURREAL_ROCKSDB_*`, SurrealDB's
    // names) win over the sizes above; nothing else is read from the
    // environment (`SURREAL_DATASTORE_SYNC` could end durable commits).
    let config = sized.join(rocksdb_overrides(std::env::vars()));
    // Live queries (the lead index follows commits) need the channel.
    let (send, recv) = surrealdb::channel::bounded(NOTIFICATIONS_CHANNEL_SIZE);
    // Maintenance starts after the version check, as in `connect`: its
    // writes would otherwise make a new datastore look like an old one.
    let ds = Datastore::builder()
        .with_config(config)
        .with_notify(send)
        .without_maintenance_tasks()
        .build_with_path(&format!("rocksdb://{path}"))
        .await
        .map_err(error)?;
    ds.check_version().await.map_err(error)?;
    ds.bootstrap().await.map_err(error)?;
    ds.start_maintenance_tasks();
    opened()
        .lock()
        .map(|mut o| o.push(Arc::downgrade(&ds)))
        .ok();
    let db = Surreal::<Local>::unstable_from_datastore(ds, Some(recv)).await?;
    Ok(Db::Local(db))
}

/// The embedded datastores this process opened (weakly: a closed one goes).
fn opened() -> &'static std::sync::Mutex<Vec<std::sync::Weak<surrealdb_engine_local::Datastore>>> {
    static OPENED: std::sync::OnceLock<
        std::sync::Mutex<Vec<std::sync::Weak<surrealdb_engine_local::Datastore>>>,
    > = std::sync::OnceLock::new();
    OPENED.get_or_init(Default::default)
}

/// Shuts down every embedded datastore still open, waiting for its
/// maintenance tasks: called before the process ends, while the runtime
/// still runs them. Left to the runtime's end, they were cancelled mid-way
/// and SurrealDB logged "Background task did not shut down cleanly" as an
/// ERROR after commands that had succeeded.
///
/// Once its last handle is gone, SurrealDB's engine shuts a datastore down
/// itself: a second shutdown beside that one failed its flush ("Shutdown in
/// progress", logged as an ERROR after `token list` and other commands that
/// had succeeded). So with `wait` this waits a little for that one, and
/// shuts down only a datastore still held (by a task that has not ended).
pub async fn shut_down(wait: bool) {
    let opened: Vec<_> = opened()
        .lock()
        .map(|mut o| std::mem::take(&mut *o))
        .unwrap_or_default();
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_secs(if wait { 2 } else { 0 });
    for weak in opened {
        while weak.strong_count() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if let Some(ds) = weak.upgrade() {
            if let Err(e) = ds.shutdown().await {
                tracing::warn!(error = %e, "the database did not shut down cleanly");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rocksdb_overrides;

    #[test]
    fn only_rocksdb_settings_come_from_the_environment() {
        let vars = [
            ("SURREAL_ROCKSDB_COMPACTION_STYLE", "universal"),
            ("SURREAL_DATASTORE_SYNC", "never"),
            ("LEADS_MEMORY", "1G"),
            ("ROCKSDB_BLOCK_SIZE", "4096"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let map = rocksdb_overrides(vars.into_iter());
        assert!(map.has_key("rocksdb_compaction_style"));
        assert!(!map.has_key("datastore_sync"));
        assert!(!map.has_key("leads_memory"));
        assert!(!map.has_key("rocksdb_block_size"));
    }
}
