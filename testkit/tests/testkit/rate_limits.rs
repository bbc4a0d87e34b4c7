//! Rate-limit headers, per-route buckets, the global limit and 429 storms.

use std::time::Duration;

use testkit::fake_discord::{ChannelKind, FakeConfig};

use crate::helpers::{Harness, Resp, first_of};

fn assert_bucket_headers(r: &Resp) {
    for h in [
        "x-ratelimit-bucket",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
    ] {
        assert!(r.header(h).is_some(), "missing {h}: {:?}", r.headers);
    }
    let reset_after: f64 = r
        .header("x-ratelimit-reset-after")
        .and_then(|v| v.parse().ok())
        .expect("reset-after is a number");
    assert!(reset_after > 0.0);
    let _: u16 = r
        .header("x-ratelimit-limit")
        .and_then(|v| v.parse().ok())
        .expect("limit fits twilight's u16");
}

#[tokio::test]
async fn every_api_response_carries_rate_limit_headers() {
    let h = Harness::small();
    let g = h.guild();
    let text = first_of(g, ChannelKind::Text);
    for path in [
        format!("/guilds/{}", g.id),
        format!("/guilds/{}/channels", g.id),
        format!("/channels/{}/messages", text.id),
        format!("/channels/{}/messages/1", text.id),
        "/users/@me".to_string(),
    ] {
        let r = h.get(&path).await;
        assert_bucket_headers(&r);
    }
}

#[tokio::test]
async fn per_route_buckets_answer_429_with_retry_after_per_major_parameter() {
    let h = Harness::new(FakeConfig::small().with_route_limit(3, Duration::from_secs(30)));
    let g = h.guild();
    let text = first_of(g, ChannelKind::Text);
    let other = first_of(g, ChannelKind::Announcement);
    let path = format!("/channels/{}/messages?limit=1", text.id);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = h.get(&path).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        remaining.push(r.header("x-ratelimit-remaining").map(str::to_string));
    }
    assert_eq!(
        remaining,
        vec![Some("2".into()), Some("1".into()), Some("0".into())]
    );
    let r = h.get(&path).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["global"], false);
    assert_eq!(r.body["message"], "You are being rate limited.");
    let retry = r.body["retry_after"].as_f64().expect("retry_after");
    assert!(retry > 0.0 && retry <= 30.0, "{retry}");
    assert_eq!(r.header("x-ratelimit-scope"), Some("user"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let retry_header: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!(retry_header >= 1);
    // Another channel is another bucket; another route too.
    let r = h
        .get(&format!("/channels/{}/messages?limit=1", other.id))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(h.get(&format!("/channels/{}", text.id)).await.status, 200);
    // The bucket id is per route, not per channel (like Discord's).
    let a = h.get(&format!("/channels/{}", text.id)).await;
    let b = h.get(&format!("/channels/{}", other.id)).await;
    assert_eq!(
        a.header("x-ratelimit-bucket"),
        b.header("x-ratelimit-bucket")
    );
}

#[tokio::test]
async fn the_global_limit_answers_429_global_across_routes() {
    let h = Harness::new(FakeConfig::small().with_global_limit(Some(5)));
    let g = h.guild();
    let mut statuses = Vec::new();
    for k in 0..6 {
        let path = if k % 2 == 0 {
            format!("/guilds/{}", g.id)
        } else {
            "/users/@me".to_string()
        };
        statuses.push(h.get(&path).await);
    }
    // The window is one second: count only if the six requests shared it.
    let limited: Vec<&Resp> = statuses.iter().filter(|r| r.status == 429).collect();
    assert!(limited.len() <= 1);
    if let Some(r) = limited.first() {
        assert_eq!(r.body["global"], true);
        assert_eq!(r.header("x-ratelimit-global"), Some("true"));
        assert_eq!(r.header("x-ratelimit-scope"), Some("global"));
        assert!(r.header("retry-after").is_some());
    }
    h.fake.set_limits(None, Some(1));
    let mut limited = 0;
    for _ in 0..5 {
        if h.get("/users/@me").await.status == 429 {
            limited += 1;
        }
    }
    assert!(
        limited >= 1,
        "five quick requests exceed a 1/s global limit"
    );
}

#[tokio::test]
async fn a_429_storm_limits_the_next_requests_then_recovers() {
    let h = Harness::small();
    let gid = h.fake.guild_ids()[0];
    h.fake.update_faults(|f| {
        f.storm_429 = 2;
        f.storm_retry_after_ms = 250;
    });
    let path = format!("/guilds/{gid}");
    for _ in 0..2 {
        let r = h.get(&path).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.body["retry_after"], 0.25);
        assert_eq!(r.header("x-ratelimit-scope"), Some("user"));
    }
    assert_eq!(h.get(&path).await.status, 200);
    assert_eq!(h.fake.status_counts().get(&429), Some(&2));
}
