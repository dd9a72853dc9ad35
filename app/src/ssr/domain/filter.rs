//! The filters of `shared/spec/api.md`, parsed once for the HTTP API and the
//! Leads page alike. Pure: "now" is passed in.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use serde::{Deserialize, Serialize};

use super::days::day_range;
use super::event::CHANNELS;
use super::phone;
use crate::error::AppError;
use crate::model::LeadsQuery;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;
/// The longest date range a request may ask for: about ten years. Longer
/// ranges answer 400 (a summary has one `by_day` entry per day).
pub const MAX_RANGE_DAYS: i64 = 3660;
/// Days outside these years answer 400 (events lie between 1970 and 9998).
const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 9999;

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

/// A lead quality flag (`shared/spec/outcomes.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quality {
    Answered,
    Engaged,
    OneMessage,
    Buyer,
}

impl Quality {
    pub const ALL: [(&'static str, Quality); 4] = [
        ("answered", Quality::Answered),
        ("engaged", Quality::Engaged),
        ("one_message", Quality::OneMessage),
        ("buyer", Quality::Buyer),
    ];

    /// `quality=engaged,not_buyer`: every named condition must hold.
    pub fn parse_list(text: &str) -> Result<Vec<(Quality, bool)>, AppError> {
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                let (name, want) = match t.strip_prefix("not_") {
                    Some(n) => (n, false),
                    None => (t, true),
                };
                Quality::ALL
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, q)| (*q, want))
                    .ok_or_else(|| {
                        AppError::param(
                            "quality",
                            "must be answered, engaged, one_message or buyer, or their not_ forms (not_buyer)",
                        )
                    })
            })
            .collect()
    }
}

/// A lead's Conversions API state as `capi=` names it
/// (`shared/spec/meta-capi.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapiState {
    Sent,
    Pending,
    Rejected,
    NotSendable,
}

