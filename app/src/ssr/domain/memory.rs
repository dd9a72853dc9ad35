//! The memory the server is given, and the embedded database's share of it
//! (pure: the files it comes from are read by the server at start and
//! handed in as text).
//!
//! Why: SurrealDB sizes RocksDB from the host's total memory (or a cgroup
//! limit it reads only at the cgroup root), so under systemd's `MemoryMax=`
//! on a 24 GB host its block cache alone would be 11 GB and the kernel
//! kills the server. The budget comes from `LEADS_MEMORY`, else the
//! process's own cgroup, else the host.

use std::fmt;

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// RocksDB's data block size. SurrealDB's 64 KiB suits scans; our reads
/// of the database are point reads (a batch's contact rows), and each one
/// that misses the block cache decompresses a whole block. Under a 1 GiB
/// limit (`make bench-1g`, 2026-12-07, one run each in one hour) ingest
/// went from 13,345 to 16,210 events/s with 16 KiB and purchases stayed
/// level (8,394 and 8,164/s); 4 KiB gave 16,268 events/s but 5,395
/// purchases/s, its worse compression (667 MiB on disk against 395 and
/// 509) no longer fitting the page cache the limit leaves.
pub const BLOCK_SIZE: u64 = 16 << 10;

/// Level-0 files that start a compaction into level 1, slow writes down
/// and stop them: RocksDB's own defaults (4, 20, 36). SurrealDB tightens
/// them to 2, 8, 12 to keep its range scans over few files; ours are point
/// reads and the start's one scan. Our keys (event ids, phones) are spread
/// over the whole key space, so every level-0 compaction rewrites most of
/// level 1: waiting for 4 files instead of 2 halves those rewrites. Under a
/// 1 GiB limit (2026-12-08, `bench/run.py --only-ingest`, one hour) ingest
/// took 82 and 84 CPU µs an event (21,839 and 22,246 events/s, with 6 files
/// to start a compaction) against 100–101 with SurrealDB's (17,326–20,248)
/// and 108 before the jobs and memtables below (15,433 and 17,557).
pub const L0_COMPACTION_TRIGGER: u64 = 4;
pub const L0_SLOWDOWN_TRIGGER: u64 = 20;
pub const L0_STOP_TRIGGER: u64 = 36;

/// The size compaction aims at for a level-1 table file. SurrealDB picks
/// it from the host's memory (8 MiB below 1 GiB, 64 MiB from 16 GiB): fixed
/// here at what the benchmarks ran with, so a small server writes its
/// tables as the measured one did.
pub const TARGET_FILE_SIZE: u64 = 64 << 20;

/// The smallest budget `LEADS_MEMORY` may state: below it the lead index
/// of a modest database and the write path do not fit.
pub const MIN_BUDGET: u64 = 128 * MIB;

/// Where the budget was read from (logged at start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `LEADS_MEMORY` / `--memory`.
    Setting,
    /// The process's cgroup limit (systemd's `MemoryMax=`, a container's
    /// memory limit).
    Cgroup,
    /// The host's total memory (`MemTotal`).
    Host,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Setting => "LEADS_MEMORY",
            Source::Cgroup => "cgroup limit",
            Source::Host => "host memory",
        })
    }
}

/// The memory the whole server may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub bytes: u64,
    pub source: Source,
}

/// The stated budget if any, else the smaller of the cgroup limit and the
/// host's memory (a cgroup may allow more than the host has), else the
/// host's; `None` when nothing is known (not Linux): SurrealDB's own
/// sizing then applies.
pub fn choose(setting: Option<u64>, cgroup: Option<u64>, host: Option<u64>) -> Option<Budget> {
    let budget = |bytes, source| Some(Budget { bytes, source });
    match (setting, cgroup, host) {
        (Some(b), _, _) => budget(b, Source::Setting),
        (None, Some(c), Some(h)) if h <= c => budget(h, Source::Host),
        (None, Some(c), _) => budget(c, Source::Cgroup),
        (None, None, Some(h)) => budget(h, Source::Host),
        (None, None, None) => None,
    }
}

