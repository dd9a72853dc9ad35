//! Ad spend and orders from files and bodies (`shared/spec/outcomes.md`,
//! "Ad spend", "Conversions"): Meta Ads Manager's CSV export, the plain spend
//! CSV and its JSON form, and the orders CSV turned into conversion events
//! for `event::validate`. Pure: no I/O, no clock.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{NaiveDate, NaiveTime, TimeZone};
use serde_json::{Value, json};

use crate::ssr::domain::money::{self, Minor};

/// The most rows one `POST /api/v1/spend` body may hold.
pub const MAX_JSON_ROWS: usize = 10_000;

const NOT_BY_DAY: &str = "this export sums several days in one row; in Ads Manager choose \
     Breakdown → By Time → Day, then Export table data as CSV";
const ORDERS_HEADER: &str = "order_id,phone,occurred_at,value,currency (email and type optional)";

pub use crate::ssr::domain::money::SpendRow;

/// What a CSV file is, judged by its header line only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvKind {
    AdsManager,
    PlainSpend,
    Orders,
}

/// line: 1-based line of the file (1 = header; for JSON the array index),
/// field: the column / JSON field name.
#[derive(Clone, Debug, PartialEq)]
pub struct RowError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}, {}: {}", self.line, self.field, self.message)
        }
    }
}

impl std::error::Error for RowError {}

