//! The archive website, live: every ACTIVE tenant's pages rendered from the database by the
//! `site` crate, next to the API.
//!
//! A tenant's site lives under `/archive/<slug>/`, a prefix no API path uses (`/api`, `/health`,
//! `/metrics`), so the two can never collide. When `SITE_BASE_URL` has `{tenant}` in its host
//! (`https://{tenant}.example.org`), a request for such a host is that tenant's site at `/`
//! (API paths keep precedence: they are registered first). A rendered answer is kept in the
//! [`SiteCache`] for `SITE_CACHE_SECS` and carries the `ETag` of its bytes (a 304 when the
//! reader holds them) and the tenant's last change as `Last-Modified`; pages are compressed and
//! sent with a Content-Security-Policy that allows nothing but the site's own files and its two
//! inline elements. Stored attachment files the pages show are served under `f/`, streamed
//! from the attachment store. Pages count against the same per-client limit as the public read API.
//! The live site answers searches (`search/?q=..`, from the process's [`SearchIndex`]), so its
//! pages carry a search box; results are rendered for every request and cached by no one.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{HttpRequest, HttpResponse, guard, web};
use sea_orm::DatabaseConnection;
use service::Config;
use service::archive::pages as reads;
use service::files::BlobStore;
use service::files::read;
use service::search::SearchIndex;
use service::tenants::{self, TenantStatus};
use site::pages::{self, SiteContext};
use site::paths::{self, Route};
use site::{assets, avatar, sitemap};

use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::file_response::{self, FileMeta};
use crate::routes::v1::rate_limit::{ReadApiLimiter, retry_after_secs};
use crate::site_cache::{Answer, SiteCache};

/// The path prefix of every tenant's site.
pub const PREFIX: &str = "/archive";

/// The pattern of the host-mapped site's catch-all resource.
pub const HOST_CATCH_ALL: &str = "/{tail:.*}";

/// Registers the site's routes (after the API's).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .wrap(Compress::default())
            .service(
                web::resource("/{slug}")
                    .route(web::get().to(slug_without_slash))
                    .route(web::head().to(slug_without_slash)),
            )
            .service(
                web::resource("/{slug}/{tail:.*}")
                    .route(web::get().to(path_mode))
                    .route(web::head().to(path_mode)),
            ),
    );
    cfg.service(
        web::resource("/robots.txt")
            .route(web::get().to(host_robots))
            .route(web::head().to(host_robots)),
    );
    cfg.service(
        web::resource(HOST_CATCH_ALL)
            .guard(guard::fn_guard(|ctx| {
                let config = ctx.app_data::<web::Data<Config>>();
                let host = ctx
                    .head()
                    .headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok());
                matches!((config, host), (Some(c), Some(h)) if mapped_slug(c, h).is_some())
            }))
            .wrap(Compress::default())
            .route(web::get().to(host_mode))
            .route(web::head().to(host_mode)),
    );
}

/// The tenant slug a host maps to under a `SITE_BASE_URL` with `{tenant}` in its host.
fn mapped_slug(config: &Config, host: &str) -> Option<String> {
    let pattern = config.site_base_url.as_deref()?;
    let rest = pattern.split_once("://")?.1;
    // Only a pattern without a path maps hosts: a path belongs to a proxy's rewrite.
    if rest.contains('/') {
        return None;
    }
    let (before, after) = rest.split_once("{tenant}")?;
    let host = host.to_ascii_lowercase();
    let slug = host
        .strip_prefix(&before.to_ascii_lowercase())?
        .strip_suffix(&after.to_ascii_lowercase())?;
    let valid = !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| slug.to_owned())
}

/// How a request reached a tenant's site.
struct Mount {
    slug: String,
    /// The URL path of the tenant's root (`/archive/<slug>/` or `/`).
    root_path: String,
    /// The absolute URL of the tenant's root.
    base_url: String,
}

/// The request's Host header ("" when absent or not text).
fn request_host(req: &HttpRequest) -> &str {
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
}

fn request_origin(req: &HttpRequest) -> String {
    // The Host header as sent (only letters, digits, dots, colons, brackets and dashes are
    // kept, so it cannot inject markup or break a URL).
    let host = match request_host(req) {
        "" => "localhost",
        h => h,
    };
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        .collect();
    format!("http://{host}")
}

/// The absolute URL of tenant `slug`'s site root, ending in `/`: from `SITE_BASE_URL` (its
/// `{tenant}` host pattern, or its origin + `/archive/<slug>/`), else from the request's host.
/// The search API's permalinks use it too, so they point where the live site answers.
pub fn tenant_root_url(config: &Config, req: &HttpRequest, slug: &str) -> String {
    match config.site_base_url.as_deref() {
        Some(pattern) if pattern.contains("{tenant}") => {
            format!("{}/", pattern.replace("{tenant}", slug))
        }
        Some(origin) => format!("{origin}{PREFIX}/{slug}/"),
        None => format!("{}{PREFIX}/{slug}/", request_origin(req)),
    }
}

