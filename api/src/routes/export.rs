//! Export routes (reference api.md §4), protected by the admin key here (the original left them
//! open): queue an export of one tenant or of all active tenants, and follow it by job id.
//!
//! Jobs run in this process, one after another (the original's export worker had concurrency
//! 1), writing to `EXPORT_DIR`; their state lives in memory for the life of the process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use service::Config;
use service::export::{self, ExportResult, Progress};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::parse_uuid;

/// State of one export job.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportJobStatus {
    /// The job id.
    pub job_id: String,
    /// `waiting`, `active`, `completed` or `failed` (the original's queue states).
    pub status: String,
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

struct Job {
    status: Mutex<ExportJobStatus>,
    total: AtomicU64,
    done: AtomicU64,
}

impl Job {
    fn snapshot(&self) -> ExportJobStatus {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if status.status == "active" {
            let total = self.total.load(Ordering::Relaxed);
            let done = self.done.load(Ordering::Relaxed);
            status.progress = (done * 100).checked_div(total).unwrap_or(0).min(99);
        }
        status
    }

    fn update(&self, f: impl FnOnce(&mut ExportJobStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()));
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

/// The export jobs of one application, and the lock that runs them one at a time. Created
/// once per application (`startup::AppState`) and shared by all actix workers as
/// `web::Data<ExportJobs>`; jobs live in memory, so a restart forgets them.
#[derive(Default)]
pub struct ExportJobs {
    jobs: Mutex<HashMap<Uuid, Arc<Job>>>,
    runner: tokio::sync::Mutex<()>,
}

/// Body of a queued export.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportQueued {
    /// The job to follow with `GET /api/export/status/{jobId}`.
    pub job_id: String,
    /// Human sentence.
    pub message: String,
}

/// Body of a queued all-tenants export.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportAllQueued {
    /// The one job exporting every active tenant.
    pub job_ids: Vec<String>,
    /// Human sentence.
    pub message: String,
}

/// Queue a job exporting `tenant_ids` in order; returns its id.
fn queue(
    jobs: Arc<ExportJobs>,
    db: DatabaseConnection,
    out_dir: std::path::PathBuf,
    tenant_ids: Option<Vec<String>>,
) -> Uuid {
    let id = Uuid::new_v4();
    let job = Arc::new(Job {
        status: Mutex::new(ExportJobStatus {
            job_id: id.to_string(),
            status: "waiting".to_owned(),
            progress: 0,
            retry_count: 0,
            execution_time_ms: None,
            error: None,
            result: None,
        }),
        total: AtomicU64::new(0),
        done: AtomicU64::new(0),
    });
    jobs.jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, job.clone());
    tokio::spawn(async move {
        let _turn = jobs.runner.lock().await;
        let started = std::time::Instant::now();
        job.update(|s| s.status = "active".to_owned());
        let outcome = run_job(&db, &out_dir, tenant_ids, &job).await;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match outcome {
            Ok(results) => job.update(|s| {
                s.status = "completed".to_owned();
                s.progress = 100;
                s.execution_time_ms = Some(ms);
                s.result = Some(results);
            }),
            Err(e) => {
                tracing::error!(job_id = %id, error = %e, "export job failed");
                job.update(|s| {
                    s.status = "failed".to_owned();
                    s.execution_time_ms = Some(ms);
                    s.error = Some(e.to_string());
                });
            }
        }
    });
    id
}

async fn run_job(
    db: &DatabaseConnection,
    out_dir: &std::path::Path,
    tenant_ids: Option<Vec<String>>,
    job: &Job,
) -> service::Result<Vec<ExportResult>> {
    let ids = match tenant_ids {
        Some(ids) => ids,
        None => export::active_tenant_ids(db).await?,
    };
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        results.push(export::export_tenant(db, &id, out_dir, job).await?);
    }
    Ok(results)
}

/// Queue an export of one tenant into `EXPORT_DIR/<slug>/`.
#[utoipa::path(
    post,
    path = "/api/export/tenant/{tenantId}",
    tag = "export",
    params(("tenantId" = String, Path, description = "Tenant id (UUID)")),
    responses(
        (status = 202, description = "Export queued", body = ExportQueued),
        (status = 404, description = "Unknown tenant", body = crate::error::ErrorBody),
    )
)]
pub async fn export_tenant(
    db: web::Data<DatabaseConnection>,
    config: web::Data<Config>,
    jobs: web::Data<ExportJobs>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = parse_uuid(&path)
        .ok_or_else(|| ApiError::invalid("", "Invalid tenant ID format"))?
        .to_string();
    let tenant = service::archive::tenant_by_id_or_slug(db.get_ref(), &tenant_id).await?;
    let id = queue(
        jobs.into_inner(),
        db.get_ref().clone(),
        config.export_dir.clone(),
        Some(vec![tenant.id.clone()]),
    );
    Ok(HttpResponse::Accepted().json(ExportQueued {
        job_id: id.to_string(),
        message: format!("Export job for tenant {} has been queued", tenant.id),
    }))
}

/// Queue one job exporting every active tenant.
#[utoipa::path(
    post,
    path = "/api/export/all-tenants",
    tag = "export",
    responses((status = 202, description = "Export queued", body = ExportAllQueued))
)]
pub async fn export_all(
    db: web::Data<DatabaseConnection>,
    config: web::Data<Config>,
    jobs: web::Data<ExportJobs>,
) -> HttpResponse {
    let id = queue(
        jobs.into_inner(),
        db.get_ref().clone(),
        config.export_dir.clone(),
        None,
    );
    HttpResponse::Accepted().json(ExportAllQueued {
        job_ids: vec![id.to_string()],
        message: "Export job for all tenants has been queued".to_owned(),
    })
}

/// State of an export job.
#[utoipa::path(
    get,
    path = "/api/export/status/{jobId}",
    tag = "export",
    params(("jobId" = String, Path, description = "Job id from the queueing call")),
    responses(
        (status = 200, description = "Job state", body = ExportJobStatus),
        (status = 404, description = "Unknown job", body = crate::error::ErrorBody),
    )
)]
pub async fn status(
    jobs: web::Data<ExportJobs>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::from(service::Error::not_found("export job", path.as_str()));
    let id = parse_uuid(&path).ok_or_else(not_found)?;
    let job = jobs
        .jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .cloned()
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(job.snapshot()))
}

/// Registers the routes relative to the protected `/api` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/export/tenant/{tenantId}", web::post().to(export_tenant))
        .route("/export/all-tenants", web::post().to(export_all))
        .route("/export/status/{jobId}", web::get().to(status));
}

/// OpenAPI part of the export routes.
#[derive(OpenApi)]
#[openapi(
    paths(export_tenant, export_all, status),
    tags((name = "export", description = "Export archives to JSON files (admin)")),
)]
pub struct ExportApi;
