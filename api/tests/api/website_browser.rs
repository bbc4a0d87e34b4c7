//! The archive website in a real browser (Debian's chromium through chromedriver): no console
//! error and no serious or critical axe-core violation on any page kind, in light and dark;
//! spoilers that open with the keyboard; the theme toggle (saved, applied before the first
//! paint on the next page); a permalink's message highlighted; the hostile corpus running no
//! script at all; a query typed in the header's search box, with and without script; the
//! search pages from 320 px wide; screenshots at phone and desktop widths.
//!
//! `VERTA_SCREENSHOT_DIR=docs/screenshots cargo test -p api --test api website_browser` writes
//! the screenshots the README shows; otherwise they go to a temporary directory.

use std::path::PathBuf;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use fantoccini::Locator;

use crate::browser::{Browser, Key};
use crate::website::{SyncedSite, synced_site};
use crate::website_hostile::{hostile_pages, hostile_site};
use crate::website_search::WORD;

fn screenshot_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("VERTA_SCREENSHOT_DIR") {
        Some(dir) => (None, PathBuf::from(dir)),
        None => {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().to_path_buf();
            (Some(tmp), path)
        }
    }
}

/// A thread page and a message page of the synced site (paths under the tenant root), found
/// through the home page's links.
async fn sample_paths(site: &SyncedSite) -> (String, String, String) {
    let db = &site.app.db;
    let channels = service::archive::list_channels(db, &site.tenant_id)
        .await
        .unwrap();
    let text = channels
        .iter()
        .filter(|c| c.channel.kind.as_deref() == Some("text"))
        .max_by_key(|c| c.message_count)
        .unwrap();
    let thread = channels
        .iter()
        .filter(|c| c.channel.kind.as_deref() == Some("thread") && c.message_count > 1)
        .max_by_key(|c| c.message_count)
        .unwrap();
    let forum = channels
        .iter()
        .find(|c| c.channel.kind.as_deref() == Some("forum"))
        .unwrap();
    (
        format!("c/{}/1/", text.channel.id),
        format!("c/{}/1/", thread.channel.id),
        format!("c/{}/threads/1/", forum.channel.id),
    )
}

async fn assert_clean(browser: &Browser, what: &str) {
    // A not-found page logs its own 404 status; nothing else may be logged.
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| {
            !(e.contains("Failed to load resource")
                && e.contains("404")
                && what.starts_with("not-found"))
        })
        .collect();
    assert!(errors.is_empty(), "{what}: console errors {errors:?}");
    let serious: Vec<_> = browser
        .axe()
        .await
        .into_iter()
        .filter(|v| v.is_serious())
        .collect();
    assert!(serious.is_empty(), "{what}: axe {serious:#?}");
}

#[tokio::test]
async fn every_page_kind_is_clean_in_a_real_browser_light_and_dark_at_phone_and_desktop_widths() {
    let site = synced_site(900, 21).await;
    let (text, thread, forum) = sample_paths(&site).await;
    let (_keep, shots) = screenshot_dir();
    let browser = Browser::launch().await;
    for (name, path) in [
        ("home", ""),
        ("channel", text.as_str()),
        ("thread", thread.as_str()),
        ("forum", forum.as_str()),
        ("not-found", "c/nothing/"),
    ] {
        for scheme in ["light", "dark"] {
            browser
                .cdp(
                    "Emulation.setEmulatedMedia",
                    json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
                )
                .await;
            for (width, height) in [(390, 844), (1280, 800)] {
                browser.set_viewport(width, height).await;
                browser.open(&site.url(path)).await;
                assert_clean(&browser, &format!("{name} {scheme} {width}px")).await;
                // Nothing sticks out sideways on a phone.
                let overflow = browser
                    .eval("return document.documentElement.scrollWidth - window.innerWidth;")
                    .await;
                assert!(
                    overflow.as_i64().unwrap_or(0) <= 0,
                    "{name} {width}px scrolls sideways: {overflow}"
                );
                browser
                    .screenshot(
                        &shots.join(format!("{name}-{scheme}-{width}.png")),
                        width,
                        height,
                    )
                    .await;
            }
        }
    }
    browser.close().await;
}

