//! Group commit of the sync's pages.
//!
//! Every channel slot of a job hands its pages (rows, cursor advance, item progress) to one
//! writer task, which writes whatever pages are waiting in one transaction: each page is
//! still written atomically with its own cursor advance, but eight concurrent channels cost
//! one commit and one multi-row upsert per table instead of eight. On SQLite that matters
//! most: a commit writes every index page it touched to the WAL, and pages of the random-ish
//! indexes (author, reacting user) are shared by the rows of different channels. The writer
//! uses [`crate::db::write_connection`] (on SQLite a dedicated connection whose page cache
//! stays valid, because no other connection writes those pages in between).
//!
//! A channel submits page `k + 1` only after page `k` committed (and fetches page `k + 1`
//! from the platform meanwhile), so a failed page can never be followed by a committed later
//! page of the same channel, whose cursor would skip the failed one. When a group's
//! transaction fails, its pages are retried one transaction each, so that the error reaches
//! the channel that caused it and the others go on.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::error::Result;
use crate::repo::{self, sync_progress::ProgressRow};
use crate::sync::{queue, store};

/// Most pages written in one transaction (a job has at most one waiting page per channel
/// slot, so this only bounds unusually high `SYNC_CHANNEL_CONCURRENCY`).
pub const MAX_PAGES_PER_COMMIT: usize = 16;

/// One page of one channel, ready to write.
#[derive(Debug)]
pub(crate) struct PageWrite {
    /// The page's rows.
    pub rows: store::PageRows,
    /// Channel row id.
    pub channel_row_id: String,
    /// Platform ids of stored messages the platform no longer returns (rescans).
    pub deleted: Vec<String>,
    /// When the deletions were seen.
    pub seen_at: DateTime<Utc>,
    /// The channel's cursor after this page.
    pub progress: ProgressRow,
    /// The `channel_sync_jobs` item and its messages processed after this page.
    pub item_id: String,
    /// Messages of the item written once this page commits.
    pub written: i32,
}

type Request = (PageWrite, oneshot::Sender<Result<()>>);

/// Handle of a job's writer task; dropping every handle ends the task once it has written
/// what was submitted.
#[derive(Clone)]
pub(crate) struct PageWriter {
    tx: mpsc::Sender<Request>,
}

/// A submitted page: await it to learn whether it committed.
pub(crate) struct PendingPage(oneshot::Receiver<Result<()>>);

impl PendingPage {
    /// Wait until the page's transaction ended.
    pub async fn committed(self) -> Result<()> {
        self.0
            .await
            .unwrap_or_else(|_| Err(writer_gone("stopped before writing a page")))
    }
}

impl PageWriter {
    /// Start the writer task of a job on `db` (see [`crate::db::write_connection`]).
    pub fn spawn(db: DatabaseConnection, worker_id: String) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_PAGES_PER_COMMIT);
        let task = tokio::spawn(run(db, worker_id, rx).in_current_span());
        (Self { tx }, task)
    }

    /// Queue a page for the next commit.
    pub async fn submit(&self, page: PageWrite) -> PendingPage {
        let (done, wait) = oneshot::channel();
        if let Err(mpsc::error::SendError((_, done))) = self.tx.send((page, done)).await {
            let _ = done.send(Err(writer_gone("has stopped")));
        }
        PendingPage(wait)
    }
}

/// The writer task ended early (it panicked or its runtime is shutting down).
fn writer_gone(what: &str) -> crate::Error {
    crate::Error::Database(sea_orm::DbErr::Custom(format!(
        "the sync's page writer {what}"
    )))
}

async fn run(db: DatabaseConnection, worker_id: String, mut rx: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_PAGES_PER_COMMIT);
    while rx.recv_many(&mut batch, MAX_PAGES_PER_COMMIT).await > 0 {
        let (pages, replies): (Vec<PageWrite>, Vec<_>) = batch.drain(..).unzip();
        let results = write_group(&db, &worker_id, pages).await;
        for (reply, result) in replies.into_iter().zip(results) {
            // A channel that stopped waiting (cancelled) does not need the answer.
            let _ = reply.send(result);
        }
    }
}

/// Write `pages` in one transaction; when that fails, each page in its own. One result per
/// page, in order.
async fn write_group(
    db: &DatabaseConnection,
    worker_id: &str,
    mut pages: Vec<PageWrite>,
) -> Vec<Result<()>> {
    // The rows of all pages, moved (not copied) into one batch; page i owns ranges[i].
    let mut all = store::PageRows::default();
    let mut ranges = Vec::with_capacity(pages.len());
    for page in &mut pages {
        let rows = std::mem::take(&mut page.rows);
        let start = (
            all.messages.len(),
            all.reactions.len(),
            all.attachments.len(),
        );
        all.messages.extend(rows.messages);
        all.reactions.extend(rows.reactions);
        all.attachments.extend(rows.attachments);
        ranges.push(Rows {
            messages: start.0..all.messages.len(),
            reactions: start.1..all.reactions.len(),
            attachments: start.2..all.attachments.len(),
        });
    }
    let whole = Rows {
        messages: 0..all.messages.len(),
        reactions: 0..all.reactions.len(),
        attachments: 0..all.attachments.len(),
    };
    let result = write_pages(db, worker_id, &all, &whole, &pages).await;
    if pages.len() == 1 {
        return vec![result];
    }
    match result {
        Ok(()) => pages.iter().map(|_| Ok(())).collect(),
        Err(e) => {
            tracing::warn!(error = %e, pages = pages.len(), "group commit failed; writing its pages one by one");
            let mut results = Vec::with_capacity(pages.len());
            for (page, rows) in pages.iter().zip(&ranges) {
                let one = std::slice::from_ref(page);
                results.push(write_pages(db, worker_id, &all, rows, one).await);
            }
            results
        }
    }
}

