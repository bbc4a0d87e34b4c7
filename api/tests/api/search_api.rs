//! `GET /api/v1/search` through HTTP: every operator of the query language on a guild synced
//! from the fake Discord plus crafted messages written with the sync's upserts (the running
//! app's indexer picks them up; the tests poll), sort orders and cursor paging, snippets,
//! permalinks, non-Latin scripts, edits, deletion and vanished channels, tenant isolation
//! (with a property test), hostile input (400s naming the parameter, never a 5xx: a property
//! test), the rate limit, CORS and the OpenAPI description.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use service::anonymize::Anonymizer;
use service::pseudonym;
use service::repo::{
    self,
    attachments::AttachmentRow,
    channels::{ChannelKind, ChannelRow},
    messages::MessageRow,
};
use service::search::syntax::name_key;
use uuid::Uuid;

use crate::archive_data::snowflake;
use crate::helpers::{TestApp, assert_error, issue_paths, send, spawn_app_with};
use crate::website::{ORIGIN, SLUG, synced_site};

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0)
        .single()
        .expect("valid date")
}

/// Every hit of `q` (sort `sort`), walking the cursors with pages of `limit`; checks that
/// `meta.total` is the same on every page and equals the number of hits, and that no hit
/// comes twice. Returns the hits in order.
async fn all_hits(app: &TestApp, slug: &str, q: &str, sort: &str, limit: u64) -> Vec<Value> {
    let limit = limit.to_string();
    let mut hits: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut total = None;
    for _ in 0..10_000 {
        let mut params = vec![("q", q), ("sort", sort), ("limit", limit.as_str())];
        if let Some(c) = &cursor {
            params.push(("cursor", c.as_str()));
        }
        let response = app.search_get(slug, &params).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{q} ({sort}): {body}");
        let page_total = body["meta"]["total"].as_u64().expect("meta.total");
        assert_eq!(
            *total.get_or_insert(page_total),
            page_total,
            "{q}: total moved"
        );
        assert_eq!(body["meta"]["sort"], sort, "{body}");
        assert_eq!(body["meta"]["limit"].as_u64(), limit.parse().ok(), "{body}");
        assert_eq!(body["meta"]["indexComplete"], true, "{body}");
        hits.extend(body["data"].as_array().expect("data").iter().cloned());
        match body["meta"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids: Vec<&str> = hits.iter().map(hit_id).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{q} ({sort}): a hit came twice");
    assert_eq!(total, Some(ids.len() as u64), "{q} ({sort}): total");
    hits
}

fn hit_id(hit: &Value) -> &str {
    hit["message"]["id"].as_str().expect("message.id")
}

/// The crafted corpus written into the synced tenant, by name.
struct Lab {
    messages: HashMap<&'static str, MessageRow>,
    lab: Uuid,
    author_a: String,
    author_b: String,
}

impl Lab {
    fn id(&self, name: &str) -> String {
        self.messages[name].id().to_string()
    }

    fn ids(&self, names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| self.id(n)).collect()
    }
}

const LAB: &str = "990001";
const LAB_THREAD: &str = "990002";
const OTHER_ROOM: &str = "990003";
const DOOMED: &str = "990004";

/// One crafted message: name, channel (platform id), author, content, send time, metadata.
type LabMessage<'a> = (
    &'static str,
    &'a str,
    &'a String,
    &'a str,
    DateTime<Utc>,
    Option<Value>,
);

