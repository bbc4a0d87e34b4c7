//! Repositories: one module per table. Every write the sync performs is a batched upsert
//! (`insert_many(..).on_conflict(..).exec_without_returning(..)`) on the table's unique key,
//! so re-running a sync never duplicates a row.
//!
//! Conventions shared by every module here:
//! - Functions take `db: &impl ConnectionTrait`: pass the pool, or the transaction that also
//!   advances the channel cursor (one transaction per page, see [`crate::db::begin_write`]).
//! - Batches are cut into statements that stay under the backend's placeholder limit
//!   (rows x columns <= 65,535 on MySQL, 32,766 on SQLite) and under
//!   [`MAX_STATEMENT_BYTES`] of data (MySQL's `max_allowed_packet`). An empty batch sends
//!   nothing.
//! - Ids are deterministic ([`ids`]): a row's id is computed from its parent's id and its
//!   platform id, so children can be written in the same batch without reading ids back
//!   (`verta-bench upsert` measures what reading a batch's message ids back would cost).
//!   Rows created by other software with random ids keep their id: the upserts never change
//!   an existing row's id, they match it by the unique key.
//! - `created_at`/`updated_at` are set by the application ([`crate::db::now`]): SQLite has no
//!   `ON UPDATE CURRENT_TIMESTAMP`, and setting them on MySQL too keeps both backends equal.
//! - MySQL ignores the conflict target and fires on any unique key (primary key included);
//!   with deterministic ids the primary key and the unique key always name the same row, so
//!   both backends behave the same.

pub mod attachments;
pub mod channels;
pub mod messages;
pub mod reactions;
pub mod sync_progress;
pub mod tenant_branding;

use sea_orm::sea_query::{CaseStatement, Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Iterable, QueryTrait,
    Statement,
};

use crate::db;
use crate::error::Result;

/// Upper bound of bound data per statement, in bytes (estimated from the text columns).
/// MariaDB's default `max_allowed_packet` is 16 MiB, TiDB's and MySQL 8's 64 MiB.
pub const MAX_STATEMENT_BYTES: usize = 4 * 1024 * 1024;

/// Deterministic ids: computed from the parent's id and the platform id, so they are stable
/// across re-syncs and across processes, and a batch can reference rows it has not read back.
///
/// Messages, reactions and attachments get time-ordered ids (UUID version 8): the first 64
/// bits of a message id are its snowflake (which starts with its send time), the rest a
/// SHA-1 hash of channel id and platform id, as in version 5. Their ids, and those of the
/// reactions and attachments that start with their message's first 64 bits, then sort in
/// the order the sync writes them, so every id index grows at its end like the tables
/// instead of receiving each page's rows at random places; on SQLite, where a commit writes
/// every index page it touched, that cuts the pages written per message. Other ids (and
/// a message whose platform id is not a snowflake) are plain version 5 UUIDs.
pub mod ids {
    use uuid::Uuid;

    /// Id of the channel row of platform channel `platform_channel_id` in `tenant`.
    pub fn channel(tenant: Uuid, platform_channel_id: &str) -> Uuid {
        Uuid::new_v5(&tenant, platform_channel_id.as_bytes())
    }

    /// Id of the message row of platform message `platform_message_id` in `channel`:
    /// ordered by the snowflake.
    pub fn message(channel: Uuid, platform_message_id: &str) -> Uuid {
        let hash = Uuid::new_v5(&channel, platform_message_id.as_bytes());
        match platform_message_id.parse::<u64>() {
            Ok(snowflake) => ordered(snowflake.to_be_bytes(), hash),
            Err(_) => hash,
        }
    }

    /// Id of the reaction of `anonymized_user_id` with `emoji` on `message`, ordered like the
    /// message. The pseudonym is 64 hex characters, so `user:emoji` is unambiguous.
    pub fn reaction(message: Uuid, anonymized_user_id: &str, emoji: &str) -> Uuid {
        let hash = Uuid::new_v5(&message, format!("{anonymized_user_id}:{emoji}").as_bytes());
        child(message, hash)
    }

    /// Id of the attachment row of platform attachment `platform_attachment_id` on
    /// `message`, ordered like the message.
    pub fn attachment(message: Uuid, platform_attachment_id: &str) -> Uuid {
        let hash = Uuid::new_v5(
            &message,
            format!("attachment:{platform_attachment_id}").as_bytes(),
        );
        child(message, hash)
    }

    /// Id of the `sync_progress` row (the cursor) of `channel`.
    pub fn sync_progress(channel: Uuid) -> Uuid {
        Uuid::new_v5(&channel, b"sync_progress")
    }

    /// Id of the `channel_sync_jobs` row of `channel` inside tenant job `parent_job_id`.
    pub fn channel_sync_job(parent_job_id: &str, channel: Uuid) -> Uuid {
        Uuid::new_v5(&channel, format!("job:{parent_job_id}").as_bytes())
    }