async fn slug_without_slash(slug: web::Path<String>) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, format!("{PREFIX}/{}/", urlencode(&slug))))
        .finish()
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn path_mode(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    db: web::Data<DatabaseConnection>,
    config: web::Data<Config>,
) -> Result<HttpResponse, ApiError> {
    let (slug, tail) = path.into_inner();
    let mount = Mount {
        root_path: format!("{PREFIX}/{}/", urlencode(&slug)),
        base_url: tenant_root_url(&config, &req, &slug),
        slug,
    };
    serve(&req, &db, mount, &tail).await
}

async fn host_mode(
    req: HttpRequest,
    db: web::Data<DatabaseConnection>,
    config: web::Data<Config>,
) -> Result<HttpResponse, ApiError> {
    let host = request_host(&req);
    let Some(slug) = mapped_slug(&config, host) else {
        return Ok(plain_not_found());
    };
    let tail = req.path().trim_start_matches('/').to_owned();
    let mount = Mount {
        root_path: "/".to_owned(),
        base_url: tenant_root_url(&config, &req, &slug),
        slug,
    };
    serve(&req, &db, mount, &tail).await
}

/// `/robots.txt` of the whole host: a mapped tenant host gets its tenant's; otherwise every
/// ACTIVE tenant's sitemap is named (crawlers read robots.txt only at a host's root).
async fn host_robots(
    req: HttpRequest,
    db: web::Data<DatabaseConnection>,
    config: web::Data<Config>,
) -> Result<HttpResponse, ApiError> {
    let host = request_host(&req);
    if mapped_slug(&config, host).is_some() {
        return host_mode(req, db, config).await;
    }
    let mut disallow = String::new();
    let mut sitemaps = String::new();
    for tenant in tenants::all(db.get_ref()).await? {
        if tenant.status == TenantStatus::Active {
            let base = tenant_root_url(&config, &req, &tenant.slug);
            // The results pages: endless URLs of nothing new, and `noindex` besides.
            if let Ok(url) = url::Url::parse(&base) {
                disallow.push_str(&format!("Disallow: {}{}\n", url.path(), paths::SEARCH));
            }
            sitemaps.push_str(&format!("Sitemap: {base}{}\n", Route::SitemapIndex.path()));
        }
    }
    let body = format!("User-agent: *\n{disallow}Allow: /\n{sitemaps}");
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(body))
}

/// A 404 for a site that does not exist (no tenant to brand it with).
fn plain_not_found() -> HttpResponse {
    html_response(404, pages::UNKNOWN_SITE.to_owned())
}

fn html_response(status: u16, body: String) -> HttpResponse {
    let status =
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .body(body)
}

fn csp(ctx: &SiteContext) -> String {
    let [style, script] = ctx.inline_texts();
    format!(
        "default-src 'none'; img-src 'self' data:; style-src 'self' {}; script-src 'self' {}; \
         connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
        assets::csp_hash(style),
        assets::csp_hash(script)
    )
}

