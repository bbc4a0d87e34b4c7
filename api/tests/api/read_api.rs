//! The public read API (`/api/v1`) on a generated archive: keyset pages walk every message
//! exactly once in both directions, bad input is a 400 with the standard body, the tenant
//! header selects (and isolates) the tenant, CORS is open, the rate limit holds, and no
//! response carries a raw user id.

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use service::archive::ids::encode_base62;
use uuid::Uuid;

use crate::archive_data::{self, Archive, Written};
use crate::helpers::{
    TestApp, assert_error, assert_status, issue_paths, spawn_app, spawn_app_with,
};

/// `GET path` as a public client of tenant `slug` (no admin key).
async fn read(app: &TestApp, slug: &str, path: &str) -> Response {
    app.anonymous(Method::GET, path)
        .header("X-Tenant-Slug", slug)
        .send()
        .await
        .unwrap()
}

/// `GET path`, which must succeed; returns the envelope and checks it carries no raw user id.
async fn read_ok(app: &TestApp, archive: &Archive, path: &str) -> Value {
    let response = read(app, &archive.slug, path).await;
    assert_status(&response, StatusCode::OK);
    let text = response.text().await.unwrap();
    for raw in &archive.raw_user_ids {
        assert!(
            !text.contains(raw.as_str()),
            "{path} exposes raw user id {raw}"
        );
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(
        body.get("data").is_some() && body["meta"].is_object(),
        "envelope: {body}"
    );
    body
}

fn ids(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platformMessageId"].as_str().unwrap().to_owned())
        .collect()
}

/// The general channel's platform message ids straight from the table, newest first.
async fn expected_ids(app: &TestApp, archive: &Archive) -> Vec<String> {
    use entity::messages;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut rows = messages::Entity::find()
        .filter(messages::Column::ChannelId.eq(archive.general.to_string()))
        .all(&app.db)
        .await
        .unwrap();
    rows.sort_by(|a, b| {
        (b.platform_created_at, &b.platform_message_id)
            .cmp(&(a.platform_created_at, &a.platform_message_id))
    });
    rows.into_iter().map(|m| m.platform_message_id).collect()
}

/// Where a message sits in newest-first order: send time, then snowflake.
type Key = (DateTime<Utc>, u64);

fn key_of(w: &Written) -> Key {
    (
        w.message.platform_created_at,
        w.message.platform_message_id.parse().unwrap(),
    )
}

/// The place of cursor `c` among `written`: its message's when it names one, else the time
/// encoded in the snowflake.
fn cursor_key(written: &[Written], c: &str) -> Key {
    match written.iter().find(|w| w.message.platform_message_id == c) {
        Some(w) => key_of(w),
        None => {
            let v: u64 = c.parse().unwrap();
            let ms = i64::try_from(v >> 22).unwrap() + archive_data::DISCORD_EPOCH_MS;
            (Utc.timestamp_millis_opt(ms).unwrap(), v)
        }
    }
}

/// The page of `written` a client must get for `limit` and at most one cursor, built from the
/// written rows alone: newest first, the `limit` messages nearest the cursor on its side, and
/// the paging facts of `MessagePageMeta`.
fn expected_page<'a>(
    written: &'a [Written],
    limit: usize,
    before: Option<&str>,
    after: Option<&str>,
) -> (Vec<&'a Written>, Value) {
    let mut newest_first: Vec<&Written> = written.iter().collect();
    newest_first.sort_by_key(|w| std::cmp::Reverse(key_of(w)));
    let (page, has_more, has_older, has_newer) = match after {
        Some(c) => {
            let k = cursor_key(written, c);
            let newer: Vec<&Written> = newest_first
                .iter()
                .rev()
                .copied()
                .filter(|w| key_of(w) > k)
                .collect();
            let has_newer = newer.len() > limit;
            let mut page: Vec<&Written> = newer.into_iter().take(limit).collect();
            page.reverse();
            let has_older = newest_first.iter().any(|w| key_of(w) <= k);
            (page, has_newer, has_older, has_newer)
        }
        None => {
            let k = before.map(|c| cursor_key(written, c));
            let older: Vec<&Written> = newest_first
                .iter()
                .copied()
                .filter(|w| k.is_none_or(|k| key_of(w) < k))
                .collect();
            let has_older = older.len() > limit;
            let page: Vec<&Written> = older.into_iter().take(limit).collect();
            let has_newer = k.is_some_and(|k| newest_first.iter().any(|w| key_of(w) >= k));
            (page, has_older, has_older, has_newer)
        }
    };
    let id = |w: Option<&&Written>| w.map(|w| w.message.platform_message_id.clone());
    let meta = json!({
        "limit": limit,
        "count": page.len(),
        "hasMore": has_more,
        "hasOlder": has_older,
        "hasNewer": has_newer,
        "before": id(page.last()),
        "after": id(page.first()),
    });
    (page, meta)
}

