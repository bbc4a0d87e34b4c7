//! 004: `messages.reply_to_id` holds the Discord snowflake of the replied-to message (not a
//! row id): `varchar(255)`, no foreign key, indexed.
//!
//! The original tried to drop a foreign-key name that does not exist on MySQL-family
//! servers and failed on MariaDB; this one drops the key m002 created (when the server stored
//! it) and the index the server made for it. Unlike the original, `down` reverses (see
//! [`crate::sql::to_row_id`]).

use crate::sql::{self, RowReference};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMN: RowReference = RowReference {
    table: "messages",
    column: "reply_to_id",
    foreign_key: "messages_reply_to_id_fkey",
    index: "idx_messages_reply_to_id",
    referenced_table: "messages",
};

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        sql::to_platform_id(manager, &COLUMN).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        sql::to_row_id(manager, &COLUMN).await
    }
}
