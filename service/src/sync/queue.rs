//! Job queue storage: all SQL of the `sync_jobs` queue and of the per-channel work items in
//! `channel_sync_jobs`.
//!
//! Claims are a conditional `UPDATE ... WHERE id = ? AND <claimable>` whose `rows_affected()`
//! must be 1: exactly one worker wins, on SQLite, MariaDB/MySQL and TiDB alike (no SKIP
//! LOCKED). A claim holds a lease; a worker that dies stops renewing it and, once it expired,
//! any other worker may claim the job (or channel item) and resume from the cursors.
//! `sync_jobs.active_tenant_id` (unique, NULL when finished) keeps one queued-or-running job
//! per tenant.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use entity::{channel_sync_jobs, sync_jobs};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
    sea_query::{Expr, ExprTrait, Func, OnConflict},
};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Job states (`sync_jobs.status`).
pub mod status {
    /// Waiting for a worker.
    pub const QUEUED: &str = "queued";
    /// Claimed by a worker (which holds a lease).
    pub const RUNNING: &str = "running";
    /// Finished; channels that failed are listed in `errors`.
    pub const COMPLETED: &str = "completed";
    /// Stopped by an error that concerns the whole job (e.g. the token was refused).
    pub const FAILED: &str = "failed";
    /// Cancelled on request.
    pub const CANCELLED: &str = "cancelled";
}

/// Channel item states (`channel_sync_jobs.status`, the original's values).
pub mod item_status {
    /// Not yet claimed.
    pub const PENDING: &str = "pending";
    /// Claimed by a worker.
    pub const IN_PROGRESS: &str = "in_progress";
    /// Done.
    pub const COMPLETED: &str = "completed";
    /// Failed (403, repeated errors); `error_details` says why.
    pub const FAILED: &str = "failed";
}

/// `full` re-reads every channel from its start; `incremental` continues from the cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncType {
    /// Re-read everything.
    Full,
    /// From the cursors (the default).
    Incremental,
}

impl SyncType {
    /// Stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncType::Full => "full",
            SyncType::Incremental => "incremental",
        }
    }

    /// Parse a stored or client value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "full" => Some(SyncType::Full),
            "incremental" => Some(SyncType::Incremental),
            _ => None,
        }
    }
}

/// Who asked for a job (`sync_jobs.triggered_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An HTTP API call.
    Api,
    /// Creation of a Discord tenant.
    TenantCreated,
    /// The periodic scheduler.
    Schedule,
    /// `verta sync start`.
    Cli,
    /// A retry of a failed job.
    Retry,
}

impl Trigger {
    /// Stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Api => "api",
            Trigger::TenantCreated => "tenant_created",
            Trigger::Schedule => "schedule",
            Trigger::Cli => "cli",
            Trigger::Retry => "retry",
        }
    }
}

/// What to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Tenant to sync.
    pub tenant_id: String,
    /// Full or incremental.
    pub sync_type: SyncType,
    /// Who asked.
    pub trigger: Trigger,
    /// Only these platform channel ids (all when `None`).
    pub channel_ids: Option<Vec<String>>,
    /// The failed job this one retries.
    pub retry_of: Option<String>,
}

/// Current time at the storage precision (whole seconds, like MySQL `timestamp`).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn lease_until(lease: Duration) -> DateTime<Utc> {
    now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60))
}