    /// Id of the branding row of `tenant`.
    pub fn tenant_branding(tenant: Uuid) -> Uuid {
        Uuid::new_v5(&tenant, b"tenant_branding")
    }

    /// Version 8 UUID: the 64 bits of `key` in order (around the 4 version bits and the 2
    /// variant bits), then 58 bits of `hash`.
    fn ordered(key: [u8; 8], hash: Uuid) -> Uuid {
        let h = hash.as_bytes();
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&key[..6]);
        b[6] = 0x80 | (key[6] >> 4);
        b[7] = (key[6] << 4) | (key[7] >> 4);
        b[8] = 0x80 | ((key[7] & 0x0f) << 2) | (h[8] & 0x03);
        b[9..].copy_from_slice(&h[9..]);
        Uuid::from_bytes(b)
    }

    /// The first 64 bits of `parent` (version included), then the variant and 62 bits of
    /// `hash`: a version 8 UUID when the parent is one, sorting right with its parent.
    fn child(parent: Uuid, hash: Uuid) -> Uuid {
        let mut b = *hash.as_bytes();
        b[..8].copy_from_slice(&parent.as_bytes()[..8]);
        Uuid::from_bytes(b)
    }
}

/// Split `rows` into statement-sized chunks: at most `max_rows` rows and, unless a single row
/// is larger, at most `max_bytes` of estimated data. Every chunk holds a power of two of rows
/// (e.g. 300 rows with `max_rows` 256: 256, 32, 8, 4), so a batch of any size is written
/// with at most a handful of distinct statement texts: the drivers prepare and cache each
/// distinct text per connection, and arbitrary sizes would re-prepare large statements for
/// almost every batch and fill every connection's cache with them.
pub fn chunks<'a, T>(
    rows: &'a [T],
    max_rows: usize,
    max_bytes: usize,
    size: impl Fn(&T) -> usize + 'a,
) -> impl Iterator<Item = &'a [T]> + 'a {
    let max_rows = max_rows.max(1);
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut n = 0;
        while n < rest.len() && n < max_rows {
            let b = size(&rest[n]);
            if n > 0 && bytes + b > max_bytes {
                break;
            }
            bytes += b;
            n += 1;
        }
        // Largest power of two <= n (n >= 1).
        let n = 1usize << (usize::BITS - 1 - n.leading_zeros());
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Some(head)
    })
}

/// Most rows one upsert statement carries on SQLite. SQLite runs statements in-process, so a
/// bigger statement saves no round trip, but its compiled program (kept in each connection's
/// statement cache) grows with the rows: 256 rows keep a cached upsert near 100 KiB.
pub const SQLITE_MAX_ROWS_PER_STATEMENT: usize = 256;

/// Rows per statement for entity `E` on the backend of `db` (all columns bound; at most
/// [`SQLITE_MAX_ROWS_PER_STATEMENT`] on SQLite).
pub fn rows_per_statement<E: EntityTrait>(db: &impl ConnectionTrait) -> usize {
    rows_per_statement_on::<E>(db.get_database_backend())
}

/// [`rows_per_statement`] for `backend`.
fn rows_per_statement_on<E: EntityTrait>(backend: DbBackend) -> usize {
    let rows = db::rows_per_statement(backend, E::Column::iter().count());
    if backend == DbBackend::Sqlite {
        rows.min(SQLITE_MAX_ROWS_PER_STATEMENT)
    } else {
        rows
    }
}

/// The statements that upsert `rows` of entity `E` with `on_conflict` on `backend`, in
/// statement-sized chunks: built here, executed by the caller. The sync's page writer builds
/// one group's statements while the group before it executes (see `sync::writer`).
pub(crate) fn upsert_statements<E, A, T>(
    backend: DbBackend,
    rows: &[T],
    size: impl Fn(&T) -> usize,
    to_active: impl Fn(&T) -> A,
    on_conflict: &OnConflict,
) -> Vec<Statement>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E>,
{
    let max_rows = rows_per_statement_on::<E>(backend);
    chunks(rows, max_rows, MAX_STATEMENT_BYTES, size)
        .map(|chunk| {
            E::insert_many(chunk.iter().map(&to_active))
                .on_conflict(on_conflict.clone())
                .build(backend)
        })
        .collect()
}

/// Execute `statements` in order on `db` (a transaction, usually).
pub async fn execute_all(db: &impl ConnectionTrait, statements: Vec<Statement>) -> Result<()> {
    for statement in statements {
        db.execute_raw(statement).await?;
    }
    Ok(())
}

/// Upsert `rows` of entity `E` in statement-sized chunks with `on_conflict`.
/// Returns the number of input rows written (inserted or merged).
pub(crate) async fn upsert_chunked<E, A, T>(
    db: &impl ConnectionTrait,
    rows: &[T],
    size: impl Fn(&T) -> usize,
    to_active: impl Fn(&T) -> A,
    on_conflict: &OnConflict,
) -> Result<usize>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E>,
{
    let statements = upsert_statements::<E, A, T>(
        db.get_database_backend(),
        rows,
        size,
        to_active,
        on_conflict,
    );
    execute_all(db, statements).await?;
    Ok(rows.len())
}

