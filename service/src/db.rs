//! Database connection, migrations and the backend-specific facts the repositories need.
//!
//! Two backends: SQLite (a file, single writer) and the MySQL family (MariaDB, MySQL, TiDB).
//! [`connect`] sets each one up so that the API's readers and the sync worker can run at the
//! same time: on SQLite WAL journaling (readers never block the writer), a busy timeout
//! (writers queue instead of failing with `SQLITE_BUSY`), foreign keys on (cascading deletes)
//! and a pool of several connections; on MySQL a plain pool.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::{Config, redact_url};
use crate::error::Result;

/// How long an SQLite connection waits for the write lock before giving up with
/// `SQLITE_BUSY`. Long enough for any single batch transaction of the sync.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A pooled MySQL connection idle at least this long is pinged before it is handed out.
pub const MYSQL_PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// Largest number of bind parameters one statement may carry on MySQL/MariaDB/TiDB.
pub const MYSQL_MAX_PLACEHOLDERS: usize = 65_535;
/// Largest number of bind parameters one statement may carry on SQLite (>= 3.32).
pub const SQLITE_MAX_PLACEHOLDERS: usize = 32_766;

/// Open a connection pool to `config.database_url`, sized from the worker concurrency.
///
/// Does not migrate; call [`migrate`] afterwards (the `serve` command does both).
#[tracing::instrument(skip_all, fields(url = %redact_url(&config.database_url)))]
pub async fn connect(config: &Config) -> Result<DatabaseConnection> {
    // Every concurrent channel of the worker holds at most one connection (its batch
    // transaction); the rest serve the API's readers and the job queue.
    let pool = (config.sync_channel_concurrency as u32).saturating_add(6);
    connect_with_pool(&config.database_url, pool).await
}

/// Open a connection pool to `url` with the default size (14 connections). Convenient for
/// tests, benchmarks and tools that have a URL but no [`Config`].
pub async fn connect_url(url: &str) -> Result<DatabaseConnection> {
    connect_with_pool(url, 14).await
}

/// Open a pool of at most `max_connections` to `url` (at least two on a file database). For a
/// command that reads one thing at a time, such as the static website build: each SQLite
/// connection keeps its own page cache, so a small pool keeps memory small.
pub async fn connect_with_pool(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(30))
        .min_connections(1);
    if url.starts_with("sqlite:") {
        // sqlx pings a connection every time it leaves the pool by default: on SQLite one more
        // round trip to the connection's thread before each query, for a local file that
        // cannot have hung up.
        opts.test_before_acquire(false);
        // An in-memory database exists once per connection: a pool of several would give
        // every connection its own empty database.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        opts.max_connections(if in_memory { 1 } else { max_connections.max(2) })
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    // NORMAL is durable across application crashes in WAL mode and much
                    // faster than FULL; only an OS crash can lose the last transactions.
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    // 8 MiB page cache per connection (default 2 MiB): inserts into the
                    // archive's indexes mostly stay in memory, while a full pool (14
                    // connections) stays bounded; 32 MiB each let a long sync pass 250 MB RSS.
                    .pragma("cache_size", "-8192")
                    // Checkpoint every 10,000 pages (~40 MiB of WAL) instead of 1,000: the
                    // sync rewrites the same index pages in many consecutive transactions,
                    // and each checkpoint copies a page once however often it was written.
                    .pragma("wal_autocheckpoint", "10000")
                    // Statement journals (the undo of one statement inside a transaction,
                    // e.g. a multi-row upsert) in memory instead of temporary files: a
                    // page transaction otherwise writes each touched page a second time.
                    .pragma("temp_store", "memory")
                    // Rows handed from the connection's thread to the caller before it waits:
                    // the default (50) parks the thread in the middle of a 100-message page.
                    .row_buffer_size(128)
            });
    } else {
        // Ping only connections idle for a while (the ones a server, proxy or firewall may
        // have dropped), not every connection on every checkout.
        opts.max_connections(max_connections.max(2))
            .test_before_acquire_if_idle_for(MYSQL_PING_IF_IDLE_FOR);
    }
    let db = Database::connect(opts).await?;
    tracing::debug!(backend = ?db.get_database_backend(), "database connected");
    Ok(db)
}

/// Page cache of the sync's writer connection on SQLite, KiB: the hot pages of every index
/// the sync appends to (the readers' connections keep 8 MiB each).
pub const SQLITE_WRITER_CACHE_KIB: u32 = 32 * 1024;

/// The connection the sync's page writer uses ([`crate::sync`]): on an SQLite file a
/// separate pool of one connection with the same options, else `db` itself.
///
/// SQLite has one writer at a time anyway, and a connection's page cache is dropped whenever
/// another connection wrote to the file: with every page transaction on one connection the
/// cache keeps the hot index pages instead of re-reading them from the OS for every commit.
/// An in-memory database (a pool of one) is not split, as a second pool would open a
/// different database.
pub fn write_connection(db: &DatabaseConnection) -> DatabaseConnection {
    if db.get_database_backend() != DbBackend::Sqlite {
        return db.clone();
    }
    let pool = db.get_sqlite_connection_pool();
    if pool.options().get_max_connections() <= 1 {
        return db.clone();
    }
    let writer = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .test_before_acquire(false)
        .acquire_timeout(SQLITE_BUSY_TIMEOUT)
        .connect_lazy_with(
            (*pool.connect_options())
                .clone()
                .pragma("cache_size", format!("-{}", SQLITE_WRITER_CACHE_KIB)),
        );
    sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(writer)
}