/// Enqueue a job, or return the tenant's queued-or-running job if there is one.
/// Returns the job and whether it was created now.
pub async fn enqueue<C: ConnectionTrait>(db: &C, new: NewJob) -> Result<(sync_jobs::Model, bool)> {
    for _ in 0..3 {
        if let Some(existing) = find_active(db, &new.tenant_id).await? {
            return Ok((existing, false));
        }
        // Time-ordered (v7), so jobs created within one second still sort by creation.
        let id = Uuid::now_v7().to_string();
        let t = now();
        let row = sync_jobs::ActiveModel {
            id: Set(id.clone()),
            tenant_id: Set(new.tenant_id.clone()),
            active_tenant_id: Set(Some(new.tenant_id.clone())),
            sync_type: Set(new.sync_type.as_str().to_owned()),
            triggered_by: Set(new.trigger.as_str().to_owned()),
            status: Set(status::QUEUED.to_owned()),
            channel_ids: Set(new.channel_ids.as_ref().map(|ids| serde_json::json!(ids))),
            worker_id: Set(None),
            lease_expires_at: Set(None),
            attempts: Set(0),
            cancel_requested: Set(false),
            channels_total: Set(0),
            channels_completed: Set(0),
            channels_failed: Set(0),
            messages_processed: Set(0),
            reactions_processed: Set(0),
            attachments_processed: Set(0),
            requests_made: Set(0),
            error: Set(None),
            errors: Set(None),
            retry_of: Set(new.retry_of.clone()),
            created_at: Set(t),
            started_at: Set(None),
            finished_at: Set(None),
            updated_at: Set(t),
        };
        match sync_jobs::Entity::insert(row)
            .exec_without_returning(db)
            .await
        {
            Ok(_) => return Ok((get(db, &id).await?, true)),
            Err(err) => match crate::db::classify(&err) {
                // Another trigger won the race: loop to return its job.
                Some(v) if v.kind == crate::db::ViolationKind::Unique => continue,
                _ => return Err(err.into()),
            },
        }
    }
    Err(Error::BusinessRule(
        "could not enqueue the sync job: the tenant's active job kept changing".into(),
    ))
}

/// The tenant's queued or running job.
pub async fn find_active<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
) -> Result<Option<sync_jobs::Model>> {
    Ok(sync_jobs::Entity::find()
        .filter(sync_jobs::Column::ActiveTenantId.eq(tenant_id))
        .one(db)
        .await?)
}

/// A job by id.
pub async fn get<C: ConnectionTrait>(db: &C, job_id: &str) -> Result<sync_jobs::Model> {
    sync_jobs::Entity::find_by_id(job_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("sync job", job_id))
}

