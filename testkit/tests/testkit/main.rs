//! testkit's integration tests: the fake Discord against Discord's OpenAPI schemas,
//! twilight-model and twilight-http, brute-force pagination, rate limits, errors, the
//! control API, the ground truth, the CDN and memory use. One test binary (see TEAM rules).

mod binary;
mod cdn;
mod control;
mod errors;
mod helpers;
mod memory;
mod pagination;
mod rate_limits;
mod schema;
mod truth;
mod twilight_client;
