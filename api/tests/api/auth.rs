use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, assert_error, send, spawn_app};

/// Every (method, concrete path, public?) of the served OpenAPI document; path parameters
/// are filled with a random UUID.
pub async fn documented_operations(app: &TestApp) -> Vec<(Method, String, bool)> {
    let doc: Value = app
        .anonymous(Method::GET, "/api/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = fill_params(path);
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let public = op.get("security").is_none();
            ops.push((method, concrete.clone(), public));
        }
    }
    ops
}

fn fill_params(path: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str(&id);
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn every_protected_route_rejects_a_missing_or_empty_key() {
    let app = spawn_app().await;
    let ops = documented_operations(&app).await;
    assert!(ops.iter().filter(|(_, _, public)| !public).count() >= 2);
    for (method, path, public) in ops.into_iter().filter(|(_, _, p)| !p) {
        assert!(!public);
        let response = send(app.anonymous(method.clone(), &path)).await;
        let body = assert_error(response, StatusCode::UNAUTHORIZED, "Unauthorized").await;
        assert_eq!(
            body["message"], "X-API-KEY header is required",
            "{method} {path}"
        );
        let response = send(app.anonymous(method.clone(), &path).header("X-API-KEY", "")).await;
        let body = assert_error(response, StatusCode::UNAUTHORIZED, "Unauthorized").await;
        assert_eq!(
            body["message"], "X-API-KEY header is required",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_protected_route_rejects_a_wrong_key_compared_case_sensitively() {
    let app = spawn_app().await;
    let wrong = [
        "wrong".to_owned(),
        crate::helpers::TEST_API_KEY.to_uppercase(),
        format!("{}x", crate::helpers::TEST_API_KEY),
        crate::helpers::TEST_API_KEY[1..].to_owned(),
    ];
    for (method, path, _) in documented_operations(&app)
        .await
        .into_iter()
        .filter(|(_, _, p)| !p)
    {
        for key in &wrong {
            let response = send(
                app.anonymous(method.clone(), &path)
                    .header("X-API-KEY", key),
            )
            .await;
            let body = assert_error(response, StatusCode::UNAUTHORIZED, "Unauthorized").await;
            assert_eq!(
                body["message"], "Invalid API key",
                "{method} {path} key {key:?}"
            );
        }
    }
}

#[tokio::test]
async fn header_name_is_case_insensitive() {
    let app = spawn_app().await;
    let response = send(
        app.anonymous(Method::GET, "/api")
            .header("x-api-key", crate::helpers::TEST_API_KEY),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn health_and_api_docs_need_no_key() {
    let app = spawn_app().await;
    for path in ["/health", "/api/openapi.json", "/api/docs/"] {
        let response = send(app.anonymous(Method::GET, path)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let response = send(app.anonymous(Method::GET, "/api/docs")).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()["location"], "/api/docs/");
}

#[tokio::test]
async fn unknown_paths_under_api_need_the_key_before_revealing_a_404() {
    let app = spawn_app().await;
    let response = send(app.anonymous(Method::GET, "/api/nothing-here")).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "Unauthorized").await;
    let response = app.get("/api/nothing-here").await;
    assert_error(response, StatusCode::NOT_FOUND, "Not Found").await;
}

#[tokio::test]
async fn a_generated_key_is_used_when_none_is_configured() {
    let app = crate::helpers::spawn_app_with(|c| c.admin_api_key = None).await;
    let response = app.get("/api").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "Unauthorized").await;
}
