//! Rate limiting (per-route buckets + optional global limit) and injected faults.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::spec::RouteLimit;

/// Faults injected into `/api` responses; change them at runtime with
/// [`super::FakeDiscord::set_faults`] / [`super::FakeDiscord::update_faults`] or
/// `PUT /_control/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Extra latency per `/api` request, milliseconds.
    pub latency_ms: u64,
    /// Share (0..=1) of `/api` requests answered with a server error (deterministic
    /// sequence).
    pub error_rate: f64,
    /// Statuses of those errors, used in turn (empty = 500). 502 comes with an HTML body
    /// like Cloudflare's; the others with Discord's JSON error body.
    pub error_statuses: Vec<u16>,
    /// The next `storm_429` `/api` requests are answered with a 429 (route scope).
    pub storm_429: u32,
    /// `retry_after` of storm 429s, milliseconds (default 100 when 0).
    pub storm_retry_after_ms: u64,
    /// Channels (or threads) the bot may not read: 403 with code 50001.
    pub forbidden_channels: BTreeSet<u64>,
    /// When true, the token is rejected: 401 on every `/api` request.
    pub token_revoked: bool,
    /// The next `drop_connections` `/api` requests get their connection closed mid-response.
    pub drop_connections: u32,
    /// Attachment links in served messages are issued already expired, so that every
    /// download needs a refresh (`POST /attachments/refresh-urls`) first.
    pub expired_links: bool,
    /// Attachments whose file is gone: the CDN answers 404 even with a fresh link (the
    /// refresh endpoint still renews their links, as Discord signs from metadata).
    pub gone_attachments: BTreeSet<u64>,
    /// CDN bytes per second per response (0 = no cap).
    pub cdn_bytes_per_sec: u64,
    /// The first `cdn_fail_first` CDN requests of each file fail (counted per attachment in
    /// [`super::CdnStats::requests`], since start or the last stats reset).
    pub cdn_fail_first: u32,
    /// How those requests fail: `None` answers 500; `Some(k)` sends a 200 and drops the
    /// connection after `k` body bytes.
    pub cdn_drop_after_bytes: Option<u64>,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Bucket headers for the response (`None` for routes without a bucket).
    pub headers: Vec<(&'static str, String)>,
    /// When limited: (retry_after seconds, global?).
    pub limited: Option<(f64, bool)>,
}

#[derive(Debug)]
struct Bucket {
    window_start: Instant,
    count: u32,
}

/// Per-route buckets and the global window.
#[derive(Debug)]
pub struct Limiter {
    /// Per-route limits (`None` = unlimited, headers still sent).
    pub route_limit: Option<RouteLimit>,
    /// Global requests per second (`None` = off).
    pub global_per_sec: Option<u32>,
    buckets: HashMap<(&'static str, u64), Bucket>,
    global: Bucket,
}

/// Limit reported when routes are unlimited (twilight parses the limit as `u16`).
const UNLIMITED: u32 = 65_535;

fn unix_secs_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Bucket id of a route: a stable hex hash of its template (like Discord's opaque ids).
pub fn bucket_id(route: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in route.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Limiter {
    /// A limiter with the given limits.
    pub fn new(route_limit: Option<RouteLimit>, global_per_sec: Option<u32>) -> Limiter {
        Limiter {
            route_limit,
            global_per_sec,
            buckets: HashMap::new(),
            global: Bucket {
                window_start: Instant::now(),
                count: 0,
            },
        }
    }

    /// Forgets all bucket state.
    pub fn reset(&mut self) {
        self.buckets.clear();
        self.global.count = 0;
    }

    /// Counts one request of `route` on major parameter `major` and decides.
    pub fn check(&mut self, route: &'static str, major: u64) -> Decision {
        let now = Instant::now();
        if let Some(per_sec) = self.global_per_sec {
            let g = &mut self.global;
            if now.duration_since(g.window_start) >= Duration::from_secs(1) {
                g.window_start = now;
                g.count = 0;
            }
            if g.count >= per_sec {
                let retry = (Duration::from_secs(1)
                    .saturating_sub(now.duration_since(g.window_start)))
                .as_secs_f64()
                .max(0.001);
                return Decision {
                    headers: vec![
                        ("x-ratelimit-global", "true".into()),
                        ("x-ratelimit-scope", "global".into()),
                    ],
                    limited: Some((retry, true)),
                };
            }
            g.count += 1;
        }
        let (limit, window) = match self.route_limit {
            Some(l) => (l.limit.clamp(1, UNLIMITED), l.window),
            None => (UNLIMITED, Duration::from_secs(1)),
        };
        let b = self.buckets.entry((route, major)).or_insert(Bucket {
            window_start: now,
            count: 0,
        });
        if now.duration_since(b.window_start) >= window {
            b.window_start = now;
            b.count = 0;
        }
        let reset_after = window
            .saturating_sub(now.duration_since(b.window_start))
            .as_secs_f64()
            .max(0.001);
        let limited = self.route_limit.is_some() && b.count >= limit;
        if !limited {
            b.count += 1;
        }
        let remaining = if self.route_limit.is_some() {
            limit - b.count.min(limit)
        } else {
            UNLIMITED
        };
        let headers = vec![
            ("x-ratelimit-bucket", bucket_id(route)),
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            (
                "x-ratelimit-reset",
                format!("{:.3}", unix_secs_now() + reset_after),
            ),
            ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
            // twilight-http 0.18 reads the bucket headers only when a scope is present.
            ("x-ratelimit-scope", "user".into()),
        ];
        Decision {
            headers,
            limited: limited.then_some((reset_after, false)),
        }
    }
}