fn err(line: usize, field: &str, message: impl Into<String>) -> RowError {
    RowError {
        line,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// RFC 4180 records, each with the file line it starts on. Lenient where the
/// RFC is strict (a stray quote inside a field is kept as text, an
/// unterminated quote runs to the end): exports are read, not judged.
pub fn records(text: &str) -> Vec<(usize, Vec<String>)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let (mut fields, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut had_quotes) = (false, false);
    let (mut line, mut start) = (1, 1);
    let mut end = |fields: &mut Vec<String>, field: &mut String, had_quotes: bool, start| {
        fields.push(std::mem::take(field));
        let blank = fields.len() == 1 && fields[0].trim().is_empty() && !had_quotes;
        let record = std::mem::take(fields);
        if !blank {
            out.push((start, record));
        }
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => {
                    line += usize::from(c == '\n');
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => (quoted, had_quotes) = (true, true),
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                end(&mut fields, &mut field, had_quotes, start);
                had_quotes = false;
                line += 1;
                start = line;
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !fields.is_empty() || had_quotes {
        end(&mut fields, &mut field, had_quotes, start);
    }
    out
}

/// A header's column names, trimmed, and those of Ads Manager set to
/// Indonesian read as the English names they stand for.
fn names_of(header: &[String]) -> Vec<String> {
    header.iter().map(|n| english(n.trim())).collect()
}

/// Ads Manager's Indonesian column names (as it exports them with its
/// language set to Bahasa Indonesia) and the English names they are.
const INDONESIAN: [(&str, &str); 12] = [
    ("ID iklan", "Ad ID"),
    ("Nama iklan", "Ad name"),
    ("Nama kampanye", "Campaign name"),
    ("Hari", "Day"),
    ("Awal pelaporan", "Reporting starts"),
    ("Akhir pelaporan", "Reporting ends"),
    ("Usia", "Age"),
    ("Jenis kelamin", "Gender"),
    ("Penempatan", "Placement"),
    ("Platform perangkat", "Device platform"),
    ("Negara", "Country"),
    ("Wilayah", "Region"),
];

/// The English name of an Indonesian Ads Manager column (any other name
/// as it is). `Jumlah yang dibelanjakan (IDR)` is `Amount spent (IDR)`.
fn english(name: &str) -> String {
    const SPENT: &str = "jumlah yang dibelanjakan (";
    if name.len() > SPENT.len()
        && name.is_char_boundary(SPENT.len())
        && name[..SPENT.len()].eq_ignore_ascii_case(SPENT)
    {
        return format!("Amount spent ({}", &name[SPENT.len()..]);
    }
    INDONESIAN
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |(_, en)| (*en).to_owned())
}

fn find(names: &[String], want: &str) -> Option<usize> {
    names.iter().position(|n| n == want)
}

fn find_ci(names: &[String], want: &str) -> Option<usize> {
    names.iter().position(|n| n.eq_ignore_ascii_case(want))
}

fn is_amount_spent(name: &str) -> bool {
    name.starts_with("Amount spent (")
}

const PLAIN: [&str; 6] = [
    "date",
    "platform",
    "ad_id",
    "ad_name",
    "campaign_name",
    "spend",
];
const ORDERS: [&str; 7] = [
    "order_id",
    "phone",
    "occurred_at",
    "value",
    "currency",
    "email",
    "type",
];

/// Whether a column is one only an orders or a spend file has (case,
/// spaces and `_` aside; Ads Manager's Indonesian names too): a CSV that
/// names one but is no such file (a header slightly off) must not be read
/// as customers.
pub fn names_another_kind(name: &str) -> bool {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let name = squash(&english(name.trim()));
    // What a customers file shares with them: not another kind's.
    let shared = ["phone", "email", "type", "date"];
    name.starts_with("amountspent")
        || ORDERS
            .iter()
            .chain(&PLAIN)
            .chain(&[
                "Ad ID",
                "Ad name",
                "Campaign name",
                "Reporting starts",
                "order",
            ])
            .filter(|c| !shared.contains(c))
            .any(|c| squash(c) == name)
}

fn kind_of_names(names: &[String]) -> Option<CsvKind> {
    let all_ci = |want: &[&str]| want.iter().all(|w| find_ci(names, w).is_some());
    let day = find(names, "Day").or(find(names, "Reporting starts"));
    if find(names, "Ad ID").is_some() && day.is_some() && names.iter().any(|n| is_amount_spent(n)) {
        Some(CsvKind::AdsManager)
    } else if all_ci(&ORDERS[..5]) {
        Some(CsvKind::Orders)
    } else if all_ci(&["date", "platform", "ad_id", "spend"]) {
        Some(CsvKind::PlainSpend)
    } else {
        None
    }
}

/// What a CSV file is, judged by its header line only.
pub fn kind_of(header: &str) -> Option<CsvKind> {
    let first = records(header).into_iter().next();
    first.and_then(|(_, h)| kind_of_names(&names_of(&h)))
}

/// The data rows with their trimmed cells at `cols` ("" where a column is
/// absent). A row must have the header's width: else the file is cut or broken.
fn table<'a, const N: usize>(
    names: &[String],
    rows: &'a [(usize, Vec<String>)],
    cols: [Option<usize>; N],
) -> Result<Vec<(usize, [&'a str; N])>, RowError> {
    let cells = |(line, row): &'a (usize, Vec<String>)| {
        let (got, want) = (row.len(), names.len());
        if got != want {
            return Err(err(
                *line,
                "",
                format!("has {got} fields, the header has {want}"),
            ));
        }
        Ok((*line, cols.map(|c| c.map_or("", |i| row[i].trim()))))
    };
    rows.iter().map(cells).collect()
}

fn day(s: &str) -> Result<NaiveDate, String> {
    // The length check refuses `2026-1-5`, which chrono would take.
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    date.filter(|_| s.len() == 10)
        .ok_or_else(|| format!("must be a date written YYYY-MM-DD, e.g. 2026-10-05, not {s:?}"))
}

fn platform(s: &str) -> Result<String, String> {
    let p = s.to_ascii_lowercase();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if p.is_empty() || p.len() > 32 || !p.bytes().all(word) {
        return Err("must be one word of letters, digits, _ or -, e.g. meta".into());
    }
    Ok(p)
}

fn ad_id(s: &str) -> Result<String, String> {
    match s.chars().count() {
        0 => Err("is required".into()),
        n if n > 128 => Err("is longer than 128 characters".into()),
        _ => Ok(s.to_owned()),
    }
}

fn name(s: &str) -> Result<Option<String>, String> {
    if s.chars().count() > 256 {
        return Err("is longer than 256 characters".into());
    }
    Ok((!s.is_empty()).then(|| s.to_owned()))
}

/// One plain row (CSV or JSON, the same field names): date, platform,
/// ad_id, ad_name, campaign_name, and the spend already read.
fn plain(at: usize, cells: [&str; 5], spend: Result<Minor, &str>) -> Result<SpendRow, RowError> {
    let [date, platform_, id, ad_name, campaign] = cells;
    let e = |field: &'static str| move |m: String| err(at, field, m);
    Ok(SpendRow {
        date: day(date).map_err(e("date"))?,
        platform: platform(platform_).map_err(e("platform"))?,
        ad_id: ad_id(id).map_err(e("ad_id"))?,
        spend: spend.map_err(|m| err(at, "spend", m))?,
        ad_name: name(ad_name).map_err(e("ad_name"))?,
        campaign_name: name(campaign).map_err(e("campaign_name"))?,
    })
}

/// Reads a spend CSV, Meta Ads Manager's export or the plain form. A
/// repeated `(date, platform, ad_id)` is, in the plain form, the last row;
/// in an export broken down by age, placement…, the parts added up; in an
/// export without a breakdown it knows, refused.
pub fn parse_spend_csv(text: &str, currency: &str) -> Result<Vec<SpendRow>, RowError> {
    let recs = records(text);
    let header = recs.first().map(|(_, h)| h.as_slice()).unwrap_or_default();
    let names = names_of(header);
    let rows = recs.get(1..).unwrap_or_default();
    // An error names the column as the file does (`ID iklan`, not `Ad ID`).
    spend_rows(&names, rows, currency).map_err(|mut e| {
        if let Some(i) = names.iter().position(|n| *n == e.field) {
            e.field = header[i].trim().to_owned();
        }
        e
    })
}

fn spend_rows(
    names: &[String],
    rows: &[(usize, Vec<String>)],
    currency: &str,
) -> Result<Vec<SpendRow>, RowError> {
    match kind_of_names(names) {
        Some(CsvKind::AdsManager) if names.iter().any(|n| is_breakdown(n)) => {
            ads_manager(&names, rows, currency, true).map(sum_parts)
        }
        Some(CsvKind::AdsManager) => ads_manager(&names, rows, currency, false),
        Some(CsvKind::PlainSpend) => {
            let cols = PLAIN.map(|n| find_ci(&names, n));
            let parse = |(at, [d, p, id, an, cn, s]): (usize, [&str; 6])| {
                plain(at, [d, p, id, an, cn], money::parse_csv(s))
            };
            table(&names, rows, cols)?
                .into_iter()
                .map(parse)
                .collect::<Result<_, _>>()
                .map(dedup)
        }
        // An Ads Manager export without a day column: summed over the range.
        _ if find(&names, "Ad ID").is_some() && names.iter().any(|n| is_amount_spent(n)) => {
            Err(err(1, "Day", NOT_BY_DAY))
        }
        _ => {
            let why = format!(
                "the header is neither Meta Ads Manager's export (Ad ID, Day or Reporting starts, Amount spent ({currency}); in Indonesian ID iklan, Hari or Awal pelaporan, Jumlah yang dibelanjakan ({currency})) nor date,platform,ad_id,spend[,ad_name]"
            );
            Err(err(1, "", why))
        }
    }
}

/// An Ads Manager export's rows; `parts`: broken down (by age, placement…)
/// beyond the day, so an ad's day comes in several rows. Without a known
/// breakdown an ad's day twice means one this import does not know: refused,
/// rather than one part taken for the day.
fn ads_manager(
    names: &[String],
    rows: &[(usize, Vec<String>)],
    currency: &str,
    parts: bool,
) -> Result<Vec<SpendRow>, RowError> {
    let want = format!("Amount spent ({currency})");
    if find(names, &want).is_none() {
        let col = names.iter().find(|n| is_amount_spent(n)).map_or("", |n| n);
        let cur = col
            .trim_start_matches("Amount spent (")
            .trim_end_matches(')');
        let why = format!(
            "the file is in {cur} but the deployment's currency is {currency}: set LEADS_CURRENCY={cur} or export in {currency}"
        );
        return Err(err(1, col, why));
    }
    let want = [
        &want,
        "Ad ID",
        "Day",
        "Reporting starts",
        "Reporting ends",
        "Ad name",
        "Campaign name",
    ];
    let cols = want.map(|n| find(names, n));
    let has_day = cols[2].is_some();
    let mut out = Vec::with_capacity(rows.len());
    let mut seen = HashSet::new();
    let cells = table(names, rows, cols)?;
    let last = cells.len().saturating_sub(1);
    for (i, (at, [spend, id, day_, starts, ends, ad_name, campaign])) in
        cells.into_iter().enumerate()
    {
        let e = |field: &'static str| move |m: String| err(at, field, m);
        if id.is_empty() {
            // Ads Manager's summary row ("Include summary row": the totals,
            // first or last, naming no ad) is left out, not refused.
            if ad_name.is_empty() && last > 0 && (i == 0 || i == last) {
                continue;
            }
            let why = "is empty: each row must be one ad on one day; export at the Ads level";
            return Err(err(at, "Ad ID", why));
        }
        // A `Day` column makes each row one day; without it the reporting
        // range must be a single day.
        if !has_day && cols[4].is_some() && ends != starts {
            return Err(err(at, "Reporting ends", NOT_BY_DAY));
        }
        let (field, date) = if has_day {
            ("Day", day_)
        } else {
            ("Reporting starts", starts)
        };
        // Ads Manager leaves the cell empty for an ad that spent nothing.
        let spend = if spend.is_empty() {
            Ok(0)
        } else {
            money::parse_csv(spend)
        };
        let date = day(date).map_err(e(field))?;
        let id = ad_id(id).map_err(e("Ad ID"))?;
        if !parts && !seen.insert((date, id.clone())) {
            let why = format!(
                "{id} is on {date} twice: the export is broken down by a column this import does not know; in Ads Manager choose Breakdown → By Time → Day only"
            );
            return Err(err(at, "Ad ID", why));
        }
        out.push(SpendRow {
            date,
            platform: "meta".into(),
            ad_id: id,
            spend: spend.map_err(|m| err(at, want[0], m))?,
            ad_name: name(ad_name).map_err(e("Ad name"))?,
            campaign_name: name(campaign).map_err(e("Campaign name"))?,
        });
    }
    Ok(out)
}

/// Reads `POST /api/v1/spend`: an array of plain rows as JSON objects, in
/// the deployment's `currency` (a row may say so in `currency`; another
/// currency is refused, as in an Ads Manager export, since spend is summed
/// with no conversion).
pub fn parse_spend_json(value: &Value, currency: &str) -> Result<Vec<SpendRow>, RowError> {
    let Some(items) = value.as_array() else {
        return Err(err(0, "", "expected a JSON array of spend rows"));
    };
    if items.len() > MAX_JSON_ROWS {
        let got = items.len();
        let why = format!("at most {MAX_JSON_ROWS} rows per request, got {got}");
        return Err(err(0, "", why));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(err(i, "", "each row must be a JSON object"));
        };
        let text = |key: &str| match obj.get(key) {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(s)) => Ok(s.trim()),
            Some(_) => Err(err(i, key, "must be a string")),
        };
        // Meta's ad ids are beyond 2^53: a float would read as other digits.
        let id = match obj.get("ad_id") {
            Some(Value::Number(n)) if n.is_u64() => n.to_string(),
            Some(Value::Number(_)) => {
                return Err(err(i, "ad_id", "must be a whole number or a string"));
            }
            _ => text("ad_id")?.to_owned(),
        };
        let said = text("currency")?;
        if !said.is_empty() && !said.eq_ignore_ascii_case(currency) {
            let why = format!("must be the deployment's currency ({currency}), got {said:?}");
            return Err(err(i, "currency", why));
        }
        let spend = obj
            .get("spend")
            .filter(|v| !v.is_null())
            .ok_or("is required");
        let texts = [
            text("date")?,
            text("platform")?,
            &id,
            text("ad_name")?,
            text("campaign_name")?,
        ];
        out.push(plain(i, texts, spend.and_then(money::from_json))?);
    }
    Ok(dedup(out))
}

