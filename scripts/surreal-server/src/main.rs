//! The `surreal` binary: what SurrealDB's own `main` does.
fn main() -> std::process::ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
