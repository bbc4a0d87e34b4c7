//! The API's integration tests: one binary, each test with its own app and database.

mod helpers;

mod auth;
mod errors;
mod health;
mod metrics;
mod openapi;
