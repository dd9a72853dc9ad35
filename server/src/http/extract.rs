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

async fn params(parts: &mut Parts, state: &AppState) -> Result<HashMap<String, String>, ApiError> {
    Query::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Query(p)| p)
        .map_err(|_| ApiError(AppError::param("query", "is not a valid query string")))
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
