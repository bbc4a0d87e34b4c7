//! Small helpers to run raw DDL and look at the live schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

/// Executes each statement in order (one statement per call: not every server accepts
/// multi-statement strings).
pub(crate) async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    for statement in statements {
        conn.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// Runs `SELECT COUNT(*) ...` with bound values and returns the count.
pub(crate) async fn count(
    manager: &SchemaManager<'_>,
    sql: &str,
    values: Vec<sea_orm_migration::sea_orm::Value>,
) -> Result<i64, DbErr> {
    let backend = manager.get_database_backend();
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    match row {
        Some(row) => row.try_get_by_index::<i64>(0),
        None => Ok(0),
    }
}

/// MySQL family: does the named constraint (FOREIGN KEY, CHECK, ...) exist on the table?
/// Servers that parse but do not store a constraint (old TiDB) report it missing.
pub(crate) async fn mysql_constraint_exists(
    manager: &SchemaManager<'_>,
    table: &str,
    constraint: &str,
    constraint_type: &str,
) -> Result<bool, DbErr> {
    let n = count(
        manager,
        "SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = ? \
         AND CONSTRAINT_TYPE = ?",
        vec![table.into(), constraint.into(), constraint_type.into()],
    )
    .await?;
    Ok(n > 0)
}

/// MySQL family: does the named CHECK constraint exist on the table? Looks in
/// `information_schema.CHECK_CONSTRAINTS` (MySQL >= 8.0.16, MariaDB, TiDB >= 7.2) as well as
/// `TABLE_CONSTRAINTS`, since servers differ in which of the two lists CHECKs.
pub(crate) async fn mysql_check_exists(
    manager: &SchemaManager<'_>,
    table: &str,
    constraint: &str,
) -> Result<bool, DbErr> {
    if mysql_constraint_exists(manager, table, constraint, "CHECK").await? {
        return Ok(true);
    }
    // CHECK names are unique per schema on MySQL/TiDB (per table on MariaDB; ours are unique
    // anyway). A server without CHECK_CONSTRAINTS has no stored CHECKs to find.
    let n = count(
        manager,
        "SELECT COUNT(*) FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_NAME = ?",
        vec![constraint.into()],
    )
    .await
    .unwrap_or(0);
    Ok(n > 0)
}

/// MySQL family: does the named index exist on the table?
pub(crate) async fn mysql_index_exists(
    manager: &SchemaManager<'_>,
    table: &str,
    index: &str,
) -> Result<bool, DbErr> {
    let n = count(
        manager,
        "SELECT COUNT(*) FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?",
        vec![table.into(), index.into()],
    )
    .await?;
    Ok(n > 0)
}

/// True on SQLite, false on the MySQL family. Any other backend is refused.
pub(crate) fn is_sqlite(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    match manager.get_database_backend() {
        DbBackend::Sqlite => Ok(true),
        DbBackend::MySql => Ok(false),
        other => Err(DbErr::Migration(format!(
            "unsupported database backend {other:?}: Verta runs on SQLite and MySQL-family servers"
        ))),
    }
}

/// A column that held a row id with a foreign key (m002) and holds a platform id since
/// m004/m005.
pub(crate) struct RowReference {
    pub table: &'static str,
    pub column: &'static str,
    /// Name of m002's foreign key (and of the index the server created for it).
    pub foreign_key: &'static str,
    /// Plain index m004/m005 add.
    pub index: &'static str,
    /// Table whose `id` m002's foreign key referenced.
    pub referenced_table: &'static str,
}

/// m004/m005 up: drop the foreign key (and the index the server made for it), widen the
/// column to `varchar(255)` for Discord snowflakes, index it. On SQLite the column was created
/// in this shape by m002: only the index is added.
pub(crate) async fn to_platform_id(
    manager: &SchemaManager<'_>,
    r: &RowReference,
) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    if is_sqlite(manager)? {
        conn.execute_unprepared(&format!(
            "CREATE INDEX {} ON {} ({})",
            r.index, r.table, r.column
        ))
        .await?;
        return Ok(());
    }
    if mysql_constraint_exists(manager, r.table, r.foreign_key, "FOREIGN KEY").await? {
        conn.execute_unprepared(&format!(
            "ALTER TABLE {} DROP FOREIGN KEY {}",
            r.table, r.foreign_key
        ))
        .await?;
    }
    if mysql_index_exists(manager, r.table, r.foreign_key).await? {
        conn.execute_unprepared(&format!("DROP INDEX {} ON {}", r.foreign_key, r.table))
            .await?;
    }
    conn.execute_unprepared(&format!(
        "ALTER TABLE {} MODIFY COLUMN {} varchar(255) NULL DEFAULT NULL",
        r.table, r.column
    ))
    .await?;
    conn.execute_unprepared(&format!(
        "CREATE INDEX {} ON {} ({})",
        r.index, r.table, r.column
    ))
    .await?;
    Ok(())
}

/// m004/m005 down: back to a `varchar(36)` row id with m002's foreign key. Refuses while
/// the column holds values that are not row ids of the referenced table (platform ids written
/// since), because the foreign key could not hold them.
pub(crate) async fn to_row_id(manager: &SchemaManager<'_>, r: &RowReference) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    if is_sqlite(manager)? {
        conn.execute_unprepared(&format!("DROP INDEX {}", r.index))
            .await?;
        return Ok(());
    }
    let dangling = count(
        manager,
        &format!(
            "SELECT COUNT(*) FROM {t} WHERE {c} IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM {rt} ref WHERE ref.id = {t}.{c})",
            t = r.table,
            c = r.column,
            rt = r.referenced_table
        ),
        vec![],
    )
    .await?;
    if dangling > 0 {
        return Err(DbErr::Migration(format!(
            "cannot roll back: {dangling} rows of {}.{} hold platform ids, not {} row ids; \
             clear them first (UPDATE {} SET {} = NULL)",
            r.table, r.column, r.referenced_table, r.table, r.column
        )));
    }
    conn.execute_unprepared(&format!("DROP INDEX {} ON {}", r.index, r.table))
        .await?;
    conn.execute_unprepared(&format!(
        "ALTER TABLE {} MODIFY COLUMN {} varchar(36) NULL DEFAULT NULL",
        r.table, r.column
    ))
    .await?;
    conn.execute_unprepared(&format!(
        "ALTER TABLE {t} ADD CONSTRAINT {fk} FOREIGN KEY ({c}) REFERENCES {rt} (id) ON DELETE SET NULL",
        t = r.table,
        fk = r.foreign_key,
        c = r.column,
        rt = r.referenced_table
    ))
    .await?;
    Ok(())
}
