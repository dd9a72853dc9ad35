//! The ads report (`shared/spec/outcomes.md`): per source, spend, leads and
//! what became of them. Pure: one pass of the lead index's visitor over
//! the range, the buyers' purchases when counted by their own date, and
//! the spend book's sums for the range's days.

use std::collections::HashMap;

use crate::error::AppError;
use crate::model::{AdSource, AdsFigures, AdsReport, AdsRow, Source};
use crate::ssr::domain::filter::{Filter, source_matches};
use crate::ssr::domain::money::Minor;
use crate::ssr::index::spend::SpendBook;
use crate::ssr::index::{LeadIndex, Seen, stamp};
use crate::ssr::reports::summary::{group_medians, median_of};

/// Which source a lead's outcomes are credited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribution {
    First,
    Last,
}

/// Where a purchase is placed in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountBy {
    /// By its lead's Date: the leads of the range and what they went on to buy.
    LeadDate,
    /// By the purchase's own time: what was bought in the range.
    EventDate,
}

impl Attribution {
    /// `attribution=`: `first` (also when absent or empty) or `last`.
    pub fn parse(v: Option<&str>) -> Result<Attribution, AppError> {
        match v.map(str::trim) {
            None | Some("") | Some("first") => Ok(Attribution::First),
            Some("last") => Ok(Attribution::Last),
            Some(_) => Err(AppError::param("attribution", "must be first or last")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Attribution::First => "first",
            Attribution::Last => "last",
        }
    }
}

impl CountBy {
    /// `count_by=`: `lead_date` (also when absent or empty) or `event_date`.
    pub fn parse(v: Option<&str>) -> Result<CountBy, AppError> {
        match v.map(str::trim) {
            None | Some("") | Some("lead_date") => Ok(CountBy::LeadDate),
            Some("event_date") => Ok(CountBy::EventDate),
            Some(_) => Err(AppError::param(
                "count_by",
                "must be lead_date or event_date",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CountBy::LeadDate => "lead_date",
            CountBy::EventDate => "event_date",
        }
    }
}

/// The report's columns, by their names in `GET /api/v1/ads` (`source`:
/// the row's label).
pub const ORDER_COLUMNS: [&str; 12] = [
    "spend",
    "leads",
    "cost_per_lead",
    "answered",
    "engaged",
    "one_message",
    "median_first_touch",
    "buyers",
    "revenue",
    "cost_per_buyer",
    "roas",
    "source",
];

/// The report's order (`sort=`, the page's `order=`): a column, `-` for
/// descending; spend descending by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdsOrder {
    pub column: &'static str,
    pub desc: bool,
}

impl Default for AdsOrder {
    fn default() -> Self {
        AdsOrder {
            column: "spend",
            desc: true,
        }
    }
}

impl AdsOrder {
    /// `name` is the parameter's, for its error.
    pub fn parse(v: Option<&str>, name: &str) -> Result<AdsOrder, AppError> {
        let v = v.map(str::trim).unwrap_or("");
        if v.is_empty() {
            return Ok(AdsOrder::default());
        }
        let (col, desc) = match v.strip_prefix('-') {
            Some(c) => (c, true),
            None => (v, false),
        };
        // `median_first_touch_seconds` is the figure's name in the JSON.
        let col = if col == "median_first_touch_seconds" {
            "median_first_touch"
        } else {
            col
        };
        ORDER_COLUMNS
            .iter()
            .find(|c| **c == col)
            .map(|c| AdsOrder { column: c, desc })
            .ok_or_else(|| {
                AppError::param(name, "must be a column of the report, e.g. -spend or leads")
            })
    }

    pub fn as_param(&self) -> String {
        format!("{}{}", if self.desc { "-" } else { "" }, self.column)
    }

