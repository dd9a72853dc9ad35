//! Types on the wire: shared by the server, the HTTP API and the browser.
//! Nothing here may depend on server-only crates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The channels of `shared/spec/events.md`.
pub const CHANNELS: &[&str] = &[
    "whatsapp",
    "instagram",
    "messenger",
    "tiktok",
    "telegram",
    "line",
    "web",
    "email",
    "other",
];

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
    /// Lead quality (`shared/spec/outcomes.md`; answered is having a
    /// `first_touched_at`). Not in the API's lead object, which keeps the
    /// spec's exact shape (clients compare it whole): `quality=` filters
    /// and the CSV carry it.
    #[serde(default, skip_serializing)]
    pub engaged: bool,
    #[serde(default, skip_serializing)]
    pub one_message: bool,
    /// Has a purchase attributed to it; `revenue` is their sum, in the
    /// deployment's currency.
    #[serde(default, skip_serializing)]
    pub buyer: bool,
    #[serde(default, skip_serializing)]
    pub revenue: f64,
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
    /// Seconds from Date to First Touched At.
    pub wait_seconds: Option<i64>,
    /// Unanswered leads: seconds waited so far, when the page was served.
    pub waiting_seconds: Option<i64>,
    pub date_text: String,
    pub phone_text: Option<String>,
    pub first_touched_text: Option<String>,
    /// Set only when the last source differs from the first (the page shows
    /// Last Source only then).
    pub last_source_differs: bool,
}

/// What the Leads page receives for its table: one page of rows as HTML
/// rendered on the server, plus the filter the server actually applied
/// (defaults resolved).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadsView {
    /// The header row (`<tr>` of `<th>`).
    pub head_html: String,
    /// The page's rows (`<tr data-lead=…>` each).
    pub rows_html: String,
    /// How many rows `rows_html` holds.
    pub rows: usize,
    pub total: u64,
    pub next_cursor: Option<String>,
    pub from: String,
    pub to: String,
    pub tz: String,
    pub q: String,
    /// Whether the database holds any lead at all (the empty state then
    /// explains how to send the first events).
    pub any_leads: bool,
}

/// The page's language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Id,
    En,
}

/// The query the Leads page sends; every field is the raw text of the URL
/// parameter of the same name, so page, URL and HTTP API share one parser.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadsQuery {
    /// A preset: `today`, `yesterday`, `7d`, `30d`, `this_month`, `last_month`.
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub tz: Option<String>,
    pub q: Option<String>,
    pub channel: Option<String>,
    pub source: Option<String>,
    /// The last source, as `source` tests the first (the ads report's rows
    /// by last source link with it).
    #[serde(default)]
    pub last_source: Option<String>,
    pub touched: Option<String>,
    /// `answered`, `engaged`, `one_message`, `buyer` or their `not_` forms,
    /// comma-separated (all must hold).
    #[serde(default)]
    pub quality: Option<String>,
    /// `sent`, `pending`, `rejected` or `not_sendable` (Conversions API).
    #[serde(default)]
    pub capi: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

impl LeadsQuery {
    /// The parameters as `(name, value)` pairs, in the API's names.
    pub fn pairs(&self) -> Vec<(&'static str, &String)> {
        [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("tz", &self.tz),
            ("q", &self.q),
            ("channel", &self.channel),
            ("source", &self.source),
            ("last_source", &self.last_source),
            ("touched", &self.touched),
            ("quality", &self.quality),
            ("capi", &self.capi),
            ("sort", &self.sort),
            ("cursor", &self.cursor),
            ("limit", &self.limit),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
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
    /// Of `count`, the leads answered by an agent or the AI (for the page's
    /// breakdown; not in the API's `by_source`, whose entries keep the
    /// spec's `{"source", "count"}` shape).
    #[serde(default, skip_serializing)]
    pub touched: u64,
    #[serde(default, skip_serializing)]
    pub median_first_touch_seconds: Option<i64>,
}

/// How long leads waited for their first answer (First Touched At − Date).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstResponse {
    pub under_1m: u64,
    #[serde(rename = "1m_to_5m")]
    pub m1_to_5m: u64,
    #[serde(rename = "5m_to_30m")]
    pub m5_to_30m: u64,
    #[serde(rename = "30m_to_2h")]
    pub m30_to_2h: u64,
    #[serde(rename = "2h_to_24h")]
    pub h2_to_24h: u64,
    pub over_24h: u64,
    pub never: u64,
    /// Per bucket, in [`FirstResponse::buckets`]' order: how many of its
    /// leads engaged, and how many bought (speed vs outcome). Not in this
    /// object's JSON, which keeps its shape: see
    /// [`Summary::first_response_outcomes`].
    #[serde(default, skip_serializing)]
    pub engaged: Vec<u64>,
    #[serde(default, skip_serializing)]
    pub buyers: Vec<u64>,
}

/// One first-response bucket's leads and what became of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketOutcome {
    /// The bucket's name in `first_response` (`under_1m` … `never`).
    pub bucket: String,
    pub leads: u64,
    pub engaged: u64,
    pub buyers: u64,
}

