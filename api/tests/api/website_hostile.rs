//! The archive website against hostile content: markup, script and broken-out attributes in
//! every field a Discord user or a tenant admin controls (message text, channel names and
//! topics, thread titles, file names and types, reaction emoji, the tenant's name and logo).
//! Every page must come out with our own three script elements only, no event-handler
//! attribute, no `javascript:` URL, and JSON-LD that cannot close its element.

use chrono::{Duration, TimeZone, Utc};
use regex::Regex;
use reqwest::StatusCode;
use sea_orm::DatabaseConnection;
use service::repo::{
    self,
    attachments::AttachmentRow,
    channels::{ChannelKind, ChannelRow},
    messages::MessageRow,
    reactions::ReactionRow,
};
use service::tenants::{self, CreateTenant};

use crate::helpers::{TestApp, spawn_app_with};

/// The tenant's slug.
pub const SLUG: &str = "hostile";

/// Text that tries to break out of every context a page has.
pub const PAYLOADS: &[&str] = &[
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=\"window.__pwned=2\">",
    "\"><svg onload=window.__pwned=3>",
    "'><iframe srcdoc='<script>parent.__pwned=4</script>'>",
    "</title><script>window.__pwned=5</script>",
    "</script><script>window.__pwned=6</script>",
    "<!--",
    "]]><x>",
    "[click](javascript:window.__pwned=7)",
    "[click](JaVaScRiPt:window.__pwned=8)",
    "[click](java\tscript:window.__pwned=9)",
    "[data](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0xMDwvc2NyaXB0Pg==)",
    "<javascript:window.__pwned=11>",
    "```\"><script>window.__pwned=12</script>\n</pre><script>window.__pwned=13</script>\n```",
    "`</code><script>window.__pwned=14</script>`",
    "||<script>window.__pwned=15</script>||",
    "<t:99999999999999999999:R> <t:-1:F> <t:abc>",
    "<:x\" onmouseover=\"window.__pwned=16:123>",
    "**__~~||> <b onclick=window.__pwned=17>nested</b>||~~__**",
    "\u{202e}evil\u{200b}zero\u{feff}width",
    "&lt;script&gt;window.__pwned=18&lt;/script&gt;",
];

/// A long run of markup (nesting and length limits).
fn deep() -> String {
    format!("{}x{}", "**||__~~".repeat(200), "~~__||**".repeat(200))
}

/// Writes tenant [`SLUG`] with hostile content through the service's repositories (as the
/// sync would): a category, a text channel, a forum with a post, messages carrying every
/// payload, attachments and reactions with hostile names, and a hostile logo.
pub async fn write_hostile_archive(db: &DatabaseConnection) {
    let tenant = tenants::create(
        db,
        &CreateTenant {
            name: Some("<script>window.__pwned=20</script> Guild \"'&".to_owned()),
            slug: Some(SLUG.to_owned()),
            platform: Some("discord".to_owned()),
            platform_id: Some("987654321987654321".to_owned()),
            status: None,
        },
    )
    .await
    .expect("tenant");
    repo::tenant_branding::upsert(
        db,
        tenant.id,
        &repo::tenant_branding::BrandingChanges {
            logo: Some(Some("javascript:window.__pwned=21".to_owned())),
            primary_color: Some("#ffff00".to_owned()),
            secondary_color: Some("#fffffe".to_owned()),
            accent_color: Some("#000001".to_owned()),
        },
    )
    .await
    .expect("branding");
    let tid = tenant.id;
    let row = |pid: &str, name: &str, kind, parent: Option<&str>, meta| ChannelRow {
        tenant_id: tid,
        platform_channel_id: pid.to_owned(),
        name: name.to_owned(),
        kind,
        parent_channel_id: parent.map(str::to_owned),
        metadata: meta,
    };
    repo::channels::upsert(
        db,
        &[
            row("5000", "</h2><script>window.__pwned=22</script>", ChannelKind::Category, None, None),
            row(
                "5001",
                "\"><img src=x onerror=window.__pwned=23>",
                ChannelKind::Text,
                Some("5000"),
                Some(serde_json::json!({"topic": "<script>window.__pwned=24</script> [x](javascript:alert(1))", "position": 0})),
            ),
            row("5002", "forum</a><script>window.__pwned=25</script>", ChannelKind::Forum, Some("5000"), None),
            row(
                "5003",
                "</title></script><script>window.__pwned=26</script>",
                ChannelKind::Thread,
                Some("5002"),
                None,
            ),
        ],
    )
    .await
    .expect("channels");
    let start = Utc
        .with_ymd_and_hms(2024, 3, 1, 12, 0, 0)
        .single()
        .expect("a date");
    let author = "a".repeat(64);
    let mut messages = Vec::new();
    let mut attachments = Vec::new();
    let mut reactions = Vec::new();
    let mut texts: Vec<String> = PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    texts.push(deep());
    // Within MySQL's TEXT (65,535 bytes); Discord itself allows 4,000 characters.
    texts.push("x".repeat(60_000));
    for (channel, salt) in [("5001", 1u64), ("5003", 2u64)] {
        for (i, text) in texts.iter().enumerate() {
            let at = start + Duration::seconds(i as i64);
            let m = MessageRow {
                channel_id: repo::ids::channel(tid, channel),
                platform_message_id: format!(
                    "{}",
                    1_100_000_000_000_000_000u64 + salt * 1000 + i as u64
                ),
                anonymized_author_id: author.clone(),
                content: text.clone(),
                reply_to_id: (i > 0).then(|| {
                    format!(
                        "{}",
                        1_100_000_000_000_000_000u64 + salt * 1000 + i as u64 - 1
                    )
                }),
                metadata: Some(
                    serde_json::json!({"editedAt": "\"><script>window.__pwned=27</script>"}),
                ),
                platform_created_at: at,
            };
            if i % 4 == 0 {
                attachments.push(AttachmentRow {
                    message_id: m.id(),
                    platform_attachment_id: format!("{salt}{i}"),
                    filename: format!("../../{}\u{0007}.html", PAYLOADS[i % PAYLOADS.len()]),
                    file_size: -5,
                    content_type: "text/html\"><script>window.__pwned=28</script>".to_owned(),
                    url: "javascript:window.__pwned=29".to_owned(),
                });
                reactions.push(ReactionRow {
                    message_id: m.id(),
                    emoji: "<script>window.__pwned=30</script>".to_owned(),
                    anonymized_user_id: "b".repeat(64),
                });
                reactions.push(ReactionRow {
                    message_id: m.id(),
                    emoji: "<:evil\"onload=\"x:123>".to_owned(),
                    anonymized_user_id: "c".repeat(64),
                });
            }
            messages.push(m);
        }
    }
    repo::messages::upsert(db, &messages)
        .await
        .expect("messages");
    repo::attachments::upsert(db, &attachments)
        .await
        .expect("attachments");
    repo::reactions::upsert(db, &reactions)
        .await
        .expect("reactions");
}

