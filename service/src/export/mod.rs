//! Streaming export of a tenant's archive to JSON files, in the original's layout
//! (docs/design.md; the differences in docs/differences.md):
//!
//! ```text
//! <out>/<tenant slug>/metadata.json                         tenant, channels, branding, generatedAt, dataVersion
//! <out>/<tenant slug>/channels/<channel id>/page-N.json       1,000 messages a page, newest first
//! <out>/<tenant slug>/channels/<forum id>/threads-page-N.json 30 threads a page, latest activity first
//! <out>/<tenant slug>/files/<sha256>                          with --with-files: each stored blob once
//! ```
//!
//! Memory stays flat whatever the tenant's size: messages are read by keyset pages of 1,000
//! (never OFFSET, never a whole channel), each page is written while the next one is read, and
//! at most two pages are held at a time. The whole export reads one transaction, so it is a
//! consistent snapshot even while a sync writes. Every file is written to a temporary sibling and
//! renamed into place; page files and channel directories left over from a bigger earlier export
//! are removed. Differences from the original: forums export their threads (the original's were
//! always empty), a thread's `firstMessage` is its true first message, `filesGenerated` counts
//! thread pages, `replyToId` is the replied-to message's platform id (what the archive stores),
//! and any failure aborts the export with an error instead of a partial result.
//!
//! [`export_tenant`] exports one tenant in the caller's task (the `verta export` CLI);
//! [`jobs::ExportJobs`] queues exports in the background for the admin routes.

pub mod files;
pub mod jobs;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde::{Deserialize, Serialize};

use entity::channels;

use crate::archive::{
    self,
    query::{self, ChannelStats, Direction, Position},
    view::{AttachmentFile, ChannelView, MessageView, TenantView, ThreadView, ts},
};
use crate::error::{Error, Result};
use crate::files::BlobStore;
use crate::repo::channels::ChannelKind;
use crate::tenants::{self, Tenant};

pub use jobs::{ExportJobState, ExportJobStatus, ExportJobs};

/// Messages per `page-N.json` (the original's page size).
pub const MESSAGES_PER_PAGE: u64 = 1_000;
/// Threads per `threads-page-N.json` (the original's page size).
pub const THREADS_PER_PAGE: u64 = 30;
/// `dataVersion` written into `metadata.json`.
pub const DATA_VERSION: &str = "1.0.0";

/// Receives progress of a running export (the CLI draws a bar, the API keeps a percentage).
pub trait Progress: Send + Sync {
    /// Called once, before any page is written, with the number of messages to export.
    fn begin(&self, _total_messages: u64) {}
    /// Called after each written message page with the number of messages it held.
    fn advance(&self, _messages: u64) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The summary of a finished export (the original's `ExportResult` without `errors`: a
/// failure aborts the export instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    /// The tenant's id.
    pub tenant_id: String,
    /// The tenant's slug (the name of its directory).
    pub tenant_slug: String,
    /// Channels listed in `metadata.json` (all of the tenant's channels).
    pub channels_exported: u64,
    /// Messages written over all page files.
    pub messages_exported: u64,
    /// Files written: `metadata.json`, message pages and thread pages.
    pub files_generated: u64,
    /// The tenant directory, `<out>/<slug>`.
    pub export_path: String,
    /// Wall-clock duration.
    pub execution_time_ms: u64,
}

/// Contents of `metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataFile {
    /// The tenant.
    pub tenant: TenantView,
    /// Every channel of the tenant, oldest row first.
    pub channels: Vec<ChannelView>,
    /// The tenant's colours and logo, `null` when it has none.
    pub branding: Option<BrandingFile>,
    /// When the export ran.
    #[serde(with = "ts")]
    pub generated_at: DateTime<Utc>,
    /// Format version, [`DATA_VERSION`].
    pub data_version: String,
}

/// The branding part of `metadata.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrandingFile {
    /// Logo URL or data URI.
    pub logo: Option<String>,
    /// `#rrggbb`.
    pub primary_color: String,
    /// `#rrggbb`.
    pub secondary_color: String,
    /// `#rrggbb`.
    pub accent_color: String,
}

