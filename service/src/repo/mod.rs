//! Repositories: one per table; every write the sync performs is a batched upsert.
