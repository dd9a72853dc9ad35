//! Ad spend rows: `spend:⟨day|platform|ad id⟩`, written so that a row for a
//! key that exists replaces it (importing an export again never adds).

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
pub async fn put(db: &Db, rows: &[SpendDay]) -> Result<(), AppError> {
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|d| {
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
            })
            .collect();
        db.query(
            "INSERT INTO spend $rows ON DUPLICATE KEY UPDATE spend = $input.spend, \
             ad_name = $input.ad_name, campaign_name = $input.campaign_name RETURN NONE;",
        )
        .bind(("rows", values))
        .await
        .map_err(db_error)?
        .check()
        .map_err(db_error)?;
    }
    Ok(())
}

/// Every spend row.
pub async fn load(db: &Db) -> Result<Vec<SpendDay>, AppError> {
    let mut res = db
        .query("SELECT date, platform, ad_id, spend, ad_name, campaign_name FROM spend")
        .await
        .map_err(db_error)?;
    let rows: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    rows.into_iter()
        .map(|r| {
            serde_json::from_value(r)
                .map_err(|e| AppError::Internal(format!("an unreadable spend row: {e}")))
        })
        .collect()
}