/// What the read API must show of a written message (everything but the row timestamps the
/// database sets, and reactions and attachments as sets).
fn written_view(w: &Written) -> Value {
    let m = &w.message;
    let message_id = m.id().to_string();
    let mut reactions: Vec<Value> = w
        .reactions
        .iter()
        .map(|r| json!([message_id, r.emoji, r.anonymized_user_id]))
        .collect();
    reactions.sort_by_key(Value::to_string);
    let mut attachments: Vec<Value> = w
        .attachments
        .iter()
        .map(|a| json!([message_id, a.filename, a.file_size, a.content_type, a.url]))
        .collect();
    attachments.sort_by_key(Value::to_string);
    let mut counts: Vec<(String, u64)> = Vec::new();
    for r in &w.reactions {
        match counts.iter_mut().find(|(e, _)| *e == r.emoji) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.emoji.clone(), 1)),
        }
    }
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    json!({
        "id": message_id,
        "channelId": m.channel_id.to_string(),
        "platformMessageId": m.platform_message_id,
        "anonymizedAuthorId": m.anonymized_author_id,
        "content": m.content,
        "replyToId": m.reply_to_id,
        "metadata": m.metadata,
        "platformCreatedAt": m.platform_created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "reactions": reactions,
        "attachments": attachments,
        "reactionCounts": counts.iter().map(|(e, n)| json!({"emoji": e, "count": n})).collect::<Vec<_>>(),
    })
}

/// The same view of a served message (the JSON of a `MessageView`).
fn served_view(m: &Value) -> Value {
    let mut reactions: Vec<Value> = m["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!([r["messageId"], r["emoji"], r["anonymizedUserId"]]))
        .collect();
    reactions.sort_by_key(Value::to_string);
    let mut attachments: Vec<Value> = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            json!([
                a["messageId"],
                a["filename"],
                a["fileSize"],
                a["contentType"],
                a["url"]
            ])
        })
        .collect();
    attachments.sort_by_key(Value::to_string);
    let mut view = json!({"reactions": reactions, "attachments": attachments});
    for field in [
        "id",
        "channelId",
        "platformMessageId",
        "anonymizedAuthorId",
        "content",
        "replyToId",
        "metadata",
        "platformCreatedAt",
        "reactionCounts",
    ] {
        view[field] = m[field].clone();
    }
    view
}

