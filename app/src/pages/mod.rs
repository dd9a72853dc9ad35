pub mod leads;
