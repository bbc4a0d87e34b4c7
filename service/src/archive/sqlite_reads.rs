//! The read API's message pages on an SQLite file, read through direct SQLite connections on
//! the calling thread instead of through the sqlx pool.
//!
//! sqlx runs every SQLite connection on a thread of its own: each query is a command sent to
//! that thread, rows sent back one by one, and the connection's return to the pool a spawned
//! task plus a ping, another round trip. A page is three or four queries, so about a dozen
//! thread hand-offs for well under a millisecond of SQLite work: under many concurrent clients
//! the threads spend more time waking each other than reading (docs/benchmarks.md,
//! `read-api`). SQLite is a library reading a local file, not a server: here a page
//! takes a connection from a small pool, runs its queries on the caller's thread inside one
//! read transaction (so the page, its cursors and its reactions come from one snapshot), and
//! puts the connection back.
//!
//! The page logic is shared ([`super::page_from`]), and so are the statements of the page and
//! of its cursor ([`query::messages_from_query`], [`query::CHANNEL_CURSOR_SQL`]), bound with
//! the encodings sqlx uses; only the reactions and attachments are looked up differently, by
//! the page's ids ([`DETAILS_BY_IDS_SQL`]). A test compares every page the API serves this way
//! with the SeaORM path's page and with the data that was written. Connections are opened `query_only`: this path cannot write.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use futures::FutureExt;
use rusqlite::types::Value as SqlValue;
use rusqlite::{CachedStatement, Connection, OpenFlags, Row};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, RuntimeErr, Statement, Value};

use entity::messages;

use super::query::{self, Detail, Direction, PageReads, Position};
use super::view::{AttachmentFile, AttachmentView, FileStatus, ReactionView};
use super::{MessagePage, MessagePageParams, PageRequest};
use crate::db::SQLITE_BUSY_TIMEOUT;
use crate::error::{Error, Result};

/// Idle connections kept for the next pages. A page is read start to end on one thread, so
/// the HTTP workers (one per core) use one each; more are opened when more threads read at
/// once, and closed when they come back to a full pool.
const MAX_IDLE: usize = 4;

/// Prepared statements kept per connection: a page uses at most six distinct statements.
const STATEMENT_CACHE: usize = 32;

/// Page cache of each reading connection, KiB: the pool's connections keep 8 MiB each
/// ([`crate::db`]), but there are few of these, each serving every page its thread reads, so
/// a larger cache keeps more of the hot index pages of every channel in memory.
const CACHE_KIB: u32 = 32 * 1024;

/// Direct SQLite connections to one database file, for message pages. Cheap to share; open
/// connections are kept for reuse and closed on drop.
#[derive(Debug)]
pub struct SqliteReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReader {
    /// A reader of the SQLite file behind `db`; `None` for other backends and for in-memory
    /// databases (a new connection would open an empty database).
    pub fn for_database(db: &DatabaseConnection) -> Option<Self> {
        if db.get_database_backend() != DbBackend::Sqlite {
            return None;
        }
        let pool = db.get_sqlite_connection_pool();
        let options = pool.connect_options();
        let path = options.get_filename();
        let name = path.to_string_lossy();
        if pool.options().get_max_connections() <= 1
            || name.is_empty()
            || name == ":memory:"
            || name.contains("mode=memory")
        {
            return None;
        }
        Some(Self::new(path))
    }

    /// A reader of the SQLite file at `path` (which must exist: nothing is created).
    fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// `GET /api/v1/channels/{id}/messages` ([`super::messages_page`]), read on the calling
    /// thread: it blocks for the page's queries (a fraction of a millisecond when the pages
    /// are in the OS cache), never for a network.
    #[tracing::instrument(skip(self))]
    pub fn messages_page(
        &self,
        tenant_id: &str,
        channel_id: &str,
        params: &MessagePageParams,
    ) -> Result<MessagePage> {
        let request = PageRequest::check(params)?;
        let conn = self.take()?;
        let page = Self::read_page(&conn, tenant_id, channel_id, &request);
        // A connection is only reused when its transaction ended cleanly.
        if conn.is_autocommit() {
            self.give_back(conn);
        }
        page
    }