impl CapiState {
    pub const ALL: [(&'static str, CapiState); 4] = [
        ("sent", CapiState::Sent),
        ("pending", CapiState::Pending),
        ("rejected", CapiState::Rejected),
        ("not_sendable", CapiState::NotSendable),
    ];

    pub fn parse(text: &str) -> Result<CapiState, AppError> {
        CapiState::ALL
            .iter()
            .find(|(n, _)| *n == text.trim())
            .map(|(_, c)| *c)
            .ok_or_else(|| {
                AppError::param("capi", "must be sent, pending, rejected or not_sendable")
            })
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
    /// Lower-cased search text without control characters, if any.
    pub q: Option<String>,
    /// When `q` reads as (part of) a phone number: the digit strings it
    /// stands for (`phone::query_forms`); empty otherwise.
    pub q_phone: Vec<String>,
    pub channels: Vec<String>,
    pub source: Option<String>,
    /// The same test of the last source (`last_source=`): the ads report's
    /// rows by last source link to the leads they count.
    pub last_source: Option<String>,
    pub touched: Option<bool>,
    /// Lead quality conditions, each a flag and whether it must hold.
    pub quality: Vec<(Quality, bool)>,
    /// The leads whose Conversions API state is this.
    pub capi: Option<CapiState>,
    pub sort: Sort,
    pub limit: usize,
    /// Where the previous page ended.
    pub after: Option<Cursor>,
}

/// The sort values of the last lead of a page, as they were when the page
/// was served: the next page starts strictly after them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The lead's Date: seconds and nanoseconds since 1970 (UTC).
    pub date: (i64, u32),
    /// First Touched At, `None` while unanswered.
    pub touch: Option<(i64, u32)>,
    /// The lower-cased name (`name` sorts only), `None` without a name.
    pub name: Option<String>,
    /// The contact key: makes every sort key unique.
    pub key: String,
}

/// Whether a source is what `source=want` (or `last_source=`) names,
/// `want` not being `none`: the platform in any case, the id exactly, or
/// the name of a source without an id (`outcomes.md`: "or, without id,
/// their name"). The leads' test and the spend rows' alike.
pub fn source_matches(platform: &str, id: Option<&str>, name: Option<&str>, want: &str) -> bool {
    platform.eq_ignore_ascii_case(want) || id == Some(want) || (id.is_none() && name == Some(want))
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
            // Exactly `YYYY-MM-DD` (chrono alone also takes `2026-1-5`).
            let shaped = |v: &str| {
                v.len() == 10
                    && v.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    })
            };
            get(k)
                .map(|v| {
                    Some(v)
                        .filter(|v| shaped(v))
                        .and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
                        .ok_or_else(|| AppError::param(k, "must be a day YYYY-MM-DD"))
                })
                .transpose()
        };
        let in_years = |k: &str, d: Option<NaiveDate>| match d {
            Some(d) if !(FIRST_YEAR..=LAST_YEAR).contains(&d.year()) => Err(AppError::param(
                k,
                format!("must be a day between {FIRST_YEAR} and {LAST_YEAR}"),
            )),
            _ => Ok(d),
        };
        let (from_day, to_day) = (in_years("from", day("from")?)?, in_years("to", day("to")?)?);
        let today = now.with_timezone(&tz).date_naive();
        let week_before = |d: NaiveDate| d.checked_sub_days(Days::new(6)).unwrap_or(d);
        let preset = get("range")
            .map(|r| {
                preset_days(r, today).ok_or_else(|| {
                    AppError::param(
                        "range",
                        "must be today, yesterday, 7d, 30d, this_month or last_month",
                    )
                })
            })
            .transpose()?;
        let (from, to) = match (from_day, to_day, preset) {
            (Some(f), Some(t), _) => (f, t),
            (Some(f), None, _) => (f, today.max(f)),
            (None, Some(t), _) => (week_before(t), t),
            (None, None, Some(days)) => days,
            (None, None, None) => (week_before(today), today),
        };
        if from > to {
            return Err(AppError::param("from", "must not be after to"));
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS {
            return Err(AppError::param(
                "to",
                format!("the range may span at most {MAX_RANGE_DAYS} days (about ten years)"),
            ));
        }
        let (start, end) = day_range(from, to, tz);

        let q = get("q")
            .map(|q| {
                q.chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>()
                    .to_lowercase()
            })
            .filter(|q| !q.trim().is_empty());
        let q_phone = match q.as_deref() {
            Some(q)
                if q.chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)) =>
            {
                phone::query_forms(q)
            }
            _ => Vec::new(),
        };

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

        let quality = get("quality")
            .map(Quality::parse_list)
            .transpose()?
            .unwrap_or_default();

        let capi = get("capi")
            .filter(|c| !c.is_empty())
            .map(CapiState::parse)
            .transpose()?;

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
            // Digits only (`parse` also takes a leading `+`).
            Some(l) => Some(l)
                .filter(|l| l.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|l| l.parse::<usize>().ok())
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
            q_phone,
            channels,
            source: get("source").map(str::to_owned),
            last_source: get("last_source").map(str::to_owned),
            touched,
            quality,
            capi,
            sort,
            limit,
            after,
        })
    }

    /// For reads that are not paged (summary, CSV): `cursor` and `limit`
    /// are checked like every filter (`api.md`: the table is shared, and a
    /// malformed parameter answers 400 naming it), then ignored.
    pub fn parse_unpaged(
        params: &HashMap<String, String>,
        default_tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Filter, AppError> {
        let mut filter = Filter::parse(params, default_tz, now)?;
        filter.after = None;
        filter.limit = DEFAULT_LIMIT;
        Ok(filter)
    }

    pub fn from_query(
        query: &LeadsQuery,
        default_tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Filter, AppError> {
        let params: HashMap<String, String> = query
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        Filter::parse(&params, default_tz, now)
    }
}

impl Filter {
    /// The same filters over the days of equal number just before `from`
    /// (`None` when they would start before 1970). A period still running
    /// at `now` is set against as much of the previous one: at 09:00,
    /// today against yesterday until 09:00, not against all of yesterday
    /// (which would read as a fall every morning).
    pub fn previous_period(&self, now: DateTime<Utc>) -> Option<Filter> {
        let days = (self.to - self.from).num_days() + 1;
        let to = self.from.checked_sub_days(Days::new(1))?;
        let from = self.from.checked_sub_days(Days::new(days as u64))?;
        if from.year() < FIRST_YEAR {
            return None;
        }
        let (start, mut end) = day_range(from, to, self.tz);
        if self.start < now && now < self.end {
            end = end.min(start + (now - self.start));
        }
        Some(Filter {
            from,
            to,
            start,
            end,
            after: None,
            ..self.clone()
        })
    }
}

/// The days of a named range ending today (`range=`; explicit `from`/`to`
/// win over it): what the page's presets link to, so a bookmarked "last 7
/// days" stays the last 7 days.
pub fn preset_days(name: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let back = |n: u64| today.checked_sub_days(Days::new(n));
    let month_start = today.with_day(1)?;
    Some(match name {
        "today" => (today, today),
        "yesterday" => (back(1)?, back(1)?),
        "7d" => (back(6)?, today),
        "30d" => (back(29)?, today),
        "this_month" => (month_start, today),
        "last_month" => {
            let end = month_start.pred_opt()?;
            (end.with_day(1)?, end)
        }
        _ => return None,
    })
}

/// An opaque cursor: the sort it belongs to and where the page ended.
pub fn encode_cursor(sort: Sort, c: &Cursor) -> String {
    let text = serde_json::json!([sort.name(), c]).to_string();
    URL_SAFE_NO_PAD.encode(text)
}

fn decode_cursor(text: &str, sort: Sort) -> Result<Cursor, AppError> {
    let bad = || {
        AppError::param(
            "cursor",
            "is not a cursor of this listing; start from the first page",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let (name, cursor): (String, Cursor) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if name != sort.name() || cursor.key.is_empty() || cursor.date.1 >= 1_000_000_000 {
        return Err(bad());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_whole_days_ending_today() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("day");
        let today = d("2026-03-01");
        let got = |n| preset_days(n, today).map(|(a, b)| (a.to_string(), b.to_string()));
        let want = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(got("today"), want("2026-03-01", "2026-03-01"));
        assert_eq!(got("yesterday"), want("2026-02-28", "2026-02-28"));
        assert_eq!(got("7d"), want("2026-02-23", "2026-03-01"));
        assert_eq!(got("30d"), want("2026-01-31", "2026-03-01"));
        assert_eq!(got("this_month"), want("2026-03-01", "2026-03-01"));
        assert_eq!(got("last_month"), want("2026-02-01", "2026-02-28"));
        assert_eq!(got("week"), None);
    }

    #[test]
    fn the_previous_period_has_as_many_days_just_before() {
        let now = "2026-11-27T05:00:00Z".parse().expect("t");
        let p = |pairs: &[(&str, &str)]| {
            let m = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Filter::parse(&m, chrono_tz::Asia::Jakarta, now).expect("parses")
        };
        let f = p(&[
            ("from", "2026-11-21"),
            ("to", "2026-11-27"),
            ("channel", "whatsapp"),
        ]);
        let prev = f.previous_period(f.end).expect("previous");
        assert_eq!(
            (prev.from.to_string(), prev.to.to_string()),
            ("2026-11-14".into(), "2026-11-20".into())
        );
        assert_eq!(prev.channels, f.channels);
        assert_eq!(prev.end, f.start);
        let one = p(&[("from", "2026-11-01"), ("to", "2026-11-01")]);
        assert_eq!(
            one.previous_period(one.end).expect("p").from.to_string(),
            "2026-10-31"
        );
        assert!(
            p(&[("from", "1970-01-01"), ("to", "1970-01-05")])
                .previous_period(now)
                .is_none()
        );
        // Today at 12:00 in Jakarta (05:00 UTC) is set against yesterday
        // until 12:00; the last 7 days (today's half included) against the
        // 7 before, until the same hour of their last day.
        let today = p(&[("range", "today")]);
        let prev = today.previous_period(now).expect("p");
        assert_eq!(prev.from.to_string(), "2026-11-26");
        assert_eq!(prev.start, today.start - chrono::Duration::days(1));
        assert_eq!(prev.end, now - chrono::Duration::days(1));
        let week = p(&[("range", "7d")]);
        let prev = week.previous_period(now).expect("p");
        assert_eq!(prev.end, now - chrono::Duration::days(7));
        // A period over: all of the one before.
        assert_eq!(
            f.previous_period(f.end + chrono::Duration::days(1))
                .expect("p")
                .end,
            f.start
        );
    }
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
        assert_eq!(param_of(parse(&[("from", "2026-1-5")])), "from");
        assert_eq!(param_of(parse(&[("to", "+2026-11-20")])), "to");
        assert_eq!(param_of(parse(&[("tz", "Mars/Olympus")])), "tz");
        assert_eq!(param_of(parse(&[("limit", "0")])), "limit");
        assert_eq!(param_of(parse(&[("limit", "501")])), "limit");
        assert_eq!(param_of(parse(&[("limit", "+5")])), "limit");
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
        assert!(f.q_phone.contains(&"628123456".to_owned()));
        let f = parse(&[("q", "Budi\u{0}")]).expect("ok");
        assert_eq!(f.q.as_deref(), Some("budi"));
        assert!(f.q_phone.is_empty());
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_sort() {
        let cursor = Cursor {
            date: (1_763_604_903, 5),
            touch: None,
            name: Some("budi | santoso".into()),
            key: "+62812".into(),
        };
        let c = encode_cursor(Sort::ALL[0].1, &cursor);
        let f = parse(&[("cursor", &c)]).expect("ok");
        assert_eq!(f.after.as_ref(), Some(&cursor));
        assert_eq!(
            param_of(parse(&[("cursor", &c), ("sort", "name")])),
            "cursor"
        );
    }

    #[test]
    fn date_ranges_are_bounded_and_never_panic() {
        assert_eq!(
            param_of(parse(&[("from", "-262143-01-01"), ("to", "9999-12-31")])),
            "from"
        );
        assert_eq!(param_of(parse(&[("to", "-262143-01-03")])), "to");
        assert_eq!(
            param_of(parse(&[("from", "1970-01-01"), ("to", "9999-12-31")])),
            "to"
        );
        // A derived `from` just before 1970 is fine: no panic, no error.
        let f = parse(&[("to", "1970-01-03")]).expect("ok");
        assert_eq!(f.from.to_string(), "1969-12-28");
    }

    #[test]
    fn unpaged_reads_check_cursor_and_limit_then_ignore_them() {
        let unpaged = |pairs: &[(&str, &str)]| {
            let params = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Filter::parse_unpaged(&params, chrono_tz::Asia::Jakarta, now())
        };
        let cursor = Cursor {
            date: (1_763_604_903, 5),
            touch: None,
            name: None,
            key: "+62812".into(),
        };
        let c = encode_cursor(parse(&[]).expect("ok").sort, &cursor);
        let f = unpaged(&[("cursor", &c), ("limit", "2")]).expect("ok");
        assert_eq!((f.after, f.limit), (None, DEFAULT_LIMIT));
        assert_eq!(param_of(unpaged(&[("cursor", "garbage")])), "cursor");
        assert_eq!(param_of(unpaged(&[("limit", "0")])), "limit");
    }
}
