//! `message_attachments`: one row per file attached to a message.
//!
//! The table has no unique key besides the primary key (the original duplicated every
//! attachment on each re-sync). Choice made here: the id is deterministic,
//! [`ids::attachment`] = UUIDv5(message id, platform attachment id), and the upsert is on the
//! primary key, so a re-sync rewrites the same row. No schema change is needed, and the
//! (signed, expiring) CDN URL and the other fields are refreshed: last write wins.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use entity::message_attachments::{ActiveModel, Column, Entity};

use super::{ROW_OVERHEAD_BYTES, execute_all, ids};
use crate::db;
use crate::error::Result;

/// One attachment of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    /// Message row id ([`ids::message`]).
    pub message_id: Uuid,
    /// Discord's attachment snowflake (only used to derive the row id).
    pub platform_attachment_id: String,
    /// Original file name (at most 500 characters).
    pub filename: String,
    /// Size in bytes.
    pub file_size: i64,
    /// MIME type (`application/octet-stream` when Discord gives none).
    pub content_type: String,
    /// Discord CDN URL.
    pub url: String,
}

impl AttachmentRow {
    /// The row id: [`ids::attachment`] of message id and platform attachment id.
    pub fn id(&self) -> Uuid {
        ids::attachment(self.message_id, &self.platform_attachment_id)
    }
}

/// Upsert attachments on the (deterministic) primary key: new ones are inserted, existing
/// ones get the new file name, size, content type and URL. Idempotent; last write wins.
/// Returns the number of rows written.
pub async fn upsert(db: &impl ConnectionTrait, rows: &[AttachmentRow]) -> Result<usize> {
    execute_all(db, upsert_statements(db.get_database_backend(), rows)).await?;
    Ok(rows.len())
}

/// The statements of [`upsert`], built for `backend` and not executed.
pub fn upsert_statements(backend: DbBackend, rows: &[AttachmentRow]) -> Vec<Statement> {
    let now = db::now();
    let on_conflict = OnConflict::column(Column::Id)
        .update_columns([
            Column::Filename,
            Column::FileSize,
            Column::ContentType,
            Column::Url,
        ])
        .to_owned();
    super::upsert_statements::<Entity, _, _>(
        backend,
        rows,
        |r| ROW_OVERHEAD_BYTES + r.filename.len() + r.content_type.len() + r.url.len(),
        |r| ActiveModel {
            id: Set(r.id().to_string()),
            message_id: Set(r.message_id.to_string()),
            filename: Set(r.filename.clone()),
            file_size: Set(r.file_size),
            content_type: Set(r.content_type.clone()),
            url: Set(r.url.clone()),
            created_at: Set(now),
        },
        &on_conflict,
    )
}
