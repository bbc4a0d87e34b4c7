//! Connection set-up and constraint classification on the real backends.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use service::db::{self, ViolationKind};
use service::repo::messages::{self, MessageRow};
use testkit::db::Backend;
use uuid::Uuid;

use crate::helpers::{message, messages_in, setup, tenant};

#[tokio::test]
async fn sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout() {
    let ctx = setup().await;
    if ctx.test_db.backend() != Backend::Sqlite {
        return;
    }
    let one = |sql: &'static str| {
        let db = ctx.db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0)
                .map(|v| v.to_string())
                .or_else(|_| row.try_get_by_index::<String>(0))
                .unwrap()
        }
    };
    assert_eq!(one("PRAGMA journal_mode").await, "wal");
    assert_eq!(one("PRAGMA foreign_keys").await, "1");
    assert_eq!(one("PRAGMA busy_timeout").await, "30000");
}

#[tokio::test]
async fn unique_and_foreign_key_violations_are_classified_on_both_backends() {
    let ctx = setup().await;
    let t = tenant(&ctx.db).await;
    // A message whose channel row does not exist breaks the foreign key.
    let orphan = MessageRow {
        channel_id: Uuid::new_v4(),
        ..message(Uuid::nil(), 1)
    };
    let err = messages::upsert(&ctx.db, &[orphan]).await.unwrap_err();
    let service::Error::Database(e) = err else {
        panic!("expected a database error")
    };
    let v = db::classify(&e).expect("classified");
    assert_eq!(v.kind, ViolationKind::ForeignKey);

    // A second tenant row with the same slug breaks a unique key.
    let sql = match ctx.db.get_database_backend() {
        DbBackend::Sqlite => {
            "INSERT INTO tenants (id, name, slug, status, platform, platform_id, created_at, updated_at) VALUES (?, 'x', ?, 'ACTIVE', 'slack', 'zz', '2020-01-01 00:00:00', '2020-01-01 00:00:00')"
        }
        _ => {
            "INSERT INTO tenants (id, name, slug, status, platform, platform_id) VALUES (?, 'x', ?, 'ACTIVE', 'slack', 'zz')"
        }
    };
    let err = ctx
        .db
        .execute_raw(Statement::from_sql_and_values(
            ctx.db.get_database_backend(),
            sql,
            [Uuid::new_v4().to_string().into(), t.slug.clone().into()],
        ))
        .await
        .unwrap_err();
    let v = db::classify(&err).expect("classified");
    assert_eq!(v.kind, ViolationKind::Unique);
    assert!(v.involves("slug"), "{v:?}");
    assert!(
        !v.constraint.contains(&t.slug),
        "the value is not part of the constraint"
    );
}

#[tokio::test]
async fn begin_write_transactions_commit_and_roll_back() {
    let ctx = setup().await;
    let t = tenant(&ctx.db).await;
    let ch = crate::helpers::channel(&ctx.db, t.id, "1").await;

    let txn = db::begin_write(&ctx.db).await.unwrap();
    messages::upsert(&txn, &[message(ch, 1)]).await.unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(messages_in(&ctx.db, ch).await.unwrap(), 0);

    let txn = db::begin_write(&ctx.db).await.unwrap();
    messages::upsert(&txn, &[message(ch, 1)]).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(messages_in(&ctx.db, ch).await.unwrap(), 1);
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let ctx = setup().await;
    db::migrate(&ctx.db).await.unwrap();
}

#[tokio::test]
async fn concurrent_writers_and_readers_do_not_fail_or_deadlock() {
    let ctx = setup().await;
    let t = tenant(&ctx.db).await;
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let db = ctx.db.clone();
        let ch = crate::helpers::channel(&ctx.db, t.id, &w.to_string()).await;
        tasks.push(tokio::spawn(async move {
            for page in 0..5u64 {
                let txn = db::begin_write(&db).await?;
                let rows: Vec<_> = (0..50).map(|i| message(ch, page * 100 + i)).collect();
                messages::upsert(&txn, &rows).await?;
                // A read on the pool while this transaction holds the write lock.
                messages_in(&db, ch).await?;
                txn.commit().await?;
            }
            Ok::<_, service::Error>(ch)
        }));
    }
    for task in tasks {
        let ch = task.await.unwrap().unwrap();
        assert_eq!(messages_in(&ctx.db, ch).await.unwrap(), 250);
    }
}
