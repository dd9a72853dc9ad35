//! The server: the HTTP routers (`http`), the command line (`cli`) and its
//! commands (`import`, `accounts`, `floor`). A library so that tests drive
//! the router in-process; `main.rs` only sets up the process.

pub mod accounts;
pub mod capi;
pub mod cli;
pub mod floor;
pub mod http;
pub mod import;

use std::sync::Arc;

use app::ssr::auth::Auth;
use app::ssr::domain::settings::Settings;
use app::ssr::leads::Leads;
use app::ssr::state::AppState;
use app::ssr::store::db;
use cli::{Cli, Command};

/// Runs the command `cli` names (`serve` by default).
pub async fn run(cli: Cli) -> Result<std::process::ExitCode, String> {
    let settings = cli.settings.resolve()?;
    let command = cli.command.unwrap_or(Command::Serve);
    // An import from a pipe is read from a copy (its file is read twice);
    // the copy goes when this returns.
    let (command, _spool) = match command {
        Command::Import {
            file,
            skip_invalid,
            url,
        } => {
            let (file, spool) = import::readable_twice(file)?;
            let import = Command::Import {
                file,
                skip_invalid,
                url,
            };
            (import, spool)
        }
        other => (other, None),
    };
    if matches!(command, Command::Serve) {
        // A wrong --addr stops the start before the database is opened.
        cli.settings.listen_address()?;
    }
    if let Command::Floor { file } = &command {
        return floor::run(file, settings.region).map(|()| std::process::ExitCode::SUCCESS);
    }
    if let Command::Import {
        file,
        skip_invalid,
        url: Some(url),
    } = &command
    {
        return import::run_remote(&settings, file, skip_invalid.as_deref(), url)
            .await
            .map(|()| std::process::ExitCode::SUCCESS);
    }
    // A restore loads into the database as it is (empty), then migrates.
    let (address, user, pass) = (
        cli.settings.db.as_str(),
        cli.settings.db_user.as_deref(),
        cli.settings.db_pass.as_deref(),
    );
    // Only `serve` and `restore` migrate; the other commands need this
    // build's schema (a backup taken with a newer binary must not upgrade
    // a database older instances still run on).
    let memory = settings.db_memory();
    if matches!(command, Command::Serve) {
        log_memory(&settings, address);
    }
    let memory = memory.as_ref();
    // Checking or backing up a folder that holds no database is a mistyped
    // `--db`: say so rather than answer for a new, empty database.
    if matches!(command, Command::Verify | Command::Backup { .. })
        && db::rocksdb_missing(address) == Some(true)
    {
        return Err(format!(
            "no database at {address}: check --db (or LEADS_DB)"
        ));
    }
    let opened = match command {
        Command::Restore { .. } => db::open(address, user, pass, memory).await,
        Command::Serve => db::connect(address, user, pass, memory).await,
        _ => db::open_current(address, user, pass, memory).await,
    };
    let db = opened.map_err(|e| in_use(e, &command, &cli.settings.db))?;
    let auth = auth_of(&db, &settings);
    match &command {
        Command::Backup { file } => {
            db::backup(&db, file).await.map_err(|e| e.to_string())?;
            eprintln!("backup written to {}", file.display());
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Command::Restore { file } => {
            db::restore(&db, file).await.map_err(|e| e.to_string())?;
            eprintln!("restored {} into {}", file.display(), cli.settings.db);
            return Ok(std::process::ExitCode::SUCCESS);
        }
        _ => {}
    }
    match command {
        Command::User { command } => {
            return accounts::user(&auth, command)
                .await
                .map(|()| std::process::ExitCode::SUCCESS);
        }
        Command::Token { command } => {
            return accounts::token(&auth, command)
                .await
                .map(|()| std::process::ExitCode::SUCCESS);
        }
        _ => {}
    }
    // Ad spend needs no lead index: stored before one would be built.
    if let Command::Import { file, .. } = &command {
        if import::spend_only(&db, &settings, file).await? {
            return Ok(std::process::ExitCode::SUCCESS);
        }
    }
    // On a SurrealDB server other instances may write too: follow them.
    let shared = cli.settings.db.starts_with("ws://") || cli.settings.db.starts_with("wss://");
    let leads = Leads::open_with(
        db,
        shared && matches!(command, Command::Serve),
        cli.settings.writers.map(usize::from),
        settings.terms(),
        outbox_terms(&settings),
    )
    .await
    .map_err(|e| e.to_string())?;
    match command {
        Command::Serve => {
            let admin_password = std::env::var("LEADS_ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            let state = serving_state(
                &cli.settings,
                settings,
                auth,
                leads,
                admin_password.as_deref(),
            )
            .await?;
            http::serve(state).await?;
        }
        Command::User { .. }
        | Command::Token { .. }
        | Command::Backup { .. }
        | Command::Restore { .. } => {}
        Command::Import {
            file, skip_invalid, ..
        } => import::run(&leads, &settings, &file, skip_invalid.as_deref()).await?,
        Command::Verify => {
            let v = leads.verify().await.map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string(&v).map_err(|e| e.to_string())?);
            if v.mismatches > 0 {
                return Ok(std::process::ExitCode::FAILURE);
            }
        }
        Command::Floor { .. } => {}
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Which memory budget `serve` runs with, where it came from, and the
/// embedded database's caches it gives.
fn log_memory(settings: &Settings, address: &str) {
    use app::ssr::domain::memory::human;
    let Some(budget) = settings.memory else {
        tracing::info!("memory limit unknown: the database sizes its own caches");
        return;
    };
    if !address.starts_with("rocksdb://") {
        tracing::info!("memory: {} ({})", human(budget.bytes), budget.source);
        return;
    }
    if let Some(m) = settings.db_memory() {
        tracing::info!(
            "memory: {} ({}); database block cache {}, write buffers {} x {}, {} background jobs, {} open files",
            human(budget.bytes),
            budget.source,
            human(m.block_cache),
            m.write_buffers,
            human(m.write_buffer),
            m.jobs,
            m.max_open_files
        );
    }
}

/// A database another process holds (RocksDB allows one): what to do
/// instead of the engine's message.
fn in_use(e: app::error::AppError, command: &Command, db: &str) -> String {
    let text = e.to_string();
    // RocksDB allows one process: say what to do instead of its message.
    if text.to_lowercase().contains("lock") {
        let what = match command {
            Command::Import { .. } => {
                "stop the server, or import through it: leads-dashboard import FILE \
                 --url http://ADDRESS (with LEADS_API_TOKEN set)"
            }
            Command::User { .. } | Command::Token { .. } => {
                "stop the server first, or do this on its settings page (signed in as an admin)"
            }
            Command::Backup { .. } => "stop the server first (an embedded database has one user)",
            _ => "stop the other leads-dashboard using it, or use another --db",
        };
        format!("the database {} is in use by another process: {what}", db)
    } else {
        text
    }
}

/// What queuing Conversions API events needs, when sending is set up.
fn outbox_terms(settings: &Settings) -> Option<app::ssr::store::outbox::OutboxTerms> {
    settings
        .capi_configured()
        .then(|| app::ssr::store::outbox::OutboxTerms {
            terms: settings.terms(),
            currency: settings.currency.clone(),
        })
}

/// The sign-in service on `db` with the settings' API token and timeout.
fn auth_of(db: &db::Db, settings: &Settings) -> Auth {
    Auth::new(
        db.clone(),
        settings.signin_timeout,
        settings.api_token.clone(),
    )
}

/// What `serve` answers with: the first admin made (with `admin_password`,
/// if none exists yet) and the services with the settings.
async fn serving_state(
    args: &cli::SettingsArgs,
    settings: Settings,
    auth: Auth,
    leads: Leads,
    admin_password: Option<&str>,
) -> Result<AppState, String> {
    if auth.weak_token() {
        tracing::warn!(
            "LEADS_API_TOKEN is shorter than {} characters: easy to guess (make one with `openssl rand -hex 32`)",
            app::ssr::auth::MIN_PASSWORD
        );
    }
    let users = auth
        .first_run(admin_password)
        .await
        .map_err(|e| format!("LEADS_ADMIN_PASSWORD: {e}"))?;
    if users == 0 {
        tracing::warn!(
            "no dashboard user exists yet: create one with `leads-dashboard user add NAME --role admin` \
             (server stopped), or start with LEADS_ADMIN_PASSWORD set to create `admin`"
        );
    }
    if let Some(sender) = capi::CapiSender::new(leads.clone(), &settings) {
        sender.spawn();
    }
    Ok(AppState {
        leptos_options: args.leptos_options()?,
        leads,
        auth,
        intake: Arc::default(),
        settings: Arc::new(settings),
    })
}

/// What `serve` answers with, built in this process: for tests that drive
/// the router without spawning one. `settings` as resolved (see
/// `SettingsArgs::resolve_with`); `admin_password` creates the first admin
/// (the process reads `LEADS_ADMIN_PASSWORD`).
pub async fn in_process_state(
    cli: &Cli,
    settings: Settings,
    admin_password: Option<&str>,
) -> Result<AppState, String> {
    let db = db::connect(&cli.settings.db, None, None, settings.db_memory().as_ref())
        .await
        .map_err(|e| e.to_string())?;
    in_process_state_on(db, cli, settings, admin_password).await
}

/// The same on a database handle another state may share: two of them are
/// two instances on one database (their senders, followers and writers
/// each their own).
pub async fn in_process_state_on(
    db: db::Db,
    cli: &Cli,
    settings: Settings,
    admin_password: Option<&str>,
) -> Result<AppState, String> {
    let auth = auth_of(&db, &settings);
    let leads = Leads::open_with(
        db,
        false,
        cli.settings.writers.map(usize::from),
        settings.terms(),
        outbox_terms(&settings),
    )
    .await
    .map_err(|e| e.to_string())?;
    serving_state(&cli.settings, settings, auth, leads, admin_password).await
}
