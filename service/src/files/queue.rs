//! Every SQL statement on `attachment_files`: queueing attachments for download, claiming
//! due rows with a lease, recording the outcome, the per-tenant status and the reference
//! checks of garbage collection. The rest of the crate touches the table only through these.
//!
//! Claims work like the sync queue's: a conditional UPDATE (`... AND <claimable>`), then the
//! rows read back by the claimant's id; every outcome a fetcher records is conditional on
//! still holding the claim (`worker_id = ?`), so a fetcher whose lease was taken over cannot
//! overwrite the new holder's work.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{attachment_files, message_attachments};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value,
};

use crate::db::now;
use crate::error::Result;

/// The states of a file (the `state` column).
pub mod state {
    /// Not downloaded yet (new, or waiting to retry).
    pub const PENDING: &str = "pending";
    /// Bytes stored under `sha256`.
    pub const STORED: &str = "stored";
    /// Deliberately not downloaded; `reason` says why.
    pub const SKIPPED: &str = "skipped";
    /// The platform no longer has the file (not found even with a fresh link).
    pub const GONE: &str = "gone";
}

/// Attachment ids per statement (well under every backend's placeholder limit).
const IDS_PER_STATEMENT: usize = 500;

/// The statements that queue the given attachments for download: one `pending` row each,
/// unless it has one already (then nothing changes). The attachments must exist (run after
/// their upsert, in the same transaction).
pub fn queue_statements(backend: DbBackend, attachment_ids: &[String]) -> Vec<Statement> {
    let now = now();
    attachment_ids
        .chunks(IDS_PER_STATEMENT)
        .map(|chunk| {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut values: Vec<Value> = vec![now.into(), now.into(), now.into()];
            values.extend(chunk.iter().map(|id| Value::from(id.clone())));
            let conflict = match backend {
                DbBackend::Sqlite | DbBackend::Postgres => {
                    "ON CONFLICT (attachment_id) DO NOTHING"
                }
                _ => "ON DUPLICATE KEY UPDATE attachment_id = attachment_id",
            };
            Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO attachment_files \
                     (attachment_id, tenant_id, state, attempts, next_attempt_at, created_at, updated_at) \
                     SELECT a.id, c.tenant_id, 'pending', 0, ?, ?, ? \
                     FROM message_attachments a \
                     JOIN messages m ON m.id = a.message_id \
                     JOIN channels c ON c.id = m.channel_id \
                     WHERE a.id IN ({marks}) {conflict}"
                ),
                values,
            )
        })
        .collect()
}

/// Queue every attachment of `tenant_id` that has no file row yet (attachments archived
/// before files were fetched, or while `SYNC_ATTACHMENT_FILES` was off). Walks the
/// attachments in id order, a few thousand per round trip. Returns how many were queued.
pub async fn backfill(db: &impl ConnectionTrait, tenant_id: &str) -> Result<u64> {
    const BATCH: u64 = 2_000;
    let backend = db.get_database_backend();
    let mut after = String::new();
    let mut queued = 0;
    loop {
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT a.id AS id FROM message_attachments a \
                     JOIN messages m ON m.id = a.message_id \
                     JOIN channels c ON c.id = m.channel_id \
                     LEFT JOIN attachment_files f ON f.attachment_id = a.id \
                     WHERE c.tenant_id = ? AND a.id > ? AND f.attachment_id IS NULL \
                     ORDER BY a.id LIMIT {BATCH}"
                ),
                [tenant_id.into(), after.clone().into()],
            ))
            .await?;
        let ids: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", "id").ok())
            .collect();
        let Some(last) = ids.last() else {
            return Ok(queued);
        };
        after = last.clone();
        for statement in queue_statements(backend, &ids) {
            queued += Ord::min(
                db.execute_raw(statement).await?.rows_affected(),
                ids.len() as u64,
            );
        }
        if (ids.len() as u64) < BATCH {
            return Ok(queued);
        }
    }
}

/// A claimed file: what the fetcher needs to download it.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Claimed {
    /// The attachment (and file row) id.
    pub attachment_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Failed attempts so far.
    pub attempts: i32,
    /// The platform's (signed, expiring) URL.
    pub url: String,
    /// Size the platform declared, in bytes.
    pub file_size: i64,
}