/// Writes the crafted channels and messages into `tenant` (words no generated message uses).
async fn write_lab(db: &DatabaseConnection, anon: &Anonymizer, tenant: Uuid) -> Lab {
    let channel = |pid: &str, name: &str, kind, parent: Option<&str>| ChannelRow {
        tenant_id: tenant,
        platform_channel_id: pid.to_owned(),
        name: name.to_owned(),
        kind,
        parent_channel_id: parent.map(str::to_owned),
        metadata: None,
    };
    repo::channels::upsert(
        db,
        &[
            channel(LAB, "search-lab", ChannelKind::Text, None),
            channel(LAB_THREAD, "lab thread", ChannelKind::Thread, Some(LAB)),
            channel(OTHER_ROOM, "other-room", ChannelKind::Text, None),
            channel(DOOMED, "doomed", ChannelKind::Text, None),
        ],
    )
    .await
    .unwrap();
    let cid = |pid: &str| repo::ids::channel(tenant, pid);
    let (author_a, author_b) = (
        anon.user_id("880000000000000001"),
        anon.user_id("880000000000000002"),
    );
    let specs: Vec<LabMessage> = vec![
        (
            "fox",
            LAB,
            &author_a,
            "vorpal quibble zantic",
            at(2023, 1, 15),
            None,
        ),
        (
            "fox2",
            LAB,
            &author_b,
            "quibble glimmer zantic",
            at(2023, 6, 10),
            None,
        ),
        (
            "other",
            OTHER_ROOM,
            &author_b,
            "vorpal quibble elsewhere",
            at(2024, 3, 5),
            None,
        ),
        (
            "markup",
            LAB,
            &author_a,
            "snorkel <b>bold</b> & \"quotes\" <script>x</script>",
            at(2024, 2, 1),
            None,
        ),
        (
            "cyr",
            LAB,
            &author_b,
            "Привет мир квазар",
            at(2024, 2, 2),
            None,
        ),
        (
            "greek",
            LAB,
            &author_a,
            "Καλημέρα κόσμε",
            at(2024, 2, 3),
            None,
        ),
        (
            "cjk",
            LAB,
            &author_b,
            "東京タワーに行きました",
            at(2024, 2, 4),
            None,
        ),
        ("emoji", LAB, &author_a, "🦄🦄", at(2024, 2, 5), None),
        (
            "link",
            LAB,
            &author_a,
            "blorptastic https://example.com/page",
            at(2024, 2, 6),
            None,
        ),
        (
            "image",
            LAB,
            &author_a,
            "frabjous photo",
            at(2024, 4, 1),
            None,
        ),
        (
            "file",
            LAB,
            &author_b,
            "frabjous document",
            at(2024, 4, 2),
            None,
        ),
        (
            "pinned",
            LAB,
            &author_a,
            "frabjous notice",
            at(2024, 4, 3),
            Some(serde_json::json!({"pinned": true})),
        ),
        (
            "thread",
            LAB_THREAD,
            &author_b,
            "frabjous rocketry",
            at(2024, 4, 4),
            None,
        ),
        (
            "prefix",
            LAB,
            &author_a,
            "prefixation premium",
            at(2024, 5, 1),
            None,
        ),
        (
            "edit",
            LAB,
            &author_a,
            "original wording zebrafish",
            at(2024, 5, 2),
            None,
        ),
        (
            "delete",
            LAB,
            &author_b,
            "ephemeral unicornish",
            at(2024, 5, 3),
            None,
        ),
        (
            "doomed",
            DOOMED,
            &author_a,
            "doomed narwhalish",
            at(2024, 5, 4),
            None,
        ),
    ];
    let mut messages = HashMap::new();
    for (i, (name, channel, author, content, when, metadata)) in specs.into_iter().enumerate() {
        messages.insert(
            name,
            MessageRow {
                channel_id: cid(channel),
                platform_message_id: snowflake(when, 500 + i as u64),
                anonymized_author_id: author.clone(),
                content: content.to_owned(),
                reply_to_id: None,
                metadata,
                platform_created_at: when,
            },
        );
    }
    let rows: Vec<MessageRow> = messages.values().cloned().collect();
    repo::messages::upsert(db, &rows).await.unwrap();
    let attachment = |name: &str, file: &str, kind: &str| AttachmentRow {
        message_id: messages[name].id(),
        platform_attachment_id: format!("77{}", file.len()),
        filename: file.to_owned(),
        file_size: 1234,
        content_type: kind.to_owned(),
        url: format!("https://cdn.example/{file}"),
    };
    repo::attachments::upsert(
        db,
        &[
            attachment("image", "photo.png", "image/png"),
            attachment("file", "notes.pdf", "application/pdf"),
        ],
    )
    .await
    .unwrap();
    Lab {
        messages,
        lab: cid(LAB),
        author_a,
        author_b,
    }
}

async fn ids_of(app: &TestApp, q: &str) -> BTreeSet<String> {
    all_hits(app, SLUG, q, "newest", 100)
        .await
        .iter()
        .map(|h| hit_id(h).to_owned())
        .collect()
}