/// Every message page, on each path that serves it, equals the page built from the written
/// rows (above): the HTTP route (direct SQLite connections on SQLite, `sqlite_reads`; the
/// SeaORM path elsewhere) and `archive::messages_page` (the SeaORM path on every backend). On
/// SQLite, where these are two implementations, they must also agree with each other in
/// full, row timestamps included.
#[tokio::test]
async fn message_pages_on_every_read_path_equal_the_pages_of_the_written_messages() {
    use service::archive::{self, MessagePageParams, MessageReader};

    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "direct", 233, 0).await;
    let other = archive_data::generate(&app.db, "direct-other", 5, 0).await;
    let direct = app.db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    assert_eq!(MessageReader::new(app.db.clone()).is_direct(), direct);

    let written = &archive.general_messages;
    let mut newest_first: Vec<&Written> = written.iter().collect();
    newest_first.sort_by_key(|w| std::cmp::Reverse(key_of(w)));
    let pid = |w: &Written| w.message.platform_message_id.clone();
    let (newest, oldest) = (pid(newest_first[0]), pid(newest_first[written.len() - 1]));
    let middle = pid(newest_first[written.len() / 2]);
    // A snowflake naming no stored message, between two that are stored.
    let between = (middle.parse::<u64>().unwrap() + 1).to_string();
    assert!(
        written
            .iter()
            .all(|w| w.message.platform_message_id != between)
    );
    let cursors = [
        newest,
        oldest,
        middle.clone(),
        between,
        "0".to_owned(),
        u64::MAX.to_string(),
    ];

    // (channel, its written messages, limit as sent, before, after)
    type Case<'a> = (
        Uuid,
        &'a [Written],
        Option<u64>,
        Option<String>,
        Option<String>,
    );
    let mut cases: Vec<Case> = Vec::new();
    for limit in [None, Some(1), Some(37), Some(100)] {
        cases.push((archive.general, written, limit, None, None));
        for cursor in &cursors {
            cases.push((archive.general, written, limit, Some(cursor.clone()), None));
            cases.push((archive.general, written, limit, None, Some(cursor.clone())));
        }
    }
    cases.push((archive.empty, &[], None, None, None));
    cases.push((archive.empty, &[], None, Some(middle.clone()), None));
    cases.push((archive.empty, &[], Some(3), None, Some(middle)));

    let tenant = archive.tenant_id.to_string();
    let mut pages_with_details = 0;
    for (channel, messages, limit, before, after) in &cases {
        let mut query = Vec::new();
        for (name, value) in [
            ("limit", &limit.map(|l| l.to_string())),
            ("before", before),
            ("after", after),
        ] {
            if let Some(v) = value {
                query.push(format!("{name}={v}"));
            }
        }
        let path = format!("/api/v1/channels/{channel}/messages?{}", query.join("&"));
        // 50 is the route's default page size.
        let limit = limit.unwrap_or(50);
        let (page, meta) = expected_page(
            messages,
            usize::try_from(limit).unwrap(),
            before.as_deref(),
            after.as_deref(),
        );
        let want: Vec<Value> = page.iter().map(|w| written_view(w)).collect();
        if want
            .iter()
            .any(|m| m["reactions"] != json!([]) && m["attachments"] != json!([]))
        {
            pages_with_details += 1;
        }

        let served = read_ok(&app, &archive, &path).await;
        let built = archive::messages_page(
            &app.db,
            &tenant,
            &channel.to_string(),
            &MessagePageParams {
                limit,
                before: before.clone(),
                after: after.clone(),
            },
        )
        .await
        .unwrap();
        let built = json!({"data": built.messages, "meta": built.meta});
        for (name, answer) in [("served", &served), ("built", &built)] {
            let got: Vec<Value> = answer["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(served_view)
                .collect();
            assert_eq!(got, want, "{name}: {path}");
            assert_eq!(answer["meta"], meta, "{name}: {path}");
        }
        if direct {
            assert_eq!(
                served, built,
                "direct SQLite and SeaORM pages differ: {path}"
            );
        }
    }
    assert!(
        pages_with_details > 10,
        "the cases cover messages with reactions and attachments"
    );

    // Unknown channels and other tenants' channels are 404s on both paths, with or without a
    // cursor.
    for channel in [other.general.to_string(), uuid::Uuid::new_v4().to_string()] {
        for (query, before, after) in [
            ("", None, None),
            ("?before=1", Some("1"), None),
            ("?after=1", None, Some("1")),
        ] {
            let path = format!("/api/v1/channels/{channel}/messages{query}");
            assert_error(
                read(&app, &archive.slug, &path).await,
                StatusCode::NOT_FOUND,
                "Not Found",
            )
            .await;
            let built = archive::messages_page(
                &app.db,
                &tenant,
                &channel,
                &MessagePageParams {
                    limit: 50,
                    before: before.map(str::to_owned),
                    after: after.map(str::to_owned),
                },
            )
            .await;
            assert!(
                matches!(built, Err(service::Error::NotFound { .. })),
                "{path}: {built:?}"
            );
        }
    }
}

