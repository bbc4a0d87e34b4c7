//! `GET /health`: liveness plus a database round trip (public, no key).

use actix_web::{HttpResponse, web};
use chrono::{SecondsFormat, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// Body of `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers, `unavailable` when it does not.
    #[schema(example = "ok")]
    pub status: String,
    /// `ok` or `unreachable`.
    #[schema(example = "ok")]
    pub database: String,
    /// Time of the check (RFC 3339, UTC, milliseconds).
    pub timestamp: String,
}

/// Health of the service: 200 when the database answers a ping, 503 when it does not.
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "Database unreachable", body = Health),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn health(db: web::Data<DatabaseConnection>) -> HttpResponse {
    let timestamp = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    match db.ping().await {
        Ok(()) => HttpResponse::Ok().json(Health {
            status: "ok".to_owned(),
            database: "ok".to_owned(),
            timestamp,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            HttpResponse::ServiceUnavailable().json(Health {
                status: "unavailable".to_owned(),
                database: "unreachable".to_owned(),
                timestamp,
            })
        }
    }
}

/// Registers `GET /health`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)));
}

/// OpenAPI part of this module.
#[derive(OpenApi)]
#[openapi(paths(health), components(schemas(Health)))]
pub struct HealthApi;
