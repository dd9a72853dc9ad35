//! Server-only code, grouped along the data's path (arrows point down:
//! web → leads → reports → index/intake/auth → store → domain):
//! - `domain`: the event format, phones, the nine rules, filters and CSV
//!   rows. Pure: no I/O, no clock.
//! - `store`: SurrealDB, the system of record. Only stores and loads.
//! - `index`: the in-memory lead index (which leads, in what order, how
//!   many), and its one visitor for reports. Pure.
//! - `reports`: the dashboard's summary and chart, the lead timeline,
//!   computed from the index. Pure.
//! - `leads`: the one `Leads` service every caller goes through (ingest,
//!   list, summary, export, live changes): the façade, writers, follower.
//! - `auth`: users, roles, sign-in sessions and API tokens (`Auth`).
//! - `intake`: every outside format (WhatsApp, Messenger/Instagram, Chatwoot
//!   webhooks) turned into events, with the table the webhook routes are
//!   built from. Pure.
//! - `web`: what the server renders (the Leads page's parts, the shell,
//!   the sign-in and settings pages).
//! - `state`: what pages and handlers share.

pub mod auth;
pub mod domain;
pub(crate) mod index;
pub mod intake;
pub mod leads;
pub(crate) mod reports;
pub mod state;
pub mod store;
pub mod web;