#[tokio::test]
async fn spoilers_open_with_the_keyboard_and_the_theme_toggle_is_saved_without_a_flash() {
    let site = synced_site(900, 22).await;
    let browser = Browser::launch().await;
    browser.set_viewport(1280, 800).await;
    // A message with a spoiler, after the newest of a channel: it is on the channel's last page.
    let (text, _, _) = sample_paths(&site).await;
    let channel_id = text
        .trim_start_matches("c/")
        .trim_end_matches("/1/")
        .to_owned();
    let newest = entity::messages::Entity::find()
        .filter(entity::messages::Column::ChannelId.eq(channel_id.as_str()))
        .all(&site.app.db)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|m| m.platform_created_at)
        .unwrap();
    let spoiler = service::repo::messages::MessageRow {
        channel_id: channel_id.parse().unwrap(),
        platform_message_id: "9".repeat(19),
        anonymized_author_id: newest.anonymized_author_id.clone(),
        content: "The ending: ||the butler did it|| (spoiler)".to_owned(),
        reply_to_id: None,
        metadata: None,
        platform_created_at: newest.platform_created_at + chrono::Duration::minutes(1),
    };
    service::repo::messages::upsert(&site.app.db, &[spoiler])
        .await
        .unwrap();
    let crawl = crate::website::crawl(&site).await;
    let with_spoiler = crawl
        .pages
        .iter()
        .find(|(_, html)| html.contains("class=\"spoiler-toggle\""))
        .map(|(url, _)| url.clone())
        .expect("a page with a spoiler");
    browser.open(&with_spoiler).await;
    let hidden = "const t = document.querySelector('.spoiler-text'); \
                  return getComputedStyle(t).color;";
    let before = browser.eval(hidden).await;
    // Tab until the first spoiler's toggle has focus, then Space opens it.
    let mut focused = false;
    for _ in 0..400 {
        browser.press_key(Key::Tab).await;
        let on = browser
            .eval("return document.activeElement && document.activeElement.classList.contains('spoiler-toggle') && document.activeElement === document.querySelector('.spoiler-toggle');")
            .await;
        if on == Value::Bool(true) {
            focused = true;
            break;
        }
    }
    assert!(focused, "the spoiler is reachable with Tab");
    browser.press_key(' ').await;
    let checked = browser
        .eval("return document.querySelector('.spoiler-toggle').checked;")
        .await;
    assert_eq!(checked, json!(true), "Space checks the spoiler's toggle");
    let after = browser.eval(hidden).await;
    assert_ne!(before, after, "Space reveals the spoiler");
    assert_eq!(
        before,
        json!("rgba(0, 0, 0, 0)"),
        "hidden text is transparent"
    );

    // The theme toggle: dark, saved, and applied by the next page before its script runs.
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
        )
        .await;
    browser.open(&site.url("")).await;
    let bg = "return getComputedStyle(document.body).backgroundColor;";
    assert_eq!(browser.eval(bg).await, json!("rgb(255, 255, 255)"));
    browser.click("#theme-toggle").await;
    assert_eq!(
        browser
            .eval("return document.documentElement.dataset.theme;")
            .await,
        json!("dark")
    );
    assert_eq!(browser.eval(bg).await, json!("rgb(26, 27, 30)"));
    assert_eq!(
        browser
            .eval("return document.getElementById('theme-toggle').getAttribute('aria-pressed');")
            .await,
        json!("true")
    );
    browser.open(&site.url("")).await;
    assert_eq!(
        browser.eval(bg).await,
        json!("rgb(26, 27, 30)"),
        "saved across pages"
    );
    assert_clean(&browser, "home after toggling").await;

    // A permalink lands on its message, highlighted.
    let target = crawl
        .messages
        .iter()
        .next()
        .map(|(id, pages)| (id.clone(), pages[0].clone()))
        .unwrap();
    browser.open(&format!("{}#m-{}", target.1, target.0)).await;
    let highlighted = browser
        .eval(&format!(
            "const m = document.getElementById('m-{}'); return m.matches(':target') && getComputedStyle(m).backgroundColor !== 'rgba(0, 0, 0, 0)';",
            target.0
        ))
        .await;
    assert_eq!(highlighted, json!(true));
    browser.close().await;
}