#[tokio::test]
async fn every_operator_sort_paging_snippet_permalink_and_script_on_a_synced_guild() {
    let site = synced_site(300, 18).await;
    let app = &site.app;
    let tenant: Uuid = site.tenant_id.parse().unwrap();
    let anon = Anonymizer::from_config(&app.config);
    let lab = write_lab(&app.db, &anon, tenant).await;
    // The indexer of the running app makes the writes searchable.
    app.search_until(SLUG, &[("q", "quibble")], |b| b["meta"]["total"] == 3)
        .await;

    let name_a = pseudonym::name(&lab.author_a);
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("quibble zantic".into(), vec!["fox", "fox2"]),
        ("\"vorpal quibble\"".into(), vec!["fox", "other"]),
        ("\"quibble vorpal\"".into(), vec![]),
        ("quib*".into(), vec!["fox", "fox2", "other"]),
        ("quibble -glimmer".into(), vec!["fox", "other"]),
        ("frabjous has:attachment".into(), vec!["image", "file"]),
        ("frabjous has:image".into(), vec!["image"]),
        ("has:link blorptastic".into(), vec!["link"]),
        ("frabjous has:link".into(), vec![]),
        ("frabjous pinned:true".into(), vec!["pinned"]),
        (
            "frabjous pinned:false".into(),
            vec!["image", "file", "thread"],
        ),
        (format!("quibble from:{}", lab.author_a), vec!["fox"]),
        (format!("quibble from:{}", name_key(&name_a)), vec!["fox"]),
        (format!("quibble from:\"{name_a}\""), vec!["fox"]),
        (
            format!("frabjous from:{}", lab.author_b),
            vec!["file", "thread"],
        ),
        ("quibble in:search-lab".into(), vec!["fox", "fox2"]),
        (format!("quibble in:{}", lab.lab), vec!["fox", "fox2"]),
        (
            "frabjous in:search-lab".into(),
            vec!["image", "file", "pinned", "thread"],
        ),
        ("rocketry in:search-lab".into(), vec!["thread"]),
        ("quibble in:other-room".into(), vec!["other"]),
        ("quibble before:2023-03-01".into(), vec!["fox"]),
        ("quibble after:2023-03-01".into(), vec!["fox2", "other"]),
        ("quibble during:2023-06".into(), vec!["fox2"]),
        (
            "quibble after:2023-03-01 before:2024-01-01".into(),
            vec!["fox2"],
        ),
        ("prefix*".into(), vec!["prefix"]),
        ("Привет".into(), vec!["cyr"]),
        ("квазар мир".into(), vec!["cyr"]),
        ("Καλημέρα".into(), vec!["greek"]),
        ("ΚΑΛΗΜΈΡΑ κόσμε".into(), vec!["greek"]),
        // Typed without accents, as people type Greek.
        ("καλημερα κοσμε".into(), vec!["greek"]),
        ("東京".into(), vec!["cjk"]),
        ("タワー".into(), vec!["cjk"]),
        ("🦄".into(), vec!["emoji"]),
    ];
    for (q, expected) in &cases {
        assert_eq!(ids_of(app, q).await, lab.ids(expected), "q = {q}");
    }

    // Orders: newest and oldest by send time, relevance over the same set; every page size
    // walks every hit once.
    let order = |hits: &[Value]| {
        hits.iter()
            .map(|h| hit_id(h).to_owned())
            .collect::<Vec<_>>()
    };
    let newest = order(&all_hits(app, SLUG, "frabjous", "newest", 1).await);
    assert_eq!(
        newest,
        ["thread", "pinned", "file", "image"].map(|n| lab.id(n))
    );
    let mut oldest = order(&all_hits(app, SLUG, "frabjous", "oldest", 3).await);
    oldest.reverse();
    assert_eq!(oldest, newest);
    let relevance: BTreeSet<String> = order(&all_hits(app, SLUG, "frabjous", "relevance", 1).await)
        .into_iter()
        .collect();
    assert_eq!(relevance, lab.ids(&["thread", "pinned", "file", "image"]));

    // A hit: the message as the read API shows it, its channel (the thread's parent) and
    // thread, a snippet and the permalink.
    let thread_hit = &all_hits(app, SLUG, "rocketry", "relevance", 25).await[0];
    assert_eq!(thread_hit["channel"]["name"], "search-lab");
    assert_eq!(thread_hit["thread"]["name"], "lab thread");
    assert_eq!(thread_hit["thread"]["type"], "thread");
    assert_eq!(thread_hit["snippet"], "frabjous <mark>rocketry</mark>");
    let image_hit = &all_hits(app, SLUG, "photo", "relevance", 25).await[0];
    assert_eq!(
        image_hit["message"]["attachments"][0]["filename"],
        "photo.png"
    );
    assert!(image_hit["thread"].is_null());
    assert_eq!(
        image_hit["message"]["anonymizedAuthorId"],
        lab.author_a.as_str()
    );

    let markup = &all_hits(app, SLUG, "snorkel", "relevance", 25).await[0];
    let snippet = markup["snippet"].as_str().unwrap();
    assert_eq!(
        snippet,
        "<mark>snorkel</mark> &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quotes&quot; \
         &lt;script&gt;x&lt;/script&gt;"
    );

    let fox = &all_hits(app, SLUG, "zantic vorpal", "relevance", 25).await[0];
    let fox_id = lab.id("fox");
    let permalink = fox["permalink"].as_str().unwrap();
    assert_eq!(permalink, format!("{ORIGIN}/archive/{SLUG}/m/{fox_id}/"));
    let redirect = send(app.client.get(site.local(permalink))).await;
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    let anchor = site::paths::anchor(&fox_id);
    assert!(
        location.starts_with(&format!("/archive/{SLUG}/c/{}/", lab.lab))
            && location.ends_with(&format!("#{anchor}")),
        "{location}"
    );
    let page = send(app.anonymous(Method::GET, &location)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!("id=\"{anchor}\""))
    );

    // The synced part: a channel's messages and its threads', found by `in:` alone, paged
    // with cursors in both orders, equal the table's.
    let biggest = biggest_channel(&app.db, tenant).await;
    let expected = visible_messages_in(&app.db, &biggest).await;
    assert!(expected.len() > 20, "the demo channel has messages");
    for (sort, limit) in [("oldest", 7), ("newest", 100), ("relevance", 13)] {
        let hits = all_hits(app, SLUG, &format!("in:{}", biggest.id), sort, limit).await;
        let found: BTreeSet<String> = hits.iter().map(|h| hit_id(h).to_owned()).collect();
        assert_eq!(found, expected, "in:{} sorted {sort}", biggest.id);
        let times: Vec<&str> = hits
            .iter()
            .map(|h| h["message"]["platformCreatedAt"].as_str().unwrap())
            .collect();
        match sort {
            "oldest" => assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}"),
            "newest" => assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}"),
            _ => {}
        }
    }
    assert_eq!(
        app.search.document_count(Some(&site.tenant_id)).unwrap(),
        visible_tenant_messages(&app.db, &site.tenant_id).await
    );
}

