//! Test kit: a fake Discord REST API (library + `fake-discord` binary), deterministic data
//! generators with their ground truth, and per-test databases. Used by tests, benchmarks and
//! demos; never a runtime dependency of Verta.

pub mod db;
