//! Attachment files: their bytes downloaded from Discord's CDN before the signed links
//! expire, stored content-addressed (SHA-256) in a local directory or an S3 bucket.
//!
//! - [`queue`]: the `attachment_files` rows (one per attachment: pending, stored, skipped,
//!   gone), which are also the download queue; the sync queues its new attachments in the
//!   page's transaction and each job backfills the tenant's unqueued ones.
//! - [`FileFetcher`]: the worker's downloader, with its own concurrency beside the message
//!   paging. It renews expired links in batches through the platform (Discord's
//!   `POST /attachments/refresh-urls`, under the bot's rate limiter), streams each file to a
//!   temporary file while hashing it ([`download`]), and moves it into the [`store`] only
//!   when complete.
//! - [`gc`]: removes blobs no attachment references; [`status`]: per-tenant counts.

pub mod download;
pub mod queue;
pub mod read;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::task::JoinSet;
use tracing::Instrument;

pub use download::{CDN_HOSTS, DownloadError};
pub use queue::{Claimed, Tally, TenantTallies, state};
pub use store::{BlobBody, BlobStore, ByteRange, Staged, is_sha256};

use crate::config::Config;
use crate::error::Result;
use crate::platform::PlatformAdapter;

/// Links refreshed per platform request (Discord's maximum).
pub const REFRESH_BATCH: usize = 50;

/// Tunables of the fetcher (from [`Config`], plus timings tests may shorten).
#[derive(Debug, Clone)]
pub struct FileSettings {
    /// Fetch files at all (`SYNC_ATTACHMENT_FILES`); off, nothing is queued or fetched.
    pub enabled: bool,
    /// Largest file downloaded (`ATTACHMENT_MAX_BYTES`).
    pub max_bytes: u64,
    /// Downloads in flight (`SYNC_ATTACHMENT_CONCURRENCY`).
    pub concurrency: usize,
    /// `host:port` that CDN requests go to instead of the CDN (`DISCORD_API_PROXY`).
    pub cdn_proxy: Option<String>,
    /// How long a claim stays valid without renewal.
    pub lease: Duration,
    /// Idle wait between queue polls.
    pub poll_interval: Duration,
    /// Delay before the first retry of a failed download; doubled per failure.
    pub retry_base: Duration,
    /// Longest delay between retries.
    pub retry_max: Duration,
    /// Failed attempts after which a file is skipped (with the last error as the reason).
    pub max_attempts: i32,
    /// A link expiring within this margin is renewed before downloading.
    pub refresh_margin: Duration,
}

impl FileSettings {
    /// Settings from the configuration with the default timings (30 s lease, 1 s poll,
    /// retries after 30 s doubling up to 6 h, skipped after 12 failures, links renewed when
    /// they expire within 5 minutes).
    pub fn from_config(config: &Config) -> Self {
        Self {
            enabled: config.sync_attachment_files,
            max_bytes: config.attachment_max_bytes,
            concurrency: config.sync_attachment_concurrency.max(1),
            cdn_proxy: config.discord_api_proxy.clone(),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(6 * 3600),
            max_attempts: 12,
            refresh_margin: Duration::from_secs(300),
        }
    }

    fn retry_delay(&self, attempts: i32, asked: Option<Duration>) -> Duration {
        let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(0);
        let backoff = self.retry_base.saturating_mul(2u32.saturating_pow(exp));
        backoff.max(asked.unwrap_or_default()).min(self.retry_max)
    }
}

/// Live counters of a fetcher (progress bars, benchmarks, tests).
#[derive(Debug, Default)]
pub struct FetchProgress {
    /// Files stored (downloaded now, or found in the store already).
    pub stored: AtomicU64,
    /// Bytes downloaded.
    pub bytes: AtomicU64,
    /// Files found already stored under their hash (not written again).
    pub deduplicated: AtomicU64,
    /// Files skipped.
    pub skipped: AtomicU64,
    /// Files recorded as gone.
    pub gone: AtomicU64,
    /// Failed attempts (each retried later).
    pub failures: AtomicU64,
    /// Links renewed through the platform.
    pub refreshed: AtomicU64,
}