#[tokio::test]
async fn message_pages_walk_every_message_exactly_once_in_both_directions() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "walker", 431, 0).await;
    let expected = expected_ids(&app, &archive).await;
    assert_eq!(expected.len(), 431);
    let base = format!("/api/v1/channels/{}/messages", archive.general);

    // Older: from the newest, following meta.before.
    let mut walked = Vec::new();
    let mut path = format!("{base}?limit=37");
    loop {
        let body = read_ok(&app, &archive, &path).await;
        let page = ids(&body["data"]);
        assert!(page.len() <= 37);
        walked.extend(page);
        if !body["meta"]["hasMore"].as_bool().unwrap() {
            assert_eq!(body["meta"]["hasOlder"], false);
            break;
        }
        assert_eq!(body["meta"]["hasOlder"], true);
        path = format!(
            "{base}?limit=37&before={}",
            body["meta"]["before"].as_str().unwrap()
        );
    }
    assert_eq!(walked, expected, "newest first, every message once");

    // Newer: from before the oldest (cursor 0), following meta.after; each page newest first.
    let mut walked = Vec::new();
    let mut path = format!("{base}?limit=100&after=0");
    loop {
        let body = read_ok(&app, &archive, &path).await;
        let mut page = ids(&body["data"]);
        assert!(
            page.windows(2).all(|w| {
                let pos = |id: &String| expected.iter().position(|e| e == id).unwrap();
                pos(&w[0]) < pos(&w[1])
            }),
            "each page newest first"
        );
        page.reverse();
        walked.extend(page);
        if !body["meta"]["hasMore"].as_bool().unwrap() {
            assert_eq!(body["meta"]["hasNewer"], false);
            break;
        }
        path = format!(
            "{base}?limit=100&after={}",
            body["meta"]["after"].as_str().unwrap()
        );
    }
    let mut ascending = expected.clone();
    ascending.reverse();
    assert_eq!(walked, ascending, "oldest to newest, every message once");

    // The default page: 50 newest, nothing newer.
    let body = read_ok(&app, &archive, &base).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 50);
    assert_eq!(body["meta"]["limit"], 50);
    assert_eq!(body["meta"]["hasNewer"], false);
    assert_eq!(body["meta"]["hasOlder"], true);

    // A page in the middle knows both sides.
    let body = read_ok(
        &app,
        &archive,
        &format!("{base}?before={}&limit=10", expected[100]),
    )
    .await;
    assert_eq!(ids(&body["data"]), expected[101..111].to_vec());
    assert_eq!(
        (
            body["meta"]["hasNewer"].as_bool(),
            body["meta"]["hasOlder"].as_bool()
        ),
        (Some(true), Some(true))
    );
}

#[tokio::test]
async fn messages_carry_reactions_counted_per_emoji_attachments_and_reply_ids() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "details", 30, 0).await;
    let expected = expected_ids(&app, &archive).await;
    let body = read_ok(
        &app,
        &archive,
        &format!("/api/v1/channels/{}/messages?limit=100", archive.general),
    )
    .await;
    let messages = body["data"].as_array().unwrap();
    assert_eq!(ids(&body["data"]), expected);
    // Message i = 0 is the oldest: reactions 👍 x2 and 🎉 x1, an attachment, mentions rewritten.
    let oldest = messages.last().unwrap();
    assert!(
        oldest["content"]
            .as_str()
            .unwrap()
            .starts_with("message 0 hello <@")
    );
    assert_eq!(
        oldest["reactionCounts"],
        serde_json::json!([{"emoji": "👍", "count": 2}, {"emoji": "🎉", "count": 1}])
    );
    assert_eq!(oldest["reactions"].as_array().unwrap().len(), 3);
    assert_eq!(oldest["attachments"][0]["filename"], "file-0.png");
    assert_eq!(oldest["attachments"][0]["fileSize"], 1000);
    // Message i = 6 replies to message i = 5 (platform ids).
    let reply = &messages[messages.len() - 7];
    assert_eq!(
        reply["replyToId"],
        messages[messages.len() - 6]["platformMessageId"]
    );
}

