//! The archive's read queries, shared by the read API and the export.
//!
//! Messages are ordered by `(platform_created_at, platform_message_id)` and paged by keyset on
//! that pair, which the index `idx_messages_channel_created` (migration m010) serves together
//! with the channel: no OFFSET, no whole channel in memory, every page one index range scan.
//! Aggregates (counts, last activity) are one grouped query per request, never one per row.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sea_query::extension::mysql::{IndexHintScope, MySqlSelectStatementExt};
use sea_orm::sea_query::{Alias, Expr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Order,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement, Value,
};

use entity::{channels, messages};

use super::ids::snowflake_unix_millis;
use super::view::{AttachmentFile, AttachmentView, FileStatus, MessageView, ReactionView};
use crate::error::{Error, Result};

/// The index serving message pages (migration m010).
pub const CHANNEL_ORDER_INDEX: &str = "idx_messages_channel_created";

/// Rows per `IN (...)` list: far below both placeholder limits (65,535 MySQL, 32,766 SQLite).
const IN_CHUNK: usize = 1_000;

/// A point in a channel's message order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// `platform_created_at` of the message at this point.
    pub at: DateTime<Utc>,
    /// Its platform message id (the tie-breaker within one timestamp).
    pub platform_message_id: String,
}

impl Position {
    /// The position of a stored message.
    pub fn of(m: &messages::Model) -> Self {
        Self {
            at: m.platform_created_at,
            platform_message_id: m.platform_message_id.clone(),
        }
    }
}

/// Which side of a position to read, and in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Messages before the position, newest first.
    Older,
    /// Messages after the position, oldest first.
    Newer,
}

/// The statement behind [`messages_from`] (public so tests can EXPLAIN it).
///
/// `LIMIT` is written into the SQL as a literal, not bound: SQLite (3.4x and later) reads a
/// bound `LIMIT ?` while planning and marks the prepared statement as depending on it, so
/// every execution re-binds, expires the cached plan and parses and plans the whole query
/// again, on the read API's most frequent statement. A literal keeps one cached plan per page
/// size; `limit` is a number from our code, never client text.
pub fn messages_from_query(
    backend: DbBackend,
    channel_id: &str,
    from: Option<&Position>,
    direction: Direction,
    limit: u64,
) -> Statement {
    use messages::Column as M;
    let mut query = messages::Entity::find().filter(M::ChannelId.eq(channel_id));
    if let Some(p) = from {
        let pid = p.platform_message_id.as_str();
        let (bound, beyond_at, beyond_id) = match direction {
            Direction::Older => (
                M::PlatformCreatedAt.lte(p.at),
                M::PlatformCreatedAt.lt(p.at),
                M::PlatformMessageId.lt(pid),
            ),
            Direction::Newer => (
                M::PlatformCreatedAt.gte(p.at),
                M::PlatformCreatedAt.gt(p.at),
                M::PlatformMessageId.gt(pid),
            ),
        };
        // `bound` is implied by the OR below; it is there because it is a plain range on the
        // index's second column, which every planner (SQLite's too) turns into a seek to the
        // cursor instead of a scan from the end of the channel.
        query = query.filter(bound).filter(
            Condition::any().add(beyond_at).add(
                Condition::all()
                    .add(M::PlatformCreatedAt.eq(p.at))
                    .add(beyond_id),
            ),
        );
    }
    let order = match direction {
        Direction::Older => Order::Desc,
        Direction::Newer => Order::Asc,
    };
    // MySQL-family planners, asked for an ORDER BY .. LIMIT on this index, tend to switch from
    // the range to `ref` on channel_id alone and walk the channel from its end to the cursor,
    // so a page deep in a channel reads every row after it. Forcing the index keeps the range
    // seek. Rendered for MySQL only; SQLite ignores index hints here.
    QuerySelect::query(&mut query)
        .force_index(Alias::new(CHANNEL_ORDER_INDEX), IndexHintScope::All);
    let mut statement = query
        .order_by(M::PlatformCreatedAt, order.clone())
        .order_by(M::PlatformMessageId, order)
        .build(backend);
    // ORDER BY is the statement's last clause, so the limit goes at the end.
    statement.sql.push_str(&format!(" LIMIT {limit}"));
    statement
}

/// Up to `limit` messages of `channel_id` strictly on the `direction` side of `from` (all of
/// the channel when `from` is `None`): newest first for [`Direction::Older`], oldest first for
/// [`Direction::Newer`].
pub async fn messages_from(
    db: &impl ConnectionTrait,
    channel_id: &str,
    from: Option<&Position>,
    direction: Direction,
    limit: u64,
) -> Result<Vec<messages::Model>> {
    let statement = messages_from_query(
        db.get_database_backend(),
        channel_id,
        from,
        direction,
        limit,
    );
    Ok(messages::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await?)
}