/// Rows per statement of the metadata updates (`set_metadata`): three bound values per row,
/// far below every backend's placeholder limit.
pub const METADATA_UPDATES_PER_STATEMENT: usize = 500;

/// `CASE WHEN id = ? THEN ? ... ELSE column END`: a different value per row in one UPDATE
/// (instead of one UPDATE per row). `values` must not be empty.
pub(crate) fn value_by_id<C: ColumnTrait>(
    id: C,
    column: C,
    values: &[(String, serde_json::Value)],
) -> Expr {
    values
        .iter()
        .fold(CaseStatement::new(), |case, (row_id, value)| {
            case.case(id.eq(row_id.as_str()), Expr::val(value.clone()))
        })
        .finally(Expr::col(column))
        .into()
}

/// Fixed per-row overhead assumed by the byte estimate (ids, numbers, timestamps).
pub(crate) const ROW_OVERHEAD_BYTES: usize = 200;

/// Estimated size of an optional JSON value as bound text.
pub(crate) fn json_size(v: &Option<serde_json::Value>) -> usize {
    // Serializing just to measure would double the work; a cheap walk is close enough.
    fn walk(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::String(s) => s.len() + 2,
            serde_json::Value::Array(a) => a.iter().map(walk).sum::<usize>() + 2,
            serde_json::Value::Object(o) => o.iter().map(|(k, v)| k.len() + 4 + walk(v)).sum(),
            _ => 8,
        }
    }
    v.as_ref().map_or(0, walk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_rows_and_bytes() {
        let rows: Vec<usize> = vec![1; 10];
        let sizes: Vec<usize> = chunks(&rows, 4, usize::MAX, |_| 1)
            .map(<[_]>::len)
            .collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        let sizes: Vec<usize> = chunks(&rows, 3, usize::MAX, |_| 1)
            .map(<[_]>::len)
            .collect();
        assert_eq!(sizes, vec![2, 2, 2, 2, 2], "powers of two only");
        let sizes: Vec<usize> = chunks(&rows, 100, 4, |r| *r).map(<[_]>::len).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        let many = vec![1usize; 300];
        let sizes: Vec<usize> = chunks(&many, 256, usize::MAX, |r| *r)
            .map(<[_]>::len)
            .collect();
        assert_eq!(sizes, vec![256, 32, 8, 4]);
        let big = vec![10usize, 10, 1];
        let sizes: Vec<usize> = chunks(&big, 100, 5, |r| *r).map(<[_]>::len).collect();
        assert_eq!(sizes, vec![1, 1, 1], "an oversized row still goes alone");
        assert_eq!(chunks(&[] as &[usize], 3, 3, |r| *r).count(), 0);
    }

    #[test]
    fn deterministic_ids_are_stable_and_distinct() {
        let t = uuid::Uuid::from_u128(1);
        assert_eq!(ids::channel(t, "42"), ids::channel(t, "42"));
        assert_ne!(ids::channel(t, "42"), ids::channel(t, "43"));
        assert_ne!(
            ids::channel(t, "42"),
            ids::channel(uuid::Uuid::from_u128(2), "42")
        );
        let m = ids::message(ids::channel(t, "42"), "7");
        assert_ne!(ids::reaction(m, "u", "👍"), ids::reaction(m, "u", "🎉"));
        assert_ne!(ids::attachment(m, "1"), ids::message(m, "1"));
    }

    #[test]
    fn message_ids_sort_like_their_snowflakes_and_children_follow_them() {
        let ch = ids::channel(uuid::Uuid::from_u128(1), "42");
        let other = ids::channel(uuid::Uuid::from_u128(1), "43");
        let snowflakes = [
            1u64,
            15,
            16,
            4095,
            4096,
            175_928_847_299_117_063,
            175_928_847_299_117_064,
            1_300_000_000_000_000_000,
            u64::MAX,
        ];
        let ids: Vec<String> = snowflakes
            .iter()
            .map(|s| ids::message(ch, &s.to_string()).to_string())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "string order = snowflake order");
        for (s, id) in snowflakes.iter().zip(&ids) {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 8, "{id}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_ne!(u, ids::message(other, &s.to_string()), "unique per channel");
        }
        let m = ids::message(ch, "175928847299117063");
        let r = ids::reaction(m, &"a".repeat(64), "👍");
        let a = ids::attachment(m, "9");
        assert_eq!(r.as_bytes()[..8], m.as_bytes()[..8]);
        assert_eq!(a.as_bytes()[..8], m.as_bytes()[..8]);
        assert_eq!(r.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(r, a);
        assert_ne!(r, ids::reaction(m, &"a".repeat(64), "🎉"));
        // Not a snowflake: a version 5 id.
        assert_eq!(ids::message(ch, "x-1").get_version_num(), 5);
    }
}