impl FirstResponse {
    /// Bucket upper bounds in seconds (exclusive); the last bucket is open.
    pub const BOUNDS: [i64; 5] = [60, 300, 1_800, 7_200, 86_400];

    /// Counts one lead with its outcome.
    pub fn add_lead(&mut self, wait: Option<i64>, engaged: bool, buyer: bool) {
        self.add(wait);
        if self.engaged.len() < 7 {
            self.engaged.resize(7, 0);
            self.buyers.resize(7, 0);
        }
        let i = Self::bucket(wait);
        self.engaged[i] += u64::from(engaged);
        self.buyers[i] += u64::from(buyer);
    }

    /// The buckets from per-bucket counts in [`FirstResponse::buckets`]'
    /// order: leads, engaged, buyers. Without leads the outcome lists stay
    /// empty, as [`FirstResponse::add_lead`] leaves them.
    pub fn from_counts(leads: [u64; 7], engaged: [u64; 7], buyers: [u64; 7]) -> FirstResponse {
        let none = leads.iter().all(|n| *n == 0);
        let list = |v: [u64; 7]| if none { Vec::new() } else { v.to_vec() };
        FirstResponse {
            under_1m: leads[0],
            m1_to_5m: leads[1],
            m5_to_30m: leads[2],
            m30_to_2h: leads[3],
            h2_to_24h: leads[4],
            over_24h: leads[5],
            never: leads[6],
            engaged: list(engaged),
            buyers: list(buyers),
        }
    }

    /// The bucket of a wait, in [`FirstResponse::buckets`]' order.
    pub fn bucket(wait: Option<i64>) -> usize {
        match wait {
            None => 6,
            Some(w) => Self::BOUNDS.iter().position(|b| w < *b).unwrap_or(5),
        }
    }

    /// Counts one lead: `wait` in seconds, `None` when never answered.
    pub fn add(&mut self, wait: Option<i64>) {
        let b = match wait {
            None => &mut self.never,
            Some(w) => match Self::BOUNDS.iter().position(|b| w < *b) {
                Some(0) => &mut self.under_1m,
                Some(1) => &mut self.m1_to_5m,
                Some(2) => &mut self.m5_to_30m,
                Some(3) => &mut self.m30_to_2h,
                Some(_) => &mut self.h2_to_24h,
                None => &mut self.over_24h,
            },
        };
        *b += 1;
    }

    pub const NAMES: [&'static str; 7] = [
        "under_1m",
        "1m_to_5m",
        "5m_to_30m",
        "30m_to_2h",
        "2h_to_24h",
        "over_24h",
        "never",
    ];

    /// Each bucket's leads, engaged and buyers.
    pub fn outcomes(&self) -> Vec<BucketOutcome> {
        let b = self.buckets();
        (0..7)
            .map(|i| BucketOutcome {
                bucket: Self::NAMES[i].to_owned(),
                leads: b[i],
                engaged: self.engaged.get(i).copied().unwrap_or(0),
                buyers: self.buyers.get(i).copied().unwrap_or(0),
            })
            .collect()
    }

    /// The buckets in order, `never` last.
    pub fn buckets(&self) -> [u64; 7] {
        [
            self.under_1m,
            self.m1_to_5m,
            self.m5_to_30m,
            self.m30_to_2h,
            self.h2_to_24h,
            self.over_24h,
            self.never,
        ]
    }
}

/// The leads that arrived in and out of business hours.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoursSplit {
    pub in_hours: u64,
    pub out_of_hours: u64,
}

/// The totals of the period of equal length just before the chosen one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodTotals {
    pub from: String,
    pub to: String,
    /// When the chosen period is still running: the previous one is
    /// counted only until this instant (RFC 3339, in the view's zone), as
    /// far into it as now is into the chosen one; `null` otherwise.
    #[serde(default)]
    pub until: Option<String>,
    pub total: u64,
    pub touched: u64,
    pub untouched: u64,
    pub median_first_touch_seconds: Option<i64>,
}