/// The tenant's non-thread channel with the most messages.
pub(crate) async fn biggest_channel(
    db: &DatabaseConnection,
    tenant: Uuid,
) -> entity::channels::Model {
    let mut best = None;
    for c in repo::channels::for_tenant(db, tenant).await.unwrap() {
        if c.r#type.as_deref() != Some("text") {
            continue;
        }
        let n = entity::messages::Entity::find()
            .filter(entity::messages::Column::ChannelId.eq(c.id.clone()))
            .all(db)
            .await
            .unwrap()
            .len();
        if best.as_ref().is_none_or(|(m, _)| n > *m) {
            best = Some((n, c));
        }
    }
    best.expect("a text channel").1
}

fn deleted(m: &entity::messages::Model) -> bool {
    service::archive::view::metadata_flag(m.metadata.as_ref(), "deleted")
}

/// Ids of the messages `in:<channel>` must find: the channel's and its threads', not deleted.
async fn visible_messages_in(
    db: &DatabaseConnection,
    channel: &entity::channels::Model,
) -> BTreeSet<String> {
    use entity::{channels, messages};
    let mut channel_ids = vec![channel.id.clone()];
    channel_ids.extend(
        channels::Entity::find()
            .filter(channels::Column::TenantId.eq(channel.tenant_id.clone()))
            .filter(channels::Column::ParentChannelId.eq(channel.platform_channel_id.clone()))
            .filter(channels::Column::Type.eq("thread"))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id),
    );
    messages::Entity::find()
        .filter(messages::Column::ChannelId.is_in(channel_ids))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| !deleted(m))
        .map(|m| m.id)
        .collect()
}

