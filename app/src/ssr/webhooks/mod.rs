//! Channel webhooks turned into events (`shared/spec/events.md`). Pure: no
//! I/O; the HTTP side checks signatures and hands the events to `Leads`.

pub mod meta;
pub mod signature;
pub mod whatsapp;
