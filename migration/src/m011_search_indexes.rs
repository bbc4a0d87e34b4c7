//! m011: the indexes the search indexer follows the archive by.
//!
//! The indexer (service::search) reads what changed since its last commit in `(updated_at, id)`
//! order, for messages and for channels (a channel that stops or starts being public). Without
//! these indexes each pass would scan and sort the whole table.

use sea_orm_migration::prelude::*;

/// Adds `idx_messages_updated` and `idx_channels_updated`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    UpdatedAt,
    Id,
}

#[derive(DeriveIden)]
enum Channels {
    Table,
    UpdatedAt,
    Id,
}

/// Messages by last change.
pub const MESSAGES_INDEX: &str = "idx_messages_updated";
/// Channels by last change.
pub const CHANNELS_INDEX: &str = "idx_channels_updated";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(MESSAGES_INDEX)
                    .table(Messages::Table)
                    .col(Messages::UpdatedAt)
                    .col(Messages::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(CHANNELS_INDEX)
                    .table(Channels::Table)
                    .col(Channels::UpdatedAt)
                    .col(Channels::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(CHANNELS_INDEX)
                    .table(Channels::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(MESSAGES_INDEX)
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await
    }
}