/// Messages of `tenant` that are not deleted and not in a vanished channel (or thread of
/// one): what the index must hold for it.
pub(crate) async fn visible_tenant_messages(db: &DatabaseConnection, tenant: &str) -> u64 {
    use entity::{channels, messages};
    let channels: HashMap<String, channels::Model> = channels::Entity::find()
        .filter(channels::Column::TenantId.eq(tenant))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let by_platform: HashMap<&str, &channels::Model> = channels
        .values()
        .map(|c| (c.platform_channel_id.as_str(), c))
        .collect();
    let vanished = |c: &channels::Model| {
        service::archive::view::metadata_flag(c.metadata.as_ref(), "vanished")
    };
    let public = |c: &channels::Model| {
        !vanished(c)
            && (c.r#type.as_deref() != Some("thread")
                || c.parent_channel_id
                    .as_deref()
                    .and_then(|p| by_platform.get(p))
                    .is_none_or(|p| !vanished(p)))
    };
    messages::Entity::find()
        .filter(messages::Column::ChannelId.is_in(channels.keys().cloned()))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| !deleted(m) && channels.get(&m.channel_id).is_some_and(public))
        .count() as u64
}

#[tokio::test]
async fn edits_deletions_and_vanished_channels_are_reflected() {
    let site = synced_site(50, 7).await;
    let app = &site.app;
    let tenant: Uuid = site.tenant_id.parse().unwrap();
    let anon = Anonymizer::from_config(&app.config);
    let lab = write_lab(&app.db, &anon, tenant).await;
    for q in ["zebrafish", "unicornish", "narwhalish"] {
        app.search_until(SLUG, &[("q", q)], |b| b["meta"]["total"] == 1)
            .await;
    }

    // An edit as the sync writes it (the same upsert, new content); a deletion mark and a
    // vanished channel as the sync marks them.
    let mut edited = lab.messages["edit"].clone();
    edited.content = "revised wording giraffine".to_owned();
    let written = std::time::Instant::now();
    repo::messages::upsert(&app.db, &[edited]).await.unwrap();
    let now = service::db::now();
    let gone = lab.messages["delete"].id().to_string();
    let mark = service::sync::rows::deleted_message_metadata(None, now).unwrap();
    repo::messages::set_metadata(&app.db, &[(gone, mark)], now)
        .await
        .unwrap();
    let doomed = repo::ids::channel(tenant, DOOMED).to_string();
    let last_written = repo::channels::get(&app.db, &doomed)
        .await
        .unwrap()
        .unwrap()
        .updated_at;
    let vanished = service::sync::rows::vanished_channel_metadata(None, last_written, now).unwrap();
    repo::channels::set_metadata(&app.db, &[(doomed, vanished)], now)
        .await
        .unwrap();

    let found = app
        .search_until(SLUG, &[("q", "giraffine")], |b| b["meta"]["total"] == 1)
        .await;
    // The running app's indexer (polling every second, one second behind the last complete
    // second) makes a write searchable within 5 s.
    assert!(
        written.elapsed() < std::time::Duration::from_secs(5),
        "searchable after {:?}",
        written.elapsed()
    );
    assert_eq!(found["data"][0]["message"]["id"], lab.id("edit").as_str());
    assert_eq!(
        found["data"][0]["snippet"],
        "revised wording <mark>giraffine</mark>"
    );
    assert_eq!(ids_of(app, "wording").await, lab.ids(&["edit"]));
    for q in ["zebrafish", "unicornish", "narwhalish", "in:doomed"] {
        let body = app
            .search_until(SLUG, &[("q", q)], |b| b["meta"]["total"] == 0)
            .await;
        assert_eq!(body["data"], serde_json::json!([]), "{q}");
    }
    assert_eq!(
        app.search.document_count(Some(&site.tenant_id)).unwrap(),
        visible_tenant_messages(&app.db, &site.tenant_id).await
    );
}

/// Shared vocabulary of the two tenants of the isolation test.
const WORDS: [&str; 8] = [
    "apple", "banana", "cherry", "delta", "echo", "foxtrot", "golf", "hotel",
];
const RAW_AUTHORS: [&str; 3] = [
    "880000000000000011",
    "880000000000000012",
    "880000000000000013",
];

