use reqwest::{Method, StatusCode};

use crate::helpers::{assert_error, assert_status, spawn_app};

#[tokio::test]
async fn metrics_count_requests_per_route_pattern_with_latency_histograms() {
    let app = spawn_app().await;
    for _ in 0..3 {
        assert_status(&app.get("/api").await, StatusCode::OK);
    }
    let unknown = uuid::Uuid::new_v4();
    let _ = app.get(&format!("/api/tenants/{unknown}")).await;
    let response = app.get("/metrics").await;
    assert_status(&response, StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    let count_line = text
        .lines()
        .find(|l| {
            l.starts_with("verta_http_requests_total{")
                && l.contains("endpoint=\"/api\"")
                && l.contains("method=\"GET\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no request counter for /api in:\n{text}"));
    assert!(count_line.ends_with(" 3"), "{count_line}");
    assert!(
        text.contains("verta_http_requests_duration_seconds_bucket{endpoint=\"/api\""),
        "no latency histogram:\n{text}"
    );
    // The concrete id is folded into the route pattern.
    assert!(!text.contains(&unknown.to_string()));
}

#[tokio::test]
async fn metrics_require_the_api_key() {
    let app = spawn_app().await;
    let response = app.anonymous(Method::GET, "/metrics").send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "Unauthorized").await;
}

#[tokio::test]
async fn metrics_count_sync_jobs_by_status() {
    let app = spawn_app().await;
    // A new Discord tenant gets its first sync queued.
    app.create_tenant_ok("Queued", "queued", "discord").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l == "verta_sync_jobs{status=\"queued\"} 1"),
        "no queued-jobs gauge in:\n{text}"
    );
}
