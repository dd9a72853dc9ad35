//! `leads-dashboard floor FILE`: what durable ingest cannot beat on this
//! machine — parsing the same batches with the API's parser plus one fsync
//! per batch. The benchmark reports ingest as a ratio to this.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Instant;

use app::ssr::domain::event;
use app::ssr::domain::phone::Region;

pub fn run(file: &Path, region: Region) -> Result<(), String> {
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let scratch_path = std::env::temp_dir().join(format!("leads-floor-{}", std::process::id()));
    let mut scratch = std::fs::File::create(&scratch_path).map_err(|e| e.to_string())?;
    let lines: Vec<String> = std::io::BufReader::new(f)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (mut events, mut batches) = (0usize, 0usize);
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let batch =
            event::parse_batch(line.as_bytes(), region, "IDR").map_err(|e| e.to_string())?;
        events += batch.len();
        batches += 1;
        scratch
            .write_all(line.as_bytes())
            .map_err(|e| e.to_string())?;
        scratch.sync_data().map_err(|e| e.to_string())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&scratch_path);
    println!(
        "{}",
        serde_json::json!({
            "events": events,
            "batches": batches,
            "seconds": seconds,
            "events_per_s": events as f64 / seconds.max(1e-9),
        })
    );
    Ok(())
}