    /// Orders `rows`: by the column, empty values last whichever way, ties
    /// in the report's own order (the sort is stable); `source` by
    /// `label`, without regard to case.
    pub fn sort(&self, rows: &mut [AdsRow], label: impl Fn(&AdsRow) -> String) {
        if *self == AdsOrder::default() {
            return; // the report's own order
        }
        let value = |f: &AdsFigures| -> Option<f64> {
            match self.column {
                "spend" => f.spend,
                "leads" => Some(f.leads as f64),
                "cost_per_lead" => f.cost_per_lead,
                "answered" => Some(f.answered as f64),
                "engaged" => Some(f.engaged as f64),
                "one_message" => Some(f.one_message as f64),
                "median_first_touch" => f.median_first_touch_seconds.map(|s| s as f64),
                "buyers" => Some(f.buyers as f64),
                "revenue" => Some(f.revenue),
                "cost_per_buyer" => f.cost_per_buyer,
                "roas" => f.roas,
                _ => None,
            }
        };
        rows.sort_by(|a, b| {
            let ord = if self.column == "source" {
                label(a).to_lowercase().cmp(&label(b).to_lowercase())
            } else {
                match (value(&a.figures), value(&b.figures)) {
                    (Some(x), Some(y)) => x.total_cmp(&y),
                    (Some(_), None) => return std::cmp::Ordering::Less,
                    (None, Some(_)) => return std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
            };
            if self.desc { ord.reverse() } else { ord }
        });
    }
}

/// A row's label for ordering by `source`, the same on the API, the CSV
/// and the page: the source's name, else its platform and id; Organic is
/// `Organic` (ordered among the names, as the page shows it).
pub fn plain_label(r: &AdsRow) -> String {
    match &r.source {
        None => "Organic".to_owned(),
        Some(s) => match (&s.name, &s.id) {
            (Some(n), _) => n.clone(),
            (None, Some(id)) => format!("{} {id}", s.platform),
            (None, None) => s.platform.clone(),
        },
    }
}

#[derive(Default, Clone)]
struct Acc {
    leads: u64,
    answered: u64,
    engaged: u64,
    one_message: u64,
    /// Set from the groups' waits after the scan.
    median_wait: Option<i64>,
    buyers: u64,
    revenue: Minor,
    spend: Option<Minor>,
}

impl Acc {
    fn figures(self) -> AdsFigures {
        let units = |m: Minor| m as f64 / 100.0;
        let per = |m: Option<Minor>, n: u64| {
            m.filter(|_| n > 0)
                .map(|m| (m as f64 / n as f64 / 100.0 * 100.0).round() / 100.0)
        };
        AdsFigures {
            spend: self.spend.map(units),
            leads: self.leads,
            cost_per_lead: per(self.spend, self.leads),
            answered: self.answered,
            engaged: self.engaged,
            one_message: self.one_message,
            median_first_touch_seconds: self.median_wait,
            buyers: self.buyers,
            revenue: units(self.revenue),
            cost_per_buyer: per(self.spend, self.buyers),
            roas: self
                .spend
                .filter(|s| *s > 0)
                .map(|s| (self.revenue as f64 / s as f64 * 1000.0).round() / 1000.0),
        }
    }

