//! Server-only code. Pure modules (`event`, `phone`, `rules`, `keys`,
//! `filter`) do no I/O; `db`, `ingest` and `query` are the storage layer.

pub mod csv;
pub mod db;
pub mod event;
pub mod filter;
pub mod ingest;
pub mod keys;
pub mod phone;
pub mod query;
pub mod rules;
pub mod state;
pub mod summary;
pub mod view;
