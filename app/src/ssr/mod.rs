//! Server-only code, grouped by concern:
//! - `domain`: the event format, phones, the nine rules, filters and CSV
//!   rows. Pure: no I/O, no clock.
//! - `store`: SurrealDB, the system of record. Only stores and loads.
//! - `leads`: the one `Leads` service every caller goes through (ingest,
//!   list, summary, export, live changes), with its in-memory lead index.
//! - `auth`: users, roles, sign-in sessions and API tokens (`Auth`).
//! - `intake`: every outside format (WhatsApp, Messenger/Instagram, Chatwoot
//!   webhooks) turned into events, with the table the webhook routes are
//!   built from. Pure.
//! - `view`, `state`: what pages and handlers share.

pub mod auth;
pub mod domain;
pub mod index;
pub mod intake;
pub mod leads;
pub mod reports;
pub mod state;
pub mod store;
pub mod view;

// Short paths for the pure modules and the store (`ssr::event`, `ssr::db`, …).
pub use domain::{csv, event, filter, identity, net, phone, redact, rules, secret};
pub use store::{db, ingest};
