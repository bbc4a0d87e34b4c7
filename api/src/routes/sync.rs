//! Sync jobs: `/api/sync/*` (the reference's job routes) and the tenant-scoped trigger and
//! status under `/api/tenants/{id}/sync`.
//!
//! Handlers extract, call one `service::sync::service` function and map the result. A
//! trigger for a tenant that already has a queued or running job answers 200 with that job
//! (201 when a job was created). Errors use the one error body of the API (the original's
//! sync routes had their own shape).

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use service::sync::service as sync;
use service::sync::{SyncType, Trigger};
use service::tenants;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::ApiError;
use crate::extract::{TenantIdParam, from_value, parse_uuid};

/// Body of `POST /api/sync`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartSync {
    /// Tenant to sync (UUID).
    pub tenant_id: String,
    /// `full` (re-read every channel) or `incremental` (from the cursors, default).
    #[serde(default)]
    pub sync_type: Option<String>,
    /// Only these channels (Discord channel ids or channel row ids).
    #[serde(default)]
    pub channel_ids: Option<Vec<String>>,
    /// Accepted for compatibility; the sync always continues from the cursors.
    #[serde(default)]
    pub start_date: Option<String>,
    /// Accepted for compatibility (ignored, like in the original).
    #[serde(default)]
    pub end_date: Option<String>,
}

/// Body of `POST /api/tenants/{id}/sync` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantSync {
    /// `full` or `incremental` (default).
    #[serde(default)]
    pub sync_type: Option<String>,
}

/// A sync job: status, counts, per-channel progress, ETA and errors.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SyncJob)]
pub struct SyncJobSchema {
    /// Job id.
    pub id: String,
    /// Same as `id`.
    pub job_id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// `full` or `incremental`.
    pub sync_type: String,
    /// `api`, `tenant_created`, `schedule`, `cli` or `retry`.
    pub trigger: String,
    /// Counts: channelsTotal, channelsCompleted, channelsFailed, channelsInProgress,
    /// messagesProcessed, messagesPerSecond, etaSeconds.
    pub progress: serde_json::Value,
    /// Per-channel state.
    pub channels: Vec<serde_json::Value>,
    /// Channels that failed, with the reason.
    pub errors: Vec<serde_json::Value>,
    /// Why the whole job failed.
    pub error: Option<String>,
}

/// Query of the history route.
#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// How many jobs (1-100, default 10).
    pub limit: Option<String>,
}

fn parse_sync_type(raw: Option<&str>) -> Result<SyncType, ApiError> {
    match raw {
        None => Ok(SyncType::Incremental),
        Some(s) => SyncType::parse(s)
            .ok_or_else(|| ApiError::invalid("syncType", "must be 'full' or 'incremental'")),
    }
}

fn started(view: service::sync::view::JobView, created: bool) -> HttpResponse {
    let body = json!({
        "jobId": view.id,
        "message": if created { "Sync job started successfully" } else { "A sync job is already queued or running for this tenant" },
        "created": created,
        "job": view,
    });
    if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

/// Queue a sync of a tenant (the reference's `POST /api/sync`).
#[utoipa::path(
    post,
    path = "/api/sync",
    tag = "sync",
    request_body = StartSync,
    responses(
        (status = 201, description = "Job created", body = SyncJobSchema),
        (status = 200, description = "The tenant's queued or running job", body = SyncJobSchema),
        (status = 400, description = "Invalid body, tenant not active or not Discord", body = crate::error::ErrorBody),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
    )
)]
pub async fn start(
    db: web::Data<DatabaseConnection>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let body: StartSync = from_value(body.into_inner())?;
    if parse_uuid(&body.tenant_id).is_none() {
        return Err(ApiError::invalid("tenantId", "Invalid tenant ID format"));
    }
    let sync_type = parse_sync_type(body.sync_type.as_deref())?;
    let tenant = tenants::get_by_id_or_slug(db.get_ref(), &body.tenant_id).await?;
    let (view, created) = sync::trigger(
        db.get_ref(),
        &tenant,
        sync_type,
        Trigger::Api,
        body.channel_ids,
    )
    .await?;
    Ok(started(view, created))
}

/// A job with its per-channel progress, counts, ETA and errors.
#[utoipa::path(
    get,
    path = "/api/sync/jobs/{jobId}",
    tag = "sync",
    params(("jobId" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = SyncJobSchema),
        (status = 404, description = "No such job", body = crate::error::ErrorBody),
    )
)]
pub async fn job(
    db: web::Data<DatabaseConnection>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sync::job(db.get_ref(), &path.into_inner()).await?))
}

