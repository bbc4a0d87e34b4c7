//! The job queue's claim and lease logic, through the production functions of
//! `service::sync::queue`: claims are conditional UPDATEs that exactly one worker wins, leases
//! keep a claim until they expire, and a tenant has at most one queued-or-running job.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{channel_sync_jobs, sync_jobs};
use futures::future::join_all;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use service::sync::queue::{
    self, ChannelJobStatus, JobStatus, JobSummary, NewJob, SyncType, Trigger,
};

use crate::helpers::{channel, setup, tenant};

const LEASE: Duration = Duration::from_secs(30);

fn new_job(tenant_id: &str) -> NewJob {
    NewJob {
        tenant_id: tenant_id.to_owned(),
        sync_type: SyncType::Full,
        trigger: Trigger::Api,
        channel_ids: None,
        retry_of: None,
    }
}

/// A queued job of a new tenant.
async fn queued_job(db: &DatabaseConnection) -> sync_jobs::Model {
    let t = tenant(db).await;
    let (job, created) = queue::enqueue(db, new_job(&t.id.to_string()))
        .await
        .expect("enqueue");
    assert!(created);
    job
}

fn status(job: &sync_jobs::Model) -> JobStatus {
    JobStatus::parse(&job.status).expect("known job status")
}

/// Let the job's lease run out, as if its worker had died a minute ago.
async fn expire_lease(db: &DatabaseConnection, job_id: &str) {
    let past: DateTime<Utc> = service::db::now() - chrono::Duration::seconds(60);
    sync_jobs::Entity::update_many()
        .col_expr(sync_jobs::Column::LeaseExpiresAt, Expr::value(past))
        .filter(sync_jobs::Column::Id.eq(job_id))
        .exec(db)
        .await
        .expect("expire lease");
}

/// Make the item look unrenewed for two minutes, as if its worker had died.
async fn age_item(db: &DatabaseConnection, item_id: &str) {
    let past: DateTime<Utc> = service::db::now() - chrono::Duration::seconds(120);
    channel_sync_jobs::Entity::update_many()
        .col_expr(channel_sync_jobs::Column::UpdatedAt, Expr::value(past))
        .filter(channel_sync_jobs::Column::Id.eq(item_id))
        .exec(db)
        .await
        .expect("age item");
}

#[tokio::test]
async fn a_queued_job_is_claimed_by_exactly_one_of_racing_workers() {
    let ctx = setup().await;
    let db = &ctx.db;
    let job = queued_job(db).await;
    let workers: Vec<String> = (0..8).map(|i| format!("worker-{i}")).collect();
    let claims = join_all(
        workers
            .iter()
            .map(|w| queue::claim_job(db, &job.id, w, LEASE)),
    )
    .await;
    let winners: Vec<sync_jobs::Model> = claims
        .into_iter()
        .filter_map(|c| c.expect("claim"))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one claim wins");
    let stored = queue::get(db, &job.id).await.expect("job");
    assert_eq!(stored.worker_id, winners[0].worker_id);
    assert_eq!(status(&stored), JobStatus::Running);
    assert_eq!(stored.attempts, 1);
    assert!(stored.started_at.is_some());
}

