//! Per-client rate limit of the public read API: `READ_API_RATE_LIMIT` requests per minute per
//! client IP (a GCRA token bucket from `governor`, the engine of actix-governor), 0 = off. Over
//! the limit the answer is 429 with the standard error body and `Retry-After`.
//!
//! The limiter is created once per application (`startup::AppState`) and shared by all actix
//! workers as `web::Data<ReadApiLimiter>`.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_governor::governor::clock::{Clock, DefaultClock};
use actix_governor::governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use chrono::{SecondsFormat, Utc};

use crate::error::ErrorBody;

/// The read API's per-client-IP limiter of one application; holds nothing when the limit is
/// off.
pub struct ReadApiLimiter(Option<DefaultKeyedRateLimiter<IpAddr>>);

impl ReadApiLimiter {
    /// A limiter allowing `per_minute` requests per minute per client IP (0 = no limit).
    pub fn new(per_minute: u32) -> Self {
        Self(NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }
}

/// Middleware (`actix_web::middleware::from_fn`) enforcing the read API's per-IP limit.
pub async fn limit_per_client(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limiter = req
        .app_data::<web::Data<ReadApiLimiter>>()
        .and_then(|l| l.0.as_ref());
    if let (Some(limiter), Some(peer)) = (limiter, req.peer_addr())
        && let Err(not_until) = limiter.check_key(&peer.ip())
    {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let retry_after = wait.as_secs().max(1);
        let body = ErrorBody {
            error: "Too Many Requests".to_owned(),
            message: format!("Rate limit exceeded for this client; retry in {retry_after} s"),
            details: None,
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let response = HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, retry_after.to_string()))
            .json(body);
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}
