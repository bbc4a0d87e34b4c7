//! Start-up: connect, migrate, bind, serve (Zero To Production's `startup.rs`).
//!
//! [`Application::build`] binds before it returns, so callers (the `serve` command, the
//! integration tests) learn the real port even when `PORT=0`. The actix `App` itself is
//! assembled by [`app`], so in-process tests can build exactly the same routing.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use sea_orm::DatabaseConnection;
use service::Config;
use service::archive::{MessageReader, TenantCache};
use service::export::ExportJobs;
use service::files::BlobStore;
use service::search::SearchIndex;
use tokio::sync::watch;
use tracing_actix_web::TracingLogger;

use crate::error::{self, ApiError};
use crate::middleware::{self as mw, AdminKey};
use crate::routes;
use crate::routes::metrics::{self as metrics, HttpMetrics, QueueGauges};
use crate::routes::v1::rate_limit::ReadApiLimiter;
use crate::site_cache::SiteCache;
use crate::telemetry::RequestSpan;

/// Largest accepted JSON request body (the original's limit, Express's 100 kB). Larger
/// bodies are answered with 413.
pub const JSON_BODY_LIMIT: usize = 100 * 1024;

/// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Connecting to the database or migrating it failed.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// `HOST:PORT` as configured.
        address: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The Prometheus metrics could not be registered.
    #[error("cannot set up metrics: {0}")]
    Metrics(String),
}

/// What runs next to the HTTP API in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Also run the sync worker and the scheduler (`verta serve` without `--no-worker`).
    pub worker: bool,
}

/// Everything the request handlers share. Cloned into every actix worker.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool (available to handlers as `web::Data<DatabaseConnection>`).
    pub db: DatabaseConnection,
    /// The configuration (available to handlers as `web::Data<Config>`).
    pub config: web::Data<Config>,
    /// The admin key expected in `X-API-KEY` (`web::Data<AdminKey>`).
    pub admin_key: AdminKey,
    /// The registry `/metrics` renders, where other components register their own
    /// collectors.
    pub registry: prometheus::Registry,
    /// HTTP request counters and latencies (registered in `registry`).
    pub http_metrics: web::Data<HttpMetrics>,
    /// Queue gauges refreshed on every scrape of `/metrics`.
    pub queue_gauges: QueueGauges,
    /// The public read API's per-client limiter, one for all workers.
    pub read_limiter: web::Data<ReadApiLimiter>,
    /// Export jobs queued through the admin export routes, one registry for all workers.
    pub export_jobs: web::Data<ExportJobs>,
    /// Tenants by slug for the read API's `X-Tenant-Slug` (short TTL, dropped by the admin
    /// routes on tenant update and delete), one for all workers.
    pub tenant_cache: web::Data<TenantCache>,
    /// What serves message pages (direct SQLite connections on an SQLite file), one for all
    /// workers.
    pub message_reader: web::Data<MessageReader>,
    /// The archive website's rendered pages (`SITE_CACHE_SECS`), one for all workers.
    pub site_cache: web::Data<SiteCache>,
    /// The search index this process answers queries from (`SEARCH_INDEX_DIR`).
    pub search: web::Data<SearchIndex>,
    /// The attachment store (`ATTACHMENT_STORE`) the read API and the website serve files
    /// from, opened once.
    pub files: web::Data<BlobStore>,
}

impl AppState {
    /// State with a fresh metrics registry (one per application, so several applications in
    /// one process - the tests - do not collide).
    pub fn new(
        db: DatabaseConnection,
        config: Config,
        admin_key: AdminKey,
        search: Arc<SearchIndex>,
        files: BlobStore,
    ) -> Result<Self, StartupError> {
        let registry = prometheus::Registry::new();
        let http_metrics =
            HttpMetrics::register(&registry).map_err(|e| StartupError::Metrics(e.to_string()))?;
        let queue_gauges =
            QueueGauges::register(&registry).map_err(|e| StartupError::Metrics(e.to_string()))?;
        Ok(Self {
            message_reader: web::Data::new(MessageReader::new(db.clone())),
            db,
            read_limiter: web::Data::new(ReadApiLimiter::new(config.read_api_rate_limit)),
            export_jobs: web::Data::new(ExportJobs::default()),
            tenant_cache: web::Data::new(TenantCache::default()),
            site_cache: web::Data::new(SiteCache::new(std::time::Duration::from_secs(
                config.site_cache_secs,
            ))),
            config: web::Data::new(config),
            admin_key,
            search: web::Data::from(search),
            files: web::Data::new(files),
            registry,
            http_metrics: web::Data::new(http_metrics),
            queue_gauges,
        })
    }
}

