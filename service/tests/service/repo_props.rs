//! Property tests: every upsert is idempotent and the last write wins. Each property runs a
//! few cases against one migrated database; every case works under a fresh tenant or channel
//! so the cases do not see each other's rows.

use std::collections::{BTreeMap, BTreeSet};

use entity::{
    message_attachments, message_emoji_reactions, messages as message_rows, sync_progress,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use service::repo::attachments::{self, AttachmentRow};
use service::repo::channels::{self, ChannelKind, ChannelRow};
use service::repo::messages::{self, MessageRow};
use service::repo::reactions::{self, ReactionRow};
use service::repo::sync_progress::{self as progress, ProgressRow, ProgressStatus};
use service::sync::queue::{self, ChannelJobStatus, NewJob, SyncType, Trigger};
use service::sync::store;
use uuid::Uuid;

use crate::helpers::{Ctx, channel, setup, tenant, ts};

const CASES: u32 = 10;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Run `property` on `strategy` with one runtime and one database for all cases.
fn check<S, F>(strategy: S, property: F)
where
    S: Strategy,
    S::Value: Clone,
    F: for<'a> Fn(&'a Ctx, S::Value) -> futures::future::BoxFuture<'a, Result<(), TestCaseError>>,
{
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ctx = rt.block_on(setup());
    let result = runner().run(&strategy, |value| rt.block_on(property(&ctx, value)));
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(ctx.db.close()).ok();
}

/// Keep only the last write per key inside one batch (a page never repeats a key).
fn last_per_key<T, K: Ord>(batch: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut map = BTreeMap::new();
    for item in batch {
        map.insert(key(&item), item);
    }
    map.into_values().collect()
}

type MsgWrite = (u8, String, Option<u8>, Option<u8>);

fn msg_batches() -> impl Strategy<Value = Vec<Vec<MsgWrite>>> {
    let write = (
        0u8..12,
        "[a-zé😀 ]{0,16}",
        proptest::option::of(0u8..5),
        proptest::option::of(0u8..5),
    );
    proptest::collection::vec(proptest::collection::vec(write, 0..12), 1..5)
}

async fn stored_messages(
    db: &DatabaseConnection,
    ch: Uuid,
) -> BTreeMap<String, message_rows::Model> {
    message_rows::Entity::find()
        .filter(message_rows::Column::ChannelId.eq(ch.to_string()))
        .all(db)
        .await
        .expect("read messages")
        .into_iter()
        .map(|m| (m.platform_message_id.clone(), m))
        .collect()
}

#[test]
fn message_upserts_are_idempotent_and_last_write_wins() {
    check(msg_batches(), |ctx, batches| {
        Box::pin(async move {
            let db = &ctx.db;
            let t = tenant(db).await;
            let ch = channel(db, t.id, "1").await;
            // key -> (author, created, content, reply, metadata)
            let mut model: BTreeMap<String, MessageRow> = BTreeMap::new();
            let mut last = Vec::new();
            for (b, batch) in batches.into_iter().enumerate() {
                let rows: Vec<MessageRow> = last_per_key(batch, |w| w.0)
                    .into_iter()
                    .map(|(k, content, reply, meta)| MessageRow {
                        channel_id: ch,
                        platform_message_id: k.to_string(),
                        anonymized_author_id: format!("{b:064}"),
                        content,
                        reply_to_id: reply.map(|r| r.to_string()),
                        metadata: meta.map(|m| serde_json::json!({"v": m, "s": "é"})),
                        platform_created_at: ts(b as i64),
                    })
                    .collect();
                messages::upsert(db, &rows)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                for r in &rows {
                    model
                        .entry(r.platform_message_id.clone())
                        .and_modify(|m| {
                            m.content = r.content.clone();
                            m.reply_to_id = r.reply_to_id.clone();
                            m.metadata = r.metadata.clone();
                        })
                        .or_insert_with(|| r.clone());
                }
                last = rows;
            }
            // Re-running the last batch changes nothing.
            messages::upsert(db, &last)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let stored = stored_messages(db, ch).await;
            prop_assert_eq!(stored.len(), model.len());
            for (k, want) in &model {
                let got = &stored[k];
                prop_assert_eq!(&got.id, &want.id().to_string());
                prop_assert_eq!(&got.content, &want.content);
                prop_assert_eq!(&got.reply_to_id, &want.reply_to_id);
                prop_assert_eq!(&got.metadata, &want.metadata);
                prop_assert_eq!(
                    &got.anonymized_author_id,
                    &want.anonymized_author_id,
                    "author never changes"
                );
                prop_assert_eq!(got.platform_created_at, want.platform_created_at);
            }
            Ok(())
        })
    });
}

