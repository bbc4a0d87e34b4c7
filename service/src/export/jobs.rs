//! The export jobs behind the admin export routes: queue an export of one tenant or of every
//! active tenant, and follow it by job id.
//!
//! Jobs run in this process, one after another (the original's export worker had concurrency
//! 1), writing to the directory they were queued with; their state lives in memory for the
//! life of the process, so a restart forgets them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::tenants::{self, TenantStatus};

use super::{ExportResult, Progress, export_tenant};

/// Where an export job is (the original's queue states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportJobState {
    /// Queued behind another job.
    Waiting,
    /// Running.
    Active,
    /// Finished; `result` holds one entry per exported tenant.
    Completed,
    /// Stopped at the first error; `error` says why.
    Failed,
}

/// State of one export job.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportJobStatus {
    /// The job id.
    pub job_id: String,
    /// Where the job is.
    pub status: ExportJobState,
    /// 0-100, by messages written.
    pub progress: u64,
    /// Always 0: jobs are not retried.
    pub retry_count: u64,
    /// Duration, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time_ms: Option<u64>,
    /// Why the job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One result per exported tenant, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Vec<ExportResult>>,
}

/// Which tenants a job exports.
enum Scope {
    /// One tenant, by id.
    Tenant(Uuid),
    /// Every ACTIVE tenant at the time the job starts, oldest first.
    AllActive,
}

/// One job: its reported state and the message counts its progress is computed from.
struct Job {
    status: Mutex<ExportJobStatus>,
    total: AtomicU64,
    done: AtomicU64,
}

impl Job {
    fn waiting(id: Uuid) -> Self {
        Self {
            status: Mutex::new(ExportJobStatus {
                job_id: id.to_string(),
                status: ExportJobState::Waiting,
                progress: 0,
                retry_count: 0,
                execution_time_ms: None,
                error: None,
                result: None,
            }),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ExportJobStatus> {
        // The status is replaced field by field; no panic can leave it half-updated.
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn snapshot(&self) -> ExportJobStatus {
        let mut status = self.lock().clone();
        if status.status == ExportJobState::Active {
            let total = self.total.load(Ordering::Relaxed);
            let done = self.done.load(Ordering::Relaxed);
            status.progress = (done * 100).checked_div(total).unwrap_or(0).min(99);
        }
        status
    }

    fn finish(&self, outcome: Result<Vec<ExportResult>>, elapsed_ms: u64) {
        let mut status = self.lock();
        status.execution_time_ms = Some(elapsed_ms);
        match outcome {
            Ok(results) => {
                status.status = ExportJobState::Completed;
                status.progress = 100;
                status.result = Some(results);
            }
            Err(e) => {
                tracing::error!(job_id = %status.job_id, error = %e, "export job failed");
                status.status = ExportJobState::Failed;
                status.error = Some(e.to_string());
            }
        }
    }
}

impl Progress for Job {
    fn begin(&self, total_messages: u64) {
        self.total.fetch_add(total_messages, Ordering::Relaxed);
    }

    fn advance(&self, messages: u64) {
        self.done.fetch_add(messages, Ordering::Relaxed);
    }
}

/// The export jobs of one application, and the lock that runs them one at a time. Created once
/// per application and shared by all its HTTP workers.
#[derive(Default)]
pub struct ExportJobs {
    jobs: Mutex<HashMap<Uuid, Arc<Job>>>,
    runner: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ExportJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportJobs").finish_non_exhaustive()
    }
}

impl ExportJobs {
    fn jobs(&self) -> MutexGuard<'_, HashMap<Uuid, Arc<Job>>> {
        // A plain map that no panic can leave half-updated.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue an export of tenant `tenant_id` into `<out_dir>/<slug>/`; returns the job id.
    ///
    /// Contract: `Error::NotFound{entity:"tenant"}` (and nothing queued) when there is no such
    /// tenant. Must be called inside a Tokio runtime: the job runs on a spawned task.
    pub async fn queue_tenant(
        self: Arc<Self>,
        db: &DatabaseConnection,
        out_dir: &Path,
        tenant_id: Uuid,
    ) -> Result<Uuid> {
        let tenant = tenants::get(db, tenant_id).await?;
        Ok(self.queue(db.clone(), out_dir.to_owned(), Scope::Tenant(tenant.id)))
    }

    /// Queue one job exporting every ACTIVE tenant (as of when it starts) into `out_dir`;
    /// returns the job id. Must be called inside a Tokio runtime.
    pub fn queue_all_active(self: Arc<Self>, db: &DatabaseConnection, out_dir: &Path) -> Uuid {
        self.queue(db.clone(), out_dir.to_owned(), Scope::AllActive)
    }

    /// The state of job `job_id` (a hyphenated UUID, as returned when it was queued).
    ///
    /// Contract: `Error::NotFound{entity:"export job", id: job_id}` for an unknown or
    /// malformed id.
    pub fn status(&self, job_id: &str) -> Result<ExportJobStatus> {
        let job = (job_id.len() == 36)
            .then(|| Uuid::try_parse(job_id).ok())
            .flatten()
            .and_then(|id| self.jobs().get(&id).cloned())
            .ok_or_else(|| Error::not_found("export job", job_id))?;
        Ok(job.snapshot())
    }

    fn queue(self: Arc<Self>, db: DatabaseConnection, out_dir: PathBuf, scope: Scope) -> Uuid {
        let id = Uuid::new_v4();
        let job = Arc::new(Job::waiting(id));
        self.jobs().insert(id, job.clone());
        tokio::spawn(async move {
            let _turn = self.runner.lock().await;
            let started = Instant::now();
            job.lock().status = ExportJobState::Active;
            let outcome = run(&db, &out_dir, scope, &job).await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            job.finish(outcome, elapsed_ms);
        });
        id
    }
}

/// Export the tenants of `scope` in order, stopping at the first failure.
async fn run(
    db: &DatabaseConnection,
    out_dir: &Path,
    scope: Scope,
    job: &Job,
) -> Result<Vec<ExportResult>> {
    let ids: Vec<Uuid> = match scope {
        Scope::Tenant(id) => vec![id],
        Scope::AllActive => tenants::all(db)
            .await?
            .into_iter()
            .filter(|t| t.status == TenantStatus::Active)
            .map(|t| t.id)
            .collect(),
    };
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        results.push(export_tenant(db, &id.to_string(), out_dir, job).await?);
    }
    Ok(results)
}