/// The tenant's newest jobs, newest first.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    limit: u64,
) -> Result<Vec<sync_jobs::Model>> {
    Ok(sync_jobs::Entity::find()
        .filter(sync_jobs::Column::TenantId.eq(tenant_id))
        .order_by_desc(sync_jobs::Column::CreatedAt)
        .order_by_desc(sync_jobs::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

fn claimable_job(t: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(sync_jobs::Column::Status.eq(status::QUEUED))
        .add(
            Condition::all()
                .add(sync_jobs::Column::Status.eq(status::RUNNING))
                .add(sync_jobs::Column::LeaseExpiresAt.lt(t)),
        )
}

/// Claim the oldest claimable job (queued, or running with an expired lease) for `worker_id`.
pub async fn claim_next<C: ConnectionTrait>(
    db: &C,
    worker_id: &str,
    lease: Duration,
) -> Result<Option<sync_jobs::Model>> {
    let t = now();
    let candidates: Vec<String> = sync_jobs::Entity::find()
        .select_only()
        .column(sync_jobs::Column::Id)
        .filter(claimable_job(t))
        .order_by_asc(sync_jobs::Column::CreatedAt)
        .limit(8)
        .into_tuple()
        .all(db)
        .await?;
    for id in candidates {
        if let Some(job) = claim_job(db, &id, worker_id, lease).await? {
            return Ok(Some(job));
        }
    }
    Ok(None)
}

/// Claim one specific job (queued, or running with an expired lease) for `worker_id`.
pub async fn claim_job<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    worker_id: &str,
    lease: Duration,
) -> Result<Option<sync_jobs::Model>> {
    let t = now();
    let claimed = sync_jobs::Entity::update_many()
        .col_expr(sync_jobs::Column::Status, Expr::value(status::RUNNING))
        .col_expr(sync_jobs::Column::WorkerId, Expr::value(worker_id))
        .col_expr(
            sync_jobs::Column::LeaseExpiresAt,
            Expr::value(lease_until(lease)),
        )
        .col_expr(
            sync_jobs::Column::Attempts,
            Expr::col(sync_jobs::Column::Attempts).add(1),
        )
        .col_expr(
            sync_jobs::Column::StartedAt,
            Func::coalesce([Expr::col(sync_jobs::Column::StartedAt), Expr::val(t)]).into(),
        )
        .col_expr(sync_jobs::Column::UpdatedAt, Expr::value(t))
        .filter(sync_jobs::Column::Id.eq(job_id))
        .filter(claimable_job(t))
        .exec(db)
        .await?
        .rows_affected;
    if claimed == 1 {
        Ok(Some(get(db, job_id).await?))
    } else {
        Ok(None)
    }
}

/// Extend the lease of a job this worker holds; `false` when the lease was lost (another
/// worker took the job over, or it was finished).
pub async fn renew_lease<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    worker_id: &str,
    lease: Duration,
) -> Result<bool> {
    let n = sync_jobs::Entity::update_many()
        .col_expr(
            sync_jobs::Column::LeaseExpiresAt,
            Expr::value(lease_until(lease)),
        )
        .col_expr(sync_jobs::Column::UpdatedAt, Expr::value(now()))
        .filter(sync_jobs::Column::Id.eq(job_id))
        .filter(sync_jobs::Column::WorkerId.eq(worker_id))
        .filter(sync_jobs::Column::Status.eq(status::RUNNING))
        .exec(db)
        .await?
        .rows_affected;
    Ok(n == 1)
}

/// Hand a running job held by `worker_id` back to the queue (the worker is stopping); the
/// next worker resumes it from the cursors.
pub async fn release<C: ConnectionTrait>(db: &C, job_id: &str, worker_id: &str) -> Result<()> {
    sync_jobs::Entity::update_many()
        .col_expr(sync_jobs::Column::Status, Expr::value(status::QUEUED))
        .col_expr(
            sync_jobs::Column::WorkerId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            sync_jobs::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(sync_jobs::Column::UpdatedAt, Expr::value(now()))
        .filter(sync_jobs::Column::Id.eq(job_id))
        .filter(sync_jobs::Column::WorkerId.eq(worker_id))
        .filter(sync_jobs::Column::Status.eq(status::RUNNING))
        .exec(db)
        .await?;
    Ok(())
}

/// Final figures of a job.
#[derive(Debug, Clone, Default)]
pub struct JobSummary {
    /// Channels with messages that the job covered.
    pub channels_total: i32,
    /// Channels finished.
    pub channels_completed: i32,
    /// Channels that failed.
    pub channels_failed: i32,
    /// Messages written (new or updated).
    pub messages_processed: i64,
    /// Reaction rows written.
    pub reactions_processed: i64,
    /// Attachment rows written.
    pub attachments_processed: i64,
    /// Platform requests made.
    pub requests_made: i64,
    /// Per-channel errors (`[{channelId, channelName, error, status, timestamp}]`).
    pub errors: Vec<serde_json::Value>,
}

/// Finish a job held by `worker_id` with `final_status` (completed, failed or cancelled).
/// Returns `false` if the worker no longer held it.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    worker_id: &str,
    final_status: &str,
    error: Option<String>,
    summary: &JobSummary,
) -> Result<bool> {
    let t = now();
    let n = sync_jobs::Entity::update_many()
        .col_expr(sync_jobs::Column::Status, Expr::value(final_status))
        .col_expr(
            sync_jobs::Column::ActiveTenantId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            sync_jobs::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(sync_jobs::Column::FinishedAt, Expr::value(t))
        .col_expr(sync_jobs::Column::UpdatedAt, Expr::value(t))
        .col_expr(sync_jobs::Column::Error, Expr::value(error))
        .col_expr(
            sync_jobs::Column::ChannelsTotal,
            Expr::value(summary.channels_total),
        )
        .col_expr(
            sync_jobs::Column::ChannelsCompleted,
            Expr::value(summary.channels_completed),
        )
        .col_expr(
            sync_jobs::Column::ChannelsFailed,
            Expr::value(summary.channels_failed),
        )
        .col_expr(
            sync_jobs::Column::MessagesProcessed,
            Expr::value(summary.messages_processed),
        )
        .col_expr(
            sync_jobs::Column::ReactionsProcessed,
            Expr::col(sync_jobs::Column::ReactionsProcessed).add(summary.reactions_processed),
        )
        .col_expr(
            sync_jobs::Column::AttachmentsProcessed,
            Expr::col(sync_jobs::Column::AttachmentsProcessed).add(summary.attachments_processed),
        )
        .col_expr(
            sync_jobs::Column::RequestsMade,
            Expr::col(sync_jobs::Column::RequestsMade).add(summary.requests_made),
        )
        .col_expr(
            sync_jobs::Column::Errors,
            Expr::value(serde_json::Value::Array(summary.errors.clone())),
        )
        .filter(sync_jobs::Column::Id.eq(job_id))
        .filter(sync_jobs::Column::WorkerId.eq(worker_id))
        .filter(sync_jobs::Column::Status.eq(status::RUNNING))
        .exec(db)
        .await?
        .rows_affected;
    Ok(n == 1)
}

/// Add counts a helper worker produced for a job it does not own.
pub async fn add_counts<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    reactions: i64,
    attachments: i64,
    requests: i64,
) -> Result<()> {
    sync_jobs::Entity::update_many()
        .col_expr(
            sync_jobs::Column::ReactionsProcessed,
            Expr::col(sync_jobs::Column::ReactionsProcessed).add(reactions),
        )
        .col_expr(
            sync_jobs::Column::AttachmentsProcessed,
            Expr::col(sync_jobs::Column::AttachmentsProcessed).add(attachments),
        )
        .col_expr(
            sync_jobs::Column::RequestsMade,
            Expr::col(sync_jobs::Column::RequestsMade).add(requests),
        )
        .filter(sync_jobs::Column::Id.eq(job_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Record the number of channels a running job covers.
pub async fn set_channels_total<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    total: i32,
) -> Result<()> {
    sync_jobs::Entity::update_many()
        .col_expr(sync_jobs::Column::ChannelsTotal, Expr::value(total))
        .filter(sync_jobs::Column::Id.eq(job_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ask a job to stop: a queued job is cancelled at once, a running one at its next page.
pub async fn request_cancel<C: ConnectionTrait>(db: &C, job_id: &str) -> Result<sync_jobs::Model> {
    let job = get(db, job_id).await?;
    let t = now();
    match job.status.as_str() {
        status::QUEUED => {
            sync_jobs::Entity::update_many()
                .col_expr(sync_jobs::Column::Status, Expr::value(status::CANCELLED))
                .col_expr(sync_jobs::Column::CancelRequested, Expr::value(true))
                .col_expr(
                    sync_jobs::Column::ActiveTenantId,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(sync_jobs::Column::FinishedAt, Expr::value(t))
                .col_expr(sync_jobs::Column::UpdatedAt, Expr::value(t))
                .filter(sync_jobs::Column::Id.eq(job_id))
                .filter(sync_jobs::Column::Status.eq(status::QUEUED))
                .exec(db)
                .await?;
        }
        status::RUNNING => {
            sync_jobs::Entity::update_many()
                .col_expr(sync_jobs::Column::CancelRequested, Expr::value(true))
                .col_expr(sync_jobs::Column::UpdatedAt, Expr::value(t))
                .filter(sync_jobs::Column::Id.eq(job_id))
                .exec(db)
                .await?;
        }
        other => {
            return Err(Error::BusinessRule(format!(
                "Cannot cancel job in {other} state"
            )));
        }
    }
    get(db, job_id).await
}

/// Whether a cancel was requested for the job (or it is no longer running).
pub async fn should_stop<C: ConnectionTrait>(db: &C, job_id: &str) -> Result<bool> {
    let row: Option<(bool, String)> = sync_jobs::Entity::find_by_id(job_id.to_owned())
        .select_only()
        .column(sync_jobs::Column::CancelRequested)
        .column(sync_jobs::Column::Status)
        .into_tuple()
        .one(db)
        .await?;
    Ok(match row {
        Some((cancel, st)) => cancel || st != status::RUNNING,
        None => true,
    })
}

/// Enqueue a copy of a failed (or cancelled) job.
pub async fn retry<C: ConnectionTrait>(db: &C, job_id: &str) -> Result<(sync_jobs::Model, bool)> {
    let job = get(db, job_id).await?;
    if job.status != status::FAILED && job.status != status::CANCELLED {
        return Err(Error::BusinessRule(format!(
            "Cannot retry job in {} state",
            job.status
        )));
    }
    let channel_ids = job
        .channel_ids
        .as_ref()
        .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok());
    enqueue(
        db,
        NewJob {
            tenant_id: job.tenant_id.clone(),
            sync_type: SyncType::parse(&job.sync_type).unwrap_or(SyncType::Incremental),
            trigger: Trigger::Retry,
            channel_ids,
            retry_of: Some(job.id.clone()),
        },
    )
    .await
}

/// Running jobs that have channel items another worker could take (pending, or in progress
/// with an expired lease), oldest first.
pub async fn jobs_needing_help<C: ConnectionTrait>(db: &C, lease: Duration) -> Result<Vec<String>> {
    let cutoff = now() - chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let ids: Vec<String> = channel_sync_jobs::Entity::find()
        .select_only()
        .column(channel_sync_jobs::Column::ParentJobId)
        .filter(claimable_item(cutoff))
        .distinct()
        .limit(8)
        .into_tuple()
        .all(db)
        .await?;
    let mut running = Vec::new();
    for id in ids {
        if let Ok(job) = get(db, &id).await
            && job.status == status::RUNNING
            && !job.cancel_requested
        {
            running.push(id);
        }
    }
    Ok(running)
}

/// Deterministic id of a job's work item for one channel, so re-creating items is idempotent.
pub fn item_id(job_id: &str, channel_id: &str) -> String {
    crate::repo::ids::channel_sync_job(job_id, crate::sync::store::uuid_of(channel_id)).to_string()
}

/// Create the pending channel items of a job (existing ones are left as they are).
pub async fn create_items<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    tenant_id: &str,
    channel_ids: &[String],
) -> Result<()> {
    let t = now();
    for chunk in channel_ids.chunks(500) {
        let rows = chunk
            .iter()
            .map(|channel_id| channel_sync_jobs::ActiveModel {
                id: Set(item_id(job_id, channel_id)),
                tenant_id: Set(tenant_id.to_owned()),
                channel_id: Set(channel_id.clone()),
                parent_job_id: Set(job_id.to_owned()),
                worker_id: Set(None),
                status: Set(item_status::PENDING.to_owned()),
                started_at: Set(None),
                completed_at: Set(None),
                messages_processed: Set(Some(0)),
                error_details: Set(None),
                created_at: Set(t),
                updated_at: Set(t),
            });
        channel_sync_jobs::Entity::insert_many(rows)
            .on_conflict(
                // A no-op update: MySQL has no `DO NOTHING` (sea-query renders invalid SQL).
                OnConflict::column(channel_sync_jobs::Column::Id)
                    .update_column(channel_sync_jobs::Column::Id)
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn claimable_item(cutoff: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(channel_sync_jobs::Column::Status.eq(item_status::PENDING))
        .add(
            Condition::all()
                .add(channel_sync_jobs::Column::Status.eq(item_status::IN_PROGRESS))
                .add(channel_sync_jobs::Column::UpdatedAt.lt(cutoff)),
        )
}

/// Claim one channel item of `job_id` for `worker_id`: a pending one, or one whose worker
/// stopped renewing it for longer than `lease`.
pub async fn claim_item<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    worker_id: &str,
    lease: Duration,
) -> Result<Option<channel_sync_jobs::Model>> {
    let t = now();
    let cutoff = t - chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let candidates: Vec<String> = channel_sync_jobs::Entity::find()
        .select_only()
        .column(channel_sync_jobs::Column::Id)
        .filter(channel_sync_jobs::Column::ParentJobId.eq(job_id))
        .filter(claimable_item(cutoff))
        .order_by_asc(channel_sync_jobs::Column::CreatedAt)
        .order_by_asc(channel_sync_jobs::Column::Id)
        .limit(16)
        .into_tuple()
        .all(db)
        .await?;
    for id in candidates {
        let n = channel_sync_jobs::Entity::update_many()
            .col_expr(
                channel_sync_jobs::Column::Status,
                Expr::value(item_status::IN_PROGRESS),
            )
            .col_expr(channel_sync_jobs::Column::WorkerId, Expr::value(worker_id))
            .col_expr(channel_sync_jobs::Column::StartedAt, Expr::value(t))
            .col_expr(channel_sync_jobs::Column::UpdatedAt, Expr::value(t))
            .filter(channel_sync_jobs::Column::Id.eq(id.as_str()))
            .filter(claimable_item(cutoff))
            .exec(db)
            .await?
            .rows_affected;
        if n == 1 {
            return Ok(channel_sync_jobs::Entity::find_by_id(id).one(db).await?);
        }
    }
    Ok(None)
}

/// Renew the leases of every channel item `worker_id` is working on.
pub async fn heartbeat_items<C: ConnectionTrait>(db: &C, worker_id: &str) -> Result<()> {
    channel_sync_jobs::Entity::update_many()
        .col_expr(channel_sync_jobs::Column::UpdatedAt, Expr::value(now()))
        .filter(channel_sync_jobs::Column::WorkerId.eq(worker_id))
        .filter(channel_sync_jobs::Column::Status.eq(item_status::IN_PROGRESS))
        .exec(db)
        .await?;
    Ok(())
}

/// The statement that records progress of an item (run in the page transaction), built for
/// `backend`.
pub(crate) fn item_progress(
    backend: DbBackend,
    item_id: &str,
    worker_id: &str,
    messages_processed: i32,
) -> Statement {
    channel_sync_jobs::Entity::update_many()
        .col_expr(
            channel_sync_jobs::Column::MessagesProcessed,
            Expr::value(messages_processed),
        )
        .col_expr(channel_sync_jobs::Column::UpdatedAt, Expr::value(now()))
        .filter(channel_sync_jobs::Column::Id.eq(item_id))
        .filter(channel_sync_jobs::Column::WorkerId.eq(worker_id))
        .build(backend)
}

/// Finish an item as completed (`error` None) or failed, or hand it back as pending
/// (`release`: the job was cancelled or the worker is stopping).
pub async fn finish_item<C: ConnectionTrait>(
    db: &C,
    item_id: &str,
    worker_id: &str,
    final_status: &str,
    messages_processed: i32,
    error: Option<serde_json::Value>,
) -> Result<()> {
    let t = now();
    let mut update = channel_sync_jobs::Entity::update_many()
        .col_expr(channel_sync_jobs::Column::Status, Expr::value(final_status))
        .col_expr(
            channel_sync_jobs::Column::MessagesProcessed,
            Expr::value(messages_processed),
        )
        .col_expr(channel_sync_jobs::Column::ErrorDetails, Expr::value(error))
        .col_expr(channel_sync_jobs::Column::UpdatedAt, Expr::value(t));
    if final_status == item_status::PENDING {
        update = update.col_expr(
            channel_sync_jobs::Column::WorkerId,
            Expr::value(Option::<String>::None),
        );
    } else {
        update = update.col_expr(channel_sync_jobs::Column::CompletedAt, Expr::value(t));
    }
    update
        .filter(channel_sync_jobs::Column::Id.eq(item_id))
        .filter(channel_sync_jobs::Column::WorkerId.eq(worker_id))
        .exec(db)
        .await?;
    Ok(())
}

/// All channel items of a job, oldest first.
pub async fn items<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
) -> Result<Vec<channel_sync_jobs::Model>> {
    Ok(channel_sync_jobs::Entity::find()
        .filter(channel_sync_jobs::Column::ParentJobId.eq(job_id))
        .order_by_asc(channel_sync_jobs::Column::CreatedAt)
        .order_by_asc(channel_sync_jobs::Column::Id)
        .all(db)
        .await?)
}
