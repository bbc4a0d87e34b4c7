//! The sync engine: discovery, per-channel paging, job queue, worker, scheduler.
