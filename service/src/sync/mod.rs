//! The sync engine: discovery, per-channel paging, job queue, worker, scheduler.
//!
//! - [`queue`]: the database-backed job queue (`sync_jobs`) and channel items
//!   (`channel_sync_jobs`), claimed with leases by conditional UPDATEs.
//! - [`engine`]: the worker that runs jobs; [`channel`]: one channel's paging.
//! - [`store`]: the upserts of messages, reactions, attachments, cursors and channels.
//! - [`scheduler`]: periodic syncs; [`view`]: the job as the API and CLI show it.
//! - [`service`]: the entry points the API and CLI call (trigger, status, cancel, retry).

pub mod channel;
pub mod engine;
pub mod queue;
pub mod scheduler;
pub mod service;
pub mod store;
pub mod view;

pub use engine::{Progress, SyncEngine, SyncSettings};
pub use queue::{SyncType, Trigger};
