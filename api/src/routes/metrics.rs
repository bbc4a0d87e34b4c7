//! `GET /metrics`: Prometheus text format of the application's registry: HTTP request
//! counts and latency histograms per route pattern (`verta_http_requests_total`,
//! `verta_http_requests_duration_seconds`), plus whatever other components register.

use actix_web::{HttpResponse, web};
use prometheus::{Encoder, TextEncoder};
use utoipa::OpenApi;

use crate::error::ApiError;

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4", body = String))
)]
pub async fn metrics(registry: web::Data<prometheus::Registry>) -> Result<HttpResponse, ApiError> {
    let encoder = TextEncoder::new();
    let mut buffer = Vec::new();
    encoder
        .encode(&registry.gather(), &mut buffer)
        .map_err(|e| ApiError::Internal(format!("cannot encode metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(encoder.format_type())
        .body(buffer))
}

/// OpenAPI part of this module.
#[derive(OpenApi)]
#[openapi(paths(metrics))]
pub struct MetricsApi;
