//! Entry points of the sync for the API and the CLI: trigger, inspect, cancel, retry, reset.

use sea_orm::ConnectionTrait;

use crate::error::{Error, Result};
use crate::sync::queue::{self, NewJob, SyncType, Trigger};
use crate::sync::{store, view};
use crate::tenants::{self, Platform, Tenant, TenantStatus};

/// Queue a sync of `tenant` (which must be an ACTIVE Discord tenant). A tenant with a queued
/// or running job gets that job back (`false` = not created now).
pub async fn trigger<C: ConnectionTrait>(
    db: &C,
    tenant: &Tenant,
    sync_type: SyncType,
    trigger: Trigger,
    channel_ids: Option<Vec<String>>,
) -> Result<(view::JobView, bool)> {
    if tenant.status != TenantStatus::Active {
        return Err(Error::invalid(
            "status",
            "Tenant is not active and cannot be synced",
        ));
    }
    if tenant.platform != Platform::Discord {
        return Err(Error::invalid(
            "platform",
            "Only Discord tenants support sync operations",
        ));
    }
    let (job, created) = queue::enqueue(
        db,
        NewJob {
            tenant_id: tenant.id.to_string(),
            sync_type,
            trigger,
            channel_ids,
            retry_of: None,
        },
    )
    .await?;
    if created {
        tracing::info!(tenant_id = %tenant.id, job_id = %job.id, %sync_type, %trigger, "sync job queued");
    }
    Ok((view::job_view(db, job).await?, created))
}

/// Queue the first (full) sync of a newly created tenant if it is an ACTIVE Discord tenant.
/// Never fails the creation: errors are logged.
pub async fn on_tenant_created<C: ConnectionTrait>(db: &C, tenant: &Tenant) {
    if !tenant.is_syncable() {
        return;
    }
    if let Err(e) = trigger(db, tenant, SyncType::Full, Trigger::TenantCreated, None).await {
        tracing::error!(tenant_id = %tenant.id, error = %e, "could not queue the first sync");
    }
}

/// A job with its per-channel progress.
pub async fn job<C: ConnectionTrait>(db: &C, job_id: &str) -> Result<view::JobView> {
    view::job_view(db, queue::get(db, job_id).await?).await
}

/// Cancel a queued or running job.
pub async fn cancel<C: ConnectionTrait>(db: &C, job_id: &str) -> Result<view::JobView> {
    let job = queue::request_cancel(db, job_id).await?;
    view::job_view(db, job).await
}

/// Queue a copy of a failed or cancelled job.
pub async fn retry<C: ConnectionTrait>(db: &C, job_id: &str) -> Result<(view::JobView, bool)> {
    let (job, created) = queue::retry(db, job_id).await?;
    Ok((view::job_view(db, job).await?, created))
}

/// The tenant's newest jobs (any state), newest first.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    limit: u64,
) -> Result<Vec<view::JobView>> {
    view::job_views(db, queue::history(db, tenant_id, limit).await?).await
}

/// The tenant's newest job of any state, if it ever had one.
pub async fn latest<C: ConnectionTrait>(db: &C, tenant_id: &str) -> Result<Option<view::JobView>> {
    Ok(history(db, tenant_id, 1).await?.into_iter().next())
}

/// The newest job of every tenant that has one.
pub async fn latest_per_tenant<C: ConnectionTrait>(db: &C) -> Result<Vec<view::JobView>> {
    let mut out = Vec::new();
    for t in tenants::all(db).await? {
        if let Some(v) = latest(db, &t.id.to_string()).await? {
            out.push(v);
        }
    }
    Ok(out)
}

/// Forget the tenant's cursors so that the next sync reads every channel from the start.
/// Refused while a job of the tenant is queued or running. Returns the cursors removed.
pub async fn reset<C: ConnectionTrait>(db: &C, tenant: &Tenant) -> Result<u64> {
    let tenant_id = tenant.id.to_string();
    if let Some(active) = queue::find_active(db, &tenant_id).await? {
        return Err(Error::Conflict {
            field: "tenantId",
            message: format!(
                "sync job {} is {}; cancel it or wait before resetting",
                active.id, active.status
            ),
        });
    }
    store::reset_cursors(db, &tenant_id).await
}

/// Number of jobs per status (metrics).
pub async fn job_counts<C: ConnectionTrait>(db: &C) -> Result<Vec<(String, i64)>> {
    queue::job_counts(db).await
}
