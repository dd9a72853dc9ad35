//! The filters of `shared/spec/api.md`, parsed once for the HTTP API and the
//! Leads page alike. Pure: "now" is passed in.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::event::CHANNELS;
use super::rules::day_range;
use crate::error::AppError;
use crate::model::LeadsQuery;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    Date,
    Name,
    FirstTouch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub desc: bool,
}

impl Sort {
    const ALL: [(&'static str, Sort); 6] = [
        (
            "-date",
            Sort {
                field: SortField::Date,
                desc: true,
            },
        ),
        (
            "date",
            Sort {
                field: SortField::Date,
                desc: false,
            },
        ),
        (
            "-first_touched_at",
            Sort {
                field: SortField::FirstTouch,
                desc: true,
            },
        ),
        (
            "first_touched_at",
            Sort {
                field: SortField::FirstTouch,
                desc: false,
            },
        ),
        (
            "name",
            Sort {
                field: SortField::Name,
                desc: false,
            },
        ),
        (
            "-name",
            Sort {
                field: SortField::Name,
                desc: true,
            },
        ),
    ];

    pub fn name(self) -> &'static str {
        Sort::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map(|(n, _)| *n)
            .unwrap_or("-date")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    /// `[start, end)` in UTC: the whole days `from..=to` in `tz` (rule 9).
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Lower-cased search text, if any.
    pub q: Option<String>,
    /// The digits of `q` when it reads as (part of) a phone number.
    pub q_digits: Option<String>,
    pub channels: Vec<String>,
    pub source: Option<String>,
    pub touched: Option<bool>,
    pub sort: Sort,
    pub limit: usize,
    /// The sort key of the last lead of the previous page.
    pub after: Option<String>,
}

impl Filter {
    /// Parses query parameters; a malformed one is named in the error.
    pub fn parse(
        params: &HashMap<String, String>,
        default_tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Filter, AppError> {
        let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());

        let tz = match get("tz") {
            None => default_tz,
            Some(t) => t.parse::<Tz>().map_err(|_| {
                AppError::param("tz", "must be an IANA time zone, e.g. Asia/Jakarta")
            })?,
        };
        let day = |k: &str| -> Result<Option<NaiveDate>, AppError> {
            get(k)
                .map(|v| {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map_err(|_| AppError::param(k, "must be a day YYYY-MM-DD"))
                })
                .transpose()
        };
        let today = now.with_timezone(&tz).date_naive();
        let (from, to) = match (day("from")?, day("to")?) {
            (Some(f), Some(t)) => (f, t),
            (Some(f), None) => (f, today.max(f)),
            (None, Some(t)) => (t - Duration::days(6), t),
            (None, None) => (today - Duration::days(6), today),
        };
        if from > to {
            return Err(AppError::param("from", "must not be after to"));
        }
        let (start, end) = day_range(from, to, tz);

        let q = get("q").map(str::to_lowercase);
        let q_digits = q.as_deref().and_then(|q| {
            let phone_like = q
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            let digits: String = q.chars().filter(char::is_ascii_digit).collect();
            (phone_like && !digits.is_empty()).then_some(digits)
        });

        let channels = match get("channel") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    CHANNELS
                        .iter()
                        .find(|k| **k == c)
                        .map(|k| (*k).to_owned())
                        .ok_or_else(|| AppError::param("channel", format!("unknown channel {c:?}")))
                })
                .collect::<Result<_, _>>()?,
        };

        let touched = match get("touched") {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(_) => return Err(AppError::param("touched", "must be yes or no")),
        };

        let sort = match get("sort") {
            None => Sort::ALL[0].1,
            Some(s) => Sort::ALL
                .iter()
                .find(|(n, _)| *n == s)
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    let names: Vec<&str> = Sort::ALL.iter().map(|(n, _)| *n).collect();
                    AppError::param("sort", format!("must be one of {}", names.join(", ")))
                })?,
        };

        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| {
                    AppError::param(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };

        let after = get("cursor").map(|c| decode_cursor(c, sort)).transpose()?;

        Ok(Filter {
            from,
            to,
            tz,
            start,
            end,
            q,
            q_digits,
            channels,
            source: get("source").map(str::to_owned),
            touched,
            sort,
            limit,
            after,
        })
    }

    pub fn from_query(
        query: &LeadsQuery,
        default_tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Filter, AppError> {
        let mut params = HashMap::new();
        let fields = [
            ("from", &query.from),
            ("to", &query.to),
            ("tz", &query.tz),
            ("q", &query.q),
            ("cursor", &query.cursor),
            ("limit", &query.limit),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                params.insert(k.to_owned(), v.clone());
            }
        }
        Filter::parse(&params, default_tz, now)
    }
}