/// Contents of `channels/<id>/page-N.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePageFile {
    /// The channel's internal id.
    pub channel_id: String,
    /// The channel's name.
    pub channel_name: String,
    /// The channel's type.
    pub channel_type: Option<String>,
    /// 1-based page number; page 1 holds the newest messages.
    pub page: u64,
    /// Pages of this channel.
    pub total_pages: u64,
    /// Up to [`MESSAGES_PER_PAGE`] messages, newest first.
    pub messages: Vec<MessageView>,
}

/// Contents of `channels/<forum id>/threads-page-N.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadPageFile {
    /// The forum's internal id.
    pub forum_id: String,
    /// The forum's name.
    pub forum_name: String,
    /// 1-based page number.
    pub page: u64,
    /// Pages of this forum (at least 1).
    pub total_pages: u64,
    /// Threads of this forum.
    pub total_threads: u64,
    /// [`THREADS_PER_PAGE`].
    pub threads_per_page: u64,
    /// Threads, most recently active first.
    pub threads: Vec<ThreadView>,
}

fn join_error(path: &Path, e: tokio::task::JoinError) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    }
}

/// Write `value` atomically on the blocking pool, so the caller can read the next page meanwhile.
fn spawn_write<T: Serialize + Send + 'static>(
    path: PathBuf,
    value: T,
) -> tokio::task::JoinHandle<Result<u64>> {
    tokio::task::spawn_blocking(move || files::write_json_atomic(&path, &value))
}

async fn finish_write(path: &Path, handle: tokio::task::JoinHandle<Result<u64>>) -> Result<u64> {
    handle.await.map_err(|e| join_error(path, e))?
}

fn page_count(items: u64, per_page: u64) -> u64 {
    items.div_ceil(per_page)
}

/// Export tenant `tenant` (id or slug) into `<out_dir>/<slug>/`.
///
/// Errors: [`Error::NotFound`] for an unknown tenant, [`Error::Io`] naming the path when the
/// directory cannot be created or written, [`Error::Database`] on database failures.
pub async fn export_tenant(
    db: &DatabaseConnection,
    tenant: &str,
    out_dir: &Path,
    progress: &dyn Progress,
) -> Result<ExportResult> {
    export_tenant_with_files(db, tenant, out_dir, progress, None).await
}

/// [`export_tenant`], and with `files` (`verta export --with-files`) also every stored blob
/// of the tenant, streamed from that store once per hash into `<slug>/files/<sha256>`; the
/// message pages' attachments then say `"file": "files/<sha256>"` when their bytes are
/// stored. Without `files` the output is exactly [`export_tenant`]'s.
#[tracing::instrument(skip(db, progress, files), fields(out_dir = %out_dir.display()))]
pub async fn export_tenant_with_files(
    db: &DatabaseConnection,
    tenant: &str,
    out_dir: &Path,
    progress: &dyn Progress,
    files: Option<&BlobStore>,
) -> Result<ExportResult> {
    let started = Instant::now();
    // One read transaction: counts, pages and metadata describe the same moment. It is ended
    // explicitly on every path: a transaction left to `Drop` is only rolled back when its
    // connection is next used, and meanwhile holds MySQL metadata locks.
    let tx = db.begin().await?;
    let outcome = export_in(&tx, tenant, out_dir, progress, files, started).await;
    match outcome {
        Ok(result) => {
            tx.commit().await?;
            tracing::info!(
                tenant_id = %result.tenant_id,
                messages = result.messages_exported,
                files = result.files_generated,
                ms = result.execution_time_ms,
                "export finished"
            );
            Ok(result)
        }
        Err(e) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback of the export's read transaction failed");
            }
            Err(e)
        }
    }
}