    fn add(&mut self, o: &Acc) {
        self.leads += o.leads;
        self.answered += o.answered;
        self.engaged += o.engaged;
        self.one_message += o.one_message;
        self.buyers += o.buyers;
        self.revenue += o.revenue;
        if let Some(s) = o.spend {
            self.spend = Some(self.spend.unwrap_or(0) + s);
        }
    }
}

/// Whether an ad's spend belongs in a report filtered by `source=` and
/// `last_source=` (the same test the leads list makes of a lead's sources).
fn spend_matches(f: &Filter, platform: &str, ad_id: &str) -> bool {
    [f.source.as_deref(), f.last_source.as_deref()]
        .into_iter()
        .all(|want| match want {
            None => true,
            Some("none") => false,
            // As the leads' test (a spend row is an ad's: it has an id).
            Some(want) => source_matches(platform, Some(ad_id), None, want),
        })
}

/// The report for `f` (its date range, channels, source, quality and
/// search), one row per source with a total, spend descending.
pub fn ads(
    index: &LeadIndex,
    book: &SpendBook,
    f: &Filter,
    attribution: Attribution,
    count_by: CountBy,
    currency: &str,
) -> AdsReport {
    let groups = index.source_groups();
    let group_of = |lead: &Seen| match attribution {
        Attribution::First => lead.group,
        Attribution::Last => index.last_group(lead.slot),
    };
    // Per part: the groups' counts, and the waits with their groups.
    let parts = index.each_parts(
        f,
        || (vec![Acc::default(); groups], Vec::new(), Vec::new()),
        |(acc, waits, wait_groups): &mut (Vec<Acc>, Vec<i64>, Vec<u32>), lead: Seen| {
            // A row is a first source: its leads and what became of them;
            // the attribution moves only where the purchases are credited.
            let g = lead.group;
            let a = &mut acc[g as usize];
            a.leads += 1;
            a.answered += u64::from(lead.wait.is_some());
            a.engaged += u64::from(lead.engaged);
            a.one_message += u64::from(lead.one_message);
            if let Some(w) = lead.wait {
                waits.push(w);
                wait_groups.push(g);
            }
            if count_by == CountBy::LeadDate && lead.buyer {
                let b = &mut acc[group_of(&lead) as usize];
                b.buyers += 1;
                b.revenue += index.revenue(lead.slot);
            }
        },
    );
    let (medians, mut all_waits) =
        group_medians(parts.iter().map(|(_, w, g)| (&w[..], &g[..])), groups);
    let mut acc = vec![Acc::default(); groups];
    for (part, _, _) in &parts {
        for (a, p) in acc.iter_mut().zip(part) {
            a.add(p);
        }
    }
    drop(parts);
    for (a, (_, median)) in acc.iter_mut().zip(&medians) {
        a.median_wait = *median;
    }
    if count_by == CountBy::EventDate {
        let (start, end) = (stamp(f.start), stamp(f.end));
        index.each_buyer(f, |slot, purchases| {
            let mut inside = purchases
                .iter()
                .filter(|p| (stamp(p.at) >= start) && stamp(p.at) < end)
                .map(|p| p.value)
                .peekable();
            if inside.peek().is_none() {
                return;
            }
            let revenue: Minor = inside.sum();
            let g = match attribution {
                Attribution::First => index.first_group(slot),
                Attribution::Last => index.last_group(slot),
            };
            let a = &mut acc[g as usize];
            a.buyers += 1;
            a.revenue += revenue;
        });
    }

    // Each group's source, and the groups of ads by (platform, id).
    let sources: Vec<Option<Source>> = (0..groups as u32).map(|g| index.group_source(g)).collect();
    let mut ad_group: HashMap<(&str, &str), usize> = HashMap::new();
    for (g, s) in sources.iter().enumerate() {
        if let Some(s) = s {
            if let Some(id) = s.id.as_deref() {
                ad_group.entry((s.platform.as_str(), id)).or_insert(g);
            }
        }
    }
    // Spend: onto its source's row, or a row of its own (money spent, no leads).
    let mut extra: Vec<(AdSource, Acc)> = Vec::new();
    // The ad's name from its spend, for a row whose leads did not name it.
    let mut spend_names: Vec<Option<String>> = vec![None; groups];
    for ad in book.in_range(f.from, f.to) {
        if !spend_matches(f, &ad.platform, &ad.ad_id) {
            continue;
        }
        match ad_group.get(&(ad.platform.as_str(), ad.ad_id.as_str())) {
            Some(g) => {
                let a = &mut acc[*g];
                a.spend = Some(a.spend.unwrap_or(0) + ad.spend);
                if spend_names[*g].is_none() {
                    spend_names[*g] = ad.name.clone();
                }
            }
            None => extra.push((
                AdSource {
                    platform: ad.platform.clone(),
                    kind: "ad".into(),
                    id: Some(ad.ad_id.clone()),
                    name: ad.name.clone(),
                },
                Acc {
                    spend: Some(ad.spend),
                    ..Acc::default()
                },
            )),
        }
    }

    let mut total = Acc::default();
    let mut rows: Vec<(Option<Minor>, AdsRow)> = Vec::new();
    for (g, mut a) in acc.into_iter().enumerate() {
        if a.leads == 0 && a.buyers == 0 && a.spend.is_none() {
            continue;
        }
        // An ad's spend is the sum of its rows over the range: 0 when none
        // was imported (outcomes.md: "sum of the source's spend over the
        // range's days (ads only)"); other sources have none (`null`).
        if sources[g].as_ref().is_some_and(|s| s.kind == "ad") && a.spend.is_none() {
            a.spend = Some(0);
        }
        total.add(&a);
        let source = sources[g].as_ref().map(|s| AdSource {
            platform: s.platform.clone(),
            kind: s.kind.clone(),
            id: s.id.clone(),
            name: s.name.clone().or_else(|| spend_names[g].take()),
        });
        rows.push((
            a.spend,
            AdsRow {
                source,
                figures: a.figures(),
            },
        ));
    }
    for (source, a) in extra {
        total.add(&a);
        rows.push((
            a.spend,
            AdsRow {
                source: Some(source),
                figures: a.figures(),
            },
        ));
    }
    // Spend descending (none last), then leads, then the label: a stable order.
    rows.sort_by(|(sa, a), (sb, b)| {
        sb.unwrap_or(-1)
            .cmp(&sa.unwrap_or(-1))
            .then(b.figures.leads.cmp(&a.figures.leads))
            .then_with(|| label(a).cmp(&label(b)))
    });
    AdsReport {
        currency: currency.to_owned(),
        attribution: attribution.as_str().into(),
        count_by: count_by.as_str().into(),
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        total: Acc {
            median_wait: median_of(&mut all_waits),
            ..total
        }
        .figures(),
    }
}

fn label(r: &AdsRow) -> (String, String) {
    r.source
        .as_ref()
        .map_or((String::new(), String::new()), |s| {
            (s.platform.clone(), s.id.clone().unwrap_or_default())
        })
}
