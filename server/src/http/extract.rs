//! Extractors for request concerns: the filters of `shared/spec/api.md`,
//! parsed once for every leads route.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use chrono::Utc;

use app::error::AppError;
use app::ssr::domain::filter::Filter;
use app::ssr::leads::{Attribution, CountBy};
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

/// The ads report's own parameters: `attribution=first|last`,
/// `count_by=lead_date|event_date`.
pub struct AdsParams {
    pub attribution: Attribution,
    pub count_by: CountBy,
}

impl FromRequestParts<AppState> for AdsParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let p = params(parts, state).await?;
        let get = |k: &str| p.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let attribution = match get("attribution") {
            None | Some("first") => Attribution::First,
            Some("last") => Attribution::Last,
            Some(_) => return Err(AppError::param("attribution", "must be first or last").into()),
        };
        let count_by = match get("count_by") {
            None | Some("lead_date") => CountBy::LeadDate,
            Some("event_date") => CountBy::EventDate,
            Some(_) => {
                return Err(AppError::param("count_by", "must be lead_date or event_date").into());
            }
        };
        Ok(AdsParams {
            attribution,
            count_by,
        })
    }
}
