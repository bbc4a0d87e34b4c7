//! Writes of the sync: a page of messages with its reactions and attachments, the channel
//! cursor, and the discovered channels. Every write is an upsert on a unique key with a
//! deterministic id, so re-running any sync never duplicates a row.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{channels, message_attachments, message_emoji_reactions, messages, sync_progress};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, sea_query::OnConflict,
};
use uuid::Uuid;

use crate::anonymize::Anonymizer;
use crate::error::Result;
use crate::platform::{PlatformChannel, PlatformMessage};

/// Deterministic row id of a channel: UUIDv5(tenant id, platform channel id).
pub fn channel_row_id(tenant_id: &str, platform_channel_id: &str) -> String {
    uuid_v5(tenant_id, platform_channel_id)
}

/// Deterministic row id of a message: UUIDv5(channel row id, platform message id).
pub fn message_row_id(channel_id: &str, platform_message_id: &str) -> String {
    uuid_v5(channel_id, platform_message_id)
}

fn uuid_v5(namespace: &str, name: &str) -> String {
    let ns = Uuid::parse_str(namespace).unwrap_or(Uuid::NAMESPACE_OID);
    Uuid::new_v5(&ns, name.as_bytes()).to_string()
}

/// A page turned into rows, ready to write.
#[derive(Debug, Default)]
pub struct PageRows {
    /// Message rows.
    pub messages: Vec<messages::ActiveModel>,
    /// Reaction rows (one per message, user, emoji).
    pub reactions: Vec<message_emoji_reactions::ActiveModel>,
    /// Attachment rows.
    pub attachments: Vec<message_attachments::ActiveModel>,
}

