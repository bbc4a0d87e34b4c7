//! m010: the index behind the archive's keyset pages (read API and export).
//!
//! Message pages are ordered by `(platform_created_at, platform_message_id)` within one channel
//! and continue from a cursor with `platform_created_at < t OR (platform_created_at = t AND
//! platform_message_id < id)`. The original indexes cover the channel (`idx_messages_channel_id`)
//! and the timestamp (`idx_messages_platform_created_at`) only separately, so every page would
//! sort the whole channel. `idx_messages_channel_created` serves the filter, the order and the
//! per-channel `COUNT`/`MAX` aggregates (covering) as range scans; see docs/read-api-plans.md.

use sea_orm_migration::prelude::*;

/// Adds `idx_messages_channel_created`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    ChannelId,
    PlatformCreatedAt,
    PlatformMessageId,
}

/// Name of the index (also used by the EXPLAIN test).
pub const INDEX: &str = "idx_messages_channel_created";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Messages::Table)
                    .col(Messages::ChannelId)
                    .col(Messages::PlatformCreatedAt)
                    .col(Messages::PlatformMessageId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Messages::Table).to_owned())
            .await
    }
}
