//! The scheduler: queues an incremental sync of every ACTIVE Discord tenant once per
//! `SYNC_INTERVAL_SECS`. Several processes may run it: a tenant is due only when none of its
//! jobs was created within the interval, and the queue keeps one active job per tenant.

use std::time::Duration;

use sea_orm::ConnectionTrait;

use crate::error::Result;
use crate::sync::queue::{self, NewJob, SyncType, Trigger};
use crate::tenants;

/// Queue a sync for every ACTIVE Discord tenant with no job created in the last `interval`.
/// Walks all tenants with keyset pagination (the original only saw the first 10). Returns
/// how many jobs were created.
pub async fn enqueue_due<C: ConnectionTrait>(db: &C, interval: Duration) -> Result<usize> {
    let cutoff = crate::db::now() - chrono::Duration::from_std(interval).unwrap_or_default();
    let mut created = 0;
    let mut after = String::new();
    loop {
        let page = tenants::syncable_ids_after(db, &after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.clone();
        for tenant_id in page {
            if queue::has_job_since(db, &tenant_id, cutoff).await? {
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
