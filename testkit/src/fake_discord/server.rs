//! The actix-web server: `/api/v10/...` (auth, faults, rate limits, routes), the
//! control API under `/_control/...`, request log and counters.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api::{self, Reply};
use super::cdn::{self, CdnStats};
use super::limits::{Faults, Limiter};
use super::model::mix;
use super::render;
use super::store::{NewAttachment, NewMessage, Store, StoreError};

/// One served request, as kept in the request log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Matched route template (see [`super::routes`]), if any.
    pub route: Option<String>,
    /// Response status.
    pub status: u16,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub counters: BTreeMap<String, u64>,
    pub statuses: BTreeMap<u16, u64>,
    pub log: VecDeque<LoggedRequest>,
    pub total: u64,
    pub cdn: CdnStats,
}

/// State shared by all workers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Store,
    pub token: String,
    pub proxy: Mutex<String>,
    pub base_latency: Duration,
    pub faults: Mutex<Faults>,
    pub limiter: Mutex<Limiter>,
    pub stats: Mutex<Stats>,
    pub log_capacity: usize,
}

/// Locks a mutex, ignoring poisoning (a panicked handler must not stop the fake).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn record(&self, method: &str, path: String, route: Option<&str>, status: u16) {
        let mut s = lock(&self.stats);
        s.total += 1;
        if let Some(r) = route {
            *s.counters.entry(r.to_string()).or_default() += 1;
        }
        *s.statuses.entry(status).or_default() += 1;
        if self.log_capacity > 0 {
            if s.log.len() >= self.log_capacity {
                s.log.pop_front();
            }
            s.log.push_back(LoggedRequest {
                method: method.to_string(),
                path,
                route: route.map(str::to_string),
                status,
            });
        }
    }
}

