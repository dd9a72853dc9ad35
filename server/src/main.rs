//! `leads-dashboard`: the whole product in one binary (`shared/spec/api.md`).

// Leptos views are deeply nested types; release builds (without
// `erase_components`) need more than the default 128 levels.
#![recursion_limit = "256"]

use clap::Parser;
use tracing_subscriber::EnvFilter;

use server::cli::Cli;

/// SurrealDB's query engine allocates and frees small values for every
/// stored record; glibc's allocator spent about a fifth of ingest's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Whatever the caller's umask: every file this process creates (the
    // database's, backups, rejected lines) is the owner's alone. Set before
    // any thread exists.
    #[cfg(unix)]
    // SAFETY: umask only swaps the process's file mode mask.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,surrealdb=warn")),
        )
        .with_writer(std::io::stderr);
    if cli.settings.log_format == "json" {
        logs.json().init();
    } else {
        // Colours only on a terminal: log files and journald get plain text.
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
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
    // A command's handles are all gone when it ends, so SurrealDB shuts its
    // datastore down itself (waited for); the server's tasks may still hold
    // theirs, so it shuts down at once.
    let serving = matches!(cli.command, None | Some(server::cli::Command::Serve));
    let run = async {
        let code = server::run(cli).await;
        // The database's background tasks end while the runtime runs.
        app::ssr::store::engine::shut_down(!serving).await;
        code
    };
    match runtime.block_on(run) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
