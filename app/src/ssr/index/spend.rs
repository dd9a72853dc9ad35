//! The spend book: money spent per ad and day, the second read model
//! beside the lead index. Pure; loaded at start and changed only with
//! committed rows.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::ssr::domain::money::Minor;
use crate::ssr::store::spend::SpendDay;

#[derive(Debug, Default)]
struct Ad {
    name: Option<String>,
    days: BTreeMap<NaiveDate, Minor>,
}

#[derive(Debug, Default)]
pub struct SpendBook {
    /// By (platform, ad id).
    ads: HashMap<(String, String), Ad>,
}

/// One ad's spend over a range of days.
#[derive(Debug, Clone, PartialEq)]
pub struct AdSpend {
    pub platform: String,
    pub ad_id: String,
    pub name: Option<String>,
    pub spend: Minor,
}

impl SpendBook {
    pub fn build(rows: Vec<SpendDay>) -> SpendBook {
        let mut book = SpendBook::default();
        book.put(&rows);
        book
    }

    /// Takes in committed rows: a row replaces the same ad's day.
    pub fn put(&mut self, rows: &[SpendDay]) {
        for r in rows {
            let ad = self
                .ads
                .entry((r.platform.clone(), r.ad_id.clone()))
                .or_default();
            if r.ad_name.is_some() {
                ad.name = r.ad_name.clone();
            }
            ad.days.insert(r.date, r.spend);
        }
    }

    /// Every ad with spend rows on the days `from..=to`, with their sum.
    pub fn in_range(&self, from: NaiveDate, to: NaiveDate) -> Vec<AdSpend> {
        let mut out: Vec<AdSpend> = self
            .ads
            .iter()
            .filter_map(|((platform, ad_id), ad)| {
                let mut days = ad.days.range(from..=to).peekable();
                days.peek()?;
                Some(AdSpend {
                    platform: platform.clone(),
                    ad_id: ad_id.clone(),
                    name: ad.name.clone(),
                    spend: days.map(|(_, m)| m).sum(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.platform, &a.ad_id).cmp(&(&b.platform, &b.ad_id)));
        out
    }
}
