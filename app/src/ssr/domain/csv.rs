//! Leads as CSV (`GET /api/v1/leads.csv`). Pure.

use chrono_tz::Tz;

use super::rules::LeadFacts;
use crate::model::{AdSource, AdsFigures, AdsReport, Lang, Source};

const COLUMNS: &str = "id,date,name,phone,email,channel,first_source_platform,first_source_id,first_source_name,first_touched_at,last_source_platform,last_source_id,last_source_name,answered,engaged,one_message,buyer,revenue\r\n";

pub fn header() -> String {
    COLUMNS.to_owned()
}

/// Appends one line per lead. Times are RFC 3339 in the chosen time zone.
pub fn rows(out: &mut String, leads: &[LeadFacts], tz: Tz) {
    for l in leads {
        let time = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).to_rfc3339();
        let src = |s: &Option<Source>| match s {
            Some(s) => [
                text(&s.platform),
                text(s.id.as_deref().unwrap_or("")),
                text(s.name.as_deref().unwrap_or("")),
            ],
            None => [String::new(), String::new(), String::new()],
        };
        let [fp, fi, fname] = src(&l.first_source);
        let [lp, li, lname] = src(&l.last_source);
        let fields = [
            quote(l.key.clone()),
            time(l.date),
            text(l.name.as_deref().unwrap_or("")),
            l.shown_phone().unwrap_or_default(),
            text(l.email.as_deref().unwrap_or("")),
            l.channel.clone(),
            fp,
            fi,
            fname,
            l.first_touched_at.map(time).unwrap_or_default(),
            lp,
            li,
            lname,
            yes_no(l.answered()),
            yes_no(l.engaged),
            yes_no(l.one_message),
            yes_no(l.buyer()),
            super::money::to_text(l.revenue()),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// The byte-order mark that makes Excel read the file as UTF-8 (Indonesian
/// names with accents, Arabic or Chinese names).
pub const BOM: &str = "\u{feff}";

/// The header of the page's download: the seven columns of the Leads table
/// in the page's language, then channel and lead id, then the lead's
/// quality (answered, engaged, one message, buyer) and revenue.
pub fn page_header(lang: Lang) -> String {
    let keys = [
        "col.date",
        "col.name",
        "col.phone",
        "col.email",
        "col.first_source",
        "col.first_touched",
        "col.last_source",
        "col.channel",
        "col.id",
        "kpi.answered",
        "quality.engaged",
        "ads.one_message",
        "quality.buyer",
        "ads.revenue",
    ];
    let names: Vec<String> = keys.iter().map(|k| text(lang.t(k))).collect();
    format!("{BOM}{}\r\n", names.join(","))
}

/// The page's download: what the table shows, for spreadsheets. Times are
/// local (`2026-11-20 09:15:03`, which spreadsheets read as a date and
/// time); phones are written as `="+6281…"` so Excel keeps them as text
/// instead of turning them into a number; Last Source only when it differs.
pub fn page_rows(out: &mut String, leads: &[LeadFacts], tz: Tz, lang: Lang) {
    let yes = |b: bool| lang.t(if b { "yes" } else { "no" }).to_owned();
    for l in leads {
        let time = |t: chrono::DateTime<chrono::Utc>| {
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
        };
        let source = |s: &Option<Source>| match s {
            Some(s) => text(&format!("{} ({})", s.label(), s.platform)),
            None => text(lang.t("organic")),
        };
        let last = if l.last_source_differs() {
            source(&l.last_source)
        } else {
            String::new()
        };
        let fields = [
            time(l.date),
            text(l.name.as_deref().unwrap_or("")),
            l.shown_phone()
                .map(|p| quote(format!("=\"{p}\"")))
                .unwrap_or_default(),
            text(l.email.as_deref().unwrap_or("")),
            source(&l.first_source),
            l.first_touched_at.map(time).unwrap_or_default(),
            last,
            l.channel.clone(),
            if l.key.starts_with('+') {
                quote(format!("=\"{}\"", l.key))
            } else {
                quote(l.key.clone())
            },
            yes(l.answered()),
            yes(l.engaged),
            yes(l.one_message),
            yes(l.buyer()),
            super::money::to_text(l.revenue()),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
}

/// The ads report (`GET /api/v1/ads.csv`): one line per source, then the
/// total; the figures under their names in `GET /api/v1/ads`, money in the
/// report's currency (its own column), empty where a division has none.
pub fn ads(r: &AdsReport) -> String {
    let mut out = String::from(
        "row,source_platform,source_type,source_id,source_name,currency,spend,leads,cost_per_lead,answered,engaged,one_message,median_first_touch_seconds,buyers,revenue,cost_per_buyer,roas\r\n",
    );
    let currency = text(&r.currency);
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut line = |kind: &str, src: Option<&AdSource>, f: &AdsFigures| {
        let src = src.map_or(
            [String::new(), String::new(), String::new(), String::new()],
            |s| {
                [
                    text(&s.platform),
                    text(&s.kind),
                    text(s.id.as_deref().unwrap_or("")),
                    text(s.name.as_deref().unwrap_or("")),
                ]
            },
        );
        let [platform, kind_of, id, name] = src;
        let fields = [
            kind.to_owned(),
            platform,
            kind_of,
            id,
            name,
            currency.clone(),
            num(f.spend),
            f.leads.to_string(),
            num(f.cost_per_lead),
            f.answered.to_string(),
            f.engaged.to_string(),
            f.one_message.to_string(),
            f.median_first_touch_seconds
                .map(|s| s.to_string())
                .unwrap_or_default(),
            f.buyers.to_string(),
            f.revenue.to_string(),
            num(f.cost_per_buyer),
            num(f.roas),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    };
    for row in &r.rows {
        let kind = if row.source.is_some() {
            "source"
        } else {
            "organic"
        };
        line(kind, row.source.as_ref(), &row.figures);
    }
    line("total", None, &r.total);
    out
}

/// Free text: defused, so a spreadsheet does not run it as a formula (`=`,
/// `+`, `-`, `@` at the start), and quoted when needed.
fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        quote(format!("'{s}"))
    } else {
        quote(s.to_owned())
    }
}

/// Quotes a field that holds a separator, a quote or a line break. Keys and
/// phones (`+62…`, `instagram:…`) go through this alone: they are ours.
fn quote(s: String) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_download_is_for_spreadsheets() {
        let lead = LeadFacts {
            name: Some("Budi, \"Santoso\"".into()),
            phone: Some("+6281234567890".into()),
            first_source: Some(Source {
                platform: "meta".into(),
                kind: "ad".into(),
                id: Some("1202".into()),
                name: Some("Promo 11.11".into()),
                url: None,
            }),
            ..LeadFacts::bare("+6281234567890", "2026-11-20T02:15:03Z".parse().expect("t"))
        };
        let head = page_header(Lang::En);
        assert!(head.starts_with('\u{feff}'));
        assert_eq!(
            head.trim_start_matches('\u{feff}'),
            "Date,Customer Name,Phone Number,Email,First Source,First Touched At,Last Source,Channel,Lead ID,Answered,Engaged,One message,Buyer,Revenue\r\n"
        );
        assert!(page_header(Lang::Id).contains("Nama Pelanggan"));
        let mut out = String::new();
        page_rows(&mut out, &[lead], chrono_tz::Asia::Jakarta, Lang::En);
        assert_eq!(
            out,
            "2026-11-20 09:15:03,\"Budi, \"\"Santoso\"\"\",\"=\"\"+6281234567890\"\"\",,Promo 11.11 (meta),,,whatsapp,\"=\"\"+6281234567890\"\"\",no,no,no,no,0\r\n"
        );
    }

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(text("Budi"), "Budi");
        assert_eq!(text("Santoso, Budi"), "\"Santoso, Budi\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