/// A tenant with the same channels (names and platform ids), authors and words as its twin;
/// returns its message ids and channel ids.
pub(crate) async fn twin_tenant(
    db: &DatabaseConnection,
    anon: &Anonymizer,
    slug: &str,
) -> (String, BTreeSet<String>, Vec<String>) {
    let tenant = service::tenants::create(
        db,
        &service::tenants::CreateTenant {
            name: Some(format!("Twin {slug}")),
            slug: Some(slug.to_owned()),
            platform: Some("discord".into()),
            platform_id: Some(format!("twin-{slug}")),
            status: None,
        },
    )
    .await
    .unwrap();
    let tid = tenant.id;
    let rows = vec![
        ChannelRow {
            tenant_id: tid,
            platform_channel_id: "100".into(),
            name: "general".into(),
            kind: ChannelKind::Text,
            parent_channel_id: None,
            metadata: None,
        },
        ChannelRow {
            tenant_id: tid,
            platform_channel_id: "101".into(),
            name: "random".into(),
            kind: ChannelKind::Text,
            parent_channel_id: None,
            metadata: None,
        },
        ChannelRow {
            tenant_id: tid,
            platform_channel_id: "102".into(),
            name: "side".into(),
            kind: ChannelKind::Thread,
            parent_channel_id: Some("100".into()),
            metadata: None,
        },
    ];
    repo::channels::upsert(db, &rows).await.unwrap();
    let channel_ids: Vec<Uuid> = rows.iter().map(ChannelRow::id).collect();
    let messages: Vec<MessageRow> = (0..45u64)
        .map(|i| {
            let when = at(2023, 1 + (i % 12) as u32, 1 + (i % 27) as u32);
            let w = |k: u64| WORDS[((i * 3 + k * 5) % WORDS.len() as u64) as usize];
            MessageRow {
                channel_id: channel_ids[(i % 3) as usize],
                platform_message_id: snowflake(when, i),
                anonymized_author_id: anon.user_id(RAW_AUTHORS[(i % 3) as usize]),
                content: format!("{} {} {} https://x.example/{i}", w(0), w(1), w(2)),
                reply_to_id: None,
                metadata: (i % 4 == 0).then(|| serde_json::json!({"pinned": true})),
                platform_created_at: when,
            }
        })
        .collect();
    repo::messages::upsert(db, &messages).await.unwrap();
    (
        tid.to_string(),
        messages.iter().map(|m| m.id().to_string()).collect(),
        channel_ids.iter().map(Uuid::to_string).collect(),
    )
}

#[tokio::test]
async fn no_query_built_from_the_other_tenants_words_authors_or_channels_crosses_tenants() {
    let app = spawn_app_with(|c| c.read_api_rate_limit = 0).await;
    let anon = Anonymizer::from_config(&app.config);
    let (alpha, alpha_ids, _) = twin_tenant(&app.db, &anon, "alpha").await;
    let (beta, beta_ids, beta_channels) = twin_tenant(&app.db, &anon, "beta").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.search.document_count(Some(&alpha)).unwrap() < 45
        || app.search.document_count(Some(&beta)).unwrap() < 45
    {
        assert!(std::time::Instant::now() < deadline, "indexer too slow");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Both tenants answer the same query, each with its own messages only.
    let a = ids_of_tenant(&app, "alpha", "apple").await;
    let b = ids_of_tenant(&app, "beta", "apple").await;
    assert!(!a.is_empty() && a.len() == b.len() && a.is_subset(&alpha_ids));
    assert!(b.is_subset(&beta_ids));

    let mut parts: Vec<String> = Vec::new();
    for w in WORDS {
        parts.extend([
            w.to_owned(),
            format!("-{w}"),
            format!("{}*", &w[..2]),
            format!("\"{w} {}\"", WORDS[(w.len() * 3) % WORDS.len()]),
        ]);
    }
    for raw in RAW_AUTHORS {
        let id = anon.user_id(raw);
        let name = pseudonym::name(&id);
        parts.extend([
            format!("from:{id}"),
            format!("from:{}", name_key(&name)),
            format!("from:\"{name}\""),
            format!("from:\"{name}#{}\"", pseudonym::tag(&id)),
        ]);
    }
    for c in &beta_channels {
        parts.push(format!("in:{c}"));
    }
    for c in ["general", "random", "side", "#general"] {
        parts.push(format!("in:{c}"));
    }
    for m in beta_ids.iter().take(5) {
        parts.push(m.clone());
    }
    parts.extend(
        [
            "has:link",
            "pinned:true",
            "pinned:false",
            "after:2023-03-01",
            "before:2023-09-01",
            "during:2023-05",
            "x.example",
        ]
        .map(str::to_owned),
    );
    let strategy = (
        proptest::collection::vec(proptest::sample::select(parts), 1..5),
        proptest::sample::select(vec!["relevance", "newest", "oldest"]),
    );
    let mut runner = TestRunner::deterministic();
    for _ in 0..150 {
        let (chosen, sort) = strategy.new_tree(&mut runner).unwrap().current();
        let q = chosen.join(" ");
        let response = app
            .search_get("alpha", &[("q", &q), ("sort", sort), ("limit", "100")])
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{q}: {status} {body}"
        );
        if status == StatusCode::BAD_REQUEST {
            assert_eq!(issue_paths(&body), ["q"], "{q}: {body}");
            continue;
        }
        for hit in body["data"].as_array().unwrap() {
            let id = hit_id(hit);
            assert!(
                alpha_ids.contains(id) && !beta_ids.contains(id),
                "{q}: {id} is not alpha's"
            );
        }
        assert!(body["meta"]["total"].as_u64().unwrap() <= alpha_ids.len() as u64);
    }
}