/// Ranges of a batch's rows.
struct Rows {
    messages: std::ops::Range<usize>,
    reactions: std::ops::Range<usize>,
    attachments: std::ops::Range<usize>,
}

/// One transaction: the `rows` of `all` (one upsert per table), then the deletion marks, the
/// cursors and the items' progress of `pages`.
async fn write_pages(
    db: &DatabaseConnection,
    worker_id: &str,
    all: &store::PageRows,
    rows: &Rows,
    pages: &[PageWrite],
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    store::write_rows(
        &txn,
        &all.messages[rows.messages.clone()],
        &all.reactions[rows.reactions.clone()],
        &all.attachments[rows.attachments.clone()],
    )
    .await?;
    for page in pages.iter().filter(|p| !p.deleted.is_empty()) {
        store::mark_deleted(&txn, &page.channel_row_id, &page.deleted, page.seen_at).await?;
    }
    let cursors: Vec<ProgressRow> = pages.iter().map(|p| p.progress.clone()).collect();
    repo::sync_progress::upsert(&txn, &cursors).await?;
    for page in pages {
        queue::item_progress(&txn, &page.item_id, worker_id, page.written).await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::channels::{ChannelKind, ChannelRow};
    use crate::repo::messages::MessageRow;
    use crate::repo::sync_progress::ProgressStatus;
    use crate::tenants::{self, CreateTenant};
    use entity::{messages, sync_progress};
    use sea_orm::{EntityTrait, PaginatorTrait};
    use uuid::Uuid;

    fn page(tenant: Uuid, channel: Uuid, snowflake: u64) -> PageWrite {
        let now = crate::db::now();
        PageWrite {
            rows: store::PageRows {
                messages: vec![MessageRow {
                    channel_id: channel,
                    platform_message_id: snowflake.to_string(),
                    anonymized_author_id: "a".repeat(64),
                    content: "hello".into(),
                    reply_to_id: None,
                    metadata: None,
                    platform_created_at: now,
                }],
                ..Default::default()
            },
            channel_row_id: channel.to_string(),
            deleted: Vec::new(),
            seen_at: now,
            progress: ProgressRow {
                tenant_id: tenant,
                channel_id: channel,
                last_synced_message_id: snowflake.to_string(),
                last_synced_at: now,
                status: ProgressStatus::InProgress,
                error_details: None,
                worker_id: Some("w".into()),
                started_at: Some(now),
                messages_per_second: None,
            },
            item_id: Uuid::new_v4().to_string(),
            written: 1,
        }
    }

    /// Pages queued together share a transaction; when one of them cannot be written, the
    /// others still commit and only its channel gets the error.
    #[tokio::test]
    async fn a_failing_page_fails_alone_and_the_rest_of_its_group_commits() {
        let test_db = testkit::db::TestDb::new().await;
        let db = crate::db::connect_url(test_db.url()).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let tenant = tenants::create(
            &db,
            &CreateTenant {
                name: Some("Writer".into()),
                slug: None,
                platform: Some("discord".into()),
                platform_id: Some("1".into()),
                status: None,
            },
        )
        .await
        .unwrap();
        let rows: Vec<ChannelRow> = ["10", "11"]
            .into_iter()
            .map(|id| ChannelRow {
                tenant_id: tenant.id,
                platform_channel_id: id.into(),
                name: format!("c{id}"),
                kind: ChannelKind::Text,
                parent_channel_id: None,
                metadata: None,
            })
            .collect();
        repo::channels::upsert(&db, &rows).await.unwrap();
        let (a, b) = (rows[0].id(), rows[1].id());
        let missing = Uuid::new_v4(); // no such channel row: its page breaks a foreign key

        let (writer, task) = PageWriter::spawn(crate::db::write_connection(&db), "w".into());
        // Queued before the writer task first runs (current-thread runtime): one group.
        let first = writer.submit(page(tenant.id, a, 100)).await;
        let broken = writer.submit(page(tenant.id, missing, 200)).await;
        let second = writer.submit(page(tenant.id, b, 300)).await;
        assert!(first.committed().await.is_ok());
        assert!(broken.committed().await.is_err());
        assert!(second.committed().await.is_ok());
        // A later page of a healthy channel still goes through.
        let third = writer.submit(page(tenant.id, a, 400)).await;
        assert!(third.committed().await.is_ok());
        drop(writer);
        task.await.unwrap();

        assert_eq!(messages::Entity::find().count(&db).await.unwrap(), 3);
        let cursors: Vec<(String, String)> = sync_progress::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.channel_id, p.last_synced_message_id))
            .collect();
        assert_eq!(cursors.len(), 2, "{cursors:?}");
        assert!(cursors.contains(&(a.to_string(), "400".into())));
        assert!(cursors.contains(&(b.to_string(), "300".into())));
    }
}
