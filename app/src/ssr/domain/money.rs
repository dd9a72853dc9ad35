//! Money in the deployment's currency (`LEADS_CURRENCY`), pure: amounts are
//! kept as whole hundredths (`Minor`) so that sums are exact; the API shows
//! them as JSON numbers.

/// An amount in hundredths of the currency's unit (Rp 149,999.50 is
/// `14_999_950`). Sums of a year of spend fit with room to spare.
pub type Minor = i64;

/// One ad's spend on one day (`shared/spec/outcomes.md`, "Ad spend").
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpendRow {
    pub date: chrono::NaiveDate,
    pub platform: String,
    pub ad_id: String,
    pub spend: Minor,
    pub ad_name: Option<String>,
    pub campaign_name: Option<String>,
}

/// The most a single amount may be: a trillion units (no order or day of
/// spend comes near; it keeps every sum far from overflow).
pub const MAX_UNITS: i64 = 1_000_000_000_000;

/// Reads a decimal amount ≥ 0 as text: `150000`, `149999.50`, `0.5`; more
/// than two decimals are rounded half up to the cent (`1.005` is 1.01). A
/// thousands separator is refused (`150,000` is ambiguous between
/// locales), as are signs, exponents and blanks.
pub fn parse(text: &str) -> Result<Minor, &'static str> {
    let t = text.trim();
    // Minus zero is zero (a spreadsheet or a float can write it so).
    if let Some(rest) = t.strip_prefix('-') {
        if !rest.starts_with(['-', '+']) && parse(rest) == Ok(0) {
            return Ok(0);
        }
    }
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return Err("must be a number, e.g. 150000 or 149999.50");
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        if t.starts_with('-') {
            return Err("must not be negative");
        }
        return Err(
            "must be a number ≥ 0 written with digits and an optional decimal point, e.g. 149999.50",
        );
    }
    // Past the cent: rounded half up on the first dropped digit.
    let (frac, up) = match frac.as_bytes().get(2) {
        Some(d) => (&frac[..2], *d >= b'5'),
        None => (frac, false),
    };
    let units: i64 = if whole.is_empty() {
        0
    } else {
        whole
            .trim_start_matches('0')
            .parse::<i64>()
            .or_else(|_| {
                if whole.bytes().all(|b| b == b'0') {
                    Ok(0)
                } else {
                    Err(())
                }
            })
            .map_err(|_| "is too large")?
    };
    if units > MAX_UNITS {
        return Err("is too large");
    }
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => i64::from(frac.as_bytes()[0] - b'0') * 10,
        _ => frac.parse::<i64>().unwrap_or(0),
    };
    Ok(units * 100 + cents + i64::from(up))
}

/// An amount as a CSV cell, where a spreadsheet in Indonesian writes
/// `150.000` for 150,000: exactly three digits after the one point are
/// refused, not read as 150 (the same money a thousand times smaller).
pub fn parse_csv(text: &str) -> Result<Minor, &'static str> {
    let t = text.trim();
    if t.split_once('.').is_some_and(|(w, f)| {
        !w.is_empty() && f.len() == 3 && f.bytes().all(|b| b.is_ascii_digit())
    }) {
        return Err(
            "has three digits after the point, as a thousands separator writes it \
             (150.000): write the amount without separators, e.g. 150000 or 149999.50",
        );
    }
    parse(t)
}

/// Reads an amount given as a JSON number or a string (the spec allows both).
pub fn from_json(v: &serde_json::Value) -> Result<Minor, &'static str> {
    match v {
        serde_json::Value::Number(n) => {
            if n.as_f64().is_some_and(|f| f < 0.0) {
                return Err("must not be negative");
            }
            // serde_json prints a float as its shortest exact form (149999.5).
            let s = n.to_string();
            if s.contains(['e', 'E']) {
                // A number with an exponent (1e5): its value, to the cent.
                return match n.as_f64() {
                    Some(f) if f.is_finite() && f <= MAX_UNITS as f64 => {
                        Ok((f * 100.0).round() as Minor)
                    }
                    _ => Err("is too large"),
                };
            }
            parse(&s)
        }
        serde_json::Value::String(s) => parse(s),
        _ => Err("must be a number or a string holding one"),
    }
}

