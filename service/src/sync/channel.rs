//! Syncing one channel: pages of 100 after the cursor, each page upserted together with the
//! cursor advance in one transaction. Resume after a crash and incremental sync are the same
//! path; a channel whose newest message is not above its cursor costs no message request
//! (unless it is inside the rescan window).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tracing::Instrument;

use crate::platform::{PlatformError, PlatformMessage, snowflake_at, snowflake_time};
use crate::repo::sync_progress::ProgressStatus;
use crate::sync::engine::{JobContext, SyncEngine};
use crate::sync::rows::{self, ProgressUpdate};
use crate::sync::writer::{PageWrite, PageWriter, PendingPage};
use crate::sync::{queue, store};

/// Page size of message requests (Discord's maximum).
pub const PAGE_SIZE: u16 = 100;

/// Pages of one channel submitted to the writer and not yet committed, at most. A channel
/// goes on fetching while its pages wait for their commit, so the pages of all channels
/// queue up at the writer while it commits and the next commit takes them all: the bigger
/// the group, the less is written per message (on SQLite a commit writes every index page it
/// touched once, however many of its rows changed). Memory stays bounded: at most
/// `SYNC_CHANNEL_CONCURRENCY` x 8 pages of 100 messages wait; more pages in flight made the
/// sync benchmark faster up to 8 (`docs/benchmarks.md`). After a cancel, the pages already submitted are still written (they were fetched before).
pub const PAGES_IN_FLIGHT: usize = 8;

/// One channel to sync.
#[derive(Debug, Clone)]
pub struct ChannelTarget {
    /// Channel row id.
    pub row_id: String,
    /// Platform channel id.
    pub platform_id: String,
    /// Display name (for errors).
    pub name: String,
    /// Newest message id reported by discovery: `Some(None)` = the channel has no messages,
    /// `None` = unknown (a helper worker that did not run discovery).
    pub last_message_id: Option<Option<u64>>,
}

/// How a channel ended.
#[derive(Debug)]
pub enum ChannelEnd {
    /// Done; messages written.
    Completed(u64),
    /// Stopped early (cancel or lost lease); the item goes back to pending.
    Stopped(u64),
    /// Failed; the job continues with other channels.
    Failed(u64, PlatformOrDb),
    /// The token was refused: the whole job must fail.
    Unauthorized(String),
}

/// Why a channel failed.
#[derive(Debug)]
pub enum PlatformOrDb {
    /// The platform refused or kept failing.
    Platform(PlatformError),
    /// The database failed.
    Db(crate::Error),
}

impl PlatformOrDb {
    /// Error record stored in `error_details`.
    pub fn details(&self) -> serde_json::Value {
        match self {
            PlatformOrDb::Platform(e) => serde_json::json!({
                "error": e.to_string(),
                "status": e.status(),
                "retryable": e.is_transient(),
            }),
            PlatformOrDb::Db(e) => serde_json::json!({"error": e.to_string(), "status": null}),
        }
    }
}

impl std::fmt::Display for PlatformOrDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlatformOrDb::Platform(e) => e.fmt(f),
            PlatformOrDb::Db(e) => e.fmt(f),
        }
    }
}

impl From<crate::Error> for PlatformOrDb {
    fn from(e: crate::Error) -> Self {
        PlatformOrDb::Db(e)
    }
}

/// What a submitted page adds once it committed.
struct Committed {
    cursor: u64,
    messages: u64,
    reactions: u64,
    attachments: u64,
}

impl Committed {
    /// Count the page (the channel's `written`, the worker's and the job's counters) and
    /// return the cursor it advanced to.
    fn apply(self, engine: &SyncEngine, ctx: &JobContext, written: &mut u64) -> u64 {
        *written += self.messages;
        engine
            .progress
            .messages
            .fetch_add(self.messages, Ordering::Relaxed);
        ctx.reactions.fetch_add(self.reactions, Ordering::Relaxed);
        ctx.attachments
            .fetch_add(self.attachments, Ordering::Relaxed);
        self.cursor
    }
}

/// The `sync_progress` updates of one run of one channel.
struct ProgressOf<'a> {
    tenant_id: &'a str,
    channel_id: &'a str,
    worker_id: &'a str,
    /// When the run started.
    started: DateTime<Utc>,
}

