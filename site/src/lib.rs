//! The archive website: every ACTIVE tenant's archive as server-rendered pages, served live by
//! `verta serve` and written as static files by `verta site build`, from one renderer.

pub mod markdown;
