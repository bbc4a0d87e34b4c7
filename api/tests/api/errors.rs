use reqwest::{Method, StatusCode};

use crate::helpers::{assert_error, send, spawn_app};

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let app = spawn_app().await;
    let response = send(app.anonymous(Method::GET, "/does/not/exist")).await;
    let body = assert_error(response, StatusCode::NOT_FOUND, "Not Found").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/does/not/exist")
    );
}

#[tokio::test]
async fn unsupported_method_on_a_known_route_is_a_json_405() {
    let app = spawn_app().await;
    let response = send(app.request(Method::PUT, "/api")).await;
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
    )
    .await;
    let response = send(app.anonymous(Method::POST, "/health")).await;
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
    )
    .await;
}