async fn ids_of_tenant(app: &TestApp, slug: &str, q: &str) -> BTreeSet<String> {
    all_hits(app, slug, q, "newest", 100)
        .await
        .iter()
        .map(|h| hit_id(h).to_owned())
        .collect()
}

/// An app with one tenant `lab` holding a few messages, indexed.
async fn small_app(rate_limit: u32) -> TestApp {
    let app = spawn_app_with(|c| c.read_api_rate_limit = rate_limit).await;
    let anon = Anonymizer::from_config(&app.config);
    let (tenant, _, _) = twin_tenant(&app.db, &anon, "lab").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.search.document_count(Some(&tenant)).unwrap() < 45 {
        assert!(std::time::Instant::now() < deadline, "indexer too slow");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app
}

/// Query parameters, and the parameters the 400 must name.
type HostileCase<'a> = (Vec<(&'a str, &'a str)>, &'a [&'a str]);

#[tokio::test]
async fn hostile_queries_are_400s_naming_the_parameter() {
    let app = small_app(0).await;
    let first = app
        .search_get("lab", &[("q", "apple"), ("limit", "1"), ("sort", "newest")])
        .await;
    let first: Value = first.json().await.unwrap();
    let cursor = first["meta"]["nextCursor"].as_str().unwrap().to_owned();
    let long = "a".repeat(513);
    let cases: Vec<HostileCase> = vec![
        (vec![("q", "\"unbalanced quote")], &["q"]),
        (vec![("q", "colour:red")], &["q"]),
        (vec![("q", "apple before:2023-13-45")], &["q"]),
        (vec![("q", "during:yesterday")], &["q"]),
        (vec![("q", "in:nowhere")], &["q"]),
        (vec![("q", long.as_str())], &["q"]),
        (vec![("q", "")], &["q"]),
        (vec![("q", "!!!")], &["q"]),
        (vec![], &["q"]),
        (vec![("q", "apple"), ("limit", "0")], &["limit"]),
        (vec![("q", "apple"), ("limit", "101")], &["limit"]),
        (vec![("q", "apple"), ("limit", "x")], &["limit"]),
        (vec![("q", "apple"), ("limit", "-1")], &["limit"]),
        (vec![("q", "apple"), ("sort", "bogus")], &["sort"]),
        (vec![("q", "apple"), ("sort", "")], &["sort"]),
        (vec![("q", "apple"), ("cursor", "forged")], &["cursor"]),
        (
            vec![
                ("q", "apple"),
                ("cursor", "eyJmIjoiMDAwMDAwMDAwMDAwMDAwMCIsIm8iOjV9"),
            ],
            &["cursor"],
        ),
        // A real cursor of another query, or of the same query in another order.
        (
            vec![
                ("q", "banana"),
                ("sort", "newest"),
                ("cursor", cursor.as_str()),
            ],
            &["cursor"],
        ),
        (
            vec![
                ("q", "apple"),
                ("sort", "oldest"),
                ("cursor", cursor.as_str()),
            ],
            &["cursor"],
        ),
        (
            vec![("limit", "0"), ("sort", "up")],
            &["q", "limit", "sort"],
        ),
    ];
    for (params, fields) in cases {
        let response = app.search_get("lab", &params).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
        assert_eq!(issue_paths(&body), fields, "{params:?}: {body}");
    }
    // The real cursor goes on with its own query; unknown parameters are ignored, a
    // repeated one is refused, as on the other read routes.
    let next = app
        .search_get(
            "lab",
            &[
                ("q", "apple"),
                ("limit", "1"),
                ("sort", "newest"),
                ("cursor", cursor.as_str()),
            ],
        )
        .await;
    assert_eq!(next.status(), StatusCode::OK);
    let unknown = app
        .search_get("lab", &[("q", "apple"), ("colour", "red")])
        .await;
    assert_eq!(unknown.status(), StatusCode::OK);
    let repeated = app
        .search_get("lab", &[("q", "apple"), ("limit", "1"), ("limit", "2")])
        .await;
    assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
    // The tenant header as on every read route.
    let missing = send(app.anonymous(Method::GET, "/api/v1/search?q=apple")).await;
    let body = assert_error(missing, StatusCode::BAD_REQUEST, "Validation Error").await;
    assert_eq!(issue_paths(&body), ["X-Tenant-Slug"]);
    let unknown_tenant = app.search_get("nobody", &[("q", "apple")]).await;
    assert_error(unknown_tenant, StatusCode::NOT_FOUND, "Not Found").await;
}

#[tokio::test]
async fn no_parameters_whatever_give_a_server_error() {
    let app = small_app(0).await;
    let fragments = proptest::sample::select(vec![
        "apple",
        "\"",
        "-",
        "*",
        "from:",
        "in:",
        "has:",
        "before:",
        "after:",
        "during:",
        "pinned:",
        "2023-02-30",
        "#",
        ":",
        "\\",
        "%",
        "🦄",
        "東京",
        "\u{0}",
        " ",
        "general",
    ]);
    let q = prop_oneof![
        any::<String>(),
        proptest::collection::vec(fragments, 0..12).prop_map(|v| v.concat()),
        "[a-z:\"*#() -]{0,80}",
        ".{500,530}",
    ];
    let limit = prop_oneof![any::<String>(), "[0-9]{0,25}", "-?[0-9]{1,3}"];
    let cursor = prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_-]{0,120}",
        "eyJ[A-Za-z0-9_-]{0,60}"
    ];
    let sort = prop_oneof![
        any::<String>(),
        Just("newest".to_owned()),
        Just("oldest".to_owned())
    ];
    let strategy = (
        proptest::option::of(q),
        proptest::option::of(limit),
        proptest::option::of(cursor),
        proptest::option::of(sort),
    );
    let mut runner = TestRunner::deterministic();
    for _ in 0..300 {
        let (q, limit, cursor, sort) = strategy.new_tree(&mut runner).unwrap().current();
        let mut params = Vec::new();
        for (name, value) in [
            ("q", &q),
            ("limit", &limit),
            ("cursor", &cursor),
            ("sort", &sort),
        ] {
            if let Some(v) = value {
                params.push((name, v.as_str()));
            }
        }
        let response = app.search_get("lab", &params).await;
        let status = response.status();
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{params:?}: {status} {}",
            response.text().await.unwrap_or_default()
        );
    }
}

