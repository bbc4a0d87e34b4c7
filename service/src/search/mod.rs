//! Full-text search over every tenant's public messages: an embedded tantivy index, derived
//! from the database (which stays the source of truth).
//!
//! - [`syntax`] parses Discord's search language (`from:`, `in:`, `has:`, dates, phrases,
//!   prefixes) into a [`syntax::Query`]; every mistake is an [`Error::Validation`] on `q`.
//! - [`text`] turns stored content into the text a reader sees (mentions as pseudonyms) and
//!   splits it into index terms (Latin, Cyrillic, Greek, CJK, emoji).
//! - [`SearchIndex`] owns the index directory: opening (rebuilding what is missing or
//!   corrupt), the indexer that follows the sync's writes ([`SearchIndex::catch_up`],
//!   [`SearchIndex::run`]), rebuilding ([`SearchIndex::reindex`]) and answering queries
//!   ([`SearchIndex::search`]).

mod index;
mod indexer;
mod query;
pub mod syntax;
pub mod text;

pub use indexer::{LAG, RECHECK_WINDOW};
pub use query::MAX_OFFSET;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, watch};
use utoipa::ToSchema;

use crate::archive::view::MessageView;
use crate::error::{self, Result};

/// Most hits in one page of results.
pub const MAX_LIMIT: u64 = 100;
/// Hits per page when the request names no limit.
pub const DEFAULT_LIMIT: u64 = 25;

/// Result order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first, newer messages boosted (the default).
    #[default]
    Relevance,
    /// Newest message first.
    Newest,
    /// Oldest message first.
    Oldest,
}

/// One search request of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The query, in [`syntax`]'s language.
    pub q: String,
    /// Hits per page, `1..=`[`MAX_LIMIT`].
    pub limit: u64,
    /// The `nextCursor` of the previous page (opaque; bound to `q` and `sort`).
    pub cursor: Option<String>,
    /// Result order.
    pub sort: Sort,
}

/// A channel as a hit names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HitChannel {
    /// Internal id (UUID).
    pub id: String,
    /// Channel name (thread title for threads and forum posts).
    pub name: String,
    /// `text`, `thread`, `forum` or `category`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// One matching message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// The message, as the read API shows it (with `reactionCounts`).
    pub message: MessageView,
    /// Its channel; for a message in a thread, the thread's parent channel.
    pub channel: HitChannel,
    /// The thread (or forum post) the message is in, if any.
    pub thread: Option<HitChannel>,
    /// An excerpt of the message as shown (mentions as pseudonyms), HTML-escaped, with the
    /// matched terms in `<mark>`…`</mark>`.
    pub snippet: String,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchPage {
    /// The hits, in the requested order.
    pub hits: Vec<SearchHit>,
    /// How many messages match in all.
    pub total: u64,
    /// Pass as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
    /// False while the index is still being built from the database (after a first start,
    /// or after an unreadable index was replaced): then older messages may be missing.
    pub complete: bool,
}

/// What one indexer pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatchUp {
    /// Messages (re)indexed.
    pub indexed: u64,
    /// Messages removed (deleted on Discord, or their channel stopped being public).
    pub removed: u64,
    /// Whether a commit was made.
    pub committed: bool,
}

/// What [`SearchIndex::reindex`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReindexSummary {
    /// Tenants rebuilt.
    pub tenants: u64,
    /// Messages now searchable for them.
    pub messages: u64,
    /// The index directory.
    pub index_dir: PathBuf,
    /// Its size on disk afterwards, in bytes.
    pub index_bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// The embedded index: one per process that answers queries (`verta serve`), in
/// `SEARCH_INDEX_DIR`.
pub struct SearchIndex {
    dir: PathBuf,
    fields: index::Fields,
    reader: tantivy::IndexReader,
    /// The writer side; one pass, rebuild or test at a time.
    store: Mutex<index::Store>,
    /// How far behind now a pass stops ([`indexer::LAG`] unless opened with another).
    lag: Duration,
    /// The committed position's [`index::Position::built`], readable without waiting for a
    /// pass or a rebuild to finish.
    built: AtomicBool,
    /// Direct reads of the SQLite file the hits are loaded from (set at the first search;
    /// `None` inside for other backends).
    sqlite: std::sync::OnceLock<Option<crate::archive::sqlite_reads::SqliteReader>>,
    /// The tenants' channels, briefly kept for searches.
    channels: query::ChannelCache,
}