/// Turn platform messages into rows. `reaction_users[i]` holds, per reaction of message `i`,
/// the users who reacted (when fetched); `None` stores the counts in the message metadata.
pub fn page_rows(
    channel_id: &str,
    page: &[PlatformMessage],
    reaction_users: Option<&[Vec<Vec<String>>]>,
    anonymizer: &Anonymizer,
    now: DateTime<Utc>,
) -> PageRows {
    let mut rows = PageRows::default();
    for (i, m) in page.iter().enumerate() {
        let platform_id = m.id.to_string();
        let id = message_row_id(channel_id, &platform_id);
        let mut metadata = serde_json::json!({
            "editedAt": m.edited_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "pinned": m.pinned,
            "type": m.kind,
            "mentions": {
                "users": m.mentions.users.iter().map(|u| anonymizer.user_id(u)).collect::<Vec<_>>(),
                "roles": m.mentions.roles,
                "channels": channel_mentions(&m.content),
                "everyone": m.mentions.everyone,
            },
        });
        match reaction_users.and_then(|all| all.get(i)) {
            Some(per_reaction) => {
                for (reaction, users) in m.reactions.iter().zip(per_reaction) {
                    for user in users {
                        let user = anonymizer.user_id(user);
                        rows.reactions.push(message_emoji_reactions::ActiveModel {
                            id: Set(uuid_v5(&id, &format!("{}\u{0}{}", reaction.emoji, user))),
                            message_id: Set(id.clone()),
                            emoji: Set(reaction.emoji.clone()),
                            anonymized_user_id: Set(user),
                            created_at: Set(now),
                        });
                    }
                }
            }
            None if !m.reactions.is_empty() => {
                metadata["reactions"] = m
                    .reactions
                    .iter()
                    .map(|r| serde_json::json!({"emoji": r.emoji, "count": r.count}))
                    .collect();
            }
            None => {}
        }
        for a in &m.attachments {
            rows.attachments.push(message_attachments::ActiveModel {
                id: Set(uuid_v5(&id, &a.id)),
                message_id: Set(id.clone()),
                filename: Set(a.filename.clone()),
                file_size: Set(i64::try_from(a.size).unwrap_or(i64::MAX)),
                content_type: Set(a
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned())),
                url: Set(a.url.clone()),
                created_at: Set(now),
            });
        }
        rows.messages.push(messages::ActiveModel {
            id: Set(id),
            channel_id: Set(channel_id.to_owned()),
            platform_message_id: Set(platform_id),
            anonymized_author_id: Set(anonymizer.user_id(&m.author_id)),
            content: Set(anonymizer.rewrite_mentions(&m.content).into_owned()),
            reply_to_id: Set(m.reply_to_id.clone()),
            metadata: Set(Some(metadata)),
            platform_created_at: Set(m.created_at),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    rows
}

fn channel_mentions(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("<#") {
        rest = &rest[start + 2..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && rest[digits.len()..].starts_with('>') {
            out.push(digits);
        }
    }
    out
}

fn chunk_size(backend: DbBackend, columns: usize) -> usize {
    crate::db::rows_per_statement(backend, columns)
}

/// Upsert a page's rows (call inside the page transaction).
pub async fn write_page<C: ConnectionTrait>(db: &C, rows: PageRows) -> Result<()> {
    let backend = db.get_database_backend();
    let PageRows {
        messages: msgs,
        reactions,
        attachments,
    } = rows;
    let mut msgs = msgs.into_iter().peekable();
    while msgs.peek().is_some() {
        let chunk: Vec<_> = msgs.by_ref().take(chunk_size(backend, 10)).collect();
        messages::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    messages::Column::ChannelId,
                    messages::Column::PlatformMessageId,
                ])
                .update_columns([
                    messages::Column::AnonymizedAuthorId,
                    messages::Column::Content,
                    messages::Column::ReplyToId,
                    messages::Column::Metadata,
                    messages::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let mut reactions = reactions.into_iter().peekable();
    while reactions.peek().is_some() {
        let chunk: Vec<_> = reactions.by_ref().take(chunk_size(backend, 5)).collect();
        message_emoji_reactions::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    message_emoji_reactions::Column::MessageId,
                    message_emoji_reactions::Column::AnonymizedUserId,
                    message_emoji_reactions::Column::Emoji,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let mut attachments = attachments.into_iter().peekable();
    while attachments.peek().is_some() {
        let chunk: Vec<_> = attachments.by_ref().take(chunk_size(backend, 7)).collect();
        message_attachments::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::column(message_attachments::Column::Id)
                    .update_columns([
                        message_attachments::Column::Filename,
                        message_attachments::Column::FileSize,
                        message_attachments::Column::ContentType,
                        message_attachments::Column::Url,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Mark stored messages of `channel_id` that the platform no longer returns as deleted
/// (`metadata.deleted = true`, `metadata.deletedSeenAt`); the rows stay.
pub async fn mark_deleted<C: ConnectionTrait>(
    db: &C,
    channel_id: &str,
    platform_ids: &[String],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut marked = 0;
    for chunk in platform_ids.chunks(500) {
        let rows = messages::Entity::find()
            .filter(messages::Column::ChannelId.eq(channel_id))
            .filter(messages::Column::PlatformMessageId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        for row in rows {
            let mut metadata = row
                .metadata
                .clone()
                .unwrap_or_else(|| serde_json::json!({}));
            if metadata.get("deleted").and_then(serde_json::Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(map) = metadata.as_object_mut() {
                map.insert("deleted".into(), true.into());
                map.insert(
                    "deletedSeenAt".into(),
                    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        .into(),
                );
            }
            messages::Entity::update_many()
                .col_expr(
                    messages::Column::Metadata,
                    sea_orm::sea_query::Expr::value(metadata),
                )
                .col_expr(
                    messages::Column::UpdatedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(messages::Column::Id.eq(row.id))
                .exec(db)
                .await?;
            marked += 1;
        }
    }
    Ok(marked)
}

/// Platform ids of the stored messages of `channel_id` in the id range `(after, upto]`.
pub async fn stored_ids_in_range<C: ConnectionTrait>(
    db: &C,
    channel_id: &str,
    after: u64,
    upto: u64,
) -> Result<Vec<u64>> {
    // Ids are decimal strings of varying length: compare numerically in Rust, not in SQL.
    // Rescans only cover the recent window, so this set stays small.
    let after_time = crate::platform::snowflake_time(after);
    let ids: Vec<String> = messages::Entity::find()
        .select_only()
        .column(messages::Column::PlatformMessageId)
        .filter(messages::Column::ChannelId.eq(channel_id))
        .filter(messages::Column::PlatformCreatedAt.gte(after_time - chrono::Duration::seconds(1)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids
        .iter()
        .filter_map(|s| s.parse::<u64>().ok())
        .filter(|id| *id > after && *id <= upto)
        .collect())
}

/// The stored cursor of a channel: (row, highest stored message id).
pub async fn cursor<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    channel_id: &str,
) -> Result<(Option<sync_progress::Model>, u64)> {
    let row = sync_progress::Entity::find()
        .filter(sync_progress::Column::TenantId.eq(tenant_id))
        .filter(sync_progress::Column::ChannelId.eq(channel_id))
        .one(db)
        .await?;
    let cursor = row
        .as_ref()
        .and_then(|r| r.last_synced_message_id.parse::<u64>().ok())
        .unwrap_or(0);
    Ok((row, cursor))
}

/// What to record in `sync_progress` for a channel.
#[derive(Debug, Clone)]
pub struct ProgressUpdate<'a> {
    /// Tenant row id.
    pub tenant_id: &'a str,
    /// Channel row id.
    pub channel_id: &'a str,
    /// Highest stored message id (the cursor).
    pub cursor: u64,
    /// `in_progress`, `completed` or `failed`.
    pub status: &'a str,
    /// Worker holding the channel.
    pub worker_id: Option<&'a str>,
    /// When this run of the channel started.
    pub started_at: DateTime<Utc>,
    /// Throughput of the run.
    pub messages_per_second: Option<u64>,
    /// Error record of a failure.
    pub error: Option<serde_json::Value>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Upsert a channel's `sync_progress` row.
pub async fn save_progress<C: ConnectionTrait>(db: &C, p: ProgressUpdate<'_>) -> Result<()> {
    let row = sync_progress::ActiveModel {
        id: Set(uuid_v5(p.channel_id, "sync_progress")),
        tenant_id: Set(p.tenant_id.to_owned()),
        channel_id: Set(p.channel_id.to_owned()),
        last_synced_message_id: Set(if p.cursor == 0 {
            String::new()
        } else {
            p.cursor.to_string()
        }),
        last_synced_at: Set(p.now),
        status: Set(p.status.to_owned()),
        error_details: Set(p.error),
        created_at: Set(p.now),
        updated_at: Set(p.now),
        worker_id: Set(p.worker_id.map(str::to_owned)),
        started_at: Set(Some(p.started_at)),
        messages_per_second: Set(p.messages_per_second.map(rust_decimal::Decimal::from)),
    };
    let mut update = vec![
        sync_progress::Column::LastSyncedMessageId,
        sync_progress::Column::LastSyncedAt,
        sync_progress::Column::Status,
        sync_progress::Column::ErrorDetails,
        sync_progress::Column::UpdatedAt,
        sync_progress::Column::WorkerId,
        sync_progress::Column::StartedAt,
    ];
    if p.messages_per_second.is_some() {
        update.push(sync_progress::Column::MessagesPerSecond);
    }
    sync_progress::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                sync_progress::Column::TenantId,
                sync_progress::Column::ChannelId,
            ])
            .update_columns(update)
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Forget every cursor of a tenant (`verta sync reset`); returns how many were removed.
pub async fn reset_cursors<C: ConnectionTrait>(db: &C, tenant_id: &str) -> Result<u64> {
    Ok(sync_progress::Entity::delete_many()
        .filter(sync_progress::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await?
        .rows_affected)
}

/// Upsert the discovered channels of a tenant and mark stored ones that were not seen
/// (vanished or hidden) in their metadata; nothing is deleted. Returns the row id of every
/// discovered channel, keyed by platform id.
pub async fn reconcile_channels<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    found: &[PlatformChannel],
    incomplete_parents: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, String>> {
    let backend = db.get_database_backend();
    let mut ids = HashMap::new();
    let rows: Vec<channels::ActiveModel> = found
        .iter()
        .map(|c| {
            let id = channel_row_id(tenant_id, &c.id);
            ids.insert(c.id.clone(), id.clone());
            channels::ActiveModel {
                id: Set(id),
                tenant_id: Set(tenant_id.to_owned()),
                platform_channel_id: Set(c.id.clone()),
                name: Set(c.name.clone()),
                r#type: Set(Some(c.kind.as_str().to_owned())),
                parent_channel_id: Set(c.parent_id.clone()),
                metadata: Set(Some(c.metadata.clone())),
                created_at: Set(now),
                updated_at: Set(now),
            }
        })
        .collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(chunk_size(backend, 9)).collect();
        channels::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    channels::Column::TenantId,
                    channels::Column::PlatformChannelId,
                ])
                .update_columns([
                    channels::Column::Name,
                    channels::Column::Type,
                    channels::Column::ParentChannelId,
                    channels::Column::Metadata,
                    channels::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }

    let seen: HashSet<&str> = found.iter().map(|c| c.id.as_str()).collect();
    let incomplete: HashSet<&str> = incomplete_parents.iter().map(String::as_str).collect();
    let stored = channels::Entity::find()
        .filter(channels::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?;
    for row in stored {
        if seen.contains(row.platform_channel_id.as_str()) {
            continue;
        }
        let is_thread = row.r#type.as_deref() == Some("thread");
        if is_thread
            && row
                .parent_channel_id
                .as_deref()
                .is_some_and(|p| incomplete.contains(p))
        {
            continue;
        }
        let mut metadata = row
            .metadata
            .clone()
            .unwrap_or_else(|| serde_json::json!({}));
        if metadata
            .get("vanished")
            .and_then(serde_json::Value::as_bool)
            == Some(true)
        {
            continue;
        }
        if let Some(map) = metadata.as_object_mut() {
            map.insert("vanished".into(), true.into());
            map.insert(
                "vanishedSeenAt".into(),
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    .into(),
            );
            map.insert(
                "lastSeenAt".into(),
                row.updated_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    .into(),
            );
        }
        channels::Entity::update_many()
            .col_expr(
                channels::Column::Metadata,
                sea_orm::sea_query::Expr::value(metadata),
            )
            .filter(channels::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_mentions_are_extracted_from_content() {
        assert_eq!(
            channel_mentions("see <#123> and <#45>, not <#x> or <@6>"),
            vec!["123", "45"]
        );
        assert!(channel_mentions("plain").is_empty());
    }

    #[test]
    fn row_ids_are_deterministic_and_distinct() {
        let tenant = Uuid::new_v4().to_string();
        let a = channel_row_id(&tenant, "1");
        assert_eq!(a, channel_row_id(&tenant, "1"));
        assert_ne!(a, channel_row_id(&tenant, "2"));
        assert_ne!(
            message_row_id(&a, "9"),
            message_row_id(&channel_row_id(&tenant, "2"), "9")
        );
    }
}