#[tokio::test]
async fn bad_limits_cursors_and_ids_are_validation_errors() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "strict", 5, 1).await;
    let base = format!("/api/v1/channels/{}/messages", archive.general);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-3", "limit"),
        ("limit=ten", "limit"),
        ("before=abc", "before"),
        ("before=-1", "before"),
        ("before=99999999999999999999999", "before"),
        ("after=1e9", "after"),
        ("before=1&after=2", "before"),
    ] {
        let response = read(&app, &archive.slug, &format!("{base}?{query}")).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
        assert_eq!(issue_paths(&body), [field], "{query}");
    }
    let threads = format!("/api/v1/channels/{}/threads", archive.forum);
    for query in ["limit=0", "limit=1000", "before=xyz", "before=123"] {
        let response = read(&app, &archive.slug, &format!("{threads}?{query}")).await;
        assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
    }
    for path in [
        "/api/v1/messages/not*base62",
        "/api/v1/messages/123456789012345678901234",
    ] {
        let response = read(&app, &archive.slug, path).await;
        assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
    }
    let response = read(&app, &archive.slug, "/api/v1/messages/zzzz?before=500").await;
    assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
}

/// Each read route's paging parameters under the API's one policy: too small, too big and not
/// a number are 400s naming the parameter with its range; absent means the route's default
/// (messages 50, threads 20, neighbours 50 on each side, as in the original).
#[tokio::test]
async fn every_read_route_reads_its_paging_parameters_under_the_one_policy() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "policy", 233, 30).await;
    let messages = format!("/api/v1/channels/{}/messages", archive.general);
    let threads = format!("/api/v1/channels/{}/threads", archive.forum);
    let expected = expected_ids(&app, &archive).await;
    let target = format!("/api/v1/messages/{}", expected[100]);
    const NAN: &str = "Invalid input: expected an integer";
    for (route, query, field, message) in [
        (
            &messages,
            "limit=0",
            "limit",
            "Too small: expected number to be >=1",
        ),
        (
            &messages,
            "limit=101",
            "limit",
            "Too big: expected number to be <=100",
        ),
        (&messages, "limit=fifty", "limit", NAN),
        (&messages, "limit=5.0", "limit", NAN),
        (
            &threads,
            "limit=0",
            "limit",
            "Too small: expected number to be >=1",
        ),
        (
            &threads,
            "limit=101",
            "limit",
            "Too big: expected number to be <=100",
        ),
        (&threads, "limit=x", "limit", NAN),
        (
            &target,
            "before=101",
            "before",
            "Too big: expected number to be <=100",
        ),
        (
            &target,
            "after=1000",
            "after",
            "Too big: expected number to be <=100",
        ),
        (&target, "before=-1", "before", NAN),
        (&target, "after=a", "after", NAN),
    ] {
        let response = read(&app, &archive.slug, &format!("{route}?{query}")).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
        assert_eq!(
            body["details"]["issues"],
            json!([{"path": field, "message": message}]),
            "{route}?{query}"
        );
    }

    let page = read_ok(&app, &archive, &messages).await;
    assert_eq!(page["meta"]["limit"], 50);
    assert_eq!(page["data"].as_array().unwrap().len(), 50);
    let page = read_ok(&app, &archive, &format!("{messages}?limit=100")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 100);

    let page = read_ok(&app, &archive, &threads).await;
    assert_eq!(page["meta"]["limit"], 20);
    assert_eq!(page["data"].as_array().unwrap().len(), 20);
    assert_eq!(page["meta"]["hasMore"], true);
    let page = read_ok(&app, &archive, &format!("{threads}?limit=1")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);

    // The 101st newest message has 100 newer and 132 older neighbours.
    let context = read_ok(&app, &archive, &target).await;
    assert_eq!(context["data"]["messages"].as_array().unwrap().len(), 101);
    assert_eq!(context["data"]["target"]["position"], 50);
    let context = read_ok(&app, &archive, &format!("{target}?before=0&after=0")).await;
    assert_eq!(context["data"]["messages"].as_array().unwrap().len(), 1);
    let context = read_ok(&app, &archive, &format!("{target}?before=100&after=100")).await;
    assert_eq!(context["data"]["messages"].as_array().unwrap().len(), 201);
}