/// How often the indexer looks for changes.
const POLL: Duration = Duration::from_secs(1);
/// Every this many passes, the indexer also looks for late writes ([`SearchIndex::recheck`]).
const RECHECK_EVERY: u64 = 10;
/// Messages between two progress lines of a build in the log.
const BUILD_LOG_EVERY: u64 = 100_000;
/// Longest wait between retries after a failed pass.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl SearchIndex {
    /// Open the index in `dir`, creating it when missing. An index that cannot be read
    /// (corrupt, half-deleted, another format version) is moved aside to `<dir>.broken` and
    /// started empty: [`Self::run`] then rebuilds it from the database. Fails only when `dir`
    /// cannot be used at all (permissions), or another process holds the index's write lock.
    pub fn open(dir: &Path) -> Result<Arc<Self>> {
        Self::open_with_lag(dir, indexer::LAG)
    }

    /// [`Self::open`], with passes stopping `lag` behind now instead of [`indexer::LAG`]:
    /// zero suits a database nothing else writes to (tests, tools); a database with
    /// concurrent writers needs the default.
    pub fn open_with_lag(dir: &Path, lag: Duration) -> Result<Arc<Self>> {
        let store = index::Store::open(dir)?;
        Ok(Arc::new(Self {
            dir: dir.to_owned(),
            fields: store.fields,
            reader: store.reader.clone(),
            built: AtomicBool::new(store.position.built),
            sqlite: std::sync::OnceLock::new(),
            channels: query::ChannelCache::default(),
            store: Mutex::new(store),
            lag,
        }))
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the index holds the whole archive (false until the first rebuild of a new or
    /// replaced index has finished).
    pub async fn is_built(&self) -> bool {
        self.built.load(Ordering::Acquire)
    }

    /// Documents searchable now: of one tenant, or of all.
    pub fn document_count(&self, tenant_id: Option<&str>) -> Result<u64> {
        let searcher = self.reader.searcher();
        Ok(match tenant_id {
            None => searcher.num_docs(),
            Some(t) => searcher.search(
                &tantivy::query::TermQuery::new(
                    tantivy::Term::from_field_text(self.fields.tenant, t),
                    tantivy::schema::IndexRecordOption::Basic,
                ),
                &tantivy::collector::Count,
            )? as u64,
        })
    }

    /// How many documents carry message id `id` (0 or 1 when the index is sound).
    pub fn copies_of(&self, message_id: &str) -> Result<u64> {
        let searcher = self.reader.searcher();
        Ok(searcher.search(
            &tantivy::query::TermQuery::new(
                tantivy::Term::from_field_text(self.fields.id, message_id),
                tantivy::schema::IndexRecordOption::Basic,
            ),
            &tantivy::collector::Count,
        )? as u64)
    }

    /// Bytes the index takes on disk.
    pub async fn disk_bytes(&self) -> u64 {
        self.store.lock().await.disk_bytes()
    }

    /// One indexer pass: index what the database changed since the last commit (new, edited,
    /// deleted messages; channels that stopped or started being public; deleted tenants), and
    /// commit it together with the new position. Changes younger than [`indexer::LAG`] wait
    /// for the next pass. Tests call it to make a sync searchable now.
    pub async fn catch_up(&self, db: &DatabaseConnection) -> Result<CatchUp> {
        let mut store = self.store.lock().await;
        match indexer::catch_up(db, &mut store, self.lag).await {
            Ok((indexed, removed, committed)) => Ok(CatchUp {
                indexed,
                removed,
                committed,
            }),
            Err(e) => {
                // Nothing half-done may ride along with the next commit.
                let _ = store.rollback();
                Err(e)
            }
        }
    }

    /// Look for writes that committed after a pass had moved past their timestamp (a writer
    /// that waited long for the database's write lock), within the last
    /// [`indexer::RECHECK_WINDOW`] behind the position, and index them. The indexer does this
    /// every ten passes; returns the messages (re)indexed.
    pub async fn recheck(&self, db: &DatabaseConnection) -> Result<u64> {
        let mut store = self.store.lock().await;
        match indexer::recheck(db, &mut store).await {
            Ok(indexed) => Ok(indexed),
            Err(e) => {
                let _ = store.rollback();
                Err(e)
            }
        }
    }

    /// The indexer: rebuild first when the index is new or was replaced, then
    /// [`Self::catch_up`] every second (and [`Self::recheck`] every ten) until `stop` turns
    /// true. Errors are logged and retried
    /// with backoff, never fatal.
    pub async fn run(self: Arc<Self>, db: DatabaseConnection, mut stop: watch::Receiver<bool>) {
        let span = tracing::info_span!("search_indexer", dir = %self.dir.display());
        let _enter = span.enter();
        drop(_enter);
        let mut backoff = POLL;
        let mut passes: u64 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            passes += 1;
            let pass = async {
                if !self.is_built().await {
                    tracing::info!(parent: &span, "building the search index from the database");
                    let logged = std::sync::atomic::AtomicU64::new(0);
                    let progress = |done: u64, total: u64| {
                        let last = logged.load(std::sync::atomic::Ordering::Relaxed);
                        if done >= last + BUILD_LOG_EVERY {
                            logged.store(done, std::sync::atomic::Ordering::Relaxed);
                            tracing::info!(parent: &span, done, total, "building the search index");
                        }
                    };
                    let summary = self.reindex(&db, None, &progress).await?;
                    tracing::info!(parent: &span, messages = summary.messages, seconds = summary.seconds, "search index built");
                }
                let done = self.catch_up(&db).await?;
                if passes.is_multiple_of(RECHECK_EVERY) {
                    self.recheck(&db).await?;
                }
                Ok::<CatchUp, error::Error>(done)
            };
            let wait = match pass.await {
                Ok(done) => {
                    if done.indexed + done.removed > 0 {
                        tracing::debug!(parent: &span, indexed = done.indexed, removed = done.removed, "search index updated");
                    }
                    backoff = POLL;
                    POLL
                }
                Err(e) => {
                    tracing::warn!(parent: &span, error = %e, retry_in_secs = backoff.as_secs(), "search indexer pass failed");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Rebuild the documents of one tenant (or of all) from the database. `progress` gets
    /// (messages done, messages in all) now and then.
    pub async fn reindex(
        &self,
        db: &DatabaseConnection,
        tenant_id: Option<&str>,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<ReindexSummary> {
        let started = std::time::Instant::now();
        let mut store = self.store.lock().await;
        let (tenants, messages) =
            match indexer::reindex(db, &mut store, tenant_id, self.lag, progress).await {
                Ok(done) => {
                    self.built.store(store.position.built, Ordering::Release);
                    done
                }
                Err(e) => {
                    let _ = store.rollback();
                    return Err(e);
                }
            };
        Ok(ReindexSummary {
            tenants,
            messages,
            index_dir: self.dir.clone(),
            index_bytes: store.disk_bytes(),
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Answer `request` with `tenant_id`'s messages only.
    pub async fn search(
        &self,
        db: &DatabaseConnection,
        tenant_id: &str,
        request: &SearchRequest,
    ) -> Result<SearchPage> {
        let sources = query::Sources {
            db,
            sqlite: self
                .sqlite
                .get_or_init(|| crate::archive::sqlite_reads::SqliteReader::for_database(db))
                .as_ref(),
            channels: &self.channels,
        };
        let mut page =
            query::search(&sources, &self.reader, self.fields, tenant_id, request).await?;
        page.complete = self.built.load(Ordering::Acquire);
        Ok(page)
    }
}
