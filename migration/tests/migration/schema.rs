//! The schema after the migrations: equal to the reference, reversible, removable.

use crate::{TABLES, fresh, migrated, reference, snapshot};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use std::collections::{BTreeMap, BTreeSet};

/// m001..m008: the original eight tables (later migrations add to them).
const ORIGINAL_MIGRATIONS: u32 = 8;

fn diff(left: &[String], right: &[String]) -> (Vec<String>, Vec<String>) {
    let l: BTreeSet<&String> = left.iter().collect();
    let r: BTreeSet<&String> = right.iter().collect();
    (
        l.difference(&r).map(|s| s.to_string()).collect(),
        r.difference(&l).map(|s| s.to_string()).collect(),
    )
}

#[tokio::test]
async fn migrations_001_to_008_produce_the_reference_schema() {
    let (_db, conn) = fresh().await;
    Migrator::up(&conn, Some(ORIGINAL_MIGRATIONS))
        .await
        .expect("m001..m008 apply");
    match conn.get_database_backend() {
        DbBackend::Sqlite => check_sqlite_against_reference(&conn).await,
        _ => check_mysql_against_reference(&conn).await,
    }
}

/// MariaDB: information_schema after m001..m008 equals that of the reference schema (data/reference-schema.sql) loaded verbatim
/// into another fresh database.
async fn check_mysql_against_reference(conn: &DatabaseConnection) {
    let (_ref_db, reference_conn) = fresh().await;
    for statement in reference::statements() {
        reference_conn
            .execute_unprepared(&statement)
            .await
            .unwrap_or_else(|e| panic!("reference statement failed: {e}\n{statement}"));
    }
    let ours = snapshot::mysql(conn).await;
    let theirs = snapshot::mysql(&reference_conn).await;
    assert!(
        ours.iter()
            .any(|l| l.starts_with("check|channels|check_channel_type|")),
        "snapshot sees CHECK constraints"
    );
    let (only_ours, only_reference) = diff(&ours, &theirs);
    assert!(
        only_ours.is_empty() && only_reference.is_empty(),
        "schema differs from data/reference-schema.sql\nonly after the migrations:\n  {}\nonly in the reference:\n  {}",
        only_ours.join("\n  "),
        only_reference.join("\n  ")
    );
}