async fn export_in(
    tx: &DatabaseTransaction,
    tenant: &str,
    out_dir: &Path,
    progress: &dyn Progress,
    blobs: Option<&BlobStore>,
    started: Instant,
) -> Result<ExportResult> {
    let tenant = tenants::get_by_id_or_slug(tx, tenant).await?;
    let tenant_id = tenant.id.to_string();
    let tenant_dir = out_dir.join(&tenant.slug);
    let channels_dir = tenant_dir.join("channels");
    files::ensure_dir(&channels_dir)?;
    files::check_writable(&channels_dir)?;

    let channels = archive::channel_rows(tx, &tenant_id).await?;
    let stats = query::channel_stats(
        tx,
        Condition::all().add(channels::Column::TenantId.eq(tenant_id.as_str())),
    )
    .await?;
    let total: u64 = channels
        .iter()
        .filter(|c| !is_forum(c))
        .filter_map(|c| stats.get(&c.id))
        .map(|s| s.message_count)
        .sum();
    progress.begin(total);
    tracing::info!(%tenant_id, channels = channels.len(), messages = total, "export started");

    let with_files = blobs.is_some();
    let (channel_files, messages_exported) = export_channels(
        tx,
        &tenant_id,
        &channels,
        &stats,
        &channels_dir,
        progress,
        with_files,
    )
    .await?;
    let keep: HashSet<String> = channels.iter().map(|c| c.id.clone()).collect();
    files::remove_stale_channel_dirs(&channels_dir, &keep)?;
    if let Some(store) = blobs {
        export_blobs(tx, store, &tenant_id, &tenant_dir.join(FILES_DIR)).await?;
    }

    let channels_exported = channels.len() as u64;
    let tenant_slug = tenant.slug.clone();
    // Written last, like the original: its presence means the export finished.
    write_metadata(tx, tenant, channels, &tenant_dir).await?;

    Ok(ExportResult {
        tenant_id,
        tenant_slug,
        channels_exported,
        messages_exported,
        files_generated: channel_files + 1,
        export_path: tenant_dir.display().to_string(),
        execution_time_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Write the pages of every channel (message pages, or thread pages for forums) and remove
/// the other kind's leftovers; returns (files, messages) written.
async fn export_channels(
    tx: &DatabaseTransaction,
    tenant_id: &str,
    channels: &[channels::Model],
    stats: &HashMap<String, ChannelStats>,
    channels_dir: &Path,
    progress: &dyn Progress,
    with_files: bool,
) -> Result<(u64, u64)> {
    let mut files_generated = 0u64;
    let mut messages_exported = 0u64;
    for channel in channels {
        let dir = channels_dir.join(&channel.id);
        files::ensure_dir(&dir)?;
        if is_forum(channel) {
            files_generated += export_forum(tx, tenant_id, channel, &dir).await?;
            files::remove_stale_pages(&dir, "page-", 0)?;
        } else {
            let count = stats.get(&channel.id).map_or(0, |s| s.message_count);
            let (written_files, written_messages) =
                export_channel(tx, channel, count, &dir, progress, with_files).await?;
            files_generated += written_files;
            messages_exported += written_messages;
            files::remove_stale_pages(&dir, "threads-page-", 0)?;
        }
    }
    Ok((files_generated, messages_exported))
}

/// Write `<tenant_dir>/metadata.json`: the tenant, its channels and its branding.
async fn write_metadata(
    tx: &DatabaseTransaction,
    tenant: Tenant,
    channels: Vec<channels::Model>,
    tenant_dir: &Path,
) -> Result<()> {
    let branding = archive::branding(tx, &tenant.id.to_string())
        .await?
        .map(|b| BrandingFile {
            logo: b.logo,
            primary_color: b.primary_color,
            secondary_color: b.secondary_color,
            accent_color: b.accent_color,
        });
    let metadata = MetadataFile {
        tenant: TenantView::from(tenant),
        channels: channels.into_iter().map(ChannelView::from).collect(),
        branding,
        generated_at: Utc::now(),
        data_version: DATA_VERSION.to_owned(),
    };
    let path = tenant_dir.join("metadata.json");
    finish_write(&path, spawn_write(path.clone(), metadata)).await?;
    Ok(())
}

/// Write a channel's message pages; returns (files, messages) written.
async fn export_channel(
    db: &impl sea_orm::ConnectionTrait,
    channel: &channels::Model,
    count: u64,
    dir: &Path,
    progress: &dyn Progress,
    with_files: bool,
) -> Result<(u64, u64)> {
    let total_pages = page_count(count, MESSAGES_PER_PAGE);
    let mut cursor: Option<Position> = None;
    let mut pending: Option<(PathBuf, tokio::task::JoinHandle<Result<u64>>)> = None;
    let mut pages = 0u64;
    let mut messages = 0u64;
    while pages < total_pages {
        let rows = query::messages_from(
            db,
            &channel.id,
            cursor.as_ref(),
            Direction::Older,
            MESSAGES_PER_PAGE,
        )
        .await?;
        let Some(last) = rows.last() else { break };
        cursor = Some(Position::of(last));
        let n = rows.len() as u64;
        let page = MessagePageFile {
            channel_id: channel.id.clone(),
            channel_name: channel.name.clone(),
            channel_type: channel.r#type.clone(),
            page: pages + 1,
            total_pages,
            messages: file_paths(query::with_details(db, rows).await?, with_files),
        };
        if let Some((path, handle)) = pending.take() {
            finish_write(&path, handle).await?;
        }
        let path = dir.join(format!("page-{}.json", pages + 1));
        pending = Some((path.clone(), spawn_write(path, page)));
        pages += 1;
        messages += n;
        progress.advance(n);
    }
    if let Some((path, handle)) = pending.take() {
        finish_write(&path, handle).await?;
    }
    files::remove_stale_pages(dir, "page-", pages)?;
    Ok((pages, messages))
}

/// Write a forum's thread pages (at least one, possibly empty); returns the files written.
async fn export_forum(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: &str,
    forum: &channels::Model,
    dir: &Path,
) -> Result<u64> {
    let threads = archive::threads_by_activity(db, tenant_id, &forum.platform_channel_id).await?;
    let total_threads = threads.len() as u64;
    let total_pages = page_count(total_threads, THREADS_PER_PAGE).max(1);
    let mut threads = threads.into_iter();
    for page in 1..=total_pages {
        let chunk: Vec<_> = threads.by_ref().take(THREADS_PER_PAGE as usize).collect();
        let file = ThreadPageFile {
            forum_id: forum.id.clone(),
            forum_name: forum.name.clone(),
            page,
            total_pages,
            total_threads,
            threads_per_page: THREADS_PER_PAGE,
            threads: archive::thread_views(db, chunk).await?,
        };
        let path = dir.join(format!("threads-page-{page}.json"));
        finish_write(&path, spawn_write(path.clone(), file)).await?;
    }
    files::remove_stale_pages(dir, "threads-page-", total_pages)?;
    Ok(total_pages)
}

/// Directory of the exported blobs, beside `metadata.json`.
pub const FILES_DIR: &str = "files";

/// The attachments of `messages` as an export writes them: with `with_files`, a stored
/// file's `file` is its path in the export (`files/<sha256>`) and other files have none;
/// without, no attachment has a `file` (the export's format before files were stored).
fn file_paths(mut messages: Vec<MessageView>, with_files: bool) -> Vec<MessageView> {
    for a in messages.iter_mut().flat_map(|m| m.attachments.iter_mut()) {
        a.file = match a.stored_sha256() {
            Some(hash) if with_files => Some(AttachmentFile::Path(format!("{FILES_DIR}/{hash}"))),
            _ => None,
        };
    }
    messages
}

/// Write every stored blob of `tenant_id` once into `dir` (`files/<sha256>`), in hash
/// order, a thousand hashes per query; a file already there with the blob's size is kept
/// (content-addressed: same name, same bytes). Returns the blobs written.
async fn export_blobs(
    db: &impl sea_orm::ConnectionTrait,
    store: &BlobStore,
    tenant_id: &str,
    dir: &Path,
) -> Result<u64> {
    files::ensure_dir(dir)?;
    let mut after = String::new();
    let mut written = 0;
    loop {
        let hashes = crate::files::read::tenant_blobs(db, tenant_id, &after).await?;
        for hash in &hashes {
            if files::write_blob_atomic(store, hash, &dir.join(hash)).await? {
                written += 1;
            }
        }
        match hashes.last() {
            Some(last) => after = last.clone(),
            None => break,
        }
    }
    // Blobs of an earlier export that no file of the tenant references any more.
    let listed = files::blob_names(dir)?;
    for chunk in listed.chunks(500) {
        let kept = crate::files::read::tenant_has_blobs(db, tenant_id, chunk).await?;
        for hash in chunk.iter().filter(|h| !kept.contains(*h)) {
            files::remove_file(&dir.join(hash))?;
        }
    }
    Ok(written)
}

/// Whether `channel` is a forum, whose messages live in its threads (exported as thread pages).
fn is_forum(channel: &channels::Model) -> bool {
    channel.r#type.as_deref().and_then(ChannelKind::parse) == Some(ChannelKind::Forum)
}