/// Apply every pending migration (`migration::Migrator`). Idempotent.
#[tracing::instrument(skip_all)]
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    use migration::MigratorTrait;
    migration::Migrator::up(db, None).await?;
    Ok(())
}

/// Begin a transaction that will write.
///
/// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken (waiting up to the busy
/// timeout) at the start. A deferred transaction that reads first and writes later can fail
/// with `SQLITE_BUSY` at once when another writer got in between, because SQLite cannot wait
/// for a lock upgrade of a stale snapshot. On MySQL it is a plain `BEGIN`.
pub async fn begin_write<C>(db: &C) -> Result<C::Transaction>
where
    C: TransactionTrait + ConnectionTrait,
{
    let options = if db.get_database_backend() == DbBackend::Sqlite {
        TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        }
    } else {
        TransactionOptions::default()
    };
    Ok(db.begin_with_options(options).await?)
}

/// The current time truncated to whole seconds: what a `timestamp` column keeps on MySQL.
/// Every timestamp the service writes goes through this, so SQLite stores the same values
/// and a row read back equals the value returned at write time.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Bind-parameter limit of one statement on `backend`.
pub fn max_placeholders(backend: DbBackend) -> usize {
    match backend {
        DbBackend::Sqlite => SQLITE_MAX_PLACEHOLDERS,
        _ => MYSQL_MAX_PLACEHOLDERS,
    }
}

/// How many rows of `columns` bound values fit into one statement on `backend` (at least 1).
pub fn rows_per_statement(backend: DbBackend, columns: usize) -> usize {
    (max_placeholders(backend) / columns.max(1)).max(1)
}

/// The kind of integrity constraint a statement broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// A unique key or primary key already holds the value.
    Unique,
    /// A foreign key points to a missing row (or a parent row still has children).
    ForeignKey,
}

/// An integrity-constraint violation, recognised the same way on SQLite and MySQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintViolation {
    /// Unique or foreign key.
    pub kind: ViolationKind,
    /// Which constraint: the key name on MySQL (`idx_tenants_slug`), the column list on
    /// SQLite (`tenants.slug`). Never contains the offending value, so callers can match on
    /// it safely.
    pub constraint: String,
    /// The database's message.
    pub message: String,
}

impl ConstraintViolation {
    /// Whether the broken constraint mentions `word` (a key name part or a column name).
    pub fn involves(&self, word: &str) -> bool {
        self.constraint.contains(word)
    }
}

/// Recognise a unique-key or foreign-key violation in `err` (on both backends), or `None`
/// for any other error.
pub fn classify(err: &DbErr) -> Option<ConstraintViolation> {
    let (kind, message) = match err.sql_err()? {
        SqlErr::UniqueConstraintViolation(m) => (ViolationKind::Unique, m),
        SqlErr::ForeignKeyConstraintViolation(m) => (ViolationKind::ForeignKey, m),
        _ => return None,
    };
    Some(ConstraintViolation {
        kind,
        constraint: constraint_part(&message),
        message,
    })
}

/// The part of a violation message that names the constraint, without the duplicate value:
/// MySQL `Duplicate entry 'v' for key 'idx'` -> `idx` (also `tbl.idx` on MySQL 8);
/// SQLite `UNIQUE constraint failed: t.a, t.b` -> `t.a, t.b`.
fn constraint_part(message: &str) -> String {
    if let Some(i) = message.rfind(" for key ") {
        return message[i + " for key ".len()..]
            .trim_matches('\'')
            .to_owned();
    }
    if let Some(i) = message.find("constraint failed:") {
        return message[i + "constraint failed:".len()..].trim().to_owned();
    }
    if let Some(i) = message.find("CONSTRAINT") {
        // MySQL foreign-key messages: "... CONSTRAINT `name` FOREIGN KEY (`col`) REFERENCES ..."
        return message[i..].to_owned();
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_part_drops_the_duplicate_value() {
        assert_eq!(
            constraint_part("Duplicate entry 'platform-slug' for key 'idx_tenants_slug'"),
            "idx_tenants_slug"
        );
        assert_eq!(
            constraint_part("UNIQUE constraint failed: tenants.platform, tenants.platform_id"),
            "tenants.platform, tenants.platform_id"
        );
    }

    #[test]
    fn rows_per_statement_stays_under_the_placeholder_limit() {
        assert_eq!(rows_per_statement(DbBackend::Sqlite, 10), 3_276);
        assert_eq!(rows_per_statement(DbBackend::MySql, 10), 6_553);
        assert_eq!(rows_per_statement(DbBackend::MySql, 0), 65_535);
        assert_eq!(rows_per_statement(DbBackend::Sqlite, 40_000), 1);
    }
}
