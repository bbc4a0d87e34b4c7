//! The archive website on a guild synced from the fake Discord: every page kind live, a crawl
//! from the home page that reaches every archived message exactly once with no broken internal
//! link, the sitemap, the static build (equal to the live pages but for their search box,
//! incremental, stale pages removed), and the privacy scan (no raw Discord id, no author hash
//! anywhere).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use service::anonymize::Anonymizer;
use service::sync::queue::{self, NewJob, SyncType, Trigger};
use service::sync::{SyncEngine, SyncSettings};
use testkit::demo::DemoDiscord;

use crate::helpers::{TestApp, spawn_app_with};

/// The public origin the test site is configured with (requests go to the test server).
pub const ORIGIN: &str = "https://archive.example.org";
/// The tenant's slug.
pub const SLUG: &str = "demo";

/// A synced site: the app, the fake it was synced from, and the tenant.
pub struct SyncedSite {
    /// The running app.
    pub app: TestApp,
    /// The fake Discord (kept alive for the truth).
    pub discord: DemoDiscord,
    /// The tenant id.
    pub tenant_id: String,
}

impl SyncedSite {
    /// `http://127.0.0.1:<port>/archive/demo/` + `path`.
    pub fn url(&self, path: &str) -> String {
        self.app.url(&format!("/archive/{SLUG}/{path}"))
    }

    /// The public URL of `path` under [`ORIGIN`].
    pub fn public(path: &str) -> String {
        format!("{ORIGIN}/archive/{SLUG}/{path}")
    }

    /// The local URL for a public one.
    pub fn local(&self, public: &str) -> String {
        public.replacen(ORIGIN, &self.app.address, 1)
    }

    /// Every raw Discord id of the guild: users, channels, messages, the guild, emoji and
    /// attachments (none may appear in the site).
    pub fn raw_ids(&self) -> BTreeSet<String> {
        let truth = self
            .discord
            .fake()
            .truth(self.discord.guild_id())
            .expect("truth of the demo guild");
        let mut ids = BTreeSet::from([self.discord.guild_id().to_string()]);
        for c in &truth.channels {
            ids.insert(c.platform_id.to_string());
        }
        for c in truth.message_channels() {
            for m in truth.messages(c.platform_id) {
                ids.insert(m.platform_id.to_string());
                ids.insert(m.author_id.to_string());
                for r in &m.reactions {
                    ids.insert(r.user_id.to_string());
                }
                for a in &m.attachments {
                    ids.insert(a.id.to_string());
                }
                for id in MENTION_DIGITS.find_iter(&m.content) {
                    ids.insert(id.as_str().to_owned());
                }
            }
        }
        ids
    }
}

static MENTION_DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[0-9]{15,20}").unwrap());

/// Starts an app with `SITE_BASE_URL` = [`ORIGIN`] and syncs a demo guild of about `messages`
/// messages into tenant [`SLUG`].
pub async fn synced_site(messages: u64, seed: u64) -> SyncedSite {
    let discord = DemoDiscord::start(messages, seed).expect("the fake starts");
    let (token, proxy) = (discord.token().to_owned(), discord.proxy());
    let app = spawn_app_with(|c| {
        c.discord_bot_token = Some(token);
        c.discord_api_proxy = Some(proxy);
        c.site_base_url = Some(ORIGIN.to_owned());
        c.read_api_rate_limit = 0;
    })
    .await;
    let tenant = service::tenants::create(
        &app.db,
        &service::tenants::CreateTenant {
            name: Some(discord.guild_name().to_owned()),
            slug: Some(SLUG.to_owned()),
            platform: Some("discord".into()),
            platform_id: Some(discord.guild_id().to_string()),
            status: None,
        },
    )
    .await
    .expect("tenant created");
    queue::enqueue(
        &app.db,
        NewJob {
            tenant_id: tenant.id.to_string(),
            sync_type: SyncType::Full,
            trigger: Trigger::Cli,
            channel_ids: None,
            retry_of: None,
        },
    )
    .await
    .expect("job queued");
    let settings = SyncSettings {
        poll_interval: Duration::from_millis(50),
        ..SyncSettings::from_config(&app.config)
    };
    SyncEngine::new(
        app.db.clone(),
        service::sync::platform_from_config(&app.config),
        Anonymizer::from_config(&app.config),
        settings,
    )
    .run_until_empty()
    .await
    .expect("the sync runs");
    SyncedSite {
        app,
        discord,
        tenant_id: tenant.id.to_string(),
    }
}