/// SQL of [`channel_cursor`] (public so tests can EXPLAIN it), binding the cursor's platform
/// message id, the channel id and the tenant id: one row when the tenant has the channel, with
/// the cursor message's `platform_created_at` when the channel holds that message (primary key
/// of `channels`, unique key `idx_messages_channel_platform_unique` of `messages`).
pub const CHANNEL_CURSOR_SQL: &str = "SELECT c.id AS channel_id, m.platform_created_at AS cursor_at \
     FROM channels c \
     LEFT JOIN messages m ON m.channel_id = c.id AND m.platform_message_id = ? \
     WHERE c.id = ? AND c.tenant_id = ?";

/// Check that `channel_id` is a channel of `tenant_id` and resolve a cursor (a platform
/// message id, validated decimal) in it, in one query: `None` when the tenant has no such
/// channel, else the cursor's position and whether a stored message sits exactly there. A
/// cursor naming no stored message is placed by the time encoded in the snowflake, so `0` is
/// before everything.
pub async fn channel_cursor(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    channel_id: &str,
    snowflake: &str,
) -> Result<Option<(Position, bool)>> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            CHANNEL_CURSOR_SQL,
            [snowflake.into(), channel_id.into(), tenant_id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored: Option<DateTime<Utc>> = row.try_get("", "cursor_at")?;
    Ok(Some(cursor_position(snowflake, stored)))
}

/// A cursor's position and whether a stored message sits there, from the `cursor_at` column
/// of [`CHANNEL_CURSOR_SQL`].
pub(crate) fn cursor_position(snowflake: &str, stored: Option<DateTime<Utc>>) -> (Position, bool) {
    match stored {
        Some(at) => (
            Position {
                at,
                platform_message_id: snowflake.to_owned(),
            },
            true,
        ),
        None => (snowflake_position(snowflake), false),
    }
}

/// The latest instant a MySQL-family `timestamp` column holds (2038-01-19 03:14:07 UTC). A
/// later bound compared with such a column is read as zero, which would put a cursor from
/// beyond it before every message. Messages stored there cannot be later either.
const LATEST_STORABLE_MILLIS: i64 = 2_147_483_647_000;

/// The position a cursor naming no stored message stands for: the time in its snowflake (at
/// most [`LATEST_STORABLE_MILLIS`], on every backend alike).
fn snowflake_position(snowflake: &str) -> Position {
    let value: u64 = snowflake.parse().unwrap_or(0);
    let at = Utc
        .timestamp_millis_opt(snowflake_unix_millis(value).min(LATEST_STORABLE_MILLIS))
        .single()
        .unwrap_or_default();
    Position {
        at,
        platform_message_id: snowflake.to_owned(),
    }
}

