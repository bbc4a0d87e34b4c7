//! Verta's HTTP API (actix-web) and the `verta` command line.
//!
//! Handlers are short: extract, call one `service` function, map the result. The mapping from
//! `service::Error` to HTTP lives in [`error`] only.

pub mod cli;
pub mod client_ip;
pub mod error;
pub mod extract;
pub mod file_response;
pub mod middleware;
pub mod openapi;
pub mod params;
pub mod routes;
pub mod site_cache;
pub mod startup;
pub mod telemetry;