/// SQLite: same tables, columns (order, nullability), primary keys, unique and plain
/// indexes (names and columns), foreign keys (with ON DELETE) and named CHECKs as the
/// reference.
async fn check_sqlite_against_reference(conn: &DatabaseConnection) {
    let expected = reference::tables();
    assert_eq!(
        expected.keys().cloned().collect::<BTreeSet<_>>(),
        TABLES
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        "the reference has the eight tables"
    );
    assert_eq!(
        snapshot::tables(conn).await,
        expected.keys().cloned().collect::<Vec<_>>()
    );
    let snap = snapshot::sqlite(conn).await;
    let rows = |kind: &str, table: &str| -> Vec<Vec<String>> {
        let prefix = format!("{kind}|{table}|");
        snap.iter()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|l| l.split('|').map(str::to_string).collect())
            .collect()
    };
    for (table, t) in &expected {
        // Columns: cid|name|type|notnull|default|pk
        let mut cols = rows("column", table);
        cols.sort_by_key(|c| c[0].parse::<u32>().unwrap_or(u32::MAX));
        let got: Vec<(String, bool)> = cols.iter().map(|c| (c[1].clone(), c[3] == "0")).collect();
        assert_eq!(got, t.columns, "columns and nullability of {table}");
        // Defaults: the same literals; CURRENT_TIMESTAMP is RFC 3339 UTC text on SQLite.
        let got: BTreeMap<String, String> = cols
            .iter()
            .filter(|c| c[4] != "<no default>")
            .map(|c| {
                let d = c[4].trim();
                let d = d
                    .strip_prefix('(')
                    .and_then(|x| x.strip_suffix(')'))
                    .unwrap_or(d);
                let d = if d == "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')" {
                    "CURRENT_TIMESTAMP"
                } else {
                    d
                };
                (c[1].clone(), d.to_string())
            })
            .collect();
        assert_eq!(got, t.defaults, "column defaults of {table}");
        let mut pk: Vec<(u32, String)> = cols
            .iter()
            .filter(|c| c[5] != "0")
            .map(|c| (c[5].parse().unwrap_or(0), c[1].clone()))
            .collect();
        pk.sort();
        let pk: Vec<String> = pk.into_iter().map(|(_, c)| c).collect();
        assert_eq!(pk, t.primary_key, "primary key of {table}");

        // Indexes: name|unique|origin|seqno|column
        let mut unique: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
        let mut plain: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
        for i in rows("index", table) {
            if i[2] == "pk" {
                continue;
            }
            let target = if i[1] == "1" { &mut unique } else { &mut plain };
            target
                .entry(i[0].clone())
                .or_default()
                .push((i[3].parse().unwrap_or(0), i[4].clone()));
        }
        let flatten = |m: BTreeMap<String, Vec<(u32, String)>>| -> BTreeMap<String, Vec<String>> {
            m.into_iter()
                .map(|(k, mut v)| {
                    v.sort();
                    (k, v.into_iter().map(|(_, c)| c).collect())
                })
                .collect()
        };
        assert_eq!(flatten(unique), t.unique, "unique indexes of {table}");
        let mut plain = flatten(plain);
        // The index a MySQL-family server creates implicitly for a foreign key that no
        // other index leads with is created explicitly on SQLite, under the same name.
        plain.retain(|name, _| !name.ends_with("_fkey"));
        assert_eq!(plain, t.indexes, "plain indexes of {table}");

        // Foreign keys: id|seq|from|table|to|on_update|on_delete
        let mut fks: BTreeMap<String, (Vec<String>, String, Vec<String>, String)> = BTreeMap::new();
        for f in rows("foreign_key", table) {
            let e = fks
                .entry(f[0].clone())
                .or_insert_with(|| (vec![], f[3].clone(), vec![], f[6].clone()));
            e.0.push(f[2].clone());
            e.2.push(f[4].clone());
        }
        let mut got: Vec<_> = fks.into_values().collect();
        let mut want = t.foreign_keys.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "foreign keys of {table}");

        let checks: BTreeSet<String> = rows("check", table)
            .into_iter()
            .map(|c| c[0].clone())
            .collect();
        let want: BTreeSet<String> = t.checks.iter().cloned().collect();
        assert_eq!(checks, want, "CHECK constraints of {table}");
    }
}

#[tokio::test]
async fn down_to_zero_removes_every_table() {
    let (_db, conn) = migrated().await;
    let before = snapshot::tables(&conn).await;
    for table in TABLES {
        assert!(before.iter().any(|t| t == table), "{table} exists after up");
    }
    Migrator::down(&conn, None).await.expect("down to zero");
    assert_eq!(snapshot::tables(&conn).await, Vec::<String>::new());
}

#[tokio::test]
async fn reset_then_up_recreates_the_same_schema() {
    let (_db, conn) = migrated().await;
    let first = snapshot::of(&conn).await;
    Migrator::reset(&conn).await.expect("reset");
    assert_eq!(snapshot::tables(&conn).await, Vec::<String>::new());
    Migrator::up(&conn, None).await.expect("up again");
    assert_eq!(snapshot::of(&conn).await, first);
}

#[tokio::test]
async fn every_migration_down_restores_the_schema_before_its_up() {
    let (_db, conn) = fresh().await;
    let n = Migrator::migrations().len();
    let mut states = vec![snapshot::of(&conn).await];
    for _ in 0..n {
        Migrator::up(&conn, Some(1)).await.expect("one up");
        states.push(snapshot::of(&conn).await);
    }
    if conn.get_database_backend() != DbBackend::Sqlite {
        // (On SQLite m008 has nothing to do: m002 created the final column.)
        for (i, window) in states.windows(2).enumerate() {
            assert_ne!(
                window[0],
                window[1],
                "migration {} changes the schema",
                i + 1
            );
        }
    }
    for i in (0..n).rev() {
        Migrator::down(&conn, Some(1)).await.expect("one down");
        let now = snapshot::of(&conn).await;
        let (extra, missing) = diff(&now, &states[i]);
        assert!(
            extra.is_empty() && missing.is_empty(),
            "down of migration {} does not restore the schema\nextra:\n  {}\nmissing:\n  {}",
            i + 1,
            extra.join("\n  "),
            missing.join("\n  ")
        );
    }
}
