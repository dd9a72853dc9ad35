//! `leads-dashboard import FILE`: NDJSON events (one per line, or an array
//! of events per line as the API takes them) with the API's format and
//! rules, or a CSV of existing customers (`phone,name,email,known_since`,
//! header required), who are never listed as new leads (rule 4).
//!
//! The whole file is checked first: if any line is invalid nothing is
//! imported, and up to 20 errors are listed by line and field; with
//! `--skip-invalid FILE` the valid lines are imported and the rejected ones
//! written to FILE with their reasons. Then it is
//! stored in batches of 1000 through `Leads`; importing the same file again
//! changes nothing (event ids, `known:<phone>` for customers).

use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use app::error::AppError;
use app::ssr::event::{self, Event, MAX_BATCH};
use app::ssr::leads::Leads;
use app::ssr::state::Settings;

/// Errors listed before giving up.
const MAX_ERRORS: usize = 20;

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Events,
    Customers,
}

impl Format {
    /// A `.csv` holds existing customers; anything else NDJSON events.
    fn of(file: &Path) -> Format {
        if file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            Format::Customers
        } else {
            Format::Events
        }
    }
}

/// Checks every line of `file`: `Err` lists up to 20 invalid lines.
fn check(file: &Path, format: Format, settings: &Settings) -> Result<(), String> {
    let errors: Vec<String> = lines(file, format, settings)?
        .filter_map(Result::err)
        .take(MAX_ERRORS)
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(format!(
        "nothing imported: {} has invalid lines (the first {} shown)\n{}",
        file.display(),
        errors.len(),
        errors.join("\n")
    ))
}

/// Where `--skip-invalid` writes the lines it leaves out, with their reasons.
struct Rejects<'a> {
    out: Option<(std::io::BufWriter<std::fs::File>, &'a Path)>,
    count: usize,
}

impl<'a> Rejects<'a> {
    fn open(path: Option<&'a Path>) -> Result<Rejects<'a>, String> {
        let out = match path {
            Some(p) => Some((
                std::io::BufWriter::new(
                    std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
                ),
                p,
            )),
            None => None,
        };
        Ok(Rejects { out, count: 0 })
    }

    /// A valid line's content; an invalid one is written out (`None`) with
    /// --skip-invalid, and stops the import without.
    fn keep<T>(&mut self, line: Result<T, String>) -> Result<Option<T>, String> {
        use std::io::Write;
        match (line, self.out.as_mut()) {
            (Ok(v), _) => Ok(Some(v)),
            (Err(e), Some((out, _))) => {
                self.count += 1;
                writeln!(out, "{e}").map_err(|e| format!("writing rejected lines: {e}"))?;
                Ok(None)
            }
            (Err(e), None) => Err(e),
        }
    }

    fn finish(self) -> Result<(), String> {
        use std::io::Write;
        if let Some((mut out, path)) = self.out {
            out.flush()
                .map_err(|e| format!("writing rejected lines: {e}"))?;
            if self.count > 0 {
                eprintln!(
                    "{} invalid lines skipped; they and their reasons are in {}",
                    self.count,
                    path.display()
                );
            }
        }
        Ok(())
    }
}

pub async fn run(
    db: &Leads,
    settings: &Settings,
    file: &Path,
    skip_invalid: Option<&Path>,
) -> Result<(), String> {
    let format = Format::of(file);
    // Pass 1 (unless --skip-invalid): check every line, keep nothing.
    if skip_invalid.is_none() {
        check(file, format, settings)?;
    }
    let mut rejects = Rejects::open(skip_invalid)?;
    // Pass 2: store, a batch at a time (memory stays bounded).
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
        )
        .map_err(|e| e.to_string())?,
    );
    let (mut accepted, mut duplicates) = (0usize, 0usize);
    let mut batch: Vec<Event> = Vec::with_capacity(MAX_BATCH);
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut stored_batches = 0u64;
    for line in lines(file, format, settings)? {
        let Some((events, bytes)) = rejects.keep(line)? else {
            continue;
        };
        bar.inc(bytes);
        for ev in events {
            batch.push(ev);
            if batch.len() == MAX_BATCH {
                let o = store(db, std::mem::take(&mut batch)).await?;
                accepted += o.0;
                duplicates += o.1;
                bar.set_message(format!("{accepted} new, {duplicates} already known"));
                stored_batches += 1;
                // No terminal (a log, a pipe): a plain line now and then.
                if !on_terminal && stored_batches % 100 == 0 {
                    eprintln!(
                        "imported {accepted} new, {duplicates} already known ({}%)",
                        bar.position() * 100 / size.max(1)
                    );
                }
            }
        }
    }
    if !batch.is_empty() {
        let o = store(db, batch).await?;
        accepted += o.0;
        duplicates += o.1;
    }
    bar.finish_with_message(format!("{accepted} new, {duplicates} already known"));
    if !on_terminal {
        eprintln!("imported {accepted} new, {duplicates} already known");
    }
    rejects.finish()?;
    Ok(())
}

