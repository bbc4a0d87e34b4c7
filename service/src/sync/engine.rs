//! The sync worker: claims jobs from the queue, runs discovery, and works through the
//! job's channel items with `SYNC_CHANNEL_CONCURRENCY` slots. Idle workers help with the
//! channel items of jobs other workers run, so several `verta worker` processes share the work.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use entity::sync_jobs;
use sea_orm::DatabaseConnection;
use tracing::Instrument;
use uuid::Uuid;

use crate::anonymize::Anonymizer;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::platform::{PlatformAdapter, PlatformError};
use crate::repo;
use crate::sync::channel::{ChannelEnd, ChannelTarget};
use crate::sync::queue::{self, ChannelJobStatus, JobStatus, SyncType};
use crate::sync::rows::uuid_of;
use crate::sync::store;
use crate::sync::writer::PageWriter;
use crate::tenants::{self, Platform, Tenant};

/// Tunables of the worker (from [`Config`], plus queue timings tests may shorten).
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Channels synced at once by this worker process.
    pub concurrency: usize,
    /// Fetch the users of every reaction (else store counts in message metadata).
    pub reaction_users: bool,
    /// Rescan window (zero = off).
    pub rescan_window: Duration,
    /// How long a claim stays valid without renewal.
    pub lease: Duration,
    /// Idle wait between queue polls.
    pub poll_interval: Duration,
    /// Delays before retrying a transient platform failure.
    pub retry_delays: Vec<Duration>,
    /// Queue attachments for download (`SYNC_ATTACHMENT_FILES`): new ones with their page,
    /// and, at the start of each job, the tenant's earlier ones that were never queued.
    pub attachment_files: bool,
}

impl SyncSettings {
    /// Settings from the configuration with the default queue timings (30 s lease, 1 s poll,
    /// retries after 1 s, 2 s, 4 s).
    pub fn from_config(config: &Config) -> Self {
        Self {
            concurrency: config.sync_channel_concurrency.max(1),
            reaction_users: config.sync_reaction_users,
            rescan_window: Duration::from_secs(config.sync_rescan_window_secs),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            retry_delays: vec![
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(4),
            ],
            attachment_files: config.sync_attachment_files,
        }
    }
}

/// Live counters of this worker process (progress bars, metrics).
#[derive(Debug, Default)]
pub struct Progress {
    /// Messages written.
    pub messages: AtomicU64,
    /// Channels finished (completed or failed).
    pub channels_done: AtomicU64,
    /// Channels that failed.
    pub channels_failed: AtomicU64,
    /// Channels of the current job.
    pub channels_total: AtomicU64,
    /// Jobs finished.
    pub jobs_finished: AtomicU64,
}

/// State shared by the channel slots of one job.
pub(crate) struct JobContext {
    pub(crate) job_id: String,
    pub(crate) tenant_id: String,
    pub(crate) full: bool,
    pub(crate) platform: Arc<dyn PlatformAdapter>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) unauthorized: std::sync::Mutex<Option<String>>,
    pub(crate) reactions: AtomicU64,
    pub(crate) attachments: AtomicU64,
    pub(crate) targets: HashMap<String, ChannelTarget>,
}

impl JobContext {
    /// The context of `job`, synced from `platform`, stopping when `stop` turns true;
    /// `targets` are the channels discovery found (empty for a helper worker, which loads
    /// each channel it claims).
    fn new(
        job: &sync_jobs::Model,
        platform: Arc<dyn PlatformAdapter>,
        stop: Arc<AtomicBool>,
        targets: HashMap<String, ChannelTarget>,
    ) -> Result<Self> {
        Ok(Self {
            job_id: job.id.clone(),
            tenant_id: job.tenant_id.clone(),
            full: SyncType::from_stored(&job.sync_type)? == SyncType::Full,
            platform,
            stop,
            unauthorized: std::sync::Mutex::new(None),
            reactions: AtomicU64::new(0),
            attachments: AtomicU64::new(0),
            targets,
        })
    }
}