impl<'a> ProgressOf<'a> {
    fn update(
        &self,
        status: ProgressStatus,
        cursor: u64,
        messages_per_second: Option<u64>,
        error: Option<serde_json::Value>,
    ) -> ProgressUpdate<'a> {
        ProgressUpdate {
            tenant_id: self.tenant_id,
            channel_id: self.channel_id,
            cursor,
            status,
            worker_id: Some(self.worker_id),
            started_at: self.started,
            messages_per_second,
            error,
            now: crate::db::now(),
        }
    }
}

/// What the page loop of one channel run works with.
struct ChannelRun<'a> {
    ctx: &'a JobContext,
    writer: &'a PageWriter,
    item_id: &'a str,
    target: &'a ChannelTarget,
    progress: &'a ProgressOf<'a>,
    /// The cursor when the run started.
    stored_cursor: u64,
    /// The run's id at the writer ([`PageWriter::new_run`]).
    run: u64,
}

/// Pages of one channel handed to the writer and not yet committed, oldest first (see
/// `sync::writer` for why order is kept), and the cursor of the pages committed so far.
struct InFlight {
    pages: VecDeque<(PendingPage, Committed)>,
    committed_cursor: u64,
}

impl InFlight {
    fn new(cursor: u64) -> Self {
        Self {
            pages: VecDeque::new(),
            committed_cursor: cursor,
        }
    }

    /// The cursor once every submitted page committed.
    fn newest_cursor(&self) -> u64 {
        self.pages
            .back()
            .map_or(self.committed_cursor, |(_, last)| last.cursor)
    }

    /// Messages of the pages waiting for their commit.
    fn messages(&self) -> u64 {
        self.pages.iter().map(|(_, d)| d.messages).sum()
    }

    fn push(&mut self, page: PendingPage, done: Committed) {
        self.pages.push_back((page, done));
    }

    /// With [`PAGES_IN_FLIGHT`] pages waiting, wait for the oldest one's commit.
    async fn make_room(
        &mut self,
        engine: &SyncEngine,
        ctx: &JobContext,
        written: &mut u64,
    ) -> Result<(), PlatformOrDb> {
        if self.pages.len() >= PAGES_IN_FLIGHT
            && let Some((oldest, done)) = self.pages.pop_front()
        {
            oldest.committed().await?;
            self.committed_cursor = done.apply(engine, ctx, written);
        }
        Ok(())
    }

    /// Wait for every page still waiting; the first failed commit becomes the outcome unless
    /// the loop already failed. Returns the committed cursor and the outcome.
    async fn drain(
        self,
        engine: &SyncEngine,
        ctx: &JobContext,
        written: &mut u64,
        mut outcome: Result<bool, PlatformOrDb>,
    ) -> (u64, Result<bool, PlatformOrDb>) {
        let mut cursor = self.committed_cursor;
        for (page, done) in self.pages {
            match page.committed().await {
                Ok(()) => cursor = done.apply(engine, ctx, written),
                Err(e) => {
                    if outcome.is_ok() {
                        outcome = Err(e.into());
                    }
                }
            }
        }
        (cursor, outcome)
    }
}

impl SyncEngine {
    /// Sync one channel of a job (the item is claimed by this worker).
    pub(crate) async fn sync_channel(
        &self,
        ctx: &JobContext,
        writer: &PageWriter,
        item_id: &str,
        target: &ChannelTarget,
    ) -> ChannelEnd {
        let span = tracing::info_span!("sync_channel", channel_id = %target.platform_id);
        let mut written = 0u64;
        let result = self
            .sync_channel_inner(ctx, writer, item_id, target, &mut written)
            .instrument(span)
            .await;
        match result {
            Ok(true) => ChannelEnd::Completed(written),
            Ok(false) => ChannelEnd::Stopped(written),
            Err(PlatformOrDb::Platform(PlatformError::Unauthorized(m))) => {
                ChannelEnd::Unauthorized(m)
            }
            Err(e) => ChannelEnd::Failed(written, e),
        }
    }

