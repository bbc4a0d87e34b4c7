//! `GET /metrics`: Prometheus text format of the application's registry: HTTP request
//! counts and latency histograms per route pattern (`verta_http_requests_total`,
//! `verta_http_requests_duration_seconds`), the number of sync jobs per status
//! (`verta_sync_jobs`, read from the queue at scrape time, so it is right with any number of
//! worker processes), plus whatever other components register.

use actix_web::{HttpResponse, web};
use prometheus::{Encoder, IntGaugeVec, Opts, TextEncoder};
use sea_orm::DatabaseConnection;
use utoipa::OpenApi;

use crate::error::ApiError;

/// Gauges refreshed from the database on every scrape.
#[derive(Clone)]
pub struct QueueGauges {
    jobs: IntGaugeVec,
}

impl QueueGauges {
    /// Creates the gauges and registers them in `registry`.
    pub fn register(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let jobs = IntGaugeVec::new(
            Opts::new("sync_jobs", "Sync jobs in the queue, by status").namespace("verta"),
            &["status"],
        )?;
        registry.register(Box::new(jobs.clone()))?;
        Ok(Self { jobs })
    }

    async fn refresh(&self, db: &DatabaseConnection) {
        match service::sync::service::job_counts(db).await {
            Ok(counts) => {
                self.jobs.reset();
                for (status, n) in counts {
                    self.jobs.with_label_values(&[status.as_str()]).set(n);
                }
            }
            // The HTTP metrics are still worth serving without the queue's.
            Err(e) => tracing::warn!(error = %e, "metrics: cannot count sync jobs"),
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4", body = String))
)]
pub async fn metrics(
    registry: web::Data<prometheus::Registry>,
    gauges: web::Data<QueueGauges>,
    db: web::Data<DatabaseConnection>,
) -> Result<HttpResponse, ApiError> {
    gauges.refresh(db.get_ref()).await;
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
