//! Reading the archive: the queries behind the public read API (`/api/v1`).
//!
//! Every function takes the tenant it serves and answers only with that tenant's rows. Paging
//! parameters arrive typed (the HTTP layer reads page sizes and cursors under its one query
//! policy); ids in paths arrive raw and are validated here into [`Error::Validation`].
//! Messages are paged by keyset (cursors are platform message ids), newest first; nothing loads
//! a whole channel, and no list costs one query per item.

pub mod ids;
pub mod pages;
pub mod query;
pub mod sqlite_reads;
pub mod tenant_cache;
pub mod view;

use std::collections::HashMap;

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use entity::{channels, messages};

use crate::error::{Error, Result};
use query::{ChannelStats, Direction, Position};
pub use tenant_cache::TenantCache;
use view::{BrandingView, ChannelSummary, ChannelView, MessageView, ThreadView};

/// Largest page size of message and thread lists, and most neighbours on each side of a
/// message in context.
pub const MAX_LIMIT: u64 = 100;

/// The tenant's branding, `None` when it has none.
pub async fn branding(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Option<BrandingView>> {
    // Tenant ids are UUIDs; any other key names no tenant, hence no branding.
    let Ok(tenant) = tenant_id.parse::<uuid::Uuid>() else {
        return Ok(None);
    };
    Ok(crate::repo::tenant_branding::get(db, tenant)
        .await?
        .map(BrandingView::from))
}

/// Every channel of the tenant (oldest row first), as stored.
pub async fn channel_rows(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<Vec<channels::Model>> {
    Ok(channels::Entity::find()
        .filter(channels::Column::TenantId.eq(tenant_id))
        .order_by_asc(channels::Column::CreatedAt)
        .order_by_asc(channels::Column::Id)
        .all(db)
        .await?)
}

fn summary(c: channels::Model, stats: Option<&ChannelStats>) -> ChannelSummary {
    let stats = stats.copied().unwrap_or_default();
    ChannelSummary {
        channel: ChannelView::from(c),
        message_count: stats.message_count,
        last_activity: stats.last_activity,
    }
}

/// `GET /api/v1/channels`: all archived channels, categories, forums and threads of the tenant
/// with message counts and last activity. Two queries in all.
#[tracing::instrument(skip(db))]
pub async fn list_channels(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<Vec<ChannelSummary>> {
    let rows = channel_rows(db, tenant_id).await?;
    let stats = query::channel_stats(
        db,
        Condition::all().add(channels::Column::TenantId.eq(tenant_id)),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let s = stats.get(&c.id);
            summary(c, s)
        })
        .collect())
}

/// The tenant's channel with internal id `channel_id`; another tenant's channel is not found.
pub async fn channel_row(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    channel_id: &str,
) -> Result<channels::Model> {
    // At most one row (primary key). `.all()` rather than `.one()`: a bound `LIMIT ?` makes
    // SQLite re-plan the statement on every call (see [`query::messages_from_query`]).
    channels::Entity::find_by_id(channel_id)
        .filter(channels::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::not_found("channel", channel_id))
}

/// `GET /api/v1/channels/{id}`: one channel with its message count and last activity.
#[tracing::instrument(skip(db))]
pub async fn get_channel(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    channel_id: &str,
) -> Result<ChannelSummary> {
    let row = channel_row(db, tenant_id, channel_id).await?;
    let stats = query::channel_stats(
        db,
        Condition::all().add(channels::Column::Id.eq(channel_id)),
    )
    .await?;
    let s = stats.get(&row.id);
    Ok(summary(row, s))
}

/// What a message page asks for. [`messages_page`] rejects a `limit` outside
/// `1..=`[`MAX_LIMIT`] and both cursors at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessagePageParams {
    /// Page size.
    pub limit: u64,
    /// Return messages older than this platform message id (decimal, no leading zeros).
    pub before: Option<String>,
    /// Return messages newer than this platform message id (decimal, no leading zeros).
    pub after: Option<String>,
}

