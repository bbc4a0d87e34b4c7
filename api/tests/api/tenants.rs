use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_error, assert_status, issue_paths, send, spawn_app};

fn body(name: &str, slug: Option<&str>, platform: &str, platform_id: &str) -> Value {
    let mut b = json!({"name": name, "platform": platform, "platformId": platform_id});
    if let Some(slug) = slug {
        b["slug"] = json!(slug);
    }
    b
}

/// Creating with `body` must fail with a validation error naming exactly `paths`.
async fn assert_create_rejected(app: &crate::helpers::TestApp, body: Value, paths: &[&str]) {
    let response = app.create_tenant(&body).await;
    let err = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
    let mut got = issue_paths(&err);
    got.sort();
    got.dedup();
    let mut want: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "body {body} gave {err}");
}

#[tokio::test]
async fn empty_list_has_zero_totals() {
    let app = spawn_app().await;
    let response = app.get("/api/tenants").await;
    assert_status(&response, StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    assert_eq!(
        page,
        json!({"data": [], "pagination": {"page": 1, "limit": 10, "total": 0, "totalPages": 0}})
    );
}

#[tokio::test]
async fn list_pages_carry_totals_and_a_page_past_the_end_is_empty() {
    let app = spawn_app().await;
    for i in 0..15 {
        app.create_tenant_ok(&format!("Tenant {i}"), &format!("tenant-{i}"), "slack")
            .await;
    }
    let first: Value = app
        .get("/api/tenants?page=1&limit=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["data"].as_array().unwrap().len(), 10);
    assert_eq!(
        first["pagination"],
        json!({"page": 1, "limit": 10, "total": 15, "totalPages": 2})
    );
    let second: Value = app
        .get("/api/tenants?page=2&limit=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["data"].as_array().unwrap().len(), 5);
    assert_eq!(second["pagination"]["page"], 2);
    let mut ids: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["data"].as_array().unwrap())
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 15, "pages overlap");
    let past: Value = app
        .get("/api/tenants?page=3&limit=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(past["data"], json!([]));
    assert_eq!(past["pagination"]["total"], 15);
    let all: Value = app
        .get("/api/tenants?limit=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 15);
    assert_eq!(all["pagination"]["totalPages"], 1);
}

#[tokio::test]
async fn list_sorts_by_name_in_both_directions() {
    let app = spawn_app().await;
    app.create_tenant_ok("Zebra Corp", "zebra-corp", "slack")
        .await;
    app.create_tenant_ok("Alpha Inc", "alpha-inc", "slack")
        .await;
    let names = |page: Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let asc: Value = app
        .get("/api/tenants?sortBy=name&sortOrder=asc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(asc), ["Alpha Inc", "Zebra Corp"]);
    let desc: Value = app
        .get("/api/tenants?sortBy=name&sortOrder=desc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(desc), ["Zebra Corp", "Alpha Inc"]);
    for sort in ["created_at", "updated_at"] {
        let response = app.get(&format!("/api/tenants?sortBy={sort}")).await;
        assert_status(&response, StatusCode::OK);
    }
}

#[tokio::test]
async fn list_query_values_are_validated_at_their_boundaries() {
    let app = spawn_app().await;
    for (query, path) in [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=1.5", "page"),
        ("page=abc", "page"),
        ("page=", "page"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("sortBy=createdAt", "sortBy"),
        ("sortBy=id", "sortBy"),
        ("sortOrder=up", "sortOrder"),
        ("sortOrder=ASC", "sortOrder"),
    ] {
        let response = app.get(&format!("/api/tenants?{query}")).await;
        let err = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
        assert_eq!(issue_paths(&err), [path], "{query}: {err}");
    }
    for query in [
        "limit=100",
        "limit=1",
        "page=1",
        "page=99999",
        "unknown=1",
        "sortOrder=asc",
    ] {
        let response = app.get(&format!("/api/tenants?{query}")).await;
        assert_status(&response, StatusCode::OK);
    }
    // Original test case: both invalid.
    let response = app.get("/api/tenants?page=invalid&limit=200").await;
    let err = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
    assert_eq!(issue_paths(&err), ["page", "limit"]);
}

/// `page` and `limit` under the API's one paging policy: the original's ranges and defaults
/// (page >= 1, default 1; limit 1-100, default 10), every other value a 400 naming the
/// parameter with the range, nothing clamped.
#[tokio::test]
async fn list_paging_follows_the_one_query_policy() {
    let app = spawn_app().await;
    for i in 0..12 {
        app.create_tenant_ok(&format!("Tenant {i}"), &format!("tenant-{i}"), "slack")
            .await;
    }
    for (query, field, message) in [
        ("limit=0", "limit", "Too small: expected number to be >=1"),
        ("limit=101", "limit", "Too big: expected number to be <=100"),
        ("limit=abc", "limit", "Invalid input: expected an integer"),
        ("limit=1e1", "limit", "Invalid input: expected an integer"),
        ("limit=-5", "limit", "Invalid input: expected an integer"),
        ("page=0", "page", "Too small: expected number to be >=1"),
        ("page=two", "page", "Invalid input: expected an integer"),
        (
            "page=18446744073709551616",
            "page",
            "Too big: expected number to be <=18446744073709551615",
        ),
    ] {
        let response = app.get(&format!("/api/tenants?{query}")).await;
        let err = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
        assert_eq!(
            err["details"]["issues"],
            json!([{"path": field, "message": message}]),
            "{query}"
        );
    }
    for (query, page, limit, count) in [
        ("", 1, 10, 10),
        ("page=2", 2, 10, 2),
        ("limit=1", 1, 1, 1),
        ("limit=100", 1, 100, 12),
        ("limit=%205%20&page=3", 3, 5, 2),
    ] {
        let response = app.get(&format!("/api/tenants?{query}")).await;
        assert_status(&response, StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["pagination"]["page"], page, "{query}");
        assert_eq!(body["pagination"]["limit"], limit, "{query}");
        assert_eq!(body["pagination"]["total"], 12, "{query}");
        assert_eq!(body["data"].as_array().unwrap().len(), count, "{query}");
    }
}

#[tokio::test]
async fn repeated_or_huge_query_values_are_client_errors() {
    let app = spawn_app().await;
    let response = app.get("/api/tenants?page=1&page=2").await;
    assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
    for query in [
        "page=18446744073709551616",
        "page=9223372036854775807",
        "page=1e300",
    ] {
        let response = app.get(&format!("/api/tenants?{query}")).await;
        assert!(
            response.status().is_success() || response.status() == StatusCode::BAD_REQUEST,
            "{query} -> {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn get_returns_exactly_the_eight_fields() {
    let app = spawn_app().await;
    let created = app.create_tenant_ok("Get Me", "get-me", "discord").await;
    let id = created["id"].as_str().unwrap();
    let response = app.get(&format!("/api/tenants/{id}")).await;
    assert_status(&response, StatusCode::OK);
    let tenant: Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = tenant
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "createdAt",
            "id",
            "name",
            "platform",
            "platformId",
            "slug",
            "status",
            "updatedAt"
        ]
    );
    assert_eq!(tenant, created);
    let created_at = tenant["createdAt"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 24,
        "{created_at}"
    );
}

#[tokio::test]
async fn unknown_tenant_is_404_and_malformed_ids_are_400() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4();
    for method in [Method::GET, Method::DELETE] {
        let response = send(app.request(method, &format!("/api/tenants/{unknown}"))).await;
        assert_error(response, StatusCode::NOT_FOUND, "Not Found").await;
    }
    let response = app
        .patch_json(&format!("/api/tenants/{unknown}"), &json!({"name": "x"}))
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "Not Found").await;

    for bad in [
        "invalid-uuid",
        "123",
        "550e8400e29b41d4a716446655440000",
        "550e8400-e29b-41d4-a716-44665544000g",
    ] {
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            let mut request = app.request(method.clone(), &format!("/api/tenants/{bad}"));
            if method == Method::PATCH {
                request = request.json(&json!({"name": "x"}));
            }
            let response = send(request).await;
            let err = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
            assert_eq!(err["details"]["issues"][0]["path"], "");
            assert_eq!(
                err["details"]["issues"][0]["message"],
                "Invalid tenant ID format"
            );
        }
    }
    // Upper-case hex is a valid id.
    let created = app.create_tenant_ok("Upper", "upper", "slack").await;
    let upper = created["id"].as_str().unwrap().to_uppercase();
    assert_status(
        &app.get(&format!("/api/tenants/{upper}")).await,
        StatusCode::OK,
    );
}

#[tokio::test]
async fn create_returns_201_with_defaults_and_persists() {
    let app = spawn_app().await;
    let response = app
        .create_tenant(&body("New Tenant", Some("new-tenant"), "slack", "SLACK456"))
        .await;
    assert_status(&response, StatusCode::CREATED);
    let tenant: Value = response.json().await.unwrap();
    assert_eq!(tenant["name"], "New Tenant");
    assert_eq!(tenant["slug"], "new-tenant");
    assert_eq!(tenant["status"], "ACTIVE");
    assert_eq!(tenant["platform"], "slack");
    assert_eq!(tenant["platformId"], "SLACK456");
    assert!(uuid::Uuid::parse_str(tenant["id"].as_str().unwrap()).is_ok());
    let stored: Value = app
        .get(&format!("/api/tenants/{}", tenant["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, tenant);
}

#[tokio::test]
async fn create_generates_a_slug_from_the_name_and_trims_fields() {
    let app = spawn_app().await;
    let response = app
        .create_tenant(&json!({"name": "  Auto Slug Test ", "platform": "discord", "platformId": " 123 ", "status": "MAINTENANCE"}))
        .await;
    assert_status(&response, StatusCode::CREATED);
    let tenant: Value = response.json().await.unwrap();
    assert_eq!(tenant["slug"], "auto-slug-test");
    assert_eq!(tenant["name"], "Auto Slug Test");
    assert_eq!(tenant["platformId"], "123");
    assert_eq!(tenant["status"], "MAINTENANCE");
}

#[tokio::test]
async fn create_validates_every_field_at_its_boundaries() {
    let app = spawn_app().await;
    let n255 = "n".repeat(255);
    let n256 = "n".repeat(256);
    // name
    assert_create_rejected(
        &app,
        json!({"platform": "slack", "platformId": "p"}),
        &["name"],
    )
    .await;
    assert_create_rejected(&app, body("", Some("abc"), "slack", "p1"), &["name"]).await;
    assert_create_rejected(&app, body("   ", Some("abc"), "slack", "p1"), &["name"]).await;
    assert_create_rejected(&app, body(&n256, Some("abc"), "slack", "p1"), &["name"]).await;
    // slug
    assert_create_rejected(&app, body("Ok", Some("ab"), "slack", "p1"), &["slug"]).await;
    assert_create_rejected(
        &app,
        body("Ok", Some(&"a".repeat(51)), "slack", "p1"),
        &["slug"],
    )
    .await;
    for bad in ["AB-c", "-abc", "abc-", "a--bc", "Bad_Slug", "a bc", "abç"] {
        assert_create_rejected(&app, body("Ok", Some(bad), "slack", "p1"), &["slug"]).await;
    }
    // platform
    for bad in ["Discord", "SLACK", "teams", ""] {
        assert_create_rejected(&app, body("Ok", Some("abc"), bad, "p1"), &["platform"]).await;
    }
    // platformId
    assert_create_rejected(
        &app,
        json!({"name": "Ok", "platform": "slack"}),
        &["platformId"],
    )
    .await;
    assert_create_rejected(
        &app,
        body("Ok", Some("abc"), "slack", "  "),
        &["platformId"],
    )
    .await;
    assert_create_rejected(
        &app,
        body("Ok", Some("abc"), "slack", &n256),
        &["platformId"],
    )
    .await;
    // status
    let mut b = body("Ok", Some("abc"), "slack", "p1");
    b["status"] = json!("active");
    assert_create_rejected(&app, b, &["status"]).await;
    // Several at once: one issue per field (the original's test case 5).
    assert_create_rejected(
        &app,
        json!({"name": "T", "slug": "123", "platform": "invalid"}),
        &["platform", "platformId"],
    )
    .await;
    // Wrong JSON types name the field.
    let response = app
        .create_tenant(&json!({"name": 5, "platform": "slack", "platformId": "p"}))
        .await;
    let err = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
    assert_eq!(issue_paths(&err), ["name"]);
    // Not an object.
    let response = app.create_tenant(&json!(["x"])).await;
    assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;

    // The accepted boundaries.
    for (i, (name, slug, pid)) in [
        (n255.as_str(), "a".repeat(3), "x".to_owned()),
        (&format!("{n255} "), "b".repeat(50), "y".repeat(255)),
        ("T", "a1-b2-c3".to_owned(), "z".to_owned()),
    ]
    .into_iter()
    .enumerate()
    {
        let response = app
            .create_tenant(&body(name, Some(&slug), "discord", &pid))
            .await;
        assert_status(&response, StatusCode::CREATED);
        let t: Value = response.json().await.unwrap();
        assert_eq!(t["slug"], slug, "case {i}");
    }
    // Unknown fields are ignored.
    let mut b = body("Extra", Some("extra"), "slack", "extra");
    b["color"] = json!("red");
    assert_status(&app.create_tenant(&b).await, StatusCode::CREATED);
}

#[tokio::test]
async fn duplicate_slug_or_platform_id_is_409() {
    let app = spawn_app().await;
    app.create_tenant_ok("First", "taken", "slack").await;
    let response = app
        .create_tenant(&body("Second", Some("taken"), "discord", "other"))
        .await;
    let err = assert_error(response, StatusCode::CONFLICT, "Duplicate Entry").await;
    assert_eq!(err["details"]["field"], "slug");
    let response = app
        .create_tenant(&body("Third", Some("fresh"), "slack", "slack-taken"))
        .await;
    let err = assert_error(response, StatusCode::CONFLICT, "Duplicate Entry").await;
    assert_eq!(err["details"]["field"], "platformId");
    // The same platform id on the other platform is fine.
    let response = app
        .create_tenant(&body("Fourth", Some("fourth"), "discord", "slack-taken"))
        .await;
    assert_status(&response, StatusCode::CREATED);
}

#[tokio::test]
async fn update_changes_only_the_given_fields() {
    let app = spawn_app().await;
    let created = app.create_tenant_ok("Before", "before", "slack").await;
    let id = created["id"].as_str().unwrap();
    let response = app
        .patch_json(
            &format!("/api/tenants/{id}"),
            &json!({"name": "Updated Name", "status": "MAINTENANCE"}),
        )
        .await;
    assert_status(&response, StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["name"], "Updated Name");
    assert_eq!(updated["status"], "MAINTENANCE");
    for same in ["id", "slug", "platform", "platformId", "createdAt"] {
        assert_eq!(updated[same], created[same], "{same}");
    }
    assert!(updated["updatedAt"].as_str().unwrap() >= created["updatedAt"].as_str().unwrap());
    let stored: Value = app
        .get(&format!("/api/tenants/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, updated);
    // Every field can change.
    let response = app
        .patch_json(
            &format!("/api/tenants/{id}"),
            &json!({"slug": "after", "platform": "discord", "platformId": "g1", "status": "CANCELLED"}),
        )
        .await;
    assert_status(&response, StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["slug"], "after");
    assert_eq!(updated["platform"], "discord");
}

#[tokio::test]
async fn empty_or_invalid_updates_are_rejected_before_the_lookup() {
    let app = spawn_app().await;
    let missing = "550e8400-e29b-41d4-a716-446655440000";
    for empty in [json!({}), json!({"unknown": 1})] {
        let response = app
            .patch_json(&format!("/api/tenants/{missing}"), &empty)
            .await;
        let err = assert_error(response, StatusCode::BAD_REQUEST, "Bad Request").await;
        assert_eq!(err["message"], "No valid fields provided for update");
    }
    let created = app.create_tenant_ok("Valid", "valid", "slack").await;
    let id = created["id"].as_str().unwrap();
    for (patch, path) in [
        (json!({"slug": "No"}), "slug"),
        (json!({"name": "  "}), "name"),
        (json!({"status": "GONE"}), "status"),
        (json!({"platform": "irc"}), "platform"),
        (json!({"platformId": ""}), "platformId"),
        (json!({"name": 1}), "name"),
    ] {
        let response = app.patch_json(&format!("/api/tenants/{id}"), &patch).await;
        let err = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
        let mut paths = issue_paths(&err);
        paths.dedup();
        assert_eq!(paths, [path], "{patch}");
    }
}

#[tokio::test]
async fn update_to_a_taken_slug_or_platform_id_is_409() {
    let app = spawn_app().await;
    app.create_tenant_ok("One", "one", "slack").await;
    let two = app.create_tenant_ok("Two", "two", "slack").await;
    let id = two["id"].as_str().unwrap();
    let response = app
        .patch_json(&format!("/api/tenants/{id}"), &json!({"slug": "one"}))
        .await;
    assert_error(response, StatusCode::CONFLICT, "Duplicate Entry").await;
    let response = app
        .patch_json(
            &format!("/api/tenants/{id}"),
            &json!({"platformId": "slack-one"}),
        )
        .await;
    assert_error(response, StatusCode::CONFLICT, "Duplicate Entry").await;
}

#[tokio::test]
async fn delete_answers_204_once_then_404() {
    let app = spawn_app().await;
    let created = app.create_tenant_ok("Doomed", "doomed", "slack").await;
    let path = format!("/api/tenants/{}", created["id"].as_str().unwrap());
    let response = app.delete(&path).await;
    assert_status(&response, StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "Not Found").await;
    assert_error(app.delete(&path).await, StatusCode::NOT_FOUND, "Not Found").await;
}

#[tokio::test]
async fn hundred_concurrent_creates_all_succeed() {
    let app = spawn_app().await;
    let requests = (0..100).map(|i| {
        let app = &app;
        async move {
            app.create_tenant(&body(
                &format!("Concurrent {i}"),
                None,
                "discord",
                &format!("g{i}"),
            ))
            .await
        }
    });
    let responses = futures::future::join_all(requests).await;
    let mut slugs = Vec::new();
    for response in responses {
        assert_status(&response, StatusCode::CREATED);
        let t: Value = response.json().await.unwrap();
        slugs.push(t["slug"].as_str().unwrap().to_owned());
    }
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 100);
    let page: Value = app
        .get("/api/tenants?limit=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["pagination"]["total"], 100);
}

#[tokio::test]
async fn concurrent_creates_with_the_same_name_get_distinct_generated_slugs() {
    let app = spawn_app().await;
    let requests = (0..20).map(|i| {
        let app = &app;
        async move {
            app.create_tenant(&body("Same Name", None, "slack", &format!("s{i}")))
                .await
        }
    });
    let mut slugs = Vec::new();
    for response in futures::future::join_all(requests).await {
        assert_status(&response, StatusCode::CREATED);
        let t: Value = response.json().await.unwrap();
        slugs.push(t["slug"].as_str().unwrap().to_owned());
    }
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 20);
    assert!(slugs.contains(&"same-name".to_owned()));
}
