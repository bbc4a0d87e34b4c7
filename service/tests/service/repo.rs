//! Repository upserts: chunking at the placeholder boundaries, byte-limited statements,
//! re-runs that change nothing, distinct emoji.

use entity::{message_attachments, message_emoji_reactions, messages as message_rows};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use service::repo::attachments::{self, AttachmentRow};
use service::repo::channels::{self, ChannelKind, ChannelRow};
use service::repo::messages;
use service::repo::reactions::{self, ReactionRow};
use service::repo::{MAX_STATEMENT_BYTES, rows_per_statement};
use service::sync::store;

use crate::helpers::{channel, count, message, messages_in, setup, tenant, ts};

#[tokio::test]
async fn message_batches_at_chunk_boundaries_are_stored_completely_and_rerun_idempotently() {
    let ctx = setup().await;
    let db = &ctx.db;
    let t = tenant(db).await;
    let chunk = rows_per_statement::<message_rows::Entity>(db);
    assert!(chunk >= 256, "chunk size {chunk}");
    for n in [0, 1, chunk - 1, chunk, chunk + 1, 10_000] {
        let ch = channel(db, t.id, &format!("n{n}")).await;
        let rows: Vec<_> = (0..n as u64).map(|i| message(ch, i)).collect();
        assert_eq!(messages::upsert(db, &rows).await.unwrap(), n);
        assert_eq!(messages_in(db, ch).await.unwrap(), n as u64, "n={n}");
        messages::upsert(db, &rows).await.unwrap();
        assert_eq!(messages_in(db, ch).await.unwrap(), n as u64, "rerun n={n}");
    }
}

#[tokio::test]
async fn statements_are_cut_by_size_so_large_contents_fit_the_packet_limit() {
    let ctx = setup().await;
    let db = &ctx.db;
    let t = tenant(db).await;
    let ch = channel(db, t.id, "big").await;
    // 300 x 60 kB = 18 MB: above MariaDB's default 16 MB max_allowed_packet in one statement.
    let body = "x".repeat(60_000);
    let rows: Vec<_> = (0..300u64)
        .map(|i| messages::MessageRow {
            content: body.clone(),
            ..message(ch, i)
        })
        .collect();
    assert!(rows.len() * body.len() > 4 * MAX_STATEMENT_BYTES);
    messages::upsert(db, &rows).await.unwrap();
    assert_eq!(messages_in(db, ch).await.unwrap(), 300);
}

#[tokio::test]
async fn distinct_emoji_from_one_user_on_one_message_are_distinct_rows() {
    let ctx = setup().await;
    let db = &ctx.db;
    let t = tenant(db).await;
    let ch = channel(db, t.id, "1").await;
    let m = message(ch, 1);
    messages::upsert(db, std::slice::from_ref(&m))
        .await
        .unwrap();
    let user = "a".repeat(64);
    let rows: Vec<_> = ["👍", "🎉", "😀", "<:blob:123>", "<a:dance:456>"]
        .into_iter()
        .map(|e| ReactionRow {
            message_id: m.id(),
            emoji: e.into(),
            anonymized_user_id: user.clone(),
        })
        .collect();
    reactions::upsert(db, &rows).await.unwrap();
    reactions::upsert(db, &rows).await.unwrap();
    assert_eq!(count::<message_emoji_reactions::Entity>(db).await, 5);
}

#[tokio::test]
async fn an_all_conflict_batch_succeeds_on_every_table() {
    // MariaDB returns RecordNotInserted from `exec` when every row conflicts; the repositories
    // use `exec_without_returning`, so a full re-run is not an error.
    let ctx = setup().await;
    let db = &ctx.db;
    let t = tenant(db).await;
    let ch = channel(db, t.id, "1").await;
    let m = message(ch, 1);
    let r = ReactionRow {
        message_id: m.id(),
        emoji: "👍".into(),
        anonymized_user_id: "b".repeat(64),
    };
    let a = AttachmentRow {
        message_id: m.id(),
        platform_attachment_id: "77".into(),
        filename: "f.txt".into(),
        file_size: 1,
        content_type: "text/plain".into(),
        url: "https://cdn/f.txt?sig=1".into(),
    };
    for _ in 0..3 {
        messages::upsert(db, std::slice::from_ref(&m))
            .await
            .unwrap();
        reactions::upsert(db, std::slice::from_ref(&r))
            .await
            .unwrap();
        attachments::upsert(db, std::slice::from_ref(&a))
            .await
            .unwrap();
    }
    assert_eq!(count::<message_attachments::Entity>(db).await, 1);
    assert_eq!(count::<message_emoji_reactions::Entity>(db).await, 1);

    // A fresh signed URL on re-sync replaces the old one on the same row.
    let refreshed = AttachmentRow {
        url: "https://cdn/f.txt?sig=2".into(),
        ..a.clone()
    };
    attachments::upsert(db, &[refreshed]).await.unwrap();
    let stored = message_attachments::Entity::find()
        .filter(message_attachments::Column::MessageId.eq(m.id().to_string()))
        .all(db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].url, "https://cdn/f.txt?sig=2");
    assert_eq!(stored[0].id, a.id().to_string());
}