/// Ads Manager's breakdown columns beyond the day (Breakdown → By
/// Delivery / By Action): each splits an ad's day into several rows.
fn is_breakdown(name: &str) -> bool {
    const BREAKDOWNS: &[&str] = &[
        "Age",
        "Gender",
        "Placement",
        "Platform",
        "Device platform",
        "Impression device",
        "Country",
        "Region",
        "DMA region",
        "Business locations",
        "Time of day (ad account time zone)",
        "Time of day (viewer's time zone)",
    ];
    BREAKDOWNS
        .iter()
        .any(|b| b.eq_ignore_ascii_case(name.trim()))
}

/// Rows of one ad's day in an Ads Manager export with a breakdown are its
/// parts (by age, gender, placement…; the day's spend split among them):
/// added up into the day's spend.
fn sum_parts(rows: Vec<SpendRow>) -> Vec<SpendRow> {
    one_per_day(rows, |day, part| {
        day.spend += part.spend;
        if day.ad_name.is_none() {
            day.ad_name = part.ad_name;
        }
    })
}

/// A repeated `(date, platform, ad_id)` replaces the earlier row in place,
/// as a stored one is replaced: a corrected export never double-counts.
fn dedup(rows: Vec<SpendRow>) -> Vec<SpendRow> {
    one_per_day(rows, |old, new| *old = new)
}

