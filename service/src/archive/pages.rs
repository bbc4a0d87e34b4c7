//! Reads behind the archive website's numbered pages.
//!
//! Website pages are numbered from a channel's oldest message (page `n` holds the messages at
//! positions `(n-1)*size .. n*size` in `(platform_created_at, platform_message_id)` order), so a
//! page's URL keeps its meaning as messages arrive. Every read here walks
//! `idx_messages_channel_created`: the position that starts a page is found on the index alone
//! (covering), then the page itself is one keyset range, as for the read API.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement, Value};

use entity::messages;

use super::query::Position;
use crate::error::Result;

/// Rows per `IN (...)` list, far below both placeholder limits.
const IN_CHUNK: usize = 500;

fn force_index(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::MySql => " FORCE INDEX (idx_messages_channel_created)",
        _ => "",
    }
}

/// The position of the message at 0-based `offset` in `channel_id`'s order, `None` past the end.
/// Reads only the index (`OFFSET` over its entries, never over table rows).
pub async fn position_at(
    db: &impl ConnectionTrait,
    channel_id: &str,
    offset: u64,
) -> Result<Option<Position>> {
    let backend = db.get_database_backend();
    // LIMIT/OFFSET are numbers from our code, written as literals (see
    // `query::messages_from_query` on why a bound LIMIT costs SQLite a re-plan per call).
    let sql = format!(
        "SELECT platform_created_at, platform_message_id FROM messages{} \
         WHERE channel_id = ? \
         ORDER BY platform_created_at ASC, platform_message_id ASC LIMIT 1 OFFSET {offset}",
        force_index(backend)
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [channel_id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Position {
        at: row.try_get("", "platform_created_at")?,
        platform_message_id: row.try_get("", "platform_message_id")?,
    }))
}

/// How many messages of `channel_id` come before position `at` (its 0-based index when a
/// message sits there): one range count on the index.
pub async fn count_before(
    db: &impl ConnectionTrait,
    channel_id: &str,
    at: &Position,
) -> Result<u64> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT COUNT(*) AS n FROM messages{} \
         WHERE channel_id = ? AND platform_created_at <= ? \
           AND (platform_created_at < ? OR platform_message_id < ?)",
        force_index(backend)
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                channel_id.into(),
                at.at.into(),
                at.at.into(),
                at.platform_message_id.as_str().into(),
            ],
        ))
        .await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// One message by internal id, only when it belongs to a channel of `tenant_id`.
pub async fn message_of_tenant(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    message_id: &str,
) -> Result<Option<messages::Model>> {
    let backend = db.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        "SELECT m.* FROM messages m JOIN channels c ON c.id = m.channel_id \
         WHERE m.id = ? AND c.tenant_id = ?",
        [message_id.into(), tenant_id.into()],
    );
    Ok(messages::Entity::find()
        .from_raw_sql(statement)
        .all(db)
        .await?
        .into_iter()
        .next())
}

/// A message a reply points at, with its place in its channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyTarget {
    /// The message.
    pub message: messages::Model,
    /// Its 0-based index in its channel's order.
    pub index: u64,
}

/// The messages with platform ids `platform_ids` in the channels `channel_ids` (the tenant's),
/// each with its index in its channel: one query per 500 ids, the index counted by a
/// correlated range count on `idx_messages_channel_created` (no query per message).
pub async fn reply_targets(
    db: &impl ConnectionTrait,
    channel_ids: &[&str],
    platform_ids: &[&str],
) -> Result<Vec<ReplyTarget>> {
    let mut out = Vec::new();
    if channel_ids.is_empty() {
        return Ok(out);
    }
    let backend = db.get_database_backend();
    let channel_list = vec!["?"; channel_ids.len()].join(", ");
    for chunk in platform_ids.chunks(IN_CHUNK) {
        let id_list = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT t.*, (SELECT COUNT(*) FROM messages b{} WHERE b.channel_id = t.channel_id \
               AND b.platform_created_at <= t.platform_created_at \
               AND (b.platform_created_at < t.platform_created_at \
                    OR b.platform_message_id < t.platform_message_id)) AS position_index \
             FROM messages t WHERE t.channel_id IN ({channel_list}) \
               AND t.platform_message_id IN ({id_list})",
            force_index(backend)
        );
        let values: Vec<Value> = channel_ids
            .iter()
            .chain(chunk.iter())
            .map(|s| Value::from(*s))
            .collect();
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        for row in rows {
            let index: i64 = row.try_get("", "position_index")?;
            let message =
                <messages::Model as sea_orm::FromQueryResult>::from_query_result(&row, "")?;
            out.push(ReplyTarget {
                message,
                index: u64::try_from(index).unwrap_or(0),
            });
        }
    }
    Ok(out)
}