/// The actix application: extractor configuration (JSON limit and errors, query and path
/// errors), shared data, every route ([`routes::configure`]), the JSON 404/405 default
/// service, request metrics, request logging with a request id in `x-request-id`.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json_config = web::JsonConfig::default()
        .limit(JSON_BODY_LIMIT)
        .error_handler(|err, _req| error::json_error(err, JSON_BODY_LIMIT).into());
    let query_config = web::QueryConfig::default().error_handler(|err, _req| {
        let err: ApiError = error::query_error(err);
        err.into()
    });
    let path_config = web::PathConfig::default().error_handler(|err, _req| {
        let err: ApiError = error::path_error(err);
        err.into()
    });
    App::new()
        .app_data(json_config)
        .app_data(query_config)
        .app_data(path_config)
        .app_data(web::Data::new(state.db.clone()))
        .app_data(state.config.clone())
        .app_data(web::Data::new(state.admin_key.clone()))
        .app_data(web::Data::new(state.registry.clone()))
        .app_data(state.http_metrics.clone())
        .app_data(web::Data::new(state.queue_gauges.clone()))
        .app_data(state.read_limiter.clone())
        .app_data(state.export_jobs.clone())
        .app_data(state.tenant_cache.clone())
        .app_data(state.message_reader.clone())
        .app_data(state.site_cache.clone())
        .app_data(state.search.clone())
        .app_data(state.files.clone())
        .configure(routes::configure)
        .default_service(web::to(mw::no_route))
        .wrap(from_fn(mw::finish_response))
        .wrap(from_fn(metrics::record_request))
        .wrap(TracingLogger::<RequestSpan>::new())
}

/// A bound, not yet running HTTP server (plus the sync worker when enabled).
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    worker: Option<tokio::task::JoinHandle<()>>,
    indexer: tokio::task::JoinHandle<()>,
    stop_worker: watch::Sender<bool>,
}

impl Application {
    /// Connect to `config.database_url`, apply pending migrations and bind `HOST:PORT`;
    /// HTTP API only (no sync worker). Tests use this with `port: 0`.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with(config, ServeOptions { worker: false }).await
    }

    /// Like [`Application::build`], and with `options.worker` also starts the sync worker
    /// and scheduler (see [`spawn_sync_worker`]).
    pub async fn build_with(config: Config, options: ServeOptions) -> Result<Self, StartupError> {
        let db = service::db::connect(&config).await?;
        service::db::migrate(&db).await?;
        let admin_key = admin_key(&config);
        let address = config.listen_address();
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: address.clone(),
                source,
            })?
            .port();
        let search = SearchIndex::open(&config.search_index_dir())?;
        let files = BlobStore::open(&config.attachment_store())?;
        let state = AppState::new(db, config, admin_key, search, files)?;
        let app_state = state.clone();
        let server = HttpServer::new(move || app(app_state.clone()))
            .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                address: address.clone(),
                source,
            })?
            .run();
        let (stop_worker, stopped) = watch::channel(false);
        // The index belongs to the process that answers queries: its indexer runs with or
        // without the sync worker.
        let indexer = tokio::spawn(
            state
                .search
                .clone()
                .into_inner()
                .run(state.db.clone(), stopped.clone()),
        );
        let worker = if options.worker {
            spawn_sync_worker(state.db.clone(), state.config.clone(), stopped)
        } else {
            None
        };
        tracing::info!(%address, port, worker = options.worker, "HTTP API listening");
        Ok(Self {
            port,
            server,
            state,
            worker,
            indexer,
            stop_worker,
        })
    }

    /// The search index this process serves (tests wait for it, or make it catch up).
    pub fn search_index(&self) -> Arc<SearchIndex> {
        self.state.search.clone().into_inner()
    }

    /// The attachment store this process serves files from.
    pub fn files(&self) -> BlobStore {
        self.state.files.get_ref().clone()
    }

    /// The bound TCP port (the real one when configured with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The application's connection pool (tests use it to inspect or break the database).
    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// The admin key this process expects in `X-API-KEY`.
    pub fn admin_key(&self) -> &AdminKey {
        &self.state.admin_key
    }

    /// The Prometheus registry `/metrics` renders; register further collectors here.
    pub fn metrics_registry(&self) -> &prometheus::Registry {
        &self.state.registry
    }

    /// Serve until SIGINT/SIGTERM (in-flight requests get [`SHUTDOWN_TIMEOUT_SECS`] to
    /// finish), then stop the worker and wait for it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let _ = self.stop_worker.send(true);
        if let Some(worker) = self.worker
            && let Err(e) = worker.await
        {
            tracing::error!(error = %e, "sync worker task ended abnormally");
        }
        if let Err(e) = self.indexer.await {
            tracing::error!(error = %e, "search indexer task ended abnormally");
        }
        tracing::info!("HTTP API stopped");
        result
    }
}

/// The configured key, or a random one that is logged once (there is no other way to learn
/// it).
fn admin_key(config: &Config) -> AdminKey {
    match config.admin_api_key.as_deref() {
        Some(key) if !key.is_empty() => AdminKey::new(key),
        _ => {
            let key = AdminKey::generate();
            tracing::warn!(
                admin_api_key = key.expose(),
                "ADMIN_API_KEY is not set: generated a random key for this process"
            );
            key
        }
    }
}

/// HOOK for the sync engine: start the sync worker and the scheduler of this process on
/// `db`, and return their task. They must stop (finishing or releasing the current job) once
/// `stop` turns `true`. `verta serve` calls this unless `--no-worker`; `verta worker` runs
/// the same through [`run_worker`].
pub fn spawn_sync_worker(
    db: DatabaseConnection,
    config: web::Data<Config>,
    stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    Some(service::sync::spawn_worker(db, config.get_ref(), stop))
}

/// `verta worker`: connect, migrate, run the sync worker and scheduler until SIGINT/SIGTERM.
pub async fn run_worker(config: Config) -> Result<(), StartupError> {
    let db = service::db::connect(&config).await?;
    service::db::migrate(&db).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = spawn_sync_worker(db, web::Data::new(config), stop_rx);
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    if let Some(worker) = worker
        && let Err(e) = worker.await
    {
        tracing::error!(error = %e, "sync worker task ended abnormally");
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