#[tokio::test]
async fn the_hostile_corpus_runs_no_script_in_a_real_browser() {
    let app = hostile_site().await;
    let browser = Browser::launch().await;
    browser.set_viewport(1280, 800).await;
    for path in hostile_pages(&app).await {
        browser.open(&app.url(&path)).await;
        // Interact with everything that could carry a handler: hover and click.
        browser
            .eval("document.querySelectorAll('.spoiler-toggle').forEach(t => t.click()); \
                   document.querySelectorAll('*').forEach(e => e.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))); \
                   return null;")
            .await;
        let pwned = browser
            .eval("return window.__pwned === undefined && parent.__pwned === undefined;")
            .await;
        assert_eq!(pwned, json!(true), "{path}: content ran script");
        let what = if path.ends_with("/page") {
            "not-found"
        } else {
            path.as_str()
        };
        assert_clean(&browser, what).await;
    }
    browser.close().await;
}

/// The current URL, once it contains `part` (waits up to 10 s for a navigation to finish).
async fn wait_for_url(browser: &Browser, part: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let url = browser.client().current_url().await.unwrap().to_string();
        let ready = browser
            .client()
            .find(Locator::Css("footer.foot"))
            .await
            .is_ok();
        if url.contains(part) && ready {
            return url;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no navigation to {part}: at {url}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_query_typed_in_the_header_box_shows_clean_results_with_and_without_script() {
    let site = synced_site(300, 24).await;
    crate::website_search::plant(&site).await;
    let browser = Browser::launch().await;
    browser.set_viewport(1280, 800).await;
    for script in [true, false] {
        browser
            .cdp(
                "Emulation.setScriptExecutionDisabled",
                json!({ "value": !script }),
            )
            .await;
        browser.open(&site.url("")).await;
        // The script shows the theme toggle (it does nothing without): hidden, it proves
        // script is really off.
        let toggle = browser
            .client()
            .find(Locator::Css("#theme-toggle"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap();
        assert_eq!(toggle, script, "script {script}");
        if script {
            // The keyboard reaches the box from the top of the page, with a visible focus ring.
            let mut reached = false;
            for _ in 0..6 {
                browser.press_key(Key::Tab).await;
                let on = browser
                    .eval("return document.activeElement.id === 'search-q';")
                    .await;
                if on == json!(true) {
                    reached = true;
                    break;
                }
            }
            assert!(reached, "Tab reaches the search box");
            let ring = browser
                .eval(
                    "const s = getComputedStyle(document.activeElement); \
                     return [s.outlineStyle, s.outlineWidth];",
                )
                .await;
            assert_eq!(ring, json!(["solid", "3px"]), "a visible focus ring");
        }
        browser
            .client()
            .find(Locator::Css("#search-q"))
            .await
            .unwrap()
            .send_keys(WORD)
            .await
            .unwrap();
        browser.press_key(Key::Enter).await;
        let url = wait_for_url(&browser, &format!("/search/?q={WORD}")).await;
        assert!(url.starts_with(&site.url("search/")), "{url}");
        let hits = browser
            .client()
            .find_all(Locator::Css("li.hit"))
            .await
            .unwrap();
        assert_eq!(
            hits.len() as u64,
            service::search::DEFAULT_LIMIT,
            "script {script}"
        );
        // The next page is a plain link: it works without script too.
        browser.click("a[rel=next]").await;
        wait_for_url(&browser, "cursor=").await;
        let more = browser
            .client()
            .find_all(Locator::Css("li.hit"))
            .await
            .unwrap();
        assert!(!more.is_empty(), "script {script}: a second page");
    }
    browser
        .cdp(
            "Emulation.setScriptExecutionDisabled",
            json!({ "value": false }),
        )
        .await;
    browser.close().await;
}

#[tokio::test]
async fn the_results_help_and_error_pages_are_clean_light_and_dark_from_320_px_to_desktop() {
    let site = synced_site(300, 25).await;
    crate::website_search::plant(&site).await;
    let (_keep, shots) = screenshot_dir();
    let browser = Browser::launch().await;
    for (name, query) in [
        ("search", format!("?q={WORD}")),
        ("search-guild", "?q=verta&sort=newest".to_owned()),
        ("search-help", String::new()),
        ("search-error", "?q=%22unclosed".to_owned()),
    ] {
        for scheme in ["light", "dark"] {
            browser
                .cdp(
                    "Emulation.setEmulatedMedia",
                    json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
                )
                .await;
            for (width, height) in [(320, 640), (390, 844), (1280, 800)] {
                let what = format!("{name} {scheme} {width}px");
                browser.set_viewport(width, height).await;
                browser
                    .open(&format!("{}{query}", site.url("search/")))
                    .await;
                // The refused query's page answers 400, which the console reports.
                let errors: Vec<String> = browser
                    .console_errors()
                    .await
                    .into_iter()
                    .filter(|e| !(name == "search-error" && e.contains("status of 400")))
                    .collect();
                assert!(errors.is_empty(), "{what}: console errors {errors:?}");
                let serious: Vec<_> = browser
                    .axe()
                    .await
                    .into_iter()
                    .filter(|v| v.is_serious())
                    .collect();
                assert!(serious.is_empty(), "{what}: axe {serious:#?}");
                let overflow = browser
                    .eval("return document.documentElement.scrollWidth - window.innerWidth;")
                    .await;
                assert!(
                    overflow.as_i64().unwrap_or(0) <= 0,
                    "{what} scrolls sideways: {overflow}"
                );
                // The box is wide enough to type in, even on the narrowest phone.
                let box_width = browser
                    .eval(
                        "return document.getElementById('search-q').getBoundingClientRect().width;",
                    )
                    .await;
                assert!(
                    box_width.as_f64().unwrap_or(0.0) >= 200.0,
                    "{what}: the box is {box_width} px wide"
                );
                browser
                    .screenshot(
                        &shots.join(format!("{name}-{scheme}-{width}.png")),
                        width,
                        height,
                    )
                    .await;
            }
        }
    }
    browser.close().await;
}

/// A stored image shows inline, fits a phone's width, and is a link to the file; the page
/// stays clean (console, axe) with the picture in it.
#[tokio::test]
async fn a_stored_image_shows_inline_and_fits_a_phone_screen() {
    use crate::attachment_files::{Outcome, add_files_to, file, gradient_png};

    let site = synced_site(900, 23).await;
    let (text, _, _) = sample_paths(&site).await;
    let channel_id = text
        .trim_start_matches("c/")
        .trim_end_matches("/1/")
        .to_owned();
    let newest = entity::messages::Entity::find()
        .filter(entity::messages::Column::ChannelId.eq(channel_id.as_str()))
        .all(&site.app.db)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|m| m.platform_created_at)
        .unwrap();
    // Wider than any phone: the stylesheet must scale it down.
    let png = gradient_png(1600, 500);
    add_files_to(
        &site.app.db,
        &site.app.files,
        channel_id.parse().unwrap(),
        newest.platform_created_at + chrono::Duration::minutes(1),
        1,
        &[file(
            "sunset over the harbour.png",
            "image/png",
            Outcome::Stored(png),
        )],
    )
    .await;
    let (_keep, shots) = screenshot_dir();
    let browser = Browser::launch().await;
    for (scheme, (width, height)) in ["light", "dark"]
        .into_iter()
        .flat_map(|s| [(390, 844), (1280, 800)].map(|w| (s, w)))
    {
        browser
            .cdp(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
            )
            .await;
        browser.set_viewport(width, height).await;
        browser.open(&site.url(&format!("c/{channel_id}/"))).await;
        let loaded = browser
            .eval(
                "const img = document.querySelector('.file-image img'); \
                 img.scrollIntoView({block: 'center'}); \
                 return await new Promise(done => { \
                   const check = () => img.complete && img.naturalWidth > 0 \
                     ? done([img.naturalWidth, img.getBoundingClientRect().width, \
                             img.closest('a').getAttribute('href'), img.alt]) \
                     : setTimeout(check, 50); \
                   check(); });",
            )
            .await;
        assert_eq!(loaded[0], json!(1600), "the image decoded: {loaded}");
        let shown = loaded[1].as_f64().unwrap();
        assert!(
            shown > 100.0 && shown <= f64::from(width),
            "shown {shown}px wide at {width}px"
        );
        assert!(loaded[2].as_str().unwrap().contains("f/"), "{loaded}");
        assert_eq!(loaded[3], json!("sunset over the harbour.png"));
        assert_clean(&browser, &format!("image {scheme} {width}px")).await;
        let overflow = browser
            .eval("return document.documentElement.scrollWidth - window.innerWidth;")
            .await;
        assert!(
            overflow.as_i64().unwrap_or(0) <= 0,
            "scrolls sideways: {overflow}"
        );
        browser
            .screenshot(
                &shots.join(format!("image-{scheme}-{width}.png")),
                width,
                height,
            )
            .await;
    }
    browser.close().await;
}