/// When what the tenant's website shows last changed: the newest `updated_at` of the tenant,
/// its branding, its channels and its sync jobs (a job's row is updated as its sync writes
/// pages, and when it finishes). What live pages use for `Last-Modified` and their `ETag`.
pub async fn last_change(
    db: &impl ConnectionTrait,
    tenant_id: &str,
) -> Result<Option<DateTime<Utc>>> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT (SELECT MAX(updated_at) FROM tenants WHERE id = ?) AS tenant_at, \
                    (SELECT MAX(updated_at) FROM tenant_branding WHERE tenant_id = ?) AS branding_at, \
                    (SELECT MAX(updated_at) FROM channels WHERE tenant_id = ?) AS channels_at, \
                    (SELECT MAX(updated_at) FROM sync_jobs WHERE tenant_id = ?) AS jobs_at",
            [
                tenant_id.into(),
                tenant_id.into(),
                tenant_id.into(),
                tenant_id.into(),
            ],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut newest: Option<DateTime<Utc>> = None;
    for column in ["tenant_at", "branding_at", "channels_at", "jobs_at"] {
        let at: Option<DateTime<Utc>> = row.try_get("", column)?;
        newest = newest.max(at);
    }
    Ok(newest)
}

/// The tenant's channels with the given platform ids (for channel mentions and a thread's
/// parent): one query per 500 ids on the unique `(tenant_id, platform_channel_id)` key.
pub async fn channels_by_platform_ids(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    platform_ids: &[&str],
) -> Result<Vec<entity::channels::Model>> {
    use entity::channels;
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut out = Vec::new();
    for chunk in platform_ids.chunks(IN_CHUNK) {
        out.extend(
            channels::Entity::find()
                .filter(channels::Column::TenantId.eq(tenant_id))
                .filter(channels::Column::PlatformChannelId.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// How many threads of the tenant have the channel with platform id `parent_platform_id` as
/// their parent.
pub async fn thread_count(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    parent_platform_id: &str,
) -> Result<u64> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM channels \
             WHERE tenant_id = ? AND parent_channel_id = ? AND type = 'thread'",
            [tenant_id.into(), parent_platform_id.into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The `platform_created_at` of the last message of every page of `channel_id`, `page_size`
/// messages a page, oldest page first: one walk of the channel's index range, streamed (no
/// window that needs the whole channel at once), plus one seek for the last page's end.
pub async fn page_end_times(
    db: &impl ConnectionTrait,
    channel_id: &str,
    page_size: u64,
) -> Result<Vec<DateTime<Utc>>> {
    let backend = db.get_database_backend();
    let page_size = page_size.max(1);
    let sql = format!(
        "SELECT at FROM ( \
           SELECT platform_created_at AS at, \
             ROW_NUMBER() OVER (ORDER BY platform_created_at, platform_message_id) AS rn \
           FROM messages{} WHERE channel_id = ? \
         ) numbered WHERE rn % {page_size} = 0 ORDER BY rn",
        force_index(backend)
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [channel_id.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len() + 1);
    for row in rows {
        out.push(row.try_get("", "at")?);
    }
    // A last page that is not full ends at the channel's newest message.
    let newest = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT COUNT(*) AS n, MAX(platform_created_at) AS at FROM messages{} \
                 WHERE channel_id = ?",
                force_index(backend)
            ),
            [channel_id.into()],
        ))
        .await?;
    if let Some(row) = newest {
        let n: i64 = row.try_get("", "n")?;
        let at: Option<DateTime<Utc>> = row.try_get("", "at")?;
        if let Some(at) = at
            && u64::try_from(n).unwrap_or(0) % page_size != 0
        {
            out.push(at);
        }
    }
    Ok(out)
}