/// An opaque cursor: the sort it belongs to and the last key of the page.
pub fn encode_cursor(sort: Sort, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{key}", sort.name()))
}

fn decode_cursor(text: &str, sort: Sort) -> Result<String, AppError> {
    let bad = || {
        AppError::param(
            "cursor",
            "is not a cursor of this listing; start from the first page",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (name, key) = text.split_once('|').ok_or_else(bad)?;
    if name != sort.name() || key.is_empty() {
        return Err(bad());
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        // 2026-11-20 23:30 in Jakarta.
        Utc.with_ymd_and_hms(2026, 11, 20, 16, 30, 0)
            .single()
            .expect("t")
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Filter, AppError> {
        let params = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Filter::parse(&params, chrono_tz::Asia::Jakarta, now())
    }

    fn param_of(r: Result<Filter, AppError>) -> String {
        match r {
            Err(AppError::InvalidParam { param, .. }) => param,
            other => panic!("expected a parameter error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_last_seven_days_in_the_business_zone() {
        let f = parse(&[]).expect("ok");
        assert_eq!(f.to.to_string(), "2026-11-20");
        assert_eq!(f.from.to_string(), "2026-11-14");
        assert_eq!((f.limit, f.sort.name()), (50, "-date"));
    }

    #[test]
    fn malformed_parameters_are_named() {
        assert_eq!(param_of(parse(&[("from", "20-11-2026")])), "from");
        assert_eq!(param_of(parse(&[("to", "2026-13-01")])), "to");
        assert_eq!(param_of(parse(&[("tz", "Mars/Olympus")])), "tz");
        assert_eq!(param_of(parse(&[("limit", "0")])), "limit");
        assert_eq!(param_of(parse(&[("limit", "501")])), "limit");
        assert_eq!(param_of(parse(&[("cursor", "!!")])), "cursor");
        assert_eq!(param_of(parse(&[("channel", "fax")])), "channel");
        assert_eq!(param_of(parse(&[("touched", "maybe")])), "touched");
        assert_eq!(param_of(parse(&[("sort", "phone")])), "sort");
        assert_eq!(
            param_of(parse(&[("from", "2026-11-21"), ("to", "2026-11-20")])),
            "from"
        );
    }

    #[test]
    fn phone_queries_keep_only_digits() {
        let f = parse(&[("q", "+62 812-3456")]).expect("ok");
        assert_eq!(f.q_digits.as_deref(), Some("628123456"));
        let f = parse(&[("q", "Budi")]).expect("ok");
        assert_eq!((f.q.as_deref(), f.q_digits), (Some("budi"), None));
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_sort() {
        let c = encode_cursor(Sort::ALL[0].1, "2026-11-20T02:15:03.000000000Z\u{1}+62812");
        let f = parse(&[("cursor", &c)]).expect("ok");
        assert_eq!(
            f.after.as_deref(),
            Some("2026-11-20T02:15:03.000000000Z\u{1}+62812")
        );
        assert_eq!(
            param_of(parse(&[("cursor", &c), ("sort", "name")])),
            "cursor"
        );
    }
}
