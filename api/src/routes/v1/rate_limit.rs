//! Per-client rate limit of the public read API: `READ_API_RATE_LIMIT` requests per minute per
//! client IP (a GCRA token bucket from `governor`, the engine of actix-governor), 0 = off. Over
//! the limit the answer is 429 with the standard error body and `Retry-After`.
//!
//! The limit must be shared by all actix workers of one application but not between two
//! applications in one process (the tests start many). actix builds the app once per worker,
//! so the limiter cannot live in the route configuration; it is kept per application, keyed by
//! the application's shared `Config` allocation (one `web::Data<Config>` per application,
//! cloned into every worker), and created on first use.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, Weak};

use actix_governor::governor::clock::{Clock, DefaultClock};
use actix_governor::governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use chrono::{SecondsFormat, Utc};
use service::Config;

use crate::error::ErrorBody;

type Limiter = DefaultKeyedRateLimiter<IpAddr>;

/// One limiter per live application (see the module docs).
static LIMITERS: Mutex<Vec<(Weak<Config>, Arc<Limiter>)>> = Mutex::new(Vec::new());

/// The limiter of the application owning `config`, `None` when the limit is off.
fn limiter_for(config: &web::Data<Config>) -> Option<Arc<Limiter>> {
    let per_minute = NonZeroU32::new(config.read_api_rate_limit)?;
    let owner = Arc::downgrade(&config.clone().into_inner());
    // A poisoned lock only means another request panicked mid-lookup; the list is still valid.
    let mut limiters = LIMITERS.lock().unwrap_or_else(|e| e.into_inner());
    limiters.retain(|(cfg, _)| cfg.strong_count() > 0);
    if let Some((_, limiter)) = limiters.iter().find(|(cfg, _)| cfg.ptr_eq(&owner)) {
        return Some(limiter.clone());
    }
    let limiter = Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)));
    limiters.push((owner, limiter.clone()));
    Some(limiter)
}

/// Middleware (`actix_web::middleware::from_fn`) enforcing the read API's per-IP limit.
pub async fn limit_per_client(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limiter = req.app_data::<web::Data<Config>>().and_then(limiter_for);
    if let (Some(limiter), Some(peer)) = (limiter, req.peer_addr()) {
        if let Err(not_until) = limiter.check_key(&peer.ip()) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let retry_after = wait.as_secs().max(1);
            let body = ErrorBody {
                error: "Too Many Requests".to_owned(),
                message: format!(
                    "Rate limit exceeded for this client; retry in {retry_after} s"
                ),
                details: None,
                timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            };
            let response = HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, retry_after.to_string()))
                .json(body);
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}
