//! Rule 9 of `shared/spec/leads.md`: calendar days in the business's time
//! zone as UTC instants. Pure. (Tested with the other rules in `rules.rs`.)

use chrono::{DateTime, Duration, Utc};

/// Rule 9: the UTC instants `[start, end)` of the calendar days `from..=to`
/// in `tz`. A day that starts inside a DST gap starts at the first instant
/// that exists.
pub fn day_range(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    tz: chrono_tz::Tz,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = start_of_day(from, tz);
    let end = to
        .succ_opt()
        .map(|d| start_of_day(d, tz))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (start, end)
}

fn start_of_day(day: chrono::NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    // Walk forward over a DST gap in 15-minute steps (the finest offsets in use).
    (0..=8)
        .find_map(|i| {
            tz.from_local_datetime(&(midnight + Duration::minutes(15 * i)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}