fn immutable(content_type: &'static str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

async fn serve(
    req: &HttpRequest,
    db: &DatabaseConnection,
    mount: Mount,
    tail: &str,
) -> Result<HttpResponse, ApiError> {
    let route = Route::parse(tail);
    // The same bytes for every tenant and every reader: no database, no limit.
    match &route {
        Some(Route::Asset(name)) => {
            return Ok(match assets::by_name(name) {
                Some(a) => immutable(a.content_type, a.body.as_bytes().to_vec()),
                None => plain_not_found(),
            });
        }
        Some(Route::Avatar(seed)) => {
            return Ok(if avatar::is_valid_seed(seed) {
                immutable("image/svg+xml", avatar::svg(seed).into_bytes())
            } else {
                plain_not_found()
            });
        }
        _ => {}
    }
    let cache = req.app_data::<web::Data<SiteCache>>();
    // A page's images are its own requests: like assets, not counted against the reader.
    if let Some(Route::File(hash, ext)) = &route {
        return file(req, db, cache, &mount, hash, ext).await;
    }
    if let Some(limited) = over_limit(req) {
        return Ok(limited);
    }
    // Results depend on the query string and follow the index: never from the cache.
    if route == Some(Route::Search) {
        let Some(ctx) = context(db, cache, &mount).await? else {
            return Ok(plain_not_found());
        };
        return search(req, db, &ctx).await;
    }
    if let Some(answer) = cache.and_then(|c| c.answer(&mount.base_url, tail)) {
        return Ok(respond(req, &answer));
    }
    let Some(ctx) = context(db, cache, &mount).await? else {
        return Ok(plain_not_found());
    };
    let answer = Arc::new(render(db, &ctx, &mount, route).await?);
    if let Some(c) = cache {
        c.keep_answer(&mount.base_url, tail, answer.clone());
    }
    Ok(respond(req, &answer))
}

/// A stored attachment file of the mounted tenant (`f/<sha256>.<ext>`): only bytes a
/// public attachment of the tenant has, under the extension of its content type, with the
/// headers of every served file ([`file_response`]).
async fn file(
    req: &HttpRequest,
    db: &DatabaseConnection,
    cache: Option<&web::Data<SiteCache>>,
    mount: &Mount,
    hash: &str,
    ext: &str,
) -> Result<HttpResponse, ApiError> {
    let (Some(ctx), Some(store)) = (
        context(db, cache, mount).await?,
        req.app_data::<web::Data<BlobStore>>(),
    ) else {
        return Ok(plain_not_found());
    };
    let tenant_id = ctx.tenant.id.to_string();
    let Some(found) = read::site_file(db, &tenant_id, hash, ext).await? else {
        return Ok(plain_not_found());
    };
    let meta = FileMeta {
        sha256: hash,
        size: found.bytes,
        content_type: &found.content_type,
        filename: &found.filename,
    };
    Ok(file_response::respond(req, store, meta)
        .await?
        .unwrap_or_else(plain_not_found))
}

/// The rendering context of the mounted tenant (`None`: no ACTIVE tenant has the slug), from
/// the cache when it holds one. The live site answers searches, so its pages carry the box.
async fn context(
    db: &DatabaseConnection,
    cache: Option<&web::Data<SiteCache>>,
    mount: &Mount,
) -> Result<Option<Arc<SiteContext>>, ApiError> {
    if let Some(ctx) = cache.and_then(|c| c.context(&mount.base_url)) {
        return Ok(Some(ctx));
    }
    let tenant = match tenants::get_by_slug(db, &mount.slug).await {
        Ok(t) if t.status == TenantStatus::Active => t,
        Ok(_) | Err(service::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut ctx = SiteContext::load(db, tenant, Some(mount.base_url.clone())).await?;
    ctx.search = true;
    let ctx = Arc::new(ctx);
    if let Some(c) = cache {
        c.keep_context(&mount.base_url, ctx.clone());
    }
    Ok(Some(ctx))
}

/// The search results page for the request's query string. Never stored by anyone
/// (`private, no-store`): results change whenever the index follows a sync, a search costs
/// milliseconds to run again, and the URL holds what a reader searched for, which neither a
/// shared cache nor the browser's disk should keep.
async fn search(
    req: &HttpRequest,
    db: &DatabaseConnection,
    ctx: &SiteContext,
) -> Result<HttpResponse, ApiError> {
    let Some(index) = req.app_data::<web::Data<SearchIndex>>() else {
        // Every server built by `Application::build` has an index; a site without one has no
        // results page.
        let root = pages::static_root_path(ctx);
        let body = pages::not_found(ctx, &root, "Search is not available here.")?;
        return Ok(html_response(404, body));
    };
    let params = pages::SearchParams::parse(req.query_string());
    let (status, body) = pages::search(db, ctx, index, &params).await?;
    let mut response = html_response(status, body);
    let headers = response.headers_mut();
    insert(headers, header::CONTENT_SECURITY_POLICY, &csp(ctx));
    insert(headers, header::CACHE_CONTROL, "private, no-store");
    insert(
        headers,
        header::HeaderName::from_static("x-robots-tag"),
        "noindex",
    );
    Ok(response)
}

/// Render the answer for `route` (`None`: no page lives at the path).
async fn render(
    db: &DatabaseConnection,
    ctx: &SiteContext,
    mount: &Mount,
    route: Option<Route>,
) -> Result<Answer, ApiError> {
    const HTML: &str = "text/html; charset=utf-8";
    let not_found = |what: &str| -> Result<Answer, ApiError> {
        let mut answer = Answer::new(
            404,
            HTML,
            pages::not_found(ctx, &mount.root_path, what)?,
            None,
        );
        answer.csp = Some(csp(ctx));
        Ok(answer)
    };
    let redirect = |target: String| {
        Answer::new(
            302,
            "",
            String::new(),
            Some(format!("{}{target}", mount.root_path)),
        )
    };
    let html = match route {
        None => return not_found("There is no page at this address."),
        Some(Route::Home) => Some(pages::home(db, ctx).await?),
        Some(Route::ChannelPage(id, n)) => pages::message_page(db, ctx, &id.to_string(), n).await?,
        Some(Route::Threads(id, n)) => pages::threads_page(db, ctx, &id.to_string(), n).await?,
        Some(Route::ChannelRoot(id)) => {
            return match pages::channel_root_target(db, ctx, &id.to_string()).await? {
                Some(target) => Ok(redirect(target)),
                None => not_found("This channel is not in the archive."),
            };
        }
        Some(Route::Message(id)) => {
            return match pages::message_target(db, ctx, &id.to_string()).await? {
                Some(target) => Ok(redirect(target)),
                None => not_found("This message is not in the archive."),
            };
        }
        Some(Route::Robots) => {
            return Ok(Answer::new(
                200,
                "text/plain; charset=utf-8",
                sitemap::robots(ctx),
                None,
            ));
        }
        Some(Route::SitemapIndex) => {
            let plan = sitemap::Plan::load(db, ctx).await?;
            return match sitemap::index(ctx, &plan) {
                Some(xml) => Ok(Answer::new(200, XML, xml, None)),
                None => not_found("There is no such sitemap."),
            };
        }
        Some(Route::Sitemap(k)) => {
            let plan = sitemap::Plan::load(db, ctx).await?;
            return match sitemap::chunk(db, ctx, &plan, k).await? {
                Some(xml) => Ok(Answer::new(200, XML, xml, None)),
                None => not_found("There is no such sitemap."),
            };
        }
        // Served before the cache, by `search`.
        Some(Route::Asset(_))
        | Some(Route::Avatar(_))
        | Some(Route::File(..))
        | Some(Route::Search) => None,
    };
    let Some(html) = html else {
        return not_found("There is no such page in this archive.");
    };
    let mut answer = Answer::new(200, HTML, html, None);
    answer.csp = Some(csp(ctx));
    answer.last_modified = reads::last_change(db, &ctx.tenant.id.to_string())
        .await?
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    Ok(answer)
}

const XML: &str = "application/xml; charset=utf-8";

/// The response for a rendered answer: 304 when the client holds these bytes.
fn respond(req: &HttpRequest, answer: &Answer) -> HttpResponse {
    if answer.status == 200 && not_modified(req, &answer.etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, answer.etag.clone()))
            .finish();
    }
    let status = actix_web::http::StatusCode::from_u16(answer.status)
        .unwrap_or(actix_web::http::StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "strict-origin-when-cross-origin"));
    if let Some(location) = &answer.location {
        return response
            .insert_header((header::LOCATION, location.clone()))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .finish();
    }
    response.content_type(answer.content_type);
    if answer.status == 200 {
        response
            .insert_header((header::ETAG, answer.etag.clone()))
            .insert_header((header::CACHE_CONTROL, "public, max-age=60"));
    }
    let mut response = response.body(answer.body.clone());
    let headers = response.headers_mut();
    if let Some(csp) = &answer.csp {
        insert(headers, header::CONTENT_SECURITY_POLICY, csp);
    }
    if let Some(t) = &answer.last_modified {
        insert(headers, header::LAST_MODIFIED, t);
    }
    response
}

