//! The read path: every read of leads goes through here, so that an
//! in-memory lead index can take it over without touching the pages or the
//! API.
//!
//! Today it reads SurrealDB: the date range is a range of the indexed
//! `sort_key`, pages are keyset pages on the sort's unique key (never
//! offsets), and the total counts the leads of the range that match.

use serde::Deserialize;

use super::db::{Db, db_error};
use super::filter::{Filter, SortField, encode_cursor};
use super::keys::{LeadKeys, time_key};
use super::rules::LeadFacts;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub leads: Vec<LeadFacts>,
    pub total: u64,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Row {
    lead: LeadFacts,
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

/// One page of leads matching `f`, and how many match in all.
pub async fn list(db: &Db, f: &Filter) -> Result<Page, AppError> {
    let mut conds = vec!["sort_key >= $lo", "sort_key < $hi"];
    if f.q.is_some() {
        conds.push(if f.q_digits.is_some() {
            "(string::contains(search, $q) OR string::contains(phones, $qd))"
        } else {
            "string::contains(search, $q)"
        });
    }
    if !f.channels.is_empty() {
        conds.push("channel IN $channels");
    }
    if f.source.is_some() {
        conds.push("(source_platform = $source OR source_id = $source)");
    }
    if f.touched.is_some() {
        conds.push("touched = $touched");
    }
    let matching = conds.join(" AND ");

    let field = match f.sort.field {
        SortField::Date => "sort_key",
        SortField::Name => "name_key",
        SortField::FirstTouch => "touch_key",
    };
    let (dir, op) = if f.sort.desc { ("DESC", "<") } else { ("ASC", ">") };
    let page_conds = match f.after {
        Some(_) => format!("{matching} AND {field} {op} $after"),
        None => matching.clone(),
    };
    let sql = format!(
        "SELECT lead, {field} FROM contact WHERE {page_conds} ORDER BY {field} {dir} LIMIT $limit;
         SELECT count() AS n FROM contact WHERE {matching} GROUP ALL;"
    );
    let mut res = db
        .query(sql)
        .bind(("lo", time_key(f.start)))
        .bind(("hi", time_key(f.end)))
        .bind(("q", f.q.clone().unwrap_or_default()))
        .bind(("qd", f.q_digits.clone().unwrap_or_default()))
        .bind(("channels", f.channels.clone()))
        .bind(("source", f.source.clone().unwrap_or_default()))
        .bind(("touched", f.touched.unwrap_or(false)))
        .bind(("after", f.after.clone().unwrap_or_default()))
        // One more than asked tells whether another page follows.
        .bind(("limit", f.limit as i64 + 1))
        .await
        .map_err(db_error)?;
    let rows: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    let counts: Vec<serde_json::Value> = res.take(1).map_err(db_error)?;

    let mut leads = rows
        .into_iter()
        .map(|r| serde_json::from_value::<Row>(r).map(|r| r.lead))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Internal(format!("unreadable lead: {e}")))?;
    let more = leads.len() > f.limit;
    leads.truncate(f.limit);
    let next_cursor = match (more, leads.last()) {
        (true, Some(last)) => {
            let k = LeadKeys::of(last);
            let key = match f.sort.field {
                SortField::Date => k.sort_key,
                SortField::Name => k.name_key,
                SortField::FirstTouch => k.touch_key,
            };
            Some(encode_cursor(f.sort, &key))
        }
        _ => None,
    };
    let total = counts
        .into_iter()
        .next()
        .map(serde_json::from_value::<Count>)
        .transpose()
        .map_err(|e| AppError::Internal(format!("unreadable count: {e}")))?
        .map_or(0, |c| c.n);
    Ok(Page {
        leads,
        total,
        next_cursor,
    })
}