#[tokio::test]
async fn channels_keep_their_id_and_take_the_latest_name_type_parent_and_metadata() {
    let ctx = setup().await;
    let db = &ctx.db;
    let t = tenant(db).await;
    let first = ChannelRow {
        tenant_id: t.id,
        platform_channel_id: "555".into(),
        name: "general".into(),
        kind: ChannelKind::Text,
        parent_channel_id: None,
        metadata: Some(serde_json::json!({"topic": "hi"})),
    };
    channels::upsert(db, std::slice::from_ref(&first))
        .await
        .unwrap();
    let second = ChannelRow {
        name: "general-2".into(),
        kind: ChannelKind::Category,
        parent_channel_id: Some("1".into()),
        metadata: Some(serde_json::json!({"topic": "bye", "archived": true})),
        ..first.clone()
    };
    channels::upsert(db, std::slice::from_ref(&second))
        .await
        .unwrap();
    let rows = channels::for_tenant(db, t.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.id, first.id().to_string());
    assert_eq!(row.name, "general-2");
    assert_eq!(
        row.r#type.as_deref(),
        Some("category"),
        "categories store on every backend"
    );
    assert_eq!(row.parent_channel_id.as_deref(), Some("1"));
    assert_eq!(row.metadata, second.metadata);
    assert_eq!(
        message_rows::Entity::find().count(db).await.unwrap(),
        0,
        "no stray rows"
    );
}

#[tokio::test]
async fn messages_gone_from_the_platform_are_marked_in_one_batch_and_keep_their_first_mark() {
    let ctx = setup().await;
    let db = &ctx.db;
    let t = tenant(db).await;
    let ch = channel(db, t.id, "1").await;
    let other = channel(db, t.id, "2").await;
    let rows: Vec<_> = (1..=600u64)
        .map(|i| messages::MessageRow {
            metadata: Some(serde_json::json!({"pinned": i == 1})),
            ..message(ch, i)
        })
        .collect();
    messages::upsert(db, &rows).await.unwrap();
    messages::upsert(db, &[message(other, 1)]).await.unwrap();

    let first = ts(10);
    // 550 ids: more than one statement's worth; one of them not stored at all.
    let gone: Vec<String> = (1..=549u64)
        .map(|i| i.to_string())
        .chain(["9999".to_owned()])
        .collect();
    let marked = store::mark_deleted(db, &ch.to_string(), &gone, first)
        .await
        .unwrap();
    assert_eq!(marked, 549);
    // Marking again (and a new one) keeps the first mark of the others.
    let again: Vec<String> = ["1", "550"].map(String::from).to_vec();
    let marked = store::mark_deleted(db, &ch.to_string(), &again, ts(20))
        .await
        .unwrap();
    assert_eq!(marked, 1);

    let stored: std::collections::HashMap<String, message_rows::Model> =
        message_rows::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (format!("{}:{}", m.channel_id, m.platform_message_id), m))
            .collect();
    let meta = |channel: uuid::Uuid, id: u64| {
        stored[&format!("{channel}:{id}")]
            .metadata
            .clone()
            .unwrap_or_default()
    };
    assert_eq!(
        meta(ch, 1),
        serde_json::json!({"pinned": true, "deleted": true, "deletedSeenAt": "2023-11-14T22:13:30Z"})
    );
    assert_eq!(meta(ch, 549)["deleted"], true);
    assert_eq!(meta(ch, 550)["deletedSeenAt"], "2023-11-14T22:13:40Z");
    assert_eq!(meta(ch, 551), serde_json::json!({"pinned": false}));
    assert_eq!(
        meta(other, 1),
        serde_json::Value::Null,
        "other channels untouched"
    );
    assert_eq!(stored[&format!("{ch}:1")].updated_at, first);
}

/// Waits until the current whole second is over (timestamps are whole seconds; an index
/// opened with no lag reads up to the last complete second).
async fn next_second() {
    let ms = 1_000 - u64::from(chrono::Utc::now().timestamp_subsec_millis());
    tokio::time::sleep(std::time::Duration::from_millis(ms + 1_050)).await;
}

#[tokio::test]
async fn a_channel_marked_vanished_moves_its_updated_at_and_leaves_the_search_index() {
    let ctx = setup().await;
    let db = &ctx.db;
    let t = tenant(db).await;
    let tenant_id = t.id.to_string();
    let ch = channel(db, t.id, "777").await;
    messages::upsert(db, &[message(ch, 1), message(ch, 2)])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index =
        service::search::SearchIndex::open_with_lag(dir.path(), std::time::Duration::ZERO).unwrap();
    next_second().await;
    index.catch_up(db).await.unwrap();
    assert_eq!(index.document_count(Some(&tenant_id)).unwrap(), 2);

    let before = channels::get(db, &ch.to_string()).await.unwrap().unwrap();
    next_second().await;
    // Discovery no longer finds the channel: the sync marks it vanished.
    store::reconcile_channels(db, &tenant_id, &[], &[], service::db::now())
        .await
        .unwrap();
    let after = channels::get(db, &ch.to_string()).await.unwrap().unwrap();
    assert!(service::archive::view::metadata_flag(
        after.metadata.as_ref(),
        "vanished"
    ));
    assert!(after.updated_at > before.updated_at, "updated_at moved");
    next_second().await;
    index.catch_up(db).await.unwrap();
    assert_eq!(index.document_count(Some(&tenant_id)).unwrap(), 0);
}
