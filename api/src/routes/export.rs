//! Export routes, protected by the admin key here (the original left them
//! open): queue an export of one tenant or of all active tenants, and follow it by job id. The
//! jobs themselves run in `service::export::jobs`.

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use service::Config;
use service::export::{ExportJobStatus, ExportJobs};
use utoipa::{OpenApi, ToSchema};

use crate::error::ApiError;
use crate::extract::parse_uuid;

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
    let tenant_id =
        parse_uuid(&path).ok_or_else(|| ApiError::invalid("", "Invalid tenant ID format"))?;
    let job_id = jobs
        .into_inner()
        .queue_tenant(db.get_ref(), &config.export_dir, tenant_id)
        .await?;
    Ok(HttpResponse::Accepted().json(ExportQueued {
        job_id: job_id.to_string(),
        message: format!("Export job for tenant {tenant_id} has been queued"),
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
    let job_id = jobs
        .into_inner()
        .queue_all_active(db.get_ref(), &config.export_dir);
    HttpResponse::Accepted().json(ExportAllQueued {
        job_ids: vec![job_id.to_string()],
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
    Ok(HttpResponse::Ok().json(jobs.status(&path)?))
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