/// Why a job failed when Discord refused the bot token.
fn token_refused(detail: &str) -> String {
    format!("Discord refused the bot token (401 Unauthorized): check DISCORD_BOT_TOKEN ({detail})")
}

/// A sync worker. Cheap to share (`Arc`) and to clone (a job's channel slots each run on a
/// clone); one per process.
#[derive(Clone)]
pub struct SyncEngine {
    pub(crate) db: DatabaseConnection,
    pub(crate) platform: Option<Arc<dyn PlatformAdapter>>,
    pub(crate) anonymizer: Anonymizer,
    pub(crate) settings: SyncSettings,
    pub(crate) worker_id: String,
    /// Live counters.
    pub progress: Arc<Progress>,
    /// Set when the process is stopping: running jobs are handed back to the queue.
    pub(crate) shutting_down: Arc<AtomicBool>,
}

/// A worker id unique per process: `worker-<pid>-<8 random hex>` (fits `varchar(50)`).
fn new_worker_id() -> String {
    format!(
        "worker-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

enum JobEnd {
    Released,
    Completed,
    Cancelled,
    Failed(String),
    LeaseLost,
}

impl SyncEngine {
    /// A worker on `db`. `platform` is `None` when no bot token is configured: jobs then fail
    /// with a message saying so.
    pub fn new(
        db: DatabaseConnection,
        platform: Option<Arc<dyn PlatformAdapter>>,
        anonymizer: Anonymizer,
        settings: SyncSettings,
    ) -> Self {
        Self {
            db,
            platform,
            anonymizer,
            settings,
            worker_id: new_worker_id(),
            progress: Arc::new(Progress::default()),
            shutting_down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Claim and run one job, or help another worker's job. Returns whether there was work.
    pub async fn run_once(&self) -> Result<bool> {
        if let Some(job) = queue::claim_next(&self.db, &self.worker_id, self.settings.lease).await?
        {
            self.run_job(job).await?;
            return Ok(true);
        }
        for job_id in queue::jobs_needing_help(&self.db, self.settings.lease).await? {
            if self.help(&job_id).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Process jobs until the queue has nothing claimable (tests, `sync start --wait`).
    pub async fn run_until_empty(&self) -> Result<()> {
        while self.run_once().await? {}
        Ok(())
    }

    /// Work until `shutdown` turns true.
    pub async fn run(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(worker_id = %self.worker_id, "sync worker started");
        let flag = Arc::clone(&self.shutting_down);
        let mut watcher = shutdown.clone();
        let watch_task = tokio::spawn(async move {
            while watcher.changed().await.is_ok() {
                if *watcher.borrow() {
                    flag.store(true, Ordering::Relaxed);
                    return;
                }
            }
        });
        loop {
            if *shutdown.borrow() {
                break;
            }
            let worked = match self.run_once().await {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(error = %e, "sync worker iteration failed");
                    false
                }
            };
            if !worked {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        watch_task.abort();
        tracing::info!(worker_id = %self.worker_id, "sync worker stopped");
    }

    /// Claim a specific job (queued, or running with an expired lease) and run it.
    /// Returns false when another worker holds it.
    pub async fn run_job_by_id(&self, job_id: &str) -> Result<bool> {
        match queue::claim_job(&self.db, job_id, &self.worker_id, self.settings.lease).await? {
            Some(job) => {
                self.run_job(job).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Run a claimed job to its end and record the result.
    pub async fn run_job(&self, job: sync_jobs::Model) -> Result<()> {
        let span = tracing::info_span!("sync_job", tenant_id = %job.tenant_id, job_id = %job.id);
        async {
            tracing::info!(sync_type = %job.sync_type, "sync job started");
            let stop = Arc::new(AtomicBool::new(false));
            let lost = Arc::new(AtomicBool::new(false));
            let heartbeat =
                self.spawn_heartbeat(job.id.clone(), Arc::clone(&stop), Arc::clone(&lost));
            let (end, summary) = self.execute(&job, &stop).await;
            heartbeat.abort();
            let end = if lost.load(Ordering::Relaxed) {
                JobEnd::LeaseLost
            } else if self.shutting_down.load(Ordering::Relaxed)
                && !matches!(end, JobEnd::Completed | JobEnd::Failed(_))
            {
                JobEnd::Released
            } else {
                end
            };
            let (final_status, error) = match end {
                JobEnd::Completed => (JobStatus::Completed, None),
                JobEnd::Cancelled => (JobStatus::Cancelled, None),
                JobEnd::Failed(message) => (JobStatus::Failed, Some(message)),
                JobEnd::LeaseLost => {
                    tracing::warn!("lease lost; another worker continues the job");
                    return Ok(());
                }
                JobEnd::Released => {
                    queue::release(&self.db, &job.id, &self.worker_id).await?;
                    tracing::info!("worker stopping: job handed back to the queue");
                    return Ok(());
                }
            };
            queue::finish(
                &self.db,
                &job.id,
                &self.worker_id,
                final_status,
                error.clone(),
                &summary,
            )
            .await?;
            self.progress.jobs_finished.fetch_add(1, Ordering::Relaxed);
            match error {
                Some(e) => tracing::warn!(status = %final_status, error = %e, "sync job finished"),
                None => tracing::info!(
                    status = %final_status,
                    messages = summary.messages_processed,
                    channels_failed = summary.channels_failed,
                    "sync job finished"
                ),
            }
            Ok(())
        }
        .instrument(span)
        .await
    }

    fn spawn_heartbeat(
        &self,
        job_id: String,
        stop: Arc<AtomicBool>,
        lost: Arc<AtomicBool>,
    ) -> tokio::task::JoinHandle<()> {
        let db = self.db.clone();
        let worker = self.worker_id.clone();
        let lease = self.settings.lease;
        let shutting_down = Arc::clone(&self.shutting_down);
        tokio::spawn(async move {
            let every = (lease / 3).max(Duration::from_millis(200));
            loop {
                for _ in 0..10 {
                    tokio::time::sleep(every / 10).await;
                    if shutting_down.load(Ordering::Relaxed) {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                match queue::renew_lease(&db, &job_id, &worker, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        lost.store(true, Ordering::Relaxed);
                        stop.store(true, Ordering::Relaxed);
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
                }
                if let Err(e) = queue::heartbeat_items(&db, &worker).await {
                    tracing::warn!(error = %e, "channel lease renewal failed");
                }
            }
        })
    }

    async fn execute(
        &self,
        job: &sync_jobs::Model,
        stop: &Arc<AtomicBool>,
    ) -> (JobEnd, queue::JobSummary) {
        let mut summary = queue::JobSummary::default();
        match self.execute_inner(job, stop, &mut summary).await {
            Ok(end) => (end, summary),
            Err(e) => (JobEnd::Failed(e.to_string()), summary),
        }
    }

    async fn execute_inner(
        &self,
        job: &sync_jobs::Model,
        stop: &Arc<AtomicBool>,
        summary: &mut queue::JobSummary,
    ) -> Result<JobEnd> {
        let (tenant, platform) = match self.tenant_and_platform(job).await? {
            Ok(ready) => ready,
            Err(refused) => return Ok(JobEnd::Failed(refused)),
        };
        let requests_before = platform.requests_made();
        let targets = match self.discover_targets(job, &tenant, &platform).await? {
            Ok(targets) => targets,
            Err(failed) => return Ok(JobEnd::Failed(failed)),
        };
        if self.settings.attachment_files {
            let queued = crate::files::queue::backfill(&self.db, &job.tenant_id).await?;
            if queued > 0 {
                tracing::info!(queued, "queued the files of earlier synced attachments");
            }
        }
        let order: Vec<String> = targets.iter().map(|t| t.row_id.clone()).collect();
        queue::create_items(&self.db, &job.id, &job.tenant_id, &order).await?;
        let total = i32::try_from(order.len()).unwrap_or(i32::MAX);
        queue::set_channels_total(&self.db, &job.id, total).await?;
        self.progress
            .channels_total
            .store(order.len() as u64, Ordering::Relaxed);

        let targets = targets.into_iter().map(|t| (t.row_id.clone(), t)).collect();
        let ctx = Arc::new(JobContext::new(job, platform, Arc::clone(stop), targets)?);
        self.work_until_no_item_is_open(&ctx).await?;

        summary.channels_total = total;
        self.summarize_items(&ctx, summary).await?;
        summary.reactions_processed = ctx.reactions.load(Ordering::Relaxed) as i64;
        summary.attachments_processed = ctx.attachments.load(Ordering::Relaxed) as i64;
        summary.requests_made = (ctx.platform.requests_made() - requests_before) as i64;

        let unauthorized = ctx.unauthorized.lock().ok().and_then(|g| g.clone());
        if let Some(m) = unauthorized {
            return Ok(JobEnd::Failed(token_refused(&m)));
        }
        if ctx.stop.load(Ordering::Relaxed) {
            return Ok(JobEnd::Cancelled);
        }
        Ok(JobEnd::Completed)
    }

    /// The job's tenant and the platform to sync it from, or why the job cannot run.
    async fn tenant_and_platform(
        &self,
        job: &sync_jobs::Model,
    ) -> Result<Result<(Tenant, Arc<dyn PlatformAdapter>), String>> {
        let gone = || Ok(Err(format!("tenant {} no longer exists", job.tenant_id)));
        let Ok(id) = job.tenant_id.parse::<Uuid>() else {
            return gone();
        };
        let tenant = match tenants::get(&self.db, id).await {
            Ok(tenant) => tenant,
            Err(Error::NotFound { .. }) => return gone(),
            Err(e) => return Err(e),
        };
        if tenant.platform != Platform::Discord {
            return Ok(Err(format!(
                "only Discord tenants can be synced (tenant platform is {})",
                tenant.platform.as_str()
            )));
        }
        let Some(platform) = self.platform.clone() else {
            return Ok(Err(
                "DISCORD_BOT_TOKEN is not set: the sync needs a Discord bot token".into(),
            ));
        };
        Ok(Ok((tenant, platform)))
    }

    /// Discover the tenant's channels, store them (marking the ones that vanished), and
    /// return the channels this job syncs, in discovery order; or why discovery failed.
    async fn discover_targets(
        &self,
        job: &sync_jobs::Model,
        tenant: &Tenant,
        platform: &Arc<dyn PlatformAdapter>,
    ) -> Result<Result<Vec<ChannelTarget>, String>> {
        let discovery = match self
            .with_retries(|| platform.discover(&tenant.platform_id))
            .await
        {
            Ok(d) => d,
            Err(PlatformError::Unauthorized(m)) => return Ok(Err(token_refused(&m))),
            Err(e) => return Ok(Err(format!("channel discovery failed: {e}"))),
        };
        let row_ids = store::reconcile_channels(
            &self.db,
            &job.tenant_id,
            &discovery.channels,
            &discovery.incomplete_parents,
            crate::db::now(),
        )
        .await?;
        let wanted: Option<Vec<String>> = job
            .channel_ids
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        Ok(Ok(discovery
            .channels
            .iter()
            .filter(|c| c.kind.has_messages())
            .filter_map(|c| {
                let row_id = row_ids.get(&c.id)?;
                // A job for some channels names them by platform id or by row id.
                let is_wanted = wanted
                    .as_ref()
                    .is_none_or(|w| w.iter().any(|id| id == &c.id || id == row_id));
                is_wanted.then(|| ChannelTarget {
                    row_id: row_id.clone(),
                    platform_id: c.id.clone(),
                    name: c.name.clone(),
                    last_message_id: Some(c.last_message_id),
                })
            })
            .collect()))
    }

    /// Work on the job's items until none is pending or in progress (other workers may hold
    /// some: wait for them, or for their leases to expire), or the job stops.
    async fn work_until_no_item_is_open(&self, ctx: &Arc<JobContext>) -> Result<()> {
        loop {
            self.work_items(ctx).await?;
            if ctx.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let mut open = false;
            for item in queue::items(&self.db, &ctx.job_id).await? {
                open |= ChannelJobStatus::from_stored(&item.status)?.is_open();
            }
            if !open {
                return Ok(());
            }
            tokio::time::sleep(self.settings.poll_interval).await;
            if queue::should_stop(&self.db, &ctx.job_id).await? {
                ctx.stop.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Count the job's finished items into `summary` (messages, completed and failed
    /// channels, one error record per failed channel); a channel refused with 401 marks the
    /// job as unauthorized.
    async fn summarize_items(
        &self,
        ctx: &JobContext,
        summary: &mut queue::JobSummary,
    ) -> Result<()> {
        let items = queue::items(&self.db, &ctx.job_id).await?;
        let names: HashMap<String, (String, String)> =
            repo::channels::for_tenant(&self.db, uuid_of(&ctx.tenant_id))
                .await?
                .into_iter()
                .map(|c| (c.id, (c.platform_channel_id, c.name)))
                .collect();
        for item in &items {
            summary.messages_processed += i64::from(item.messages_processed.unwrap_or(0));
            match ChannelJobStatus::from_stored(&item.status)? {
                ChannelJobStatus::Completed => summary.channels_completed += 1,
                ChannelJobStatus::Failed => {
                    summary.channels_failed += 1;
                    let (platform_id, name) =
                        names.get(&item.channel_id).cloned().unwrap_or_default();
                    let details = item.error_details.clone().unwrap_or_default();
                    if details.get("status").and_then(serde_json::Value::as_u64) == Some(401)
                        && let Ok(mut g) = ctx.unauthorized.lock()
                        && g.is_none()
                    {
                        *g = Some("a worker was refused with 401".into());
                    }
                    summary.errors.push(serde_json::json!({
                        "channelId": platform_id,
                        "channelName": name,
                        "error": details.get("error").cloned().unwrap_or(serde_json::Value::Null),
                        "status": details.get("status").cloned().unwrap_or(serde_json::Value::Null),
                        "timestamp": item.completed_at.map(|t| t.to_rfc3339()),
                    }));
                }
                ChannelJobStatus::Pending | ChannelJobStatus::InProgress => {}
            }
        }
        Ok(())
    }

    /// Claim and sync channel items of the job with `concurrency` slots until none is left.
    ///
    /// Each slot is a task of its own, so that the slots' CPU work (decoding the platform's
    /// pages, pseudonymising, building rows) runs on every thread of the runtime instead of
    /// taking turns on the one that polls the job.
    async fn work_items(&self, ctx: &Arc<JobContext>) -> Result<()> {
        let (page_writer, writer_task) = PageWriter::spawn(
            crate::db::write_connection(&self.db),
            self.worker_id.clone(),
            self.settings.attachment_files,
        );
        let mut slots = tokio::task::JoinSet::new();
        for _ in 0..self.settings.concurrency {
            let engine = self.clone();
            let ctx = Arc::clone(ctx);
            let writer = page_writer.clone();
            slots.spawn(async move { engine.slot(&ctx, &writer).await }.in_current_span());
        }
        drop(page_writer);
        let mut result = Ok(());
        while let Some(joined) = slots.join_next().await {
            let slot = match joined {
                Ok(slot) => slot,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => Err(crate::Error::Database(sea_orm::DbErr::Custom(format!(
                    "a channel slot of the sync ended early: {e}"
                )))),
            };
            if result.is_ok() {
                result = slot;
            }
        }
        // Every slot waited for its last page: the writer has nothing left; let it end.
        let _ = writer_task.await;
        result
    }

    /// One channel slot: claim an item, sync its channel, until none is left or the job stops.
    async fn slot(&self, ctx: &JobContext, writer: &PageWriter) -> Result<()> {
        loop {
            if ctx.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let Some(item) =
                queue::claim_item(&self.db, &ctx.job_id, &self.worker_id, self.settings.lease)
                    .await?
            else {
                return Ok(());
            };
            let target = match ctx.targets.get(&item.channel_id) {
                Some(t) => Some(t.clone()),
                None => self.load_target(&item.channel_id).await?,
            };
            let Some(target) = target else {
                let error = serde_json::json!({"error": "channel row missing", "status": null});
                queue::finish_item(
                    &self.db,
                    &item.id,
                    &self.worker_id,
                    ChannelJobStatus::Failed,
                    0,
                    Some(error),
                )
                .await?;
                continue;
            };
            self.process_item(ctx, writer, &item.id, &target).await?;
        }
    }

    async fn process_item(
        &self,
        ctx: &JobContext,
        writer: &PageWriter,
        item_id: &str,
        target: &ChannelTarget,
    ) -> Result<()> {
        let end = self.sync_channel(ctx, writer, item_id, target).await;
        let (status, written, error) = match &end {
            ChannelEnd::Completed(n) => (ChannelJobStatus::Completed, *n, None),
            ChannelEnd::Stopped(n) => (ChannelJobStatus::Pending, *n, None),
            ChannelEnd::Failed(n, e) => {
                let mut details = e.details();
                details["channelName"] = target.name.clone().into();
                (ChannelJobStatus::Failed, *n, Some(details))
            }
            ChannelEnd::Unauthorized(m) => (
                ChannelJobStatus::Failed,
                0,
                Some(serde_json::json!({"error": format!("401 Unauthorized: {m}"), "status": 401})),
            ),
        };
        let written = i32::try_from(written).unwrap_or(i32::MAX);
        queue::finish_item(&self.db, item_id, &self.worker_id, status, written, error).await?;
        match end {
            ChannelEnd::Completed(_) => {
                self.progress.channels_done.fetch_add(1, Ordering::Relaxed);
            }
            ChannelEnd::Stopped(_) => {}
            ChannelEnd::Failed(..) => {
                self.progress.channels_done.fetch_add(1, Ordering::Relaxed);
                self.progress
                    .channels_failed
                    .fetch_add(1, Ordering::Relaxed);
            }
            ChannelEnd::Unauthorized(m) => {
                // The token is refused for every channel: stop the job.
                if let Ok(mut g) = ctx.unauthorized.lock() {
                    *g = Some(m);
                }
                ctx.stop.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    async fn load_target(&self, channel_row_id: &str) -> Result<Option<ChannelTarget>> {
        Ok(repo::channels::get(&self.db, channel_row_id)
            .await?
            .map(|c| ChannelTarget {
                row_id: c.id,
                platform_id: c.platform_channel_id,
                name: c.name,
                last_message_id: None,
            }))
    }

    /// Work on channel items of a job another worker runs. Returns whether any was done.
    async fn help(&self, job_id: &str) -> Result<bool> {
        let Some(platform) = self.platform.clone() else {
            return Ok(false);
        };
        let job = queue::get(&self.db, job_id).await?;
        if JobStatus::from_stored(&job.status)? != JobStatus::Running {
            return Ok(false);
        }
        let span =
            tracing::info_span!("sync_job_help", tenant_id = %job.tenant_id, job_id = %job.id);
        async {
            let stop = Arc::new(AtomicBool::new(false));
            let ctx = Arc::new(JobContext::new(&job, platform, stop, HashMap::new())?);
            let before = self.progress.channels_done.load(Ordering::Relaxed);
            let requests_before = ctx.platform.requests_made();
            let heartbeat = {
                let db = self.db.clone();
                let worker = self.worker_id.clone();
                let every = (self.settings.lease / 3).max(Duration::from_millis(200));
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(every).await;
                        if let Err(e) = queue::heartbeat_items(&db, &worker).await {
                            tracing::warn!(error = %e, "channel lease renewal failed");
                        }
                    }
                })
            };
            let result = self.work_items(&ctx).await;
            heartbeat.abort();
            result?;
            queue::add_counts(
                &self.db,
                &job.id,
                ctx.reactions.load(Ordering::Relaxed) as i64,
                ctx.attachments.load(Ordering::Relaxed) as i64,
                (ctx.platform.requests_made() - requests_before) as i64,
            )
            .await?;
            Ok(self.progress.channels_done.load(Ordering::Relaxed) > before)
        }
        .instrument(span)
        .await
    }
}
