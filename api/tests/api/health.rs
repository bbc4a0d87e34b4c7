use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_status, spawn_app};

#[tokio::test]
async fn health_is_public_and_reports_the_database_reachable() {
    let app = spawn_app().await;
    let response = app
        .anonymous(reqwest::Method::GET, "/health")
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn health_answers_503_when_the_database_is_unreachable() {
    let app = spawn_app().await;
    app.db.close_by_ref().await.unwrap();
    let response = app
        .anonymous(reqwest::Method::GET, "/health")
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "unreachable");
}

#[tokio::test]
async fn root_greets_with_the_api_version() {
    let app = spawn_app().await;
    let response = app.get("/api").await;
    assert_status(&response, StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Welcome to Verta API");
    assert_eq!(body["version"], "1.0.0");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let first = app.get("/api").await;
    let second = app
        .anonymous(reqwest::Method::GET, "/nowhere")
        .send()
        .await
        .unwrap();
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .expect("x-request-id header")
    };
    let (a, b) = (id(&first), id(&second));
    assert!(uuid::Uuid::parse_str(&a).is_ok(), "not a uuid: {a}");
    assert_ne!(a, b);
}
