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
//! A channel has at most [`crate::sync::channel::PAGES_IN_FLIGHT`] pages submitted and not
//! yet committed, and goes on fetching meanwhile. Groups are written in the order their pages
//! arrived, and once a page failed the writer refuses every later page of the same channel
//! run (`PageWrite::run`), so a failed page can never be followed by a committed later page
//! whose cursor would skip it. When a group's transaction fails, its pages are retried one
//! transaction each, so that the error reaches the channel that caused it and the others go
//! on.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbBackend, Statement};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::error::Result;
use crate::repo::{self, sync_progress::ProgressRow};
use crate::sync::{queue, rows, store};

/// Most pages written in one transaction (a job has at most
/// [`crate::sync::channel::PAGES_IN_FLIGHT`] waiting pages per channel slot, so this only
/// bounds a `SYNC_CHANNEL_CONCURRENCY` above 8).
pub const MAX_PAGES_PER_COMMIT: usize = 64;

/// One page of one channel, ready to write.
#[derive(Debug)]
pub(crate) struct PageWrite {
    /// The page's rows.
    pub rows: rows::PageRows,
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
    /// The channel run that submitted the page ([`PageWriter::new_run`]).
    pub run: u64,
}

/// Where a page's result goes.
type Reply = oneshot::Sender<Result<()>>;

