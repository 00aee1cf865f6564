//! Integration tests: each test starts the real server on a free port with
//! its own temporary database and key directory.

mod browser;
mod cli;
mod conformance;
mod crash;
mod deregister;
mod enterprises;
mod errors;
mod health;
mod helpers;
mod holds;
mod idempotency;
mod instances;
mod keys;
mod log_api;
mod log_events;
mod log_tree;
mod log_verdict;
mod log_verify;
mod log_witness;
mod offline;
mod openapi;
mod pages;
mod qr;
mod qualifications;
mod recycling;
mod roles;
mod scans;
mod schema_parity;
mod snapshots;
mod status_lists;
mod storage;
mod tokens;
mod uploads;
mod vehicles;
mod verify;