#[tokio::test]
async fn search_is_rate_limited_public_and_cors_open_like_the_read_api() {
    let app = small_app(3).await;
    for _ in 0..3 {
        let response = send(
            app.anonymous(Method::GET, "/api/v1/search?q=apple")
                .header("X-Tenant-Slug", "lab")
                .header("Origin", "https://elsewhere.example"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["data"].is_array() && body["meta"]["total"].is_u64(),
            "{body}"
        );
    }
    let limited = app.search_get("lab", &[("q", "apple")]).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").await;
}

#[tokio::test]
async fn the_openapi_document_describes_search_under_the_paging_policy() {
    let doc = serde_json::to_value(api::routes::document()).unwrap();
    let operation = &doc["paths"]["/api/v1/search"]["get"];
    let params = operation["parameters"].as_array().expect("parameters");
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} not documented: {operation}"))
    };
    assert_eq!(param("q")["required"], true);
    assert_eq!(param("X-Tenant-Slug")["in"], "header");
    let policy = api::params::SEARCH_LIMIT;
    let limit = &param("limit")["schema"];
    assert!(limit["type"].to_string().contains("integer"), "{limit}");
    assert_eq!(limit["minimum"].as_f64(), Some(policy.min as f64));
    assert_eq!(limit["maximum"].as_f64(), Some(policy.max as f64));
    assert_eq!(limit["default"].as_f64(), Some(policy.default as f64));
    assert_eq!(
        param("sort")["schema"]["pattern"],
        "^(relevance|newest|oldest)$"
    );
    assert!(param("cursor")["required"] != true);
    for status in ["200", "400", "404", "429", "500"] {
        assert!(operation["responses"][status].is_object(), "{status}");
    }
    assert!(operation["security"].is_null(), "public: {operation}");
    let schemas = &doc["components"]["schemas"];
    for schema in ["SearchResult", "SearchMeta", "SearchHit", "HitChannel"] {
        assert!(schemas[schema].is_object(), "{schema} missing");
    }
}
