//! The browser harness (`browser.rs`) proven on pages whose faults are known: a page with a
//! `console.error` and an image without `alt` is reported with both, a clean page with
//! neither; clicks, keys, scripts and screenshots do what they say.

use std::ffi::OsString;
use std::net::TcpListener;
use std::path::Path;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

use crate::browser::{Browser, Key, Tools};

/// A 1x1 transparent GIF, inline so that no page makes a request of its own.
const PIXEL: &str =
    "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"icon\" href=\"data:,\"></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    )
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// Serves the test pages on a free loopback port; returns their origin.
async fn serve_pages() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("a bound address").port();
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/faulty",
                web::get().to(|| async {
                    html(page(
                        "Faulty",
                        &format!(
                            "<img src=\"{PIXEL}\"><script>console.error(\"boom from the page\")</script>"
                        ),
                    ))
                }),
            )
            .route(
                "/clean",
                web::get().to(|| async {
                    html(page(
                        "Clean",
                        &format!(
                            "<img src=\"{PIXEL}\" alt=\"A dot\">\
                             <p><button id=\"toggle\" type=\"button\" \
                             onclick=\"this.textContent = 'on'\">off</button></p>\
                             <p><label>Name <input id=\"name\"></label></p>"
                        ),
                    ))
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .expect("the test server listens")
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (be(16), be(20))
}

#[tokio::test]
async fn the_harness_reports_console_errors_and_axe_violations_and_nothing_on_a_clean_page() {
    let origin = serve_pages().await;
    let browser = Browser::launch().await;

    browser.open(&format!("{origin}/faulty")).await;
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().any(|e| e.contains("boom from the page")),
        "{errors:?}"
    );
    let violations = browser.axe().await;
    let image_alt = violations.iter().find(|v| v.id == "image-alt");
    assert!(
        image_alt.is_some_and(|v| v.is_serious() && v.targets == ["img"]),
        "{violations:?}"
    );

    browser.open(&format!("{origin}/clean")).await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
    assert_eq!(browser.axe().await, Vec::new());
    browser.close().await;
}

#[tokio::test]
async fn the_harness_clicks_types_evaluates_and_takes_screenshots_of_the_asked_size() {
    let origin = serve_pages().await;
    let browser = Browser::launch().await;
    browser.open(&format!("{origin}/clean")).await;
    assert_eq!(browser.client().title().await.expect("a title"), "Clean");

    browser.click("#toggle").await;
    assert_eq!(
        browser
            .eval("return document.querySelector('#toggle').textContent")
            .await,
        json!("on")
    );
    // The button has the focus after the click; Tab moves it to the field, keys type into it.
    browser.press_key(Key::Tab).await;
    browser.press_key('x').await;
    assert_eq!(
        browser
            .eval("return [document.activeElement.id, document.activeElement.value]")
            .await,
        json!(["name", "x"])
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let phone = dir.path().join("shots/phone.png");
    browser.screenshot(&phone, 390, 844).await;
    assert_eq!(png_size(&phone), (390, 844));
    assert_eq!(browser.eval("return innerWidth").await, json!(390));
    let desktop = dir.path().join("desktop.png");
    browser.screenshot(&desktop, 1280, 800).await;
    assert_eq!(png_size(&desktop), (1280, 800));
    assert_eq!(browser.eval("return innerWidth").await, json!(1280));

    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
        )
        .await;
    assert_eq!(
        browser
            .eval("return matchMedia('(prefers-color-scheme: dark)').matches")
            .await,
        json!(true)
    );
    browser.close().await;
}

#[test]
fn a_missing_tool_fails_with_the_way_to_install_it() {
    let env = |overrides: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            overrides
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    };
    let err = Tools::resolve(env(&[
        ("VERTA_CHROMIUM", "/nonexistent/chromium"),
        ("PATH", "/nonexistent"),
        ("HOME", "/nonexistent"),
    ]))
    .unwrap_err();
    for part in [
        "chromium not found at /nonexistent/chromium (VERTA_CHROMIUM)",
        "chromedriver not found (VERTA_CHROMEDRIVER unset)",
        "axe.min.js not found at /nonexistent/.cache/verta-test-tools",
        "scripts/browser-tools.sh",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
}
