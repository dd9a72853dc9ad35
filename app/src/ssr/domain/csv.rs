//! Leads as CSV (`GET /api/v1/leads.csv`). Pure.

use chrono_tz::Tz;

use super::rules::LeadFacts;
use crate::model::Source;

const COLUMNS: &str = "id,date,name,phone,email,channel,first_source_platform,first_source_id,first_source_name,first_touched_at,last_source_platform,last_source_id,last_source_name\r\n";

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
            l.phone.clone().unwrap_or_default(),
            text(l.email.as_deref().unwrap_or("")),
            l.channel.clone(),
            fp,
            fi,
            fname,
            l.first_touched_at.map(time).unwrap_or_default(),
            lp,
            li,
            lname,
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
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
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(text("Budi"), "Budi");
        assert_eq!(text("Santoso, Budi"), "\"Santoso, Budi\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
