//! `sync_progress`: the per-channel cursor (highest stored message snowflake). Upsert on
//! (tenant_id, channel_id); write it in the same transaction as the page it covers.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::sync_progress::{ActiveModel, Column, Entity, Model};

use super::{ROW_OVERHEAD_BYTES, execute_all, ids, json_size};
use crate::db;
use crate::error::Result;

/// `sync_progress.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressStatus {
    /// The channel is being synced.
    InProgress,
    /// The last run of the channel finished.
    Completed,
    /// The last run of the channel failed (see `error_details`).
    Failed,
}

impl ProgressStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressStatus::InProgress => "in_progress",
            ProgressStatus::Completed => "completed",
            ProgressStatus::Failed => "failed",
        }
    }

    /// Parse a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in_progress" => Some(ProgressStatus::InProgress),
            "completed" => Some(ProgressStatus::Completed),
            "failed" => Some(ProgressStatus::Failed),
            _ => None,
        }
    }
}

/// The cursor of one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressRow {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Channel row id.
    pub channel_id: Uuid,
    /// Snowflake of the newest message stored (the `after=` cursor); `""` before any.
    pub last_synced_message_id: String,
    /// When the cursor was written.
    pub last_synced_at: DateTime<Utc>,
    /// State of the channel's last run.
    pub status: ProgressStatus,
    /// JSON error record of the last failure.
    pub error_details: Option<serde_json::Value>,
    /// Worker holding the channel (at most 50 characters).
    pub worker_id: Option<String>,
    /// When the current run began.
    pub started_at: Option<DateTime<Utc>>,
    /// Throughput of the run, whole messages per second.
    pub messages_per_second: Option<Decimal>,
}

/// Upsert cursors on (tenant_id, channel_id): every field except the ids and created_at is
/// replaced. Idempotent; last write wins. Returns the number of rows written.
pub async fn upsert(db: &impl ConnectionTrait, rows: &[ProgressRow]) -> Result<usize> {
    execute_all(db, upsert_statements(db.get_database_backend(), rows)).await?;
    Ok(rows.len())
}

/// The statements of [`upsert`], built for `backend` and not executed.
pub fn upsert_statements(backend: DbBackend, rows: &[ProgressRow]) -> Vec<Statement> {
    let now = db::now();
    let on_conflict = OnConflict::columns([Column::TenantId, Column::ChannelId])
        .update_columns([
            Column::LastSyncedMessageId,
            Column::LastSyncedAt,
            Column::Status,
            Column::ErrorDetails,
            Column::WorkerId,
            Column::StartedAt,
            Column::MessagesPerSecond,
            Column::UpdatedAt,
        ])
        .to_owned();
    super::upsert_statements::<Entity, _, _>(
        backend,
        rows,
        |r| ROW_OVERHEAD_BYTES + json_size(&r.error_details),
        |r| ActiveModel {
            id: Set(ids::sync_progress(r.channel_id).to_string()),
            tenant_id: Set(r.tenant_id.to_string()),
            channel_id: Set(r.channel_id.to_string()),
            last_synced_message_id: Set(r.last_synced_message_id.clone()),
            last_synced_at: Set(r.last_synced_at),
            status: Set(r.status.as_str().to_owned()),
            error_details: Set(r.error_details.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            worker_id: Set(r.worker_id.clone()),
            started_at: Set(r.started_at),
            messages_per_second: Set(r.messages_per_second),
        },
        &on_conflict,
    )
}

/// The cursor row of channel `channel_id` of `tenant_id`, if any.
pub async fn for_channel(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    channel_id: Uuid,
) -> Result<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id.to_string()))
        .filter(Column::ChannelId.eq(channel_id.to_string()))
        .one(db)
        .await?)
}

/// Delete every cursor of a tenant (the next sync starts from the beginning; stored
/// messages stay). Returns the number of rows deleted.
pub async fn reset_tenant(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<u64> {
    Ok(Entity::delete_many()
        .filter(Column::TenantId.eq(tenant_id.to_string()))
        .exec(db)
        .await?
        .rows_affected)
}