/// The details query of [`with_details`] (public so tests can EXPLAIN it): the reactions and
/// the attachments of the messages of `channel_id` from position `first` to position `last`
/// (both included, in channel order), one row per reaction (`kind` 0: `text1` emoji, `text2`
/// user) or attachment (`kind` 1: `text1` file name, `text2` content type, `url`,
/// `file_size`, and its `attachment_files` row's `file_state`, `file_sha256`, `file_bytes`,
/// `file_reason`, by primary key); rows come unordered ([`with_details`] sorts them).
///
/// The messages are named by their range rather than by an `IN (...)` list of their ids: each
/// half walks the range on `idx_messages_channel_created` (the index that served the page)
/// and looks up each message's rows on its table's `message_id` index. It binds 14 values,
/// where an `IN (...)` list of a page's ids bound 200 (the 100 ids twice), which SQLite also
/// sorted into a temporary index on every execution.
///
/// The join order is fixed (SQLite `CROSS JOIN`, MySQL `STRAIGHT_JOIN`) and on MySQL-family
/// servers the indexes are forced: MariaDB 10.11 read a small attachments table (581 rows)
/// whole rather than look up a page's messages.
pub fn details_query(
    backend: DbBackend,
    channel_id: &str,
    first: &Position,
    last: &Position,
) -> Statement {
    let (join, messages_hint, reactions_hint, attachments_hint) = match backend {
        DbBackend::MySql => (
            "STRAIGHT_JOIN",
            " FORCE INDEX (idx_messages_channel_created)",
            " FORCE INDEX (idx_message_emoji_reactions_message_id)",
            " FORCE INDEX (idx_message_attachments_message_id)",
        ),
        _ => ("CROSS JOIN", "", "", ""),
    };
    // The plain range on the index's second column is what the planners seek on; the two
    // ORs make it exact at the ends, where other messages may share a timestamp.
    let range = "m.channel_id = ? AND m.platform_created_at >= ? AND m.platform_created_at <= ? \
         AND (m.platform_created_at > ? OR m.platform_message_id >= ?) \
         AND (m.platform_created_at < ? OR m.platform_message_id <= ?)";
    let sql = format!(
        "SELECT 0 AS kind, r.id, r.message_id, r.created_at, r.emoji AS text1, \
           r.anonymized_user_id AS text2, NULL AS url, NULL AS file_size, \
           NULL AS file_state, NULL AS file_sha256, NULL AS file_bytes, NULL AS file_reason \
         FROM messages m{messages_hint} {join} message_emoji_reactions r{reactions_hint} \
           ON r.message_id = m.id \
         WHERE {range} \
         UNION ALL \
         SELECT 1 AS kind, a.id, a.message_id, a.created_at, a.filename AS text1, \
           a.content_type AS text2, a.url, a.file_size, \
           f.state AS file_state, f.sha256 AS file_sha256, f.bytes AS file_bytes, \
           f.reason AS file_reason \
         FROM messages m{messages_hint} {join} message_attachments a{attachments_hint} \
           ON a.message_id = m.id \
         LEFT JOIN attachment_files f ON f.attachment_id = a.id \
         WHERE {range}"
    );
    let range_values = || -> [Value; 7] {
        [
            channel_id.into(),
            first.at.into(),
            last.at.into(),
            first.at.into(),
            first.platform_message_id.as_str().into(),
            last.at.into(),
            last.platform_message_id.as_str().into(),
        ]
    };
    let values: Vec<Value> = range_values().into_iter().chain(range_values()).collect();
    Statement::from_sql_and_values(backend, sql, values)
}

/// One row of [`details_query`].
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// A reaction row (`kind` 0).
    Reaction(ReactionView),
    /// An attachment row (`kind` 1).
    Attachment(AttachmentView),
}

/// The reads a message page is made of, over one database connection or pool: the page logic
/// ([`super::messages_page`], [`with_details`]) is written once against them. Implemented by
/// [`Orm`] (SeaORM, every backend) and by [`super::sqlite_reads::SqliteReads`] (a direct
/// SQLite connection, for the read API).
pub(crate) trait PageReads {
    /// [`channel_cursor`].
    async fn channel_cursor(
        &self,
        tenant_id: &str,
        channel_id: &str,
        snowflake: &str,
    ) -> Result<Option<(Position, bool)>>;
    /// Whether `tenant_id` has the channel `channel_id`.
    async fn has_channel(&self, tenant_id: &str, channel_id: &str) -> Result<bool>;
    /// [`messages_from`].
    async fn messages_from(
        &self,
        channel_id: &str,
        from: Option<&Position>,
        direction: Direction,
        limit: u64,
    ) -> Result<Vec<messages::Model>>;
    /// The reactions and attachments of `message_ids` (row ids), messages of `channel_id` from
    /// position `first` to `last`, as the rows of [`details_query`], unordered. An
    /// implementation may select by the range or by the ids, whichever its database does best.
    async fn details(
        &self,
        channel_id: &str,
        first: &Position,
        last: &Position,
        message_ids: &[&str],
    ) -> Result<Vec<Detail>>;

    /// Whether `channel_id` has any message on the `direction` side of `from`.
    async fn any_message_from(
        &self,
        channel_id: &str,
        from: &Position,
        direction: Direction,
    ) -> Result<bool> {
        Ok(!self
            .messages_from(channel_id, Some(from), direction, 1)
            .await?
            .is_empty())
    }
}

/// [`PageReads`] through SeaORM on any connection, pool or transaction.
pub(crate) struct Orm<'a, C>(pub &'a C);

