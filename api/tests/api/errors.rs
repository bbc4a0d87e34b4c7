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

#[tokio::test]
async fn malformed_json_is_a_400_not_a_500() {
    let app = spawn_app().await;
    for raw in [
        "{",
        "{\"name\": }",
        "nul",
        "\u{0}",
        "{\"name\":\"a\"} trailing",
    ] {
        let response = send(
            app.request(Method::POST, "/api/tenants")
                .header("content-type", "application/json")
                .body(raw.to_owned()),
        )
        .await;
        assert_error(response, StatusCode::BAD_REQUEST, "Bad Request").await;
    }
}

#[tokio::test]
async fn missing_body_or_wrong_content_type_is_a_400() {
    let app = spawn_app().await;
    let response = send(
        app.request(Method::POST, "/api/tenants")
            .header("content-type", "application/json"),
    )
    .await;
    assert_error(response, StatusCode::BAD_REQUEST, "Bad Request").await;
    let response = send(app.request(Method::POST, "/api/tenants")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "Bad Request").await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let response = send(
            app.request(Method::POST, "/api/tenants")
                .header("content-type", content_type)
                .body(r#"{"name":"x","platform":"slack","platformId":"p"}"#),
        )
        .await;
        let err = assert_error(response, StatusCode::BAD_REQUEST, "Bad Request").await;
        assert!(err["message"].as_str().unwrap().contains("Content-Type"));
    }
    // A charset parameter is fine.
    let response = send(
        app.request(Method::POST, "/api/tenants")
            .header("content-type", "application/json; charset=utf-8")
            .body(r#"{"name":"x","slug":"xyz","platform":"slack","platformId":"p"}"#),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn oversized_body_is_a_413() {
    let app = spawn_app().await;
    let big = serde_json::json!({"name": "x".repeat(api::startup::JSON_BODY_LIMIT), "platform": "slack", "platformId": "p"});
    let response = app.create_tenant(&big).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large").await;
    // Also without a Content-Length: a chunked body, written by hand.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/tenants HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        crate::helpers::TEST_API_KEY
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = "x".repeat(10 * 1024);
    stream.write_all(b"9\r\n{\"name\":\"\r\n").await.unwrap();
    for _ in 0..20 {
        let frame = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if stream.write_all(frame.as_bytes()).await.is_err() {
            break; // The server may answer and close early.
        }
    }
    let _ = stream.write_all(b"2\r\n\"}\r\n0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("Payload Too Large"), "{answer}");
}

#[tokio::test]
async fn authentication_is_checked_before_the_body_is_parsed() {
    let app = spawn_app().await;
    let response = send(
        app.anonymous(Method::POST, "/api/tenants")
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "Unauthorized").await;
}