/// Paging facts of a message page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePageMeta {
    /// The page size applied.
    pub limit: u64,
    /// Messages in this page.
    pub count: u64,
    /// More messages exist in the requested direction (older for `before`/no cursor, newer for
    /// `after`).
    pub has_more: bool,
    /// Older messages exist than the oldest in this page.
    pub has_older: bool,
    /// Newer messages exist than the newest in this page.
    pub has_newer: bool,
    /// Pass as `before` to get the next older page (the oldest id here); `null` on an empty page.
    pub before: Option<String>,
    /// Pass as `after` to get the next newer page (the newest id here); `null` on an empty page.
    pub after: Option<String>,
}

/// One page of messages, newest first, with paging facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessagePage {
    /// The messages, newest first, each with reactions (raw and counted) and attachments.
    pub messages: Vec<MessageView>,
    /// Paging facts.
    pub meta: MessagePageMeta,
}

/// `GET /api/v1/channels/{id}/messages`: a keyset page of the channel's messages, newest first.
/// `before` and `after` are exclusive cursors; giving both is a validation error.
#[tracing::instrument(skip(db))]
pub async fn messages_page(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    channel_id: &str,
    params: &MessagePageParams,
) -> Result<MessagePage> {
    let request = PageRequest::check(params)?;
    page_from(&query::Orm(db), tenant_id, channel_id, &request).await
}

/// What serves the read API's message pages: direct SQLite connections on the caller's thread
/// when the database is an SQLite file ([`sqlite_reads`]), else the connection pool.
#[derive(Debug)]
pub struct MessageReader {
    db: sea_orm::DatabaseConnection,
    sqlite: Option<sqlite_reads::SqliteReader>,
}

impl MessageReader {
    /// The reader for `db`.
    pub fn new(db: sea_orm::DatabaseConnection) -> Self {
        let sqlite = sqlite_reads::SqliteReader::for_database(&db);
        Self { db, sqlite }
    }

    /// Whether pages are read through direct SQLite connections.
    pub fn is_direct(&self) -> bool {
        self.sqlite.is_some()
    }

    /// [`messages_page`], on the direct SQLite path when there is one.
    pub async fn messages_page(
        &self,
        tenant_id: &str,
        channel_id: &str,
        params: &MessagePageParams,
    ) -> Result<MessagePage> {
        match &self.sqlite {
            Some(reader) => reader.messages_page(tenant_id, channel_id, params),
            None => messages_page(&self.db, tenant_id, channel_id, params).await,
        }
    }
}

/// A message page's parameters, checked.
#[derive(Debug, Clone)]
struct PageRequest {
    limit: u64,
    before: Option<String>,
    after: Option<String>,
}

impl PageRequest {
    /// Check `params` (before touching the database).
    fn check(params: &MessagePageParams) -> Result<Self> {
        check_limit("limit", params.limit, 1)?;
        if params.before.is_some() && params.after.is_some() {
            return Err(Error::invalid(
                "before",
                "give either before or after, not both",
            ));
        }
        Ok(Self {
            limit: params.limit,
            before: params.before.clone(),
            after: params.after.clone(),
        })
    }
}

/// A page size or neighbour count outside `min..=MAX_LIMIT` is a validation error naming
/// `field`: the bound that keeps one request's work small.
fn check_limit(field: &str, value: u64, min: u64) -> Result<()> {
    if (min..=MAX_LIMIT).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("must be from {min} to {MAX_LIMIT}"),
        ))
    }
}

