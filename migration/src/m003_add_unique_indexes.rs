//! 003: the unique keys that make every synced write an upsert.

use crate::sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// Same statements on both backends.
const UP: &[&str] = &[
    "CREATE UNIQUE INDEX idx_channels_tenant_platform_unique ON channels (tenant_id, platform_channel_id)",
    "CREATE UNIQUE INDEX idx_messages_channel_platform_unique ON messages (channel_id, platform_message_id)",
    "CREATE UNIQUE INDEX idx_message_emoji_reactions_unique ON message_emoji_reactions (message_id, anonymized_user_id, emoji)",
    "CREATE UNIQUE INDEX unique_tenant_channel ON sync_progress (tenant_id, channel_id)",
];

const MYSQL_DOWN: &[&str] = &[
    "DROP INDEX unique_tenant_channel ON sync_progress",
    "DROP INDEX idx_message_emoji_reactions_unique ON message_emoji_reactions",
    "DROP INDEX idx_messages_channel_platform_unique ON messages",
    "DROP INDEX idx_channels_tenant_platform_unique ON channels",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP INDEX unique_tenant_channel",
    "DROP INDEX idx_message_emoji_reactions_unique",
    "DROP INDEX idx_messages_channel_platform_unique",
    "DROP INDEX idx_channels_tenant_platform_unique",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        sql::is_sqlite(manager)?;
        sql::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if sql::is_sqlite(manager)? {
            sql::run(manager, SQLITE_DOWN).await
        } else {
            sql::run(manager, MYSQL_DOWN).await
        }
    }
}
