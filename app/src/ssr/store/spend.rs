//! Ad spend rows: `spend:⟨day|platform|ad id⟩`, written so that a row for a
//! key that exists replaces it (importing an export again never adds).

use std::collections::HashMap;

use serde_json::json;

use super::db::{Db, db_error, record, row};
use crate::error::AppError;

pub use crate::ssr::domain::money::SpendRow as SpendDay;

/// Rows per transaction: a year's export (180k rows) in bounded commits.
const CHUNK: usize = 2000;

fn key(d: &SpendDay) -> String {
    format!("{}|{}|{}", d.date, d.platform, d.ad_id)
}

/// Stores `rows`, replacing the rows of the same day, platform and ad.
/// A chunk's stored rows are read first and only what differs is written:
/// a new key is a plain insert, a changed one is deleted and inserted in
/// the same transaction. Touching a stored record costs several times an
/// insert (re-importing a year's export row by row took minutes), and
/// exports are re-imported with most of their days unchanged.
pub async fn put(db: &Db, rows: &[SpendDay]) -> Result<(), AppError> {
    for chunk in latest(rows).chunks(CHUNK) {
        let ids: Vec<_> = chunk.iter().map(|d| record("spend", &key(d))).collect();
        let mut res = db
            .query("SELECT date, platform, ad_id, spend, ad_name, campaign_name FROM $ids")
            .bind(("ids", ids))
            .await
            .map_err(db_error)?;
        let stored: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
        let stored = stored
            .into_iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let (fresh, changed) = changes(chunk, &stored);
        if fresh.is_empty() && changed.is_empty() {
            continue;
        }
        let gone: Vec<_> = changed.iter().map(|d| record("spend", &key(d))).collect();
        let values: Vec<_> = fresh.iter().chain(&changed).map(|d| value(d)).collect();
        db.query("BEGIN; DELETE $gone RETURN NONE; INSERT INTO spend $rows RETURN NONE; COMMIT;")
            .bind(("gone", gone))
            .bind(("rows", values))
            .await
            .map_err(db_error)?
            .check()
            .map_err(db_error)?;
    }
    Ok(())
}

/// One row per key, the last of each (as writing them in turn would leave).
fn latest(rows: &[SpendDay]) -> Vec<&SpendDay> {
    let mut last: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (i, d) in rows.iter().enumerate() {
        last.insert(key(d), i);
    }
    rows.iter()
        .enumerate()
        .filter(|(i, d)| last.get(&key(d)) == Some(i))
        .map(|(_, d)| d)
        .collect()
}

/// The rows of `chunk` not stored yet, and those stored with other values.
fn changes<'a>(
    chunk: &[&'a SpendDay],
    stored: &[SpendDay],
) -> (Vec<&'a SpendDay>, Vec<&'a SpendDay>) {
    let stored: HashMap<String, &SpendDay> = stored.iter().map(|d| (key(d), d)).collect();
    let (mut fresh, mut changed) = (Vec::new(), Vec::new());
    for d in chunk {
        match stored.get(&key(d)) {
            None => fresh.push(*d),
            Some(old) if *old != *d => changed.push(*d),
            Some(_) => {}
        }
    }
    (fresh, changed)
}

fn value(d: &SpendDay) -> surrealdb::types::Value {
    row(
        record("spend", &key(d)),
        json!({
            "date": d.date.to_string(),
            "platform": d.platform,
            "ad_id": d.ad_id,
            "spend": d.spend,
            "ad_name": d.ad_name,
            "campaign_name": d.campaign_name,
        }),
    )
}

fn parse(r: serde_json::Value) -> Result<SpendDay, AppError> {
    serde_json::from_value(r)
        .map_err(|e| AppError::Internal(format!("an unreadable spend row: {e}")))
}

/// Every spend row.
pub async fn load(db: &Db) -> Result<Vec<SpendDay>, AppError> {
    let mut res = db
        .query("SELECT date, platform, ad_id, spend, ad_name, campaign_name FROM spend")
        .await
        .map_err(db_error)?;
    let rows: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    rows.into_iter().map(parse).collect()
}

/// Spend rows as any process stores them from now on ([`super::db::live`]);
/// the stream ends with the connection.
pub async fn watch(db: &Db) -> Result<SpendChanges, AppError> {
    use futures::StreamExt;
    let rows = super::db::live(
        db,
        "LIVE SELECT date, platform, ad_id, spend, ad_name, campaign_name FROM spend",
    )
    .await?;
    Ok(rows.map(|row| parse(row?)).boxed())
}

/// Stored spend rows as they arrive ([`watch`]).
pub type SpendChanges = futures::stream::BoxStream<'static, Result<SpendDay, AppError>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, ad: &str, spend: i64) -> SpendDay {
        SpendDay {
            date: date.parse().expect("date"),
            platform: "meta".into(),
            ad_id: ad.into(),
            spend,
            ad_name: None,
            campaign_name: None,
        }
    }

    #[test]
    fn the_last_row_of_a_key_wins() {
        let rows = [
            day("2026-10-05", "1", 5),
            day("2026-10-06", "1", 6),
            day("2026-10-05", "1", 7),
        ];
        let got: Vec<i64> = latest(&rows).iter().map(|d| d.spend).collect();
        assert_eq!(got, [6, 7]);
    }

    #[test]
    fn only_new_and_changed_rows_are_written() {
        let (a, b, c) = (
            day("2026-10-05", "1", 5),
            day("2026-10-05", "2", 8),
            day("2026-10-06", "1", 6),
        );
        let mut renamed = b.clone();
        renamed.ad_name = Some("Kopi".into());
        let stored = [a.clone(), day("2026-10-05", "2", 8)];
        let chunk = [&a, &renamed, &c];
        let (fresh, changed) = changes(&chunk, &stored);
        assert_eq!(fresh, [&c]);
        assert_eq!(changed, [&renamed]);
        let again = [&a, &b];
        assert_eq!(changes(&again, &stored), (vec![], vec![]));
    }
}
