//! `channels`: one row per archived channel, thread, forum or category. Upsert on
//! (tenant_id, platform_channel_id); a changed name, type, parent or metadata wins.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::channels::{ActiveModel, Column, Entity, Model};

use super::{ROW_OVERHEAD_BYTES, ids, json_size, upsert_chunked};
use crate::db;
use crate::error::Result;

/// Stored channel type (`channels.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Text or announcement channel.
    Text,
    /// Public (or announcement) thread, including forum posts.
    Thread,
    /// Forum channel (its posts are threads).
    Forum,
    /// Category (groups channels).
    Category,
}

impl ChannelKind {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Text => "text",
            ChannelKind::Thread => "thread",
            ChannelKind::Forum => "forum",
            ChannelKind::Category => "category",
        }
    }

    /// Parse a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(ChannelKind::Text),
            "thread" => Some(ChannelKind::Thread),
            "forum" => Some(ChannelKind::Forum),
            "category" => Some(ChannelKind::Category),
            _ => None,
        }
    }
}

/// One channel as the sync writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRow {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Discord channel snowflake.
    pub platform_channel_id: String,
    /// Channel name (at most 255 characters).
    pub name: String,
    /// Stored type.
    pub kind: ChannelKind,
    /// Discord snowflake of the parent channel / category, if any (not a row id).
    pub parent_channel_id: Option<String>,
    /// Free-form JSON (topic, archived flags, position, ...).
    pub metadata: Option<serde_json::Value>,
}

impl ChannelRow {
    /// The row id: [`ids::channel`] of tenant and platform id.
    pub fn id(&self) -> Uuid {
        ids::channel(self.tenant_id, &self.platform_channel_id)
    }
}

/// Upsert channels on (tenant_id, platform_channel_id): new ones are inserted with their
/// deterministic id; existing ones get the new name, type, parent, metadata and updated_at.
/// Idempotent; last write wins. Returns the number of rows written.
pub async fn upsert(db: &impl ConnectionTrait, rows: &[ChannelRow]) -> Result<usize> {
    let now = db::now();
    let on_conflict = OnConflict::columns([Column::TenantId, Column::PlatformChannelId])
        .update_columns([
            Column::Name,
            Column::Type,
            Column::ParentChannelId,
            Column::Metadata,
            Column::UpdatedAt,
        ])
        .to_owned();
    upsert_chunked::<Entity, _, _>(
        db,
        rows,
        |r| {
            ROW_OVERHEAD_BYTES + r.platform_channel_id.len() + r.name.len() + json_size(&r.metadata)
        },
        |r| ActiveModel {
            id: Set(r.id().to_string()),
            tenant_id: Set(r.tenant_id.to_string()),
            platform_channel_id: Set(r.platform_channel_id.clone()),
            name: Set(r.name.clone()),
            r#type: Set(Some(r.kind.as_str().to_owned())),
            parent_channel_id: Set(r.parent_channel_id.clone()),
            metadata: Set(r.metadata.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        },
        &on_conflict,
    )
    .await
}

/// Every channel row of a tenant, ordered by id (stable): discovery compares them with what it
/// found, and a job reads their names for its error report.
pub async fn for_tenant(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id.to_string()))
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// The channel row `id`, if it exists.
pub async fn get(db: &impl ConnectionTrait, id: &str) -> Result<Option<Model>> {
    Ok(Entity::find_by_id(id.to_owned()).one(db).await?)
}

/// The channel rows among `ids` (in no particular order; unknown ids are skipped), in one
/// query per 500 ids.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[&str]) -> Result<Vec<Model>> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        rows.extend(
            Entity::find()
                .filter(Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    Ok(rows)
}

/// Replace the metadata of channels (by row id) and set their `updated_at` to `now` (the
/// search indexer follows channels by it: a channel marked vanished must leave the index), in
/// one statement per [`super::METADATA_UPDATES_PER_STATEMENT`] rows.
pub async fn set_metadata(
    db: &impl ConnectionTrait,
    updates: &[(String, serde_json::Value)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    for chunk in updates.chunks(super::METADATA_UPDATES_PER_STATEMENT) {
        Entity::update_many()
            .col_expr(
                Column::Metadata,
                super::value_by_id(Column::Id, Column::Metadata, chunk),
            )
            .col_expr(Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
            .filter(Column::Id.is_in(chunk.iter().map(|(id, _)| id.as_str())))
            .exec(db)
            .await?;
    }
    Ok(())
}