    /// Returns Ok(false) when stopped early. `written` counts the messages of committed pages.
    async fn sync_channel_inner(
        &self,
        ctx: &JobContext,
        writer: &PageWriter,
        item_id: &str,
        target: &ChannelTarget,
        written: &mut u64,
    ) -> Result<bool, PlatformOrDb> {
        let db = &self.db;
        let clock = Instant::now();
        let stored_cursor = store::cursor(db, &ctx.tenant_id, &target.row_id).await?;
        let progress = ProgressOf {
            tenant_id: &ctx.tenant_id,
            channel_id: &target.row_id,
            worker_id: &self.worker_id,
            started: crate::db::now(),
        };
        let Some(after) = self.first_after(ctx, target, stored_cursor) else {
            let done = progress.update(ProgressStatus::Completed, stored_cursor, Some(0), None);
            store::save_progress(db, done).await?;
            return Ok(true);
        };
        let running = progress.update(ProgressStatus::InProgress, stored_cursor, None, None);
        store::save_progress(db, running).await?;

        let mut in_flight = InFlight::new(stored_cursor);
        let run = ChannelRun {
            ctx,
            writer,
            item_id,
            target,
            progress: &progress,
            stored_cursor,
            run: PageWriter::new_run(),
        };
        let outcome = self.fetch_pages(&run, after, &mut in_flight, written).await;
        // The pages still submitted: their commits decide the outcome as much as the loop
        // did. After a failed page the writer refuses the later ones of this run.
        let (cursor, outcome) = in_flight.drain(self, ctx, written, outcome).await;

        let secs = clock.elapsed().as_secs_f64();
        let mps = (secs > 0.0).then(|| (*written as f64 / secs).round() as u64);
        let end = match &outcome {
            Ok(true) => progress.update(ProgressStatus::Completed, cursor, mps, None),
            Ok(false) => progress.update(ProgressStatus::InProgress, cursor, mps, None),
            Err(e) => {
                tracing::warn!(error = %e, "channel failed");
                progress.update(ProgressStatus::Failed, cursor, mps, Some(e.details()))
            }
        };
        let saved = store::save_progress(db, end).await;
        // A failed channel reports its own error, not a failure to record it.
        if outcome.is_ok() {
            saved?;
        }
        outcome
    }

    /// The message id the channel's first request reads after (0 = from the start), or
    /// `None` when the channel needs no message request: not a full sync, nothing above the
    /// cursor, and not in the rescan window.
    fn first_after(
        &self,
        ctx: &JobContext,
        target: &ChannelTarget,
        stored_cursor: u64,
    ) -> Option<u64> {
        if ctx.full {
            return Some(0);
        }
        let window = self.settings.rescan_window;
        let window_start =
            chrono::Utc::now() - chrono::Duration::from_std(window).unwrap_or_default();
        let newest = target
            .last_message_id
            .flatten()
            .unwrap_or(0)
            .max(stored_cursor);
        // Re-read the recent past of a channel active inside the window: edits, reactions
        // and deletions there are not visible above the cursor.
        let rescan = !window.is_zero()
            && stored_cursor > 0
            && newest > 0
            && snowflake_time(newest) >= window_start;
        if rescan {
            return Some(stored_cursor.min(snowflake_at(window_start)));
        }
        let quiet = match target.last_message_id {
            Some(None) => true,
            Some(Some(last)) => last <= stored_cursor,
            None => false,
        };
        (!quiet).then_some(stored_cursor)
    }