impl FetchProgress {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The worker's attachment downloader. Cheap to clone (shared state).
#[derive(Clone)]
pub struct FileFetcher {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    store: BlobStore,
    platform: Option<Arc<dyn PlatformAdapter>>,
    http: reqwest::Client,
    settings: FileSettings,
    worker_id: String,
    progress: FetchProgress,
    /// Files claimed and not recorded yet (their leases are renewed).
    held: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl std::fmt::Debug for FileFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileFetcher")
            .field("store", &self.inner.store.describe())
            .field("worker_id", &self.inner.worker_id)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// What a run of [`FileFetcher::run_until_idle`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchSummary {
    /// Files stored.
    pub stored: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Files skipped.
    pub skipped: u64,
    /// Files recorded as gone.
    pub gone: u64,
    /// Failed attempts (retried later).
    pub failures: u64,
}

/// A fetcher's work: downloads running, downloaded files being stored, and files claimed
/// but not started yet. Storing (fsync, rename or upload, the row) runs beside the download
/// slots, so a slot starts its next download as soon as its bytes are in.
#[derive(Default)]
struct Slots {
    downloads: JoinSet<Option<(Claimed, Staged)>>,
    stores: JoinSet<()>,
    waiting: std::collections::VecDeque<Claimed>,
}

impl Slots {
    fn is_idle(&self) -> bool {
        self.downloads.is_empty() && self.stores.is_empty()
    }
}

/// How one claimed file ended (or, `Downloaded`, where its download left it).
enum Outcome {
    /// Complete, hashed bytes waiting to be stored.
    Downloaded(Staged),
    Stored {
        bytes: u64,
        dedup: bool,
    },
    Final(&'static str, String),
    Retry(String, Option<Duration>),
    /// The claim was lost (taken over, or reset by garbage collection): nothing to record.
    Lost,
}

impl FileFetcher {
    /// A fetcher on `db` storing into `store`; `platform` renews expired links (without
    /// one, an expired link is retried later like any failure).
    pub fn new(
        db: DatabaseConnection,
        store: BlobStore,
        platform: Option<Arc<dyn PlatformAdapter>>,
        settings: FileSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                store,
                platform,
                http: download::http_client(),
                settings,
                worker_id: format!("files-{}", uuid::Uuid::new_v4()),
                progress: FetchProgress::default(),
                held: std::sync::Mutex::new(std::collections::HashSet::new()),
            }),
        }
    }

    /// The store files go to.
    pub fn store(&self) -> &BlobStore {
        &self.inner.store
    }

    /// The live counters.
    pub fn progress(&self) -> &FetchProgress {
        &self.inner.progress
    }

    /// Download due files until `stop` turns true. Files claimed but not finished when it
    /// does are handed back to the queue.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if !self.inner.settings.enabled {
            return;
        }
        self.clean_staging().await;
        tracing::info!(worker_id = %self.inner.worker_id, store = %self.inner.store.describe(), "attachment fetcher started");
        let heartbeat = self.spawn_heartbeat();
        let mut slots = Slots::default();
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(e) = self.fill(&mut slots).await {
                tracing::warn!(error = %e, "attachment queue unavailable; retrying");
            }
            if slots.is_idle() {
                tokio::select! {
                    _ = tokio::time::sleep(self.inner.settings.poll_interval) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            tokio::select! {
                () = self.next_step(&mut slots) => {}
                _ = stop.changed() => {}
            }
        }
        self.abandon(slots).await;
        heartbeat.abort();
        tracing::info!(worker_id = %self.inner.worker_id, "attachment fetcher stopped");
    }

    /// Download every due file until none is left (files waiting for a retry are not due),
    /// then return what was done. For `sync start --wait`, tests and benchmarks.
    pub async fn run_until_idle(&self) -> Result<FetchSummary> {
        let before = self.summary();
        if !self.inner.settings.enabled {
            return Ok(FetchSummary::default());
        }
        self.clean_staging().await;
        let heartbeat = self.spawn_heartbeat();
        let mut slots = Slots::default();
        let result: Result<()> = async {
            loop {
                self.fill(&mut slots).await?;
                if slots.is_idle() {
                    return Ok(());
                }
                self.next_step(&mut slots).await;
            }
        }
        .await;
        heartbeat.abort();
        if result.is_err() {
            self.abandon(slots).await;
        }
        result?;
        let after = self.summary();
        Ok(FetchSummary {
            stored: after.stored - before.stored,
            bytes: after.bytes - before.bytes,
            skipped: after.skipped - before.skipped,
            gone: after.gone - before.gone,
            failures: after.failures - before.failures,
        })
    }

    /// The counters so far, as a summary.
    pub fn summary(&self) -> FetchSummary {
        let p = &self.inner.progress;
        FetchSummary {
            stored: p.stored.load(Ordering::Relaxed),
            bytes: p.bytes.load(Ordering::Relaxed),
            skipped: p.skipped.load(Ordering::Relaxed),
            gone: p.gone.load(Ordering::Relaxed),
            failures: p.failures.load(Ordering::Relaxed),
        }
    }

    async fn clean_staging(&self) {
        match self.inner.store.clean_staging(store::STALE_TEMP).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                removed = n,
                "removed temporary files of interrupted downloads"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot clean the download directory"),
        }
    }

    fn spawn_heartbeat(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let every = this.inner.settings.lease / 3;
            loop {
                tokio::time::sleep(every).await;
                let held: Vec<String> = this.held().iter().cloned().collect();
                if let Err(e) = queue::renew(
                    &this.inner.db,
                    &this.inner.worker_id,
                    &held,
                    this.inner.settings.lease,
                )
                .await
                {
                    tracing::warn!(error = %e, "cannot renew the attachment leases");
                }
            }
        })
    }

    /// Start downloads up to the concurrency from the claimed files waiting; when fewer
    /// wait than there are free slots, claim a batch (up to [`REFRESH_BATCH`], so that the
    /// expired links among them are renewed in one request) first.
    async fn fill(&self, slots: &mut Slots) -> Result<()> {
        let settings = &self.inner.settings;
        let free = settings.concurrency.saturating_sub(slots.downloads.len());
        if free == 0 {
            return Ok(());
        }
        if slots.waiting.len() < free {
            let batch = REFRESH_BATCH.max(settings.concurrency) - slots.waiting.len();
            let mut claimed = queue::claim(
                &self.inner.db,
                &self.inner.worker_id,
                settings.lease,
                batch as u64,
            )
            .await?;
            self.held()
                .extend(claimed.iter().map(|c| c.attachment_id.clone()));
            self.refresh_expiring(&mut claimed).await;
            slots.waiting.extend(claimed);
        }
        while slots.downloads.len() < settings.concurrency {
            let Some(file) = slots.waiting.pop_front() else {
                break;
            };
            let this = self.clone();
            let span = tracing::info_span!("attachment", attachment_id = %file.attachment_id, tenant_id = %file.tenant_id);
            slots
                .downloads
                .spawn(async move { this.download(file).await }.instrument(span));
        }
        Ok(())
    }

    /// Wait for the next download or store to finish; a finished download is handed to a
    /// store task (at most as many storing at once as downloading, so a slow disk slows
    /// the downloads down instead of piling files up).
    async fn next_step(&self, slots: &mut Slots) {
        let limit = self.inner.settings.concurrency;
        tokio::select! {
            Some(done) = slots.downloads.join_next(), if !slots.downloads.is_empty() => {
                if let Ok(Some((file, staged))) = done {
                    while slots.stores.len() >= limit {
                        let _ = slots.stores.join_next().await;
                    }
                    let this = self.clone();
                    let span = tracing::info_span!("attachment", attachment_id = %file.attachment_id, tenant_id = %file.tenant_id);
                    slots.stores.spawn(
                        async move {
                            let outcome = match this.store_staged(&file, staged).await {
                                Ok(outcome) => outcome,
                                Err(e) => Outcome::Retry(e.to_string(), None),
                            };
                            this.finish(&file, outcome).await;
                        }
                        .instrument(span),
                    );
                }
            }
            Some(_) = slots.stores.join_next(), if !slots.stores.is_empty() => {}
            else => {}
        }
    }

    /// Stop everything and hand every file this fetcher holds back to the queue.
    async fn abandon(&self, mut slots: Slots) {
        slots.downloads.abort_all();
        slots.stores.abort_all();
        while slots.downloads.join_next().await.is_some() {}
        while slots.stores.join_next().await.is_some() {}
        let held: Vec<String> = self.held().drain().collect();
        for attachment_id in held {
            let _ = queue::release(&self.inner.db, &attachment_id, &self.inner.worker_id).await;
        }
    }

    /// Renew, in requests of [`REFRESH_BATCH`], the links of `files` that are expired or
    /// about to be; a file whose renewal fails keeps its link (its download then fails and
    /// is retried).
    async fn refresh_expiring(&self, files: &mut [Claimed]) {
        let horizon = chrono::Utc::now().timestamp()
            + i64::try_from(self.inner.settings.refresh_margin.as_secs()).unwrap_or(300);
        let expiring: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                download::allowed_url(&f.url)
                    .ok()
                    .and_then(|u| download::link_expiry(&u))
                    .is_some_and(|ex| ex <= horizon)
            })
            .map(|(i, _)| i)
            .collect();
        for batch in expiring.chunks(REFRESH_BATCH) {
            let urls: Vec<String> = batch.iter().map(|&i| files[i].url.clone()).collect();
            let renewed = match self.refresh(&urls).await {
                Some(Ok(renewed)) => renewed,
                _ => HashMap::new(),
            };
            for &i in batch {
                if let Some(new) = renewed.get(&files[i].url) {
                    if let Err(e) =
                        queue::set_url(&self.inner.db, &files[i].attachment_id, new).await
                    {
                        tracing::warn!(error = %e, "cannot remember a renewed link");
                    }
                    files[i].url = new.clone();
                }
            }
        }
    }

    /// Renewed links of `urls` (original -> refreshed; links the platform does not know
    /// are left out); `None` without a platform, an error when the request failed.
    async fn refresh(
        &self,
        urls: &[String],
    ) -> Option<Result<HashMap<String, String>, crate::platform::PlatformError>> {
        let platform = self.inner.platform.as_ref()?;
        Some(match platform.refresh_attachment_urls(urls).await {
            Ok(pairs) => {
                FetchProgress::add(&self.inner.progress.refreshed, pairs.len() as u64);
                Ok(pairs
                    .into_iter()
                    .filter(|(_, new)| download::allowed_url(new).is_ok())
                    .collect())
            }
            Err(e) => {
                tracing::warn!(error = %e, links = urls.len(), "cannot renew attachment links");
                Err(e)
            }
        })
    }

    fn held(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.inner.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Download one claimed file: the staged bytes to store, or `None` when its outcome
    /// (skipped, gone, retry) is recorded already.
    async fn download(&self, file: Claimed) -> Option<(Claimed, Staged)> {
        let outcome = match self.fetch(&file).await {
            Ok(Outcome::Downloaded(staged)) => return Some((file, staged)),
            Ok(outcome) => outcome,
            Err(e) => Outcome::Retry(e.to_string(), None),
        };
        self.finish(&file, outcome).await;
        None
    }

    /// Record how a file ended and stop holding it.
    async fn finish(&self, file: &Claimed, outcome: Outcome) {
        if let Err(e) = self.record(file, outcome).await {
            tracing::warn!(error = %e, "cannot record an attachment's outcome; its lease will expire and it is retried");
        }
        self.held().remove(&file.attachment_id);
    }

    async fn record(&self, file: &Claimed, outcome: Outcome) -> Result<()> {
        let (db, worker, p) = (&self.inner.db, &self.inner.worker_id, &self.inner.progress);
        match outcome {
            Outcome::Stored { bytes, dedup } => {
                FetchProgress::add(&p.stored, 1);
                FetchProgress::add(&p.bytes, bytes);
                if dedup {
                    FetchProgress::add(&p.deduplicated, 1);
                }
            }
            Outcome::Final(final_state, reason) => {
                let counter = if final_state == state::GONE {
                    &p.gone
                } else {
                    &p.skipped
                };
                FetchProgress::add(counter, 1);
                tracing::info!(state = final_state, %reason, "attachment not stored");
                queue::mark_final(db, &file.attachment_id, worker, final_state, &reason).await?;
            }
            Outcome::Retry(reason, asked) => {
                FetchProgress::add(&p.failures, 1);
                let attempts = file.attempts + 1;
                if attempts >= self.inner.settings.max_attempts {
                    FetchProgress::add(&p.skipped, 1);
                    let reason = format!("failed {attempts} times: {reason}");
                    tracing::warn!(%reason, "attachment given up");
                    queue::mark_final(db, &file.attachment_id, worker, state::SKIPPED, &reason)
                        .await?;
                } else {
                    let delay = self.inner.settings.retry_delay(file.attempts, asked);
                    tracing::info!(%reason, retry_in_secs = delay.as_secs(), "attachment download failed; retrying later");
                    queue::retry_later(db, &file.attachment_id, worker, delay, &reason).await?;
                }
            }
            // Nothing to record: the claim is someone else's now, or the bytes go on to a
            // store task, which records the outcome.
            Outcome::Lost | Outcome::Downloaded(_) => {}
        }
        Ok(())
    }

    async fn fetch(&self, file: &Claimed) -> Result<Outcome> {
        let settings = &self.inner.settings;
        let url = match download::allowed_url(&file.url) {
            Ok(url) => url,
            Err(e) => return Ok(Outcome::Final(state::SKIPPED, e.to_string())),
        };
        if u64::try_from(file.file_size).unwrap_or(0) > settings.max_bytes {
            return Ok(Outcome::Final(
                state::SKIPPED,
                DownloadError::TooLarge.to_string(),
            ));
        }
        let staging = self.inner.store.staging_dir();
        let mut attempt = download::fetch(
            &self.inner.http,
            &download::request_url(&url, settings.cdn_proxy.as_deref()),
            &staging,
            settings.max_bytes,
        )
        .await;
        if let Err(DownloadError::NotFound(_)) = attempt {
            // The link may have been revoked early: renew it once before calling it gone.
            let renewed = match self.refresh(std::slice::from_ref(&file.url)).await {
                Some(Ok(renewed)) => renewed,
                Some(Err(e)) => {
                    return Ok(Outcome::Retry(
                        format!("not found, and the link could not be renewed: {e}"),
                        None,
                    ));
                }
                None => HashMap::new(),
            };
            let fresh = renewed
                .get(&file.url)
                .and_then(|u| download::allowed_url(u).ok());
            if let Some(fresh) = fresh {
                queue::set_url(&self.inner.db, &file.attachment_id, fresh.as_str()).await?;
                attempt = download::fetch(
                    &self.inner.http,
                    &download::request_url(&fresh, settings.cdn_proxy.as_deref()),
                    &staging,
                    settings.max_bytes,
                )
                .await;
            } else if self.inner.platform.is_none() {
                return Ok(Outcome::Retry(
                    "not found, and no bot token to renew the link".into(),
                    None,
                ));
            }
        }
        let staged = match attempt {
            Ok(staged) => staged,
            Err(DownloadError::NotFound(status)) => {
                return Ok(Outcome::Final(
                    state::GONE,
                    format!("not found on the CDN (HTTP {status}) after renewing the link"),
                ));
            }
            Err(e @ (DownloadError::TooLarge | DownloadError::NotAllowed)) => {
                return Ok(Outcome::Final(state::SKIPPED, e.to_string()));
            }
            Err(DownloadError::Transient {
                message,
                retry_after,
            }) => return Ok(Outcome::Retry(message, retry_after)),
        };
        let declared = u64::try_from(file.file_size).unwrap_or(0);
        if declared > 0 && staged.bytes != declared {
            return Ok(Outcome::Retry(
                format!(
                    "size mismatch: downloaded {} bytes, Discord declared {declared}",
                    staged.bytes
                ),
                None,
            ));
        }
        Ok(Outcome::Downloaded(staged))
    }

    /// Make the staged file the blob of its hash and mark the row stored. The hash is
    /// recorded first so that garbage collection, which removes only unreferenced blobs and
    /// re-queues rows that gained a reference while it removed one, never leaves a stored
    /// row without its blob.
    async fn store_staged(&self, file: &Claimed, staged: Staged) -> Result<Outcome> {
        let (db, worker) = (&self.inner.db, &self.inner.worker_id);
        let (sha256, bytes) = (staged.sha256.clone(), staged.bytes);
        if !queue::set_hash(db, &file.attachment_id, worker, &sha256).await? {
            return Ok(Outcome::Lost);
        }
        let dedup = self.inner.store.contains(&sha256).await?;
        if !dedup {
            self.inner.store.put(staged).await?;
        }
        if queue::mark_stored(db, &file.attachment_id, worker, &sha256, bytes).await? {
            Ok(Outcome::Stored { bytes, dedup })
        } else {
            Ok(Outcome::Lost)
        }
    }
}

