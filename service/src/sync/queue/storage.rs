//! Every SQL statement on the queue's tables: `sync_jobs` (one row per tenant sync run) and
//! `channel_sync_jobs` (one work item per channel of a run). The rest of the crate reads and
//! writes them only through these functions.
//!
//! Claims are conditional UPDATEs (`... WHERE id = ? AND <claimable>`) that win only when
//! they changed exactly one row; leases are renewed by the worker holding the claim, and every
//! transition a worker makes is conditional on still holding it (`worker_id = ?`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{channel_sync_jobs, sync_jobs};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
    sea_query::{Expr, ExprTrait, Func, OnConflict},
};
use uuid::Uuid;

use super::{ChannelJobStatus, JobStatus, JobSummary, NewJob, SyncType, Trigger, item_id};
use crate::db::now;
use crate::error::{Error, Result};

/// `now() + lease` (a lease too long for chrono counts as one minute).
fn lease_until(lease: Duration) -> DateTime<Utc> {
    now() + lease_duration(lease)
}

fn lease_duration(lease: Duration) -> chrono::Duration {
    chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60))
}

// ---- jobs ------------------------------------------------------------------------------

/// Enqueue a job, or return the tenant's queued-or-running job if there is one.
/// Returns the job and whether it was created now.
pub async fn enqueue<C: ConnectionTrait>(db: &C, new: NewJob) -> Result<(sync_jobs::Model, bool)> {
    for _ in 0..3 {
        if let Some(existing) = find_active(db, &new.tenant_id).await? {
            return Ok((existing, false));
        }
        // Time-ordered (v7), so jobs created within one second still sort by creation.
        let id = Uuid::now_v7().to_string();
        match sync_jobs::Entity::insert(new_job_row(&id, &new))
            .exec_without_returning(db)
            .await
        {
            Ok(_) => return Ok((get(db, &id).await?, true)),
            Err(err) => match crate::db::classify(&err) {
                // Another trigger won the race for `active_tenant_id`: loop to return its job.
                Some(v) if v.kind == crate::db::ViolationKind::Unique => continue,
                _ => return Err(err.into()),
            },
        }
    }
    Err(Error::BusinessRule(
        "could not enqueue the sync job: the tenant's active job kept changing".into(),
    ))
}

/// The row of a new queued job.
fn new_job_row(id: &str, new: &NewJob) -> sync_jobs::ActiveModel {
    let t = now();
    sync_jobs::ActiveModel {
        id: Set(id.to_owned()),
        tenant_id: Set(new.tenant_id.clone()),
        active_tenant_id: Set(Some(new.tenant_id.clone())),
        sync_type: Set(new.sync_type.as_str().to_owned()),
        triggered_by: Set(new.trigger.as_str().to_owned()),
        status: Set(JobStatus::Queued.as_str().to_owned()),
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
    }
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

/// Whether the tenant has a job (of any state) created after `since`.
pub async fn has_job_since<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    since: DateTime<Utc>,
) -> Result<bool> {
    let recent: Option<String> = sync_jobs::Entity::find()
        .select_only()
        .column(sync_jobs::Column::Id)
        .filter(sync_jobs::Column::TenantId.eq(tenant_id))
        .filter(sync_jobs::Column::CreatedAt.gt(since))
        .into_tuple()
        .one(db)
        .await?;
    Ok(recent.is_some())
}

/// Number of jobs per stored status (metrics).
pub async fn job_counts<C: ConnectionTrait>(db: &C) -> Result<Vec<(String, i64)>> {
    Ok(sync_jobs::Entity::find()
        .select_only()
        .column(sync_jobs::Column::Status)
        .column_as(sync_jobs::Column::Id.count(), "n")
        .group_by(sync_jobs::Column::Status)
        .into_tuple()
        .all(db)
        .await?)
}

