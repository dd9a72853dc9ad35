//! The command line: `import` of NDJSON events, then `serve` on the same data.

mod common;

use std::process::Command;

use common::Server;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("leads-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test]
async fn import_ndjson_then_serve_the_leads() {
    let dir = temp_dir("import");
    let file = dir.join("events.ndjson");
    std::fs::write(
        &file,
        concat!(
            r#"{"id":"n1","occurred_at":"2026-11-20T09:15:03+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"0812-3456-7890","name":"Budi"}}"#,
            "\n\n",
            r#"{"id":"n2","occurred_at":"2026-11-20T09:16:00+07:00","channel":"whatsapp","direction":"outbound","sender":"agent","contact":{"phone":"+6281234567890"}}"#,
            "\n",
            // A line may hold a batch, as the API takes it.
            r#"[{"id":"n3","occurred_at":"2026-11-19T08:00:00+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"0813-1111-2222","name":"Sari"}},"#,
            r#"{"id":"n4","occurred_at":"2026-11-19T08:01:00+07:00","channel":"whatsapp","direction":"outbound","sender":"ai","contact":{"phone":"0813-1111-2222"}}]"#,
            "\n",
        ),
    )
    .expect("write");
    let db = format!("rocksdb://{}", dir.join("db").display());
    let bin = env!("CARGO_BIN_EXE_leads-dashboard");
    let out = Command::new(bin)
        .args(["import", "--db", &db])
        .arg(&file)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A bad line stops the import and is named.
    let bad = dir.join("bad.ndjson");
    std::fs::write(&bad, "{\"id\":\"x\"}\n").expect("write");
    let out = Command::new(bin)
        .args(["import", "--db", &db])
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: occurred_at"));

    let s = Server::start(&db).await;
    let (_, page) = s.get("/api/v1/leads?from=2026-11-19&to=2026-11-20").await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["leads"][0]["first_touched_at"], "2026-11-20T02:16:00Z");
    assert_eq!(page["leads"][1]["name"], "Sari");
    assert_eq!(page["leads"][1]["first_touched_at"], "2026-11-19T01:01:00Z");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_names_the_commands_and_settings() {
    let out = Command::new(env!("CARGO_BIN_EXE_leads-dashboard"))
        .arg("--help")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "import",
        "--addr",
        "--db",
        "--tz",
        "--default-region",
        "--session-timeout",
    ] {
        assert!(text.contains(word), "--help lacks {word}");
    }
}

