//! The page's state lives in the URL: every filter, the sort, the range and
//! the open lead. Changing it navigates within the app (no page load), so a
//! link reproduces the view and back and forward work.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

use crate::model::LeadsQuery;

/// The filter parameters the page keeps (the API's names): the period and
/// zone, those that narrow the leads ([`NARROWING`]), the sort.
pub const FILTER_KEYS: [&str; 12] = [
    "range",
    "from",
    "to",
    "tz",
    "q",
    "channel",
    "source",
    "last_source",
    "touched",
    "quality",
    "capi",
    "sort",
];

/// The parameters that narrow the leads (not the period, zone or sort):
/// what "Clear filters" removes, shown only while one is set.
pub const NARROWING: &[&str] = FILTER_KEYS.split_at(4).1.split_at(7).0;

#[derive(Clone, Copy)]
pub struct UrlState {
    pub query: Memo<ParamsMap>,
    nav: StoredValue<Box<dyn Fn(&str, NavigateOptions) + Send + Sync>>,
}

impl UrlState {
    pub fn new() -> Self {
        let navigate = use_navigate();
        UrlState {
            query: use_query_map(),
            nav: StoredValue::new(Box::new(move |url: &str, o: NavigateOptions| {
                navigate(url, o)
            })),
        }
    }

    /// One parameter (tracked).
    pub fn get(&self, key: &str) -> Option<String> {
        self.query
            .with(|q| q.get(key))
            .filter(|v| !v.trim().is_empty())
    }

    /// Sets (`Some`) or removes (`None`) parameters, keeping the others.
    /// `replace` rewrites the current history entry (typing in the search
    /// box) instead of adding one.
    pub fn set(&self, changes: &[(&str, Option<String>)], replace: bool) {
        self.set_at("/", changes, replace);
    }

    /// [`UrlState::set`] on the page at `path` (the Ads view's `/ads`).
    pub fn set_at(&self, path: &str, changes: &[(&str, Option<String>)], replace: bool) {
        let mut params = self.query.get_untracked();
        for (key, value) in changes {
            let key = (*key).to_owned();
            match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => {
                    params.replace(key, v.to_owned());
                }
                None => {
                    params.remove(&key);
                }
            }
        }
        let url = format!("{path}{}", params.to_query_string());
        self.nav.with_value(|n| {
            n(
                &url,
                NavigateOptions {
                    replace,
                    scroll: false,
                    ..Default::default()
                },
            )
        });
    }

    /// The filters as the server functions take them (tracked).
    pub fn leads_query(&self) -> LeadsQuery {
        let get = |k: &str| self.get(k);
        LeadsQuery {
            range: get("range"),
            from: get("from"),
            to: get("to"),
            tz: get("tz"),
            q: get("q"),
            channel: get("channel"),
            source: get("source"),
            last_source: get("last_source"),
            touched: get("touched"),
            quality: get("quality"),
            capi: get("capi"),
            sort: get("sort"),
            cursor: None,
            limit: None,
        }
    }
}

impl Default for UrlState {
    fn default() -> Self {
        Self::new()
    }
}

/// The period after one end of it changed (`end` is `from` or `to`): a From
/// after To (or a To before From) moves the other end with it, one day and
/// never an error. `None` while a year is still being typed (`0002`,
/// `0020`, `0202`: each a date the field reports), no day to ask for yet.
pub fn moved_days(end: &str, value: String, from: String, to: String) -> Option<(String, String)> {
    let typing = value
        .get(..4)
        .and_then(|y| y.parse::<u32>().ok())
        .is_some_and(|y| y < 1970);
    if typing {
        return None;
    }
    // ISO days compare as text.
    Some(match end {
        "from" if !value.is_empty() && !to.is_empty() && value > to => (value.clone(), value),
        "from" => (value, to),
        _ if !value.is_empty() && !from.is_empty() && value < from => (value.clone(), value),
        _ => (from, value),
    })
}

/// `?a=b&…` of a query's filters (paging left out) with `extra` set on top:
/// for links the server writes (the breakdown's sources) and the CSV
/// download. Encodes only what must be (`2026-08-01` stays readable).
pub fn query_string(q: &LeadsQuery, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, String)> = q
        .pairs()
        .into_iter()
        .filter(|(k, _)| *k != "cursor" && *k != "limit")
        .map(|(k, v)| (k, v.clone()))
        .collect();
    for (k, v) in extra {
        match pairs.iter_mut().find(|(key, _)| key == k) {
            Some(p) => p.1 = (*v).to_owned(),
            None => pairs.push((k, (*v).to_owned())),
        }
    }
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if body.is_empty() {
        String::new()
    } else {
        format!("?{}", body.join("&"))
    }
}

/// Percent-encodes a query name or value, leaving the unreserved characters
/// of RFC 3986 as they are.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// "Clear filters" removes what narrows the leads and keeps the
    /// period, the zone and the sort.
    #[test]
    fn narrowing_is_the_filters_without_period_zone_or_sort() {
        let kept = ["range", "from", "to", "tz", "sort"];
        let narrowing: Vec<&str> = super::FILTER_KEYS
            .into_iter()
            .filter(|k| !kept.contains(k))
            .collect();
        assert_eq!(super::NARROWING, narrowing);
    }

    #[test]
    fn a_changed_end_moves_the_other_past_it_and_a_year_being_typed_waits() {
        let d = |s: &str| s.to_owned();
        let moved = |end, v, f, t| super::moved_days(end, d(v), d(f), d(t));
        assert_eq!(
            moved("from", "2026-06-10", "2026-06-01", "2026-06-30"),
            Some((d("2026-06-10"), d("2026-06-30")))
        );
        assert_eq!(
            moved("from", "2026-07-02", "2026-06-01", "2026-06-30"),
            Some((d("2026-07-02"), d("2026-07-02")))
        );
        assert_eq!(
            moved("to", "2026-05-20", "2026-06-01", "2026-06-30"),
            Some((d("2026-05-20"), d("2026-05-20")))
        );
        assert_eq!(
            moved("to", "", "2026-06-01", "2026-06-30"),
            Some((d("2026-06-01"), d("")))
        );
        assert_eq!(
            moved("from", "0202-06-01", "2026-06-01", "2026-06-30"),
            None
        );
    }
}