/// An app serving the hostile archive.
pub async fn hostile_site() -> TestApp {
    let app = spawn_app_with(|c| {
        c.site_base_url = Some("https://archive.example.org".to_owned());
    })
    .await;
    write_hostile_archive(&app.db).await;
    app
}

/// The paths of every page of the hostile site (home, channel, forum index, thread, 404).
pub async fn hostile_pages(app: &TestApp) -> Vec<String> {
    let tenant = tenants::get_by_slug(&app.db, SLUG).await.expect("tenant");
    let id = |pid: &str| repo::ids::channel(tenant.id, pid);
    vec![
        format!("/archive/{SLUG}/"),
        format!("/archive/{SLUG}/c/{}/1/", id("5001")),
        format!("/archive/{SLUG}/c/{}/threads/1/", id("5002")),
        format!("/archive/{SLUG}/c/{}/1/", id("5003")),
        format!("/archive/{SLUG}/no/such/page"),
    ]
}

/// The names of every attribute of every tag of `html` (lower case). Attribute values are
/// quoted and never hold a `>` (markup in them is escaped), so a tag ends at the first `>`.
fn attributes(html: &str) -> Vec<(String, String)> {
    let tag = Regex::new(r"<[a-zA-Z][a-zA-Z0-9-]*((?:\s[^>]*)?)>").unwrap();
    let attr =
        Regex::new(r#"\s([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"#).unwrap();
    let mut out = Vec::new();
    for t in tag.captures_iter(html) {
        for a in attr.captures_iter(&t[1]) {
            let value = a
                .get(2)
                .or(a.get(3))
                .or(a.get(4))
                .map_or("", |m| m.as_str());
            out.push((a[1].to_ascii_lowercase(), value.to_owned()));
        }
    }
    out
}

#[tokio::test]
async fn hostile_content_never_becomes_markup_script_or_a_dangerous_url() {
    let app = hostile_site().await;
    let script = Regex::new(r"(?i)<script").unwrap();
    let ld = Regex::new(r#"(?s)<script type="application/ld\+json">(.*?)</script>"#).unwrap();
    for path in hostile_pages(&app).await {
        let response = app.client.get(app.url(&path)).send().await.unwrap();
        let expected = if path.ends_with("/page") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(response.status(), expected, "{path}");
        let html = response.text().await.unwrap();
        let scripts = script.find_iter(&html).count();
        let json_ld = ld.captures(&html).map(|c| c[1].to_owned());
        // Ours: the theme boot, the deferred script, and JSON-LD on a thread's first page.
        assert_eq!(
            scripts,
            2 + usize::from(json_ld.is_some()),
            "{path}: {html}"
        );
        let attrs = attributes(&html);
        let handlers: Vec<&String> = attrs
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with("on"))
            .collect();
        assert!(
            handlers.is_empty(),
            "{path}: event handler attributes {handlers:?}"
        );
        // Every URL is ours (relative, or the configured origin) or a vetted data: image.
        for (name, value) in attrs
            .iter()
            .filter(|(n, _)| matches!(n.as_str(), "href" | "src" | "action" | "content" | "srcdoc"))
        {
            let v = value.to_ascii_lowercase();
            let v: String = v
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect();
            assert!(
                !v.starts_with("javascript:")
                    && !v.starts_with("vbscript:")
                    && !v.starts_with("data:text"),
                "{path}: {name}={value}"
            );
            // A URL never holds a raw space (the W3C validator rejects it).
            if matches!(name.as_str(), "href" | "src") {
                assert!(
                    !value.contains(char::is_whitespace),
                    "{path}: {name}={value}"
                );
            }
            if name != "content" {
                assert!(
                    !v.contains(':')
                        || v.starts_with("https://archive.example.org/")
                        || v.starts_with("data:image/svg+xml,")
                        || v.starts_with("http:")
                        || v.starts_with("https:")
                        || v.starts_with("mailto:"),
                    "{path}: {name}={value}"
                );
            }
        }
        assert!(
            !html.contains("<iframe") && !html.contains("<svg onload"),
            "{path}"
        );
        if let Some(ld) = json_ld {
            let value: serde_json::Value = serde_json::from_str(&ld).expect("JSON-LD parses");
            assert_eq!(value["@type"], "DiscussionForumPosting");
        }
        // The hostile logo is not shown; the tenant's name is, escaped.
        assert!(
            html.contains("&#60;script&#62;window.__pwned=20&#60;/script&#62; Guild"),
            "{path}"
        );
    }
}