    /// The messages whose row ids are `ids` (any order, missing ones left out) with their
    /// reactions and attachments, from one snapshot: what a page of search hits loads.
    pub fn messages_with_details(
        &self,
        ids: &[&str],
    ) -> Result<(Vec<messages::Model>, Vec<Detail>)> {
        let conn = self.take()?;
        let read = Self::read_messages(&conn, ids);
        if conn.is_autocommit() {
            self.give_back(conn);
        }
        read
    }

    fn read_messages(
        conn: &Connection,
        ids: &[&str],
    ) -> Result<(Vec<messages::Model>, Vec<Detail>)> {
        let tx = conn.unchecked_transaction().map_err(sqlite_error)?;
        let reads = SqliteReads(&tx);
        let json =
            serde_json::to_string(ids).map_err(|e| Error::Database(DbErr::Json(e.to_string())))?;
        let statement =
            Statement::from_sql_and_values(DbBackend::Sqlite, MESSAGES_BY_IDS_SQL, [json.into()]);
        let mut out = Vec::with_capacity(ids.len());
        {
            let mut stmt = reads.prepare(&statement)?;
            let columns = MessageColumns::of(&stmt)?;
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().map_err(sqlite_error)? {
                out.push(columns.read(row)?);
            }
        }
        let details = reads.details_by_ids(ids)?;
        tx.commit().map_err(sqlite_error)?;
        Ok((out, details))
    }

    fn read_page(
        conn: &Connection,
        tenant_id: &str,
        channel_id: &str,
        request: &PageRequest,
    ) -> Result<MessagePage> {
        // One snapshot for all of the page's queries (a deferred transaction reads only).
        let tx = conn.unchecked_transaction().map_err(sqlite_error)?;
        // Every read of `SqliteReads` is synchronous: the future is ready at its first poll.
        let page = super::page_from(&SqliteReads(&tx), tenant_id, channel_id, request)
            .now_or_never()
            .unwrap_or_else(|| {
                Err(Error::Database(DbErr::Custom(
                    "a direct SQLite read did not complete synchronously".to_owned(),
                )))
            })?;
        tx.commit().map_err(sqlite_error)?;
        Ok(page)
    }

    fn take(&self) -> Result<Connection> {
        if let Some(conn) = self.idle.lock().map_err(|_| poisoned())?.pop() {
            return Ok(conn);
        }
        open(&self.path).map_err(sqlite_error)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
    }
}

fn poisoned() -> Error {
    Error::Database(DbErr::Custom(
        "the SQLite reader's connection list is poisoned".to_owned(),
    ))
}

/// Open a reading connection: read-write flags (a WAL database needs its shared-memory file),
/// but `query_only`, so no statement can change the database.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.pragma_update(None, "cache_size", -i64::from(CACHE_KIB))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// A failure of a direct SQLite read, as the database error it is (HTTP 500).
fn sqlite_error(e: rusqlite::Error) -> Error {
    Error::Database(DbErr::Query(RuntimeErr::Internal(format!("sqlite: {e}"))))
}

/// The rows of [`query::details_query`] for the messages whose row ids are in the JSON array
/// bound to `?1`: each id is looked up on the `message_id` index of the reactions and of the
/// attachments. The range form the SeaORM path uses walks the page's messages again and reads
/// each message's row for its id (twice, once per half); here the ids are already known.
pub const DETAILS_BY_IDS_SQL: &str = "WITH page(id) AS (SELECT value FROM json_each(?1)) \
     SELECT 0 AS kind, r.id, r.message_id, r.created_at, r.emoji AS text1, \
       r.anonymized_user_id AS text2, NULL AS url, NULL AS file_size, \
       NULL AS file_state, NULL AS file_sha256, NULL AS file_bytes, NULL AS file_reason \
     FROM page CROSS JOIN message_emoji_reactions r ON r.message_id = page.id \
     UNION ALL \
     SELECT 1 AS kind, a.id, a.message_id, a.created_at, a.filename AS text1, \
       a.content_type AS text2, a.url, a.file_size, \
       f.state AS file_state, f.sha256 AS file_sha256, f.bytes AS file_bytes, \
       f.reason AS file_reason \
     FROM page CROSS JOIN message_attachments a ON a.message_id = page.id \
     LEFT JOIN attachment_files f ON f.attachment_id = a.id";

