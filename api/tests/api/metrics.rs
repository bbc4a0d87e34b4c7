use reqwest::{Method, StatusCode};

use crate::cli::{free_port, spawn_serve, stop, wait_until_up};
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

/// `verta serve` with the default log filter (no `RUST_LOG`) serving the routes with a path
/// parameter (with and without the key: a refused request never reaches its route) and the
/// docs (a pattern with a regex): every request is counted under its route pattern, and
/// nothing is logged at WARN or above.
#[tokio::test]
async fn served_requests_are_counted_per_route_pattern_without_a_warning() {
    const KEY: &str = "metrics-test-key";
    let db = testkit::db::TestDb::new().await;
    let port = free_port();
    let child = spawn_serve(
        db.url(),
        port,
        &[("ADMIN_API_KEY", KEY)],
        std::process::Stdio::null(),
    );
    let base = wait_until_up(port).await;
    let client = reqwest::Client::new();
    let tenant: serde_json::Value = client
        .post(format!("{base}/api/tenants"))
        .header("X-API-KEY", KEY)
        .json(&serde_json::json!({
            "name": "Metrics Guild",
            "platform": "slack",
            "platformId": "1",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = tenant["id"].as_str().expect("a tenant id").to_owned();
    for path in [
        format!("/api/tenants/{id}"),
        format!("/api/tenants/{id}/sync/status"),
    ] {
        let with_key = client
            .get(format!("{base}{path}"))
            .header("X-API-KEY", KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(with_key.status(), StatusCode::OK, "{path}");
        let without_key = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(without_key.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let docs = client
        .get(format!("{base}/api/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    let text = client
        .get(format!("{base}/metrics"))
        .header("X-API-KEY", KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let output = stop(child).await;

    for pattern in ["/api/tenants/{id}", "/api/tenants/{id}/sync/status"] {
        for status in ["200", "401"] {
            let line = format!(
                "verta_http_requests_total{{endpoint=\"{pattern}\",method=\"GET\",status=\"{status}\"}} 1"
            );
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
    }
    assert!(
        !text.contains(&id),
        "the concrete id is folded into the pattern"
    );

    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON log line: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["message"] == "request completed"),
        "Verta's own INFO lines are logged by default:\n{stderr}"
    );
    let loud: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| matches!(l["level"].as_str(), Some("WARN" | "ERROR")))
        .collect();
    assert!(loud.is_empty(), "warnings on normal traffic: {loud:#?}");
}
