//! Database migrations.
//!
//! `m001`..`m008` reproduce the eight tables of the original service exactly (see
//! `migration/tests/migration/data/reference-schema.sql`): on the MySQL dialect (MariaDB 10.11, MySQL 8, TiDB >= 7.5)
//! the DDL is written out per statement so that `information_schema` after `up` equals the
//! reference; on SQLite the same tables, columns, nullability, keys, unique indexes and foreign
//! keys are created (there `updated_at` is maintained by the application).
//!
//! Later additions come as `m009` onward: a released migration is never edited.
//!
//! Run with `cargo run -p migration -- up|down|status|fresh|refresh|reset`
//! (`DATABASE_URL`, default `sqlite://verta.db?mode=rwc`).

pub use sea_orm_migration::prelude::*;

mod m001_create_tenants;
mod m002_create_archive_tables;
mod m003_add_unique_indexes;
mod m004_reply_to_platform_id;
mod m005_parent_channel_platform_id;
mod m006_create_tenant_branding;
mod m007_channel_sync_jobs;
mod m008_channel_type_category;
mod m009_create_sync_jobs;
mod m010_read_indexes;
mod m011_search_indexes;
mod m012_attachment_files;
mod sql;

/// The default database URL when `DATABASE_URL` is not set (the same file the app uses).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://verta.db?mode=rwc";

/// All migrations of Verta, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m001_create_tenants::Migration),
            Box::new(m002_create_archive_tables::Migration),
            Box::new(m003_add_unique_indexes::Migration),
            Box::new(m004_reply_to_platform_id::Migration),
            Box::new(m005_parent_channel_platform_id::Migration),
            Box::new(m006_create_tenant_branding::Migration),
            Box::new(m007_channel_sync_jobs::Migration),
            Box::new(m008_channel_type_category::Migration),
            Box::new(m009_create_sync_jobs::Migration),
            Box::new(m010_read_indexes::Migration),
            Box::new(m011_search_indexes::Migration),
            Box::new(m012_attachment_files::Migration),
        ]
    }
}
