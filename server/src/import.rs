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
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use app::error::AppError;
use app::ssr::domain::event::{self, Event, MAX_BATCH};
use app::ssr::domain::settings::Settings;
use app::ssr::intake::spend;
use app::ssr::leads::Leads;
use app::ssr::store::db::Db;

/// Errors listed before giving up.
const MAX_ERRORS: usize = 20;

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Events,
    Customers,
}

impl Format {
    /// By what the file holds, whatever its name: NDJSON events start with
    /// `{` (or a JSON list with `[`); anything else is a CSV (customers,
    /// or spend or orders by its header). A file that cannot be read (or
    /// is empty) goes by its name: `.csv` or not.
    fn of(file: &Path) -> Format {
        let by_name = if file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            Format::Customers
        } else {
            Format::Events
        };
        // Only a file can be looked into twice (not a pipe).
        if !std::fs::metadata(file).is_ok_and(|m| m.is_file()) {
            return by_name;
        }
        let Ok(f) = std::fs::File::open(file) else {
            return by_name;
        };
        let mut head = Vec::new();
        // The first bytes that are not a byte-order mark or white space.
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head);
        let text = String::from_utf8_lossy(&head);
        match text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .next()
        {
            None => by_name,
            Some('{' | '[') => Format::Events,
            Some(_) => Format::Customers,
        }
    }
}

/// A temporary copy of an import's input, removed when the import ends.
pub struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The import's input as a file that can be read more than once: an
/// import looks at its head, checks every line, then stores (`run`), but a
/// pipe (`/dev/stdin`, `<(…)`) gives its bytes once, so the second pass
/// read nothing and "imported 0 new" with success. Such input is first
/// copied to a private temporary file (mode 0600: it is customer data).
pub fn readable_twice(file: PathBuf) -> Result<(PathBuf, Option<Spool>), String> {
    if std::fs::metadata(&file).is_ok_and(|m| m.is_file()) {
        return Ok((file, None));
    }
    let shown = |e: std::io::Error| format!("{}: {e}", file.display());
    let mut src = std::fs::File::open(&file).map_err(shown)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!("leads-import-{}-{nanos}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut dst = opts
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let spool = Spool(path.clone());
    std::io::copy(&mut src, &mut dst).map_err(shown)?;
    Ok((path, Some(spool)))
}

/// How far an import is: a bar on a terminal, else a plain line every 5 s.
struct Progress {
    bar: ProgressBar,
    size: u64,
    on_terminal: bool,
    told: std::time::Instant,
}

impl Progress {
    fn new(file: &Path) -> Result<Progress, String> {
        let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
            )
            .map_err(|e| e.to_string())?,
        );
        Ok(Progress {
            bar,
            size,
            on_terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            told: std::time::Instant::now(),
        })
    }

    /// `bytes` more of the file were read.
    fn read(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    /// What is stored so far.
    fn counts(&mut self, accepted: u64, duplicates: u64) {
        self.bar
            .set_message(format!("{accepted} new, {duplicates} already known"));
        if !self.on_terminal && self.told.elapsed() >= std::time::Duration::from_secs(5) {
            self.told = std::time::Instant::now();
            eprintln!(
                "imported {accepted} new, {duplicates} already known ({}%)",
                self.bar.position() * 100 / self.size.max(1)
            );
        }
    }

    fn finish(&self, done: &str) {
        self.bar.finish_with_message(done.to_owned());
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
                    // A new file only: never over the input, or any other
                    // file (a typo would lose it).
                    std::fs::OpenOptions::new()
                        .write(true)
                        // A device (`/dev/null`, `/dev/stderr`) is written to.
                        .create_new(!p.exists() || p.is_file())
                        .open(p)
                        .map_err(|e| match e.kind() {
                            std::io::ErrorKind::AlreadyExists => format!(
                                "{}: exists already; --skip-invalid writes a new file, \
                                 name one that does not exist",
                                p.display()
                            ),
                            _ => format!("{}: {e}", p.display()),
                        })?,
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
    if format == Format::Customers {
        match csv_kind(file)? {
            Some(spend::CsvKind::AdsManager | spend::CsvKind::PlainSpend) => {
                return Err(
                    "a spend file is imported with spend_only, before the lead index is built"
                        .into(),
                );
            }
            Some(spend::CsvKind::Orders) => return import_orders(db, settings, file).await,
            None => {}
        }
    }
    // Pass 1 (unless --skip-invalid): check every line, keep nothing.
    if skip_invalid.is_none() {
        check(file, format, settings)?;
    }
    let mut rejects = Rejects::open(skip_invalid)?;
    // Pass 2: store, a batch at a time (memory stays bounded).
    let mut progress = Progress::new(file)?;
    let (mut accepted, mut duplicates) = (0usize, 0usize);
    let mut batch: Vec<Event> = Vec::with_capacity(MAX_BATCH);
    for line in lines(file, format, settings)? {
        let Some((events, bytes)) = rejects.keep(line)? else {
            continue;
        };
        progress.read(bytes);
        for ev in events {
            batch.push(ev);
            if batch.len() == MAX_BATCH {
                let o = store(db, std::mem::take(&mut batch)).await?;
                accepted += o.0;
                duplicates += o.1;
                progress.counts(accepted as u64, duplicates as u64);
            }
        }
    }
    if !batch.is_empty() {
        let o = store(db, batch).await?;
        accepted += o.0;
        duplicates += o.1;
    }
    let done = format!("{accepted} new, {duplicates} already known");
    progress.finish(&done);
    if !progress.on_terminal {
        eprintln!("imported {done}");
    }
    rejects.finish()?;
    Ok(())
}

/// What a CSV holds, by its header: ad spend, orders, or (`None`) customers.
fn csv_kind(file: &Path) -> Result<Option<spend::CsvKind>, String> {
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut header = String::new();
    std::io::BufReader::new(f)
        .read_line(&mut header)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let header = header.trim_start_matches('\u{feff}');
    // A file that names an ad and an amount spent is a spend export even
    // when it is refused below (not by day): say why, not "not customers".
    if header.contains("Ad ID") && header.contains("Amount spent (") {
        return Ok(Some(spend::CsvKind::AdsManager));
    }
    Ok(spend::kind_of(header))
}

fn read_text(file: &Path) -> Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))
}

