use std::collections::BTreeSet;

use actix_web::test;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TEST_API_KEY, send, spawn_app};

/// The full path patterns of every resource registered in the app, read from actix's
/// resource map (its pretty `Debug` form: each node's `patterns` string, nested by
/// indentation). Scopes contribute their prefix; leaves are the routes.
fn registered_patterns(map: &actix_web::dev::ResourceMap) -> BTreeSet<String> {
    let text = format!("{map:#?}");
    let lines: Vec<&str> = text.lines().collect();
    // (indent of the node's `ResourceMap {` line, its pattern, has children)
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut found = BTreeSet::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        if line.trim_start().starts_with("patterns: Single(") {
            let pattern = lines[i + 1]
                .trim()
                .trim_end_matches(',')
                .trim_matches('"')
                .to_owned();
            while stack.last().is_some_and(|(d, _)| *d >= indent) {
                stack.pop();
            }
            let prefix: String = stack.iter().map(|(_, p)| p.as_str()).collect();
            stack.push((indent, pattern.clone()));
            found.insert(format!("{prefix}{pattern}"));
            i += 2;
            continue;
        }
        i += 1;
    }
    found
}

#[actix_web::test]
async fn openapi_document_describes_every_registered_route() {
    let test_db = testkit::db::TestDb::new().await;
    let db = service::db::connect_url(test_db.url()).await.unwrap();
    let index_dir = tempfile::tempdir().unwrap();
    let state = api::startup::AppState::new(
        db,
        service::Config::for_database(test_db.url()),
        api::middleware::AdminKey::new(TEST_API_KEY),
        service::search::SearchIndex::open(index_dir.path()).unwrap(),
        service::files::BlobStore::open(&service::config::AttachmentStoreUrl::File(
            index_dir.path().join("files"),
        ))
        .unwrap(),
    )
    .unwrap();
    let app = test::init_service(api::startup::app(state)).await;
    let response =
        test::call_service(&app, test::TestRequest::get().uri("/health").to_request()).await;
    let registered = registered_patterns(response.request().resource_map());

    let doc = serde_json::to_value(api::routes::document()).unwrap();
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    // The API docs themselves are not operations of the API, nor are the archive website's
    // HTML pages (`/archive/...`, the host's robots.txt, a mapped host's catch-all).
    let exempt = |p: &str| {
        p == "/api/openapi.json"
            || p == "/api/docs"
            || p.starts_with("/api/docs/")
            || p.starts_with(api::routes::site::PREFIX)
            || p == "/robots.txt"
            || p == api::routes::site::HOST_CATCH_ALL
    };
    assert!(
        registered.contains("/api/tenants"),
        "resource map not understood: {registered:?}"
    );
    for pattern in &registered {
        if exempt(pattern) {
            continue;
        }
        let normalized = normalize(pattern);
        let covered = documented.iter().any(|d| {
            let d = normalize(d);
            d == normalized || d.starts_with(&format!("{normalized}/"))
        });
        assert!(covered, "route {pattern} is not in the OpenAPI document");
    }
}

/// `{anything}` -> `{}`, so parameter names need not agree.
fn normalize(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    out.push_str("{}");
                }
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    for (method, path, _) in crate::auth::documented_operations(&app).await {
        let response = send(app.request(method.clone(), &path)).await;
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
            let body: Value = response.json().await.unwrap();
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                !message.starts_with("no route") && !message.starts_with("method "),
                "{method} {path} is documented but not routed: {body}"
            );
        }
    }
}

#[tokio::test]
async fn openapi_document_is_served_as_json() {
    let app = spawn_app().await;
    let response = send(app.anonymous(Method::GET, "/api/openapi.json")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    let html = send(app.anonymous(Method::GET, "/api/docs/"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("swagger"), "Swagger UI page expected");
}

/// The document states each route's paging parameters with the ranges and defaults of the
/// API's one query policy (`api::params`), as integers, with a documented 400.
#[tokio::test]
async fn paging_parameters_are_documented_with_the_policy_ranges_and_defaults() {
    use api::params::{
        Count, HISTORY_LIMIT, MESSAGE_LIMIT, NEIGHBOURS, TENANT_LIMIT, TENANT_PAGE, THREAD_LIMIT,
    };
    let doc = serde_json::to_value(api::routes::document()).unwrap();
    let cases: [(&str, &str, Count); 7] = [
        ("/api/tenants", "page", TENANT_PAGE),
        ("/api/tenants", "limit", TENANT_LIMIT),
        ("/api/sync/history/{tenantId}", "limit", HISTORY_LIMIT),
        (
            "/api/v1/channels/{channelId}/messages",
            "limit",
            MESSAGE_LIMIT,
        ),
        (
            "/api/v1/channels/{channelId}/threads",
            "limit",
            THREAD_LIMIT,
        ),
        ("/api/v1/messages/{messageId}", "before", NEIGHBOURS),
        ("/api/v1/messages/{messageId}", "after", NEIGHBOURS),
    ];
    for (path, name, policy) in cases {
        let operation = &doc["paths"][path]["get"];
        let param = operation["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has no parameters"))
            .iter()
            .find(|p| p["name"] == name && p["in"] == "query")
            .unwrap_or_else(|| panic!("{path} does not document {name}"));
        let schema = &param["schema"];
        let at = format!("{path} {name}: {schema}");
        assert!(schema["type"].to_string().contains("integer"), "{at}");
        assert_eq!(schema["minimum"].as_f64(), Some(policy.min as f64), "{at}");
        if policy.max == u64::MAX {
            assert!(schema.get("maximum").is_none(), "{at}");
        } else {
            assert_eq!(schema["maximum"].as_f64(), Some(policy.max as f64), "{at}");
        }
        assert_eq!(
            schema["default"].as_f64(),
            Some(policy.default as f64),
            "{at}"
        );
        assert!(operation["responses"]["400"].is_object(), "{at}: no 400");
    }
    let list = &doc["paths"]["/api/tenants"]["get"]["parameters"];
    for name in ["sortBy", "sortOrder"] {
        assert!(
            list.as_array().unwrap().iter().any(|p| p["name"] == name),
            "{name} in {list}"
        );
    }
}

/// `startDate`/`endDate` of `POST /api/sync` are documented as the UTC datetimes the route
/// accepts, and as ignored.
#[tokio::test]
async fn sync_start_dates_are_documented_as_validated_and_ignored() {
    let doc = serde_json::to_value(api::routes::document()).unwrap();
    let schema = &doc["components"]["schemas"]["StartSync"]["properties"];
    for field in ["startDate", "endDate"] {
        let property = &schema[field];
        assert_eq!(property["format"], "date-time", "{field}: {property}");
        let pattern = property["pattern"].as_str().unwrap_or_default();
        assert!(pattern.ends_with("Z$"), "{field}: {property}");
        let description = property["description"].as_str().unwrap_or_default();
        assert!(description.contains("ignored"), "{field}: {property}");
    }
    assert!(doc["paths"]["/api/sync"]["post"]["responses"]["400"].is_object());
}