/// RocksDB's settings for a budget. Chosen so that at 1 GiB the whole
/// server stays well under it: the lead index takes ~100–300 B a lead
/// (up to ~300 MB at 1M leads), the writers' transactions (8,000 events
/// each, one per core) and SurrealDB's query work take their share, and
/// RocksDB's block cache plus memtables are bounded here to a quarter of
/// the budget:
/// - block cache budget/8 (min 16 MiB): reads are served by the lead
///   index, RocksDB's reads are the batch's contact rows and a lead's detail;
/// - 4 memtables of min(64 MiB, budget/32), so that writes go on into the
///   others while one is flushed;
/// - 4 background jobs (flushes and compactions: threads, not cores; with
///   2 one flush and one compaction at most, and writes wait on them);
///   with 4 memtables, ingest under 1 GiB took 100–101 CPU µs an event
///   against 108 with 2 and 2 (2026-12-08, one run each);
/// - 256 open files and commit groups of 256 below 2 GiB (each open table
///   holds buffers of its own);
/// - the vector-index caches small: no vector index is defined;
/// - data blocks of 16 KiB, not SurrealDB's 64 KiB ([`BLOCK_SIZE`]);
/// - RocksDB's level-0 triggers ([`L0_COMPACTION_TRIGGER`]) and table
///   files of [`TARGET_FILE_SIZE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbMemory {
    pub block_cache: u64,
    pub write_buffer: u64,
    pub write_buffers: u64,
    pub jobs: u64,
    pub max_open_files: u64,
    pub commit_batch: u64,
    pub vector_cache: u64,
}

impl DbMemory {
    pub fn for_budget(budget: u64) -> DbMemory {
        let small = budget < 2 * GIB;
        let medium = budget < 4 * GIB;
        DbMemory {
            block_cache: (budget / 8).max(16 * MIB),
            write_buffer: (budget / 32).clamp(4 * MIB, 64 * MIB),
            write_buffers: 4,
            jobs: 4,
            max_open_files: if small {
                256
            } else if medium {
                512
            } else {
                1024
            },
            commit_batch: if small {
                256
            } else if medium {
                1024
            } else {
                4096
            },
            vector_cache: 16 * MIB,
        }
    }

    /// What RocksDB may hold at most: the block cache and the memtables.
    pub fn total(&self) -> u64 {
        self.block_cache + self.write_buffer * self.write_buffers
    }

    /// The datastore's configuration keys (SurrealDB 3.3.5's
    /// `RocksDbConfig::parse` and `IdxConfig`): key and decimal value.
    pub fn config(&self) -> Vec<(&'static str, String)> {
        vec![
            ("rocksdb_block_cache_size", self.block_cache.to_string()),
            ("rocksdb_write_buffer_size", self.write_buffer.to_string()),
            (
                "rocksdb_max_write_buffer_number",
                self.write_buffers.to_string(),
            ),
            ("rocksdb_jobs_count", self.jobs.to_string()),
            ("rocksdb_max_open_files", self.max_open_files.to_string()),
            (
                "rocksdb_grouped_commit_max_batch_size",
                self.commit_batch.to_string(),
            ),
            ("rocksdb_block_size", BLOCK_SIZE.to_string()),
            (
                "rocksdb_file_compaction_trigger",
                L0_COMPACTION_TRIGGER.to_string(),
            ),
            (
                "rocksdb_level0_slowdown_writes_trigger",
                L0_SLOWDOWN_TRIGGER.to_string(),
            ),
            (
                "rocksdb_level0_stop_writes_trigger",
                L0_STOP_TRIGGER.to_string(),
            ),
            (
                "rocksdb_target_file_size_base",
                TARGET_FILE_SIZE.to_string(),
            ),
            ("hnsw_cache_size", self.vector_cache.to_string()),
            ("diskann_cache_size", self.vector_cache.to_string()),
        ]
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("{0:?} is not a size such as 1G, 768M, 2GiB or a number of bytes")]
    Syntax(String),
    #[error("{0:?} is less than the 128M the server needs")]
    TooSmall(String),
}