/// A job another worker may claim at `t`: queued, or running with an expired lease.
fn claimable_job(t: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(sync_jobs::Column::Status.eq(JobStatus::Queued))
        .add(
            Condition::all()
                .add(sync_jobs::Column::Status.eq(JobStatus::Running))
                .add(sync_jobs::Column::LeaseExpiresAt.lt(t)),
        )
}

/// Claim the oldest claimable job (queued, or running with an expired lease) for `worker_id`.
pub async fn claim_next<C: ConnectionTrait>(
    db: &C,
    worker_id: &str,
    lease: Duration,
) -> Result<Option<sync_jobs::Model>> {
    let candidates: Vec<String> = sync_jobs::Entity::find()
        .select_only()
        .column(sync_jobs::Column::Id)
        .filter(claimable_job(now()))
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

/// Claim one specific job (queued, or running with an expired lease) for `worker_id`, with a
/// lease of `lease`; counts the attempt. `None` when it is not claimable (another worker won).
pub async fn claim_job<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    worker_id: &str,
    lease: Duration,
) -> Result<Option<sync_jobs::Model>> {
    let t = now();
    let claimed = sync_jobs::Entity::update_many()
        .col_expr(sync_jobs::Column::Status, Expr::value(JobStatus::Running))
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

/// The jobs `worker_id` holds: running and claimed by it.
fn held_by(worker_id: &str) -> Condition {
    Condition::all()
        .add(sync_jobs::Column::WorkerId.eq(worker_id))
        .add(sync_jobs::Column::Status.eq(JobStatus::Running))
}

/// Extend the lease of a job this worker holds to `lease` from now; `false` when the lease
/// was lost (another worker took the job over, or it was finished).
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
        .filter(held_by(worker_id))
        .exec(db)
        .await?
        .rows_affected;
    Ok(n == 1)
}

