//! `TRUSTED_PROXIES` and the read API's per-client limit over real connections (the peer is
//! always 127.0.0.1 here): forwarded headers move a request to another client's bucket only
//! when the peer is trusted, and only as far as the first untrusted hop from the right.

use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, assert_error, assert_status, spawn_app_with};

const LIMIT: u32 = 2;

/// An app with a limit of [`LIMIT`] requests per minute, the given `TRUSTED_PROXIES` and one
/// tenant (slug `proxied`).
async fn app_trusting(proxies: &str) -> TestApp {
    let proxies = proxies.parse().expect("a valid TRUSTED_PROXIES list");
    let app = spawn_app_with(|c| {
        c.read_api_rate_limit = LIMIT;
        c.trusted_proxies = proxies;
    })
    .await;
    app.create_tenant_ok("Proxied", "proxied", "discord").await;
    app
}

/// The status of a read API request carrying `headers`.
async fn status_with(app: &TestApp, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = app
        .anonymous(Method::GET, "/api/v1/tenant")
        .header("X-Tenant-Slug", "proxied");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("a response").status()
}

async fn xff(app: &TestApp, chain: &str) -> StatusCode {
    status_with(app, &[("X-Forwarded-For", chain)]).await
}

#[tokio::test]
async fn without_trusted_proxies_a_spoofed_forwarded_address_does_not_escape_the_limit() {
    let app = app_trusting("").await;
    assert_eq!(xff(&app, "198.51.100.1").await, StatusCode::OK);
    assert_eq!(xff(&app, "198.51.100.2").await, StatusCode::OK);
    let limited = app
        .anonymous(Method::GET, "/api/v1/tenant")
        .header("X-Tenant-Slug", "proxied")
        .header("X-Forwarded-For", "198.51.100.3")
        .header("Forwarded", "for=198.51.100.4")
        .send()
        .await
        .unwrap();
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").await;
}

#[tokio::test]
async fn forwarded_addresses_from_an_untrusted_peer_are_ignored() {
    let app = app_trusting("10.0.0.0/8, fd00::/8").await;
    for chain in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(xff(&app, chain).await, StatusCode::OK);
    }
    assert_eq!(
        xff(&app, "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_trusted_peer_gives_each_forwarded_client_its_own_limit() {
    let app = app_trusting("127.0.0.1").await;
    for _ in 0..LIMIT {
        assert_eq!(xff(&app, "198.51.100.1").await, StatusCode::OK);
    }
    assert_eq!(
        xff(&app, "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // What a client writes left of its own address does not move it to another bucket.
    assert_eq!(
        xff(&app, "203.0.113.9, 198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy, and one named by RFC 7239 `Forwarded`.
    assert_eq!(xff(&app, "198.51.100.2").await, StatusCode::OK);
    assert_eq!(
        status_with(&app, &[("Forwarded", "for=\"[2001:db8::7]:4711\"")]).await,
        StatusCode::OK
    );
    // The proxy itself, without a forwarded header, is a client of its own.
    assert_status(
        &app.anonymous(Method::GET, "/api/v1/tenant")
            .header("X-Tenant-Slug", "proxied")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    );
}

#[tokio::test]
async fn a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop() {
    let app = app_trusting("127.0.0.1, 10.0.0.0/8").await;
    assert_eq!(
        xff(&app, "198.51.100.7, 10.1.1.1, 10.2.2.2").await,
        StatusCode::OK
    );
    // The same client through other proxies of the chain is the same client.
    assert_eq!(xff(&app, "198.51.100.7, 10.9.9.9").await, StatusCode::OK);
    assert_eq!(
        xff(&app, "198.51.100.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        xff(&app, "198.51.100.8, 10.1.1.1, 10.2.2.2").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_malformed_forwarded_header_counts_against_the_peer() {
    let app = app_trusting("127.0.0.1").await;
    assert_eq!(xff(&app, "not-an-address").await, StatusCode::OK);
    assert_eq!(xff(&app, "198.51.100.1, garbage").await, StatusCode::OK);
    assert_eq!(
        status_with(&app, &[("Forwarded", "for=unknown")]).await,
        StatusCode::TOO_MANY_REQUESTS,
        "all three came from the peer's own bucket"
    );
    assert_eq!(xff(&app, "198.51.100.1").await, StatusCode::OK);
}