/// [`messages_page`] over any [`query::PageReads`].
async fn page_from(
    reads: &impl query::PageReads,
    tenant_id: &str,
    channel_id: &str,
    request: &PageRequest,
) -> Result<MessagePage> {
    let PageRequest {
        limit,
        before,
        after,
    } = request;
    let limit = *limit;
    let cursor = checked_cursor(
        reads,
        tenant_id,
        channel_id,
        before.as_deref().or(after.as_deref()),
    )
    .await?;
    // A page after a cursor has more on its newer side; any other page on its older side.
    let (page, has_more) = if let (Some(_), Some((pos, exists))) = (after, &cursor) {
        let page = rows_after(reads, channel_id, pos, *exists, limit).await?;
        let has_more = page.has_newer;
        (page, has_more)
    } else {
        let page = rows_before(reads, channel_id, cursor.as_ref(), limit).await?;
        let has_more = page.has_older;
        (page, has_more)
    };
    let PageRows {
        rows,
        has_older,
        has_newer,
    } = page;

    let meta = MessagePageMeta {
        limit,
        count: rows.len() as u64,
        has_more,
        has_older,
        has_newer,
        before: rows.last().map(|m| m.platform_message_id.clone()),
        after: rows.first().map(|m| m.platform_message_id.clone()),
    };
    let messages = query::with_details_from(reads, rows)
        .await?
        .into_iter()
        .map(MessageView::with_reaction_counts)
        .collect();
    Ok(MessagePage { messages, meta })
}

/// The rows of one page, newest first, and whether the channel has messages beyond either end.
struct PageRows {
    rows: Vec<messages::Model>,
    has_older: bool,
    has_newer: bool,
}

/// The position of the cursor message `snowflake` (and whether it is stored) when there is a
/// cursor; fails with "not found" unless `tenant_id` has the channel either way. The channel
/// check and the cursor's position come from one query.
async fn checked_cursor(
    reads: &impl query::PageReads,
    tenant_id: &str,
    channel_id: &str,
    snowflake: Option<&str>,
) -> Result<Option<(Position, bool)>> {
    match snowflake {
        Some(snowflake) => Ok(Some(
            reads
                .channel_cursor(tenant_id, channel_id, snowflake)
                .await?
                .ok_or_else(|| Error::not_found("channel", channel_id))?,
        )),
        None => {
            if !reads.has_channel(tenant_id, channel_id).await? {
                return Err(Error::not_found("channel", channel_id));
            }
            Ok(None)
        }
    }
}

/// Up to `limit` messages newer than `pos` (the closest ones); `exists` tells whether the
/// cursor's own message is stored.
async fn rows_after(
    reads: &impl query::PageReads,
    cid: &str,
    pos: &Position,
    exists: bool,
    limit: u64,
) -> Result<PageRows> {
    let mut rows = reads
        .messages_from(cid, Some(pos), Direction::Newer, limit + 1)
        .await?;
    let has_newer = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    rows.reverse();
    // The cursor's own message, when stored, is older than the whole page.
    let has_older = exists
        || match rows.last() {
            Some(oldest) => {
                reads
                    .any_message_from(cid, &Position::of(oldest), Direction::Older)
                    .await?
            }
            None => reads.any_message_from(cid, pos, Direction::Older).await?,
        };
    Ok(PageRows {
        rows,
        has_older,
        has_newer,
    })
}

/// Up to `limit` messages older than the cursor (position, whether its message is stored),
/// or the newest `limit` messages without one.
async fn rows_before(
    reads: &impl query::PageReads,
    cid: &str,
    cursor: Option<&(Position, bool)>,
    limit: u64,
) -> Result<PageRows> {
    let mut rows = reads
        .messages_from(cid, cursor.map(|(p, _)| p), Direction::Older, limit + 1)
        .await?;
    let has_older = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    // The cursor's own message, when stored, is newer than the whole page.
    let has_newer = match (cursor, rows.first()) {
        (None, _) => false,
        (Some((_, true)), _) => true,
        (Some(_), Some(newest)) => {
            reads
                .any_message_from(cid, &Position::of(newest), Direction::Newer)
                .await?
        }
        (Some((p, false)), None) => reads.any_message_from(cid, p, Direction::Newer).await?,
    };
    Ok(PageRows {
        rows,
        has_older,
        has_newer,
    })
}