/// Hand a running job held by `worker_id` back to the queue (the worker is stopping); the
/// next worker resumes it from the cursors.
pub async fn release<C: ConnectionTrait>(db: &C, job_id: &str, worker_id: &str) -> Result<()> {
    sync_jobs::Entity::update_many()
        .col_expr(sync_jobs::Column::Status, Expr::value(JobStatus::Queued))
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
        .filter(held_by(worker_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Finish a job held by `worker_id` with `final_status` (completed, failed or cancelled):
/// the tenant may then get a new job. Returns `false` if the worker no longer held it.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    job_id: &str,
    worker_id: &str,
    final_status: JobStatus,
    error: Option<String>,
    summary: &JobSummary,
) -> Result<bool> {
    let t = now();
    let add = |column: sync_jobs::Column, n: i64| Expr::col(column).add(n);
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
        // Helper workers add their counts as they go ([`add_counts`]).
        .col_expr(
            sync_jobs::Column::ReactionsProcessed,
            add(
                sync_jobs::Column::ReactionsProcessed,
                summary.reactions_processed,
            ),
        )
        .col_expr(
            sync_jobs::Column::AttachmentsProcessed,
            add(
                sync_jobs::Column::AttachmentsProcessed,
                summary.attachments_processed,
            ),
        )
        .col_expr(
            sync_jobs::Column::RequestsMade,
            add(sync_jobs::Column::RequestsMade, summary.requests_made),
        )
        .col_expr(
            sync_jobs::Column::Errors,
            Expr::value(serde_json::Value::Array(summary.errors.clone())),
        )
        .filter(sync_jobs::Column::Id.eq(job_id))
        .filter(held_by(worker_id))
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
    match JobStatus::from_stored(&job.status)? {
        JobStatus::Queued => {
            sync_jobs::Entity::update_many()
                .col_expr(sync_jobs::Column::Status, Expr::value(JobStatus::Cancelled))
                .col_expr(sync_jobs::Column::CancelRequested, Expr::value(true))
                .col_expr(
                    sync_jobs::Column::ActiveTenantId,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(sync_jobs::Column::FinishedAt, Expr::value(t))
                .col_expr(sync_jobs::Column::UpdatedAt, Expr::value(t))
                .filter(sync_jobs::Column::Id.eq(job_id))
                .filter(sync_jobs::Column::Status.eq(JobStatus::Queued))
                .exec(db)
                .await?;
        }
        JobStatus::Running => {
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
        Some((cancel, status)) => cancel || JobStatus::parse(&status) != Some(JobStatus::Running),
        None => true,
    })
}

/// Enqueue a copy of a failed (or cancelled) job.
pub async fn retry<C: ConnectionTrait>(db: &C, job_id: &str) -> Result<(sync_jobs::Model, bool)> {
    let job = get(db, job_id).await?;
    let status = JobStatus::from_stored(&job.status)?;
    if !matches!(status, JobStatus::Failed | JobStatus::Cancelled) {
        return Err(Error::BusinessRule(format!(
            "Cannot retry job in {status} state"
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
            sync_type: SyncType::from_stored(&job.sync_type)?,
            trigger: Trigger::Retry,
            channel_ids,
            retry_of: Some(job.id.clone()),
        },
    )
    .await
}

// ---- channel items ---------------------------------------------------------------------

/// Running jobs that have channel items another worker could take (pending, or in progress
/// with an expired lease), oldest first.
pub async fn jobs_needing_help<C: ConnectionTrait>(db: &C, lease: Duration) -> Result<Vec<String>> {
    let cutoff = now() - lease_duration(lease);
    let ids: Vec<String> = channel_sync_jobs::Entity::find()
        .select_only()
        .column(channel_sync_jobs::Column::ParentJobId)
        .filter(claimable_item(cutoff))
        .distinct()
        .limit(8)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    Ok(sync_jobs::Entity::find()
        .select_only()
        .column(sync_jobs::Column::Id)
        .filter(sync_jobs::Column::Id.is_in(ids))
        .filter(sync_jobs::Column::Status.eq(JobStatus::Running))
        .filter(sync_jobs::Column::CancelRequested.eq(false))
        .order_by_asc(sync_jobs::Column::CreatedAt)
        .into_tuple()
        .all(db)
        .await?)
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
                status: Set(ChannelJobStatus::Pending.as_str().to_owned()),
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

/// An item another worker may claim: pending, or in progress and not renewed since `cutoff`
/// (an item's lease is its `updated_at`, renewed by [`heartbeat_items`]).
fn claimable_item(cutoff: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(channel_sync_jobs::Column::Status.eq(ChannelJobStatus::Pending))
        .add(
            Condition::all()
                .add(channel_sync_jobs::Column::Status.eq(ChannelJobStatus::InProgress))
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
    let cutoff = t - lease_duration(lease);
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
                Expr::value(ChannelJobStatus::InProgress),
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
        .filter(channel_sync_jobs::Column::Status.eq(ChannelJobStatus::InProgress))
        .exec(db)
        .await?;
    Ok(())
}

/// The statement that records progress of an item held by `worker_id` (run in the page
/// transaction), built for `backend`.
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

/// Finish an item held by `worker_id` as completed or failed (`error` says why), or hand it
/// back as pending (`Pending`: the job was cancelled or the worker is stopping).
pub async fn finish_item<C: ConnectionTrait>(
    db: &C,
    item_id: &str,
    worker_id: &str,
    final_status: ChannelJobStatus,
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
    if final_status == ChannelJobStatus::Pending {
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
    items_of_jobs(db, &[job_id]).await
}

/// The channel items of the jobs `job_ids` (at most a page of jobs), in creation order, in
/// one query.
pub async fn items_of_jobs<C: ConnectionTrait>(
    db: &C,
    job_ids: &[&str],
) -> Result<Vec<channel_sync_jobs::Model>> {
    Ok(channel_sync_jobs::Entity::find()
        .filter(channel_sync_jobs::Column::ParentJobId.is_in(job_ids.iter().copied()))
        .order_by_asc(channel_sync_jobs::Column::CreatedAt)
        .order_by_asc(channel_sync_jobs::Column::Id)
        .all(db)
        .await?)
}
