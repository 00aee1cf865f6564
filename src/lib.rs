//! scrapcert: the registry of scrap-vehicle enterprise qualification
//! certificates (资质认定书) and recycling certificates (回收证明).
//!
//! Layers, top down: `http` → `service` → `store` → `domain`; `crypto` and
//! `qr` serve the service; `clock` and `config` serve everyone.

pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod conformance;
pub mod crash;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod qr;
pub mod seed;
pub mod service;
pub mod startup;
pub mod store;
pub mod verifier;
pub mod witness;