type LineResult = Result<(Vec<Event>, u64), String>;

/// The lines of `file`, each as its events (and its size in bytes) or its
/// error; blank lines are left out.
fn lines<'a>(
    file: &Path,
    format: Format,
    settings: &'a Settings,
) -> Result<impl Iterator<Item = LineResult> + 'a, String> {
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut reader = std::io::BufReader::new(f).lines().enumerate();
    let mut columns: Option<Columns> = None;
    if format == Format::Customers {
        let Some((_, header)) = reader.next() else {
            return Err(
                "the CSV is empty: it needs the header phone,name,email,known_since".into(),
            );
        };
        let header = header.map_err(|e| format!("line 1: {e}"))?;
        columns = Some(Columns::of(&header)?);
    }
    Ok(reader.filter_map(move |(i, line)| {
        let n = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => return Some(Err(format!("line {n}: {e}"))),
        };
        let bytes = line.len() as u64 + 1;
        if line.trim().is_empty() {
            return None;
        }
        Some(match &columns {
            Some(c) => customer(&line, c, settings)
                .map(|e| (vec![e], bytes))
                .map_err(|e| format!("line {n}: {e}")),
            None => events(&line, settings)
                .map(|e| (e, bytes))
                .map_err(|e| format!("line {n}{e}")),
        })
    }))
}

/// One NDJSON line: an event or an array of events. Errors start with
/// `: …` or `, event k: …` (after the line number).
fn events(line: &str, settings: &Settings) -> Result<Vec<Event>, String> {
    events_of(&json_line(line)?, settings)
}

fn json_line(line: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(line).map_err(|e| format!(": not JSON: {e}"))
}

/// The items of a line: the array's, or the one event.
fn items(value: &serde_json::Value) -> &[serde_json::Value] {
    match value {
        serde_json::Value::Array(items) => items.as_slice(),
        one => std::slice::from_ref(one),
    }
}

fn events_of(value: &serde_json::Value, settings: &Settings) -> Result<Vec<Event>, String> {
    let items = items(value);
    items
        .iter()
        .enumerate()
        .map(|(k, item)| {
            event::validate(item, settings.region).map_err(|(field, why)| {
                if items.len() > 1 {
                    format!(", event {k}: {field}: {why}")
                } else {
                    format!(": {field}: {why}")
                }
            })
        })
        .collect()
}

/// Where the CSV's columns are.
struct Columns {
    phone: usize,
    name: Option<usize>,
    email: Option<usize>,
    known_since: Option<usize>,
}

impl Columns {
    fn of(header: &str) -> Result<Columns, String> {
        let names: Vec<String> = fields(header.trim_start_matches('\u{feff}'))
            .into_iter()
            .map(|f| f.trim().to_lowercase())
            .collect();
        let find = |n: &str| names.iter().position(|h| h == n);
        Ok(Columns {
            phone: find("phone").ok_or(
                "line 1: the CSV header must name the columns phone,name,email,known_since",
            )?,
            name: find("name"),
            email: find("email"),
            known_since: find("known_since"),
        })
    }
}

