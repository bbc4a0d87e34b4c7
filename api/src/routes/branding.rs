//! `/api/tenants/{id}/branding`: a tenant's logo and colours (admin side; the public read
//! API serves the same record).

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use service::branding::{self, BrandingInput};
use utoipa::{OpenApi, ToSchema};

use crate::error::ApiError;
use crate::extract::{TenantIdParam, ValidJson};
use crate::site_cache::SiteCache;

/// A tenant's branding.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Branding)]
pub struct BrandingSchema {
    /// Record id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Owning tenant.
    #[schema(format = Uuid)]
    pub tenant_id: String,
    /// Logo as a URL or data URI, or null.
    pub logo: Option<String>,
    /// `#RRGGBB` (default `#3b82f6`).
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    pub primary_color: String,
    /// `#RRGGBB` (default `#64748b`).
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    pub secondary_color: String,
    /// `#RRGGBB` (default `#10b981`).
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    pub accent_color: String,
    /// Creation time, RFC 3339 UTC with milliseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last change time, RFC 3339 UTC with milliseconds.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Body of `PUT /api/tenants/{id}/branding`: any subset of the fields. Absent fields keep
/// their value (the defaults on the first write); `"logo": null` removes the logo.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = BrandingInput)]
pub struct BrandingInputSchema {
    /// URL or data URI, at most 65,535 bytes; null removes it.
    #[schema(max_length = 65535)]
    pub logo: Option<String>,
    /// `#RRGGBB`.
    #[schema(nullable = false, pattern = "^#[0-9A-Fa-f]{6}$")]
    pub primary_color: Option<String>,
    /// `#RRGGBB`.
    #[schema(nullable = false, pattern = "^#[0-9A-Fa-f]{6}$")]
    pub secondary_color: Option<String>,
    /// `#RRGGBB`.
    #[schema(nullable = false, pattern = "^#[0-9A-Fa-f]{6}$")]
    pub accent_color: Option<String>,
}

/// A tenant's branding, or `null` when none has been set.
#[utoipa::path(
    get,
    path = "/api/tenants/{id}/branding",
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The branding, or null when none is set", body = Option<BrandingSchema>),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
    )
)]
pub async fn get(
    db: web::Data<DatabaseConnection>,
    id: TenantIdParam,
) -> Result<HttpResponse, ApiError> {
    let branding = branding::get(db.get_ref(), id.0).await?;
    Ok(HttpResponse::Ok().json(branding))
}

/// Set a tenant's branding (create or change the given fields).
#[utoipa::path(
    put,
    path = "/api/tenants/{id}/branding",
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = BrandingInputSchema,
    responses(
        (status = 200, description = "The stored branding", body = BrandingSchema),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
    )
)]
pub async fn put(
    db: web::Data<DatabaseConnection>,
    site_cache: web::Data<SiteCache>,
    id: TenantIdParam,
    body: ValidJson<BrandingInput>,
) -> Result<HttpResponse, ApiError> {
    let branding = branding::upsert(db.get_ref(), id.0, &body.0).await?;
    // The website shows the new logo and colours at once.
    site_cache.invalidate_all();
    Ok(HttpResponse::Ok().json(branding))
}

/// Registers the routes relative to the `/api` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tenants/{id}/branding")
            .route(web::get().to(get))
            .route(web::put().to(put)),
    );
}

/// OpenAPI part of this module.
#[derive(OpenApi)]
#[openapi(
    paths(get, put),
    components(schemas(BrandingSchema, BrandingInputSchema))
)]
pub struct BrandingApi;