/// One row per `(date, platform, ad_id)`, in the order each first came;
/// `repeat` folds a later row of the same day into the first.
fn one_per_day(rows: Vec<SpendRow>, repeat: impl Fn(&mut SpendRow, SpendRow)) -> Vec<SpendRow> {
    let mut at: HashMap<(NaiveDate, String, String), usize> = HashMap::new();
    let mut out: Vec<SpendRow> = Vec::with_capacity(rows.len());
    for r in rows {
        match at.entry((r.date, r.platform.clone(), r.ad_id.clone())) {
            Entry::Occupied(e) => repeat(&mut out[*e.get()], r),
            Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(r);
            }
        }
    }
    out
}

/// Reads an orders CSV into conversion event items, to be checked by
/// `event::validate` like any other event (phones, values, currency).
pub fn parse_orders_csv(text: &str, tz: chrono_tz::Tz) -> Result<Vec<Value>, RowError> {
    let recs = records(text);
    let names = recs.first().map(|(_, h)| names_of(h)).unwrap_or_default();
    if kind_of_names(&names) != Some(CsvKind::Orders) {
        return Err(err(1, "", format!("the header must be {ORDERS_HEADER}")));
    }
    let cols = ORDERS.map(|n| find_ci(&names, n));
    let mut out = Vec::with_capacity(recs.len() - 1);
    for (at, [id, phone, when, value, currency, email, kind]) in table(&names, &recs[1..], cols)? {
        if id.is_empty() {
            return Err(err(at, "order_id", "is required"));
        }
        let when = occurred_at(when, tz).map_err(|m| err(at, "occurred_at", m))?;
        let mut contact = json!({ "phone": phone });
        if !email.is_empty() {
            contact["email"] = json!(email);
        }
        let mut conversion = json!({ "type": if kind.is_empty() { "purchase" } else { kind } });
        // A blank value or currency is left out, so that `validate` says
        // "required for purchase" and a `qualified` row needs neither.
        if !value.is_empty() {
            money::parse_csv(value).map_err(|m| err(at, "value", m))?;
        }
        for (key, v) in [("value", value), ("currency", currency)] {
            if !v.is_empty() {
                conversion[key] = json!(v);
            }
        }
        out.push(json!({"id": id, "kind": "conversion", "occurred_at": when,
            "channel": "other", "contact": contact, "conversion": conversion}));
    }
    Ok(out)
}

