//! 007: `channel_sync_jobs` and three `sync_progress` columns (appended after `updated_at`)
//! with their worker index.

use crate::sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const MYSQL_UP: &[&str] = &[
    "CREATE TABLE channel_sync_jobs (
  id                 varchar(36)  NOT NULL,
  tenant_id          varchar(36)  NOT NULL,
  channel_id         varchar(36)  NOT NULL,
  parent_job_id      varchar(255) NOT NULL,
  worker_id          varchar(50)  NULL DEFAULT NULL,
  status             varchar(50)  NOT NULL,
  started_at         timestamp    NULL DEFAULT NULL,
  completed_at       timestamp    NULL DEFAULT NULL,
  messages_processed int          NULL DEFAULT 0,
  error_details      json         NULL DEFAULT NULL,
  created_at         timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at         timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_channel_sync_jobs_tenant (tenant_id),
  KEY idx_channel_sync_jobs_parent (parent_job_id),
  KEY idx_channel_sync_jobs_worker (worker_id, status),
  CONSTRAINT channel_sync_jobs_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT channel_sync_jobs_channel_id_fkey FOREIGN KEY (channel_id)
    REFERENCES channels (id) ON DELETE CASCADE,
  CONSTRAINT check_channel_sync_job_status
    CHECK (status IN ('pending', 'in_progress', 'completed', 'failed'))
)",
    // One column per statement: the lowest common denominator of MariaDB, MySQL and TiDB.
    "ALTER TABLE sync_progress ADD COLUMN worker_id varchar(50) NULL DEFAULT NULL",
    "ALTER TABLE sync_progress ADD COLUMN started_at timestamp NULL DEFAULT NULL",
    "ALTER TABLE sync_progress ADD COLUMN messages_per_second decimal NULL DEFAULT NULL",
    "CREATE INDEX idx_sync_progress_worker ON sync_progress (worker_id, status)",
];

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE channel_sync_jobs (
  id                 varchar(36)  NOT NULL,
  tenant_id          varchar(36)  NOT NULL,
  channel_id         varchar(36)  NOT NULL,
  parent_job_id      varchar(255) NOT NULL,
  worker_id          varchar(50)  NULL DEFAULT NULL,
  status             varchar(50)  NOT NULL,
  started_at         timestamp    NULL DEFAULT NULL,
  completed_at       timestamp    NULL DEFAULT NULL,
  messages_processed integer      NULL DEFAULT 0,
  error_details      json_text    NULL DEFAULT NULL,
  created_at         timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  updated_at         timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  PRIMARY KEY (id),
  CONSTRAINT channel_sync_jobs_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT channel_sync_jobs_channel_id_fkey FOREIGN KEY (channel_id)
    REFERENCES channels (id) ON DELETE CASCADE,
  CONSTRAINT check_channel_sync_job_status
    CHECK (status IN ('pending', 'in_progress', 'completed', 'failed'))
)",
    "CREATE INDEX idx_channel_sync_jobs_tenant ON channel_sync_jobs (tenant_id)",
    "CREATE INDEX idx_channel_sync_jobs_parent ON channel_sync_jobs (parent_job_id)",
    "CREATE INDEX idx_channel_sync_jobs_worker ON channel_sync_jobs (worker_id, status)",
    // The index MySQL-family servers create implicitly for this foreign key.
    "CREATE INDEX channel_sync_jobs_channel_id_fkey ON channel_sync_jobs (channel_id)",
    "ALTER TABLE sync_progress ADD COLUMN worker_id varchar(50) NULL DEFAULT NULL",
    "ALTER TABLE sync_progress ADD COLUMN started_at timestamp NULL DEFAULT NULL",
    // decimal(10,0) on MySQL; REAL here, which is what SeaORM reads a Decimal from on SQLite.
    "ALTER TABLE sync_progress ADD COLUMN messages_per_second real NULL DEFAULT NULL",
    "CREATE INDEX idx_sync_progress_worker ON sync_progress (worker_id, status)",
];

const MYSQL_DOWN: &[&str] = &[
    "DROP TABLE channel_sync_jobs",
    "DROP INDEX idx_sync_progress_worker ON sync_progress",
    "ALTER TABLE sync_progress DROP COLUMN messages_per_second",
    "ALTER TABLE sync_progress DROP COLUMN started_at",
    "ALTER TABLE sync_progress DROP COLUMN worker_id",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TABLE channel_sync_jobs",
    "DROP INDEX idx_sync_progress_worker",
    "ALTER TABLE sync_progress DROP COLUMN messages_per_second",
    "ALTER TABLE sync_progress DROP COLUMN started_at",
    "ALTER TABLE sync_progress DROP COLUMN worker_id",
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
        if sql::is_sqlite(manager)? {
            sql::run(manager, SQLITE_DOWN).await
        } else {
            sql::run(manager, MYSQL_DOWN).await
        }
    }
}
