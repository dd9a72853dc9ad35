//! What people see, computed from the read models: the dashboard's summary
//! and chart, and the lead detail's timeline. Pure: reports read the index
//! through its visitor and never touch storage.

pub mod ads;
pub(crate) mod capi;
#[cfg(test)]
mod speed;
pub mod summary;
pub mod timeline;
