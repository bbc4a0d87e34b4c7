//! The search engine (`service::search::SearchIndex`) against a real database: an index of
//! its own in a temporary directory per test, fed by the repositories the sync writes with,
//! and asked through `SearchIndex::search` as the API asks it.
//!
//! Timestamps are whole seconds, and a pass reads only up to the last complete second, so
//! every test writes, waits for the next second ([`settle`]) and then calls `catch_up`.

mod changes;
mod durability;
mod operators;
mod properties;
mod ranking;
mod scripts;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use sea_orm::DatabaseConnection;
use service::error::Error;
use service::repo::attachments::{self, AttachmentRow};
use service::repo::channels::{self, ChannelKind, ChannelRow};
use service::repo::messages::{self, MessageRow};
use service::search::{CatchUp, MAX_LIMIT, SearchIndex, SearchPage, SearchRequest, Sort};
use uuid::Uuid;

use crate::helpers::{Ctx, setup};

/// Sleep until the next whole second has begun (plus a margin), so that everything written
/// before the call is older than a zero-lag pass's horizon.
pub async fn settle() {
    let now = Utc::now();
    let next = now.trunc_subsecs(0) + chrono::Duration::seconds(1);
    let wait = (next - now).to_std().unwrap_or_default() + Duration::from_millis(50);
    tokio::time::sleep(wait).await;
}

/// A migrated database and an empty index of its own (dropped before its directory).
pub struct Env {
    /// The index, following the database without lag.
    pub index: Arc<SearchIndex>,
    /// The temporary directory the index lives in ([`index_dir`]).
    pub dir: tempfile::TempDir,
    /// The database.
    pub ctx: Ctx,
}

impl Env {
    /// A fresh database and an index in a new temporary directory.
    pub async fn new() -> Self {
        let ctx = setup().await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let index = open(&index_dir(&dir));
        Env { index, dir, ctx }
    }

    /// The database connection.
    pub fn db(&self) -> &DatabaseConnection {
        &self.ctx.db
    }

    /// Wait for the writes so far to be complete, then make them searchable.
    pub async fn catch_up(&self) -> CatchUp {
        settle().await;
        self.index
            .catch_up(self.db())
            .await
            .expect("indexer pass succeeds")
    }

    /// One page of `q` for `tenant`.
    pub async fn page(
        &self,
        tenant: Uuid,
        q: &str,
        sort: Sort,
        limit: u64,
        cursor: Option<String>,
    ) -> service::error::Result<SearchPage> {
        let request = SearchRequest {
            q: q.to_owned(),
            limit,
            cursor,
            sort,
        };
        self.index
            .search(self.db(), &tenant.to_string(), &request)
            .await
    }

    /// The first page of `q` by relevance (the corpora of these tests fit in one page).
    pub async fn relevance(&self, tenant: Uuid, q: &str) -> SearchPage {
        self.page(tenant, q, Sort::Relevance, MAX_LIMIT, None)
            .await
            .unwrap_or_else(|e| panic!("{q:?}: {e}"))
    }

    /// Every hit of `q` newest first, over all pages, as message ids.
    pub async fn ids(&self, tenant: Uuid, q: &str) -> Vec<Uuid> {
        all_ids(&self.index, self.db(), tenant, q, Sort::Newest, MAX_LIMIT).await
    }

    /// The validation issue (field, message) `q` is refused with.
    pub async fn refusal(&self, tenant: Uuid, q: &str) -> (String, String) {
        issue(q, self.page(tenant, q, Sort::Relevance, 10, None).await)
    }
}

/// The directory an [`Env`] keeps its index in (a child, so `<dir>.broken` is in the
/// temporary directory too).
pub fn index_dir(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("index")
}

/// Open an index that follows the database without lag.
pub fn open(dir: &std::path::Path) -> Arc<SearchIndex> {
    SearchIndex::open_with_lag(dir, Duration::ZERO)
        .unwrap_or_else(|e| panic!("open {}: {e}", dir.display()))
}

