//! 008: `channels.type` admits 'category'.
//!
//! The original re-declared the column (`varchar(20) NULL` with a comment) but left 002's
//! CHECK (`'text', 'thread', 'forum'`) in place, so every server that enforces CHECKs
//! rejected categories. THE ONE DELIBERATE DEVIATION from the original: this migration also
//! replaces `check_channel_type` with the four-value CHECK. `down` restores m002's column
//! and CHECK, refusing while rows hold 'category' or no type.
//!
//! On SQLite m002 already created the column and CHECK in this final shape (SQLite cannot
//! alter either without rebuilding the table), so there is nothing to do here.

use crate::sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const MYSQL_UP: &[&str] = &[
    "ALTER TABLE channels MODIFY COLUMN type varchar(20) NULL DEFAULT NULL \
     COMMENT 'Channel type: text, thread, forum, or category'",
    "ALTER TABLE channels ADD CONSTRAINT check_channel_type \
     CHECK (type IN ('text', 'thread', 'forum', 'category'))",
];

const MYSQL_DOWN: &[&str] = &[
    "ALTER TABLE channels MODIFY COLUMN type varchar(50) NOT NULL",
    "ALTER TABLE channels ADD CONSTRAINT check_channel_type \
     CHECK (type IN ('text', 'thread', 'forum'))",
];

/// Drops `check_channel_type` where the server stored it (TiDB with CHECKs disabled does not).
async fn drop_type_check(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    if sql::mysql_check_exists(manager, "channels", "check_channel_type").await? {
        sql::run(
            manager,
            &["ALTER TABLE channels DROP CONSTRAINT check_channel_type"],
        )
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if sql::is_sqlite(manager)? {
            return Ok(());
        }
        drop_type_check(manager).await?;
        sql::run(manager, MYSQL_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if sql::is_sqlite(manager)? {
            return Ok(());
        }
        let blocking = sql::count(
            manager,
            "SELECT COUNT(*) FROM channels WHERE type IS NULL OR type NOT IN ('text', 'thread', 'forum')",
            vec![],
        )
        .await?;
        if blocking > 0 {
            return Err(DbErr::Migration(format!(
                "cannot roll back 008: {blocking} channels have type 'category' (or none), \
                 which the pre-008 schema rejects"
            )));
        }
        drop_type_check(manager).await?;
        sql::run(manager, MYSQL_DOWN).await
    }
}