fn json_response(status: u16, body: &Value, headers: &[(&'static str, String)]) -> HttpResponse {
    bytes_response(status, body.to_string().into_bytes(), headers)
}

fn bytes_response(status: u16, body: Vec<u8>, headers: &[(&'static str, String)]) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = HttpResponse::build(code);
    b.content_type("application/json");
    for (k, v) in headers {
        b.insert_header((*k, v.as_str()));
    }
    b.body(body)
}

fn rate_limited(
    retry_after: f64,
    global: bool,
    headers: &[(&'static str, String)],
) -> HttpResponse {
    let mut h: Vec<(&'static str, String)> = headers
        .iter()
        .filter(|(k, _)| *k != "x-ratelimit-remaining")
        .cloned()
        .collect();
    if !global {
        h.push(("x-ratelimit-remaining", "0".into()));
    }
    h.push((
        "retry-after",
        format!("{}", retry_after.ceil().max(1.0) as u64),
    ));
    let body = json!({
        "message": "You are being rate limited.",
        "code": 0,
        "retry_after": (retry_after * 1000.0).round() / 1000.0,
        "global": global,
    });
    json_response(429, &body, &h)
}

fn server_error(status: u16) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == 502 {
        return HttpResponse::build(code).content_type("text/html").body(
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad \
             Gateway</h1></center><hr><center>cloudflare</center></body></html>",
        );
    }
    let reason = code.canonical_reason().unwrap_or("Server Error");
    let body = render::error(0, &format!("{status}: {reason}"));
    json_response(status, &body, &[])
}

fn dropped_response() -> HttpResponse {
    let stream = futures::stream::once(async {
        Err::<web::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fake-discord: injected dropped connection",
        ))
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(stream)
}

/// Entry point of every request.
pub(crate) async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let path = req.path().to_string();
    if let Some(rest) = path.strip_prefix("/_control") {
        return super::control::handle(&shared, req.method().as_str(), rest, &body);
    }
    let full = match req.query_string() {
        "" => path.clone(),
        q => format!("{path}?{q}"),
    };
    let method = req.method().as_str().to_string();
    if path.starts_with("/attachments/") {
        let (resp, status) = cdn::serve(&shared, &req);
        shared.record(&method, full, Some(api::routes::CDN_ATTACHMENT), status);
        return resp;
    }
    let Some(api_path) = path.strip_prefix("/api/v10/") else {
        let (status, body) = api::not_found();
        shared.record(&method, full, None, status);
        return json_response(status, &body, &[]);
    };
    let matched = api::match_route(&method, api_path);
    let route = matched.as_ref().ok().map(|m| m.route);
    let (resp, status) = serve_api(&shared, &req, matched, &body).await;
    tracing::debug!(%method, path = %full, route, status, "fake discord request");
    shared.record(&method, full, route, status);
    resp
}

async fn serve_api(
    shared: &Shared,
    req: &HttpRequest,
    matched: Result<api::Matched, Reply>,
    body: &[u8],
) -> (HttpResponse, u16) {
    let faults = lock(&shared.faults).clone();
    let latency = shared.base_latency + Duration::from_millis(faults.latency_ms);
    if !latency.is_zero() {
        actix_web::rt::time::sleep(latency).await;
    }
    let authorised = !faults.token_revoked && bot_token(req) == Some(shared.token.as_str());
    // Like Discord: unknown routes are 404 whether or not the token is valid.
    let m = match matched {
        Ok(m) => m,
        Err((status, body)) => return (json_response(status, &body, &[]), status),
    };
    if !authorised {
        let body = render::error(0, "401: Unauthorized");
        return (json_response(401, &body, &[]), 401);
    }
    if let Some(replaced) = replacing_fault(shared, m.route) {
        return replaced;
    }
    if let Some(error) = injected_error(shared, &faults) {
        return error;
    }
    let decision = lock(&shared.limiter).check(m.route, m.major);
    if let Some((retry, global)) = decision.limited {
        return (rate_limited(retry, global, &decision.headers), 429);
    }
    if forbidden(shared, &faults, &m) {
        let body = render::error(50001, "Missing Access");
        return (json_response(403, &body, &decision.headers), 403);
    }
    let links = shared.store.signer().links(faults.expired_links);
    let query = req.query_string();
    let (status, bytes) = match api::handle_messages(&shared.store, &m, query, links) {
        Some(reply) => reply,
        None => {
            let (status, body) = if m.route == api::routes::REFRESH_URLS {
                cdn::refresh(shared, body)
            } else {
                api::handle(&shared.store, &m, query, links)
            };
            (status, body.to_string().into_bytes())
        }
    };
    (bytes_response(status, bytes, &decision.headers), status)
}

/// The token of an `Authorization: Bot <token>` header.
fn bot_token(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bot "))
}

/// The response of a pending fault that replaces the response (a dropped connection, then a
/// 429 of a storm, in that order), counting it down.
fn replacing_fault(shared: &Shared, route: &'static str) -> Option<(HttpResponse, u16)> {
    let mut f = lock(&shared.faults);
    if f.drop_connections > 0 {
        f.drop_connections -= 1;
        return Some((dropped_response(), 200));
    }
    if f.storm_429 > 0 {
        f.storm_429 -= 1;
        let retry = match f.storm_retry_after_ms {
            0 => 0.1,
            ms => ms as f64 / 1000.0,
        };
        drop(f);
        let headers = vec![
            ("x-ratelimit-bucket", super::limits::bucket_id(route)),
            ("x-ratelimit-limit", "1".into()),
            ("x-ratelimit-reset-after", format!("{retry:.3}")),
            ("x-ratelimit-scope", "user".into()),
        ];
        return Some((rate_limited(retry, false, &headers), 429));
    }
    None
}

/// A server error for this request when `faults.error_rate` draws one: deterministic in the
/// request count, so a run with the same requests fails the same ones.
fn injected_error(shared: &Shared, faults: &Faults) -> Option<(HttpResponse, u16)> {
    if faults.error_rate > 0.0 {
        let n = lock(&shared.stats).total;
        if ((mix(n ^ 0x5EED) % 1_000_000) as f64) < faults.error_rate * 1_000_000.0 {
            let status = match faults.error_statuses.len() {
                0 => 500,
                len => faults.error_statuses[(n % len as u64) as usize],
            };
            return Some((server_error(status), status));
        }
    }
    None
}

/// Whether the request's channel is forbidden. A forbidden channel hides its threads too, as
/// Discord's permissions would.
fn forbidden(shared: &Shared, faults: &Faults, m: &api::Matched) -> bool {
    let Some(c) = api::channel_of(m) else {
        return false;
    };
    if faults.forbidden_channels.is_empty() {
        return false;
    }
    let forbidden = |id: u64| faults.forbidden_channels.contains(&id);
    let parent_forbidden = shared
        .store
        .channel(c)
        .is_some_and(|(_, ch)| ch.kind.is_thread() && ch.parent_id.is_some_and(forbidden));
    forbidden(c) || parent_forbidden
}

/// Control-API body of `POST /_control/channels/{id}/messages`.
#[derive(Debug, Deserialize)]
pub(crate) struct NewMessageBody {
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub author_id: Option<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub attachments: Vec<NewAttachmentBody>,
}

/// An attachment of [`NewMessageBody`]: `{"filename", "size", "content_type"?}`.
#[derive(Debug, Deserialize)]
pub(crate) struct NewAttachmentBody {
    pub filename: String,
    pub size: u64,
    #[serde(default)]
    pub content_type: Option<String>,
}

impl NewMessageBody {
    pub fn into_new(self) -> Result<(NewMessage, Vec<NewAttachment>), String> {
        let id = |s: Option<String>, field: &str| {
            s.map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("{field} must be a snowflake"))
            })
            .transpose()
        };
        let files = self
            .attachments
            .into_iter()
            .map(|a| NewAttachment {
                filename: a.filename,
                size: a.size,
                content_type: a.content_type,
            })
            .collect();
        let new = NewMessage {
            author_id: id(self.author_id, "author_id")?,
            reply_to: id(self.reply_to, "reply_to")?,
            content: self.content,
        };
        Ok((new, files))
    }
}

/// Maps a store error to a control-API reply.
pub(crate) fn store_error(e: StoreError) -> (u16, Value) {
    let status = match e {
        StoreError::UnknownChannel(_) | StoreError::UnknownMessage(_) => 404,
        StoreError::NoSpareThread(_) => 409,
        _ => 400,
    };
    (status, json!({"error": e.to_string()}))
}

pub(crate) fn reply(status: u16, body: &Value) -> HttpResponse {
    json_response(status, body, &[])
}