/// The amount as a JSON number: whole units as an integer, else a decimal.
pub fn to_json(m: Minor) -> serde_json::Value {
    if m % 100 == 0 {
        serde_json::Value::from(m / 100)
    } else {
        serde_json::Value::from(m as f64 / 100.0)
    }
}

/// The amount as text for a CSV: `150000` or `149999.50`.
pub fn to_text(m: Minor) -> String {
    if m % 100 == 0 {
        (m / 100).to_string()
    } else {
        format!("{}.{:02}", m / 100, (m % 100).abs())
    }
}

/// A currency code as the spec wants it: three capital letters (ISO 4217).
pub fn is_currency_code(c: &str) -> bool {
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_are_exact_hundredths() {
        assert_eq!(parse("150000"), Ok(15_000_000));
        assert_eq!(parse("149999.50"), Ok(14_999_950));
        assert_eq!(parse("149999.5"), Ok(14_999_950));
        assert_eq!(parse("0.05"), Ok(5));
        assert_eq!(parse(".5"), Ok(50));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("000"), Ok(0));
        assert_eq!(parse(" 12 "), Ok(1200));
        assert_eq!(from_json(&json!(150000)), Ok(15_000_000));
        assert_eq!(from_json(&json!(149999.5)), Ok(14_999_950));
        assert_eq!(from_json(&json!("149999.50")), Ok(14_999_950));
        // Past the cent, rounded half up; an exponent's value is taken.
        assert_eq!(parse("1.005"), Ok(101));
        assert_eq!(parse("149999.504"), Ok(14_999_950));
        assert_eq!(from_json(&json!(1e5)), Ok(10_000_000));
        assert_eq!(from_json(&json!(149999.505)), Ok(14_999_951));
        assert!(from_json(&json!(1e300)).is_err());
    }

    /// In a CSV, `150.000` is how a spreadsheet in Indonesian writes
    /// 150,000: refused rather than read as 150.
    #[test]
    fn a_csv_amount_with_a_thousands_point_is_refused() {
        assert!(parse_csv("150.000").is_err());
        assert!(parse_csv(" 70.000 ").is_err());
        assert_eq!(parse_csv("150000"), Ok(15_000_000));
        assert_eq!(parse_csv("149999.50"), Ok(14_999_950));
        assert_eq!(parse_csv("0.5"), Ok(50));
        assert!(parse_csv("1.500.000").is_err());
        // The API's JSON keeps the spec's reading of a decimal number.
        assert_eq!(from_json(&json!("150.000")), Ok(15_000));
    }

    #[test]
    fn what_is_not_an_amount_is_refused() {
        for bad in ["", "-1", "1,5", "150,000", "1e5", "abc", "1.2.3", "+5", "."] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(from_json(&json!(-1)).is_err());
        // Minus zero is zero, once.
        assert_eq!(parse("-0"), Ok(0));
        assert_eq!(parse("-0.00"), Ok(0));
        assert_eq!(from_json(&json!(-0.0)), Ok(0));
        assert!(parse("--0").is_err());
        assert!(parse("-0.01").is_err());
        assert!(from_json(&json!(null)).is_err());
        assert!(from_json(&json!(true)).is_err());
        assert!(parse("1000000000001").is_err());
    }

    #[test]
    fn shown_as_json_numbers_and_text() {
        assert_eq!(to_json(15_000_000), json!(150000));
        assert_eq!(to_json(14_999_950), json!(149999.5));
        assert_eq!(to_text(14_999_950), "149999.50");
        assert_eq!(to_text(15_000_000), "150000");
        assert!(is_currency_code("IDR"));
        assert!(!is_currency_code("idr"));
    }
}
