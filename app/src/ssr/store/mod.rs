//! SurrealDB, the system of record: connecting, the schema, storing batches
//! and loading what the lead index is built from. Only this module talks
//! SurrealQL.

pub mod accounts;
pub mod batch;
pub mod contacts;
pub mod db;
