//! A comparable description of the live schema, as sorted text lines.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

/// Runs a query whose single column is text and returns the values.
pub async fn strings(conn: &DatabaseConnection, sql: &str) -> Vec<String> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"));
    rows.iter()
        .map(|r| {
            r.try_get_by_index::<String>(0)
                .unwrap_or_else(|e| panic!("not text: {e}\n{sql}"))
        })
        .collect()
}

/// The user tables of the database (without the migration bookkeeping table), sorted.
pub async fn tables(conn: &DatabaseConnection) -> Vec<String> {
    let sql = match conn.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' ORDER BY name"
        }
        _ => {
            "SELECT CAST(TABLE_NAME AS CHAR CHARACTER SET utf8mb4) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 'seaql_migrations' ORDER BY 1"
        }
    };
    strings(conn, sql).await
}

const MYSQL_QUERIES: &[(&str, &str)] = &[
    (
        "table",
        "SELECT CONCAT_WS('|', TABLE_NAME, ENGINE, COALESCE(TABLE_COLLATION, '-')) AS x
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    ),
    (
        "column",
        "SELECT CONCAT_WS('|', TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION,
           COALESCE(COLUMN_DEFAULT, '<no default>'), IS_NULLABLE, DATA_TYPE, COLUMN_TYPE,
           COALESCE(CHARACTER_MAXIMUM_LENGTH, '-'), COALESCE(NUMERIC_PRECISION, '-'),
           COALESCE(NUMERIC_SCALE, '-'), COALESCE(CHARACTER_SET_NAME, '-'),
           COALESCE(COLLATION_NAME, '-'), COLUMN_KEY, EXTRA, COLUMN_COMMENT) AS x
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
    ),
    (
        "index",
        "SELECT CONCAT_WS('|', TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME,
           COALESCE(SUB_PART, '-'), INDEX_TYPE, NULLABLE) AS x
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()",
    ),
    (
        "constraint",
        "SELECT CONCAT_WS('|', TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE) AS x
         FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE()",
    ),
    (
        "foreign_key",
        "SELECT CONCAT_WS('|', k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.ORDINAL_POSITION,
           k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE) AS x
         FROM information_schema.KEY_COLUMN_USAGE k
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
          AND r.TABLE_NAME = k.TABLE_NAME
         WHERE k.TABLE_SCHEMA = DATABASE() AND r.CONSTRAINT_SCHEMA = DATABASE()
           AND k.REFERENCED_TABLE_NAME IS NOT NULL",
    ),
    (
        "check",
        "SELECT CONCAT_WS('|', TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE) AS x
         FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()",
    ),
];

/// MySQL family: the information_schema rows (tables, columns, indexes, constraints,
/// foreign keys with their rules, CHECK clauses) of the current database, excluding the
/// migration bookkeeping table, as `kind|...` lines.
pub async fn mysql(conn: &DatabaseConnection) -> Vec<String> {
    let mut out = Vec::new();
    for (kind, query) in MYSQL_QUERIES {
        let sql =
            format!("SELECT CAST(x AS CHAR CHARACTER SET utf8mb4) FROM ({query}) AS t ORDER BY 1");
        for line in strings(conn, &sql).await {
            if !line.starts_with("seaql_migrations|") {
                out.push(format!("{kind}|{line}"));
            }
        }
    }
    out.sort();
    out
}

/// SQLite: columns (type, not-null, default, pk), indexes with columns and uniqueness,
/// foreign keys with their rules, and named CHECK constraints, as `kind|...` lines.
pub async fn sqlite(conn: &DatabaseConnection) -> Vec<String> {
    const TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
        AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations'";
    let mut out = Vec::new();
    let queries = [
        (
            "column",
            format!(
                "SELECT m.name || '|' || p.cid || '|' || p.name || '|' || p.type || '|' || p.\"notnull\" \
                 || '|' || COALESCE(p.dflt_value, '<no default>') || '|' || p.pk \
                 FROM ({TABLES}) m, pragma_table_info(m.name) p"
            ),
        ),
        (
            "index",
            format!(
                "SELECT m.name || '|' || il.name || '|' || il.\"unique\" || '|' || il.origin || '|' \
                 || ii.seqno || '|' || ii.name \
                 FROM ({TABLES}) m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii"
            ),
        ),
        (
            "foreign_key",
            format!(
                "SELECT m.name || '|' || f.id || '|' || f.seq || '|' || f.\"from\" || '|' || f.\"table\" \
                 || '|' || f.\"to\" || '|' || f.on_update || '|' || f.on_delete \
                 FROM ({TABLES}) m, pragma_foreign_key_list(m.name) f"
            ),
        ),
    ];
    for (kind, sql) in queries {
        for line in strings(conn, &sql).await {
            out.push(format!("{kind}|{line}"));
        }
    }
    for (table, check) in sqlite_checks(conn).await {
        out.push(format!("check|{table}|{check}"));
    }
    out.sort();
    out
}

/// (table, constraint name) of every named CHECK in the SQLite schema.
pub async fn sqlite_checks(conn: &DatabaseConnection) -> Vec<(String, String)> {
    let rows = strings(
        conn,
        "SELECT name || char(1) || sql FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations'",
    )
    .await;
    let mut out = Vec::new();
    for row in rows {
        let (table, sql) = row.split_once('\u{1}').expect("separator");
        let words: Vec<&str> = sql.split_whitespace().collect();
        for w in words.windows(3) {
            if w[0].eq_ignore_ascii_case("CONSTRAINT") && w[2].eq_ignore_ascii_case("CHECK") {
                out.push((table.to_string(), w[1].to_string()));
            }
        }
    }
    out
}

/// The schema snapshot of whichever backend the connection is on.
pub async fn of(conn: &DatabaseConnection) -> Vec<String> {
    match conn.get_database_backend() {
        DbBackend::Sqlite => sqlite(conn).await,
        _ => mysql(conn).await,
    }
}
