pub mod ads;
pub mod leads;
