//! `GET /metrics`: Prometheus text format of the application's registry: HTTP request
//! counts and latency histograms per route pattern, method and status
//! (`verta_http_requests_total`, `verta_http_requests_duration_seconds`, recorded by
//! [`record_request`]), the number of sync jobs per status (`verta_sync_jobs`, read from the
//! queue at scrape time, so it is right with any number of worker processes), plus whatever
//! other components register.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, TextEncoder,
};
use sea_orm::DatabaseConnection;
use utoipa::OpenApi;

use crate::error::ApiError;

/// The `endpoint` label of requests that match no route: scanners and typos must not create
/// a time series each.
pub const UNMATCHED: &str = "UNMATCHED";

/// HTTP request counters and latency histograms, labelled by route pattern (`endpoint`),
/// method and status.
///
/// The pattern is the one the request's path matches in the application's routing table,
/// whether or not the request reached its handler: a request refused by the API key check
/// of the `/api` scope is still counted under `/api/tenants/{id}`.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    durations: HistogramVec,
}

impl HttpMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let labels = ["endpoint", "method", "status"];
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "Total number of HTTP requests").namespace("verta"),
            &labels,
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "http_requests_duration_seconds",
                "HTTP request duration in seconds for all requests",
            )
            .namespace("verta"),
            &labels,
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        Ok(Self {
            requests,
            durations,
        })
    }

    fn observe(&self, endpoint: &str, method: &str, status: u16, started: Instant) {
        let status = status.to_string();
        let labels = [endpoint, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.durations
            .with_label_values(&labels)
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Middleware: records every request in the [`HttpMetrics`] found in the application data
/// (requests are passed through untouched when there are none).
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(metrics) = req.app_data::<web::Data<HttpMetrics>>().cloned() else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let endpoint = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned());
    let method = req.method().clone();
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    metrics.observe(&endpoint, method.as_str(), status.as_u16(), started);
    result
}

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
