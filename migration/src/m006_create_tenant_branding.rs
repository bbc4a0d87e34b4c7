//! 006: `tenant_branding`, at most one branding row per tenant.
//!
//! SQLite has no REGEXP by default: the colour CHECKs use an equivalent GLOB there.

use crate::sql;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const MYSQL_UP: &[&str] = &["CREATE TABLE tenant_branding (
  id              varchar(36) NOT NULL,
  tenant_id       varchar(36) NOT NULL,
  logo            text        NULL DEFAULT NULL,
  primary_color   varchar(7)  NOT NULL DEFAULT '#3b82f6',
  secondary_color varchar(7)  NOT NULL DEFAULT '#64748b',
  accent_color    varchar(7)  NOT NULL DEFAULT '#10b981',
  created_at      timestamp   NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at      timestamp   NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY idx_tenant_branding_tenant_id (tenant_id),
  CONSTRAINT tenant_branding_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT check_primary_color_format CHECK (primary_color REGEXP '^#[0-9A-Fa-f]{6}$'),
  CONSTRAINT check_secondary_color_format CHECK (secondary_color REGEXP '^#[0-9A-Fa-f]{6}$'),
  CONSTRAINT check_accent_color_format CHECK (accent_color REGEXP '^#[0-9A-Fa-f]{6}$')
)"];

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE tenant_branding (
  id              varchar(36) NOT NULL,
  tenant_id       varchar(36) NOT NULL,
  logo            text        NULL DEFAULT NULL,
  primary_color   varchar(7)  NOT NULL DEFAULT '#3b82f6',
  secondary_color varchar(7)  NOT NULL DEFAULT '#64748b',
  accent_color    varchar(7)  NOT NULL DEFAULT '#10b981',
  created_at      timestamp   NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  updated_at      timestamp   NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
  PRIMARY KEY (id),
  CONSTRAINT tenant_branding_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT check_primary_color_format
    CHECK (primary_color GLOB '#[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]'),
  CONSTRAINT check_secondary_color_format
    CHECK (secondary_color GLOB '#[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]'),
  CONSTRAINT check_accent_color_format
    CHECK (accent_color GLOB '#[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]')
)",
    "CREATE UNIQUE INDEX idx_tenant_branding_tenant_id ON tenant_branding (tenant_id)",
];

const DOWN: &[&str] = &["DROP TABLE tenant_branding"];

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