/// Totals and breakdowns for a filter (`shared/spec/api.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub total: u64,
    pub touched: u64,
    pub untouched: u64,
    pub median_first_touch_seconds: Option<i64>,
    /// Lead quality (`shared/spec/outcomes.md`): `answered` (the same
    /// count as `touched`, under the quality flag's name), engaged, one
    /// message, buyers.
    #[serde(default)]
    pub answered: u64,
    #[serde(default)]
    pub engaged: u64,
    #[serde(default)]
    pub one_message: u64,
    /// Leads with an attributed purchase (`buyer` too, the flag's name),
    /// and the sum of their purchases.
    #[serde(default)]
    pub buyers: u64,
    #[serde(default)]
    pub buyer: u64,
    #[serde(default, serialize_with = "money_json::one")]
    pub revenue: f64,
    pub by_day: Vec<DayCount>,
    pub by_source: Vec<SourceCount>,
    #[serde(default)]
    pub first_response: FirstResponse,
    /// Speed vs outcome: per first-response bucket, its leads, how many
    /// engaged and how many bought.
    #[serde(default)]
    pub first_response_outcomes: Vec<BucketOutcome>,
    /// With a business-hours calendar (`LEADS_BUSINESS_HOURS`), the leads
    /// whose Date fell in and out of hours; absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<HoursSplit>,
    /// The same filters over the previous period of equal length (`null`
    /// when it would start before 1970).
    #[serde(default)]
    pub previous: Option<PeriodTotals>,
}

/// New leads per day stacked by first source, for the chart: `series` are
/// the top sources (`None` = organic), then, when there are more, "other".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    pub series: Vec<Option<SourceRef>>,
    /// Whether the last stack of every day is "other sources".
    pub other: bool,
    /// Per day of the range, the count of each series (and "other").
    pub days: Vec<(String, Vec<u64>)>,
}

/// What the page receives for its KPI cards, first-response distribution,
/// chart and breakdown: HTML rendered on the server (the browser bundle
/// carries no code for them), plus the first sources for the filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    pub html: String,
    /// `(source= value, label)` of the first sources in view, largest first.
    pub sources: Vec<(String, String)>,
}

/// The lead detail panel: its body as HTML, and where its window of events
/// stands in the lead's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadPanel {
    pub html: String,
    /// Events in this window, and in the whole history.
    pub shown: u64,
    pub total: u64,
    /// `events_before` for the next older window.
    pub older: Option<u64>,
}

/// One event of a lead's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    /// `message`, `resolved` or `conversion`.
    pub kind: String,
    /// `inbound`, `outbound`, or `null` for `resolved`.
    pub direction: Option<String>,
    /// `customer`, `agent`, `ai` or `system`.
    pub sender: String,
    pub channel: String,
    pub source: Option<Source>,
    /// The number of the session it belongs to, `null` outside sessions
    /// (an agent's message before the customer ever wrote).
    pub session: Option<u32>,
    /// A conversion's outcome (only on `conversion` events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<ConversionInfo>,
}

/// A conversion as the lead detail shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversionInfo {
    /// `purchase`, `qualified` or `lead_submitted`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(serialize_with = "money_json::opt")]
    pub value: Option<f64>,
    pub currency: Option<String>,
    /// `meta` for Meta's own detection (`automatic_events`), else `null`.
    pub detected_by: Option<String>,
    /// Whether it counts for this lead: at or after its Date and within the
    /// attribution window (for a purchase: one of its attributed purchases).
    pub attributed: bool,
    /// What Meta was told of it (Conversions API): `pending`, `sent`,
    /// `rejected`, `not_sendable`, `window_passed` or `unsent`; `null` for
    /// a conversion that is no outcome of its own.
    #[serde(default)]
    pub capi_state: Option<String>,
    /// Meta's message of a rejection, or why it cannot be sent; `null`
    /// otherwise (always present, as every other field).
    #[serde(default)]
    pub capi_message: Option<String>,
}

/// A lead as the Conversions API sees it (`shared/spec/meta-capi.md`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CapiInfo {
    /// Whether a dataset and token are set (else nothing is sent).
    pub configured: bool,
    /// The ad click's identifiers: WhatsApp's click id, or the Page /
    /// Instagram account and the user's id there.
    pub click_id: Option<String>,
    pub channel: Option<String>,
    pub account_id: Option<String>,
    pub user_id: Option<String>,
    pub clicked_at: Option<DateTime<Utc>>,
    /// The click plus 7 days: later outcomes are not sent.
    pub window_ends_at: Option<DateTime<Utc>>,
    pub sendable: bool,
    /// Why not: `no_click`, `no_click_id`, `no_account`, `no_user_id`.
    pub not_sendable_reason: Option<String>,
    pub events: Vec<CapiEvent>,
}

