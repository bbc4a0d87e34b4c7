//! The public read API, `/api/v1`: read-only access to one tenant's
//! archive, selected by the `X-Tenant-Slug` header. No admin key; CORS open to any origin; a
//! per-client rate limit ([`rate_limit`]). Every success is `{"data": ..., "meta": {...}}`;
//! errors use the standard body (400 for a missing header or bad parameters, 404 for an
//! unknown tenant, channel or message, 429 over the rate limit).
//!
//! Handlers only extract, call one `service::archive` function (or the search index, in
//! [`search`]; the attachment store, in [`attachments`]) and wrap the result.

pub mod attachments;
pub mod rate_limit;
pub mod search;

use std::future::Future;
use std::pin::Pin;

use actix_cors::Cors;
use actix_web::dev::Payload;
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use service::archive::{
    self, MessageContext, MessagePage, MessagePageMeta, MessageReader, TenantCache, ThreadPage,
    ThreadPageMeta,
    view::{BrandingView, ChannelSummary, MessageView, TenantView, ThreadView},
};
use utoipa::{OpenApi, ToSchema};

use crate::error::ApiError;
use crate::params::{ContextQuery, MessagesQuery, ThreadsQuery};

/// The header selecting the tenant.
pub const TENANT_HEADER: &str = "x-tenant-slug";

/// The tenant named by `X-Tenant-Slug`: missing or empty -> 400, unknown -> 404. Looked up
/// through the application's [`TenantCache`] (a renamed or deleted tenant is seen at once when
/// changed through this process, within the cache's TTL otherwise).
#[derive(Debug, Clone)]
pub struct ReadTenant(pub TenantView);

impl FromRequest for ReadTenant {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let slug = req
            .headers()
            .get(TENANT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let db = req.app_data::<web::Data<DatabaseConnection>>().cloned();
        let cache = req.app_data::<web::Data<TenantCache>>().cloned();
        Box::pin(async move {
            let slug = slug.ok_or_else(|| {
                ApiError::invalid(
                    "X-Tenant-Slug",
                    "The X-Tenant-Slug header is required for all API requests",
                )
            })?;
            let db = db.ok_or_else(|| ApiError::Internal("database not configured".into()))?;
            let cache =
                cache.ok_or_else(|| ApiError::Internal("tenant cache not configured".into()))?;
            let tenant = cache
                .tenant_by_slug(db.get_ref(), &slug)
                .await
                .map_err(ApiError::from)?;
            Ok(ReadTenant(tenant))
        })
    }
}

/// `meta` of single objects: always `{}`.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct EmptyMeta {}

/// `meta` of the channel list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountMeta {
    /// Number of items in `data`.
    pub count: usize,
}

/// The envelope of every read API success.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<D, M> {
    /// The payload.
    pub data: D,
    /// Paging and other facts about `data`.
    pub meta: M,
}

fn ok<D: Serialize, M: Serialize>(data: D, meta: M) -> HttpResponse {
    HttpResponse::Ok().json(Envelope { data, meta })
}