/// Cancel a queued or running job (a running job stops within a page).
#[utoipa::path(
    delete,
    path = "/api/sync/jobs/{jobId}",
    tag = "sync",
    params(("jobId" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "Cancelled (or cancelling)"),
        (status = 404, description = "No such job", body = crate::error::ErrorBody),
        (status = 422, description = "The job has already ended", body = crate::error::ErrorBody),
    )
)]
pub async fn cancel(
    db: web::Data<DatabaseConnection>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = sync::cancel(db.get_ref(), &path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "message": "Job cancelled successfully",
        "cancelled": true,
        "job": view,
    })))
}

/// Queue a copy of a failed or cancelled job.
#[utoipa::path(
    post,
    path = "/api/sync/jobs/{jobId}/retry",
    tag = "sync",
    params(("jobId" = String, Path, description = "Job id")),
    responses(
        (status = 201, description = "Retry queued"),
        (status = 404, description = "No such job", body = crate::error::ErrorBody),
        (status = 422, description = "The job did not fail", body = crate::error::ErrorBody),
    )
)]
pub async fn retry(
    db: web::Data<DatabaseConnection>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (view, created) = sync::retry(db.get_ref(), &path.into_inner()).await?;
    let body = json!({"jobId": view.id, "message": "Job retried successfully", "created": created, "job": view});
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// The tenant's newest jobs (any state), newest first.
#[utoipa::path(
    get,
    path = "/api/sync/history/{tenantId}",
    tag = "sync",
    params(("tenantId" = String, Path, description = "Tenant id"), HistoryQuery),
    responses((status = 200, description = "`{history: [job]}`"))
)]
pub async fn history(
    db: web::Data<DatabaseConnection>,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query
        .limit
        .as_deref()
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let jobs = sync::history(db.get_ref(), &path.into_inner(), limit).await?;
    Ok(HttpResponse::Ok().json(json!({ "history": jobs })))
}

/// Queue a sync of this tenant (`syncType` defaults to incremental; a missing body is `{}`).
#[utoipa::path(
    post,
    path = "/api/tenants/{id}/sync",
    tag = "sync",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    request_body(content = TenantSync, description = "Optional"),
    responses(
        (status = 201, description = "Job created"),
        (status = 200, description = "The tenant's queued or running job"),
        (status = 400, description = "Invalid syncType, tenant not active or not Discord", body = crate::error::ErrorBody),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
    )
)]
pub async fn tenant_sync(
    db: web::Data<DatabaseConnection>,
    id: TenantIdParam,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: TenantSync = if body.iter().all(u8::is_ascii_whitespace) {
        TenantSync::default()
    } else {
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("Malformed JSON body: {e}")))?;
        from_value(value)?
    };
    let sync_type = parse_sync_type(body.sync_type.as_deref())?;
    let tenant = tenants::get(db.get_ref(), id.0).await?;
    let (view, created) =
        sync::trigger(db.get_ref(), &tenant, sync_type, Trigger::Api, None).await?;
    Ok(started(view, created))
}

/// The tenant's newest job of any state, or `never_synced`.
#[utoipa::path(
    get,
    path = "/api/tenants/{id}/sync/status",
    tag = "sync",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    responses((status = 200, description = "The newest job, or `{status: never_synced}`"))
)]
pub async fn tenant_status(
    db: web::Data<DatabaseConnection>,
    id: TenantIdParam,
) -> Result<HttpResponse, ApiError> {
    Ok(match sync::latest(db.get_ref(), &id.0.to_string()).await? {
        Some(view) => HttpResponse::Ok().json(view),
        None => HttpResponse::Ok().json(json!({
            "status": "never_synced",
            "message": "This tenant has never been synced",
        })),
    })
}

/// Registers the routes relative to the `/api` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/sync").route(web::post().to(start)))
        .service(
            web::resource("/sync/jobs/{jobId}")
                .route(web::get().to(job))
                .route(web::delete().to(cancel)),
        )
        .service(web::resource("/sync/jobs/{jobId}/retry").route(web::post().to(retry)))
        .service(web::resource("/sync/history/{tenantId}").route(web::get().to(history)))
        .service(web::resource("/tenants/{id}/sync").route(web::post().to(tenant_sync)))
        .service(web::resource("/tenants/{id}/sync/status").route(web::get().to(tenant_status)));
}

/// OpenAPI part of this module.
#[derive(OpenApi)]
#[openapi(
    paths(start, job, cancel, retry, history, tenant_sync, tenant_status),
    components(schemas(StartSync, TenantSync, SyncJobSchema))
)]
pub struct SyncApi;
