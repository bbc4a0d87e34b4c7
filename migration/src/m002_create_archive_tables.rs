//! 002: `channels`, `messages`, `message_emoji_reactions`, `message_attachments` and
//! `sync_progress` as the original created them.
//!
//! MySQL family: exactly the original 002, but with every foreign key declared explicitly
//! and named `<table>_<column>_fkey` (MySQL up to 8.4 ignores inline column `REFERENCES`).
//! `messages.reply_to_id` / `channels.parent_channel_id` are still `varchar(36)` row ids
//! with a foreign key here; m004/m005 turn them into platform ids.
//!
//! SQLite cannot retype a column, drop a foreign key or change a CHECK without rebuilding
//! the table (which, with foreign keys on, would cascade-delete the children). So on SQLite
//! this migration creates those three columns directly in their final shape (m004/m005:
//! `varchar(255)`, no foreign key; m008: `type varchar(20) NULL` admitting 'category'), and
//! m004/m005/m008 only do what SQLite can do (indexes).

use crate::sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const MYSQL_UP: &[&str] = &[
    "CREATE TABLE channels (
  id                  varchar(36)  NOT NULL,
  tenant_id           varchar(36)  NOT NULL,
  platform_channel_id varchar(255) NOT NULL,
  name                varchar(255) NOT NULL,
  type                varchar(50)  NOT NULL,
  parent_channel_id   varchar(36)  NULL DEFAULT NULL,
  metadata            json         NULL DEFAULT NULL,
  created_at          timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at          timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_channels_tenant_id (tenant_id),
  KEY idx_channels_platform_channel_id (platform_channel_id),
  KEY idx_channels_type (type),
  CONSTRAINT channels_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT channels_parent_channel_id_fkey FOREIGN KEY (parent_channel_id)
    REFERENCES channels (id) ON DELETE SET NULL,
  CONSTRAINT check_channel_type CHECK (type IN ('text', 'thread', 'forum'))
)",
    "CREATE TABLE messages (
  id                   varchar(36)  NOT NULL,
  channel_id           varchar(36)  NOT NULL,
  platform_message_id  varchar(255) NOT NULL,
  anonymized_author_id varchar(64)  NOT NULL,
  content              text         NOT NULL,
  reply_to_id          varchar(36)  NULL DEFAULT NULL,
  metadata             json         NULL DEFAULT NULL,
  platform_created_at  timestamp    NOT NULL,
  created_at           timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at           timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_messages_channel_id (channel_id),
  KEY idx_messages_platform_message_id (platform_message_id),
  KEY idx_messages_anonymized_author_id (anonymized_author_id),
  KEY idx_messages_platform_created_at (platform_created_at),
  CONSTRAINT messages_channel_id_fkey FOREIGN KEY (channel_id)
    REFERENCES channels (id) ON DELETE CASCADE,
  CONSTRAINT messages_reply_to_id_fkey FOREIGN KEY (reply_to_id)
    REFERENCES messages (id) ON DELETE SET NULL
)",
    "CREATE TABLE message_emoji_reactions (
  id                 varchar(36)  NOT NULL,
  message_id         varchar(36)  NOT NULL,
  emoji              varchar(255) NOT NULL,
  anonymized_user_id varchar(64)  NOT NULL,
  created_at         timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_message_emoji_reactions_message_id (message_id),
  KEY idx_message_emoji_reactions_emoji (emoji),
  CONSTRAINT message_emoji_reactions_message_id_fkey FOREIGN KEY (message_id)
    REFERENCES messages (id) ON DELETE CASCADE
)",
    "CREATE TABLE message_attachments (
  id           varchar(36)  NOT NULL,
  message_id   varchar(36)  NOT NULL,
  filename     varchar(500) NOT NULL,
  file_size    bigint       NOT NULL,
  content_type varchar(255) NOT NULL,
  url          text         NOT NULL,
  created_at   timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_message_attachments_message_id (message_id),
  CONSTRAINT message_attachments_message_id_fkey FOREIGN KEY (message_id)
    REFERENCES messages (id) ON DELETE CASCADE
)",
    "CREATE TABLE sync_progress (
  id                     varchar(36)  NOT NULL,
  tenant_id              varchar(36)  NOT NULL,
  channel_id             varchar(36)  NOT NULL,
  last_synced_message_id varchar(255) NOT NULL,
  last_synced_at         timestamp    NOT NULL,
  status                 varchar(50)  NOT NULL,
  error_details          json         NULL DEFAULT NULL,
  created_at             timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at             timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_sync_progress_tenant_id (tenant_id),
  KEY idx_sync_progress_status (status),
  CONSTRAINT sync_progress_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT sync_progress_channel_id_fkey FOREIGN KEY (channel_id)
    REFERENCES channels (id) ON DELETE CASCADE,
  CONSTRAINT check_sync_status CHECK (status IN ('in_progress', 'completed', 'failed'))
)",
];

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE channels (
  id                  varchar(36)  NOT NULL,
  tenant_id           varchar(36)  NOT NULL,
  platform_channel_id varchar(255) NOT NULL,
  name                varchar(255) NOT NULL,
  type                varchar(20)  NULL DEFAULT NULL,
  parent_channel_id   varchar(255) NULL DEFAULT NULL,
  metadata            json_text    NULL DEFAULT NULL,
  created_at          timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  updated_at          timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  PRIMARY KEY (id),
  CONSTRAINT channels_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT check_channel_type CHECK (type IN ('text', 'thread', 'forum', 'category'))
)",
    "CREATE INDEX idx_channels_tenant_id ON channels (tenant_id)",
    "CREATE INDEX idx_channels_platform_channel_id ON channels (platform_channel_id)",
    "CREATE INDEX idx_channels_type ON channels (type)",
    "CREATE TABLE messages (
  id                   varchar(36)  NOT NULL,
  channel_id           varchar(36)  NOT NULL,
  platform_message_id  varchar(255) NOT NULL,
  anonymized_author_id varchar(64)  NOT NULL,
  content              text         NOT NULL,
  reply_to_id          varchar(255) NULL DEFAULT NULL,
  metadata             json_text    NULL DEFAULT NULL,
  platform_created_at  timestamp    NOT NULL,
  created_at           timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  updated_at           timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  PRIMARY KEY (id),
  CONSTRAINT messages_channel_id_fkey FOREIGN KEY (channel_id)
    REFERENCES channels (id) ON DELETE CASCADE
)",
    "CREATE INDEX idx_messages_channel_id ON messages (channel_id)",
    "CREATE INDEX idx_messages_platform_message_id ON messages (platform_message_id)",
    "CREATE INDEX idx_messages_anonymized_author_id ON messages (anonymized_author_id)",
    "CREATE INDEX idx_messages_platform_created_at ON messages (platform_created_at)",
    "CREATE TABLE message_emoji_reactions (
  id                 varchar(36)  NOT NULL,
  message_id         varchar(36)  NOT NULL,
  emoji              varchar(255) NOT NULL,
  anonymized_user_id varchar(64)  NOT NULL,
  created_at         timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  PRIMARY KEY (id),
  CONSTRAINT message_emoji_reactions_message_id_fkey FOREIGN KEY (message_id)
    REFERENCES messages (id) ON DELETE CASCADE
)",
    "CREATE INDEX idx_message_emoji_reactions_message_id ON message_emoji_reactions (message_id)",
    "CREATE INDEX idx_message_emoji_reactions_emoji ON message_emoji_reactions (emoji)",
    "CREATE TABLE message_attachments (
  id           varchar(36)  NOT NULL,
  message_id   varchar(36)  NOT NULL,
  filename     varchar(500) NOT NULL,
  file_size    bigint       NOT NULL,
  content_type varchar(255) NOT NULL,
  url          text         NOT NULL,
  created_at   timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  PRIMARY KEY (id),
  CONSTRAINT message_attachments_message_id_fkey FOREIGN KEY (message_id)
    REFERENCES messages (id) ON DELETE CASCADE
)",
    "CREATE INDEX idx_message_attachments_message_id ON message_attachments (message_id)",
    "CREATE TABLE sync_progress (
  id                     varchar(36)  NOT NULL,
  tenant_id              varchar(36)  NOT NULL,
  channel_id             varchar(36)  NOT NULL,
  last_synced_message_id varchar(255) NOT NULL,
  last_synced_at         timestamp    NOT NULL,
  status                 varchar(50)  NOT NULL,
  error_details          json_text    NULL DEFAULT NULL,
  created_at             timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  updated_at             timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  PRIMARY KEY (id),
  CONSTRAINT sync_progress_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT sync_progress_channel_id_fkey FOREIGN KEY (channel_id)
    REFERENCES channels (id) ON DELETE CASCADE,
  CONSTRAINT check_sync_status CHECK (status IN ('in_progress', 'completed', 'failed'))
)",
    "CREATE INDEX idx_sync_progress_tenant_id ON sync_progress (tenant_id)",
    "CREATE INDEX idx_sync_progress_status ON sync_progress (status)",
    // The index MySQL-family servers create implicitly for this foreign key (no other index
    // leads with channel_id); SQLite needs it for cascades too.
    "CREATE INDEX sync_progress_channel_id_fkey ON sync_progress (channel_id)",
];

// Children first; on SQLite dropping a table drops its indexes.
const DOWN: &[&str] = &[
    "DROP TABLE sync_progress",
    "DROP TABLE message_attachments",
    "DROP TABLE message_emoji_reactions",
    "DROP TABLE messages",
    "DROP TABLE channels",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if sql::is_sqlite(manager)? {
            sql::run(manager, SQLITE_UP).await
        } else {
            sql::run(manager, MYSQL_UP).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        sql::is_sqlite(manager)?;
        sql::run(manager, DOWN).await
    }
}