fn customer(line: &str, c: &Columns, settings: &Settings) -> Result<Event, String> {
    let f = fields(line);
    let get = |i: Option<usize>| {
        i.and_then(|i| f.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let phone = get(Some(c.phone)).ok_or("phone: is required")?;
    let since = match get(c.known_since) {
        None => DateTime::<Utc>::UNIX_EPOCH,
        Some(s) => {
            parse_since(s).ok_or("known_since: must be a day YYYY-MM-DD or an RFC 3339 time")?
        }
    };
    event::known_customer(phone, get(c.name), get(c.email), since, settings.region)
        .map_err(|(field, why)| format!("{}: {why}", field.trim_start_matches("contact.")))
}

fn parse_since(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
}

/// The fields of one CSV line (RFC 4180 quoting: `"a, b"`, `""` inside).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

async fn store(leads: &Leads, batch: Vec<Event>) -> Result<(usize, usize), String> {
    leads
        .ingest(batch)
        .await
        .map(|o| (o.accepted, o.duplicates))
        .map_err(|e: AppError| format!("storing a batch failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::fields;

    #[test]
    fn csv_fields_follow_rfc_4180() {
        assert_eq!(fields("a,b,,c"), vec!["a", "b", "", "c"]);
        assert_eq!(
            fields("\"Santoso, Budi\",\"say \"\"hi\"\"\"\r"),
            vec!["Santoso, Budi", "say \"hi\""]
        );
    }
}

/// `import FILE --url URL`: the same check, then the events go to a running
/// server's `POST /api/v1/events` in batches of 1000 (each answered only
/// once durable there).
pub async fn run_remote(
    settings: &Settings,
    file: &Path,
    skip_invalid: Option<&Path>,
    url: &str,
) -> Result<(), String> {
    if Format::of(file) == Format::Customers {
        return Err("existing customers (CSV) cannot be imported through the API: stop the server and import without --url".into());
    }
    let token = settings
        .api_token
        .as_deref()
        .ok_or("--url needs the server's API token in LEADS_API_TOKEN")?;
    let target = Target::parse(url)?;
    // Check first, as without --url.
    if skip_invalid.is_none() {
        check(file, Format::Events, settings)?;
    }
    let mut rejects = Rejects::open(skip_invalid)?;
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut batch: Vec<serde_json::Value> = Vec::with_capacity(MAX_BATCH);
    let (mut accepted, mut duplicates) = (0u64, 0u64);
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        // The server gets the lines as written; each is checked here too, so
        // a bad one is named before anything is sent (or written out).
        let checked = json_line(&line)
            .and_then(|v| events_of(&v, settings).map(|_| v))
            .map_err(|e| format!("line {}{e}", i + 1));
        let Some(value) = rejects.keep(checked)? else {
            continue;
        };
        batch.extend_from_slice(items(&value));
        while batch.len() >= MAX_BATCH {
            let rest = batch.split_off(MAX_BATCH);
            let (a, d) = target.post_events(token, &batch).await?;
            (accepted, duplicates) = (accepted + a, duplicates + d);
            batch = rest;
        }
    }
    if !batch.is_empty() {
        let (a, d) = target.post_events(token, &batch).await?;
        (accepted, duplicates) = (accepted + a, duplicates + d);
    }
    rejects.finish()?;
    eprintln!("{accepted} new, {duplicates} already known (through {url})");
    Ok(())
}

/// A server to import through: `http://host:port` (plain HTTP; for a
/// server on this machine or a private network).
struct Target {
    addr: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or("--url must be http://HOST:PORT (the running server's address)")?;
        let addr = rest.trim_end_matches('/');
        if addr.is_empty() || addr.contains('/') {
            return Err("--url must be http://HOST:PORT".into());
        }
        Ok(Target {
            addr: addr.to_owned(),
        })
    }

    /// One `POST /api/v1/events`: `(accepted, duplicates)`, or the server's
    /// error.
    async fn post_events(
        &self,
        token: &str,
        batch: &[serde_json::Value],
    ) -> Result<(u64, u64), String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let body = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
        let mut conn = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| format!("cannot reach {}: {e}", self.addr))?;
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        conn.write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        conn.write_all(&body).await.map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&answer);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        let json = text.split("\r\n\r\n").nth(1).unwrap_or("");
        if status != 200 {
            return Err(format!("the server answered {status}: {json}"));
        }
        let v: serde_json::Value = serde_json::from_str(json.trim())
            .map_err(|_| format!("unexpected answer from the server: {json}"))?;
        Ok((
            v["accepted"].as_u64().unwrap_or(0),
            v["duplicates"].as_u64().unwrap_or(0),
        ))
    }
}
