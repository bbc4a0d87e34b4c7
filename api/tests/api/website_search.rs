//! The archive website's search: the results page (`search/?q=..&sort=..&cursor=..`) of a guild
//! synced from the fake Discord with planted messages — hits that link to permalinks that
//! resolve, snippets that keep their `<mark>` and escape markup, paging that reaches every hit
//! once in every order, bad queries answered by a 400 page in the same layout — and what
//! surrounds it: `noindex`, never cached, robots.txt, the per-client limit.

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use regex::Regex;
use reqwest::StatusCode;
use service::repo::{self, attachments::AttachmentRow, messages::MessageRow};
use service::search::{SearchRequest, Sort};

use crate::helpers::{TestApp, spawn_app_with};
use crate::website::{SLUG, SyncedSite, synced_site};

/// The word every planted message holds (the generated guild never says it).
pub const WORD: &str = "quokkaberry";
/// A second word, only in the planted messages with hostile markup.
const HOSTILE: &str = "hostilemarkup";
/// A second word, only in the planted message with attachments.
const ATTACHED: &str = "withfiles";
/// Plain planted messages (the hostile and attached ones come on top).
const PLAIN: u64 = 60;

/// What [`plant`] wrote.
pub struct Planted {
    /// Ids of every planted message.
    pub ids: BTreeSet<String>,
    /// The authors' pseudonymised ids.
    pub authors: Vec<String>,
}

/// Writes messages holding [`WORD`] into the biggest text channel and the biggest thread of
/// the synced site (as the sync would), then waits until the app's index finds all of them.
pub async fn plant(site: &SyncedSite) -> Planted {
    let db = &site.app.db;
    let channels = service::archive::list_channels(db, &site.tenant_id)
        .await
        .unwrap();
    let biggest = |kind: &str| {
        channels
            .iter()
            .filter(|c| c.channel.kind.as_deref() == Some(kind))
            .max_by_key(|c| c.message_count)
            .map(|c| c.channel.id.parse::<uuid::Uuid>().unwrap())
            .unwrap()
    };
    let (text, thread) = (biggest("text"), biggest("thread"));
    let authors: Vec<String> = (0..3u64).map(|i| format!("{:064x}", 0xa11ce + i)).collect();
    let start = Utc.with_ymd_and_hms(2023, 6, 1, 9, 0, 0).single().unwrap();
    let mut rows: Vec<MessageRow> = (0..PLAIN)
        .map(|i| MessageRow {
            channel_id: if i % 3 == 0 { thread } else { text },
            platform_message_id: (1_200_000_000_000_000_000u64 + i).to_string(),
            anonymized_author_id: authors[(i % 3) as usize].clone(),
            content: format!("Message {i} about the {WORD} harvest, number {i}."),
            reply_to_id: None,
            metadata: None,
            platform_created_at: start + chrono::Duration::hours(i as i64 * 7),
        })
        .collect();
    let extra = |n: u64, content: String| MessageRow {
        channel_id: text,
        platform_message_id: (1_200_000_000_000_000_500u64 + n).to_string(),
        anonymized_author_id: authors[0].clone(),
        content,
        reply_to_id: None,
        metadata: None,
        platform_created_at: start + chrono::Duration::days(400 + n as i64),
    };
    rows.push(extra(
        0,
        format!("<script>window.__pwned=1</script> {WORD} {HOSTILE}"),
    ));
    rows.push(extra(
        1,
        format!("{WORD} {HOSTILE} \"><img src=x onerror=window.__pwned=2>"),
    ));
    rows.push(extra(2, format!("Two files for the {WORD} {ATTACHED}")));
    let with_files = rows[rows.len() - 1].id();
    repo::messages::upsert(db, &rows).await.unwrap();
    let attachment = |n: u64, name: &str| AttachmentRow {
        message_id: with_files,
        platform_attachment_id: (1_300_000_000_000_000_000u64 + n).to_string(),
        filename: name.to_owned(),
        file_size: 2048,
        content_type: "image/png".to_owned(),
        url: "https://cdn.example.org/x.png".to_owned(),
    };
    repo::attachments::upsert(db, &[attachment(0, "a.png"), attachment(1, "b.png")])
        .await
        .unwrap();
    let ids: BTreeSet<String> = rows.iter().map(|r| r.id().to_string()).collect();
    wait_until_found(&site.app, &site.tenant_id, WORD, ids.len() as u64).await;
    Planted { ids, authors }
}

