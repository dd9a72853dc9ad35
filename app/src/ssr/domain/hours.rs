//! The business-hours calendar (`LEADS_BUSINESS_HOURS`,
//! `shared/spec/outcomes.md`, "Speed and outcome"): weekly opening hours in
//! the business's time zone, e.g. `mon-fri 09:00-17:00, sat 09:00-13:00`.
//! Pure: parsed once at start, asked per local time.

use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// Opening spans: per day of the week (Monday first), `[start, end)` in
/// minutes after midnight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessHours {
    spans: [Vec<(u16, u16)>; 7],
}

impl BusinessHours {
    /// `DAYS HH:MM-HH:MM[, …]`: DAYS is a day (`sat`) or a range of days
    /// (`mon-fri`, also across the weekend: `sat-sun`, `fri-mon`); a day
    /// may have several spans (`mon-fri 09:00-12:00, mon-fri 13:00-17:00`);
    /// `24:00` ends a span at midnight. A day not named is closed.
    pub fn parse(text: &str) -> Result<BusinessHours, String> {
        let mut spans: [Vec<(u16, u16)>; 7] = Default::default();
        let mut any = false;
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            let (days, times) = part.split_once(char::is_whitespace).ok_or_else(|| {
                format!("`{part}`: expected days and hours, e.g. mon-fri 09:00-17:00")
            })?;
            let (from, to) = times
                .trim()
                .split_once('-')
                .ok_or_else(|| format!("`{part}`: hours must be HH:MM-HH:MM"))?;
            let (start, end) = (minutes(from, part)?, minutes(to, part)?);
            if start >= end {
                return Err(format!("`{part}`: the hours must end after they start"));
            }
            for d in day_list(days.trim(), part)? {
                spans[d].push((start, end));
            }
            any = true;
        }
        if !any {
            return Err("is empty: e.g. mon-fri 09:00-17:00, sat 09:00-13:00".into());
        }
        Ok(BusinessHours { spans })
    }

    /// Whether the business is open at this local time.
    pub fn contains(&self, local: NaiveDateTime) -> bool {
        let day = local.weekday().num_days_from_monday() as usize;
        let m = (local.hour() * 60 + local.minute()) as u16;
        self.spans[day].iter().any(|(s, e)| *s <= m && m < *e)
    }
}

fn day(name: &str, part: &str) -> Result<usize, String> {
    DAYS.iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            format!("`{part}`: `{name}` is not a day (mon, tue, wed, thu, fri, sat, sun)")
        })
}

/// The days of `mon-fri` or `sat`, as indexes from Monday.
fn day_list(days: &str, part: &str) -> Result<Vec<usize>, String> {
    match days.split_once('-') {
        None => Ok(vec![day(days, part)?]),
        Some((a, b)) => {
            let (a, b) = (day(a, part)?, day(b, part)?);
            // Wrapping past Sunday: fri-mon is fri, sat, sun, mon.
            let n = (b + 7 - a) % 7 + 1;
            Ok((0..n).map(|k| (a + k) % 7).collect())
        }
    }
}

fn minutes(hhmm: &str, part: &str) -> Result<u16, String> {
    let bad = || {
        format!(
            "`{part}`: `{}` is not a time HH:MM (00:00 to 24:00)",
            hhmm.trim()
        )
    };
    let (h, m) = hhmm.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time")
    }

    #[test]
    fn the_specs_example() {
        let h = BusinessHours::parse("mon-fri 09:00-17:00, sat 09:00-13:00").expect("parse");
        // 2026-11-20 is a Friday.
        assert!(h.contains(at("2026-11-20 09:00")));
        assert!(h.contains(at("2026-11-20 16:59")));
        assert!(!h.contains(at("2026-11-20 17:00")));
        assert!(!h.contains(at("2026-11-20 08:59")));
        assert!(h.contains(at("2026-11-21 12:30")));
        assert!(!h.contains(at("2026-11-21 13:00")));
        assert!(!h.contains(at("2026-11-22 10:00")), "Sunday is closed");
        assert!(h.contains(at("2026-11-16 10:00")), "Monday");
    }

    #[test]
    fn split_days_wrapping_ranges_and_midnight() {
        let h =
            BusinessHours::parse("MON-FRI 08:00-12:00,mon-fri 13:00-17:00, fri-sun 20:00-24:00")
                .expect("parse");
        assert!(!h.contains(at("2026-11-16 12:30")), "lunch");
        assert!(h.contains(at("2026-11-16 13:00")));
        assert!(h.contains(at("2026-11-22 23:59")), "Sunday night");
        assert!(!h.contains(at("2026-11-16 21:00")), "not Monday night");
        assert_eq!(day_list("fri-mon", "").expect("days"), [4, 5, 6, 0]);
        assert_eq!(day_list("wed-wed", "").expect("days"), [2]);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, says) in [
            ("", "is empty"),
            ("mon-fri", "expected days and hours"),
            ("mon-fri 9-17", "not a time"),
            ("mon-fri 09:00-25:00", "not a time"),
            ("mon-fri 09:60-10:00", "not a time"),
            ("mon-fri 17:00-09:00", "end after"),
            ("weekdays 09:00-17:00", "`weekdays` is not a day"),
            ("mon-fri 09:00", "HH:MM-HH:MM"),
        ] {
            let e = BusinessHours::parse(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
