//! SurrealDB, the system of record: connecting, the schema, storing batches
//! and loading what the lead index is built from. Only this module talks
//! SurrealQL.

pub(crate) mod accounts;
pub(crate) mod batch;
pub(crate) mod contacts;
pub mod db;
pub mod engine;
pub mod outbox;
#[cfg(test)]
mod speed;
pub(crate) mod spend;
