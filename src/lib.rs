pub mod bank;
pub mod domain;
