//! scrapcert: the registry of scrap-vehicle enterprise qualification
//! certificates (资质认定书) and recycling certificates (回收证明).

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod keys;
pub mod qr_image;
pub mod qr_reader;
pub mod routes;
pub mod scan_log;
pub mod startup;
pub mod verification;
