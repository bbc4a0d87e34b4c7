//! Per-client rate limit of the public read API: `READ_API_RATE_LIMIT` requests per minute per
//! client IP (a GCRA token bucket from `governor`, the engine of actix-governor), 0 = off. Over
//! the limit the answer is 429 with the standard error body and `Retry-After`.
//!
//! The limiter is created once per application (`startup::AppState`) and shared by all actix
//! workers as `web::Data<ReadApiLimiter>`. The client is [`client_ip`]'s: the TCP peer, or the
//! forwarded address when the peer is one of `TRUSTED_PROXIES`. Other public routes (the
//! archive website) count against the same limiter with [`ReadApiLimiter::check`].

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_governor::governor::clock::{Clock, DefaultClock};
use actix_governor::governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use chrono::{SecondsFormat, Utc};

use crate::client_ip::client_ip;
use crate::error::ErrorBody;

/// The read API's per-client-IP limiter of one application; holds nothing when the limit is
/// off.
pub struct ReadApiLimiter(Option<DefaultKeyedRateLimiter<IpAddr>>);

impl ReadApiLimiter {
    /// A limiter allowing `per_minute` requests per minute per client IP (0 = no limit).
    pub fn new(per_minute: u32) -> Self {
        Self(NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// Counts one request of `client` (an address from [`client_ip`]). `Err` with the time
    /// until the client may send again when it is over the limit (the request is then not
    /// counted).
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        match &self.0 {
            None => Ok(()),
            Some(limiter) => limiter
                .check_key(&client)
                .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
        }
    }
}

/// The `Retry-After` value for a wait: whole seconds, at least 1 (a client told 0 would come
/// straight back).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs().max(1)
}

/// Middleware (`actix_web::middleware::from_fn`) enforcing the read API's per-IP limit.
pub async fn limit_per_client(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limiter = req.app_data::<web::Data<ReadApiLimiter>>();
    if let (Some(limiter), Some(client)) = (limiter, client_ip(req.request()))
        && let Err(wait) = limiter.check(client)
    {
        let retry_after = retry_after_secs(wait);
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
