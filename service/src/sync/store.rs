//! Writes and reads of the sync's data (rows built by [`crate::sync::rows`]): the statements
//! of a page of messages with its reactions and attachments, deletion marks, the channel
//! cursors, and the discovered channels. Every write is an upsert on a unique key with a
//! deterministic id, so re-running any sync never duplicates a row; the table-level SQL lives
//! in the repositories ([`crate::repo`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::Result;
use crate::platform::PlatformChannel;
use crate::repo::{
    self, attachments::AttachmentRow, channels::ChannelKind, messages::MessageRow,
    reactions::ReactionRow,
};
use crate::sync::rows::{self, ProgressUpdate, uuid_of};

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
/// (`metadata.deleted = true`, `metadata.deletedSeenAt`); the rows stay. Messages marked
/// before keep their first mark. One read and one update per 500 messages. Returns how many
/// were marked now.
pub async fn mark_deleted<C: ConnectionTrait>(
    db: &C,
    channel_id: &str,
    platform_ids: &[String],
    now: DateTime<Utc>,
) -> Result<usize> {
    let channel = uuid_of(channel_id);
    let mut marked = 0;
    for chunk in platform_ids.chunks(repo::METADATA_UPDATES_PER_STATEMENT) {
        let updates: Vec<(String, serde_json::Value)> =
            repo::messages::metadata_of(db, channel, chunk)
                .await?
                .into_iter()
                .filter_map(|(id, metadata)| {
                    rows::deleted_message_metadata(metadata.as_ref(), now).map(|m| (id, m))
                })
                .collect();
        repo::messages::set_metadata(db, &updates, now).await?;
        marked += updates.len();
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
    // Ids are decimal strings of varying length: compare numerically in Rust, not in SQL;
    // the send time (a second early, for its rounding) narrows the read. Rescans only cover
    // the recent window, so this set stays small.
    let since = crate::platform::snowflake_time(after) - chrono::Duration::seconds(1);
    let ids = repo::messages::platform_ids_since(db, uuid_of(channel_id), since).await?;
    Ok(ids
        .iter()
        .filter_map(|s| s.parse::<u64>().ok())
        .filter(|id| *id > after && *id <= upto)
        .collect())
}

/// The stored cursor of a channel: the highest stored message id (0 before any).
pub async fn cursor<C: ConnectionTrait>(db: &C, tenant_id: &str, channel_id: &str) -> Result<u64> {
    let row = repo::sync_progress::for_channel(db, uuid_of(tenant_id), uuid_of(channel_id)).await?;
    Ok(row
        .and_then(|r| r.last_synced_message_id.parse::<u64>().ok())
        .unwrap_or(0))
}

/// Upsert a channel's `sync_progress` row.
pub async fn save_progress<C: ConnectionTrait>(db: &C, p: ProgressUpdate<'_>) -> Result<()> {
    repo::sync_progress::upsert(db, std::slice::from_ref(&rows::progress_row(&p))).await?;
    Ok(())
}

/// Forget every cursor of a tenant (`verta sync reset`); returns how many were removed.
pub async fn reset_cursors<C: ConnectionTrait>(db: &C, tenant_id: &str) -> Result<u64> {
    repo::sync_progress::reset_tenant(db, uuid_of(tenant_id)).await
}

/// Upsert the discovered channels of a tenant and mark stored ones that were not seen
/// (vanished or hidden) in their metadata; nothing is deleted. A thread under a parent whose
/// thread list is `incomplete_parents` (discovery could not read it) is not marked. Returns
/// the row id of every discovered channel, keyed by platform id.
pub async fn reconcile_channels<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    found: &[PlatformChannel],
    incomplete_parents: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, String>> {
    let tenant = uuid_of(tenant_id);
    let rows: Vec<_> = found.iter().map(|c| rows::channel_row(tenant, c)).collect();
    repo::channels::upsert(db, &rows).await?;
    let row_ids = rows
        .iter()
        .map(|r| (r.platform_channel_id.clone(), r.id().to_string()))
        .collect();

    let seen: HashSet<&str> = found.iter().map(|c| c.id.as_str()).collect();
    let incomplete: HashSet<&str> = incomplete_parents.iter().map(String::as_str).collect();
    let vanished: Vec<(String, serde_json::Value)> = repo::channels::for_tenant(db, tenant)
        .await?
        .into_iter()
        .filter(|row| !seen.contains(row.platform_channel_id.as_str()))
        .filter(|row| {
            let is_thread = row.r#type.as_deref() == Some(ChannelKind::Thread.as_str());
            !(is_thread
                && row
                    .parent_channel_id
                    .as_deref()
                    .is_some_and(|p| incomplete.contains(p)))
        })
        .filter_map(|row| {
            rows::vanished_channel_metadata(row.metadata.as_ref(), row.updated_at, now)
                .map(|m| (row.id, m))
        })
        .collect();
    repo::channels::set_metadata(db, &vanished, now).await?;
    Ok(row_ids)
}
