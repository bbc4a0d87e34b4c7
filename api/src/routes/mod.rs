//! HTTP routes, one module per resource, and the one place where they are registered.
//!
//! To add routes: write a module with handlers annotated `#[utoipa::path(...)]` (full path,
//! e.g. `/api/sync/jobs/{jobId}`), a `pub fn configure(cfg: &mut web::ServiceConfig)` that
//! registers them relative to its scope, and a `#[derive(OpenApi)]` struct listing them; then
//! add one line to [`configure`] and one to [`openapi_parts`]. The integration tests check
//! that the document describes every registered route.

use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::middleware::require_api_key;
use crate::openapi;

pub mod branding;
pub mod export;
pub mod health;
pub mod metrics;
pub mod root;
pub mod site;
pub mod sync;
pub mod tenants;
pub mod v1;

/// Registers every route of the application.
///
/// Order matters: actix picks the first scope whose prefix matches, so public scopes under
/// `/api` (the docs, the `/api/v1` read API) come before the protected `/api` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Public.
    cfg.configure(health::configure)
        .service(SwaggerUi::new("/api/docs/{_:.*}").url(openapi::OPENAPI_PATH, document()))
        .service(web::resource(openapi::DOCS_PATH).route(web::get().to(docs_redirect)));
    // Public read API: `/api/v1` with its own CORS and rate limit.
    cfg.configure(v1::configure);

    // Protected by X-API-KEY.
    cfg.service(
        web::resource("/metrics")
            .wrap(from_fn(require_api_key))
            .route(web::get().to(metrics::metrics)),
    );
    cfg.service(
        web::scope("/api")
            .wrap(from_fn(require_api_key))
            .configure(root::configure)
            .configure(sync::configure)
            .configure(tenants::configure)
            .configure(branding::configure)
            .configure(export::configure),
    );
    // The archive website: its own prefix, and (host-mapped) whatever no route above took.
    cfg.configure(site::configure);
}

/// The OpenAPI parts of every route module (merged by [`openapi::document`]).
pub fn openapi_parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        root::RootApi::openapi(),
        health::HealthApi::openapi(),
        metrics::MetricsApi::openapi(),
        tenants::TenantsApi::openapi(),
        sync::SyncApi::openapi(),
        branding::BrandingApi::openapi(),
        export::ExportApi::openapi(),
        v1::ReadApi::openapi(),
    ]
}

/// The finished document, built once per process.
pub fn document() -> utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(openapi::document).clone()
}

/// `GET /api/docs` -> the Swagger UI at `/api/docs/`.
async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/api/docs/"))
        .finish()
}
