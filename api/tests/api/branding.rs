use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_error, assert_status, issue_paths, send, spawn_app};

#[tokio::test]
async fn branding_is_null_until_set_then_defaults_fill_absent_fields() {
    let app = spawn_app().await;
    let tenant = app.create_tenant_ok("Brand", "brand", "discord").await;
    let path = format!("/api/tenants/{}/branding", tenant["id"].as_str().unwrap());
    let response = app.get(&path).await;
    assert_status(&response, StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), Value::Null);

    let response = app
        .put_json(&path, &json!({"primaryColor": "#AABBCC"}))
        .await;
    assert_status(&response, StatusCode::OK);
    let branding: Value = response.json().await.unwrap();
    assert_eq!(branding["primaryColor"], "#AABBCC");
    assert_eq!(branding["secondaryColor"], "#64748b");
    assert_eq!(branding["accentColor"], "#10b981");
    assert_eq!(branding["logo"], Value::Null);
    assert_eq!(branding["tenantId"], tenant["id"]);

    let response = app
        .put_json(
            &path,
            &json!({"logo": "https://example.com/logo.png", "accentColor": "#000000"}),
        )
        .await;
    let branding: Value = response.json().await.unwrap();
    assert_eq!(branding["primaryColor"], "#AABBCC", "kept");
    assert_eq!(branding["logo"], "https://example.com/logo.png");
    assert_eq!(branding["accentColor"], "#000000");
    let stored: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(stored, branding);

    let response = app.put_json(&path, &json!({"logo": null})).await;
    let branding: Value = response.json().await.unwrap();
    assert_eq!(branding["logo"], Value::Null, "null clears the logo");
}

#[tokio::test]
async fn branding_values_are_validated() {
    let app = spawn_app().await;
    let tenant = app.create_tenant_ok("Brand", "brand", "discord").await;
    let path = format!("/api/tenants/{}/branding", tenant["id"].as_str().unwrap());
    for (body, paths) in [
        (json!({"primaryColor": "red"}), vec!["primaryColor"]),
        (json!({"secondaryColor": "#12345"}), vec!["secondaryColor"]),
        (json!({"accentColor": "#1234567"}), vec!["accentColor"]),
        (
            json!({"primaryColor": "#GGGGGG", "accentColor": "123456"}),
            vec!["primaryColor", "accentColor"],
        ),
        (json!({"logo": "x".repeat(65_536)}), vec!["logo"]),
        (json!({"primaryColor": 5}), vec!["primaryColor"]),
    ] {
        let response = app.put_json(&path, &body).await;
        let err = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
        assert_eq!(issue_paths(&err), paths);
    }
    let response = app
        .put_json(&path, &json!({"logo": "x".repeat(65_535)}))
        .await;
    assert_status(&response, StatusCode::OK);
}

#[tokio::test]
async fn branding_of_an_unknown_tenant_is_404_and_bad_ids_are_400() {
    let app = spawn_app().await;
    let path = format!("/api/tenants/{}/branding", uuid::Uuid::new_v4());
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "Not Found").await;
    let response = app
        .put_json(&path, &json!({"primaryColor": "#000000"}))
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "Not Found").await;
    let response = send(app.request(Method::GET, "/api/tenants/nope/branding")).await;
    assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
}

#[tokio::test]
async fn deleting_a_tenant_removes_its_branding() {
    let app = spawn_app().await;
    let tenant = app.create_tenant_ok("Brand", "brand", "discord").await;
    let id = tenant["id"].as_str().unwrap();
    let path = format!("/api/tenants/{id}/branding");
    assert_status(&app.put_json(&path, &json!({})).await, StatusCode::OK);
    assert_status(
        &app.delete(&format!("/api/tenants/{id}")).await,
        StatusCode::NO_CONTENT,
    );
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "Not Found").await;
}
