//! `/api/tenants`: list, get, create, update, delete.
//!
//! Handlers extract, call one `service::tenants` function and map the result; validation
//! rules, slug generation and conflict detection live in the service. The `*Schema` types
//! here only describe the wire format for the OpenAPI document (the service types are what
//! is actually (de)serialised).

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use service::archive::TenantCache;
use service::tenants::{
    self, CreateTenant, ListTenantsQuery, Platform, TenantStatus, UpdateTenant,
};
use utoipa::{OpenApi, ToSchema};

use crate::error::ApiError;
use crate::extract::{TenantIdParam, ValidJson};
use crate::params::TenantListQuery;
use crate::site_cache::SiteCache;

/// A tenant (exactly these eight fields).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Tenant)]
pub struct TenantSchema {
    /// UUID v4, lower case.
    #[schema(format = Uuid)]
    pub id: String,
    /// Display name, 1-255 characters.
    pub name: String,
    /// Unique URL handle: 3-50 characters, `^[a-z0-9]+(?:-[a-z0-9]+)*$`.
    pub slug: String,
    /// Lifecycle status.
    pub status: TenantStatus,
    /// Source platform.
    pub platform: Platform,
    /// The platform's id of the community (Discord guild id); unique per platform.
    pub platform_id: String,
    /// Creation time, RFC 3339 UTC with milliseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last change time, RFC 3339 UTC with milliseconds.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Body of `POST /api/tenants`. Unknown fields are ignored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CreateTenant)]
pub struct CreateTenantSchema {
    /// Display name; trimmed, then 1-255 characters (so not only whitespace).
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: String,
    /// 3-50 characters `^[a-z0-9]+(?:-[a-z0-9]+)*$`; generated from the name (and made
    /// unique) when absent or empty.
    #[schema(
        nullable = false,
        min_length = 3,
        max_length = 50,
        pattern = "^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
    /// `slack` or `discord`.
    pub platform: Platform,
    /// The platform's id; trimmed, then 1-255 characters.
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub platform_id: String,
    /// Default `ACTIVE`.
    #[schema(nullable = false)]
    pub status: Option<TenantStatus>,
}

/// Body of `PATCH /api/tenants/{id}`: any non-empty subset of the fields, same rules as
/// create (no slug generation).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UpdateTenant)]
pub struct UpdateTenantSchema {
    /// New display name.
    #[schema(nullable = false, min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: Option<String>,
    /// New slug.
    #[schema(
        nullable = false,
        min_length = 3,
        max_length = 50,
        pattern = "^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
    /// New platform.
    #[schema(nullable = false)]
    pub platform: Option<Platform>,
    /// New platform id.
    #[schema(nullable = false, min_length = 1, max_length = 255, pattern = "\\S")]
    pub platform_id: Option<String>,
    /// New status.
    #[schema(nullable = false)]
    pub status: Option<TenantStatus>,
}

/// Page position of a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Pagination)]
pub struct PaginationSchema {
    /// Requested page (1-based).
    pub page: u64,
    /// Page size.
    pub limit: u64,
    /// Number of tenants across all pages.
    pub total: u64,
    /// `ceil(total / limit)`; 0 when there are none.
    pub total_pages: u64,
}

/// One page of tenants.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TenantPage)]
pub struct TenantPageSchema {
    /// The tenants of this page (empty past the end).
    pub data: Vec<TenantSchema>,
    /// Where this page is.
    pub pagination: PaginationSchema,
}

/// List tenants, one page at a time.
#[utoipa::path(
    get,
    path = "/api/tenants",
    tag = "tenants",
    params(TenantListQuery),
    responses((status = 200, description = "A page of tenants", body = TenantPageSchema))
)]
pub async fn list(
    db: web::Data<DatabaseConnection>,
    query: web::Query<TenantListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (page, limit) = query.check_paging()?;
    let query = query.into_inner();
    let list = ListTenantsQuery {
        page,
        limit,
        sort_by: query.sort_by,
        sort_order: query.sort_order,
    };
    let page = tenants::list(db.get_ref(), &list).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get one tenant.
#[utoipa::path(
    get,
    path = "/api/tenants/{id}",
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant", body = TenantSchema),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
    )
)]
pub async fn get(
    db: web::Data<DatabaseConnection>,
    id: TenantIdParam,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenants::get(db.get_ref(), id.0).await?;
    Ok(HttpResponse::Ok().json(tenant))
}

/// Create a tenant.
#[utoipa::path(
    post,
    path = "/api/tenants",
    tag = "tenants",
    request_body = CreateTenantSchema,
    responses(
        (status = 201, description = "Created", body = TenantSchema),
        (status = 409, description = "Slug or (platform, platformId) taken", body = crate::error::ErrorBody),
    )
)]
pub async fn create(
    db: web::Data<DatabaseConnection>,
    body: ValidJson<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenants::create(db.get_ref(), &body.0).await?;
    // A new Discord tenant gets its first (full) sync queued; never fails the creation.
    service::sync::service::on_tenant_created(db.get_ref(), &tenant).await;
    Ok(HttpResponse::Created().json(tenant))
}

/// Change any subset of a tenant's fields.
#[utoipa::path(
    patch,
    path = "/api/tenants/{id}",
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    request_body = UpdateTenantSchema,
    responses(
        (status = 200, description = "The updated tenant", body = TenantSchema),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
        (status = 409, description = "Slug or (platform, platformId) taken", body = crate::error::ErrorBody),
    )
)]
pub async fn update(
    db: web::Data<DatabaseConnection>,
    cache: web::Data<TenantCache>,
    site_cache: web::Data<SiteCache>,
    id: TenantIdParam,
    body: ValidJson<UpdateTenant>,
) -> Result<HttpResponse, ApiError> {
    if body.0.is_empty() {
        return Err(ApiError::BadRequest(
            "No valid fields provided for update".to_owned(),
        ));
    }
    let tenant = tenants::update(db.get_ref(), id.0, &body.0).await?;
    // The read API and the website must not serve the old slug or fields from their caches.
    cache.invalidate_all();
    site_cache.invalidate_all();
    Ok(HttpResponse::Ok().json(tenant))
}

/// Delete a tenant and everything archived under it.
#[utoipa::path(
    delete,
    path = "/api/tenants/{id}",
    tag = "tenants",
    params(("id" = uuid::Uuid, Path, description = "Tenant id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such tenant", body = crate::error::ErrorBody),
    )
)]
pub async fn delete(
    db: web::Data<DatabaseConnection>,
    cache: web::Data<TenantCache>,
    site_cache: web::Data<SiteCache>,
    files: web::Data<service::files::BlobStore>,
    id: TenantIdParam,
) -> Result<HttpResponse, ApiError> {
    tenants::delete(db.get_ref(), id.0).await?;
    cache.invalidate_all();
    site_cache.invalidate_all();
    // The tenant's attachment files that no other tenant shares go now, in the background
    // (the listing of a large store takes a while; workers also collect every 6 hours).
    let (db, files) = (db.get_ref().clone(), files.get_ref().clone());
    actix_web::rt::spawn(async move { service::files::gc_logged(&db, &files).await });
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes relative to the `/api` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tenants")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/tenants/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

/// OpenAPI part of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, get, create, update, delete),
    components(schemas(
        TenantSchema,
        TenantStatus,
        Platform,
        CreateTenantSchema,
        UpdateTenantSchema,
        PaginationSchema,
        TenantPageSchema
    ))
)]
pub struct TenantsApi;