/// Every hit of `q` in `sort` order, following `nextCursor` to the end, as message ids.
pub async fn all_ids(
    index: &SearchIndex,
    db: &DatabaseConnection,
    tenant: Uuid,
    q: &str,
    sort: Sort,
    limit: u64,
) -> Vec<Uuid> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let request = SearchRequest {
            q: q.to_owned(),
            limit,
            cursor,
            sort,
        };
        let page = index
            .search(db, &tenant.to_string(), &request)
            .await
            .unwrap_or_else(|e| panic!("{q:?}: {e}"));
        out.extend(page.hits.iter().map(|h| uuid(&h.message.id)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

/// The one validation issue of a refused search, as (field, message).
pub fn issue(q: &str, result: service::error::Result<SearchPage>) -> (String, String) {
    match result {
        Err(Error::Validation(issues)) if issues.len() == 1 => {
            (issues[0].field.clone(), issues[0].message.clone())
        }
        other => panic!("{q:?} should be refused with one validation issue, got {other:?}"),
    }
}

/// A message id of a hit as a UUID.
pub fn uuid(id: &str) -> Uuid {
    id.parse()
        .unwrap_or_else(|e| panic!("{id:?} is not a UUID: {e}"))
}

/// A pseudonymised author id (64 hex digits) made from `n`.
pub fn author(n: u64) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(n.to_le_bytes()))
}

/// `at` in UTC.
pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid time")
}

/// `days` days before now, in whole seconds.
pub fn days_ago(days: i64) -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0) - chrono::Duration::days(days)
}

/// Keeps message snowflakes unique across a test run.
static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// A Discord snowflake of a message sent at `at` (unique low bits).
pub fn snowflake(at: DateTime<Utc>) -> u64 {
    let ms = (at.timestamp_millis() - 1_420_070_400_000).max(0) as u64;
    (ms << 22) | (SEQUENCE.fetch_add(1, Ordering::Relaxed) & 0x3F_FFFF)
}

/// Store a text channel and return its row id.
pub async fn text_channel(
    db: &DatabaseConnection,
    tenant: Uuid,
    platform: &str,
    name: &str,
) -> Uuid {
    store_channel(db, tenant, platform, name, ChannelKind::Text, None, None).await
}

/// Store a thread under the channel with snowflake `parent` and return its row id.
pub async fn thread(
    db: &DatabaseConnection,
    tenant: Uuid,
    platform: &str,
    name: &str,
    parent: &str,
) -> Uuid {
    store_channel(
        db,
        tenant,
        platform,
        name,
        ChannelKind::Thread,
        Some(parent),
        None,
    )
    .await
}

/// Upsert one channel row (as discovery does) and return its row id.
pub async fn store_channel(
    db: &DatabaseConnection,
    tenant: Uuid,
    platform: &str,
    name: &str,
    kind: ChannelKind,
    parent: Option<&str>,
    metadata: Option<serde_json::Value>,
) -> Uuid {
    let row = ChannelRow {
        tenant_id: tenant,
        platform_channel_id: platform.into(),
        name: name.into(),
        kind,
        parent_channel_id: parent.map(Into::into),
        metadata,
    };
    channels::upsert(db, std::slice::from_ref(&row))
        .await
        .expect("channel upserted");
    row.id()
}

/// Upsert one message (as the sync does) and return its row.
pub async fn post(
    db: &DatabaseConnection,
    channel: Uuid,
    sent: DateTime<Utc>,
    author: &str,
    content: &str,
) -> MessageRow {
    let row = MessageRow {
        channel_id: channel,
        platform_message_id: snowflake(sent).to_string(),
        anonymized_author_id: author.into(),
        content: content.into(),
        reply_to_id: None,
        metadata: None,
        platform_created_at: sent,
    };
    write(db, &row).await;
    row
}

/// Upsert `row` (an edit when it is stored already).
pub async fn write(db: &DatabaseConnection, row: &MessageRow) {
    messages::upsert(db, std::slice::from_ref(row))
        .await
        .expect("message upserted");
}

/// Attach a file to the message `message`.
pub async fn attach(
    db: &DatabaseConnection,
    message: &MessageRow,
    filename: &str,
    content_type: &str,
) {
    let row = AttachmentRow {
        message_id: message.id(),
        platform_attachment_id: snowflake(Utc::now()).to_string(),
        filename: filename.into(),
        file_size: 1_000,
        content_type: content_type.into(),
        url: format!("https://cdn.example/{filename}"),
    };
    attachments::upsert(db, std::slice::from_ref(&row))
        .await
        .expect("attachment upserted");
}
