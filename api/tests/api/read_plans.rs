//! Every read query of the archive is served by an index: the query plans on the backend under
//! test (MariaDB `EXPLAIN`, SQLite `EXPLAIN QUERY PLAN`), on a generated archive. The plans are
//! printed (`--nocapture`) and recorded in docs/read-api-plans.md.

use chrono::{TimeZone, Utc};
use entity::{channels, messages};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryTrait, Statement, Value,
};
use service::archive::query::{self, Direction, Position};

use crate::archive_data;
use crate::helpers::fresh_db;

/// The plan rows of `stmt`, one line each.
async fn plan(db: &DatabaseConnection, stmt: Statement) -> Vec<String> {
    let prefix = match db.get_database_backend() {
        DbBackend::Sqlite => "EXPLAIN QUERY PLAN ",
        _ => "EXPLAIN ",
    };
    let explained = Statement::from_sql_and_values(
        db.get_database_backend(),
        format!("{prefix}{}", stmt.sql),
        stmt.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = db.query_all_raw(explained).await.unwrap();
    rows.iter()
        .map(|row| match db.get_database_backend() {
            DbBackend::Sqlite => row.try_get::<String>("", "detail").unwrap(),
            _ => {
                let col = |name: &str| {
                    row.try_get::<Option<String>>("", name)
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                };
                format!(
                    "table={} type={} key={} rows={} extra={}",
                    col("table"),
                    col("type"),
                    col("key"),
                    row.try_get::<Option<u64>>("", "rows")
                        .ok()
                        .flatten()
                        .map(|r| r.to_string())
                        .or_else(|| row.try_get::<Option<String>>("", "rows").ok().flatten())
                        .unwrap_or_default(),
                    col("Extra")
                )
            }
        })
        .collect()
}

fn assert_uses(name: &str, plan: &[String], index: &str) {
    println!("{name}:\n  {}", plan.join("\n  "));
    assert!(
        plan.iter().any(|line| line.contains(index)),
        "{name} does not use {index}: {plan:?}"
    );
    for line in plan {
        // No sorting and no temporary tables: SQLite sorts every input row of a GROUP BY
        // (the per-channel stats once sorted a whole tenant's messages that way).
        assert!(
            !line.contains("filesort") && !line.contains("Using temporary"),
            "{name} sorts rows: {line}"
        );
        assert!(!line.contains("TEMP B-TREE"), "{name} sorts rows: {line}");
        assert!(
            !line.contains("type=ALL"),
            "{name} scans a whole table: {line}"
        );
        assert!(
            !line.starts_with("SCAN messages"),
            "{name} scans messages: {line}"
        );
    }
}

#[tokio::test]
async fn every_read_query_is_served_by_an_index() {
    let (_test_db, db) = fresh_db().await;
    let archive = archive_data::generate(&db, "plans", 3000, 40).await;
    let _other = archive_data::generate(&db, "plans-other", 3000, 5).await;
    if db.get_database_backend() == DbBackend::MySql {
        db.execute_unprepared(
            "ANALYZE TABLE messages, channels, message_emoji_reactions, message_attachments",
        )
        .await
        .unwrap();
    }
    let backend = db.get_database_backend();
    let general = archive.general.to_string();
    // A cursor in the middle of the channel's 1,000 seconds of messages: the case where
    // MariaDB, unhinted, walked the channel from its end to the cursor (`ref` instead of `range`).
    let middle = Position {
        at: Utc.with_ymd_and_hms(2024, 3, 1, 12, 8, 0).single().unwrap(),
        platform_message_id: "1234".to_owned(),
    };
    let idx = "idx_messages_channel_created";

    let q = query::messages_from_query(backend, &general, None, Direction::Older, 51);
    assert_uses("first page (newest first)", &plan(&db, q).await, idx);
    for (name, direction) in [
        ("page before a cursor", Direction::Older),
        ("page after a cursor", Direction::Newer),
    ] {
        let q = query::messages_from_query(backend, &general, Some(&middle), direction, 51);
        let plan = plan(&db, q).await;
        assert_uses(name, &plan, idx);
        // The page must seek to the cursor, not read the channel up to it.
        let seeks = match backend {
            DbBackend::Sqlite => plan.iter().any(|l| l.contains("platform_created_at")),
            _ => plan.iter().any(|l| l.contains("type=range")),
        };
        assert!(seeks, "{name} does not seek to the cursor: {plan:?}");
    }

    // The channel check with the cursor's position, and a page's reactions and attachments.
    let q = Statement::from_sql_and_values(
        backend,
        query::CHANNEL_CURSOR_SQL,
        [
            "1234".into(),
            general.clone().into(),
            archive.tenant_id.to_string().into(),
        ],
    );
    assert_uses(
        "channel and cursor",
        &plan(&db, q).await,
        "idx_messages_channel_platform_unique",
    );
    let page = query::messages_from(&db, &general, None, Direction::Older, 100)
        .await
        .unwrap();
    let (newest, oldest) = (page.first().unwrap(), page.last().unwrap());
    let details = plan(
        &db,
        query::details_query(
            backend,
            &general,
            &Position::of(oldest),
            &Position::of(newest),
        ),
    )
    .await;
    assert_uses(
        "reactions and attachments of a page",
        &details,
        "idx_message_emoji_reactions_message_id",
    );
    assert_uses(
        "reactions and attachments of a page",
        &details,
        "idx_message_attachments_message_id",
    );
    assert_uses("reactions and attachments of a page", &details, idx);
    // Each attachment's file row by its primary key.
    let file_row = match backend {
        DbBackend::Sqlite => "sqlite_autoindex_attachment_files_1 (attachment_id=?)",
        _ => "table=f type=eq_ref key=PRIMARY",
    };
    assert_uses("reactions and attachments of a page", &details, file_row);
    if backend == DbBackend::Sqlite {
        // The direct SQLite reads of the read API look the page's details up by its ids.
        let ids: Vec<&str> = page.iter().map(|m| m.id.as_str()).collect();
        let q = Statement::from_sql_and_values(
            backend,
            service::archive::sqlite_reads::DETAILS_BY_IDS_SQL,
            [serde_json::to_string(&ids).unwrap().into()],
        );
        let by_ids = plan(&db, q).await;
        for index in [
            "idx_message_emoji_reactions_message_id",
            "idx_message_attachments_message_id",
            file_row,
        ] {
            assert_uses("reactions and attachments of a page's ids", &by_ids, index);
        }
    }

    let q = query::channel_stats_query(
        Condition::all().add(channels::Column::TenantId.eq(archive.tenant_id.to_string())),
    )
    .build(backend);
    assert_uses("channel stats of a tenant", &plan(&db, q).await, idx);
    let q = query::channel_stats_query(
        Condition::all()
            .add(channels::Column::TenantId.eq(archive.tenant_id.to_string()))
            .add(channels::Column::ParentChannelId.eq("1003")),
    )
    .build(backend);
    assert_uses("thread stats of a forum", &plan(&db, q).await, idx);

    let thread_ids: Vec<Value> = (0..10)
        .map(|t| {
            service::repo::ids::channel(archive.tenant_id, &format!("2{t:03}"))
                .to_string()
                .into()
        })
        .collect();
    let q = Statement::from_sql_and_values(backend, query::first_message_ids_sql(10), thread_ids);
    assert_uses("first message per thread", &plan(&db, q).await, idx);

    let q = messages::Entity::find()
        .filter(messages::Column::PlatformMessageId.eq("1234"))
        .build(backend);
    assert_uses(
        "message by platform id",
        &plan(&db, q).await,
        "idx_messages_platform_message_id",
    );
}
