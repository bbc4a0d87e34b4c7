//! Verta's domain layer: everything that is not HTTP.
//!
//! `api` (HTTP + the `verta` binary) and the sync worker both call into this crate; it never
//! depends on actix. One module per concept (see `docs/design.md`).

pub mod anonymize;
pub mod archive;
pub mod branding;
pub mod config;
pub mod db;
pub mod discord;
pub mod error;
pub mod export;
pub mod files;
pub mod platform;
pub mod pseudonym;
pub mod repo;
pub mod search;
pub mod sync;
pub mod tenants;

pub use config::Config;
pub use error::{Error, Result};