/// A Meta Ads Manager export or a plain spend CSV: every row checked, then
/// stored; a row for an ad's day already stored replaces it. Straight into
/// the database, before (and without) the lead index, which spend does not
/// need. `false`: the file is something else.
pub async fn spend_only(db: &Db, settings: &Settings, file: &Path) -> Result<bool, String> {
    if Format::of(file) != Format::Customers {
        return Ok(false);
    }
    match csv_kind(file)? {
        Some(spend::CsvKind::AdsManager | spend::CsvKind::PlainSpend) => {
            import_spend(db, settings, file).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

async fn import_spend(db: &Db, settings: &Settings, file: &Path) -> Result<(), String> {
    let rows = spend::parse_spend_csv(&read_text(file)?, &settings.currency)
        .map_err(|e| format!("nothing imported: {}: {e}", file.display()))?;
    let n = Leads::store_spend(db, &rows)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("imported {n} rows of ad spend (a day already imported for an ad was replaced)");
    Ok(())
}

/// An orders CSV (`order_id,phone,occurred_at,value,currency`): purchases
/// as conversion events, all checked before any is stored.
async fn import_orders(db: &Leads, settings: &Settings, file: &Path) -> Result<(), String> {
    let text = read_text(file)?;
    let items = spend::parse_orders_csv(&text, settings.tz)
        .map_err(|e| format!("nothing imported: {}: {e}", file.display()))?;
    let lines: Vec<usize> = spend::records(&text)
        .iter()
        .skip(1)
        .map(|(n, _)| *n)
        .collect();
    let mut events = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match event::validate(item, settings.region)
            .and_then(|e| event::check_currency(e, &settings.currency))
        {
            Ok(e) => events.push(e),
            Err((field, why)) if errors.len() < MAX_ERRORS => {
                let line = lines.get(i).copied().unwrap_or(i + 2);
                errors.push(format!("line {line}: {}: {why}", csv_field(field)));
            }
            Err(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(format!(
            "nothing imported: {} has invalid lines (the first {} shown)\n{}",
            file.display(),
            errors.len(),
            errors.join("\n")
        ));
    }
    let (mut accepted, mut duplicates) = (0, 0);
    for chunk in events.chunks(MAX_BATCH) {
        let (a, d) = store(db, chunk.to_vec()).await?;
        accepted += a;
        duplicates += d;
    }
    eprintln!("imported {accepted} new, {duplicates} already known");
    Ok(())
}

/// The orders CSV's column for an event field.
fn csv_field(field: &str) -> &str {
    match field {
        "id" => "order_id",
        "contact.phone" => "phone",
        "contact.email" => "email",
        "conversion.value" => "value",
        "conversion.currency" => "currency",
        "conversion.type" => "type",
        other => other,
    }
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
        let header = header.trim_start_matches('\u{feff}');
        match Columns::of(header) {
            Ok(c) => columns = Some(c),
            // No header, the spec's columns in their order: the first
            // line is a customer already.
            Err(e) => {
                if customer(header, &Columns::SPEC, settings).is_err() {
                    return Err(e);
                }
                columns = Some(Columns::SPEC);
                let f =
                    std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
                reader = std::io::BufReader::new(f).lines().enumerate();
            }
        }
    }
    // A customers CSV's records may span lines; NDJSON is a line each.
    let customers = format == Format::Customers;
    let reader: Box<dyn Iterator<Item = (usize, std::io::Result<String>)>> = if customers {
        Box::new(records(reader))
    } else {
        Box::new(reader)
    };
    Ok(reader.filter_map(move |(i, line)| {
        let n = i + 1;
        let line = match line {
            // A byte-order mark (Excel's "CSV UTF-8", some editors) is
            // not part of the first line.
            Ok(l) if i == 0 => l.trim_start_matches('\u{feff}').to_owned(),
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
            event::validate(item, settings.region)
                .and_then(|e| event::check_currency(e, &settings.currency))
                .map_err(|(field, why)| {
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
    /// `phone,name,email,known_since`, for a file without a header.
    const SPEC: Columns = Columns {
        phone: 0,
        name: Some(1),
        email: Some(2),
        known_since: Some(3),
    };

    fn of(header: &str) -> Result<Columns, String> {
        let names: Vec<String> = fields(header.trim_start_matches('\u{feff}'))
            .into_iter()
            .map(|f| f.trim().to_lowercase())
            .collect();
        let find = |n: &str| names.iter().position(|h| h == n);
        const KINDS: &str = "a customers CSV has the columns phone,name,email,known_since; \
             an orders CSV order_id,phone,occurred_at,value,currency (email, type optional); \
             a spend CSV date,platform,ad_id,spend (ad_name optional), or a Meta Ads Manager \
             export by day";
        if header.contains(';') && !header.contains(',') {
            return Err(format!(
                "line 1: the columns are separated by ';': save the file as CSV with commas \
                 (in Excel: CSV UTF-8, comma delimited); {KINDS}"
            ));
        }
        // A column of an orders or spend file: such a file whose header is
        // slightly off must not become known customers (rule 4 would hide
        // those buyers for good). Other extra columns (a CRM's `city`) are
        // left unread, as before.
        if let Some(other) = names.iter().find(|n| spend::names_another_kind(n)) {
            return Err(format!(
                "line 1: the column {other:?} belongs to an orders or spend file, but the \
                 header is not one: {KINDS}; nothing imported"
            ));
        }
        Ok(Columns {
            phone: find("phone").ok_or(format!(
                "line 1: the CSV header must name the columns phone,name,email,known_since ({KINDS})"
            ))?,
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

/// The fields of one CSV record (RFC 4180 quoting: `"a, b"`, `""` inside,
/// a line break inside quotes: [`records`] joins its lines).
fn fields(line: &str) -> Vec<String> {
    split(line).0
}

/// Whether a quoted field is still open at the end of `line`: its record
/// goes on on the next line.
fn open_quote(line: &str) -> bool {
    // Only a quote can open one: most lines have none, and are split once.
    line.contains('"') && split(line).1
}

/// The lines of a CSV joined into its records: a quoted field may hold a
/// line break (a CRM's address or note). Each record keeps the number of
/// the line it starts on; an unterminated quote runs to the end.
fn records<E>(
    mut lines: impl Iterator<Item = (usize, Result<String, E>)>,
) -> impl Iterator<Item = (usize, Result<String, E>)> {
    std::iter::from_fn(move || {
        let (i, first) = lines.next()?;
        let Ok(mut text) = first else {
            return Some((i, first));
        };
        while open_quote(&text) {
            match lines.next() {
                Some((_, Ok(more))) => {
                    text.push('\n');
                    text.push_str(&more);
                }
                Some((_, Err(e))) => return Some((i, Err(e))),
                None => break,
            }
        }
        Some((i, Ok(text)))
    })
}

fn split(line: &str) -> (Vec<String>, bool) {
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
    (out, quoted)
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

    /// A quoted field with line breaks (a CRM's address) is one record,
    /// numbered by the line it starts on.
    #[test]
    fn csv_records_may_span_lines() {
        let lines = [
            "+6281234567890,\"Budi\",\"Jl. Merdeka 1",
            "Jakarta\",2026-01-01",
            "+6281234567891,Sari,,",
            "+6281234567892,\"never closed",
        ];
        let joined: Vec<(usize, String)> =
            super::records(lines.iter().map(|l| Ok::<_, ()>(l.to_string())).enumerate())
                .map(|(i, r)| (i, r.expect("text")))
                .collect();
        assert_eq!(
            joined,
            vec![
                (
                    0,
                    "+6281234567890,\"Budi\",\"Jl. Merdeka 1\nJakarta\",2026-01-01".into()
                ),
                (2, "+6281234567891,Sari,,".into()),
                (3, "+6281234567892,\"never closed".into()),
            ]
        );
        assert_eq!(
            fields(&joined[0].1),
            vec![
                "+6281234567890",
                "Budi",
                "Jl. Merdeka 1\nJakarta",
                "2026-01-01"
            ]
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
        // Say what the file is: spend and orders are CSVs too.
        let what = match csv_kind(file)? {
            Some(spend::CsvKind::AdsManager | spend::CsvKind::PlainSpend) => {
                "ad spend (CSV) is not imported through --url: stop the server and import without --url, or send the rows to POST /api/v1/spend"
            }
            Some(spend::CsvKind::Orders) => {
                "orders (CSV) are not imported through --url: stop the server and import without --url, or send them as conversion events"
            }
            None => {
                "existing customers (CSV) cannot be imported through the API: stop the server and import without --url"
            }
        };
        return Err(what.into());
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
    let mut progress = Progress::new(file)?;
    let mut batch: Vec<serde_json::Value> = Vec::with_capacity(MAX_BATCH);
    let (mut accepted, mut duplicates) = (0u64, 0u64);
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
        progress.read(line.len() as u64 + 1);
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}').to_owned()
        } else {
            line
        };
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
            progress.counts(accepted, duplicates);
            batch = rest;
        }
    }
    if !batch.is_empty() {
        let (a, d) = target.post_events(token, &batch).await?;
        (accepted, duplicates) = (accepted + a, duplicates + d);
    }
    rejects.finish()?;
    progress.bar.finish_and_clear();
    eprintln!("{accepted} new, {duplicates} already known (through {url})");
    Ok(())
}

/// A server to import through: `https://host[:port]` (rustls with the
/// Mozilla roots, the client the Conversions API uses too) or
/// `http://host:port` for a server on this machine (elsewhere the token and
/// the customers' data would cross the network in clear text, so that is
/// said before anything is sent).
struct Target {
    events: reqwest::Url,
    client: reqwest::Client,
}

/// The most of an answer read: the server's answers are a few hundred bytes;
/// a proxy's error page or a wrong address must not fill memory.
const MAX_ANSWER: usize = 64 * 1024;
/// Tries for one batch the server answers `503` (its ingest lane is full)
/// or a connection that fails: the batch is idempotent, so sending it again
/// is safe.
const TRIES: u32 = 5;

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        const FORM: &str =
            "--url must be https://HOST[:PORT] or http://HOST:PORT (the running server's address)";
        let base = reqwest::Url::parse(url.trim_end_matches('/')).map_err(|_| FORM)?;
        if !matches!(base.scheme(), "http" | "https")
            || base.host_str().is_none_or(str::is_empty)
            || !matches!(base.path(), "" | "/")
            || base.query().is_some()
            || !base.username().is_empty()
        {
            return Err(FORM.into());
        }
        if base.scheme() == "http" && !is_loopback(&base) {
            eprintln!(
                "warning: {url} is plain HTTP: the API token and the events cross the network unencrypted; use https:// unless this is a private network"
            );
        }
        let events = base.join("/api/v1/events").map_err(|_| FORM)?;
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            // One batch of 1000 is durable on the server well within this.
            .timeout(std::time::Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("leads-dashboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        Ok(Target { events, client })
    }

    /// One `POST /api/v1/events`: `(accepted, duplicates)`, or the server's
    /// error. A `503` or a failed connection is tried again (after the
    /// server's `Retry-After`, else 1, 2, 4… seconds).
    async fn post_events(
        &self,
        token: &str,
        batch: &[serde_json::Value],
    ) -> Result<(u64, u64), String> {
        let body = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
        let mut wait = std::time::Duration::from_secs(1);
        for attempt in 1..=TRIES {
            let sent = self
                .client
                .post(self.events.clone())
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let answer = match sent {
                Ok(a) => a,
                Err(e) if attempt < TRIES && (e.is_connect() || e.is_timeout()) => {
                    eprintln!("cannot reach {} ({}); trying again", self.host(), cause(&e));
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    continue;
                }
                Err(e) => return Err(format!("cannot reach {}: {}", self.host(), cause(&e))),
            };
            let status = answer.status();
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && attempt < TRIES {
                let after = answer
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| std::time::Duration::from_secs(s.clamp(1, 60)));
                tokio::time::sleep(after.unwrap_or(wait)).await;
                wait *= 2;
                continue;
            }
            let text = read_bounded(answer).await?;
            if status != reqwest::StatusCode::OK {
                return Err(format!("the server answered {}: {text}", status.as_u16()));
            }
            let v: serde_json::Value = serde_json::from_str(text.trim())
                .map_err(|_| format!("unexpected answer from the server: {text}"))?;
            return Ok((
                v["accepted"].as_u64().unwrap_or(0),
                v["duplicates"].as_u64().unwrap_or(0),
            ));
        }
        Err(format!(
            "{} stayed busy; nothing after this batch was sent",
            self.host()
        ))
    }

    fn host(&self) -> String {
        self.events[..url::Position::BeforePath].to_owned()
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// The innermost reason (reqwest's outer text only says "error sending
/// request").
fn cause(e: &reqwest::Error) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

/// The answer's text, at most [`MAX_ANSWER`] bytes of it.
async fn read_bounded(mut answer: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|e| cause(&e))? {
        let room = MAX_ANSWER - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ANSWER {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod remote_tests {
    use super::Target;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn urls_are_a_server_address_and_nothing_else() {
        for ok in [
            "https://leads.example.com",
            "https://leads.example.com:8443/",
            "http://127.0.0.1:3000",
        ] {
            let t = Target::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(t.events.path(), "/api/v1/events");
        }
        for bad in [
            "ftp://x",
            "127.0.0.1:3000",
            "https://x/api",
            "https://u:p@x",
            "https://x/?a=1",
            "http://",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    /// A server that answers `503` (its ingest lane full) gets the same
    /// batch again after its `Retry-After`; an error answer is read only up
    /// to a bound.
    #[tokio::test]
    async fn a_busy_server_is_tried_again_and_answers_are_bounded() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let mut bodies = Vec::new();
            for answer in [
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 32\r\nConnection: close\r\n\r\n{\"accepted\": 1, \"duplicates\": 0}".to_owned(),
                format!("HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n{}", "x".repeat(1 << 20)),
            ] {
                let (mut conn, _) = listener.accept().await.expect("accept");
                let mut buf = vec![0u8; 1 << 16];
                let n = conn.read(&mut buf).await.expect("read");
                bodies.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = conn.write_all(answer.as_bytes()).await;
                let _ = conn.shutdown().await;
            }
            bodies
        });
        let t = Target::parse(&format!("http://{addr}")).expect("target");
        let batch = [serde_json::json!({"id": "e1"})];
        assert_eq!(t.post_events("secret-token-1", &batch).await, Ok((1, 0)));
        let err = t
            .post_events("secret-token-1", &batch)
            .await
            .expect_err("502");
        assert!(
            err.starts_with("the server answered 502"),
            "{}",
            &err[..40.min(err.len())]
        );
        assert!(err.len() <= super::MAX_ANSWER + 64);
        let seen = server.await.expect("server");
        assert!(
            seen[0].contains("authorization: Bearer secret-token-1")
                || seen[0].contains("Authorization: Bearer secret-token-1")
        );
    }
}
