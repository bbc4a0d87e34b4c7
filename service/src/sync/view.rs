//! What the API and the CLI show of a sync job: status, counts, per-channel progress, ETA and
//! errors (camelCase JSON).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{channel_sync_jobs, sync_jobs};
use sea_orm::ConnectionTrait;

use crate::error::Result;
use crate::sync::queue::{self, ChannelJobStatus, JobStatus, SyncType, Trigger};

/// One channel of a job.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    /// Channel row id.
    pub channel_id: String,
    /// Discord channel id.
    pub platform_channel_id: String,
    /// Channel name.
    pub name: String,
    /// pending, in_progress, completed or failed.
    pub status: ChannelJobStatus,
    /// Messages written in this job.
    pub messages_processed: i64,
    /// Worker that holds or held the channel.
    pub worker_id: Option<String>,
    /// Why it failed.
    pub error: Option<serde_json::Value>,
}

/// Progress counts of a job.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressView {
    /// Channels with messages covered by the job.
    pub channels_total: i64,
    /// Channels completed.
    pub channels_completed: i64,
    /// Channels failed.
    pub channels_failed: i64,
    /// Channels being synced now.
    pub channels_in_progress: i64,
    /// Messages written so far.
    pub messages_processed: i64,
    /// Average rate since the job started.
    pub messages_per_second: f64,
    /// Estimated seconds until the job ends (running jobs with some channels done).
    pub eta_seconds: Option<i64>,
}

/// A sync job as shown to clients.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    /// Job id.
    pub id: String,
    /// Same as `id` (the original's field name).
    pub job_id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// queued, running, completed, failed or cancelled.
    pub status: JobStatus,
    /// full or incremental.
    pub sync_type: SyncType,
    /// api, tenant_created, schedule, cli or retry.
    pub trigger: Trigger,
    /// Whether a cancel was requested.
    pub cancel_requested: bool,
    /// Worker holding the job.
    pub worker_id: Option<String>,
    /// Times.
    pub created_at: DateTime<Utc>,
    /// When a worker first took it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub completed_at: Option<DateTime<Utc>>,
    /// Counts.
    pub progress: ProgressView,
    /// Reaction rows written.
    pub reactions_processed: i64,
    /// Attachment rows written.
    pub attachments_processed: i64,
    /// Discord requests made.
    pub requests_made: i64,
    /// Why the whole job failed.
    pub error: Option<String>,
    /// Channels that failed, with the reason.
    pub errors: Vec<serde_json::Value>,
    /// Per-channel state.
    pub channels: Vec<ChannelView>,
    /// Job this one retries.
    pub retry_of: Option<String>,
}

impl JobView {
    /// Whether the job has ended.
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}

/// Build the view of a job (reads its channel items and channel names).
pub async fn job_view<C: ConnectionTrait>(db: &C, job: sync_jobs::Model) -> Result<JobView> {
    let mut views = job_views(db, vec![job]).await?;
    Ok(views.pop().expect("one view per job"))
}

/// Build the views of `jobs` (a page of them), in their order: the channel items of all of
/// them in one query, and their channels' names in one more (per 500 channels).
pub async fn job_views<C: ConnectionTrait>(
    db: &C,
    jobs: Vec<sync_jobs::Model>,
) -> Result<Vec<JobView>> {
    let job_ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let items = queue::items_of_jobs(db, &job_ids).await?;
    let names = channel_names(db, &items).await?;
    let mut items_by_job: HashMap<String, Vec<channel_sync_jobs::Model>> = HashMap::new();
    for item in items {
        items_by_job
            .entry(item.parent_job_id.clone())
            .or_default()
            .push(item);
    }
    jobs.into_iter()
        .map(|job| {
            let items = items_by_job.remove(&job.id).unwrap_or_default();
            view_of(job, &items, &names)
        })
        .collect()
}

