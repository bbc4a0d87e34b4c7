//! The sync engine: discovery, per-channel paging, job queue, worker, scheduler.
//!
//! - [`queue`]: the database-backed job queue (`sync_jobs`) and channel items
//!   (`channel_sync_jobs`), claimed with leases by conditional UPDATEs; all of its SQL is in
//!   [`queue::storage`].
//! - [`engine`]: the worker that runs jobs; [`channel`]: one channel's paging.
//! - [`rows`]: platform data turned into rows (pseudonymised); [`store`]: their upserts, the
//!   cursors, deletion marks and channels; [`writer`]: the group commit of the pages of
//!   concurrent channels.
//! - [`scheduler`]: periodic syncs; [`view`]: the job as the API and CLI show it.
//! - [`service`]: the entry points the API and CLI call (trigger, status, cancel, retry).

pub mod channel;
pub mod engine;
pub mod queue;
pub mod rows;
pub mod scheduler;
pub mod service;
pub mod store;
pub mod view;
pub mod writer;

pub use engine::{Progress, SyncEngine, SyncSettings};
pub use queue::{ChannelJobStatus, JobStatus, SyncType, Trigger};

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::anonymize::Anonymizer;
use crate::config::Config;
use crate::discord::{DiscordAdapter, DiscordOptions};
use crate::platform::PlatformAdapter;

/// The platform adapter for `config`: Discord when a bot token is configured, else `None`
/// (jobs then fail with a message naming `DISCORD_BOT_TOKEN`). Call inside a tokio runtime.
pub fn platform_from_config(config: &Config) -> Option<Arc<dyn PlatformAdapter>> {
    DiscordOptions::from_config(config)
        .map(|o| Arc::new(DiscordAdapter::new(&o)) as Arc<dyn PlatformAdapter>)
}

/// A worker for this process, configured from `config`.
pub fn engine_from_config(db: DatabaseConnection, config: &Config) -> SyncEngine {
    SyncEngine::new(
        db,
        platform_from_config(config),
        Anonymizer::from_config(config),
        SyncSettings::from_config(config),
    )
}

/// The attachment fetcher for `config`, its store opened; `platform` renews expired links
/// (pass the sync engine's adapter, so renewals wait in the same rate limiter as every other
/// call of the bot).
pub fn fetcher_from_config(
    db: DatabaseConnection,
    config: &Config,
    platform: Option<Arc<dyn PlatformAdapter>>,
) -> crate::Result<crate::files::FileFetcher> {
    let store = crate::files::BlobStore::open(&config.attachment_store())?;
    Ok(crate::files::FileFetcher::new(
        db,
        store,
        platform,
        crate::files::FileSettings::from_config(config),
    ))
}

/// Start the sync worker, the attachment fetcher and the scheduler of this process. Both stop once `stop` turns
/// true (a running job is handed back to the queue at its next page).
pub fn spawn_worker(
    db: DatabaseConnection,
    config: &Config,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let platform = platform_from_config(config);
    let engine = SyncEngine::new(
        db.clone(),
        platform.clone(),
        Anonymizer::from_config(config),
        SyncSettings::from_config(config),
    );
    let fetcher = fetcher_from_config(db.clone(), config, platform);
    let interval = std::time::Duration::from_secs(config.sync_interval_secs);
    tokio::spawn(async move {
        let scheduler = scheduler::run(&db, interval, stop.clone());
        let files = async {
            match fetcher {
                Ok(fetcher) => {
                    let gc = crate::files::run_periodic_gc(
                        db.clone(),
                        fetcher.store().clone(),
                        crate::files::GC_INTERVAL,
                        stop.clone(),
                    );
                    tokio::join!(fetcher.run(stop.clone()), gc);
                }
                Err(e) => tracing::error!(error = %e, "attachment files are not fetched"),
            }
        };
        tokio::join!(engine.run(stop.clone()), scheduler, files);
    })
}
