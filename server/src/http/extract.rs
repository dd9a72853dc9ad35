//! Extractors for request concerns: the filters of `shared/spec/api.md`,
//! parsed once for every leads route.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use chrono::Utc;

use app::error::AppError;
use app::ssr::domain::filter::Filter;
use app::ssr::leads::{AdsOrder, Attribution, CountBy};

use app::ssr::state::AppState;

use super::ApiError;

/// The filters of a paged read (`GET /api/v1/leads`).
pub struct LeadFilter(pub Filter);

/// The filters of an unpaged read (summary, CSV): `cursor` and `limit` are
/// ignored.
pub struct UnpagedFilter(pub Filter);

/// The query's parameters. A list parameter given more than once
/// (`channel=whatsapp&channel=instagram`, as many clients write lists) is
/// one comma-separated list; any other given twice with different values
/// is a 400 naming it, rather than one of them silently winning.
async fn params(parts: &mut Parts, state: &AppState) -> Result<HashMap<String, String>, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError(AppError::param("query", "is not a valid query string")))?;
    Ok(merge_params(pairs)?)
}

const LISTS: &[&str] = &["channel", "quality"];

fn merge_params(pairs: Vec<(String, String)>) -> Result<HashMap<String, String>, AppError> {
    let mut out: HashMap<String, String> = HashMap::new();
    for (k, v) in pairs {
        match out.get_mut(&k) {
            None => {
                out.insert(k, v);
            }
            Some(have) if LISTS.contains(&k.as_str()) => {
                if !v.is_empty() {
                    if !have.is_empty() {
                        have.push(',');
                    }
                    have.push_str(&v);
                }
            }
            Some(have) if *have == v => {}
            Some(_) => {
                let why = "is given more than once with different values";
                return Err(AppError::param(&k, why));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::merge_params;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn repeated_list_parameters_are_one_list() {
        let m = merge_params(pairs(&[
            ("channel", "whatsapp"),
            ("channel", "instagram"),
            ("tz", "UTC"),
            ("tz", "UTC"),
        ]))
        .expect("merged");
        assert_eq!(m["channel"], "whatsapp,instagram");
        assert_eq!(m["tz"], "UTC");
        let e = merge_params(pairs(&[("sort", "date"), ("sort", "-date")]));
        assert!(
            matches!(e, Err(app::error::AppError::InvalidParam { param, .. }) if param == "sort")
        );
    }
}

impl FromRequestParts<AppState> for LeadFilter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let p = params(parts, state).await?;
        Ok(LeadFilter(Filter::parse(
            &p,
            state.settings.tz,
            Utc::now(),
        )?))
    }
}

impl FromRequestParts<AppState> for UnpagedFilter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let p = params(parts, state).await?;
        Ok(UnpagedFilter(Filter::parse_unpaged(
            &p,
            state.settings.tz,
            Utc::now(),
        )?))
    }
}

/// The ads report's parameters: the filters of an unpaged read,
/// `attribution=first|last`, `count_by=lead_date|event_date`, and its order
/// `sort=` (a column of the report, `-` for descending; the page's
/// `order=` too). The leads' sort means nothing to the report.
pub struct AdsParams {
    pub filter: Filter,
    pub attribution: Attribution,
    pub count_by: CountBy,
    pub order: AdsOrder,
}

impl FromRequestParts<AppState> for AdsParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut p = params(parts, state).await?;
        let order = match (p.remove("sort"), p.remove("order")) {
            (Some(s), _) if !s.trim().is_empty() => AdsOrder::parse(Some(&s), "sort")?,
            (_, o) => AdsOrder::parse(o.as_deref(), "order")?,
        };
        Ok(AdsParams {
            filter: Filter::parse_unpaged(&p, state.settings.tz, Utc::now())?,
            attribution: Attribution::parse(p.get("attribution").map(String::as_str))?,
            count_by: CountBy::parse(p.get("count_by").map(String::as_str))?,
            order,
        })
    }
}