type Request = (PageWrite, Reply);

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
    /// With `queue_files`, the page's new attachments are queued for download in the same
    /// transaction.
    pub fn spawn(
        db: DatabaseConnection,
        worker_id: String,
        queue_files: bool,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_PAGES_PER_COMMIT);
        let task = tokio::spawn(run(db, worker_id, queue_files, rx).in_current_span());
        (Self { tx }, task)
    }

    /// A new id for [`PageWrite::run`]: one per run of one channel, unique in the process.
    pub fn new_run() -> u64 {
        static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
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

/// The writer works in two stages, so that building a group's statements (CPU work on this
/// task: rows to SQL text and bound values) overlaps the previous group's transaction (the
/// database's work, on its connection): this task takes every page waiting once the
/// executor has taken the group before, builds one group of them, and hands it over; the
/// executor runs the groups' transactions one after another, in order. At most one group is
/// built ahead of the one being written, so a group takes every page that arrived meanwhile.
async fn run(
    db: DatabaseConnection,
    worker_id: String,
    queue_files: bool,
    mut rx: mpsc::Receiver<Request>,
) {
    let backend = db.get_database_backend();
    let (groups, ready) = mpsc::channel(1);
    let executor =
        tokio::spawn(execute(db, worker_id.clone(), queue_files, ready).in_current_span());
    let mut batch = Vec::with_capacity(MAX_PAGES_PER_COMMIT);
    // Waits while a group built ahead is still queued; fails when the executor is gone, and
    // then the pages' senders are dropped, which answers their channels with an error.
    while let Ok(slot) = groups.reserve().await {
        if rx.recv_many(&mut batch, MAX_PAGES_PER_COMMIT).await == 0 {
            break;
        }
        let (pages, replies): (Vec<PageWrite>, Vec<_>) = batch.drain(..).unzip();
        slot.send((
            Group::build(backend, &worker_id, queue_files, pages),
            replies,
        ));
    }
    drop(groups);
    let _ = executor.await;
}

/// The executor stage: write each group, then answer its pages.
async fn execute(
    db: DatabaseConnection,
    worker_id: String,
    queue_files: bool,
    mut ready: mpsc::Receiver<(Group, Vec<Reply>)>,
) {
    // Channel runs with a page that failed: their later pages are refused.
    let mut failed = HashSet::new();
    while let Some((group, replies)) = ready.recv().await {
        let results = group.write(&db, &worker_id, queue_files, &mut failed).await;
        for (reply, result) in replies.into_iter().zip(results) {
            // A channel that stopped waiting (cancelled) does not need the answer.
            let _ = reply.send(result);
        }
    }
}

/// Pages written in one transaction, with its statements built ahead.
struct Group {
    pages: Vec<PageWrite>,
    /// The rows of all pages, moved (not copied) out of them; page i owns `ranges[i]`.
    all: rows::PageRows,
    ranges: Vec<Rows>,
    statements: Statements,
}

impl Group {
    fn build(
        backend: DbBackend,
        worker_id: &str,
        queue_files: bool,
        mut pages: Vec<PageWrite>,
    ) -> Self {
        let mut all = rows::PageRows::default();
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
        let statements = Statements::build(backend, worker_id, queue_files, &all, &whole, &pages);
        Self {
            pages,
            all,
            ranges,
            statements,
        }
    }

    /// Write the group in one transaction; when that fails (or holds a page of a run in
    /// `failed`), each page in its own, refusing the pages of failed runs. One result per
    /// page, in order.
    async fn write(
        self,
        db: &DatabaseConnection,
        worker_id: &str,
        queue_files: bool,
        failed: &mut HashSet<u64>,
    ) -> Vec<Result<()>> {
        let Self {
            pages,
            all,
            ranges,
            statements,
        } = self;
        if !pages.iter().any(|p| failed.contains(&p.run)) {
            let result = transaction(db, statements, &pages).await;
            match result {
                Ok(()) => return pages.iter().map(|_| Ok(())).collect(),
                Err(e) if pages.len() == 1 => {
                    failed.insert(pages[0].run);
                    return vec![Err(e)];
                }
                Err(e) => {
                    tracing::warn!(error = %e, pages = pages.len(), "group commit failed; writing its pages one by one");
                }
            }
        }
        let backend = db.get_database_backend();
        let mut results = Vec::with_capacity(pages.len());
        for (page, rows) in pages.iter().zip(&ranges) {
            if failed.contains(&page.run) {
                results.push(Err(crate::Error::Database(sea_orm::DbErr::Custom(
                    "not written: an earlier page of the channel failed".into(),
                ))));
                continue;
            }
            let one = std::slice::from_ref(page);
            let statements = Statements::build(backend, worker_id, queue_files, &all, rows, one);
            let result = transaction(db, statements, one).await;
            if result.is_err() {
                failed.insert(page.run);
            }
            results.push(result);
        }
        results
    }
}

/// Ranges of a batch's rows.
struct Rows {
    messages: std::ops::Range<usize>,
    reactions: std::ops::Range<usize>,
    attachments: std::ops::Range<usize>,
}

/// The statements of one transaction.
struct Statements {
    /// Upserts of the rows (one per table and chunk).
    rows: Vec<Statement>,
    /// After the deletion marks: the cursors and the items' progress.
    progress: Vec<Statement>,
}

impl Statements {
    /// The statements that write the `rows` of `all` and the cursors and items' progress of
    /// `pages`.
    fn build(
        backend: DbBackend,
        worker_id: &str,
        queue_files: bool,
        all: &rows::PageRows,
        rows: &Rows,
        pages: &[PageWrite],
    ) -> Self {
        // A channel's later page carries its cursor and item progress: one row each.
        let mut seen = HashSet::new();
        let latest: Vec<&PageWrite> = pages.iter().rev().filter(|p| seen.insert(p.run)).collect();
        let cursors: Vec<ProgressRow> = latest.iter().map(|p| p.progress.clone()).collect();
        let mut progress = repo::sync_progress::upsert_statements(backend, &cursors);
        progress.extend(
            latest
                .iter()
                .map(|p| queue::storage::item_progress(backend, &p.item_id, worker_id, p.written)),
        );
        let attachments = &all.attachments[rows.attachments.clone()];
        let mut statements = store::rows_statements(
            backend,
            &all.messages[rows.messages.clone()],
            &all.reactions[rows.reactions.clone()],
            attachments,
        );
        if queue_files {
            let ids: Vec<String> = attachments.iter().map(|a| a.id().to_string()).collect();
            statements.extend(crate::files::queue::queue_statements(backend, &ids));
        }
        Self {
            rows: statements,
            progress,
        }
    }
}

/// One transaction: the rows, then the deletion marks of `pages` (which read the stored
/// rows, so they are not built ahead), then the cursors and the items' progress.
async fn transaction(
    db: &DatabaseConnection,
    statements: Statements,
    pages: &[PageWrite],
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    repo::execute_all(&txn, statements.rows).await?;
    for page in pages.iter().filter(|p| !p.deleted.is_empty()) {
        store::mark_deleted(&txn, &page.channel_row_id, &page.deleted, page.seen_at).await?;
    }
    repo::execute_all(&txn, statements.progress).await?;
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
            rows: rows::PageRows {
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
            run: PageWriter::new_run(),
        }
    }

    /// A migrated test database with one discord tenant of platform id `platform_id`.
    async fn migrated_with_tenant(
        platform_id: &str,
    ) -> (testkit::db::TestDb, DatabaseConnection, tenants::Tenant) {
        let test_db = testkit::db::TestDb::new().await;
        let db = crate::db::connect_url(test_db.url()).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let tenant = tenants::create(
            &db,
            &CreateTenant {
                name: Some(format!("Writer {platform_id}")),
                slug: None,
                platform: Some("discord".into()),
                platform_id: Some(platform_id.into()),
                status: None,
            },
        )
        .await
        .unwrap();
        (test_db, db, tenant)
    }

    /// Pages queued together share a transaction; when one of them cannot be written, the
    /// others still commit and only its channel gets the error.
    #[tokio::test]
    async fn a_failing_page_fails_alone_and_the_rest_of_its_group_commits() {
        let (_test_db, db, tenant) = migrated_with_tenant("1").await;
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

        let (writer, task) = PageWriter::spawn(crate::db::write_connection(&db), "w".into(), true);
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

    /// Once a page failed, no later page of the same channel run is written, whether it was
    /// queued in the same group or arrives later: its cursor would skip the failed page.
    #[tokio::test]
    async fn after_a_failed_page_the_later_pages_of_its_run_are_refused() {
        let (_test_db, db, tenant) = migrated_with_tenant("2").await;
        let row = ChannelRow {
            tenant_id: tenant.id,
            platform_channel_id: "20".into(),
            name: "c20".into(),
            kind: ChannelKind::Text,
            parent_channel_id: None,
            metadata: None,
        };
        repo::channels::upsert(&db, std::slice::from_ref(&row))
            .await
            .unwrap();
        let channel = row.id();
        let run = PageWriter::new_run();
        let of_run = |snowflake| PageWrite {
            run,
            ..page(tenant.id, channel, snowflake)
        };
        // The run's first page cannot be written: its message's channel row does not exist.
        let mut broken = of_run(100);
        broken.rows.messages[0].channel_id = Uuid::new_v4();

        let (writer, task) = PageWriter::spawn(crate::db::write_connection(&db), "w".into(), true);
        // One group: the failed page, a later page of its run, a page of another run.
        let failing = writer.submit(broken).await;
        let same_group = writer.submit(of_run(200)).await;
        let other = writer.submit(page(tenant.id, channel, 250)).await;
        assert!(failing.committed().await.is_err());
        assert!(same_group.committed().await.is_err());
        assert!(other.committed().await.is_ok());
        // A later group.
        let later = writer.submit(of_run(300)).await;
        assert!(later.committed().await.is_err());
        drop(writer);
        task.await.unwrap();

        let stored: Vec<String> = messages::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.platform_message_id)
            .collect();
        assert_eq!(stored, vec!["250".to_string()]);
    }
}