/// The view of `job` with its `items` and the names of their channels.
fn view_of(
    job: sync_jobs::Model,
    items: &[channel_sync_jobs::Model],
    names: &HashMap<String, (String, String)>,
) -> Result<JobView> {
    let status = JobStatus::from_stored(&job.status)?;
    let item_states = items
        .iter()
        .map(|i| ChannelJobStatus::from_stored(&i.status))
        .collect::<Result<Vec<_>>>()?;
    let progress = progress_view(&job, status, items, &item_states);
    let channels = items
        .iter()
        .zip(item_states)
        .map(|(i, status)| {
            let (platform_id, name) = names.get(&i.channel_id).cloned().unwrap_or_default();
            ChannelView {
                channel_id: i.channel_id.clone(),
                platform_channel_id: platform_id,
                name,
                status,
                messages_processed: i64::from(i.messages_processed.unwrap_or(0)),
                worker_id: i.worker_id.clone(),
                error: i.error_details.clone(),
            }
        })
        .collect();
    let errors = job
        .errors
        .as_ref()
        .and_then(|e| e.as_array().cloned())
        .unwrap_or_default();
    Ok(JobView {
        id: job.id.clone(),
        job_id: job.id,
        tenant_id: job.tenant_id,
        status,
        sync_type: SyncType::from_stored(&job.sync_type)?,
        trigger: Trigger::from_stored(&job.triggered_by)?,
        cancel_requested: job.cancel_requested,
        worker_id: job.worker_id,
        created_at: job.created_at,
        started_at: job.started_at,
        completed_at: job.finished_at,
        progress,
        reactions_processed: job.reactions_processed,
        attachments_processed: job.attachments_processed,
        requests_made: job.requests_made,
        error: job.error,
        errors,
        channels,
        retry_of: job.retry_of,
    })
}

/// The counts of a job in `status` with `items` (in `states`): channels by state, messages
/// (the job's final count once it ended), rate since it started and, while it runs, the time
/// left at the rate channels finished so far.
fn progress_view(
    job: &sync_jobs::Model,
    status: JobStatus,
    items: &[channel_sync_jobs::Model],
    states: &[ChannelJobStatus],
) -> ProgressView {
    let count = |s: ChannelJobStatus| states.iter().filter(|i| **i == s).count() as i64;
    let messages: i64 = items
        .iter()
        .map(|i| i64::from(i.messages_processed.unwrap_or(0)))
        .sum();
    let messages = if status.is_finished() {
        job.messages_processed.max(messages)
    } else {
        messages
    };
    let end = job.finished_at.unwrap_or_else(Utc::now);
    let elapsed = job
        .started_at
        .map(|s| (end - s).num_milliseconds().max(1) as f64 / 1000.0)
        .unwrap_or(0.0);
    let done = count(ChannelJobStatus::Completed) + count(ChannelJobStatus::Failed);
    let total = (items.len() as i64).max(i64::from(job.channels_total));
    let eta = if status == JobStatus::Running && done > 0 && elapsed > 0.0 {
        Some(((elapsed / done as f64) * (total - done).max(0) as f64).round() as i64)
    } else {
        None
    };
    ProgressView {
        channels_total: total,
        channels_completed: count(ChannelJobStatus::Completed),
        channels_failed: count(ChannelJobStatus::Failed),
        channels_in_progress: count(ChannelJobStatus::InProgress),
        messages_processed: messages,
        messages_per_second: if elapsed > 0.0 {
            (messages as f64 / elapsed * 10.0).round() / 10.0
        } else {
            0.0
        },
        eta_seconds: eta,
    }
}

/// (platform id, name) of the channels of `items`, by channel row id.
async fn channel_names<C: ConnectionTrait>(
    db: &C,
    items: &[channel_sync_jobs::Model],
) -> Result<HashMap<String, (String, String)>> {
    let ids: Vec<&str> = items.iter().map(|i| i.channel_id.as_str()).collect();
    Ok(crate::repo::channels::by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id, (c.platform_channel_id, c.name)))
        .collect())
}
