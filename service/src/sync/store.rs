//! Writes of the sync: a page of messages with its reactions and attachments, the channel
//! cursor, and the discovered channels. Every write is an upsert on a unique key with a
//! deterministic id, so re-running any sync never duplicates a row.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{channels, messages, sync_progress};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::anonymize::Anonymizer;
use crate::error::Result;
use crate::platform::{ChannelKind, PlatformChannel, PlatformMessage};
use crate::repo::{
    self,
    attachments::AttachmentRow,
    channels::{ChannelKind as RepoKind, ChannelRow},
    ids,
    messages::MessageRow,
    reactions::ReactionRow,
    sync_progress::{ProgressRow, ProgressStatus},
};

/// Deterministic row id of a channel ([`ids::channel`]).
pub fn channel_row_id(tenant_id: &str, platform_channel_id: &str) -> String {
    ids::channel(uuid_of(tenant_id), platform_channel_id).to_string()
}

/// Deterministic row id of a message ([`ids::message`]).
pub fn message_row_id(channel_id: &str, platform_message_id: &str) -> String {
    ids::message(uuid_of(channel_id), platform_message_id).to_string()
}

/// Row ids are UUID strings written by us; a malformed one maps to the nil UUID (and then to
/// ids that match nothing) rather than panicking.
pub fn uuid_of(id: &str) -> Uuid {
    Uuid::parse_str(id).unwrap_or(Uuid::nil())
}

/// A page turned into rows, ready to write.
#[derive(Debug, Default)]
pub struct PageRows {
    /// Message rows.
    pub messages: Vec<MessageRow>,
    /// Reaction rows (one per message, user, emoji).
    pub reactions: Vec<ReactionRow>,
    /// Attachment rows.
    pub attachments: Vec<AttachmentRow>,
}

/// Turn platform messages into rows. `reaction_users[i]` holds, per reaction of message `i`,
/// the users who reacted (when fetched); `None` stores the counts in the message metadata.
pub fn page_rows(
    channel_id: &str,
    page: &[PlatformMessage],
    reaction_users: Option<&[Vec<Vec<String>>]>,
    anonymizer: &Anonymizer,
) -> PageRows {
    let mut rows = PageRows::default();
    let channel = uuid_of(channel_id);
    for (i, m) in page.iter().enumerate() {
        let platform_id = m.id.to_string();
        let id = ids::message(channel, &platform_id);
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
                        rows.reactions.push(ReactionRow {
                            message_id: id,
                            emoji: reaction.emoji.clone(),
                            anonymized_user_id: user,
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
            rows.attachments.push(AttachmentRow {
                message_id: id,
                platform_attachment_id: a.id.clone(),
                filename: a.filename.clone(),
                file_size: i64::try_from(a.size).unwrap_or(i64::MAX),
                content_type: a
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                url: a.url.clone(),
            });
        }
        rows.messages.push(MessageRow {
            channel_id: channel,
            platform_message_id: platform_id,
            anonymized_author_id: anonymizer.user_id(&m.author_id),
            content: anonymizer.rewrite_mentions(&m.content).into_owned(),
            reply_to_id: m.reply_to_id.clone(),
            metadata: Some(metadata),
            platform_created_at: m.created_at,
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

/// The statements that upsert messages, then their reactions and attachments (run them inside
/// a page transaction), built for `backend`.
pub fn rows_statements(
    backend: DbBackend,
    messages: &[MessageRow],
    reactions: &[ReactionRow],
    attachments: &[AttachmentRow],
) -> Vec<Statement> {
    let mut statements = repo::messages::upsert_statements(backend, messages);
    statements.extend(repo::reactions::upsert_statements(backend, reactions));
    statements.extend(repo::attachments::upsert_statements(backend, attachments));
    statements
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

/// The `sync_progress` row of an update.
pub fn progress_row(p: &ProgressUpdate<'_>) -> ProgressRow {
    let status = match p.status {
        "completed" => ProgressStatus::Completed,
        "failed" => ProgressStatus::Failed,
        _ => ProgressStatus::InProgress,
    };
    ProgressRow {
        tenant_id: uuid_of(p.tenant_id),
        channel_id: uuid_of(p.channel_id),
        last_synced_message_id: if p.cursor == 0 {
            String::new()
        } else {
            p.cursor.to_string()
        },
        last_synced_at: p.now,
        status,
        error_details: p.error.clone(),
        worker_id: p.worker_id.map(str::to_owned),
        started_at: Some(p.started_at),
        messages_per_second: p.messages_per_second.map(rust_decimal::Decimal::from),
    }
}

/// Upsert a channel's `sync_progress` row.
pub async fn save_progress<C: ConnectionTrait>(db: &C, p: ProgressUpdate<'_>) -> Result<()> {
    repo::sync_progress::upsert(db, std::slice::from_ref(&progress_row(&p))).await?;
    Ok(())
}

/// Forget every cursor of a tenant (`verta sync reset`); returns how many were removed.
pub async fn reset_cursors<C: ConnectionTrait>(db: &C, tenant_id: &str) -> Result<u64> {
    repo::sync_progress::reset_tenant(db, uuid_of(tenant_id)).await
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
    let tenant = uuid_of(tenant_id);
    let mut row_ids = HashMap::new();
    let rows: Vec<ChannelRow> = found
        .iter()
        .map(|c| {
            let row = ChannelRow {
                tenant_id: tenant,
                platform_channel_id: c.id.clone(),
                name: c.name.clone(),
                kind: match c.kind {
                    ChannelKind::Text => RepoKind::Text,
                    ChannelKind::Forum => RepoKind::Forum,
                    ChannelKind::Category => RepoKind::Category,
                    ChannelKind::Thread => RepoKind::Thread,
                },
                parent_channel_id: c.parent_id.clone(),
                metadata: Some(c.metadata.clone()),
            };
            row_ids.insert(c.id.clone(), row.id().to_string());
            row
        })
        .collect();
    repo::channels::upsert(db, &rows).await?;

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
    Ok(row_ids)
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