/// One outcome for Meta and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapiEvent {
    pub event_id: String,
    /// `LeadSubmitted` or `Purchase`.
    pub event_name: String,
    pub event_time: DateTime<Utc>,
    /// The conversion event it comes from (`null`: the lead engaged).
    pub conversion_id: Option<String>,
    #[serde(serialize_with = "money_json::opt")]
    pub value: Option<f64>,
    /// `pending`, `sent`, `rejected`, `not_sendable`, `window_passed`, or
    /// `unsent` (known before sending was set up).
    pub state: String,
    /// Why it cannot be sent (`not_sendable`).
    pub reason: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Meta's `error.message` (rejected), or the last error while pending.
    pub message: Option<String>,
    pub error_subcode: Option<i64>,
    pub events_received: Option<i64>,
    pub fbtrace_id: Option<String>,
    pub tries: u32,
}

/// A sendable ad lead whose window closes soon with nothing sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClosingSoon {
    pub lead: Lead,
    pub window_ends_at: DateTime<Utc>,
}

/// The Conversions API's health (settings page, admins).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CapiStatus {
    pub configured: bool,
    pub dataset_id: Option<String>,
    /// Whether a token is set; never the token.
    pub token_set: bool,
    pub test_event_code_set: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub pending: u64,
    pub sent: u64,
    pub rejected: u64,
    /// Leads without an ad click's identifiers (Meta cannot take them).
    #[serde(default)]
    pub not_sendable: u64,
    /// Sendable leads with an outcome but nothing queued: every outcome
    /// came more than 7 days after the click (`null` while sending is not
    /// set up: nothing is queued then).
    #[serde(default)]
    pub window_passed: Option<u64>,
}

/// A session (rule 8 of `shared/spec/leads.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `open`, `timeout` or `resolved`.
    pub end: String,
}

/// `GET /api/v1/leads/{id}`: the lead, its sessions and its events in time
/// order: the latest events (about a thousand), or those before `before`.
/// A contact with a longer history is read window by window (`older`), so
/// the answer's size is bounded; its sessions are those of the events in
/// the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadDetail {
    pub lead: Lead,
    pub sessions: Vec<SessionInfo>,
    pub events: Vec<TimelineEvent>,
    /// Every event the lead has (`events` is all of them unless `older`).
    #[serde(default)]
    pub events_total: u64,
    /// `?before=` for the next older window; `null`: this window reaches
    /// the first event.
    #[serde(default)]
    pub older: Option<u64>,
    /// What Meta was told about this lead (Conversions API).
    #[serde(default)]
    pub capi: CapiInfo,
    /// Every conversion of the lead, oldest first, each with its send state
    /// (also those older than this window of events).
    #[serde(default)]
    pub conversions: Vec<LeadConversion>,
}

/// One conversion of a lead: its event's id and time, and what it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadConversion {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub conversion: ConversionInfo,
}

/// Money as a JSON number: whole amounts without a fraction (`110000`,
/// not `110000.0`), as the spec's examples write them.
mod money_json {
    use serde::Serializer;

    pub fn one<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            s.serialize_i64(*v as i64)
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn opt<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => one(v, s),
            None => s.serialize_none(),
        }
    }
}

/// A source as the ads report names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdSource {
    pub platform: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub name: Option<String>,
}

/// One row's figures of the ads report (`shared/spec/outcomes.md`): money
/// in the deployment's currency; `null` where a division has no divisor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdsFigures {
    #[serde(serialize_with = "money_json::opt")]
    pub spend: Option<f64>,
    pub leads: u64,
    #[serde(serialize_with = "money_json::opt")]
    pub cost_per_lead: Option<f64>,
    pub answered: u64,
    pub engaged: u64,
    pub one_message: u64,
    pub median_first_touch_seconds: Option<i64>,
    pub buyers: u64,
    #[serde(serialize_with = "money_json::one")]
    pub revenue: f64,
    #[serde(serialize_with = "money_json::opt")]
    pub cost_per_buyer: Option<f64>,
    pub roas: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdsRow {
    /// `null`: Organic (no source).
    pub source: Option<AdSource>,
    #[serde(flatten)]
    pub figures: AdsFigures,
}

/// `GET /api/v1/ads`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdsReport {
    pub currency: String,
    /// `first` or `last`.
    pub attribution: String,
    /// `lead_date` or `event_date`.
    pub count_by: String,
    pub rows: Vec<AdsRow>,
    pub total: AdsFigures,
}

/// What the Ads view asks for: the leads filters plus the report's toggles
/// and the column it is ordered by (`-spend` by default).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdsQuery {
    /// Absent when every filter is (the page opened from its link, then a
    /// sort or a toggle): the server function's form leaves it out.
    #[serde(default)]
    pub leads: LeadsQuery,
    pub attribution: Option<String>,
    pub count_by: Option<String>,
    pub order: Option<String>,
}
