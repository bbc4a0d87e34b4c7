//! m009: the sync job queue (`sync_jobs`), one row per tenant sync run.
//!
//! A job is claimed by a worker with a conditional UPDATE and a lease (`worker_id`,
//! `lease_expires_at`), which works the same on SQLite, MariaDB/MySQL and TiDB (no SKIP
//! LOCKED). `active_tenant_id` holds the tenant id while the job is queued or running and NULL
//! afterwards; its unique index makes "at most one queued-or-running job per tenant" a
//! database guarantee (NULLs never collide). The channel work of a job lives in the existing
//! `channel_sync_jobs` table (`parent_job_id` = `sync_jobs.id`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `sync_jobs`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SyncJobs {
    Table,
    Id,
    TenantId,
    ActiveTenantId,
    SyncType,
    TriggeredBy,
    Status,
    ChannelIds,
    WorkerId,
    LeaseExpiresAt,
    Attempts,
    CancelRequested,
    ChannelsTotal,
    ChannelsCompleted,
    ChannelsFailed,
    MessagesProcessed,
    ReactionsProcessed,
    AttachmentsProcessed,
    RequestsMade,
    Error,
    Errors,
    RetryOf,
    CreatedAt,
    StartedAt,
    FinishedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncJobs::Table)
                    .col(string_len(SyncJobs::Id, 36).primary_key())
                    .col(string_len(SyncJobs::TenantId, 36))
                    .col(string_len_null(SyncJobs::ActiveTenantId, 36))
                    .col(string_len(SyncJobs::SyncType, 20))
                    .col(string_len(SyncJobs::TriggeredBy, 20))
                    .col(string_len(SyncJobs::Status, 20))
                    .col(json_null(SyncJobs::ChannelIds))
                    .col(string_len_null(SyncJobs::WorkerId, 100))
                    .col(timestamp_null(SyncJobs::LeaseExpiresAt))
                    .col(integer(SyncJobs::Attempts).default(0))
                    .col(boolean(SyncJobs::CancelRequested).default(false))
                    .col(integer(SyncJobs::ChannelsTotal).default(0))
                    .col(integer(SyncJobs::ChannelsCompleted).default(0))
                    .col(integer(SyncJobs::ChannelsFailed).default(0))
                    .col(big_integer(SyncJobs::MessagesProcessed).default(0))
                    .col(big_integer(SyncJobs::ReactionsProcessed).default(0))
                    .col(big_integer(SyncJobs::AttachmentsProcessed).default(0))
                    .col(big_integer(SyncJobs::RequestsMade).default(0))
                    .col(text_null(SyncJobs::Error))
                    .col(json_null(SyncJobs::Errors))
                    .col(string_len_null(SyncJobs::RetryOf, 36))
                    .col(timestamp(SyncJobs::CreatedAt).default(Expr::current_timestamp()))
                    .col(timestamp_null(SyncJobs::StartedAt))
                    .col(timestamp_null(SyncJobs::FinishedAt))
                    .col(timestamp(SyncJobs::UpdatedAt).default(Expr::current_timestamp()))
                    .foreign_key(
                        ForeignKey::create()
                            .name("sync_jobs_tenant_id_fkey")
                            .from(SyncJobs::Table, SyncJobs::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check((
                        "check_sync_job_status",
                        Expr::col(SyncJobs::Status).is_in([
                            "queued",
                            "running",
                            "completed",
                            "failed",
                            "cancelled",
                        ]),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_jobs_active_tenant")
                    .table(SyncJobs::Table)
                    .col(SyncJobs::ActiveTenantId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_jobs_tenant_created")
                    .table(SyncJobs::Table)
                    .col(SyncJobs::TenantId)
                    .col(SyncJobs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_jobs_status")
                    .table(SyncJobs::Table)
                    .col(SyncJobs::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncJobs::Table).to_owned())
            .await
    }
}
