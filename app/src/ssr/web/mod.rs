//! What the server renders: the Leads page's server-rendered parts
//! (`view`), what every document shares (`shell`: CSP, language, assets),
//! and the sign-in and settings pages (`account`), which are plain HTML
//! forms and never reach the browser bundle.

pub mod account;
pub(crate) mod ads;
pub mod shell;
pub(crate) mod view;