/// An RFC 3339 time as given, or a day as its last second in `tz`: an
/// order system that exports only the day says "bought that day", and a
/// lead who wrote that morning and bought that day is a buyer
/// (`outcomes.md` counts a conversion at or after the lead's Date); at
/// midnight such a purchase would fall before the lead and count for no
/// one. The purchase's day, whatever time it is shown with, stays that day.
fn occurred_at(s: &str, tz: chrono_tz::Tz) -> Result<String, String> {
    if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
        return Ok(s.to_owned());
    }
    let d = day(s).map_err(|_| {
        format!("must be an RFC 3339 time, e.g. 2026-10-05T14:30:00+07:00, or a day YYYY-MM-DD, not {s:?}")
    })?;
    let last = d.and_time(NaiveTime::MIN) + chrono::Duration::seconds(86_399);
    // Where a DST change skips the day's last hour, its end is earlier.
    let local = |h| {
        tz.from_local_datetime(&(last - chrono::Duration::hours(h)))
            .latest()
    };
    let end = (0..3)
        .find_map(local)
        .ok_or_else(|| format!("{s} has no end in {tz}"))?;
    Ok(end.fixed_offset().to_rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line and field of a spend CSV's refusal.
    fn refused(csv: &str) -> (usize, String) {
        let e = parse_spend_csv(csv, "IDR").unwrap_err();
        (e.line, e.field)
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn rfc4180_records() {
        let r = records("a,\"b,c\",\"say \"\"hi\"\"\"\r\n\r\n\"two\nlines\",x,\r\n  \nlast,\"\",y");
        assert_eq!(
            r,
            vec![
                (1, s(&["a", "b,c", "say \"hi\""])),
                (3, s(&["two\nlines", "x", ""])),
                (6, s(&["last", "", "y"]))
            ]
        );
        assert_eq!(records("\u{feff}x\n"), vec![(1, s(&["x"]))]);
        assert_eq!(records("\"\"\n"), vec![(1, s(&[""]))]);
        assert!(records("").is_empty() && records("\n\r\n").is_empty());
    }

    #[test]
    fn columns_of_another_kind_are_known_in_any_spelling() {
        for n in [
            "Order ID",
            "order_id",
            "Value",
            "currency",
            "AD_ID",
            "ID iklan",
            "Jumlah yang dibelanjakan (IDR)",
            "Amount spent (USD)",
            "Nama kampanye",
            "order",
        ] {
            assert!(names_another_kind(n), "{n}");
        }
        for n in [
            "phone",
            "Name",
            "email",
            "known_since",
            "city",
            "date",
            "type",
            "",
        ] {
            assert!(!names_another_kind(n), "{n}");
        }
    }

    #[test]
    fn kinds_by_header() {
        assert_eq!(
            kind_of("\u{feff}Ad name,Ad ID,Day,Amount spent (IDR)"),
            Some(CsvKind::AdsManager)
        );
        assert_eq!(
            kind_of("Reporting starts,\"Ad ID\",Amount spent (USD)"),
            Some(CsvKind::AdsManager)
        );
        assert_eq!(
            kind_of(" Date , AD_ID,spend,platform,x"),
            Some(CsvKind::PlainSpend)
        );
        assert_eq!(
            kind_of("order_id,phone,occurred_at,value,currency,email"),
            Some(CsvKind::Orders)
        );
        assert_eq!(kind_of("Ad ID,Amount spent (IDR)"), None);
        assert_eq!(kind_of("date,platform,spend"), None);
    }

    #[test]
    fn ads_manager_export_by_day() {
        let csv = "\u{feff}Reporting starts,Reporting ends,Campaign name,Ad name,Ad ID,Amount spent (IDR),Impressions\r\n\
            2026-10-05,2026-10-05,Promo,\"Kopi A, 1 liter\",120400001,60000,1000\r\n\
            2026-10-05,2026-10-05,Promo,\"Kopi \"\"B\"\"\",120400002,,500\r\n\
            2026-10-06,2026-10-06,,Kopi A,120400001,50000.50,900\r\n";
        let rows = parse_spend_csv(csv, "IDR").unwrap();
        let first = SpendRow {
            date: "2026-10-05".parse().unwrap(),
            platform: "meta".into(),
            ad_id: "120400001".into(),
            spend: 6_000_000,
            ad_name: Some("Kopi A, 1 liter".into()),
            campaign_name: Some("Promo".into()),
        };
        assert_eq!((rows.len(), &rows[0]), (3, &first));
        assert_eq!(
            (rows[1].spend, rows[1].ad_name.as_deref()),
            (0, Some("Kopi \"B\""))
        );
        assert_eq!(
            (rows[2].spend, rows[2].campaign_name.as_deref()),
            (5_000_050, None)
        );
        // A breakdown (here by age) splits an ad's day: its parts add up.
        let csv = "Day,Age,Ad ID,Ad name,Amount spent (IDR)\n2026-10-07,18-24,1,Kopi A,5000\n2026-10-07,25-34,1,Kopi A,7000\n2026-10-08,18-24,1,Kopi A,1000\n";
        let rows = parse_spend_csv(csv, "IDR").unwrap();
        assert_eq!(
            rows.iter().map(|r| r.spend).collect::<Vec<_>>(),
            [1_200_000, 100_000]
        );
        // Without a known breakdown column an ad's day twice is refused:
        // a breakdown this import does not know split it.
        let csv = "Day,Ad ID,Amount spent (IDR)\n2026-10-07,1,5000\n2026-10-07,1,7000\n";
        let e = parse_spend_csv(csv, "IDR").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "Ad ID"));
        assert!(e.message.contains("By Time → Day only"), "{e}");
        // A `Day` column is the day, whatever range the export covers.
        let csv = "Ad ID,Day,Reporting starts,Reporting ends,Amount spent (IDR)\n1,2026-10-07,2026-10-01,2026-10-31,5\n";
        assert_eq!(
            parse_spend_csv(csv, "IDR").unwrap()[0].date.to_string(),
            "2026-10-07"
        );
    }

    /// The summary row Ads Manager can add (totals, no ad), first or last,
    /// is not spend of an ad: left out.
    #[test]
    fn ads_manager_summary_rows_are_left_out() {
        let head = "Reporting starts,Reporting ends,Ad name,Ad ID,Amount spent (IDR)\n";
        let total = "2026-10-05,2026-10-06,,,30\n";
        let ads = "2026-10-05,2026-10-05,A,1,10\n2026-10-06,2026-10-06,B,2,20\n";
        for csv in [format!("{head}{total}{ads}"), format!("{head}{ads}{total}")] {
            let rows = parse_spend_csv(&csv, "IDR").unwrap();
            let got: Vec<(&str, i64)> = rows.iter().map(|r| (r.ad_id.as_str(), r.spend)).collect();
            assert_eq!(got, [("1", 1000), ("2", 2000)]);
        }
    }

    #[test]
    fn ads_manager_refusals() {
        let summed =
            "Reporting starts,Reporting ends,Ad ID,Amount spent (IDR)\n2026-10-01,2026-10-31,1,5\n";
        let e = parse_spend_csv(summed, "IDR").unwrap_err();
        assert_eq!(
            (e.line, e.field.as_str(), e.message.as_str()),
            (2, "Reporting ends", NOT_BY_DAY)
        );
        assert!(NOT_BY_DAY.contains("By Time → Day"));
        assert_eq!(
            refused("Ad ID,Amount spent (IDR)\n1,5\n"),
            (1, "Day".into())
        );
        let e =
            parse_spend_csv("Ad ID,Day,Amount spent (USD)\n1,2026-10-05,5\n", "IDR").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (1, "Amount spent (USD)"));
        assert!(e.message.contains("in USD") && e.message.contains("LEADS_CURRENCY"));
        let e =
            parse_spend_csv("Ad ID,Day,Amount spent (IDR)\n,2026-10-05,5\n", "IDR").unwrap_err();
        assert!(e.message.contains("Ads level"));
        // A row naming an ad but no Ad ID, among others: refused.
        let e = parse_spend_csv(
            "Ad ID,Ad name,Day,Amount spent (IDR)\n1,A,2026-10-05,5\n,B,2026-10-05,5\n3,C,2026-10-05,5\n",
            "IDR",
        )
        .unwrap_err();
        assert_eq!((e.line, e.message.contains("Ads level")), (3, true));
        assert_eq!(
            refused("Ad ID,Day,Amount spent (IDR)\n1,05/10/2026,5\n"),
            (2, "Day".into())
        );
        let e = parse_spend_csv("Ad ID,Day,Amount spent (IDR)\n\n1,2026-10-05,-5\n", "IDR")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3, Amount spent (IDR): must not be negative"
        );
        let e = parse_spend_csv("foo,bar\n", "IDR").unwrap_err();
        assert!(
            e.message.contains("date,platform,ad_id,spend")
                && e.to_string().starts_with("line 1: ")
        );
    }

    /// Ads Manager set to Indonesian: the same export under its Indonesian
    /// column names (any case), errors naming the file's own columns.
    #[test]
    fn ads_manager_export_in_indonesian() {
        let header = "\u{feff}Awal Pelaporan,Akhir Pelaporan,Nama kampanye,Nama iklan,ID iklan,Hari,Usia,Jumlah yang dibelanjakan (IDR),Impresi";
        assert_eq!(kind_of(header), Some(CsvKind::AdsManager));
        let csv = format!(
            "{header}\n2026-10-01,2026-10-31,Promo,Kopi A,120400001,2026-10-07,18-24,5000,10\n\
             2026-10-01,2026-10-31,Promo,Kopi A,120400001,2026-10-07,25-34,7000,20\n"
        );
        let rows = parse_spend_csv(&csv, "IDR").unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (
                r.date.to_string().as_str(),
                r.ad_id.as_str(),
                r.spend,
                r.ad_name.as_deref(),
                r.campaign_name.as_deref()
            ),
            (
                "2026-10-07",
                "120400001",
                1_200_000,
                Some("Kopi A"),
                Some("Promo")
            )
        );
        let e = parse_spend_csv(
            "ID iklan,Hari,Jumlah yang dibelanjakan (USD)\n1,2026-10-05,5\n",
            "IDR",
        )
        .unwrap_err();
        assert_eq!(
            (e.line, e.field.as_str()),
            (1, "Jumlah yang dibelanjakan (USD)")
        );
        let e = parse_spend_csv(
            "ID iklan,Hari,Jumlah yang dibelanjakan (IDR)\n1,5/10/2026,5\n",
            "IDR",
        )
        .unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "Hari"));
        // A breakdown whose Indonesian name is not known splits an ad's day:
        // refused, not one part taken for the day.
        let e = parse_spend_csv(
            "ID iklan,Hari,Perangkat tayangan,Jumlah yang dibelanjakan (IDR)\n1,2026-10-05,iPhone,5\n1,2026-10-05,Android,7\n",
            "IDR",
        )
        .unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "ID iklan"));
    }

    #[test]
    fn plain_csv_and_repeats_replace() {
        let csv = "date,platform,ad_id,spend,ad_name\n2026-10-05,Meta,120400001,60000,Kopi A\n\
            2026-10-05,google,g-7,100.5,\n2026-10-05,meta,120400001,65000,Kopi A v2\n";
        let rows = parse_spend_csv(csv, "IDR").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].platform.as_str(), rows[0].spend),
            ("meta", 6_500_000)
        );
        assert_eq!(rows[0].ad_name.as_deref(), Some("Kopi A v2"));
        assert_eq!(
            (
                rows[1].ad_id.as_str(),
                rows[1].spend,
                rows[1].ad_name.as_deref()
            ),
            ("g-7", 10_050, None)
        );
        let head = "date,platform,ad_id,spend\n";
        assert_eq!(
            refused(&format!("{head}2026-10-05,meta ads,1,5\n")),
            (2, "platform".into())
        );
        assert_eq!(
            refused(&format!("{head}2026-10-05,meta,1,\"1,000\"\n")),
            (2, "spend".into())
        );
        assert_eq!(
            refused(&format!("{head}2026-10-05,meta,,5\n")),
            (2, "ad_id".into())
        );
        assert_eq!(
            refused(&format!("{head}2026-10-05,meta,1\n")),
            (2, "".into())
        );
        assert_eq!(parse_spend_csv(head, "IDR"), Ok(vec![]));
    }

    #[test]
    fn json_rows() {
        let body = json!([
            {"date": "2026-10-05", "platform": "meta", "ad_id": "120400001", "spend": 60000, "ad_name": "Kopi A"},
            {"date": "2026-10-05", "platform": "meta", "ad_id": 120400002u64, "spend": "149999.50"},
            {"date": "2026-10-05", "platform": "meta", "ad_id": "120400001", "spend": 70000}
        ]);
        let rows = parse_spend_json(&body, "IDR").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].spend, rows[0].ad_name.as_deref()),
            (7_000_000, None)
        );
        assert_eq!(
            (rows[1].ad_id.as_str(), rows[1].spend),
            ("120400002", 14_999_950)
        );
        let bad = |mut row: Value, key: &str, v: Value| {
            row[key] = v;
            let good = json!({"date": "2026-10-05", "platform": "meta", "ad_id": "1", "spend": 1});
            let e = parse_spend_json(&json!([good, row]), "IDR").unwrap_err();
            (e.line, e.field, e.message)
        };
        let row = json!({"date": "2026-10-05", "platform": "meta", "ad_id": "1", "spend": 1});
        assert_eq!(
            bad(row.clone(), "spend", json!(-5)),
            (1, "spend".into(), "must not be negative".into())
        );
        assert_eq!(bad(row.clone(), "ad_id", json!(null)).1, "ad_id");
        assert_eq!(bad(row.clone(), "ad_id", json!(1.5)).1, "ad_id");
        assert_eq!(bad(row.clone(), "date", json!("5 Oct")).1, "date");
        assert_eq!(bad(row.clone(), "spend", json!(null)).1, "spend");
        assert_eq!(bad(row.clone(), "currency", json!("USD")).1, "currency");
        assert_eq!(bad(row.clone(), "currency", json!(5)).1, "currency");
        let idr = parse_spend_json(
            &json!([{"date": "2026-10-05", "platform": "meta",
            "ad_id": "1", "spend": 1, "currency": "idr"}]),
            "IDR",
        );
        assert_eq!(idr.map(|r| r.len()), Ok(1));
        let e = parse_spend_json(&json!({"date": "2026-10-05"}), "IDR").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (0, ""));
        let many = Value::Array(vec![json!({}); MAX_JSON_ROWS + 1]);
        assert!(
            parse_spend_json(&many, "IDR")
                .unwrap_err()
                .message
                .contains("at most")
        );
    }

    #[test]
    fn orders_become_conversion_events() {
        let tz = chrono_tz::Asia::Jakarta;
        let head = "order_id,phone,occurred_at,value,currency\n";
        let csv = format!(
            "{head}A-1,+6281234567890,2026-10-05,150000,IDR\nA-2,0812,2026-10-05T14:30:00+07:00,9.50,IDR\n"
        );
        let ev = parse_orders_csv(&csv, tz).unwrap();
        let want = json!({"id": "A-1", "kind": "conversion", "occurred_at": "2026-10-05T23:59:59+07:00",
            "channel": "other", "contact": {"phone": "+6281234567890"},
            "conversion": {"type": "purchase", "value": "150000", "currency": "IDR"}});
        assert_eq!(ev[0], want);
        assert_eq!(ev[1]["occurred_at"], "2026-10-05T14:30:00+07:00");
        let full = "type,email,order_id,phone,occurred_at,value,currency\n\
            qualified,a@b.co,Q-1,0812,2026-10-05T01:00:00Z,,\n,,P-1,0812,2026-10-06,5,IDR\n";
        let ev = parse_orders_csv(full, tz).unwrap();
        assert_eq!(
            ev[0]["contact"],
            json!({"phone": "0812", "email": "a@b.co"})
        );
        assert_eq!(ev[0]["conversion"], json!({"type": "qualified"}));
        assert_eq!(
            (&ev[1]["contact"], &ev[1]["conversion"]["type"]),
            (&json!({"phone": "0812"}), &json!("purchase"))
        );
        let e = parse_orders_csv(&format!("{head},1,2026-10-05,5,IDR\n"), tz).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "order_id"));
        let e = parse_orders_csv(&format!("{head}X,1,yesterday,5,IDR\n"), tz).unwrap_err();
        assert_eq!(e.field, "occurred_at");
        assert_eq!(
            parse_orders_csv("date,platform,ad_id,spend\n", tz)
                .unwrap_err()
                .line,
            1
        );
    }
}
