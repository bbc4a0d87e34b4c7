//! `channel_sync_jobs`: one row per channel inside a tenant-wide sync run. The table has no
//! unique key besides the id; the id is deterministic ([`ids::channel_sync_job`] of parent job
//! and channel), so the upsert on the primary key makes reporting a channel's state
//! idempotent.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::channel_sync_jobs::{ActiveModel, Column, Entity, Model};

use super::{ROW_OVERHEAD_BYTES, ids, json_size, upsert_chunked};
use crate::db;
use crate::error::Result;

/// `channel_sync_jobs.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelJobStatus {
    /// Not started.
    Pending,
    /// Running.
    InProgress,
    /// Finished.
    Completed,
    /// Failed (see `error_details`).
    Failed,
}

impl ChannelJobStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelJobStatus::Pending => "pending",
            ChannelJobStatus::InProgress => "in_progress",
            ChannelJobStatus::Completed => "completed",
            ChannelJobStatus::Failed => "failed",
        }
    }

    /// Parse a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(ChannelJobStatus::Pending),
            "in_progress" => Some(ChannelJobStatus::InProgress),
            "completed" => Some(ChannelJobStatus::Completed),
            "failed" => Some(ChannelJobStatus::Failed),
            _ => None,
        }
    }
}

/// The state of one channel in one tenant job.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelJobRow {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Channel row id.
    pub channel_id: Uuid,
    /// Id of the tenant-level job (free text, at most 255 characters).
    pub parent_job_id: String,
    /// Worker running it (at most 50 characters).
    pub worker_id: Option<String>,
    /// State.
    pub status: ChannelJobStatus,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub completed_at: Option<DateTime<Utc>>,
    /// Messages written so far.
    pub messages_processed: Option<i32>,
    /// JSON error record.
    pub error_details: Option<serde_json::Value>,
}

impl ChannelJobRow {
    /// The row id: [`ids::channel_sync_job`] of parent job and channel.
    pub fn id(&self) -> Uuid {
        ids::channel_sync_job(&self.parent_job_id, self.channel_id)
    }
}

/// Upsert channel job states on the (deterministic) primary key: worker, status, times,
/// counter and error are replaced. Idempotent; last write wins. Returns rows written.
pub async fn upsert(db: &impl ConnectionTrait, rows: &[ChannelJobRow]) -> Result<usize> {
    let now = db::now();
    let on_conflict = OnConflict::column(Column::Id)
        .update_columns([
            Column::WorkerId,
            Column::Status,
            Column::StartedAt,
            Column::CompletedAt,
            Column::MessagesProcessed,
            Column::ErrorDetails,
            Column::UpdatedAt,
        ])
        .to_owned();
    upsert_chunked::<Entity, _, _>(
        db,
        rows,
        |r| ROW_OVERHEAD_BYTES + r.parent_job_id.len() + json_size(&r.error_details),
        |r| ActiveModel {
            id: Set(r.id().to_string()),
            tenant_id: Set(r.tenant_id.to_string()),
            channel_id: Set(r.channel_id.to_string()),
            parent_job_id: Set(r.parent_job_id.clone()),
            worker_id: Set(r.worker_id.clone()),
            status: Set(r.status.as_str().to_owned()),
            started_at: Set(r.started_at),
            completed_at: Set(r.completed_at),
            messages_processed: Set(r.messages_processed),
            error_details: Set(r.error_details.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        },
        &on_conflict,
    )
    .await
}

/// Channel job rows of one tenant job, ordered by channel id.
pub async fn for_parent_job(db: &impl ConnectionTrait, parent_job_id: &str) -> Result<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::ParentJobId.eq(parent_job_id))
        .order_by_asc(Column::ChannelId)
        .all(db)
        .await?)
}
