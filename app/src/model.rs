//! Types on the wire: shared by the server, the HTTP API and the browser.
//! Nothing here may depend on server-only crates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a customer came from: an ad click referral, a campaign link, …
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    pub platform: String,
    #[serde(rename = "type", default = "Source::default_kind")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

impl Source {
    fn default_kind() -> String {
        "ad".to_owned()
    }

    /// Rule 5: two sources are the same when platform and id match
    /// (or, without id, their name).
    pub fn same_as(&self, other: &Source) -> bool {
        self.platform == other.platform
            && match (&self.id, &other.id) {
                (Some(a), Some(b)) => a == b,
                (None, None) => self.name == other.name,
                _ => false,
            }
    }

    /// What the dashboard shows for a source.
    pub fn label(&self) -> String {
        match (&self.name, &self.id) {
            (Some(n), _) => n.clone(),
            (None, Some(id)) => format!("{} {}", self.platform, id),
            (None, None) => self.platform.clone(),
        }
    }
}

/// One lead, exactly the shape of `GET /api/v1/leads` (`shared/spec/api.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: String,
    pub date: DateTime<Utc>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub channel: String,
    pub first_source: Option<Source>,
    pub first_touched_at: Option<DateTime<Utc>>,
    pub last_source: Option<Source>,
}

/// One page of leads as the HTTP API answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadPage {
    pub leads: Vec<Lead>,
    pub total: u64,
    pub next_cursor: Option<String>,
}

/// A lead with the texts the page shows, formatted on the server in the
/// business time zone so the browser bundle needs no time-zone database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadRow {
    pub lead: Lead,
    pub date_text: String,
    pub phone_text: Option<String>,
    pub first_touched_text: Option<String>,
    /// Set only when the last source differs from the first (the page shows
    /// Last Source only then).
    pub last_source_differs: bool,
}

/// What the Leads page receives from its server function: one page of rows
/// plus the filter the server actually applied (defaults resolved).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadsView {
    pub rows: Vec<LeadRow>,
    pub total: u64,
    pub next_cursor: Option<String>,
    pub from: String,
    pub to: String,
    pub tz: String,
    pub q: String,
}

/// The query the Leads page sends; every field is the raw text of the URL
/// parameter of the same name, so page, URL and HTTP API share one parser.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub tz: Option<String>,
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

/// A source as the summary groups it (`GET /api/v1/leads/summary`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub platform: String,
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    pub day: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCount {
    pub source: Option<SourceRef>,
    pub count: u64,
}

/// Totals and breakdowns for a filter (`shared/spec/api.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: u64,
    pub touched: u64,
    pub untouched: u64,
    pub median_first_touch_seconds: Option<i64>,
    pub by_day: Vec<DayCount>,
    pub by_source: Vec<SourceCount>,
}