#[tokio::test]
async fn imported_customers_are_never_new_leads_and_bad_files_import_nothing() {
    let dir = temp_dir("customers");
    let db = format!("rocksdb://{}", dir.join("db").display());
    let bin = env!("CARGO_BIN_EXE_leads-dashboard");
    let import = |file: &std::path::Path| {
        Command::new(bin)
            .args(["import", "--db", &db])
            .arg(file)
            .output()
            .expect("run")
    };
    let imported = |name: &str, text: &str| {
        let file = dir.join(name);
        std::fs::write(&file, text).expect("write");
        let out = import(&file);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let csv = "phone,name,email,known_since,city\r\n0812-3456-7890,\"Santoso, Budi\",budi@example.com,2025-01-01,Bandung\r\n";
    imported("customers.csv", csv);
    // Again: nothing changes.
    imported("customers.csv", csv);
    // Customers without a header line, in a file not named .csv: the
    // spec's columns in their order.
    imported(
        "old-customers.txt",
        "\u{feff}0813-2222-3333,Old Cust,old@example.com,2024-01-01\n",
    );
    // An orders file whose header is slightly off is refused, not taken
    // for customers (who would never be leads); so is one saved with `;`.
    for (name, text, says) in [
        (
            "orders-off.csv",
            "Order ID,Phone,Occurred at,Value,Currency\r\nA-1,081299990001,2026-11-21,150000,IDR\r\n",
            "\"order id\"",
        ),
        (
            "orders-semicolons.csv",
            "\u{feff}order_id;phone;occurred_at;value;currency\r\nA-2;081299990002;2026-11-21;150000;IDR\r\n",
            "separated by ';'",
        ),
    ] {
        let file = dir.join(name);
        std::fs::write(&file, text).expect("write");
        let out = import(&file);
        assert!(!out.status.success(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(says) && err.contains("order_id,phone,occurred_at,value,currency"),
            "{name}: {err}"
        );
    }

    // One bad line: nothing of the file is imported, the line is named.
    let events = dir.join("events.ndjson");
    std::fs::write(
        &events,
        concat!(
            r#"{"id":"c1","occurred_at":"2026-11-20T09:00:00+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"+6281234567890"}}"#,
            "\n",
            r#"{"id":"c2","occurred_at":"2026-11-20T10:00:00+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"0813-5555-6666","name":"Dewi"}}"#,
            "\n",
            r#"{"id":"c3","channel":"whatsapp","direction":"inbound","contact":{"phone":"0813-5555-6666"}}"#,
            "\n",
        ),
    )
    .expect("write");
    let out = import(&events);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing imported") && err.contains("line 3: occurred_at"),
        "{err}"
    );
    {
        let s = Server::start(&db).await;
        let (_, page) = s.get("/api/v1/leads?from=2026-11-20&to=2026-11-20").await;
        assert_eq!(page["total"], 0, "{page}");
    }

    // Without the bad line: the known customer who writes is no new lead.
    let text = std::fs::read_to_string(&events).expect("read");
    let mut good: Vec<&str> = text.lines().take(2).collect();
    good.push(
        r#"{"id":"c4","occurred_at":"2026-11-20T11:00:00+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"0813-2222-3333"}}"#,
    );
    std::fs::write(&events, good.join("\n")).expect("write");
    let out = import(&events);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = Server::start(&db).await;
    let (_, page) = s.get("/api/v1/leads?from=2026-11-20&to=2026-11-20").await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["leads"][0]["name"], "Dewi");
    drop(s);
    assert_eq!(common::verify(&db)["mismatches"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn import_goes_through_a_running_server_and_a_locked_database_says_what_to_do() {
    let dir = temp_dir("remote");
    let db = format!("rocksdb://{}", dir.join("db").display());
    let bin = env!("CARGO_BIN_EXE_leads-dashboard");
    let file = dir.join("events.ndjson");
    std::fs::write(
        &file,
        concat!(
            r#"[{"id":"r1","occurred_at":"2026-11-20T09:00:00+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"0813-7777-8888","name":"Rina"}},"#,
            r#"{"id":"r2","occurred_at":"2026-11-20T09:01:00+07:00","channel":"whatsapp","direction":"outbound","sender":"agent","contact":{"phone":"0813-7777-8888"}}]"#,
            "\n",
        ),
    )
    .expect("write");
    let s = Server::start(&db).await;
    // The server holds the database: importing directly explains itself.
    let out = Command::new(bin)
        .args(["import", "--db", &db])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by another process") && err.contains("--url"),
        "{err}"
    );
    // Through the running server.
    let out = Command::new(bin)
        .args(["import", "--url", &s.base])
        .arg(&file)
        .env("LEADS_API_TOKEN", common::TOKEN)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 new"));
    let (_, page) = s.get("/api/v1/leads?from=2026-11-20&to=2026-11-20").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["leads"][0]["first_touched_at"], "2026-11-20T02:01:00Z");
    // --skip-invalid through the server: the bad line is written out too.
    let mixed = dir.join("mixed.ndjson");
    std::fs::write(
        &mixed,
        concat!(
            r#"{"id":"r3","channel":"whatsapp"}"#,
            "\n",
            r#"{"id":"r4","occurred_at":"2026-11-20T10:00:00+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"0813-7777-9999"}}"#,
            "\n",
        ),
    )
    .expect("write");
    let rejected = dir.join("rejected.txt");
    let out = Command::new(bin)
        .args(["import", "--url", &s.base, "--skip-invalid"])
        .arg(&rejected)
        .arg(&mixed)
        .env("LEADS_API_TOKEN", common::TOKEN)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reasons = std::fs::read_to_string(&rejected).expect("rejected file");
    assert!(reasons.starts_with("line 1: occurred_at"), "{reasons}");
    let (_, page) = s.get("/api/v1/leads?from=2026-11-20&to=2026-11-20").await;
    assert_eq!(page["total"], 2);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// 10,000 lines in `make test` (a debug import of 100,000 takes a minute);
/// `make import-test-long` runs it with 100,000 (`LEADS_IMPORT_TEST_LINES`).
#[test]
fn a_big_file_with_one_bad_line_imports_nothing_or_all_the_rest() {
    let n: u32 = std::env::var("LEADS_IMPORT_TEST_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let bad_at = n / 2 + 21;
    let dir = temp_dir("big");
    let db = format!("rocksdb://{}", dir.join("db").display());
    let bin = env!("CARGO_BIN_EXE_leads-dashboard");
    let file = dir.join("big.ndjson");
    let mut text = String::with_capacity(n as usize * 160);
    for i in 0..n {
        if i == bad_at {
            text.push_str("{\"id\":\"bad\",\"channel\":\"whatsapp\"}\n");
            continue;
        }
        text.push_str(&format!(
            "{{\"id\":\"b{i}\",\"occurred_at\":\"2026-10-{:02}T09:00:00+07:00\",\"channel\":\"whatsapp\",\"direction\":\"inbound\",\"contact\":{{\"phone\":\"+62812{:08}\"}}}}\n",
            1 + i % 28,
            i
        ));
    }
    std::fs::write(&file, text).expect("write");
    let import = |extra: &[&str]| {
        Command::new(bin)
            .args(["import", "--db", &db])
            .args(extra)
            .arg(&file)
            .output()
            .expect("run")
    };
    let out = import(&[]);
    assert!(!out.status.success());
    let named = format!("line {}: occurred_at", bad_at + 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&named));
    let rejected = dir.join("rejected.txt");
    let rejected_arg = rejected.display().to_string();
    let out = import(&["--skip-invalid", &rejected_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let imported = format!("{} new", n - 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&imported));
    // The rejected file is always a new one: never over a file that exists
    // (the input itself, by a slip).
    let input_arg = file.display().to_string();
    let before = std::fs::read(&file).expect("input");
    let out = import(&["--skip-invalid", &input_arg]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(std::fs::read(&file).expect("input"), before);
    assert_eq!(
        std::fs::read_to_string(&rejected)
            .expect("rejected")
            .lines()
            .count(),
        1
    );
    assert_eq!(common::verify(&db)["leads"], n - 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A mistyped `--db`: a folder of other files is refused and left as it
/// was; checking or backing up a folder without a database says so.
#[test]
fn a_folder_without_a_database_is_never_taken_over() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("foreign");
    let bin = env!("CARGO_BIN_EXE_leads-dashboard");
    let project = dir.join("project");
    std::fs::create_dir_all(&project).expect("mkdir");
    let script = project.join("run.sh");
    std::fs::write(&script, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&project, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let db = format!("rocksdb://{}", project.display());
    for args in [vec!["token", "list"], vec!["verify"]] {
        let out = Command::new(bin)
            .args(&args)
            .args(["--db", &db])
            .output()
            .expect("run");
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no database") || err.contains("other files"),
            "{args:?}: {err}"
        );
    }
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!((mode(&project), mode(&script)), (0o755, 0o755));
    assert_eq!(std::fs::read_dir(&project).expect("ls").count(), 1);
    // A folder that does not exist: verify and backup refuse, create nothing.
    let missing = dir.join("typo");
    let out = Command::new(bin)
        .args([
            "verify",
            "--db",
            &format!("rocksdb://{}", missing.display()),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database"));
    assert!(!missing.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logs_can_be_json_lines() {
    let out = Command::new(env!("CARGO_BIN_EXE_leads-dashboard"))
        .args(["verify", "--db", "mem://", "--log-format", "json"])
        .env("RUST_LOG", "info")
        .output()
        .expect("run");
    assert!(out.status.success());
    let logs = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v.get("level").is_some() && v.get("fields").is_some(),
            "{line}"
        );
    }
}

/// `user add` (password from standard input), `token create/list/revoke`,
/// then a server on that database: the user signs in, the token works.
#[tokio::test]
async fn users_and_tokens_from_the_command_line() {
    let dir = temp_dir("accounts");
    let db = format!("rocksdb://{}", dir.join("db").display());
    let run = |args: &[&str], stdin: Option<&str>| common::run_cli(args, &db, stdin);
    let (ok, _, err) = run(
        &[
            "user",
            "add",
            "Sari",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        Some("sari-password\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &["user", "add", "sari", "--role", "admin", "--password-stdin"],
        Some("another-password\n"),
    );
    assert!(!ok && err.contains("taken"), "{err}");
    let (ok, _, err) = run(
        &[
            "user",
            "add",
            "tono",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    // The operator's choice stands, however short.
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &["user", "add", "umi", "--role", "viewer", "--password-stdin"],
        Some("\n"),
    );
    assert!(!ok, "an empty password: {err}");
    let (ok, out, _) = run(&["user", "list"], None);
    assert!(ok && out.starts_with("sari\tviewer\t"), "{out}");
    let (ok, out, err) = run(
        &["user", "passwd", "sari", "--password-stdin"],
        Some("sari-new-password\n"),
    );
    assert!(ok && out.contains("password set for sari"), "{err}");
    let (ok, _, err) = run(
        &["user", "passwd", "nobody", "--password-stdin"],
        Some("long-enough-pw\n"),
    );
    assert!(!ok, "{err}");

    let (ok, token, err) = run(&["token", "create", "--name", "crm"], None);
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("ld_") && err.contains("shown once"));
    let (ok, out, _) = run(&["token", "list"], None);
    assert!(
        ok && out.contains("crm\tcreated ") && out.contains("last used never"),
        "{out}"
    );
    assert!(!out.contains(&token), "the token itself is never listed");

    {
        let s = Server::start_as(&db, &[], false).await;
        // The viewer from the command line signs in (LEADS_ADMIN_PASSWORD
        // made no `admin`: a user existed already).
        let c = common::client();
        s.sign_in(&c, "sari", "sari-new-password").await;
        let r = reqwest::Client::new()
            .get(s.url("/api/v1/leads"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("api");
        assert_eq!(r.status(), 200);
    }
    let (ok, out, _) = run(&["token", "list"], None);
    assert!(ok && !out.contains("last used never"), "{out}");
    let (ok, _, _) = run(&["token", "revoke", "crm"], None);
    assert!(ok);
    let (ok, _, err) = run(&["token", "revoke", "crm"], None);
    assert!(!ok && err.contains("no such"), "{err}");
    let (ok, out, _) = run(&["token", "list"], None);
    assert!(ok && out.trim().is_empty(), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `backup` then `restore` into a new folder: the same leads, users and
/// tokens; a restore into a database that holds data is refused.
#[tokio::test]
async fn backup_and_restore_round_trip() {
    let dir = temp_dir("backup");
    let a = format!("rocksdb://{}", dir.join("a").display());
    let b = format!("rocksdb://{}", dir.join("b").display());
    let file = dir.join("leads.surql");
    let run = common::run_cli;
    let events = dir.join("events.ndjson");
    std::fs::write(
        &events,
        concat!(
            r#"{"id":"b1","occurred_at":"2026-11-20T09:00:00+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"0812-1111-0001","name":"Budi"},"source":{"platform":"meta","type":"ad","id":"ad-1","name":"Promo"}}"#,
            "\n",
            r#"{"id":"b2","occurred_at":"2026-11-20T09:02:00+07:00","channel":"whatsapp","direction":"outbound","sender":"agent","contact":{"phone":"0812-1111-0001"}}"#,
            "\n",
            r#"{"id":"b3","occurred_at":"2026-11-21T10:00:00+07:00","channel":"instagram","direction":"inbound","contact":{"external_id":"ig-9","name":"Sari"}}"#,
            "\n",
        ),
    )
    .expect("write");
    let events_path = events.display().to_string();
    assert!(run(&["import", &events_path], &a, None).0);
    assert!(
        run(
            &["user", "add", "ani", "--role", "viewer", "--password-stdin"],
            &a,
            Some("ani-password\n")
        )
        .0
    );
    let (ok, token, _) = run(&["token", "create", "--name", "crm"], &a, None);
    assert!(ok);
    let token = token.trim().to_owned();
    let file_path = file.display().to_string();
    let (ok, _, err) = run(&["backup", &file_path], &a, None);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["restore", &file_path], &b, None);
    assert!(ok, "{err}");
    // Again into the now full database: refused, nothing changed.
    let (ok, _, err) = run(&["restore", &file_path], &b, None);
    assert!(!ok && err.contains("not empty"), "{err}");

    let (ok, out, _) = run(&["user", "list"], &b, None);
    assert!(ok && out.contains("ani\tviewer"), "{out}");
    async fn leads(db: &str, token: &str) -> serde_json::Value {
        let s = Server::start_as(db, &[], false).await;
        let r = reqwest::Client::new()
            .get(s.url("/api/v1/leads?from=2026-11-19&to=2026-11-22"))
            .bearer_auth(token)
            .send()
            .await
            .expect("api");
        assert_eq!(r.status(), 200, "the restored token works");
        let v: serde_json::Value = r.json().await.expect("json");
        v["leads"].clone()
    }
    let before = leads(&a, &token).await;
    let after = leads(&b, &token).await;
    assert_eq!(before.as_array().map(Vec::len), Some(2));
    assert_eq!(before, after);
    assert_eq!(common::verify(&b)["mismatches"], 0);
    let _ = std::fs::remove_dir_all(dir);
}

/// Under the common umask 022 the database folder is 0700, its files 0600,
/// and a backup is created 0600 (customers' phones, password hashes); a
/// backup that fails leaves no file behind, and one never overwrites.
#[cfg(unix)]
#[test]
fn data_at_rest_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("modes");
    let db = format!("rocksdb://{}", dir.join("db").display());
    let sh = |args: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask 022; exec {} {args} --db {db}",
                env!("CARGO_BIN_EXE_leads-dashboard")
            ))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let events = dir.join("events.ndjson");
    std::fs::write(
        &events,
        r#"{"id":"m1","occurred_at":"2026-11-20T09:00:00+07:00","channel":"whatsapp","direction":"inbound","contact":{"phone":"0812-1111-0001"}}"#,
    )
    .expect("write");
    let (ok, err) = sh(&format!("import {}", events.display()));
    assert!(ok, "{err}");
    let backup = dir.join("backup.surql");
    let (ok, err) = sh(&format!("backup {}", backup.display()));
    assert!(ok, "{err}");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("db")), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(dir.join("db")).expect("dir") {
        let p = entry.expect("entry").path();
        let m = mode(&p);
        assert_eq!(m & 0o077, 0, "{} is {m:o}", p.display());
        files += 1;
    }
    assert!(files > 3, "RocksDB wrote its files");
    assert_eq!(mode(&backup), 0o600);
    // Never over an existing file.
    let (ok, err) = sh(&format!("backup {}", backup.display()));
    assert!(!ok && err.contains("exists already"), "{err}");
    // A backup that fails (the database is busy) leaves nothing.
    let busy = std::process::Command::new(env!("CARGO_BIN_EXE_leads-dashboard"))
        .args(["serve", "--addr", "127.0.0.1:0", "--db", &db])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Ok(mut busy) = busy {
        std::thread::sleep(std::time::Duration::from_secs(3));
        let other = dir.join("other.surql");
        let (ok, _) = sh(&format!("backup {}", other.display()));
        assert!(!ok);
        assert!(!other.exists(), "a failed backup leaves no file");
        let _ = busy.kill();
        let _ = busy.wait();
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `LEADS_MEMORY=256M`: the server starts on RocksDB with caches sized from
/// it (the log says so, RocksDB's options file holds the sizes) and serves;
/// a wrong value stops the start, naming the setting.
#[tokio::test]
async fn the_database_is_sized_from_leads_memory() {
    let dir = temp_dir("memory");
    let db = format!("rocksdb://{}", dir.join("db").display());
    let log = dir.join("server.log");
    let log_path = log.display().to_string();
    let s = Server::start_with_env(
        &db,
        &[
            ("LEADS_MEMORY", "256M"),
            ("RUST_LOG", "info,surrealdb=warn"),
            ("TEST_STDERR_FILE", log_path.as_str()),
        ],
    )
    .await;
    let (status, body) = s
        .post_events(&serde_json::json!([common::inbound(
            "m1",
            "+6281234500001",
            "2026-11-20T09:00:00Z"
        )]))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = s.get("/api/v1/leads?from=2026-11-20&to=2026-11-20").await;
    assert_eq!(page["total"], 1);
    drop(s);
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(
        logged.contains(
            "memory: 256 MiB (LEADS_MEMORY); database block cache 32 MiB, write buffers 4 x 8 MiB, \
             4 background jobs, 256 open files"
        ),
        "{logged}"
    );
    // What RocksDB was opened with (its OPTIONS file).
    let options = std::fs::read_dir(dir.join("db"))
        .expect("db folder")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("OPTIONS-"))
        .map(|e| std::fs::read_to_string(e.path()).expect("options"))
        .last()
        .expect("an OPTIONS file");
    for line in [
        "write_buffer_size=8388608",
        "max_write_buffer_number=4",
        "max_open_files=256",
        "max_background_jobs=4",
        "level0_file_num_compaction_trigger=4",
        "level0_slowdown_writes_trigger=20",
        "level0_stop_writes_trigger=36",
        "target_file_size_base=67108864",
    ] {
        assert!(
            options.lines().any(|l| l.trim() == line),
            "{line} not in {options}"
        );
    }

    let out = Command::new(env!("CARGO_BIN_EXE_leads-dashboard"))
        .args(["serve", "--db", "mem://"])
        .env("LEADS_MEMORY", "lots")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("LEADS_MEMORY") && err.contains("such as 1G"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--addr` takes a host name with its port (`localhost:PORT`), and a
/// wrong address stops the start at once, naming the setting.
#[tokio::test]
async fn the_address_may_name_a_host_and_a_wrong_one_stops_the_start() {
    let bin = env!("CARGO_BIN_EXE_leads-dashboard");
    let out = std::process::Command::new(bin)
        .args(["serve", "--db", "mem://", "--addr", "nowhere"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--addr"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut child = std::process::Command::new(bin)
        .args([
            "serve",
            "--db",
            "mem://",
            "--addr",
            &format!("localhost:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let healthy = loop {
        let r = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
        if r.is_ok_and(|r| r.status() == 200) {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(healthy, "the server listened on localhost:{port}");
}

/// An import from a pipe (`import /dev/stdin`, a shell's `<(…)`) stores
/// what it reads: the file is read twice (checked, then stored), so a pipe
/// is copied first. Before, the second pass read nothing and the command
/// said "imported 0 new" with success.
#[test]
fn an_import_from_a_pipe_stores_its_events() {
    let (dir, db) = common::temp_db("pipe-import");
    let lines: Vec<String> = (0..3)
        .map(|i| {
            common::inbound(
                &format!("p{i}"),
                &format!("+62812345000{i:02}"),
                "2026-11-20T09:00:00Z",
            )
            .to_string()
        })
        .collect();
    let text = lines.join("\n") + "\n";
    let (ok, _, err) = common::run_cli(&["import", "/dev/stdin"], &db, Some(&text));
    assert!(ok, "{err}");
    assert!(err.contains("imported 3 new"), "{err}");
    // Again: all known.
    let (ok, _, err) = common::run_cli(&["import", "/dev/stdin"], &db, Some(&text));
    assert!(
        ok && err.contains("imported 0 new, 3 already known"),
        "{err}"
    );
    // A bad line in a pipe still refuses the whole input.
    let bad = format!("{text}{{\"id\": \"x\"}}\n");
    let (ok, _, err) = common::run_cli(&["import", "/dev/stdin"], &db, Some(&bad));
    assert!(!ok && err.contains("line 4"), "{err}");
    common::remove_dirs(&[dir]);
}
