//! Sync jobs: `/api/sync/*` (the original service's job routes) and the tenant-scoped trigger and
//! status under `/api/tenants/{id}/sync`.
//!
//! Handlers extract, call one `service::sync::service` function and map the result. A
//! trigger for a tenant that already has a queued or running job answers 200 with that job
//! (201 when a job was created). Errors use the one error body of the API (the original's
//! sync routes had their own shape).
//!
//! `startDate`/`endDate` of `POST /api/sync` are validated as the original did (ISO 8601 UTC
//! datetimes ending in `Z`), and rejected when `endDate` is before `startDate`; then
//! they are ignored, as the original ignored them: a sync continues from each channel's
//! cursor, and the sync engine takes no time window.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use service::sync::service as sync;
use service::sync::{SyncType, Trigger};
use service::tenants;
use utoipa::{OpenApi, ToSchema};

use crate::error::ApiError;
use crate::extract::{TenantIdParam, from_value, parse_uuid};
use crate::params::{HistoryQuery, Issues};

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
    /// Start of a message window: an ISO 8601 datetime in UTC with `Z` (no offsets), e.g.
    /// `2026-01-31T12:00:00Z`; seconds and fractions optional. Validated, then ignored, as in
    /// the original: the sync always continues from the channel cursors.
    #[serde(default)]
    #[schema(format = DateTime, pattern = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?Z$")]
    pub start_date: Option<String>,
    /// End of a message window, same format as `startDate` and not before it. Validated,
    /// then ignored, as in the original.
    #[serde(default)]
    #[schema(format = DateTime, pattern = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?Z$")]
    pub end_date: Option<String>,
}

impl StartSync {
    /// The sync type asked for, once every field is valid; otherwise a 400 naming each bad
    /// field.
    fn check(&self) -> Result<SyncType, ApiError> {
        let mut issues = Issues::default();
        if parse_uuid(&self.tenant_id).is_none() {
            issues.push("tenantId", "Invalid tenant ID format");
        }
        let sync_type = parse_sync_type(self.sync_type.as_deref()).unwrap_or_else(|_| {
            issues.push("syncType", SYNC_TYPE_MESSAGE);
            SyncType::Incremental
        });
        let mut datetime = |field: &str, raw: Option<&str>| {
            raw.and_then(|text| {
                let parsed = parse_iso_utc(text);
                if parsed.is_none() {
                    issues.push(
                        field,
                        "Invalid ISO datetime (UTC with Z, e.g. 2026-01-31T12:00:00Z)",
                    );
                }
                parsed
            })
        };
        let start = datetime("startDate", self.start_date.as_deref());
        let end = datetime("endDate", self.end_date.as_deref());
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            issues.push("endDate", "endDate must not be before startDate");
        }
        issues.finish(sync_type)
    }
}

/// Parses zod 4's default ISO datetime (`z.iso.datetime()`, what the original accepted):
/// `YYYY-MM-DDTHH:MM`, optionally `:SS` and a fraction of any length, then `Z`; the date must
/// exist (leap years included). Offsets, lower-case letters and spaces are rejected.
fn parse_iso_utc(text: &str) -> Option<DateTime<Utc>> {
    fn number(digits: &str, len: usize) -> Option<u32> {
        (digits.len() == len && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    }
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut ymd = date.split('-');
    let (year, month, day) = (ymd.next()?, ymd.next()?, ymd.next()?);
    if ymd.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(number(year, 4)?).ok()?,
        number(month, 2)?,
        number(day, 2)?,
    )?;
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let mut hms = clock.split(':');
    let (hour, minute) = (number(hms.next()?, 2)?, number(hms.next()?, 2)?);
    let second = match hms.next() {
        Some(s) => number(s, 2)?,
        // A fraction needs seconds.
        None if fraction.is_some() => return None,
        None => 0,
    };
    if hms.next().is_some() {
        return None;
    }
    let nanos = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            // Digits past nanoseconds do not change the instant at this precision.
            let mut padded: String = f.chars().take(9).collect();
            while padded.len() < 9 {
                padded.push('0');
            }
            padded.parse().ok()?
        }
        Some(_) => return None,
    };
    // `from_hms_nano_opt` would accept a leap second (60); zod does not.
    if second > 59 {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some(date.and_time(time).and_utc())
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

const SYNC_TYPE_MESSAGE: &str = "must be 'full' or 'incremental'";

fn parse_sync_type(raw: Option<&str>) -> Result<SyncType, ApiError> {
    match raw {
        None => Ok(SyncType::Incremental),
        Some(s) => {
            SyncType::parse(s).ok_or_else(|| ApiError::invalid("syncType", SYNC_TYPE_MESSAGE))
        }
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

/// Queue a sync of a tenant (the original's `POST /api/sync`).
#[utoipa::path(
    post,
    path = "/api/sync",
    tag = "sync",
    request_body = StartSync,
    responses(
        (status = 201, description = "Job created", body = SyncJobSchema),
        (status = 200, description = "The tenant's queued or running job", body = SyncJobSchema),
        (status = 400, description = "Invalid body (each bad field named in `details.issues`, e.g. `startDate` not an ISO UTC datetime, `endDate` before `startDate`), tenant not active or not Discord", body = crate::error::ErrorBody),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
    )
)]
pub async fn start(
    db: web::Data<DatabaseConnection>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let body: StartSync = from_value(body.into_inner())?;
    let sync_type = body.check()?;
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
    responses(
        (status = 200, description = "`{history: [job]}`"),
        (status = 400, description = "`limit` not an integer from 1 to 100", body = crate::error::ErrorBody),
    )
)]
pub async fn history(
    db: web::Data<DatabaseConnection>,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_datetimes_are_zods_utc_form() {
        for ok in [
            "2026-01-31T12:00:00Z",
            "2026-01-31T12:00Z",
            "2026-01-31T23:59:59.123Z",
            "2026-01-31T00:00:00.123456789123Z",
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
        ] {
            assert!(parse_iso_utc(ok).is_some(), "{ok}");
        }
        for bad in [
            "yesterday",
            "",
            "2026-01-31",
            "2026-01-31T12:00:00",
            "2026-01-31T12:00:00+00:00",
            "2026-01-31T12:00:00+02:00",
            "2026-01-31t12:00:00z",
            "2026-01-31 12:00:00Z",
            "2026-1-31T12:00:00Z",
            "2026-02-30T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "1900-02-29T12:00:00Z",
            "2026-01-31T24:00:00Z",
            "2026-01-31T12:60:00Z",
            "2026-01-31T12:00:60Z",
            "2026-01-31T12:00.5Z",
            "2026-01-31T12:00:00.Z",
            "2026-01-31T12:00:00.1aZ",
            "+2026-01-31T12:00:00Z",
            "2026-01-31T12:00:00:00Z",
        ] {
            assert!(parse_iso_utc(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn iso_datetimes_keep_their_instant() {
        let at = parse_iso_utc("2026-01-31T12:34:56.5Z").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-01-31T12:34:56.500+00:00");
        assert_eq!(
            parse_iso_utc("2026-01-31T12:34Z").unwrap().to_rfc3339(),
            "2026-01-31T12:34:00+00:00"
        );
    }
}
