//! The API's integration tests: one binary, each test with its own app and database
//! (`helpers::spawn_app`). Route families add their module here.

mod browser;
mod helpers;

mod archive_data;
mod attachment_files;
mod auth;
mod branding;
mod browser_harness;
mod cli;
mod demo;
mod details;
mod errors;
mod export;
mod files;
mod health;
mod metrics;
mod openapi;
mod read_api;
mod read_plans;
mod search_api;
mod search_cli;
mod sync;
mod tenants;
mod trusted_proxies;
mod website;
mod website_browser;
mod website_hostile;
mod website_search;
