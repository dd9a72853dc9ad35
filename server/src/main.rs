//! `leads-dashboard`: the whole product in one binary (`shared/spec/api.md`).

mod cli;
mod import;
mod routes;

use std::sync::Arc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use app::ssr::{db, state::AppState};
use cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,surrealdb=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // SurrealDB needs the multi-threaded runtime.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let settings = cli.settings.resolve()?;
    let db = db::connect(
        &cli.settings.db,
        cli.settings.db_user.as_deref(),
        cli.settings.db_pass.as_deref(),
    )
    .await
    .map_err(|e| e.to_string())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let state = AppState {
                leptos_options: cli.settings.leptos_options()?,
                db,
                settings: Arc::new(settings),
            };
            routes::serve(state).await
        }
        Command::Import { file } => import::run(&db, &settings, &file).await,
    }
}
