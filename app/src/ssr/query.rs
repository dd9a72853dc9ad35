//! The read path: every read of leads goes through here, so that an
//! in-memory lead index can take it over without touching the pages or the
//! API.
//!
//! Today it reads SurrealDB: the date range is a range of the indexed
//! `sort_key`, pages are keyset pages on the sort's unique key (never
//! offsets), and the total counts the leads of the range that match.

use serde::Deserialize;

use super::db::{Db, db_error};
use super::filter::{Filter, MAX_LIMIT, SortField, encode_cursor};
use super::keys::{LeadKeys, time_key};
use super::rules::LeadFacts;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub leads: Vec<LeadFacts>,
    pub total: u64,
    pub next_cursor: Option<String>,
    /// The raw sort key the next page starts after (what `next_cursor` encodes).
    pub after: Option<String>,
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
    page(db, f, true).await
}

/// Every lead matching `f`, in its sort order, page by page (CSV export and
/// summaries). Reads the filter's date range, never all leads.
pub struct Pages {
    f: Filter,
    done: bool,
}

impl Pages {
    pub fn new(f: &Filter) -> Self {
        let mut f = f.clone();
        f.limit = MAX_LIMIT;
        Pages { f, done: false }
    }

    /// The next page, or `None` after the last.
    pub async fn next(&mut self, db: &Db) -> Result<Option<Vec<LeadFacts>>, AppError> {
        if self.done {
            return Ok(None);
        }
        let p = page(db, &self.f, false).await?;
        match p.after {
            Some(after) => self.f.after = Some(after),
            None => self.done = true,
        }
        Ok(Some(p.leads))
    }
}

/// Totals and breakdowns of every lead matching `f`.
pub async fn summary(db: &Db, f: &Filter) -> Result<crate::model::Summary, AppError> {
    let mut pages = Pages::new(f);
    let mut leads = Vec::new();
    while let Some(page) = pages.next(db).await? {
        leads.extend(page);
    }
    Ok(super::summary::summarize(&leads, f.from, f.to, f.tz))
}

/// The conditions every lead matching `f` meets (cursor aside).
fn matching(f: &Filter) -> String {
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
    conds.join(" AND ")
}

fn sort_field(f: &Filter) -> &'static str {
    match f.sort.field {
        SortField::Date => "sort_key",
        SortField::Name => "name_key",
        SortField::FirstTouch => "touch_key",
    }
}

/// One page: the range of `sort_key` is read through its index.
fn page_sql(f: &Filter) -> String {
    let field = sort_field(f);
    let (dir, op) = if f.sort.desc {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let mut conds = matching(f);
    if f.after.is_some() {
        conds.push_str(&format!(" AND {field} {op} $after"));
    }
    format!("SELECT lead, {field} FROM contact WHERE {conds} ORDER BY {field} {dir} LIMIT $limit")
}

fn count_sql(f: &Filter) -> String {
    format!(
        "SELECT count() AS n FROM contact WHERE {} GROUP ALL",
        matching(f)
    )
}

/// `sql` with the filter's parameters bound.
fn bound<'a>(
    db: &'a Db,
    sql: String,
    f: &Filter,
) -> surrealdb::method::Query<'a, surrealdb::engine::any::Any> {
    db.query(sql)
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
}

async fn page(db: &Db, f: &Filter, with_total: bool) -> Result<Page, AppError> {
    let count = if with_total {
        count_sql(f)
    } else {
        "RETURN []".to_owned()
    };
    let sql = format!("{}; {count};", page_sql(f));
    let mut res = bound(db, sql, f).await.map_err(db_error)?;
    let rows: Vec<serde_json::Value> = res.take(0).map_err(db_error)?;
    let counts: Vec<serde_json::Value> = res.take(1).map_err(db_error)?;

    let mut leads = rows
        .into_iter()
        .map(|r| serde_json::from_value::<Row>(r).map(|r| r.lead))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Internal(format!("unreadable lead: {e}")))?;
    let more = leads.len() > f.limit;
    leads.truncate(f.limit);
    let after = match (more, leads.last()) {
        (true, Some(last)) => {
            let k = LeadKeys::of(last);
            Some(match f.sort.field {
                SortField::Date => k.sort_key,
                SortField::Name => k.name_key,
                SortField::FirstTouch => k.touch_key,
            })
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
        next_cursor: after.as_ref().map(|k| encode_cursor(f.sort, k)),
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::{db, event, ingest, phone};
    use chrono::{TimeZone, Utc};
    use std::collections::HashMap;

    /// Every read stays on the date index: never a scan of all leads.
    #[tokio::test]
    async fn pages_and_counts_read_the_date_range_through_the_index() {
        let db = db::connect("mem://", None, None).await.expect("db");
        let region = phone::parse_region("ID").expect("region");
        let body = serde_json::json!([{"id": "e1", "occurred_at": "2026-11-20T09:15:03+07:00", "channel": "whatsapp",
            "direction": "inbound", "contact": {"phone": "0812-3456-7890", "name": "Budi"}}]);
        let events = event::parse_batch(body.to_string().as_bytes(), region).expect("valid");
        ingest::ingest(&db, events).await.expect("stored");
        let now = Utc
            .with_ymd_and_hms(2026, 11, 21, 0, 0, 0)
            .single()
            .expect("t");
        for params in [
            vec![],
            vec![("q", "budi")],
            vec![("sort", "name")],
            vec![("touched", "no"), ("channel", "whatsapp")],
        ] {
            let params: HashMap<String, String> = params
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let f = Filter::parse(&params, chrono_tz::Asia::Jakarta, now).expect("filter");
            for sql in [page_sql(&f), count_sql(&f)] {
                let mut res = bound(&db, format!("EXPLAIN {sql}"), &f)
                    .await
                    .expect("explain");
                let plan: Vec<serde_json::Value> = res.take(0).expect("plan");
                let plan = serde_json::Value::Array(plan);
                assert!(plan.to_string().contains("contact_sort"), "{sql}\n{plan:#}");
            }
            let page = list(&db, &f).await.expect("list");
            assert_eq!(page.total as usize, page.leads.len());
        }
    }
}
