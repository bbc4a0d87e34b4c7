//! The scheduler: queues an incremental sync of every ACTIVE Discord tenant once per
//! `SYNC_INTERVAL_SECS`. Several processes may run it: a tenant is due only when none of its
//! jobs was created within the interval, and the queue keeps one active job per tenant.

use std::time::Duration;

use entity::{sync_jobs, tenants};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::error::Result;
use crate::sync::queue::{self, NewJob, SyncType, Trigger};

/// Queue a sync for every ACTIVE Discord tenant with no job created in the last `interval`.
/// Walks all tenants with keyset pagination (the original only saw the first 10). Returns
/// how many jobs were created.
pub async fn enqueue_due<C: ConnectionTrait>(db: &C, interval: Duration) -> Result<usize> {
    let cutoff = queue::now() - chrono::Duration::from_std(interval).unwrap_or_default();
    let mut created = 0;
    let mut after = String::new();
    loop {
        let page: Vec<String> = tenants::Entity::find()
            .select_only()
            .column(tenants::Column::Id)
            .filter(tenants::Column::Status.eq(crate::tenants::TenantStatus::Active.as_str()))
            .filter(tenants::Column::Platform.eq(crate::tenants::Platform::Discord.as_str()))
            .filter(tenants::Column::Id.gt(after.as_str()))
            .order_by_asc(tenants::Column::Id)
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.clone();
        for tenant_id in page {
            let recent = sync_jobs::Entity::find()
                .filter(sync_jobs::Column::TenantId.eq(tenant_id.as_str()))
                .filter(sync_jobs::Column::CreatedAt.gt(cutoff))
                .one(db)
                .await?;
            if recent.is_some() {
                continue;
            }
            let (_, new) = queue::enqueue(
                db,
                NewJob {
                    tenant_id,
                    sync_type: SyncType::Incremental,
                    trigger: Trigger::Schedule,
                    channel_ids: None,
                    retry_of: None,
                },
            )
            .await?;
            created += usize::from(new);
        }
    }
    Ok(created)
}

/// Run the scheduler until `shutdown` turns true; an `interval` of zero disables it.
pub async fn run<C: ConnectionTrait>(
    db: &C,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if interval.is_zero() {
        tracing::info!("scheduler disabled (SYNC_INTERVAL_SECS=0)");
        return;
    }
    let tick = interval.min(Duration::from_secs(60));
    tracing::info!(interval_secs = interval.as_secs(), "scheduler started");
    loop {
        match enqueue_due(db, interval).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "scheduled syncs queued"),
            Err(e) => tracing::error!(error = %e, "scheduler pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}