#[tokio::test]
async fn the_tenant_header_is_required_selects_the_tenant_and_isolates_it() {
    let app = spawn_app().await;
    // Both archives use the same snowflakes for their first messages; "theirs" has more.
    let mine = archive_data::generate(&app.db, "mine", 3, 0).await;
    let theirs = archive_data::generate(&app.db, "theirs", 9, 0).await;

    let missing = app
        .anonymous(Method::GET, "/api/v1/channels")
        .send()
        .await
        .unwrap();
    let body = assert_error(missing, StatusCode::BAD_REQUEST, "Validation Error").await;
    assert_eq!(issue_paths(&body), ["X-Tenant-Slug"]);
    let unknown = read(&app, "nobody-here", "/api/v1/tenant").await;
    assert_error(unknown, StatusCode::NOT_FOUND, "Not Found").await;

    let tenant = read_ok(&app, &mine, "/api/v1/tenant").await;
    assert_eq!(tenant["data"]["slug"], "mine");
    assert_eq!(tenant["meta"], serde_json::json!({}));
    let branding = read_ok(&app, &mine, "/api/v1/branding").await;
    assert_eq!(branding["data"]["primaryColor"], "#112233");

    // Another tenant's channel and message are not found through this tenant.
    let other = read(
        &app,
        "mine",
        &format!("/api/v1/channels/{}", theirs.general),
    )
    .await;
    assert_error(other, StatusCode::NOT_FOUND, "Not Found").await;
    let other = read(
        &app,
        "mine",
        &format!("/api/v1/channels/{}/messages", theirs.general),
    )
    .await;
    assert_error(other, StatusCode::NOT_FOUND, "Not Found").await;
    let their_first = expected_ids(&app, &theirs).await[0].clone();
    let other = read(&app, "mine", &format!("/api/v1/messages/{their_first}")).await;
    assert_error(other, StatusCode::NOT_FOUND, "Not Found").await;
}

#[tokio::test]
async fn channels_list_every_archived_channel_with_counts_and_last_activity() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "lister", 25, 5).await;
    let body = read_ok(&app, &archive, "/api/v1/channels").await;
    let channels = body["data"].as_array().unwrap();
    assert_eq!(channels.len(), archive.channel_ids.len());
    assert_eq!(body["meta"]["count"], channels.len());
    let kinds: HashSet<&str> = channels
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        HashSet::from(["category", "text", "forum", "thread"])
    );
    let by_id = |id: uuid::Uuid| {
        channels
            .iter()
            .find(|c| c["id"] == id.to_string())
            .unwrap_or_else(|| panic!("channel {id} listed"))
    };
    assert_eq!(by_id(archive.general)["messageCount"], 25);
    assert_eq!(by_id(archive.general)["parentChannelId"], "1000");
    assert_eq!(
        by_id(archive.general)["lastActivity"],
        "2024-03-01T12:00:08.000Z"
    );
    assert_eq!(by_id(archive.empty)["messageCount"], 0);
    assert_eq!(by_id(archive.empty)["lastActivity"], Value::Null);
    assert_eq!(by_id(archive.category)["messageCount"], 0);

    let one = read_ok(
        &app,
        &archive,
        &format!("/api/v1/channels/{}", archive.general),
    )
    .await;
    assert_eq!(one["data"], *by_id(archive.general));
    let garbage = read(&app, "lister", "/api/v1/channels/not-a-channel").await;
    assert_error(garbage, StatusCode::NOT_FOUND, "Not Found").await;
}