/// The threads whose parent is the channel with platform id `parent_platform_id`, with their
/// stats, ordered by last activity (newest message, else the thread's creation), newest first.
/// Two queries; the list holds one small row per thread, never messages.
pub async fn threads_by_activity(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    parent_platform_id: &str,
) -> Result<Vec<(channels::Model, ChannelStats)>> {
    let filter = Condition::all()
        .add(channels::Column::TenantId.eq(tenant_id))
        .add(channels::Column::ParentChannelId.eq(parent_platform_id))
        .add(channels::Column::Type.eq("thread"));
    let threads = channels::Entity::find()
        .filter(filter.clone())
        .all(db)
        .await?;
    let mut stats = query::channel_stats(db, filter).await?;
    let mut out: Vec<(channels::Model, ChannelStats)> = threads
        .into_iter()
        .map(|t| {
            let s = stats.remove(&t.id).unwrap_or_default();
            (t, s)
        })
        .collect();
    out.sort_by(|(a, sa), (b, sb)| {
        let la = sa.last_activity.unwrap_or(a.created_at);
        let lb = sb.last_activity.unwrap_or(b.created_at);
        lb.cmp(&la).then_with(|| b.id.cmp(&a.id))
    });
    Ok(out)
}

/// Thread summaries for `threads` (kept in order), with first messages loaded in two queries.
pub async fn thread_views(
    db: &impl ConnectionTrait,
    threads: Vec<(channels::Model, ChannelStats)>,
) -> Result<Vec<ThreadView>> {
    let ids: Vec<String> = threads.iter().map(|(t, _)| t.id.clone()).collect();
    let mut firsts: HashMap<String, messages::Model> = query::first_messages(db, &ids).await?;
    Ok(threads
        .into_iter()
        .map(|(t, s)| ThreadView {
            archived: view::metadata_flag(t.metadata.as_ref(), "archived"),
            locked: view::metadata_flag(t.metadata.as_ref(), "locked"),
            first_message: firsts.remove(&t.id).map(Into::into),
            last_activity: s.last_activity.unwrap_or(t.created_at),
            message_count: s.message_count,
            created_at: t.created_at,
            id: t.id,
            platform_channel_id: t.platform_channel_id,
            name: t.name,
        })
        .collect())
}

/// What a thread page asks for; [`threads_page`] rejects a `limit` outside
/// `1..=`[`MAX_LIMIT`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadPageParams {
    /// Page size.
    pub limit: u64,
    /// Continue after the thread with this platform channel id (the previous page's
    /// `meta.before`).
    pub before: Option<String>,
}

/// Paging facts of a thread page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadPageMeta {
    /// The page size applied.
    pub limit: u64,
    /// Threads of the channel in all.
    pub total: u64,
    /// More threads follow this page.
    pub has_more: bool,
    /// Pass as `before` for the next page; `null` when there is none.
    pub before: Option<String>,
}

/// One page of a channel's threads, most recently active first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ThreadPage {
    /// The threads.
    pub threads: Vec<ThreadView>,
    /// Paging facts.
    pub meta: ThreadPageMeta,
}

/// `GET /api/v1/channels/{id}/threads`: the channel's threads (forum posts), most recently
/// active first, each with title, first message, message count and last activity.
#[tracing::instrument(skip(db))]
pub async fn threads_page(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    channel_id: &str,
    params: &ThreadPageParams,
) -> Result<ThreadPage> {
    let limit = params.limit;
    check_limit("limit", limit, 1)?;
    let before = params.before.clone();
    let channel = channel_row(db, tenant_id, channel_id).await?;
    let all = threads_by_activity(db, tenant_id, &channel.platform_channel_id).await?;
    let total = all.len() as u64;
    let start = match &before {
        None => 0,
        Some(b) => {
            all.iter()
                .position(|(t, _)| &t.platform_channel_id == b)
                .ok_or_else(|| Error::invalid("before", "is not a thread of this channel"))?
                + 1
        }
    };
    let page: Vec<_> = all
        .into_iter()
        .skip(start)
        .take(limit as usize + 1)
        .collect();
    let has_more = page.len() as u64 > limit;
    let page: Vec<_> = page.into_iter().take(limit as usize).collect();
    let next = if has_more {
        page.last().map(|(t, _)| t.platform_channel_id.clone())
    } else {
        None
    };
    let threads = thread_views(db, page).await?;
    Ok(ThreadPage {
        threads,
        meta: ThreadPageMeta {
            limit,
            total,
            has_more,
            before: next,
        },
    })
}