/// What [`gc`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcSummary {
    /// Blobs in the store before.
    pub blobs: u64,
    /// Blobs some attachment references (kept).
    pub referenced: u64,
    /// Blobs removed.
    pub removed: u64,
    /// Bytes removed.
    pub removed_bytes: u64,
    /// Attachments sent back to the download queue because they started to reference a
    /// blob while it was being removed.
    pub requeued: u64,
    /// Temporary files of interrupted downloads removed.
    pub temporary_files: u64,
}

/// Remove every blob no attachment references (a deleted tenant's files, for instance),
/// never a referenced one: the store is listed in batches, each batch's references are read
/// from the database, and the unreferenced blobs are removed; rows that came to reference a
/// removed blob meanwhile are queued again (and fetchers re-check after recording their
/// hash, see [`FileFetcher`]). Memory stays bounded by the batch.
pub async fn gc(db: &impl ConnectionTrait, store: &BlobStore) -> Result<GcSummary> {
    const BATCH: usize = 500;
    let mut summary = GcSummary {
        temporary_files: store.clean_staging(store::STALE_TEMP).await?,
        ..GcSummary::default()
    };
    let mut listing = store.list().try_chunks(BATCH);
    while let Some(batch) = listing.next().await {
        let batch = batch.map_err(|e| e.1)?;
        summary.blobs += batch.len() as u64;
        let hashes: Vec<String> = batch.iter().map(|(h, _)| h.clone()).collect();
        let referenced: std::collections::HashSet<String> =
            queue::referenced(db, &hashes).await?.into_iter().collect();
        summary.referenced += referenced.len() as u64;
        let mut removed = Vec::new();
        for (hash, size) in batch {
            if !referenced.contains(&hash) {
                store.delete(&hash).await?;
                summary.removed += 1;
                summary.removed_bytes += size;
                removed.push(hash);
            }
        }
        if !removed.is_empty() {
            summary.requeued += queue::requeue_hashes(db, &removed).await?;
        }
    }
    Ok(summary)
}