    /// Fetch pages after `after` and submit them to the writer until a page is not full
    /// (Ok(true)) or the job stops (Ok(false)). At most [`PAGES_IN_FLIGHT`] pages wait for
    /// their commit; the ones still waiting at the end are left in `in_flight`.
    async fn fetch_pages(
        &self,
        run: &ChannelRun<'_>,
        mut after: u64,
        in_flight: &mut InFlight,
        written: &mut u64,
    ) -> Result<bool, PlatformOrDb> {
        let ctx = run.ctx;
        let target = run.target;
        loop {
            if ctx.stop.load(Ordering::Relaxed) || self.shutting_down.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let page = self
                .with_retries(|| {
                    ctx.platform
                        .messages_after(&target.platform_id, after, PAGE_SIZE)
                })
                .await
                .map_err(PlatformOrDb::Platform)?;
            let full_page = page.len() >= usize::from(PAGE_SIZE);
            let page_max = page.last().map_or(after, |m| m.id);
            let users = if self.settings.reaction_users {
                Some(
                    self.fetch_reaction_users(ctx, &target.platform_id, &page)
                        .await?,
                )
            } else {
                None
            };
            let rows = rows::page_rows(&target.row_id, &page, users.as_deref(), &self.anonymizer);
            let deleted = self.deleted_in_page(run, after, &page, full_page).await?;
            // Checked once the page is in hand, so that after a cancel at most the pages
            // already submitted are written.
            if queue::should_stop(&self.db, &ctx.job_id).await? {
                ctx.stop.store(true, Ordering::Relaxed);
                return Ok(false);
            }
            in_flight.make_room(self, ctx, written).await?;
            let new_cursor = in_flight.newest_cursor().max(page_max);
            let done = Committed {
                cursor: new_cursor,
                messages: page.len() as u64,
                reactions: rows.reactions.len() as u64,
                attachments: rows.attachments.len() as u64,
            };
            let write = PageWrite {
                rows,
                channel_row_id: target.row_id.clone(),
                deleted,
                seen_at: crate::db::now(),
                progress: rows::progress_row(&run.progress.update(
                    ProgressStatus::InProgress,
                    new_cursor,
                    None,
                    None,
                )),
                item_id: run.item_id.to_owned(),
                // The item's messages once this page commits: the committed ones, the
                // pages still pending, and this one.
                written: i32::try_from(*written + in_flight.messages() + done.messages)
                    .unwrap_or(i32::MAX),
                run: run.run,
            };
            in_flight.push(run.writer.submit(write).await, done);
            if !full_page {
                return Ok(true);
            }
            after = page_max;
        }
    }

    /// Platform ids of stored messages inside the range `page` covers that the platform no
    /// longer returned: deleted on the platform. Only a rescan reads below the stored
    /// cursor, so only its pages find any.
    async fn deleted_in_page(
        &self,
        run: &ChannelRun<'_>,
        after: u64,
        page: &[PlatformMessage],
        full_page: bool,
    ) -> Result<Vec<String>, PlatformOrDb> {
        if after >= run.stored_cursor {
            return Ok(Vec::new());
        }
        // A full page covers the range up to its newest message; the last page reaches the
        // cursor.
        let upto = if full_page {
            page.last().map_or(after, |m| m.id).min(run.stored_cursor)
        } else {
            run.stored_cursor
        };
        let returned: HashSet<u64> = page.iter().map(|m| m.id).collect();
        Ok(
            store::stored_ids_in_range(&self.db, &run.target.row_id, after, upto)
                .await?
                .into_iter()
                .filter(|id| !returned.contains(id))
                .map(|id| id.to_string())
                .collect(),
        )
    }

    async fn fetch_reaction_users(
        &self,
        ctx: &JobContext,
        channel: &str,
        page: &[PlatformMessage],
    ) -> Result<Vec<Vec<Vec<String>>>, PlatformOrDb> {
        let requests: Vec<(usize, usize)> = page
            .iter()
            .enumerate()
            .flat_map(|(i, m)| (0..m.reactions.len()).map(move |j| (i, j)))
            .collect();
        let mut out: Vec<Vec<Vec<String>>> = page
            .iter()
            .map(|m| vec![Vec::new(); m.reactions.len()])
            .collect();
        let platform = &ctx.platform;
        let results: Vec<_> = futures::stream::iter(requests)
            .map(|(i, j)| async move {
                let m = &page[i];
                let users = self
                    .with_retries(|| platform.reaction_users(channel, m.id, &m.reactions[j]))
                    .await;
                (i, j, users)
            })
            .buffered(4)
            .collect()
            .await;
        for (i, j, users) in results {
            out[i][j] = users.map_err(PlatformOrDb::Platform)?;
        }
        Ok(out)
    }

    /// Run a platform call, retrying transient failures after each of the configured delays
    /// (1 s, 2 s, 4 s by default).
    pub(crate) async fn with_retries<T, F, Fut>(&self, mut op: F) -> Result<T, PlatformError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, PlatformError>>,
    {
        let mut attempt = 0usize;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && attempt < self.settings.retry_delays.len() => {
                    let delay: Duration = self.settings.retry_delays[attempt];
                    tracing::debug!(error = %e, attempt, ?delay, "transient platform failure; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(if e.is_transient() {
                        PlatformError::Transient {
                            status: e.status(),
                            message: format!("gave up after {attempt} retries: {e}"),
                        }
                    } else {
                        e
                    });
                }
            }
        }
    }
}