/// How many neighbours a message context asks for; [`message_context`] rejects counts above
/// [`MAX_LIMIT`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextParams {
    /// Older neighbours to include.
    pub before: u64,
    /// Newer neighbours to include.
    pub after: u64,
}

/// Where the target sits in a context answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContextTarget {
    /// The target's platform message id (decimal).
    pub id: String,
    /// Its index in `messages`.
    pub position: u64,
}

/// Whether more messages exist on one side, and the cursor to fetch them with the messages
/// endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NavigationSide {
    /// More messages exist beyond those returned.
    pub has_more: bool,
    /// The outermost platform message id returned on this side.
    pub cursor: String,
}

/// Cursors around a context answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Navigation {
    /// The older side (use `cursor` as `before`).
    pub before: NavigationSide,
    /// The newer side (use `cursor` as `after`).
    pub after: NavigationSide,
}

/// `GET /api/v1/messages/{id}`: a message with its neighbours in the channel, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageContext {
    /// Newer neighbours, the target, then older neighbours (newest first).
    pub messages: Vec<MessageView>,
    /// The target's place in `messages`.
    pub target: ContextTarget,
    /// Paging on either side.
    pub navigation: Navigation,
}

/// `GET /api/v1/messages/{id}`: `raw_id` is the base62 snowflake of the original's URLs or a
/// decimal snowflake.
#[tracing::instrument(skip(db))]
pub async fn message_context(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    raw_id: &str,
    params: &ContextParams,
) -> Result<MessageContext> {
    let snowflake = ids::parse_message_path_id(raw_id)?;
    let (n_before, n_after) = (params.before, params.after);
    check_limit("before", n_before, 0)?;
    check_limit("after", n_after, 0)?;
    let target = messages::Entity::find()
        .inner_join(channels::Entity)
        .filter(messages::Column::PlatformMessageId.eq(snowflake.as_str()))
        .filter(channels::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("message", raw_id))?;
    let pos = Position::of(&target);
    let cid = target.channel_id.clone();
    let mut older =
        query::messages_from(db, &cid, Some(&pos), Direction::Older, n_before + 1).await?;
    let mut newer =
        query::messages_from(db, &cid, Some(&pos), Direction::Newer, n_after + 1).await?;
    let more_older = older.len() as u64 > n_before;
    let more_newer = newer.len() as u64 > n_after;
    older.truncate(n_before as usize);
    newer.truncate(n_after as usize);
    newer.reverse();
    let position = newer.len() as u64;
    let before_cursor = older.last().map_or_else(
        || target.platform_message_id.clone(),
        |m| m.platform_message_id.clone(),
    );
    let after_cursor = newer.first().map_or_else(
        || target.platform_message_id.clone(),
        |m| m.platform_message_id.clone(),
    );
    let target_id = target.platform_message_id.clone();
    let mut rows = newer;
    rows.push(target);
    rows.extend(older);
    let messages = query::with_details(db, rows)
        .await?
        .into_iter()
        .map(MessageView::with_reaction_counts)
        .collect();
    Ok(MessageContext {
        messages,
        target: ContextTarget {
            id: target_id,
            position,
        },
        navigation: Navigation {
            before: NavigationSide {
                has_more: more_older,
                cursor: before_cursor,
            },
            after: NavigationSide {
                has_more: more_newer,
                cursor: after_cursor,
            },
        },
    })
}
