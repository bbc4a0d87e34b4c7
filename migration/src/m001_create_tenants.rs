//! 001: `tenants`, one row per archived community.
//!
//! On SQLite, server-maintained times default to RFC 3339 UTC text
//! (`strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')`), the shape in which the application writes
//! `DateTime<Utc>` values, so that times compare correctly as text; `updated_at` has no
//! `ON UPDATE` there and is set by the application.

use crate::sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const MYSQL_UP: &[&str] = &["CREATE TABLE tenants (
  id          varchar(36)  NOT NULL,
  name        varchar(255) NOT NULL,
  slug        varchar(255) NOT NULL,
  status      varchar(20)  NOT NULL DEFAULT 'ACTIVE',
  platform    varchar(20)  NOT NULL,
  platform_id varchar(255) NOT NULL,
  created_at  timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at  timestamp    NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY idx_tenants_slug (slug),
  UNIQUE KEY idx_tenants_platform_platform_id (platform, platform_id),
  KEY idx_tenants_status (status),
  KEY idx_tenants_created_at (created_at),
  CONSTRAINT check_tenant_status CHECK (status IN ('ACTIVE', 'CANCELLED', 'MAINTENANCE')),
  CONSTRAINT check_platform CHECK (platform IN ('slack', 'discord'))
)"];

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE tenants (
  id          varchar(36)  NOT NULL,
  name        varchar(255) NOT NULL,
  slug        varchar(255) NOT NULL,
  status      varchar(20)  NOT NULL DEFAULT 'ACTIVE',
  platform    varchar(20)  NOT NULL,
  platform_id varchar(255) NOT NULL,
  created_at  timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  updated_at  timestamp    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  PRIMARY KEY (id),
  CONSTRAINT check_tenant_status CHECK (status IN ('ACTIVE', 'CANCELLED', 'MAINTENANCE')),
  CONSTRAINT check_platform CHECK (platform IN ('slack', 'discord'))
)",
    "CREATE UNIQUE INDEX idx_tenants_slug ON tenants (slug)",
    "CREATE UNIQUE INDEX idx_tenants_platform_platform_id ON tenants (platform, platform_id)",
    "CREATE INDEX idx_tenants_status ON tenants (status)",
    "CREATE INDEX idx_tenants_created_at ON tenants (created_at)",
];

const DOWN: &[&str] = &["DROP TABLE tenants"];

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
