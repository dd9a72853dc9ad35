//! The keys leads are stored, sorted and searched by. Pure.
//!
//! Every sort key is a string that compares like the order it stands for and
//! ends with the contact key, so it is unique: keyset pages on it never skip
//! or repeat a lead.

use chrono::{DateTime, Utc};

use super::phone;
use super::rules::LeadFacts;

/// Fixed-width UTC time (`2026-11-20T02:15:03.000000000Z`): compares as text
/// the way the times compare.
pub fn time_key(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Sorts after every time key: leads nobody answered yet.
const NEVER: &str = "~";
/// Sorts after every name: leads without a name.
const NO_NAME: &str = "\u{10ffff}";
const SEP: char = '\u{1}';

pub struct LeadKeys {
    pub sort_key: String,
    pub name_key: String,
    pub touch_key: String,
    /// Lower-cased name and e-mail, for case-insensitive search.
    pub search: String,
    /// Digit forms of the phone.
    pub phones: String,
}

impl LeadKeys {
    pub fn of(lead: &LeadFacts) -> Self {
        let date = time_key(lead.date);
        let name = lead
            .name
            .as_deref()
            .map(str::to_lowercase)
            .unwrap_or_else(|| NO_NAME.to_owned());
        let touch = lead
            .first_touched_at
            .map(time_key)
            .unwrap_or_else(|| NEVER.to_owned());
        LeadKeys {
            sort_key: format!("{date}{SEP}{}", lead.key),
            name_key: format!("{name}{SEP}{date}{SEP}{}", lead.key),
            touch_key: format!("{touch}{SEP}{date}{SEP}{}", lead.key),
            search: format!(
                "{}\n{}",
                lead.name.as_deref().unwrap_or("").to_lowercase(),
                lead.email.as_deref().unwrap_or("").to_lowercase()
            ),
            phones: lead
                .phone
                .as_deref()
                .map(phone::search_forms)
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn time_keys_sort_like_times() {
        let a = Utc
            .with_ymd_and_hms(2026, 11, 20, 2, 15, 3)
            .single()
            .expect("t");
        let b = a + chrono::Duration::nanoseconds(500);
        let c = a + chrono::Duration::seconds(1);
        assert!(time_key(a) < time_key(b) && time_key(b) < time_key(c));
        assert_eq!(time_key(a).len(), time_key(c).len());
        assert!(time_key(c) < NEVER.to_owned());
    }
}