#[tokio::test]
async fn forum_threads_page_by_last_activity_with_first_message_and_counts() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "forum", 3, 23).await;
    let base = format!("/api/v1/channels/{}/threads", archive.forum);
    let mut threads = Vec::new();
    let mut path = format!("{base}?limit=10");
    loop {
        let body = read_ok(&app, &archive, &path).await;
        assert_eq!(body["meta"]["total"], 23);
        threads.extend(body["data"].as_array().unwrap().clone());
        if !body["meta"]["hasMore"].as_bool().unwrap() {
            break;
        }
        path = format!(
            "{base}?limit=10&before={}",
            body["meta"]["before"].as_str().unwrap()
        );
    }
    assert_eq!(threads.len(), 23);
    let names: HashSet<&str> = threads
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 23, "every thread exactly once");
    let activity: Vec<&str> = threads
        .iter()
        .map(|t| t["lastActivity"].as_str().unwrap())
        .collect();
    assert!(
        activity.windows(2).all(|w| w[0] >= w[1]),
        "most recently active first"
    );
    for thread in &threads {
        let t: usize = thread["name"].as_str().unwrap()["question ".len()..]
            .parse()
            .unwrap();
        assert_eq!(thread["messageCount"], t % 4);
        if t.is_multiple_of(4) {
            assert_eq!(thread["firstMessage"], Value::Null);
        } else {
            let first = thread["firstMessage"]["content"].as_str().unwrap();
            assert!(first.starts_with("message 0"), "{first}");
        }
    }
    // The text channel's own thread is listed under it.
    let body = read_ok(
        &app,
        &archive,
        &format!("/api/v1/channels/{}/threads", archive.general),
    )
    .await;
    assert_eq!(body["data"][0]["name"], "side thread");
    assert_eq!(body["data"][0]["messageCount"], 4);
}

#[tokio::test]
async fn a_message_is_found_by_base62_or_decimal_id_with_its_neighbours() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "context", 40, 0).await;
    let expected = expected_ids(&app, &archive).await;
    let target = &expected[20];
    let b62 = encode_base62(target.parse().unwrap());
    for id in [b62.as_str(), target.as_str()] {
        let body = read_ok(
            &app,
            &archive,
            &format!("/api/v1/messages/{id}?before=3&after=2"),
        )
        .await;
        let data = &body["data"];
        assert_eq!(ids(&data["messages"]), expected[18..24].to_vec());
        assert_eq!(data["target"]["id"], target.as_str());
        assert_eq!(data["target"]["position"], 2);
        assert_eq!(data["navigation"]["before"]["hasMore"], true);
        assert_eq!(
            data["navigation"]["before"]["cursor"],
            expected[23].as_str()
        );
        assert_eq!(data["navigation"]["after"]["cursor"], expected[18].as_str());
    }
    let newest = read_ok(
        &app,
        &archive,
        &format!("/api/v1/messages/{}?after=5", expected[0]),
    )
    .await;
    assert_eq!(newest["data"]["target"]["position"], 0);
    assert_eq!(newest["data"]["navigation"]["after"]["hasMore"], false);
    let missing = read(&app, "context", "/api/v1/messages/1").await;
    assert_error(missing, StatusCode::NOT_FOUND, "Not Found").await;
}

#[tokio::test]
async fn the_read_api_is_public_with_open_cors_and_a_per_client_rate_limit() {
    let app = spawn_app_with(|c| c.read_api_rate_limit = 5).await;
    let archive = archive_data::generate(&app.db, "limited", 2, 0).await;

    let preflight = app
        .anonymous(Method::OPTIONS, "/api/v1/channels")
        .header("Origin", "https://archive.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-tenant-slug")
        .send()
        .await
        .unwrap();
    assert!(
        preflight.status().is_success(),
        "preflight: {}",
        preflight.status()
    );
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    let response = app
        .anonymous(Method::GET, "/api/v1/tenant")
        .header("X-Tenant-Slug", "limited")
        .header("Origin", "https://archive.example")
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");

    // Preflights are answered by CORS before the limit; the GET used one of five.
    for _ in 0..4 {
        assert_status(
            &read(&app, &archive.slug, "/api/v1/tenant").await,
            StatusCode::OK,
        );
    }
    let limited = read(&app, &archive.slug, "/api/v1/tenant").await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").await;
    // The admin API is not affected by the read API's limit.
    assert_status(&app.get("/api/tenants").await, StatusCode::OK);
}