/// The messages whose row ids are in the JSON array bound to `?1` (primary key lookups).
const MESSAGES_BY_IDS_SQL: &str = "SELECT m.* FROM json_each(?1) AS wanted \
     CROSS JOIN messages m ON m.id = wanted.value";

/// [`PageReads`] on one direct SQLite connection (inside the page's transaction).
struct SqliteReads<'c>(&'c Connection);

impl SqliteReads<'_> {
    /// The reactions and attachments of the messages `message_ids` ([`DETAILS_BY_IDS_SQL`]).
    fn details_by_ids(&self, message_ids: &[&str]) -> Result<Vec<Detail>> {
        let ids = serde_json::to_string(message_ids)
            .map_err(|e| Error::Database(DbErr::Json(e.to_string())))?;
        let statement =
            Statement::from_sql_and_values(DbBackend::Sqlite, DETAILS_BY_IDS_SQL, [ids.into()]);
        let mut stmt = self.prepare(&statement)?;
        let [
            kind,
            id,
            message_id,
            created_at,
            text1,
            text2,
            url,
            file_size,
            file_state,
            file_sha256,
            file_bytes,
            file_reason,
        ] = columns(
            &stmt,
            [
                "kind",
                "id",
                "message_id",
                "created_at",
                "text1",
                "text2",
                "url",
                "file_size",
                "file_state",
                "file_sha256",
                "file_bytes",
                "file_reason",
            ],
        )?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sqlite_error)? {
            let k: i64 = get(row, kind)?;
            let created = get_timestamp(row, created_at)?;
            out.push(if k == 0 {
                Detail::Reaction(ReactionView {
                    id: get(row, id)?,
                    message_id: get(row, message_id)?,
                    emoji: get(row, text1)?,
                    anonymized_user_id: get(row, text2)?,
                    created_at: created,
                })
            } else {
                let attachment_id: String = get(row, id)?;
                let file = FileStatus::from_columns(
                    &attachment_id,
                    get(row, file_state)?,
                    get(row, file_sha256)?,
                    get(row, file_bytes)?,
                    get(row, file_reason)?,
                );
                Detail::Attachment(AttachmentView {
                    id: attachment_id,
                    message_id: get(row, message_id)?,
                    filename: get(row, text1)?,
                    content_type: get(row, text2)?,
                    url: get(row, url)?,
                    file_size: get(row, file_size)?,
                    created_at: created,
                    file: Some(AttachmentFile::Status(file)),
                })
            });
        }
        Ok(out)
    }

    /// Prepare (from the connection's cache) and bind `statement`.
    fn prepare(&self, statement: &Statement) -> Result<CachedStatement<'_>> {
        let mut stmt = self
            .0
            .prepare_cached(&statement.sql)
            .map_err(sqlite_error)?;
        if let Some(values) = &statement.values {
            for (i, v) in values.0.iter().enumerate() {
                stmt.raw_bind_parameter(i + 1, bind_value(v)?)
                    .map_err(sqlite_error)?;
            }
        }
        Ok(stmt)
    }
}

/// A bound value, encoded as sqlx encodes it for SQLite (the stored rows were written that
/// way, and text comparisons in the queries depend on it).
fn bind_value(v: &Value) -> Result<SqlValue> {
    Ok(match v {
        Value::String(Some(s)) => SqlValue::Text(s.clone()),
        Value::ChronoDateTimeUtc(Some(t)) => SqlValue::Text(timestamp_text(t)),
        Value::BigInt(Some(i)) => SqlValue::Integer(*i),
        Value::Int(Some(i)) => SqlValue::Integer(i64::from(*i)),
        Value::String(None)
        | Value::ChronoDateTimeUtc(None)
        | Value::BigInt(None)
        | Value::Int(None) => SqlValue::Null,
        other => {
            return Err(Error::Database(DbErr::Custom(format!(
                "direct SQLite reads cannot bind {other:?}"
            ))));
        }
    })
}

