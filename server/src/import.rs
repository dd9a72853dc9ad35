//! `leads-dashboard import FILE`: NDJSON events, one per line, with the same
//! format and rules as the API, stored in batches of 1000. A line may also
//! hold a JSON array of events (what the API takes, and what the benchmark's
//! generator writes).

use std::io::BufRead;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use app::error::AppError;
use app::ssr::event::{self, MAX_BATCH};
use app::ssr::leads::Leads;
use app::ssr::state::Settings;

pub async fn run(db: &Leads, settings: &Settings, file: &Path) -> Result<(), String> {
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return Err(
            "importing known customers from CSV is not built yet; import NDJSON events".into(),
        );
    }
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .map_err(|e| e.to_string())?,
    );
    let reader = std::io::BufReader::new(f);
    let (mut accepted, mut duplicates) = (0usize, 0usize);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut first_line = 1usize;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        let items = match &value {
            serde_json::Value::Array(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        };
        for (k, item) in items.iter().enumerate() {
            let ev = event::validate(item, settings.region).map_err(|(field, why)| {
                if items.len() > 1 {
                    format!("line {}, event {k}: {field}: {why}", i + 1)
                } else {
                    format!("line {}: {field}: {why}", i + 1)
                }
            })?;
            batch.push(ev);
            if batch.len() == MAX_BATCH {
                let o = store(db, std::mem::take(&mut batch), first_line).await?;
                accepted += o.0;
                duplicates += o.1;
                first_line = i + 1;
                bar.set_message(format!("{accepted} new, {duplicates} already known"));
            }
        }
    }
    if !batch.is_empty() {
        let o = store(db, batch, first_line).await?;
        accepted += o.0;
        duplicates += o.1;
    }
    bar.finish_with_message(format!("{accepted} new, {duplicates} already known"));
    Ok(())
}

async fn store(
    leads: &Leads,
    batch: Vec<event::Event>,
    first_line: usize,
) -> Result<(usize, usize), String> {
    leads
        .ingest(batch)
        .await
        .map(|o| (o.accepted, o.duplicates))
        .map_err(|e: AppError| format!("batch from line {first_line}: {e}"))
}