fn lease_until(lease: Duration) -> DateTime<Utc> {
    now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60))
}

fn claimable(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(attachment_files::Column::State.eq(state::PENDING))
        .add(
            sea_orm::Condition::any()
                .add(attachment_files::Column::LeaseExpiresAt.is_null())
                .add(attachment_files::Column::LeaseExpiresAt.lt(now)),
        )
}

/// Claim up to `limit` due pending files for `worker_id` for `lease`. Oldest due first.
pub async fn claim(
    db: &impl ConnectionTrait,
    worker_id: &str,
    lease: Duration,
    limit: u64,
) -> Result<Vec<Claimed>> {
    let now = now();
    let candidates: Vec<String> = attachment_files::Entity::find()
        .select_only()
        .column(attachment_files::Column::AttachmentId)
        .filter(claimable(now))
        .filter(attachment_files::Column::NextAttemptAt.lte(now))
        .order_by_asc(attachment_files::Column::NextAttemptAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    attachment_files::Entity::update_many()
        .col_expr(attachment_files::Column::WorkerId, Expr::value(worker_id))
        .col_expr(
            attachment_files::Column::LeaseExpiresAt,
            Expr::value(lease_until(lease)),
        )
        .filter(attachment_files::Column::AttachmentId.is_in(candidates.clone()))
        .filter(claimable(now))
        .exec(db)
        .await?;
    let claimed = attachment_files::Entity::find()
        .select_only()
        .column(attachment_files::Column::AttachmentId)
        .column(attachment_files::Column::TenantId)
        .column(attachment_files::Column::Attempts)
        .column_as(message_attachments::Column::Url, "url")
        .column_as(message_attachments::Column::FileSize, "file_size")
        .inner_join(message_attachments::Entity)
        .filter(attachment_files::Column::AttachmentId.is_in(candidates))
        .filter(attachment_files::Column::WorkerId.eq(worker_id))
        .filter(attachment_files::Column::State.eq(state::PENDING))
        .into_model::<Claimed>()
        .all(db)
        .await?;
    Ok(claimed)
}

/// Extend the lease of the files `attachment_ids` that `worker_id` still holds (the
/// fetcher's heartbeat; by primary key, so it costs the same whatever the table's size).
pub async fn renew(
    db: &impl ConnectionTrait,
    worker_id: &str,
    attachment_ids: &[String],
    lease: Duration,
) -> Result<u64> {
    let mut renewed = 0;
    for chunk in attachment_ids.chunks(IDS_PER_STATEMENT) {
        renewed += attachment_files::Entity::update_many()
            .col_expr(
                attachment_files::Column::LeaseExpiresAt,
                Expr::value(lease_until(lease)),
            )
            .filter(attachment_files::Column::AttachmentId.is_in(chunk.to_vec()))
            .filter(attachment_files::Column::WorkerId.eq(worker_id))
            .filter(attachment_files::Column::State.eq(state::PENDING))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(renewed)
}

fn held(attachment_id: &str, worker_id: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(attachment_files::Column::AttachmentId.eq(attachment_id))
        .add(attachment_files::Column::WorkerId.eq(worker_id))
        .add(attachment_files::Column::State.eq(state::PENDING))
}

/// Record the hash of a downloaded file before its blob is stored, so that garbage
/// collection sees the reference (see [`super::gc`]). False when the claim was lost.
pub async fn set_hash(
    db: &impl ConnectionTrait,
    attachment_id: &str,
    worker_id: &str,
    sha256: &str,
) -> Result<bool> {
    Ok(attachment_files::Entity::update_many()
        .col_expr(attachment_files::Column::Sha256, Expr::value(sha256))
        .filter(held(attachment_id, worker_id))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// An update that ends a claim: no holder, no lease, `updated_at` now.
fn ending_claim() -> sea_orm::UpdateMany<attachment_files::Entity> {
    attachment_files::Entity::update_many()
        .col_expr(
            attachment_files::Column::WorkerId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            attachment_files::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(attachment_files::Column::UpdatedAt, Expr::value(now()))
}

/// `sha256 = NULL`.
fn no_hash() -> (attachment_files::Column, sea_orm::sea_query::SimpleExpr) {
    (
        attachment_files::Column::Sha256,
        Expr::value(Option::<String>::None),
    )
}

/// The file is stored: `sha256` (set by [`set_hash`] and unchanged since), `bytes`. False
/// when the claim was lost or garbage collection reset the row meanwhile (it is then
/// downloaded again).
pub async fn mark_stored(
    db: &impl ConnectionTrait,
    attachment_id: &str,
    worker_id: &str,
    sha256: &str,
    bytes: u64,
) -> Result<bool> {
    Ok(ending_claim()
        .col_expr(attachment_files::Column::State, Expr::value(state::STORED))
        .col_expr(
            attachment_files::Column::Bytes,
            Expr::value(i64::try_from(bytes).unwrap_or(i64::MAX)),
        )
        .col_expr(
            attachment_files::Column::Reason,
            Expr::value(Option::<String>::None),
        )
        .filter(held(attachment_id, worker_id))
        .filter(attachment_files::Column::Sha256.eq(sha256))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// A final state without bytes (`skipped` or `gone`) and why. False when the claim was lost.
pub async fn mark_final(
    db: &impl ConnectionTrait,
    attachment_id: &str,
    worker_id: &str,
    final_state: &'static str,
    reason: &str,
) -> Result<bool> {
    let (hash, none) = no_hash();
    Ok(ending_claim()
        .col_expr(attachment_files::Column::State, Expr::value(final_state))
        .col_expr(
            attachment_files::Column::Reason,
            Expr::value(truncate(reason)),
        )
        .col_expr(hash, none)
        .filter(held(attachment_id, worker_id))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// A failed attempt: count it, release the claim and try again after `delay`.
pub async fn retry_later(
    db: &impl ConnectionTrait,
    attachment_id: &str,
    worker_id: &str,
    delay: Duration,
    reason: &str,
) -> Result<bool> {
    let at = now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(6));
    let (hash, none) = no_hash();
    Ok(ending_claim()
        .col_expr(
            attachment_files::Column::Attempts,
            Expr::col(attachment_files::Column::Attempts).add(1),
        )
        .col_expr(attachment_files::Column::NextAttemptAt, Expr::value(at))
        .col_expr(
            attachment_files::Column::Reason,
            Expr::value(truncate(reason)),
        )
        .col_expr(hash, none)
        .filter(held(attachment_id, worker_id))
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Hand a claimed file back untouched (the fetcher is stopping).
pub async fn release(
    db: &impl ConnectionTrait,
    attachment_id: &str,
    worker_id: &str,
) -> Result<()> {
    let (hash, none) = no_hash();
    ending_claim()
        .col_expr(hash, none)
        .filter(held(attachment_id, worker_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Remember a renewed link of an attachment (the read API shows it; the next download
/// starts from it).
pub async fn set_url(db: &impl ConnectionTrait, attachment_id: &str, url: &str) -> Result<()> {
    message_attachments::Entity::update_many()
        .col_expr(message_attachments::Column::Url, Expr::value(url))
        .filter(message_attachments::Column::Id.eq(attachment_id))
        .exec(db)
        .await?;
    Ok(())
}

fn truncate(reason: &str) -> String {
    reason.chars().take(500).collect()
}

/// Of `hashes`, those some file row references (any state: a pending row with a hash is a
/// download storing that blob right now).
pub async fn referenced(db: &impl ConnectionTrait, hashes: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in hashes.chunks(IDS_PER_STATEMENT) {
        let found: Vec<Option<String>> = attachment_files::Entity::find()
            .select_only()
            .column(attachment_files::Column::Sha256)
            .filter(attachment_files::Column::Sha256.is_in(chunk.to_vec()))
            .distinct()
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found.into_iter().flatten());
    }
    Ok(out)
}

/// Send every row that references one of `hashes` back to the queue (their blob was
/// removed by garbage collection while they started to reference it). Returns how many.
pub async fn requeue_hashes(db: &impl ConnectionTrait, hashes: &[String]) -> Result<u64> {
    let mut requeued = 0;
    for chunk in hashes.chunks(IDS_PER_STATEMENT) {
        let (hash, none) = no_hash();
        requeued += ending_claim()
            .col_expr(attachment_files::Column::State, Expr::value(state::PENDING))
            .col_expr(hash, none)
            .col_expr(
                attachment_files::Column::Bytes,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(attachment_files::Column::NextAttemptAt, Expr::value(now()))
            .filter(attachment_files::Column::Sha256.is_in(chunk.to_vec()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(requeued)
}

/// Files and bytes in one state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Attachments.
    pub files: u64,
    /// Bytes: stored bytes for stored files, the declared size for the others.
    pub bytes: u64,
}

/// Per-state tallies of one tenant's attachments, and the skip reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantTallies {
    /// Stored files.
    pub stored: Tally,
    /// Pending files (queued, retrying, or not queued yet).
    pub pending: Tally,
    /// Pending files that failed at least once.
    pub retrying: u64,
    /// Skipped files.
    pub skipped: Tally,
    /// Gone files.
    pub gone: Tally,
    /// Skipped files per reason.
    pub skip_reasons: std::collections::BTreeMap<String, u64>,
    /// Distinct blobs of the stored files, and their bytes (each counted once).
    pub blobs: Tally,
}

#[derive(Debug, FromQueryResult)]
struct StateRow {
    state: Option<String>,
    reason: Option<String>,
    failed: i64,
    files: i64,
    bytes: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct BlobRow {
    files: i64,
    bytes: Option<i64>,
}

fn count(n: impl TryInto<u64>) -> u64 {
    n.try_into().unwrap_or(0)
}

/// The tallies of `tenant_id` (three grouped reads, whatever the archive's size).
pub async fn tallies(db: &impl ConnectionTrait, tenant_id: &str) -> Result<TenantTallies> {
    let backend = db.get_database_backend();
    let rows = StateRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        "SELECT f.state AS state, \
                CASE WHEN f.state = 'skipped' THEN f.reason ELSE NULL END AS reason, \
                CASE WHEN f.attempts > 0 THEN 1 ELSE 0 END AS failed, \
                COUNT(*) AS files, \
                CAST(SUM(COALESCE(f.bytes, a.file_size)) AS SIGNED) AS bytes \
         FROM message_attachments a \
         JOIN messages m ON m.id = a.message_id \
         JOIN channels c ON c.id = m.channel_id \
         LEFT JOIN attachment_files f ON f.attachment_id = a.id \
         WHERE c.tenant_id = ? \
         GROUP BY f.state, CASE WHEN f.state = 'skipped' THEN f.reason ELSE NULL END, \
                  CASE WHEN f.attempts > 0 THEN 1 ELSE 0 END",
        [tenant_id.into()],
    ))
    .all(db)
    .await?;
    let mut t = TenantTallies::default();
    for row in rows {
        let (files, bytes) = (count(row.files), count(row.bytes.unwrap_or(0)));
        let tally = match row.state.as_deref() {
            Some(state::STORED) => &mut t.stored,
            Some(state::SKIPPED) => {
                *t.skip_reasons
                    .entry(row.reason.unwrap_or_default())
                    .or_default() += files;
                &mut t.skipped
            }
            Some(state::GONE) => &mut t.gone,
            _ => {
                if row.failed == 1 {
                    t.retrying += files;
                }
                &mut t.pending
            }
        };
        tally.files += files;
        tally.bytes += bytes;
    }
    let blobs = BlobRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        "SELECT COUNT(*) AS files, CAST(SUM(b) AS SIGNED) AS bytes FROM \
         (SELECT sha256, MAX(bytes) AS b FROM attachment_files \
          WHERE tenant_id = ? AND state = 'stored' GROUP BY sha256) AS blobs",
        [tenant_id.into()],
    ))
    .one(db)
    .await?;
    if let Some(b) = blobs {
        t.blobs = Tally {
            files: count(b.files),
            bytes: count(b.bytes.unwrap_or(0)),
        };
    }
    Ok(t)
}
