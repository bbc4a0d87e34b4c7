//! `GET /api`: a greeting with the API version.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// Body of `GET /api`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Welcome {
    /// Always `Welcome to Verta API`.
    #[schema(example = "Welcome to Verta API")]
    pub message: String,
    /// The API version.
    #[schema(example = "1.0.0")]
    pub version: String,
}

/// API version reported by `GET /api` (the original's).
pub const API_VERSION: &str = "1.0.0";

/// Welcome message and API version.
#[utoipa::path(
    get,
    path = "/api",
    tag = "meta",
    responses((status = 200, description = "Welcome", body = Welcome))
)]
pub async fn index() -> HttpResponse {
    HttpResponse::Ok().json(Welcome {
        message: "Welcome to Verta API".to_owned(),
        version: API_VERSION.to_owned(),
    })
}

/// Registers `GET ""` relative to the `/api` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("").route(web::get().to(index)));
}

/// OpenAPI part of this module.
#[derive(OpenApi)]
#[openapi(paths(index), components(schemas(Welcome)))]
pub struct RootApi;