static HREF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"href="([^"]*)""#).unwrap());
static MESSAGE_ANCHOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<li class="msg[^"]*" id="m-([0-9a-f-]{36})""#).unwrap());
static ANY_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\bid="([^"]+)""#).unwrap());
static CANONICAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<link rel="canonical" href="([^"]+)">"#).unwrap());
/// The header's search box (one line), which only live pages have.
pub static SEARCH_BOX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<form class="search-box"[^\n]*</form>\n"#).unwrap());
static LOC: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<loc>([^<]+)</loc>").unwrap());

/// Unescape the few entities askama writes in attribute values.
fn unescape(text: &str) -> String {
    text.replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// What a crawl found.
pub struct Crawl {
    /// Final URL (after redirects, without fragment) → HTML.
    pub pages: BTreeMap<String, String>,
    /// Message anchor → the pages it appears on.
    pub messages: HashMap<String, Vec<String>>,
    /// Links whose target did not answer 200 or whose fragment is missing: (from, href).
    pub broken: Vec<(String, String)>,
}

/// Breadth-first crawl of every internal link from the home page.
pub async fn crawl(site: &SyncedSite) -> Crawl {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap();
    let root = site.url("");
    let mut pages: BTreeMap<String, String> = BTreeMap::new();
    let mut queue: VecDeque<(String, String)> = VecDeque::from([(root.clone(), root.clone())]);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut fragments: Vec<(String, String, String)> = Vec::new();
    let mut broken = Vec::new();
    let mut final_of: HashMap<String, String> = HashMap::new();
    while let Some((from, url)) = queue.pop_front() {
        let (target, fragment) = match url.split_once('#') {
            Some((t, f)) => (t.to_owned(), Some(f.to_owned())),
            None => (url.clone(), None),
        };
        if let Some(f) = fragment {
            fragments.push((from.clone(), target.clone(), f));
        }
        if !seen.insert(target.clone()) {
            continue;
        }
        let response = client.get(&target).send().await.unwrap();
        let status = response.status();
        let final_url = response.url().to_string();
        let final_url = final_url.split('#').next().unwrap_or_default().to_owned();
        final_of.insert(target.clone(), final_url.clone());
        let is_html = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let body = response.text().await.unwrap();
        if status != StatusCode::OK {
            broken.push((from, url));
            continue;
        }
        if !is_html || pages.contains_key(&final_url) {
            continue;
        }
        let base = reqwest::Url::parse(&final_url).unwrap();
        for cap in HREF.captures_iter(&body) {
            let href = unescape(&cap[1]);
            if href.starts_with("data:") {
                continue;
            }
            let Ok(next) = base.join(&href) else {
                broken.push((final_url.clone(), href));
                continue;
            };
            let next = next.to_string();
            if next.starts_with(&root) {
                queue.push_back((final_url.clone(), next));
            }
        }
        pages.insert(final_url, body);
    }
    for (from, target, fragment) in fragments {
        let page = final_of.get(&target).and_then(|f| pages.get(f));
        let found = page.is_some_and(|html| ANY_ID.captures_iter(html).any(|c| c[1] == *fragment));
        if !found {
            broken.push((from, format!("{target}#{fragment}")));
        }
    }
    let mut messages: HashMap<String, Vec<String>> = HashMap::new();
    for (url, html) in &pages {
        for cap in MESSAGE_ANCHOR.captures_iter(html) {
            messages
                .entry(cap[1].to_owned())
                .or_default()
                .push(url.clone());
        }
    }
    Crawl {
        pages,
        messages,
        broken,
    }
}

async fn stored_message_ids(site: &SyncedSite) -> BTreeSet<String> {
    let channel_ids: Vec<String> = entity::channels::Entity::find()
        .filter(entity::channels::Column::TenantId.eq(site.tenant_id.as_str()))
        .all(&site.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    entity::messages::Entity::find()
        .filter(entity::messages::Column::ChannelId.is_in(channel_ids))
        .all(&site.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

async fn get(site: &SyncedSite, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(site.url(path))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_crawl_from_home_reaches_every_message_exactly_once_and_no_link_is_broken() {
    let site = synced_site(900, 11).await;
    let crawl = crawl(&site).await;
    assert!(
        crawl.broken.is_empty(),
        "broken links: {:?}",
        &crawl.broken[..crawl.broken.len().min(10)]
    );
    let stored = stored_message_ids(&site).await;
    assert!(stored.len() > 500, "the guild synced: {}", stored.len());
    let shown: BTreeSet<String> = crawl.messages.keys().cloned().collect();
    assert_eq!(
        shown, stored,
        "every archived message is on some page, and nothing else"
    );
    let twice: Vec<_> = crawl
        .messages
        .iter()
        .filter(|(_, p)| p.len() != 1)
        .collect();
    assert!(twice.is_empty(), "messages on several pages: {twice:?}");
    // Every page kind was reached: home, message pages, thread pages, a forum index.
    let paths: Vec<&str> = crawl.pages.keys().map(String::as_str).collect();
    assert!(
        paths.iter().any(|p| p.contains("/threads/1/")),
        "a threads index"
    );
    for (url, html) in &crawl.pages {
        assert_eq!(html.matches("<h1").count(), 1, "one h1 on {url}");
        assert!(
            html.contains("<title>") && html.contains("<html lang=\"en\">"),
            "{url}"
        );
    }
}

#[tokio::test]
async fn pages_permalinks_redirects_assets_and_not_found_answers() {
    let site = synced_site(1000, 12).await;
    let db = &site.app.db;
    // A message in the middle of the biggest channel: its permalink lands on its page.
    let channels = service::archive::list_channels(db, &site.tenant_id)
        .await
        .unwrap();
    let big = channels.iter().max_by_key(|c| c.message_count).unwrap();
    assert!(big.message_count > 100, "more than one page");
    let mut rows = entity::messages::Entity::find()
        .filter(entity::messages::Column::ChannelId.eq(big.channel.id.as_str()))
        .all(db)
        .await
        .unwrap();
    rows.sort_by(|a, b| {
        (a.platform_created_at, &a.platform_message_id)
            .cmp(&(b.platform_created_at, &b.platform_message_id))
    });
    let index = 150.min(rows.len() - 1);
    let target = &rows[index];
    let page = index / 100 + 1;
    let response = get(&site, &format!("m/{}/", target.id)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!(
            "/archive/{SLUG}/c/{}/{page}/#m-{}",
            big.channel.id, target.id
        )
    );
    let html = get(&site, &format!("c/{}/{page}/", big.channel.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("id=\"m-{}\"", target.id)));
    // The channel root goes to the newest page.
    let last = big.message_count.div_ceil(100);
    let response = get(&site, &format!("c/{}/", big.channel.id)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()["location"],
        format!("/archive/{SLUG}/c/{}/{last}/", big.channel.id).as_str()
    );
    // Caching: ETag and a 304 on revalidation; Last-Modified; compression on request.
    let first = get(&site, "").await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(first.headers().contains_key("last-modified"));
    assert!(
        first.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let again = site
        .app
        .client
        .get(site.url(""))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let gz = site
        .app
        .client
        .get(site.url(""))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        gz.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    // Assets and avatars: immutable; the stylesheet and script within budget.
    let home = get(&site, "").await.text().await.unwrap();
    for asset in Regex::new(r#"(_assets/site\.[0-9a-f]+\.(css|js))"#)
        .unwrap()
        .captures_iter(&home)
    {
        let response = get(&site, &asset[1]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let size = response.bytes().await.unwrap().len();
        let budget = if &asset[2] == "css" {
            30 * 1024
        } else {
            5 * 1024
        };
        assert!(size <= budget, "{} is {size} bytes", &asset[1]);
    }
    let avatar = Regex::new(r#"a/([0-9a-f]{16})\.svg"#).unwrap();
    let seed = avatar.captures(&html).expect("an avatar on a message page")[1].to_owned();
    let response = get(&site, &format!("a/{seed}.svg")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    // Not found: an HTML page with a way home, for every kind of bad address.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("c/{unknown}/1/"),
        format!("c/{}/{}/", big.channel.id, last + 1),
        format!("c/{}/0/", big.channel.id),
        format!("m/{unknown}/"),
        "nothing/here".to_owned(),
        "a/not-a-seed.svg".to_owned(),
        format!("c/{}/threads/1/", big.channel.id.to_uppercase()),
    ] {
        let response = get(&site, &path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let body = response.text().await.unwrap();
        assert!(
            body.contains("</html>") && body.contains("href="),
            "{path}: {body}"
        );
    }
    let response = site
        .app
        .client
        .get(site.app.url("/archive/no-such-tenant/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Archive not found"));
    // `/archive/demo` without the slash goes to the site's root.
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(site.app.url("/archive/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    // The API keeps its paths and its JSON errors.
    let response = site
        .app
        .client
        .get(site.app.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("json")
    );
}

#[tokio::test]
async fn the_sitemap_is_valid_xml_and_every_url_answers_200_as_its_own_canonical() {
    let site = synced_site(400, 13).await;
    let robots = get(&site, "robots.txt").await.text().await.unwrap();
    assert!(
        robots.contains(&format!("Sitemap: {}", SyncedSite::public("sitemap.xml"))),
        "{robots}"
    );
    let index = get(&site, "sitemap.xml").await.text().await.unwrap();
    roxmltree::Document::parse(&index).expect("the index is XML");
    let chunks: Vec<String> = LOC.captures_iter(&index).map(|c| c[1].to_owned()).collect();
    assert_eq!(chunks, vec![SyncedSite::public("sitemap-1.xml")]);
    let chunk = reqwest::get(site.local(&chunks[0]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = roxmltree::Document::parse(&chunk).expect("the chunk is XML");
    let urls: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("loc"))
        .filter_map(|n| n.text())
        .collect();
    assert!(urls.len() > 5 && urls.len() <= 50_000);
    assert!(doc.descendants().any(|n| n.has_tag_name("lastmod")));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for url in urls {
        let response = client.get(site.local(url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let html = response.text().await.unwrap();
        let canonical = CANONICAL.captures(&html).map(|c| unescape(&c[1]));
        assert_eq!(canonical.as_deref(), Some(url), "canonical of {url}");
    }
}

fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

async fn build_static(site: &SyncedSite, out: &Path) -> site::build::Summary {
    let tenant = service::tenants::get_by_slug(&site.app.db, SLUG)
        .await
        .unwrap();
    let ctx = site::pages::SiteContext::load(&site.app.db, tenant, Some(SyncedSite::public("")))
        .await
        .unwrap();
    site::build::build(&site.app.db, &ctx, out, &site.app.files, &|_| {})
        .await
        .unwrap()
}

#[tokio::test]
async fn the_static_build_equals_the_live_site_and_rebuilds_incrementally() {
    let site = synced_site(500, 14).await;
    let dir = tempfile::tempdir().unwrap();
    let summary = build_static(&site, dir.path()).await;
    let files = files_under(dir.path());
    assert_eq!(
        summary.written, summary.files,
        "a first build writes every file"
    );
    assert!(summary.pages > 10);
    let stored = stored_message_ids(&site).await;
    assert_eq!(summary.messages, stored.len() as u64);
    // Every static file is the live answer for the same URL, byte for byte.
    let mut compared = 0;
    for (rel, bytes) in &files {
        if rel == site::build::MANIFEST || rel == "404.html" {
            continue;
        }
        let path = rel.strip_suffix("index.html").unwrap_or(rel);
        let response = get(&site, path).await;
        if response.status() == StatusCode::FOUND {
            // A channel root: live redirects, static forwards to the same page.
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            let target = location.trim_start_matches(&format!("/archive/{SLUG}/"));
            let html = String::from_utf8_lossy(bytes);
            let relative = format!("{}{target}", site::paths::root_from(path));
            assert!(
                html.contains(&format!("url={relative}")),
                "{rel} forwards to {target}"
            );
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK, "{rel}");
        let live = response.bytes().await.unwrap();
        let live = String::from_utf8_lossy(&live);
        let file = String::from_utf8_lossy(bytes);
        // Live pages carry the search box; a static copy has nothing to answer a query.
        if rel.ends_with(".html") {
            assert_eq!(SEARCH_BOX.find_iter(&live).count(), 1, "{rel}: live box");
            assert!(
                !file.contains("search-box"),
                "{rel}: a box in a static page"
            );
        }
        assert!(
            SEARCH_BOX.replace(&live, "") == file,
            "{rel}: the static file differs from the live page"
        );
        compared += 1;
    }
    assert!(compared as u64 >= summary.pages);
    // Every message of the archive is in the static pages once.
    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    for bytes in files.values() {
        for cap in MESSAGE_ANCHOR.captures_iter(&String::from_utf8_lossy(bytes)) {
            *shown.entry(cap[1].to_owned()).or_default() += 1;
        }
    }
    assert_eq!(shown.keys().cloned().collect::<BTreeSet<_>>(), stored);
    assert!(shown.values().all(|n| *n == 1));

    // A rebuild with nothing changed rewrites nothing: same files, same mtimes.
    let mtimes = |dir: &Path| -> BTreeMap<String, std::time::SystemTime> {
        files_under(dir)
            .keys()
            .map(|rel| {
                (
                    rel.clone(),
                    std::fs::metadata(dir.join(rel))
                        .unwrap()
                        .modified()
                        .unwrap(),
                )
            })
            .collect()
    };
    let before = mtimes(dir.path());
    std::thread::sleep(Duration::from_millis(20));
    let again = build_static(&site, dir.path()).await;
    assert_eq!((again.written, again.removed), (0, 0), "{again:?}");
    assert_eq!(mtimes(dir.path()), before);

    // Stale pages go: a thread that left the archive leaves no file behind.
    let thread = entity::channels::Entity::find()
        .filter(entity::channels::Column::TenantId.eq(site.tenant_id.as_str()))
        .filter(entity::channels::Column::Type.eq("thread"))
        .all(&site.app.db)
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("a thread");
    entity::channels::Entity::delete_by_id(thread.id.clone())
        .exec(&site.app.db)
        .await
        .unwrap();
    let third = build_static(&site, dir.path()).await;
    assert!(third.removed >= 2, "the thread's page and root: {third:?}");
    assert!(!dir.path().join(format!("c/{}", thread.id)).exists());
    assert!(
        files_under(dir.path())
            .keys()
            .all(|k| !k.contains(&thread.id))
    );
}

#[tokio::test]
async fn no_raw_discord_id_or_author_hash_appears_anywhere_in_the_site() {
    let site = synced_site(500, 15).await;
    let raw = site.raw_ids();
    let hashes: BTreeSet<String> = {
        let anon = Anonymizer::from_config(&site.app.config);
        let truth = site.discord.fake().truth(site.discord.guild_id()).unwrap();
        let mut users = BTreeSet::new();
        for c in truth.message_channels() {
            for m in truth.messages(c.platform_id) {
                users.insert(m.author_id.to_string());
            }
        }
        users.iter().map(|u| anon.user_id(u)).collect()
    };
    let crawl = crawl(&site).await;
    let dir = tempfile::tempdir().unwrap();
    build_static(&site, dir.path()).await;
    let mut documents: Vec<(String, String)> = crawl.pages.into_iter().collect();
    for path in ["sitemap.xml", "sitemap-1.xml", "robots.txt"] {
        documents.push((
            path.to_owned(),
            get(&site, path).await.text().await.unwrap(),
        ));
    }
    for (rel, bytes) in files_under(dir.path()) {
        documents.push((rel, String::from_utf8_lossy(&bytes).into_owned()));
    }
    assert!(documents.len() > 20);
    let long_digits = Regex::new(r"[0-9]{15,}").unwrap();
    for (name, text) in &documents {
        for id in &raw {
            assert!(!text.contains(id.as_str()), "raw id {id} in {name}");
        }
        for hash in &hashes {
            assert!(!text.contains(hash.as_str()), "an author hash in {name}");
        }
        if let Some(m) = long_digits.find(text) {
            panic!("a snowflake-like number {} in {name}", m.as_str());
        }
    }
}

/// A Discord tenant with nothing archived.
async fn empty_tenant(
    db: &sea_orm::DatabaseConnection,
    name: &str,
    slug: &str,
    guild: &str,
) -> service::tenants::Tenant {
    service::tenants::create(
        db,
        &service::tenants::CreateTenant {
            name: Some(name.to_owned()),
            slug: Some(slug.to_owned()),
            platform: Some("discord".into()),
            platform_id: Some(guild.to_owned()),
            status: None,
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn pages_share_the_per_client_limit_and_forwarded_addresses_count_only_from_trusted_proxies()
{
    let css = Regex::new(r#"_assets/site\.[0-9a-f]+\.css"#).unwrap();
    for trusted in [false, true] {
        let app = spawn_app_with(|c| {
            c.read_api_rate_limit = 3;
            if trusted {
                c.trusted_proxies = "127.0.0.1".parse().unwrap();
            }
        })
        .await;
        empty_tenant(&app.db, "Limited", "limited", "1").await;
        let home = app.url("/archive/limited/");
        let mut statuses = Vec::new();
        for i in 0..5 {
            let response = app
                .client
                .get(&home)
                .header("x-forwarded-for", format!("203.0.113.{i}"))
                .send()
                .await
                .unwrap();
            statuses.push(response.status());
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                assert!(response.headers().contains_key("retry-after"));
                assert!(response.text().await.unwrap().contains("Too many requests"));
            } else {
                // The page's own stylesheet is never counted.
                let html = response.text().await.unwrap();
                let asset = css.find(&html).unwrap().as_str().to_owned();
                let r = app
                    .client
                    .get(app.url(&format!("/archive/limited/{asset}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
            }
        }
        if trusted {
            // Five clients behind a trusted proxy: each within its own limit...
            assert!(
                statuses.iter().all(|s| *s == StatusCode::OK),
                "{statuses:?}"
            );
            // ... and one of them, asking again and again, is limited as itself.
            let mut again = Vec::new();
            for _ in 0..3 {
                let response = app
                    .client
                    .get(&home)
                    .header("x-forwarded-for", "203.0.113.0")
                    .send()
                    .await
                    .unwrap();
                again.push(response.status());
            }
            assert_eq!(
                again,
                [
                    StatusCode::OK,
                    StatusCode::OK,
                    StatusCode::TOO_MANY_REQUESTS
                ],
                "the forwarded client's own budget"
            );
        } else {
            // A spoofed header changes nothing: one client, limited after three pages.
            assert_eq!(&statuses[..3], &[StatusCode::OK; 3]);
            assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
        }
    }
}

#[tokio::test]
async fn a_host_pattern_serves_each_tenant_at_the_root_of_its_own_host() {
    let app = spawn_app_with(|c| {
        c.site_base_url = Some("https://{tenant}.archive.test".to_owned());
    })
    .await;
    empty_tenant(&app.db, "Own Host", "own", "2").await;
    let get = |path: &str, host: &str| app.client.get(app.url(path)).header("host", host).send();
    let home = get("/", "own.archive.test").await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(html.contains("<h1>Own Host</h1>"));
    assert!(
        html.contains(r#"<link rel="canonical" href="https://own.archive.test/">"#),
        "{html}"
    );
    let robots = get("/robots.txt", "own.archive.test")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        robots.contains("Sitemap: https://own.archive.test/sitemap.xml"),
        "{robots}"
    );
    // The path form still works, with the same canonical URL.
    let path_form = get("/archive/own/", "anything.test")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(path_form.contains(r#"<link rel="canonical" href="https://own.archive.test/">"#));
    // API paths win on every host; unknown tenants and other hosts get no site.
    let health = get("/health", "own.archive.test").await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        health.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("json")
    );
    let unknown = get("/", "nobody.archive.test").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let other = get("/", "example.org").await.unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    assert!(
        other.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("json")
    );
}

#[tokio::test]
async fn cached_pages_are_revalidated_by_etag_and_dropped_when_the_branding_changes() {
    let app = spawn_app_with(|c| c.site_cache_secs = 600).await;
    let tenant = empty_tenant(&app.db, "Cached", "cached", "3").await;
    let home = app.url("/archive/cached/");
    let first = app.client.get(&home).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let first = first.text().await.unwrap();
    let again = app.client.get(&home).send().await.unwrap();
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(
        again.text().await.unwrap(),
        first,
        "the same bytes from the cache"
    );
    let revalidated = app
        .client
        .get(&home)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    // A branding change through the admin API shows at once.
    let put = app
        .put_json(
            &format!("/api/tenants/{}/branding", tenant.id),
            &serde_json::json!({"primaryColor": "#7c3aed"}),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    let after = app
        .client
        .get(&home)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK, "new colours, new bytes");
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    assert!(after.text().await.unwrap().contains("--brand:#7c3aed"));
    // So does a rename.
    let patch = app
        .patch_json(
            &format!("/api/tenants/{}", tenant.id),
            &serde_json::json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(patch.status(), StatusCode::OK);
    let renamed = app
        .client
        .get(&home)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(renamed.contains("<h1>Renamed</h1>"));
}

#[tokio::test]
async fn verta_site_build_writes_the_site_and_prints_a_summary_and_names_bad_input() {
    let site = synced_site(300, 16).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let run = |args: Vec<String>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_verta"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", site.app.config.database_url.clone())
            .output()
            .expect("the verta binary runs")
    };
    let args = |extra: &[&str]| -> Vec<String> {
        ["site", "build", "--tenant", SLUG, "--out"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([out.to_string_lossy().into_owned()])
            .chain(extra.iter().map(|s| (*s).to_owned()))
            .collect()
    };
    let output = run(args(&[
        "--base-url",
        "https://archive.example.org/archive/demo",
    ]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON summary");
    assert_eq!(summary["tenant"], SLUG);
    assert!(summary["pages"].as_u64().unwrap() > 5);
    assert_eq!(summary["written"], summary["files"]);
    assert!(summary["bytes"].as_u64().unwrap() > 10_000);
    assert!(summary["seconds"].is_number());
    assert!(out.join("index.html").is_file());
    assert!(out.join("sitemap.xml").is_file());
    let home = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        home.contains(r#"<link rel="canonical" href="https://archive.example.org/archive/demo/">"#)
    );
    // Again: nothing to write.
    let again = run(args(&[
        "--base-url",
        "https://archive.example.org/archive/demo",
    ]));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["written"], 0);
    // Bad input is named, with a non-zero exit and nothing on stdout.
    for (extra, needle) in [
        (vec!["--base-url", "ftp://x"], "base-url"),
        (vec!["--base-url", "not a url"], "base-url"),
    ] {
        let output = run(args(&extra));
        assert!(!output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(needle),
            "{extra:?}"
        );
        assert!(output.stdout.is_empty());
    }
    let unknown = run(vec![
        "site".into(),
        "build".into(),
        "--tenant".into(),
        "nobody".into(),
        "--out".into(),
        out.to_string_lossy().into_owned(),
    ]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
}
