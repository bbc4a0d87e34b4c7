//! Shared test set-up: [`spawn_app`] starts the real application (the same
//! `Application::build` as `verta serve`) on port 0 against a fresh database of the backend
//! selected by `VERTA_TEST_BACKEND` (see `testkit::db`), with migrations applied and a known
//! admin key; [`TestApp`] offers typed request helpers.
//!
//! Other route families add their own test modules to this binary and reuse these helpers;
//! [`spawn_app_with`] lets a test adjust the `Config` (e.g. `discord_api_proxy` pointing at
//! the fake Discord, `discord_bot_token`).

use api::startup::Application;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use service::Config;
use testkit::db::TestDb;

/// The admin key every test app expects in `X-API-KEY`.
pub const TEST_API_KEY: &str = "test-admin-key-0123456789";

/// A running application with its own database.
#[allow(dead_code)] // Some fields serve only some test modules (sync, read API).
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// The application's connection pool (to inspect rows, or to break the database).
    pub db: DatabaseConnection,
    /// The configuration the app was built with.
    pub config: Config,
    /// A client without default headers.
    pub client: reqwest::Client,
    /// Keeps the database alive (dropped, and on MariaDB removed, with the app).
    pub test_db: TestDb,
    /// The app's search index (in its own temporary directory, `search_dir`).
    pub search: std::sync::Arc<service::search::SearchIndex>,
    /// Keeps the search index directory alive.
    pub search_dir: tempfile::TempDir,
    /// The app's attachment store (in its own temporary directory, `files_dir`).
    pub files: service::files::BlobStore,
    /// Keeps the attachment store's directory alive.
    pub files_dir: tempfile::TempDir,
}

/// A fresh, migrated database without the app (for tests that call the service directly);
/// keep the [`TestDb`] alive as long as the connection.
pub async fn fresh_db() -> (TestDb, DatabaseConnection) {
    let test_db = TestDb::new().await;
    let db = service::db::connect_url(test_db.url()).await.unwrap();
    service::db::migrate(&db).await.unwrap();
    (test_db, db)
}

/// Starts the app with the test defaults (see the module docs).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app after `adjust` has changed the test configuration (database URL, port 0,
/// [`TEST_API_KEY`], scheduler off).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    api::telemetry::init_for_tests();
    let test_db = TestDb::new().await;
    let search_dir = tempfile::tempdir().expect("a temporary directory");
    let files_dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config {
        database_url: test_db.url().to_owned(),
        search_index_dir: Some(search_dir.path().to_owned()),
        attachment_store: Some(service::config::AttachmentStoreUrl::File(
            files_dir.path().to_owned(),
        )),
        host: "127.0.0.1".to_owned(),
        port: 0,
        admin_api_key: Some(TEST_API_KEY.to_owned()),
        sync_interval_secs: 0,
        ..Config::default()
    };
    adjust(&mut config);
    let app = Application::build(config.clone())
        .await
        .unwrap_or_else(|e| panic!("application failed to start: {e}"));
    let port = app.port();
    let db = app.db().clone();
    let search = app.search_index();
    let files = app.files();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        db,
        config,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a reqwest client"),
        test_db,
        search,
        search_dir,
        files,
        files_dir,
    }
}

impl TestApp {
    /// Absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request carrying the valid admin key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-API-KEY", TEST_API_KEY)
    }

    /// A request without any API key.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// `GET path` with the key.
    pub async fn get(&self, path: &str) -> Response {
        send(self.request(Method::GET, path)).await
    }

    /// `POST path` with the key and a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        send(self.request(Method::POST, path).json(body)).await
    }

    /// `PATCH path` with the key and a JSON body.
    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        send(self.request(Method::PATCH, path).json(body)).await
    }

    /// `PUT path` with the key and a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        send(self.request(Method::PUT, path).json(body)).await
    }

    /// `DELETE path` with the key.
    pub async fn delete(&self, path: &str) -> Response {
        send(self.request(Method::DELETE, path)).await
    }

    /// `POST /api/tenants` with `body`.
    pub async fn create_tenant(&self, body: &Value) -> Response {
        self.post_json("/api/tenants", body).await
    }

    /// Creates a tenant that must succeed (201) and returns its JSON.
    pub async fn create_tenant_ok(&self, name: &str, slug: &str, platform: &str) -> Value {
        let response = self
            .create_tenant(&json!({
                "name": name,
                "slug": slug,
                "platform": platform,
                "platformId": format!("{platform}-{slug}"),
            }))
            .await;
        assert_status(&response, StatusCode::CREATED);
        response.json().await.expect("tenant JSON")
    }
}

/// Sends the request; panics when there is no HTTP response at all.
pub async fn send(request: RequestBuilder) -> Response {
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"))
}

/// Asserts the status code, showing the URL on failure.
pub fn assert_status(response: &Response, expected: StatusCode) {
    assert_eq!(
        response.status(),
        expected,
        "unexpected status for {}",
        response.url()
    );
}

/// Asserts an error response: the status, the JSON error body of docs/design.md with the given
/// `error` title, an RFC 3339 timestamp; returns the body.
pub async fn assert_error(response: Response, status: StatusCode, title: &str) -> Value {
    let url = response.url().clone();
    assert_eq!(response.status(), status, "unexpected status for {url}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "error for {url} is not JSON: {content_type}"
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error"], title, "error title for {url}: {body}");
    assert!(body["message"].is_string(), "message missing: {body}");
    let timestamp = body["timestamp"].as_str().expect("timestamp");
    assert!(
        chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
        "timestamp is not RFC 3339: {timestamp}"
    );
    body
}

/// The `path`s of `details.issues` of a validation error body.
pub fn issue_paths(body: &Value) -> Vec<String> {
    body["details"]["issues"]
        .as_array()
        .map(|issues| {
            issues
                .iter()
                .filter_map(|i| i["path"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// `GET /api/v1/search` as a public client of tenant `slug`, with `params` as the query.
    pub async fn search_get(&self, slug: &str, params: &[(&str, &str)]) -> Response {
        send(
            self.anonymous(Method::GET, "/api/v1/search")
                .header("X-Tenant-Slug", slug)
                .query(params),
        )
        .await
    }

    /// Polls `GET /api/v1/search` (every 100 ms, at most 10 s: the indexer makes a write
    /// searchable within a few seconds) until it answers 200 with a body for which `done`
    /// holds; returns that body, or panics with the last answer.
    pub async fn search_until(
        &self,
        slug: &str,
        params: &[(&str, &str)],
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let response = self.search_get(slug, params).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status == StatusCode::OK && done(&body) {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "search {params:?} did not get there within 10 s; last answer {status}: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
