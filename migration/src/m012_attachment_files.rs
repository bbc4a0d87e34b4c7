//! m012: `attachment_files`, the bytes of each attachment: whether they are stored, where
//! (the SHA-256 of the content, the key of the content-addressed store), or why not.
//!
//! One row per `message_attachments` row (same id, cascading delete), created when the sync
//! writes the attachment or when a later sync backfills the attachments of earlier ones. The
//! row is also the download queue: a fetcher claims `pending` rows whose `next_attempt_at` has
//! come with a lease (`worker_id`, `lease_expires_at`) by a conditional UPDATE, the same way
//! on SQLite, MariaDB/MySQL and TiDB. `tenant_id` is denormalised so the per-tenant status
//! and the backfill need no join through messages and channels.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Creates `attachment_files`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AttachmentFiles {
    Table,
    AttachmentId,
    TenantId,
    State,
    Sha256,
    Bytes,
    Reason,
    Attempts,
    NextAttemptAt,
    WorkerId,
    LeaseExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MessageAttachments {
    Table,
    Id,
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
                    .table(AttachmentFiles::Table)
                    .col(string_len(AttachmentFiles::AttachmentId, 36).primary_key())
                    .col(string_len(AttachmentFiles::TenantId, 36))
                    .col(string_len(AttachmentFiles::State, 16).default("pending"))
                    .col(string_len_null(AttachmentFiles::Sha256, 64))
                    .col(big_integer_null(AttachmentFiles::Bytes))
                    .col(string_len_null(AttachmentFiles::Reason, 500))
                    .col(integer(AttachmentFiles::Attempts).default(0))
                    .col(
                        timestamp(AttachmentFiles::NextAttemptAt)
                            .default(Expr::current_timestamp()),
                    )
                    .col(string_len_null(AttachmentFiles::WorkerId, 100))
                    .col(timestamp_null(AttachmentFiles::LeaseExpiresAt))
                    .col(timestamp(AttachmentFiles::CreatedAt).default(Expr::current_timestamp()))
                    .col(timestamp(AttachmentFiles::UpdatedAt).default(Expr::current_timestamp()))
                    .foreign_key(
                        ForeignKey::create()
                            .name("attachment_files_attachment_id_fkey")
                            .from(AttachmentFiles::Table, AttachmentFiles::AttachmentId)
                            .to(MessageAttachments::Table, MessageAttachments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("attachment_files_tenant_id_fkey")
                            .from(AttachmentFiles::Table, AttachmentFiles::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check((
                        "check_attachment_file_state",
                        Expr::col(AttachmentFiles::State)
                            .is_in(["pending", "stored", "skipped", "gone"]),
                    ))
                    .to_owned(),
            )
            .await?;
        // The fetcher's claim: pending rows by due time.
        manager
            .create_index(
                Index::create()
                    .name("idx_attachment_files_due")
                    .table(AttachmentFiles::Table)
                    .col(AttachmentFiles::State)
                    .col(AttachmentFiles::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // `verta files status`, and a tenant's distinct stored blobs in hash order (the
        // export's and the static site's keyset walk).
        manager
            .create_index(
                Index::create()
                    .name("idx_attachment_files_tenant_state")
                    .table(AttachmentFiles::Table)
                    .col(AttachmentFiles::TenantId)
                    .col(AttachmentFiles::State)
                    .col(AttachmentFiles::Sha256)
                    .to_owned(),
            )
            .await?;
        // Garbage collection (is a blob referenced?) and the website's files by hash.
        manager
            .create_index(
                Index::create()
                    .name("idx_attachment_files_sha256")
                    .table(AttachmentFiles::Table)
                    .col(AttachmentFiles::Sha256)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AttachmentFiles::Table).to_owned())
            .await
    }
}