/// A timestamp as sqlx writes `DateTime<Utc>` to SQLite (RFC 3339, `+00:00`).
fn timestamp_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A stored timestamp: RFC 3339 as sqlx writes it, or SQLite's own `YYYY-MM-DD HH:MM:SS[.f]`
/// (UTC) as `CURRENT_TIMESTAMP` defaults write it.
fn parse_timestamp(text: &str) -> Result<DateTime<Utc>> {
    if let Some(t) = parse_utc_rfc3339(text) {
        return Ok(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%F %T%.f")
        .map(|t| t.and_utc())
        .map_err(|e| {
            Error::Database(DbErr::Type(format!(
                "stored timestamp {text:?} is not readable: {e}"
            )))
        })
}

/// The layout sqlx writes, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]` then `+00:00` or `Z`, read by
/// position (chrono's general RFC 3339 parser was a twentieth of a page's CPU); `None` for
/// anything else, which [`parse_timestamp`] hands to chrono.
fn parse_utc_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let rest = b.strip_suffix(b"+00:00").or_else(|| b.strip_suffix(b"Z"))?;
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if rest.len() < 19 || separators.iter().any(|&(at, sep)| rest[at] != sep) {
        return None;
    }
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &rest[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            // At most 9 digits: the scale is 10^0..10^8.
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let year = i32::try_from(number(&rest[0..4])?).ok()?;
    chrono::NaiveDate::from_ymd_opt(year, number(&rest[5..7])?, number(&rest[8..10])?)?
        .and_hms_nano_opt(
            number(&rest[11..13])?,
            number(&rest[14..16])?,
            number(&rest[17..19])?,
            nanos,
        )
        .map(|t| t.and_utc())
}

fn get<T: rusqlite::types::FromSql>(row: &Row<'_>, i: usize) -> Result<T> {
    row.get(i).map_err(sqlite_error)
}

fn get_timestamp(row: &Row<'_>, i: usize) -> Result<DateTime<Utc>> {
    // Parsed where SQLite holds the text, without copying it out first.
    let text = row
        .get_ref(i)
        .and_then(|v| v.as_str().map_err(Into::into))
        .map_err(sqlite_error)?;
    parse_timestamp(text)
}

/// Indexes of the columns `names` in `stmt`'s result, looked up once per statement.
fn columns<const N: usize>(stmt: &CachedStatement<'_>, names: [&str; N]) -> Result<[usize; N]> {
    let mut out = [0; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = stmt.column_index(name).map_err(sqlite_error)?;
    }
    Ok(out)
}

/// Column indexes of a `messages` row, looked up once per statement.
struct MessageColumns([usize; 10]);

impl MessageColumns {
    fn of(stmt: &CachedStatement<'_>) -> Result<Self> {
        columns(
            stmt,
            [
                "id",
                "channel_id",
                "platform_message_id",
                "anonymized_author_id",
                "content",
                "reply_to_id",
                "metadata",
                "platform_created_at",
                "created_at",
                "updated_at",
            ],
        )
        .map(Self)
    }

    fn read(&self, row: &Row<'_>) -> Result<messages::Model> {
        let [
            id,
            channel,
            platform,
            author,
            content,
            reply,
            metadata,
            at,
            created,
            updated,
        ] = self.0;
        let metadata: Option<String> = get(row, metadata)?;
        Ok(messages::Model {
            id: get(row, id)?,
            channel_id: get(row, channel)?,
            platform_message_id: get(row, platform)?,
            anonymized_author_id: get(row, author)?,
            content: get(row, content)?,
            reply_to_id: get(row, reply)?,
            metadata: metadata
                .map(|m| serde_json::from_str(&m))
                .transpose()
                .map_err(|e| Error::Database(DbErr::Json(e.to_string())))?,
            platform_created_at: get_timestamp(row, at)?,
            created_at: get_timestamp(row, created)?,
            updated_at: get_timestamp(row, updated)?,
        })
    }
}

impl PageReads for SqliteReads<'_> {
    async fn channel_cursor(
        &self,
        tenant_id: &str,
        channel_id: &str,
        snowflake: &str,
    ) -> Result<Option<(Position, bool)>> {
        let statement = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            query::CHANNEL_CURSOR_SQL,
            [snowflake.into(), channel_id.into(), tenant_id.into()],
        );
        let mut stmt = self.prepare(&statement)?;
        let [at] = columns(&stmt, ["cursor_at"])?;
        let mut rows = stmt.raw_query();
        let Some(row) = rows.next().map_err(sqlite_error)? else {
            return Ok(None);
        };
        let stored = get::<Option<String>>(row, at)?
            .map(|t| parse_timestamp(&t))
            .transpose()?;
        Ok(Some(query::cursor_position(snowflake, stored)))
    }

    async fn has_channel(&self, tenant_id: &str, channel_id: &str) -> Result<bool> {
        let statement = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT 1 FROM channels WHERE id = ? AND tenant_id = ?",
            [channel_id.into(), tenant_id.into()],
        );
        let mut stmt = self.prepare(&statement)?;
        let mut rows = stmt.raw_query();
        Ok(rows.next().map_err(sqlite_error)?.is_some())
    }

    async fn messages_from(
        &self,
        channel_id: &str,
        from: Option<&Position>,
        direction: Direction,
        limit: u64,
    ) -> Result<Vec<messages::Model>> {
        let statement =
            query::messages_from_query(DbBackend::Sqlite, channel_id, from, direction, limit);
        let mut stmt = self.prepare(&statement)?;
        let columns = MessageColumns::of(&stmt)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(128));
        while let Some(row) = rows.next().map_err(sqlite_error)? {
            out.push(columns.read(row)?);
        }
        Ok(out)
    }

    async fn details(
        &self,
        _channel_id: &str,
        _first: &Position,
        _last: &Position,
        message_ids: &[&str],
    ) -> Result<Vec<Detail>> {
        self.details_by_ids(message_ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    proptest! {
        /// Every timestamp sqlx writes (any sub-second precision) reads back exactly through
        /// the positional parser, and agrees with chrono's parser.
        #[test]
        fn stored_timestamps_read_back_exactly(
            secs in -62_167_219_200i64..=253_402_300_799,
            nanos in 0u32..1_000_000_000,
            format in prop::sample::select(vec![
                SecondsFormat::AutoSi,
                SecondsFormat::Secs,
                SecondsFormat::Millis,
                SecondsFormat::Nanos,
            ]),
            z in any::<bool>(),
        ) {
            let t = Utc.timestamp_opt(secs, nanos).single().unwrap();
            let text = t.to_rfc3339_opts(format, z);
            let read = parse_utc_rfc3339(&text);
            prop_assert!(read.is_some(), "{text} not read");
            prop_assert_eq!(read, Some(DateTime::parse_from_rfc3339(&text).unwrap().to_utc()));
            if format == SecondsFormat::AutoSi || format == SecondsFormat::Nanos {
                prop_assert_eq!(read, Some(t));
            }
        }
    }

    #[tokio::test]
    async fn reading_connections_cannot_write_and_memory_databases_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.db").display());
        let db = crate::db::connect_url(&url).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let reader = SqliteReader::for_database(&db).expect("a file database is read directly");
        let conn = reader.take().unwrap();
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM tenants", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
        let err = conn.execute("DELETE FROM tenants", []).unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");

        let memory = crate::db::connect_url("sqlite::memory:").await.unwrap();
        assert!(SqliteReader::for_database(&memory).is_none());
    }

    #[test]
    fn other_timestamp_layouts_fall_back_to_chrono() {
        let t = Utc.with_ymd_and_hms(2024, 5, 1, 12, 30, 0).unwrap();
        for text in [
            "2024-05-01 12:30:00",
            "2024-05-01 12:30:00.000",
            "2024-05-01T14:30:00+02:00",
        ] {
            assert_eq!(parse_utc_rfc3339(text), None, "{text}");
            assert_eq!(parse_timestamp(text).unwrap(), t, "{text}");
        }
        // A leap second is chrono's to read.
        assert_eq!(parse_utc_rfc3339("2016-12-31T23:59:60+00:00"), None);
        assert!(parse_timestamp("2016-12-31T23:59:60+00:00").is_ok());
        assert!(parse_timestamp("yesterday").is_err());
    }
}