#[tokio::test]
async fn racing_workers_each_claim_a_different_job_of_the_queue() {
    let ctx = setup().await;
    let db = &ctx.db;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(queued_job(db).await.id);
    }
    let workers: Vec<String> = (0..6).map(|i| format!("worker-{i}")).collect();
    let claims = join_all(workers.iter().map(|w| queue::claim_next(db, w, LEASE))).await;
    let mut claimed: Vec<String> = claims
        .into_iter()
        .filter_map(|c| c.expect("claim"))
        .map(|j| j.id)
        .collect();
    claimed.sort();
    jobs.sort();
    // Six workers, three jobs: every job claimed once (a loser moves on to the next
    // candidate, so every job finds a worker).
    assert_eq!(claimed, jobs);
    assert!(
        queue::claim_next(db, "late", LEASE)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_job_with_a_live_lease_is_not_claimable() {
    let ctx = setup().await;
    let db = &ctx.db;
    let job = queued_job(db).await;
    queue::claim_job(db, &job.id, "a", LEASE)
        .await
        .unwrap()
        .expect("a claims the queued job");
    assert!(
        queue::claim_job(db, &job.id, "b", LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert!(queue::claim_next(db, "b", LEASE).await.unwrap().is_none());
    let stored = queue::get(db, &job.id).await.unwrap();
    assert_eq!(stored.worker_id.as_deref(), Some("a"));
    assert_eq!(stored.attempts, 1);
}

#[tokio::test]
async fn an_expired_lease_is_claimed_by_another_worker_and_the_first_loses_the_job() {
    let ctx = setup().await;
    let db = &ctx.db;
    let job = queued_job(db).await;
    queue::claim_job(db, &job.id, "a", LEASE)
        .await
        .unwrap()
        .expect("a claims");
    expire_lease(db, &job.id).await;

    let taken = queue::claim_next(db, "b", LEASE)
        .await
        .unwrap()
        .expect("b takes over the expired job");
    assert_eq!(taken.id, job.id);
    assert_eq!(taken.worker_id.as_deref(), Some("b"));
    assert_eq!(taken.attempts, 2, "every claim counts an attempt");
    assert!(taken.lease_expires_at.expect("lease") > service::db::now());

    // The first worker can no longer renew, release or finish it.
    assert!(!queue::renew_lease(db, &job.id, "a", LEASE).await.unwrap());
    queue::release(db, &job.id, "a").await.unwrap();
    let summary = JobSummary::default();
    assert!(
        !queue::finish(db, &job.id, "a", JobStatus::Completed, None, &summary)
            .await
            .unwrap()
    );
    let stored = queue::get(db, &job.id).await.unwrap();
    assert_eq!(status(&stored), JobStatus::Running);
    assert_eq!(stored.worker_id.as_deref(), Some("b"));
    assert!(
        queue::finish(db, &job.id, "b", JobStatus::Completed, None, &summary)
            .await
            .unwrap()
    );
    assert_eq!(
        status(&queue::get(db, &job.id).await.unwrap()),
        JobStatus::Completed
    );
}

#[tokio::test]
async fn lease_renewal_by_the_owner_extends_it_and_by_another_worker_fails() {
    let ctx = setup().await;
    let db = &ctx.db;
    let job = queued_job(db).await;
    let claimed = queue::claim_job(db, &job.id, "a", Duration::from_secs(1))
        .await
        .unwrap()
        .expect("a claims");
    let short = claimed.lease_expires_at.expect("lease");

    let before = service::db::now();
    assert!(
        queue::renew_lease(db, &job.id, "a", Duration::from_secs(600))
            .await
            .unwrap()
    );
    let renewed = queue::get(db, &job.id)
        .await
        .unwrap()
        .lease_expires_at
        .expect("lease");
    assert!(
        renewed >= before + chrono::Duration::seconds(600),
        "{renewed}"
    );
    assert!(renewed > short);

    assert!(
        !queue::renew_lease(db, &job.id, "b", Duration::from_secs(3_600))
            .await
            .unwrap(),
        "only the owner renews"
    );
    let after = queue::get(db, &job.id).await.unwrap();
    assert_eq!(after.lease_expires_at, Some(renewed));
    assert_eq!(after.worker_id.as_deref(), Some("a"));
}

#[tokio::test]
async fn a_released_job_is_queued_again_and_claimed_by_the_next_worker() {
    let ctx = setup().await;
    let db = &ctx.db;
    let job = queued_job(db).await;
    queue::claim_job(db, &job.id, "a", LEASE)
        .await
        .unwrap()
        .expect("a claims");
    queue::release(db, &job.id, "a").await.unwrap();
    let stored = queue::get(db, &job.id).await.unwrap();
    assert_eq!(status(&stored), JobStatus::Queued);
    assert_eq!(stored.worker_id, None);
    let next = queue::claim_next(db, "b", LEASE)
        .await
        .unwrap()
        .expect("b claims");
    assert_eq!(next.id, job.id);
    assert_eq!(next.attempts, 2);
}

#[tokio::test]
async fn a_tenant_has_at_most_one_queued_or_running_job() {
    let ctx = setup().await;
    let db = &ctx.db;
    let t = tenant(db).await.id.to_string();

    // Racing triggers: one job is created, every trigger gets it.
    let results = join_all((0..4).map(|_| queue::enqueue(db, new_job(&t)))).await;
    let results: Vec<_> = results.into_iter().map(|r| r.expect("enqueue")).collect();
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let first = results[0].0.id.clone();
    assert!(results.iter().all(|(job, _)| job.id == first));

    // Still the same job once it runs.
    queue::claim_job(db, &first, "a", LEASE)
        .await
        .unwrap()
        .expect("a claims");
    let (again, created) = queue::enqueue(db, new_job(&t)).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, first);
    assert_eq!(
        queue::find_active(db, &t).await.unwrap().map(|j| j.id),
        Some(first.clone())
    );

    // Finished, the tenant may have a new one.
    assert!(
        queue::finish(
            db,
            &first,
            "a",
            JobStatus::Completed,
            None,
            &JobSummary::default()
        )
        .await
        .unwrap()
    );
    assert!(queue::find_active(db, &t).await.unwrap().is_none());
    let (next, created) = queue::enqueue(db, new_job(&t)).await.unwrap();
    assert!(created);
    assert_ne!(next.id, first);

    // A cancelled queued job frees the slot at once.
    let cancelled = queue::request_cancel(db, &next.id).await.unwrap();
    assert_eq!(status(&cancelled), JobStatus::Cancelled);
    let (third, created) = queue::enqueue(db, new_job(&t)).await.unwrap();
    assert!(created);
    assert_ne!(third.id, next.id);
}

#[tokio::test]
async fn a_running_job_asked_to_cancel_is_told_to_stop_and_keeps_its_worker() {
    let ctx = setup().await;
    let db = &ctx.db;
    let job = queued_job(db).await;
    queue::claim_job(db, &job.id, "a", LEASE)
        .await
        .unwrap()
        .expect("a claims");
    assert!(!queue::should_stop(db, &job.id).await.unwrap());
    let asked = queue::request_cancel(db, &job.id).await.unwrap();
    assert_eq!(status(&asked), JobStatus::Running);
    assert!(asked.cancel_requested);
    assert!(queue::should_stop(db, &job.id).await.unwrap());
    assert!(
        queue::finish(
            db,
            &job.id,
            "a",
            JobStatus::Cancelled,
            None,
            &JobSummary::default()
        )
        .await
        .unwrap()
    );
    let err = queue::request_cancel(db, &job.id).await.unwrap_err();
    assert!(matches!(err, service::Error::BusinessRule(_)), "{err}");
}

#[tokio::test]
async fn a_failed_job_is_retried_as_a_new_queued_job_and_a_running_one_is_not() {
    let ctx = setup().await;
    let db = &ctx.db;
    let job = queued_job(db).await;
    queue::claim_job(db, &job.id, "a", LEASE)
        .await
        .unwrap()
        .expect("a claims");
    let err = queue::retry(db, &job.id).await.unwrap_err();
    assert!(matches!(err, service::Error::BusinessRule(_)), "{err}");
    assert!(
        queue::finish(
            db,
            &job.id,
            "a",
            JobStatus::Failed,
            Some("boom".into()),
            &JobSummary::default()
        )
        .await
        .unwrap()
    );
    let (copy, created) = queue::retry(db, &job.id).await.unwrap();
    assert!(created);
    assert_eq!(copy.retry_of.as_deref(), Some(job.id.as_str()));
    assert_eq!(status(&copy), JobStatus::Queued);
    assert_eq!(copy.sync_type, SyncType::Full.as_str());
    assert_eq!(copy.triggered_by, Trigger::Retry.as_str());
    assert_eq!(copy.attempts, 0, "a retry starts its own attempts");
}

/// A running job with `n` channel items.
async fn job_with_items(db: &DatabaseConnection, n: usize) -> (sync_jobs::Model, Vec<String>) {
    let t = tenant(db).await;
    let (job, _) = queue::enqueue(db, new_job(&t.id.to_string()))
        .await
        .unwrap();
    queue::claim_job(db, &job.id, "owner", LEASE)
        .await
        .unwrap()
        .expect("owner claims");
    let mut channels = Vec::new();
    for i in 0..n {
        channels.push(channel(db, t.id, &format!("{}", 100 + i)).await.to_string());
    }
    queue::create_items(db, &job.id, &t.id.to_string(), &channels)
        .await
        .unwrap();
    // Creating them again changes nothing.
    queue::create_items(db, &job.id, &t.id.to_string(), &channels)
        .await
        .unwrap();
    (job, channels)
}

#[tokio::test]
async fn channel_items_are_claimed_once_by_racing_workers() {
    let ctx = setup().await;
    let db = &ctx.db;
    let (job, channels) = job_with_items(db, 20).await;
    assert_eq!(queue::items(db, &job.id).await.unwrap().len(), 20);
    let workers: Vec<String> = (0..4).map(|i| format!("worker-{i}")).collect();
    let claimed = join_all(workers.iter().map(|w| async {
        let mut mine = Vec::new();
        while let Some(item) = queue::claim_item(db, &job.id, w, LEASE).await.unwrap() {
            assert_eq!(item.worker_id.as_deref(), Some(w.as_str()));
            mine.push(item.channel_id);
        }
        mine
    }))
    .await;
    let mut all: Vec<String> = claimed.into_iter().flatten().collect();
    all.sort();
    let mut want = channels.clone();
    want.sort();
    assert_eq!(all, want, "every item claimed exactly once");
    for item in queue::items(db, &job.id).await.unwrap() {
        assert_eq!(
            ChannelJobStatus::parse(&item.status),
            Some(ChannelJobStatus::InProgress)
        );
    }
}

#[tokio::test]
async fn a_channel_item_is_claimable_again_only_once_its_worker_stopped_renewing_it() {
    let ctx = setup().await;
    let db = &ctx.db;
    let (job, _) = job_with_items(db, 1).await;
    let item = queue::claim_item(db, &job.id, "a", LEASE)
        .await
        .unwrap()
        .expect("a claims the item");
    assert!(
        queue::claim_item(db, &job.id, "b", LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        queue::jobs_needing_help(db, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "nothing for a helper while the item's lease is live"
    );

    // Renewed by its worker (another worker's heartbeat does not renew it), it stays taken.
    age_item(db, &item.id).await;
    queue::heartbeat_items(db, "b").await.unwrap();
    queue::heartbeat_items(db, "a").await.unwrap();
    assert!(
        queue::claim_item(db, &job.id, "b", LEASE)
            .await
            .unwrap()
            .is_none()
    );

    // Unrenewed past the lease, another worker takes it over.
    age_item(db, &item.id).await;
    assert_eq!(
        queue::jobs_needing_help(db, LEASE).await.unwrap(),
        vec![job.id.clone()]
    );
    let taken = queue::claim_item(db, &job.id, "b", LEASE)
        .await
        .unwrap()
        .expect("b takes it over");
    assert_eq!(taken.id, item.id);
    assert_eq!(taken.worker_id.as_deref(), Some("b"));

    // The first worker's late finish changes nothing; the new holder's does.
    queue::finish_item(db, &item.id, "a", ChannelJobStatus::Completed, 5, None)
        .await
        .unwrap();
    let stored = &queue::items(db, &job.id).await.unwrap()[0];
    assert_eq!(
        ChannelJobStatus::parse(&stored.status),
        Some(ChannelJobStatus::InProgress)
    );
    assert_eq!(stored.worker_id.as_deref(), Some("b"));
    queue::finish_item(db, &item.id, "b", ChannelJobStatus::Completed, 7, None)
        .await
        .unwrap();
    let stored = &queue::items(db, &job.id).await.unwrap()[0];
    assert_eq!(
        ChannelJobStatus::parse(&stored.status),
        Some(ChannelJobStatus::Completed)
    );
    assert_eq!(stored.messages_processed, Some(7));
    assert!(
        queue::claim_item(db, &job.id, "c", LEASE)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_item_handed_back_as_pending_is_claimed_by_the_next_worker() {
    let ctx = setup().await;
    let db = &ctx.db;
    let (job, _) = job_with_items(db, 1).await;
    let item = queue::claim_item(db, &job.id, "a", LEASE)
        .await
        .unwrap()
        .expect("a claims");
    queue::finish_item(db, &item.id, "a", ChannelJobStatus::Pending, 3, None)
        .await
        .unwrap();
    let stored = &queue::items(db, &job.id).await.unwrap()[0];
    assert_eq!(stored.worker_id, None);
    assert_eq!(stored.completed_at, None);
    let again = queue::claim_item(db, &job.id, "b", LEASE)
        .await
        .unwrap()
        .expect("b claims");
    assert_eq!(again.id, item.id);
    assert_eq!(again.messages_processed, Some(3), "progress so far is kept");
}

#[tokio::test]
async fn views_of_several_jobs_give_each_job_its_own_channels() {
    let ctx = setup().await;
    let db = &ctx.db;
    let (first, first_channels) = job_with_items(db, 2).await;
    let (second, second_channels) = job_with_items(db, 3).await;
    let views = service::sync::view::job_views(db, vec![second.clone(), first.clone()])
        .await
        .unwrap();
    assert_eq!(
        views.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        [second.id.as_str(), first.id.as_str()],
        "views come in the order of the jobs"
    );
    let channels_of = |v: &service::sync::view::JobView| {
        let mut ids: Vec<String> = v.channels.iter().map(|c| c.channel_id.clone()).collect();
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(channels_of(&views[0]), sorted(second_channels));
    assert_eq!(channels_of(&views[1]), sorted(first_channels));
    for (view, job) in views.iter().zip([second, first]) {
        let single = service::sync::view::job_view(db, job).await.unwrap();
        assert_eq!(channels_of(view), channels_of(&single));
        assert_eq!(view.progress.channels_total, single.progress.channels_total);
        assert!(view.channels.iter().all(|c| !c.name.is_empty()));
    }
}