type ChanWrite = (u8, String, u8, Option<u8>);

#[test]
fn channel_upserts_are_idempotent_and_last_write_wins() {
    let write = (
        0u8..8,
        "[a-z0-9-]{1,12}",
        0u8..4,
        proptest::option::of(0u8..3),
    );
    let batches = proptest::collection::vec(proptest::collection::vec(write, 0..10), 1..5);
    check(batches, |ctx, batches: Vec<Vec<ChanWrite>>| {
        Box::pin(async move {
            let db = &ctx.db;
            let t = tenant(db).await;
            let kinds = [
                ChannelKind::Text,
                ChannelKind::Thread,
                ChannelKind::Forum,
                ChannelKind::Category,
            ];
            let mut model: BTreeMap<String, ChannelRow> = BTreeMap::new();
            let mut last = Vec::new();
            for batch in batches {
                let rows: Vec<ChannelRow> = last_per_key(batch, |w| w.0)
                    .into_iter()
                    .map(|(k, name, kind, parent)| ChannelRow {
                        tenant_id: t.id,
                        platform_channel_id: k.to_string(),
                        name,
                        kind: kinds[kind as usize],
                        parent_channel_id: parent.map(|p| p.to_string()),
                        metadata: Some(serde_json::json!({"k": kind})),
                    })
                    .collect();
                channels::upsert(db, &rows)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                for r in &rows {
                    model.insert(r.platform_channel_id.clone(), r.clone());
                }
                last = rows;
            }
            channels::upsert(db, &last)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let stored = channels::for_tenant(db, t.id)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(stored.len(), model.len());
            for got in stored {
                let want = &model[&got.platform_channel_id];
                prop_assert_eq!(&got.id, &want.id().to_string());
                prop_assert_eq!(&got.name, &want.name);
                prop_assert_eq!(got.r#type.as_deref(), Some(want.kind.as_str()));
                prop_assert_eq!(&got.parent_channel_id, &want.parent_channel_id);
                prop_assert_eq!(&got.metadata, &want.metadata);
            }
            Ok(())
        })
    });
}

#[test]
fn reaction_and_attachment_upserts_are_idempotent_and_attachments_take_the_last_write() {
    let emoji = proptest::sample::select(vec!["👍", "🎉", "😀", "❤️", "<:blob:1>", "<a:x:2>"]);
    let reaction = (0u8..3, 0u8..3, emoji);
    let attachment = (0u8..3, 0u8..4, "[a-z]{1,8}\\.png", 0i64..1_000_000);
    let batches = proptest::collection::vec(
        (
            proptest::collection::vec(reaction, 0..12),
            proptest::collection::vec(attachment, 0..8),
        ),
        1..4,
    );
    check(batches, |ctx, batches| {
        Box::pin(async move {
            let db = &ctx.db;
            let t = tenant(db).await;
            let ch = channel(db, t.id, "1").await;
            let msgs: Vec<MessageRow> = (0..3u64).map(|i| crate::helpers::message(ch, i)).collect();
            messages::upsert(db, &msgs)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut want_reactions = BTreeSet::new();
            let mut want_attachments: BTreeMap<(u8, u8), AttachmentRow> = BTreeMap::new();
            for (rs, atts) in batches {
                let rrows: Vec<ReactionRow> = last_per_key(rs, |r| (r.0, r.1, r.2))
                    .into_iter()
                    .map(|(m, u, e)| ReactionRow {
                        message_id: msgs[m as usize].id(),
                        emoji: e.to_owned(),
                        anonymized_user_id: format!("{u:064}"),
                    })
                    .collect();
                reactions::upsert(db, &rrows)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                reactions::upsert(db, &rrows)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                for r in &rrows {
                    want_reactions.insert((
                        r.message_id.to_string(),
                        r.anonymized_user_id.clone(),
                        r.emoji.clone(),
                    ));
                }
                let arows: Vec<((u8, u8), AttachmentRow)> = last_per_key(atts, |a| (a.0, a.1))
                    .into_iter()
                    .map(|(m, a, name, size)| {
                        (
                            (m, a),
                            AttachmentRow {
                                message_id: msgs[m as usize].id(),
                                platform_attachment_id: a.to_string(),
                                url: format!("https://cdn/{name}?s={size}"),
                                filename: name,
                                file_size: size,
                                content_type: "image/png".into(),
                            },
                        )
                    })
                    .collect();
                let only_rows: Vec<AttachmentRow> = arows.iter().map(|(_, r)| r.clone()).collect();
                attachments::upsert(db, &only_rows)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                attachments::upsert(db, &only_rows)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                for (k, r) in arows {
                    want_attachments.insert(k, r);
                }
            }
            let msg_ids: Vec<String> = msgs.iter().map(|m| m.id().to_string()).collect();
            let got_reactions: BTreeSet<_> = message_emoji_reactions::Entity::find()
                .filter(message_emoji_reactions::Column::MessageId.is_in(msg_ids.clone()))
                .all(db)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .into_iter()
                .map(|r| (r.message_id, r.anonymized_user_id, r.emoji))
                .collect();
            prop_assert_eq!(got_reactions, want_reactions);
            let got_attachments: BTreeMap<String, message_attachments::Model> =
                message_attachments::Entity::find()
                    .filter(message_attachments::Column::MessageId.is_in(msg_ids))
                    .all(db)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?
                    .into_iter()
                    .map(|a| (a.id.clone(), a))
                    .collect();
            prop_assert_eq!(got_attachments.len(), want_attachments.len());
            for want in want_attachments.values() {
                let got = &got_attachments[&want.id().to_string()];
                prop_assert_eq!(&got.filename, &want.filename);
                prop_assert_eq!(got.file_size, want.file_size);
                prop_assert_eq!(&got.url, &want.url);
            }
            Ok(())
        })
    });
}

#[test]
fn cursor_upserts_are_idempotent_and_last_write_wins() {
    let write = (0u8..3, 0u64..1_000_000, 0u8..3);
    let batches = proptest::collection::vec(proptest::collection::vec(write, 0..6), 1..5);
    check(batches, |ctx, batches| {
        Box::pin(async move {
            let db = &ctx.db;
            let t = tenant(db).await;
            let mut chans = Vec::new();
            for i in 0..3 {
                chans.push(channel(db, t.id, &i.to_string()).await);
            }
            let pstatus = [
                ProgressStatus::InProgress,
                ProgressStatus::Completed,
                ProgressStatus::Failed,
            ];
            let mut want: BTreeMap<String, ProgressRow> = BTreeMap::new();
            for (b, batch) in batches.into_iter().enumerate() {
                let rows: Vec<ProgressRow> = last_per_key(batch, |w| w.0)
                    .into_iter()
                    .map(|(c, cursor, s)| ProgressRow {
                        tenant_id: t.id,
                        channel_id: chans[c as usize],
                        last_synced_message_id: cursor.to_string(),
                        last_synced_at: ts(b as i64),
                        status: pstatus[s as usize],
                        error_details: (s == 2).then(|| serde_json::json!({"message": "boom"})),
                        worker_id: Some(format!("w{b}")),
                        started_at: Some(ts(b as i64)),
                        messages_per_second: Some(rust_decimal::Decimal::from(cursor % 1000)),
                    })
                    .collect();
                for _ in 0..2 {
                    progress::upsert(db, &rows)
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
                for r in rows {
                    want.insert(r.channel_id.to_string(), r);
                }
            }
            let got = sync_progress::Entity::find()
                .filter(sync_progress::Column::TenantId.eq(t.id.to_string()))
                .all(db)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(got.len(), want.len());
            for got in got {
                let want = &want[&got.channel_id];
                prop_assert_eq!(&got.last_synced_message_id, &want.last_synced_message_id);
                prop_assert_eq!(got.status.as_str(), want.status.as_str());
                prop_assert_eq!(&got.error_details, &want.error_details);
                prop_assert_eq!(&got.worker_id, &want.worker_id);
                prop_assert_eq!(got.last_synced_at, want.last_synced_at);
                prop_assert_eq!(got.messages_per_second, want.messages_per_second);
                // The sync reads the cursor back through the same row.
                let cursor = store::cursor(db, &t.id.to_string(), &got.channel_id)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(cursor.to_string(), want.last_synced_message_id.clone());
            }
            Ok(())
        })
    });
}

/// Each round creates the items of some channels (again) and finishes some of them: a job
/// has one item per channel, whatever the rounds, and re-creating an item never resets it.
#[test]
fn channel_items_are_created_once_per_channel_and_recreating_keeps_their_state() {
    let round = (
        proptest::collection::btree_set(0usize..4, 0..4),
        proptest::collection::btree_set(0usize..4, 0..3),
    );
    let rounds = proptest::collection::vec(round, 1..5);
    check(rounds, |ctx, rounds| {
        Box::pin(async move {
            let db = &ctx.db;
            let t = tenant(db).await;
            let tenant_id = t.id.to_string();
            let mut chans = Vec::new();
            for i in 0..4 {
                chans.push(channel(db, t.id, &i.to_string()).await.to_string());
            }
            let (job, _) = queue::enqueue(
                db,
                NewJob {
                    tenant_id: tenant_id.clone(),
                    sync_type: SyncType::Incremental,
                    trigger: Trigger::Api,
                    channel_ids: None,
                    retry_of: None,
                },
            )
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let fail = |e: service::Error| TestCaseError::fail(e.to_string());
            // channel row id -> (status, messages processed)
            let mut want: BTreeMap<String, (ChannelJobStatus, Option<i32>)> = BTreeMap::new();
            for (r, (create, finish)) in rounds.into_iter().enumerate() {
                let ids: Vec<String> = create.iter().map(|&c| chans[c].clone()).collect();
                queue::create_items(db, &job.id, &tenant_id, &ids)
                    .await
                    .map_err(fail)?;
                for id in ids {
                    want.entry(id)
                        .or_insert((ChannelJobStatus::Pending, Some(0)));
                }
                for c in finish {
                    let item_id = queue::item_id(&job.id, &chans[c]);
                    let Some(state) = want.get_mut(&chans[c]) else {
                        continue;
                    };
                    if state.0 != ChannelJobStatus::Pending {
                        continue;
                    }
                    // Claim it for this round's worker the way the workers do, then finish.
                    let worker = format!("w{r}");
                    let claimed = claim_specific(db, &job.id, &worker, &item_id).await?;
                    prop_assert!(claimed, "pending item {item_id} was claimable");
                    queue::finish_item(
                        db,
                        &item_id,
                        &worker,
                        ChannelJobStatus::Completed,
                        r as i32,
                        None,
                    )
                    .await
                    .map_err(fail)?;
                    *state = (ChannelJobStatus::Completed, Some(r as i32));
                }
            }
            let got: BTreeMap<String, (ChannelJobStatus, Option<i32>)> = queue::items(db, &job.id)
                .await
                .map_err(fail)?
                .into_iter()
                .map(|i| {
                    let status = ChannelJobStatus::parse(&i.status).expect("known status");
                    (i.channel_id, (status, i.messages_processed))
                })
                .collect();
            prop_assert_eq!(got, want);
            Ok(())
        })
    });
}

/// Claim items of `job_id` for `worker` until `item_id` is among them; the others are handed
/// back as pending. Returns whether `item_id` was claimed.
async fn claim_specific(
    db: &DatabaseConnection,
    job_id: &str,
    worker: &str,
    item_id: &str,
) -> Result<bool, TestCaseError> {
    let fail = |e: service::Error| TestCaseError::fail(e.to_string());
    let lease = std::time::Duration::from_secs(30);
    let mut others = Vec::new();
    let mut found = false;
    while let Some(item) = queue::claim_item(db, job_id, worker, lease)
        .await
        .map_err(fail)?
    {
        if item.id == item_id {
            found = true;
            break;
        }
        others.push(item.id);
    }
    for other in others {
        queue::finish_item(db, &other, worker, ChannelJobStatus::Pending, 0, None)
            .await
            .map_err(fail)?;
    }
    Ok(found)
}