/// Polls the app's index (it follows the database every second) until `q` finds `count`
/// messages of the tenant; fails after 10 s.
pub async fn wait_until_found(app: &TestApp, tenant_id: &str, q: &str, count: u64) {
    let request = SearchRequest {
        q: q.to_owned(),
        limit: 1,
        cursor: None,
        sort: Sort::Relevance,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let total = app
            .search
            .search(&app.db, tenant_id, &request)
            .await
            .unwrap()
            .total;
        if total == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{q}: {total} of {count} messages searchable after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

static HIT_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<p class="hit-text"><a href="\.\./m/([0-9a-f-]{36})/">"#).unwrap()
});
static HIT_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<time datetime="([^"]+)" data-local="full">"#).unwrap());
static NEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<a href="([^"]+)" rel="next">"#).unwrap());
static PLACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<span class="hit-where">(.*?)</span>"#).unwrap());
static HREF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"href="([^"]+)""#).unwrap());

/// Undo the entity escapes askama writes in attribute values.
fn unescape(text: &str) -> String {
    text.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#43;", "+")
        .replace("&#61;", "=")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
}

/// A client that does not follow redirects.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET search/` + `query` (a query string, with its `?`).
async fn results(
    site: &SyncedSite,
    query: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = client()
        .get(format!("{}{query}", site.url("search/")))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// Follows `href` (relative to the results page) through redirects; the final status and body.
async fn follow(site: &SyncedSite, href: &str) -> (StatusCode, String, String) {
    let base = reqwest::Url::parse(&site.url("search/")).unwrap();
    let url = base.join(href).unwrap();
    let response = reqwest::Client::new().get(url).send().await.unwrap();
    let status = response.status();
    let last = response.url().to_string();
    (status, last, response.text().await.unwrap())
}

#[tokio::test]
async fn results_link_to_permalinks_and_channels_that_resolve_with_marked_and_escaped_snippets() {
    let site = synced_site(300, 31).await;
    let planted = plant(&site).await;
    let (status, headers, html) = results(&site, &format!("?q={WORD}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<meta name="robots" content="noindex">"#));
    assert_eq!(headers["cache-control"], "private, no-store");
    assert_eq!(headers["x-robots-tag"], "noindex");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(!headers.contains_key("etag"), "not a cacheable page");
    // The layout of every page, the box filled in, the count of every match.
    assert!(html.contains(r#"<header class="top">"#) && html.contains("</footer>"));
    assert_eq!(html.matches(r#"<form class="search-box""#).count(), 1);
    assert!(
        html.contains(&format!(r#"name="q" value="{WORD}""#)),
        "{html}"
    );
    assert!(html.contains(&format!("{} results", planted.ids.len())));
    let hits: Vec<String> = HIT_LINK
        .captures_iter(&html)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(hits.len() as u64, service::search::DEFAULT_LIMIT);
    assert!(hits.iter().all(|id| planted.ids.contains(id)));
    // Every permalink lands on the page holding the message's anchor.
    for id in &hits {
        let (status, last, page) = follow(&site, &format!("../m/{id}/")).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert!(last.contains("/c/"), "{last}");
        assert!(page.contains(&format!("id=\"m-{id}\"")), "{id} on {last}");
    }
    // Every channel and thread link answers a page.
    let places: BTreeSet<String> = PLACE
        .captures_iter(&html)
        .flat_map(|c| {
            HREF.captures_iter(&c[1])
                .map(|h| unescape(&h[1]))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(places.len() >= 2, "a channel and a thread: {places:?}");
    assert!(html.contains(" › "), "a thread hit names its channel too");
    for href in &places {
        let (status, ..) = follow(&site, href).await;
        assert_eq!(status, StatusCode::OK, "{href}");
    }
    // Matches are marked; authors shown by pseudonym and avatar, never by their hash.
    assert!(html.contains(&format!("<mark>{WORD}</mark>")));
    for author in &planted.authors {
        assert!(
            !html.contains(author.as_str()),
            "an author hash on the page"
        );
    }
    assert!(html.contains(&service::pseudonym::name(&planted.authors[0])));
    let seed = site::avatar::seed_for(&planted.authors[0]);
    assert!(html.contains(&format!(r#"src="../a/{seed}.svg""#)));
    let (status, ..) = follow(&site, &format!("../a/{seed}.svg")).await;
    assert_eq!(status, StatusCode::OK);

    // Markup in a message is shown as text, inside a snippet that keeps its marks.
    let (status, _, html) = results(&site, &format!("?q={WORD}+{HOSTILE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(HIT_LINK.captures_iter(&html).count(), 2);
    assert!(html.contains(&format!(
        "&lt;script&gt;window.__pwned=1&lt;/script&gt; <mark>{WORD}</mark> <mark>{HOSTILE}</mark>"
    )));
    assert!(
        html.contains(&format!(
            "<mark>{WORD}</mark> <mark>{HOSTILE}</mark> &quot;&gt;&lt;img src=x onerror=window.__pwned=2&gt;"
        )),
        "{html}"
    );
    assert_eq!(
        Regex::new(r"(?i)<script").unwrap().find_iter(&html).count(),
        2,
        "only the page's own scripts"
    );
    assert!(!html.contains("<img src=x") && !html.contains("onerror=window.__pwned=2>"));

    // Attachments are counted.
    let (_, _, html) = results(&site, &format!("?q={WORD}+{ATTACHED}")).await;
    assert_eq!(HIT_LINK.captures_iter(&html).count(), 1);
    assert!(html.contains("2 attachments"), "{html}");
}

#[tokio::test]
async fn the_next_link_reaches_every_hit_once_in_each_order_and_the_order_holds() {
    let site = synced_site(300, 32).await;
    let planted = plant(&site).await;
    for sort in ["relevance", "newest", "oldest"] {
        let mut href = format!("?q={WORD}&sort={sort}");
        let mut seen: Vec<String> = Vec::new();
        let mut times: Vec<String> = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages < 10, "{sort}: the pages never end");
            let (status, _, html) = results(&site, &href).await;
            assert_eq!(status, StatusCode::OK, "{sort} {href}");
            // The chosen order is marked, and a new query from the box keeps it.
            let label = match sort {
                "relevance" => "Best match",
                "newest" => "Newest",
                _ => "Oldest",
            };
            assert!(
                html.contains(&format!(r#"aria-current="true">{label}</a>"#)),
                "{sort}: the current order"
            );
            let keeps = html.contains(&format!(
                r#"<input type="hidden" name="sort" value="{sort}">"#
            ));
            assert_eq!(keeps, sort != "relevance", "{sort}");
            seen.extend(HIT_LINK.captures_iter(&html).map(|c| c[1].to_owned()));
            times.extend(HIT_TIME.captures_iter(&html).map(|c| c[1].to_owned()));
            match NEXT.captures(&html) {
                Some(next) => {
                    href = unescape(&next[1]);
                    assert!(href.contains("cursor="), "{href}");
                    // A later page links back to the first.
                    let (_, _, later) = results(&site, &href).await;
                    assert!(later.contains("First results"));
                }
                None => break,
            }
        }
        assert_eq!(pages, 3, "{sort}: 63 hits, 25 a page");
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a hit shown twice");
        assert_eq!(unique, planted.ids, "{sort}: every hit once");
        let mut sorted = times.clone();
        sorted.sort();
        match sort {
            "newest" => {
                sorted.reverse();
                assert_eq!(times, sorted, "newest first");
            }
            "oldest" => assert_eq!(times, sorted, "oldest first"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn bad_queries_get_a_400_page_naming_the_problem_and_an_empty_one_gets_help() {
    let site = synced_site(200, 33).await;
    let long = format!("?q={}", "x".repeat(600));
    for (query, needle) in [
        ("?q=%22unbalanced", "Unbalanced quote"),
        ("?q=colour:red", "Unknown operator colour:"),
        ("?q=before:2024-13-45", "Bad date in before:2024-13-45"),
        ("?q=a*", "too short for a prefix search"),
        ("?q=in:nowhere", "no channel of that name"),
        ("?q=!!!", "nothing to search for"),
        (long.as_str(), "too long"),
        ("?q=hello&sort=sideways", "relevance, newest or oldest"),
        ("?q=hello&cursor=garbage", "start the search again"),
        (
            "?q=hello&sort=newest&cursor=eyJmIjoiMDAifQ",
            "start the search again",
        ),
    ] {
        let (status, headers, html) = results(&site, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{query}"
        );
        assert_eq!(headers["cache-control"], "private, no-store");
        assert!(html.contains(needle), "{query}: {html}");
        assert!(
            html.contains(r#"<p class="notice" role="alert">"#),
            "{query}"
        );
        assert!(html.contains(r#"<header class="top">"#), "{query}");
        assert!(html.contains(r#"<meta name="robots" content="noindex">"#));
        assert!(html.contains("How to search"), "{query}");
        assert!(!html.contains(r#"<li class="hit">"#), "{query}");
    }
    // No query: the box and how to search, no results and no error.
    for query in ["", "?q=", "?q=+++", "?sort=newest", "?q=&cursor=x"] {
        let (status, _, html) = results(&site, query).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert!(html.contains("How to search"), "{query}");
        for operator in [
            "from:",
            "in:",
            "has:",
            "before:",
            "after:",
            "during:",
            "pinned:",
            "\"exact phrase\"",
            "prefix*",
            "-word",
        ] {
            assert!(html.contains(operator), "{operator} explained");
        }
        assert!(!html.contains("role=\"alert\"") && !html.contains("<li class=\"hit\">"));
        assert!(html.contains(r#"<form class="search-box""#));
    }
    // Whatever the query string holds, the page comes out escaped and never as a 500.
    for query in [
        "?q=%3Cscript%3Ealert(1)%3C/script%3E",
        "?q=%FF%FE%00",
        "?q=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
        "?q=a&q=b&sort=newest&sort=x",
        "?%%%",
    ] {
        let (status, _, html) = results(&site, query).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{query}: {status}"
        );
        assert!(
            !html.contains("<script>alert") && !html.contains("<img src=x"),
            "{query}"
        );
    }
}

/// An app with one tenant holding one channel and the message `content`, indexed.
async fn small_site(adjust: impl FnOnce(&mut service::Config)) -> (TestApp, String, uuid::Uuid) {
    let app = spawn_app_with(|c| {
        c.site_base_url = Some("https://archive.example.org".to_owned());
        adjust(c);
    })
    .await;
    let tenant = service::tenants::create(
        &app.db,
        &service::tenants::CreateTenant {
            name: Some("Small".to_owned()),
            slug: Some(SLUG.to_owned()),
            platform: Some("discord".into()),
            platform_id: Some("4242".to_owned()),
            status: None,
        },
    )
    .await
    .unwrap();
    repo::channels::upsert(
        &app.db,
        &[repo::channels::ChannelRow {
            tenant_id: tenant.id,
            platform_channel_id: "77".to_owned(),
            name: "general".to_owned(),
            kind: repo::channels::ChannelKind::Text,
            parent_channel_id: None,
            metadata: None,
        }],
    )
    .await
    .unwrap();
    (
        app,
        tenant.id.to_string(),
        repo::ids::channel(tenant.id, "77"),
    )
}

async fn say(app: &TestApp, channel: uuid::Uuid, n: u64, content: &str) {
    let row = MessageRow {
        channel_id: channel,
        platform_message_id: (1_000_000_000_000_000_000u64 + n).to_string(),
        anonymized_author_id: "b".repeat(64),
        content: content.to_owned(),
        reply_to_id: None,
        metadata: None,
        platform_created_at: Utc::now(),
    };
    repo::messages::upsert(&app.db, &[row]).await.unwrap();
}

#[tokio::test]
async fn results_are_never_cached_and_robots_and_sitemaps_keep_crawlers_out_of_search() {
    let (app, tenant_id, channel) = small_site(|c| c.site_cache_secs = 600).await;
    say(&app, channel, 1, "the first wombat").await;
    wait_until_found(&app, &tenant_id, "wombat", 1).await;
    let page = |q: &str| {
        let url = app.url(&format!("/archive/{SLUG}/search/?q={q}"));
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    assert!(page("wombat").await.contains("1 result, best match first."));
    // A second matching message shows at once, though every other page is cached for 600 s.
    say(&app, channel, 2, "the second wombat").await;
    wait_until_found(&app, &tenant_id, "wombat", 2).await;
    assert!(
        page("wombat")
            .await
            .contains("2 results, best match first.")
    );

    // Crawlers: robots.txt (the tenant's and the host's) keep out of the results, which no
    // sitemap lists.
    let robots = reqwest::get(app.url(&format!("/archive/{SLUG}/robots.txt")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        robots.starts_with(&format!(
            "User-agent: *\nDisallow: /archive/{SLUG}/search/\nAllow: /\n"
        )),
        "{robots}"
    );
    let host = reqwest::get(app.url("/robots.txt"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        host.contains(&format!("Disallow: /archive/{SLUG}/search/\n")),
        "{host}"
    );
    for path in ["sitemap.xml", "sitemap-1.xml"] {
        let xml = reqwest::get(app.url(&format!("/archive/{SLUG}/{path}")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            xml.contains("<loc>") && !xml.contains("search"),
            "{path}: {xml}"
        );
    }
    // A HEAD is answered like a GET, without a body.
    let head = app
        .client
        .head(app.url(&format!("/archive/{SLUG}/search/?q=wombat")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    // An unknown tenant has no search either.
    let unknown = reqwest::get(app.url("/archive/nobody/search/?q=wombat"))
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn searches_count_against_the_per_client_page_limit() {
    let (app, ..) = small_site(|c| c.read_api_rate_limit = 3).await;
    let mut statuses = Vec::new();
    for path in [
        "",
        "search/?q=wombat",
        "search/?q=other",
        "search/?q=wombat",
    ] {
        let response = reqwest::get(app.url(&format!("/archive/{SLUG}/{path}")))
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn best_match_paging_ends_past_a_thousand_results_with_a_way_to_see_them_all() {
    let (app, tenant_id, channel) = small_site(|_| {}).await;
    let count = service::search::MAX_OFFSET + 30;
    let start = Utc.with_ymd_and_hms(2022, 1, 1, 0, 0, 0).single().unwrap();
    let rows: Vec<MessageRow> = (0..count)
        .map(|i| MessageRow {
            channel_id: channel,
            platform_message_id: (1_000_000_000_000_000_000u64 + i).to_string(),
            anonymized_author_id: "c".repeat(64),
            content: format!("wombat number {i}"),
            reply_to_id: None,
            metadata: None,
            platform_created_at: start + chrono::Duration::minutes(i as i64),
        })
        .collect();
    repo::messages::upsert(&app.db, &rows).await.unwrap();
    wait_until_found(&app, &tenant_id, "wombat", count).await;
    let base = app.url(&format!("/archive/{SLUG}/search/"));
    let mut href = "?q=wombat".to_owned();
    let mut shown = 0u64;
    let note = "Best-match order shows the first thousand results only";
    loop {
        let html = reqwest::get(format!("{base}{href}"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        shown += HIT_LINK.captures_iter(&html).count() as u64;
        match NEXT.captures(&html) {
            Some(next) => {
                assert!(!html.contains(note), "the note only on the last page");
                href = unescape(&next[1]);
            }
            None => {
                assert!(
                    html.contains(note),
                    "the last reachable page says why it ends"
                );
                break;
            }
        }
    }
    assert!(
        shown > service::search::MAX_OFFSET && shown < count,
        "{shown}"
    );
}

#[tokio::test]
async fn results_from_an_index_still_being_built_say_so() {
    let (app, tenant_id, channel) = small_site(|_| {}).await;
    say(&app, channel, 1, "lighthouse keeper").await;
    let tenant = service::tenants::get_by_slug(&app.db, SLUG).await.unwrap();
    let mut ctx = site::pages::SiteContext::load(&app.db, tenant, None)
        .await
        .unwrap();
    ctx.search = true;
    let params = site::pages::SearchParams {
        q: "lighthouse".to_owned(),
        sort: None,
        cursor: None,
    };
    const NOTICE: &str = "The search index is still being built";
    // A new index, never built: the page answers and warns that results may be missing.
    let dir = tempfile::tempdir().unwrap();
    let fresh = service::search::SearchIndex::open(dir.path()).unwrap();
    let (status, html) = site::pages::search(&app.db, &ctx, &fresh, &params)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(html.contains(NOTICE), "{html}");
    // The app's own index, once it has found the message, is complete: no notice.
    wait_until_found(&app, &tenant_id, "lighthouse", 1).await;
    let (status, html) = site::pages::search(&app.db, &ctx, &app.search, &params)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(html.contains("lighthouse"), "{html}");
    assert!(!html.contains(NOTICE), "{html}");
}
