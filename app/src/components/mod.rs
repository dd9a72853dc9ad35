pub mod lead_table;