impl<C: ConnectionTrait> PageReads for Orm<'_, C> {
    async fn channel_cursor(
        &self,
        tenant_id: &str,
        channel_id: &str,
        snowflake: &str,
    ) -> Result<Option<(Position, bool)>> {
        channel_cursor(self.0, tenant_id, channel_id, snowflake).await
    }

    async fn has_channel(&self, tenant_id: &str, channel_id: &str) -> Result<bool> {
        match super::channel_row(self.0, tenant_id, channel_id).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn messages_from(
        &self,
        channel_id: &str,
        from: Option<&Position>,
        direction: Direction,
        limit: u64,
    ) -> Result<Vec<messages::Model>> {
        messages_from(self.0, channel_id, from, direction, limit).await
    }

    async fn details(
        &self,
        channel_id: &str,
        first: &Position,
        last: &Position,
        _message_ids: &[&str],
    ) -> Result<Vec<Detail>> {
        let db = self.0;
        let rows = db
            .query_all_raw(details_query(
                db.get_database_backend(),
                channel_id,
                first,
                last,
            ))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: i32 = row.try_get("", "kind")?;
            let id: String = row.try_get("", "id")?;
            let message_id: String = row.try_get("", "message_id")?;
            let created_at: DateTime<Utc> = row.try_get("", "created_at")?;
            let text1: String = row.try_get("", "text1")?;
            let text2: String = row.try_get("", "text2")?;
            out.push(if kind == 0 {
                Detail::Reaction(ReactionView {
                    id,
                    message_id,
                    emoji: text1,
                    anonymized_user_id: text2,
                    created_at,
                })
            } else {
                let file = FileStatus::from_columns(
                    &id,
                    row.try_get("", "file_state")?,
                    row.try_get("", "file_sha256")?,
                    row.try_get("", "file_bytes")?,
                    row.try_get("", "file_reason")?,
                );
                Detail::Attachment(AttachmentView {
                    id,
                    message_id,
                    filename: text1,
                    content_type: text2,
                    url: row.try_get("", "url")?,
                    file_size: row.try_get("", "file_size")?,
                    created_at,
                    file: Some(AttachmentFile::Status(file)),
                })
            });
        }
        Ok(out)
    }
}

/// Attach reactions and attachments (each in creation order, then id) to `rows`, keeping their
/// order. `rows` are meant to be consecutive messages of one channel (a page, in either
/// order): then it is one query, whatever their number. Any other rows work too, with one
/// query per channel over the range their messages span there.
pub async fn with_details(
    db: &impl ConnectionTrait,
    rows: Vec<messages::Model>,
) -> Result<Vec<MessageView>> {
    with_details_from(&Orm(db), rows).await
}

/// [`with_details`] over any [`PageReads`].
pub(crate) async fn with_details_from(
    reads: &impl PageReads,
    rows: Vec<messages::Model>,
) -> Result<Vec<MessageView>> {
    let mut ranges: Vec<(&str, Position, Position, Vec<&str>)> = Vec::new();
    for m in &rows {
        let at = Position::of(m);
        match ranges.iter_mut().find(|(c, ..)| *c == m.channel_id) {
            Some((_, first, last, ids)) => {
                if position_key(&at) < position_key(first) {
                    *first = at;
                } else if position_key(&at) > position_key(last) {
                    *last = at;
                }
                ids.push(&m.id);
            }
            None => ranges.push((&m.channel_id, at.clone(), at, vec![&m.id])),
        }
    }
    let mut reactions: Vec<ReactionView> = Vec::new();
    let mut attachments: Vec<AttachmentView> = Vec::new();
    for (channel_id, first, last, ids) in &ranges {
        for detail in reads.details(channel_id, first, last, ids).await? {
            match detail {
                Detail::Reaction(r) => reactions.push(r),
                Detail::Attachment(a) => attachments.push(a),
            }
        }
    }
    // Creation order, ties by id: what `ORDER BY created_at, id` gives (ids are ASCII UUIDs,
    // compared bytewise by SQLite and by the binary collation on MySQL alike).
    reactions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    attachments.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut by_message_r = by_message(reactions, |r| &r.message_id);
    let mut by_message_a = by_message(attachments, |a| &a.message_id);
    Ok(rows
        .into_iter()
        .map(|m| {
            let r = take_group(&mut by_message_r, &m.id);
            let a = take_group(&mut by_message_a, &m.id);
            MessageView::new(m, r, a)
        })
        .collect())
}

/// What orders positions: the timestamp, then the platform id as the databases compare it
/// (bytewise text).
fn position_key(p: &Position) -> (DateTime<Utc>, &str) {
    (p.at, p.platform_message_id.as_str())
}

/// `items` grouped by their message row id, each group in the order of `items`; the groups
/// sorted by id for [`take_group`] (a page looks up each of its messages: a binary search
/// over the few messages with reactions costs less than hashing every id).
fn by_message<T>(mut items: Vec<T>, message_id: impl Fn(&T) -> &String) -> Vec<(String, Vec<T>)> {
    // Stable: each message's items keep their order.
    items.sort_by(|a, b| message_id(a).cmp(message_id(b)));
    let mut groups: Vec<(String, Vec<T>)> = Vec::new();
    for item in items {
        match groups.last_mut() {
            Some((id, group)) if id == message_id(&item) => group.push(item),
            _ => groups.push((message_id(&item).clone(), vec![item])),
        }
    }
    groups
}

