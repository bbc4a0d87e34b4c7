//! `messages`: one row per archived message. Upsert on (channel_id, platform_message_id); an
//! edit (content, reply, metadata) wins, the author and send time never change.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Statement,
};
use uuid::Uuid;

use entity::messages::{ActiveModel, Column, Entity};

use super::{ROW_OVERHEAD_BYTES, execute_all, ids, json_size};
use crate::db;
use crate::error::Result;

/// One message as the sync writes it (user ids already pseudonymised, mentions rewritten).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    /// Channel row id ([`ids::channel`]).
    pub channel_id: Uuid,
    /// Discord message snowflake.
    pub platform_message_id: String,
    /// Pseudonym of the author (64 hex characters).
    pub anonymized_author_id: String,
    /// Text, with user mentions rewritten (at most 65,535 bytes on MySQL).
    pub content: String,
    /// Snowflake of the replied-to message, if any (not a row id).
    pub reply_to_id: Option<String>,
    /// Free-form JSON (edited time, embeds, deletion marker, ...).
    pub metadata: Option<serde_json::Value>,
    /// When Discord says the message was sent.
    pub platform_created_at: DateTime<Utc>,
}

impl MessageRow {
    /// The row id: [`ids::message`] of channel id and platform id.
    pub fn id(&self) -> Uuid {
        ids::message(self.channel_id, &self.platform_message_id)
    }
}

/// Upsert messages on (channel_id, platform_message_id): new ones are inserted with their
/// deterministic id; existing ones get the new content, reply_to_id, metadata and updated_at.
/// Idempotent; last write wins. Returns the number of rows written.
pub async fn upsert(db: &impl ConnectionTrait, rows: &[MessageRow]) -> Result<usize> {
    execute_all(db, upsert_statements(db.get_database_backend(), rows)).await?;
    Ok(rows.len())
}

/// The statements of [`upsert`], built for `backend` and not executed.
pub fn upsert_statements(backend: DbBackend, rows: &[MessageRow]) -> Vec<Statement> {
    let now = db::now();
    let on_conflict = OnConflict::columns([Column::ChannelId, Column::PlatformMessageId])
        .update_columns([
            Column::Content,
            Column::ReplyToId,
            Column::Metadata,
            Column::UpdatedAt,
        ])
        .to_owned();
    super::upsert_statements::<Entity, _, _>(
        backend,
        rows,
        |r| {
            ROW_OVERHEAD_BYTES
                + r.platform_message_id.len()
                + r.content.len()
                + r.reply_to_id.as_ref().map_or(0, String::len)
                + json_size(&r.metadata)
        },
        |r| ActiveModel {
            id: Set(r.id().to_string()),
            channel_id: Set(r.channel_id.to_string()),
            platform_message_id: Set(r.platform_message_id.clone()),
            anonymized_author_id: Set(r.anonymized_author_id.clone()),
            content: Set(r.content.clone()),
            reply_to_id: Set(r.reply_to_id.clone()),
            metadata: Set(r.metadata.clone()),
            platform_created_at: Set(r.platform_created_at),
            created_at: Set(now),
            updated_at: Set(now),
        },
        &on_conflict,
    )
}

/// Row id and metadata of the stored messages of `channel_id` among `platform_ids`.
pub async fn metadata_of(
    db: &impl ConnectionTrait,
    channel_id: Uuid,
    platform_ids: &[String],
) -> Result<Vec<(String, Option<serde_json::Value>)>> {
    if platform_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Metadata)
        .filter(Column::ChannelId.eq(channel_id.to_string()))
        .filter(Column::PlatformMessageId.is_in(platform_ids.iter().map(String::as_str)))
        .into_tuple()
        .all(db)
        .await?)
}

/// Replace the metadata of messages (by row id) and set their `updated_at` to `now`, in one
/// statement per [`super::METADATA_UPDATES_PER_STATEMENT`] rows.
pub async fn set_metadata(
    db: &impl ConnectionTrait,
    updates: &[(String, serde_json::Value)],
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in updates.chunks(super::METADATA_UPDATES_PER_STATEMENT) {
        Entity::update_many()
            .col_expr(
                Column::Metadata,
                super::value_by_id(Column::Id, Column::Metadata, chunk),
            )
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.is_in(chunk.iter().map(|(id, _)| id.as_str())))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Platform ids of the stored messages of `channel_id` sent at or after `since`.
pub async fn platform_ids_since(
    db: &impl ConnectionTrait,
    channel_id: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<String>> {
    Ok(Entity::find()
        .select_only()
        .column(Column::PlatformMessageId)
        .filter(Column::ChannelId.eq(channel_id.to_string()))
        .filter(Column::PlatformCreatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?)
}
