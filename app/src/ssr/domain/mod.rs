//! The product's rules and formats, pure: no I/O, no clock ("now" is passed in).

pub mod capi;
pub mod copies;
pub mod csv;
pub(crate) mod days;
pub mod event;
pub mod filter;
pub mod hours;
pub(crate) mod identity;
pub mod memory;
pub mod money;
pub mod net;
pub mod phone;
pub mod redact;
pub mod rules;
pub mod secret;
pub(crate) mod sessions;
pub mod settings;
/// The summary written straight from the spec's wording: the reference the
/// lead index's summaries are tested against.
#[cfg(test)]
pub mod summary;