/// How often a worker collects garbage in the store (and once, a minute after it starts).
pub const GC_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// Run [`gc`] a minute after start and then every `interval` until `stop` turns true
/// (every worker does; collections are safe to run concurrently).
pub async fn run_periodic_gc(
    db: DatabaseConnection,
    store: BlobStore,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut wait = Duration::from_secs(60).min(interval);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        gc_logged(&db, &store).await;
        wait = interval;
    }
}

/// [`gc`] for a collection nobody waits for (the periodic one, the one after a tenant is
/// deleted): what it removed, or why it failed, goes to the log.
pub async fn gc_logged(db: &impl ConnectionTrait, store: &BlobStore) {
    match gc(db, store).await {
        Ok(s) if s.removed > 0 || s.temporary_files > 0 => tracing::info!(
            removed = s.removed,
            bytes = s.removed_bytes,
            temporary_files = s.temporary_files,
            "attachment store garbage collected"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "attachment store garbage collection failed"),
    }
}

/// A tenant's files as `verta files status` prints them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilesStatus {
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant slug.
    pub tenant: String,
    /// The store (`file://...` or `s3://...`).
    pub store: String,
    /// Whether this configuration fetches files (`SYNC_ATTACHMENT_FILES`).
    pub enabled: bool,
    /// Every attachment of the tenant.
    pub total: Tally,
    /// Stored (bytes: as stored).
    pub stored: Tally,
    /// Not stored yet (queued, waiting for a retry, or not queued yet).
    pub pending: Tally,
    /// Pending files that failed at least once.
    pub retrying: u64,
    /// Deliberately not stored.
    pub skipped: Tally,
    /// Skipped files per reason.
    pub skipped_reasons: std::collections::BTreeMap<String, u64>,
    /// Deleted on the platform before they could be stored.
    pub gone: Tally,
    /// Distinct blobs behind the stored files (same bytes stored once).
    pub blobs: Tally,
}

/// The files of `tenant`.
pub async fn status(
    db: &impl ConnectionTrait,
    tenant: &crate::tenants::Tenant,
    store: &BlobStore,
    enabled: bool,
) -> Result<FilesStatus> {
    let t = queue::tallies(db, &tenant.id.to_string()).await?;
    let total = [t.stored, t.pending, t.skipped, t.gone]
        .iter()
        .fold(Tally::default(), |acc, x| Tally {
            files: acc.files + x.files,
            bytes: acc.bytes + x.bytes,
        });
    Ok(FilesStatus {
        tenant_id: tenant.id.to_string(),
        tenant: tenant.slug.clone(),
        store: store.describe(),
        enabled,
        total,
        stored: t.stored,
        pending: t.pending,
        retrying: t.retrying,
        skipped: t.skipped,
        skipped_reasons: t.skip_reasons,
        gone: t.gone,
        blobs: t.blobs,
    })
}