/// The public read limit (`READ_API_RATE_LIMIT` per client, shared with `/api/v1`) on pages,
/// sitemaps and redirects; assets and avatars are not counted (a page's own requests must not
/// spend its reader's budget). The client is the one `TRUSTED_PROXIES` lets us believe.
fn over_limit(req: &HttpRequest) -> Option<HttpResponse> {
    let limiter = req.app_data::<web::Data<ReadApiLimiter>>()?;
    let client = client_ip(req)?;
    let wait = limiter.check(client).err()?;
    let retry_after = retry_after_secs(wait);
    let mut response = html_response(429, pages::TOO_MANY_REQUESTS.to_owned());
    insert(
        response.headers_mut(),
        header::RETRY_AFTER,
        &retry_after.to_string(),
    );
    Some(response)
}

fn insert(headers: &mut header::HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: Option<&str>) -> Config {
        Config {
            site_base_url: base.map(str::to_owned),
            ..Config::default()
        }
    }

    #[test]
    fn hosts_map_to_tenants_only_under_a_host_pattern() {
        let c = config(Some("https://{tenant}.archive.example.org"));
        assert_eq!(
            mapped_slug(&c, "dev.archive.example.org").as_deref(),
            Some("dev")
        );
        assert_eq!(
            mapped_slug(&c, "DEV.Archive.Example.org").as_deref(),
            Some("dev")
        );
        assert_eq!(mapped_slug(&c, "archive.example.org"), None);
        assert_eq!(mapped_slug(&c, "x.y.archive.example.org"), None);
        assert_eq!(mapped_slug(&c, "evil.org"), None);
        assert_eq!(
            mapped_slug(&config(Some("https://example.org/{tenant}")), "example.org"),
            None
        );
        assert_eq!(
            mapped_slug(&config(Some("https://example.org")), "example.org"),
            None
        );
        assert_eq!(mapped_slug(&config(None), "example.org"), None);
    }
}
