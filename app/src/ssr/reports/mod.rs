//! What people see, computed from the read models: the lead detail's
//! timeline. Pure: reports never touch storage.

pub mod timeline;