/// A stated memory size: a number of bytes, or a number (fractions
/// allowed) with K, M, G or T, optionally followed by `B` or `iB`, in any
/// case. Every unit is binary (1G = 1 GiB), as in systemd's `MemoryMax=`.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let syntax = || SizeError::Syntax(text.to_owned());
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(syntax()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || fraction.len() > 9 || (number.contains('.') && fraction.is_empty()) {
        return Err(syntax());
    }
    let whole: u128 = whole.parse().map_err(|_| syntax())?;
    let fraction_value: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| syntax())?
    };
    let scale = 10u128.pow(fraction.len() as u32);
    let bytes = (whole * scale + fraction_value)
        .checked_mul(1u128 << shift)
        .map(|b| b / scale)
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(syntax)?;
    if bytes < MIN_BUDGET {
        return Err(SizeError::TooSmall(text.to_owned()));
    }
    Ok(bytes)
}

/// A cgroup limit file's content: bytes, or `None` for `max` (v2) or the
/// page-rounded `i64::MAX` v1 writes for "no limit".
pub fn parse_limit(content: &str) -> Option<u64> {
    content
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|b| *b > 0 && *b < 1 << 60)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// The smallest memory limit on the process's cgroup or any cgroup above
/// it, from `/proc/self/cgroup`'s text. `read` gives a file's content
/// (`None` when it does not exist). cgroup v2 (`0::/path`):
/// `/sys/fs/cgroup/<path>/memory.max` and `memory.high`; v1 (`N:memory:/path`):
/// `/sys/fs/cgroup/memory/<path>/memory.limit_in_bytes`. Every level up to
/// the root is read: a limit on a parent slice binds too, and inside a
/// container the process's own cgroup is mounted as the root.
pub fn cgroup_limit(self_cgroup: &str, read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    let mut smallest: Option<u64> = None;
    for line in self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (base, files): (&str, &[&str]) = if id == "0" && controllers.is_empty() {
            ("/sys/fs/cgroup", &["memory.max", "memory.high"])
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", &["memory.limit_in_bytes"])
        } else {
            continue;
        };
        for dir in ancestors(path) {
            for file in files {
                let limit = read(&format!("{base}{dir}/{file}")).and_then(|c| parse_limit(&c));
                smallest = match (smallest, limit) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    smallest
}

/// `/a/b` → `/a/b`, `/a`, `` (the root; files are joined with `/`).
fn ancestors(path: &str) -> Vec<&str> {
    let mut dirs = Vec::new();
    let mut p = path.trim().trim_end_matches('/');
    loop {
        dirs.push(p);
        match p.rfind('/') {
            Some(i) => p = &p[..i],
            None => break,
        }
        if p.is_empty() {
            dirs.push("");
            break;
        }
    }
    dirs.dedup();
    dirs
}

/// A size for the log: `1.5 GiB`, `768 MiB` (rounded).
pub fn human(bytes: u64) -> String {
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64).replace(".0 ", " ")
    } else {
        format!("{} MiB", bytes / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_at_budgets() {
        // (budget, block cache, memtable, memtables, jobs, open files, commit group)
        let table = [
            (512 * MIB, 64 * MIB, 16 * MIB, 4, 4, 256, 256),
            (GIB, 128 * MIB, 32 * MIB, 4, 4, 256, 256),
            (4 * GIB, 512 * MIB, 64 * MIB, 4, 4, 1024, 4096),
            (64 * GIB, 8 * GIB, 64 * MIB, 4, 4, 1024, 4096),
        ];
        for (budget, cache, wb, wbs, jobs, files, batch) in table {
            let m = DbMemory::for_budget(budget);
            assert_eq!(
                (m.block_cache, m.write_buffer, m.write_buffers, m.jobs),
                (cache, wb, wbs, jobs),
                "{budget}"
            );
            assert_eq!((m.max_open_files, m.commit_batch), (files, batch));
            assert_eq!(m.vector_cache, 16 * MIB);
        }
        // At 1 GiB RocksDB may take a quarter of it; the rest is the
        // lead index's and the write path's.
        assert_eq!(DbMemory::for_budget(GIB).total(), 256 * MIB);
        assert!(DbMemory::for_budget(512 * MIB).total() <= 512 * MIB / 4);
    }

    #[test]
    fn tiny_budgets_keep_working_minimums() {
        let m = DbMemory::for_budget(64 * MIB);
        assert_eq!((m.block_cache, m.write_buffer), (16 * MIB, 4 * MIB));
        let m = DbMemory::for_budget(0);
        assert_eq!((m.block_cache, m.write_buffer), (16 * MIB, 4 * MIB));
    }

    #[test]
    fn config_keys_are_surrealdbs() {
        let c = DbMemory::for_budget(GIB).config();
        assert!(c.contains(&("rocksdb_block_cache_size", (128 * MIB).to_string())));
        assert!(c.contains(&("rocksdb_write_buffer_size", (32 * MIB).to_string())));
        assert!(c.contains(&("rocksdb_max_write_buffer_number", "4".into())));
        assert!(c.contains(&("rocksdb_jobs_count", "4".into())));
        assert!(c.contains(&("rocksdb_file_compaction_trigger", "4".into())));
        assert!(c.contains(&("rocksdb_level0_slowdown_writes_trigger", "20".into())));
        assert!(c.contains(&("rocksdb_level0_stop_writes_trigger", "36".into())));
        assert!(c.contains(&("rocksdb_target_file_size_base", (64 * MIB).to_string())));
        assert!(c.contains(&("rocksdb_max_open_files", "256".into())));
        assert!(c.contains(&("rocksdb_grouped_commit_max_batch_size", "256".into())));
        assert!(c.contains(&("rocksdb_block_size", "16384".into())));
        assert!(c.contains(&("hnsw_cache_size", (16 * MIB).to_string())));
        assert!(c.contains(&("diskann_cache_size", (16 * MIB).to_string())));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Ok(GIB));
        assert_eq!(parse_size("768M"), Ok(768 * MIB));
        assert_eq!(parse_size("2GiB"), Ok(2 * GIB));
        assert_eq!(parse_size(" 1.5g "), Ok(GIB + 512 * MIB));
        assert_eq!(parse_size("512 MB"), Ok(512 * MIB));
        assert_eq!(parse_size("1073741824"), Ok(GIB));
        assert_eq!(parse_size("1T"), Ok(1024 * GIB));
        assert_eq!(parse_size("262144K"), Ok(256 * MIB));
        for bad in [
            "",
            "G",
            "1X",
            "1.G",
            ".5G",
            "-1G",
            "1 G B",
            "1e9",
            "0x40000000",
            "1.5.1G",
            "99999999999999999999T",
        ] {
            assert_eq!(
                parse_size(bad),
                Err(SizeError::Syntax(bad.into())),
                "{bad:?}"
            );
        }
        assert_eq!(parse_size("100M"), Err(SizeError::TooSmall("100M".into())));
        assert_eq!(parse_size("0"), Err(SizeError::TooSmall("0".into())));
        assert!(
            parse_size("1X")
                .unwrap_err()
                .to_string()
                .contains("such as 1G")
        );
    }

    #[test]
    fn limits_and_meminfo() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("1073741824\n"), Some(GIB));
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit("0\n"), None);
        assert_eq!(parse_limit(""), None);
        let meminfo = "MemTotal:       24683784 kB\nMemFree:        20000000 kB\n";
        assert_eq!(mem_total(meminfo), Some(24683784 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
    }

    fn files(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |p: &str| map.get(p).cloned()
    }

    #[test]
    fn cgroup_v2_under_systemd() {
        // `MemoryMax=1G` on the service, `max` on the slice and no file at the root.
        let read = files(&[
            (
                "/sys/fs/cgroup/system.slice/leads-dashboard.service/memory.max",
                "1073741824\n",
            ),
            (
                "/sys/fs/cgroup/system.slice/leads-dashboard.service/memory.high",
                "max\n",
            ),
            ("/sys/fs/cgroup/system.slice/memory.max", "max\n"),
        ]);
        assert_eq!(
            cgroup_limit("0::/system.slice/leads-dashboard.service\n", &read),
            Some(GIB)
        );
        // A tighter parent slice binds.
        let read = files(&[
            ("/sys/fs/cgroup/a/b/memory.max", "1073741824\n"),
            ("/sys/fs/cgroup/a/memory.max", "536870912\n"),
        ]);
        assert_eq!(cgroup_limit("0::/a/b", &read), Some(512 * MIB));
        // memory.high counts too.
        let read = files(&[("/sys/fs/cgroup/a/memory.high", "805306368")]);
        assert_eq!(cgroup_limit("0::/a", &read), Some(768 * MIB));
        // In a container the process's cgroup is the root of the mount.
        let read = files(&[("/sys/fs/cgroup/memory.max", "2147483648\n")]);
        assert_eq!(cgroup_limit("0::/\n", &read), Some(2 * GIB));
        // No limit anywhere.
        let read = files(&[("/sys/fs/cgroup/user.slice/memory.max", "max\n")]);
        assert_eq!(cgroup_limit("0::/user.slice\n", &read), None);
    }

    #[test]
    fn cgroup_v1_and_hybrid() {
        // This machine's shape: v1 memory controller, a v2 line without one.
        let text = "9:name=systemd:/\n5:devices:/\n4:memory:/process_api/0569\n0::/\n";
        let read = files(&[
            (
                "/sys/fs/cgroup/memory/process_api/0569/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            (
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
        ]);
        assert_eq!(cgroup_limit(text, &read), None);
        let read = files(&[(
            "/sys/fs/cgroup/memory/process_api/0569/memory.limit_in_bytes",
            "805306368\n",
        )]);
        assert_eq!(cgroup_limit(text, &read), Some(768 * MIB));
        // Controllers joined on one line.
        let read = files(&[(
            "/sys/fs/cgroup/memory/x/memory.limit_in_bytes",
            "1073741824",
        )]);
        assert_eq!(cgroup_limit("3:cpu,memory:/x\n", &read), Some(GIB));
        assert_eq!(cgroup_limit("garbage\n\n", &read), None);
    }

    #[test]
    fn ancestors_reach_the_root() {
        assert_eq!(ancestors("/a/b"), vec!["/a/b", "/a", ""]);
        assert_eq!(ancestors("/"), vec![""]);
        assert_eq!(ancestors("/a/"), vec!["/a", ""]);
    }

    #[test]
    fn the_budget_is_chosen() {
        let b = |bytes, source| Some(Budget { bytes, source });
        assert_eq!(
            choose(Some(GIB), Some(512 * MIB), Some(8 * GIB)),
            b(GIB, Source::Setting)
        );
        assert_eq!(
            choose(None, Some(GIB), Some(8 * GIB)),
            b(GIB, Source::Cgroup)
        );
        assert_eq!(
            choose(None, Some(16 * GIB), Some(8 * GIB)),
            b(8 * GIB, Source::Host)
        );
        assert_eq!(choose(None, None, Some(8 * GIB)), b(8 * GIB, Source::Host));
        assert_eq!(choose(None, Some(GIB), None), b(GIB, Source::Cgroup));
        assert_eq!(choose(None, None, None), None);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(GIB), "1 GiB");
        assert_eq!(human(GIB + 512 * MIB), "1.5 GiB");
        assert_eq!(human(768 * MIB), "768 MiB");
        assert_eq!(human(24 * GIB + 12345), "24 GiB");
    }
}