/// The tenant selected by the header.
#[utoipa::path(
    get,
    path = "/api/v1/tenant",
    tag = "read",
    params(("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read")),
    responses(
        (status = 200, description = "The tenant", body = Envelope<TenantView, EmptyMeta>),
        (status = 404, description = "Unknown tenant", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn tenant(ReadTenant(t): ReadTenant) -> HttpResponse {
    ok(t, EmptyMeta {})
}

/// The tenant's branding (`data: null` when it has none).
#[utoipa::path(
    get,
    path = "/api/v1/branding",
    tag = "read",
    params(("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read")),
    responses(
        (status = 200, description = "Branding or null", body = Envelope<Option<BrandingView>, EmptyMeta>),
        (status = 404, description = "Unknown tenant", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn branding(
    db: web::Data<DatabaseConnection>,
    ReadTenant(t): ReadTenant,
) -> Result<HttpResponse, ApiError> {
    let branding = archive::branding(db.get_ref(), &t.id).await?;
    Ok(ok(branding, EmptyMeta {}))
}

/// All archived channels (categories, channels, forums, threads) with message counts and last
/// activity.
#[utoipa::path(
    get,
    path = "/api/v1/channels",
    tag = "read",
    params(("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read")),
    responses(
        (status = 200, description = "Channels, oldest first", body = Envelope<Vec<ChannelSummary>, CountMeta>),
        (status = 404, description = "Unknown tenant", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn channels(
    db: web::Data<DatabaseConnection>,
    ReadTenant(t): ReadTenant,
) -> Result<HttpResponse, ApiError> {
    let channels = archive::list_channels(db.get_ref(), &t.id).await?;
    let count = channels.len();
    Ok(ok(channels, CountMeta { count }))
}

/// One channel by internal id.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{channelId}",
    tag = "read",
    params(
        ("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read"),
        ("channelId" = String, Path, description = "Internal channel id"),
    ),
    responses(
        (status = 200, description = "The channel", body = Envelope<ChannelSummary, EmptyMeta>),
        (status = 404, description = "Unknown tenant or channel", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn channel(
    db: web::Data<DatabaseConnection>,
    ReadTenant(t): ReadTenant,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let channel = archive::get_channel(db.get_ref(), &t.id, &path).await?;
    Ok(ok(channel, EmptyMeta {}))
}

/// A keyset page of a channel's messages, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{channelId}/messages",
    tag = "read",
    params(
        ("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read"),
        ("channelId" = String, Path, description = "Internal channel id"),
        MessagesQuery,
    ),
    responses(
        (status = 200, description = "Messages with reactions and attachments", body = Envelope<Vec<MessageView>, MessagePageMeta>),
        (status = 404, description = "Unknown tenant or channel", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn messages(
    reader: web::Data<MessageReader>,
    ReadTenant(t): ReadTenant,
    path: web::Path<String>,
    query: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    let params = query.params()?;
    let MessagePage { messages, meta } = reader.messages_page(&t.id, &path, &params).await?;
    Ok(ok(messages, meta))
}

/// A page of the channel's threads (forum posts), most recently active first.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{channelId}/threads",
    tag = "read",
    params(
        ("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read"),
        ("channelId" = String, Path, description = "Internal channel id (usually a forum)"),
        ThreadsQuery,
    ),
    responses(
        (status = 200, description = "Threads with title, first message, message count, last activity", body = Envelope<Vec<ThreadView>, ThreadPageMeta>),
        (status = 404, description = "Unknown tenant or channel", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn threads(
    db: web::Data<DatabaseConnection>,
    ReadTenant(t): ReadTenant,
    path: web::Path<String>,
    query: web::Query<ThreadsQuery>,
) -> Result<HttpResponse, ApiError> {
    let params = query.params()?;
    let ThreadPage { threads, meta } =
        archive::threads_page(db.get_ref(), &t.id, &path, &params).await?;
    Ok(ok(threads, meta))
}

/// A message with its neighbours in the channel.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{messageId}",
    tag = "read",
    params(
        ("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read"),
        ("messageId" = String, Path, pattern = "^[0-9A-Za-z]{1,20}$", description = "Base62-encoded snowflake (the original's URLs) or a decimal snowflake"),
        ContextQuery,
    ),
    responses(
        (status = 200, description = "The message in context, newest first", body = Envelope<MessageContext, EmptyMeta>),
        (status = 404, description = "Unknown tenant or message", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn message(
    db: web::Data<DatabaseConnection>,
    ReadTenant(t): ReadTenant,
    path: web::Path<String>,
    query: web::Query<ContextQuery>,
) -> Result<HttpResponse, ApiError> {
    let params = query.params()?;
    let context = archive::message_context(db.get_ref(), &t.id, &path, &params).await?;
    Ok(ok(context, EmptyMeta {}))
}

/// Registers the `/api/v1` scope (CORS, rate limit, routes) at the application root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let cors = Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allow_any_method()
        .allow_any_header()
        .expose_any_header()
        .max_age(3600);
    cfg.service(
        web::scope("/api/v1")
            .wrap(from_fn(rate_limit::limit_per_client))
            .wrap(cors)
            .route("/tenant", web::get().to(tenant))
            .route("/branding", web::get().to(branding))
            .route("/channels", web::get().to(channels))
            .route("/channels/{channelId}", web::get().to(channel))
            .route("/channels/{channelId}/messages", web::get().to(messages))
            .route("/channels/{channelId}/threads", web::get().to(threads))
            .route("/messages/{messageId}", web::get().to(message))
            .route("/search", web::get().to(search::search))
            .service(
                web::resource("/attachments/{attachmentId}")
                    .route(web::get().to(attachments::attachment))
                    .route(web::head().to(attachments::attachment)),
            ),
    );
}

/// OpenAPI part of the read API.
#[derive(OpenApi)]
#[openapi(
    paths(
        tenant,
        branding,
        channels,
        channel,
        messages,
        threads,
        message,
        search::search,
        attachments::attachment
    ),
    tags((name = "read", description = "Public read API: one tenant's archive, selected by X-Tenant-Slug")),
)]
pub struct ReadApi;