/// The group of `message_id` from [`by_message`] (empty when it has none), taken out.
fn take_group<T>(groups: &mut [(String, Vec<T>)], message_id: &str) -> Vec<T> {
    groups
        .binary_search_by(|(id, _)| id.as_str().cmp(message_id))
        .map(|i| std::mem::take(&mut groups[i].1))
        .unwrap_or_default()
}

/// Message count and newest `platform_created_at` of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelStats {
    /// Number of messages.
    pub message_count: u64,
    /// Newest `platform_created_at`, `None` for an empty channel.
    pub last_activity: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct StatsRow {
    channel_id: String,
    message_count: i64,
    last_activity: Option<DateTime<Utc>>,
}

/// The query behind [`channel_stats`] (public so tests can EXPLAIN it): one row per channel
/// matching `filter`, its count and newest timestamp from two correlated subqueries on the
/// messages indexes that lead with `channel_id` (a range count, and a seek to the channel's
/// end on `idx_messages_channel_created`).
///
/// Not `JOIN messages ... GROUP BY channel_id`: SQLite implements that GROUP BY by sorting
/// every joined row, so the query held one sorter entry per message of the tenant (the export
/// of a 1,000,000-message tenant peaked at about 100 MB more at its start, and every
/// `GET /api/v1/channels` sorted the whole tenant). Here memory is one row per channel.
pub fn channel_stats_query(filter: Condition) -> Select<channels::Entity> {
    channels::Entity::find()
        .select_only()
        .column_as(channels::Column::Id, "channel_id")
        .column_as(
            Expr::cust("(SELECT COUNT(*) FROM messages m WHERE m.channel_id = channels.id)"),
            "message_count",
        )
        .column_as(
            Expr::cust(
                "(SELECT MAX(m.platform_created_at) FROM messages m \
                 WHERE m.channel_id = channels.id)",
            ),
            "last_activity",
        )
        .filter(filter)
}

/// Stats of every non-empty channel matching `filter` (a condition on `channels` columns), in
/// one query ([`channel_stats_query`]). Channels without messages are absent.
pub async fn channel_stats(
    db: &impl ConnectionTrait,
    filter: Condition,
) -> Result<HashMap<String, ChannelStats>> {
    let rows = channel_stats_query(filter)
        .into_model::<StatsRow>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.message_count > 0)
        .map(|r| {
            (
                r.channel_id,
                ChannelStats {
                    message_count: u64::try_from(r.message_count).unwrap_or(0),
                    last_activity: r.last_activity,
                },
            )
        })
        .collect())
}

/// SQL selecting `(thread_id, first_id)` for `count` thread ids bound as `?` (public so tests
/// can EXPLAIN it): a correlated `LIMIT 1` per thread, served by `idx_messages_channel_created`.
pub fn first_message_ids_sql(count: usize) -> String {
    let placeholders = vec!["?"; count].join(", ");
    format!(
        "SELECT c.id AS thread_id, \
           (SELECT m.id FROM messages m WHERE m.channel_id = c.id \
            ORDER BY m.platform_created_at ASC, m.platform_message_id ASC LIMIT 1) AS first_id \
         FROM channels c WHERE c.id IN ({placeholders})"
    )
}

/// The oldest message of each of `thread_ids` (threads without messages are absent): one
/// query with an index-served correlated `LIMIT 1` per thread, then one fetch by primary key.
pub async fn first_messages(
    db: &impl ConnectionTrait,
    thread_ids: &[String],
) -> Result<HashMap<String, messages::Model>> {
    let mut out = HashMap::new();
    for chunk in thread_ids.chunks(IN_CHUNK) {
        if chunk.is_empty() {
            continue;
        }
        let sql = first_message_ids_sql(chunk.len());
        let values: Vec<Value> = chunk.iter().map(|id| Value::from(id.clone())).collect();
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                values,
            ))
            .await?;
        let mut first_ids: HashMap<String, String> = HashMap::new();
        for row in rows {
            let thread: String = row.try_get("", "thread_id")?;
            let first: Option<String> = row.try_get("", "first_id")?;
            if let Some(first) = first {
                first_ids.insert(first, thread);
            }
        }
        if first_ids.is_empty() {
            continue;
        }
        let found = messages::Entity::find()
            .filter(messages::Column::Id.is_in(first_ids.keys().cloned()))
            .all(db)
            .await?;
        for m in found {
            if let Some(thread) = first_ids.get(&m.id) {
                out.insert(thread.clone(), m);
            }
        }
    }
    Ok(out)
}
