//! `upsert`: write N messages with their attachments and reactions through the service
//! repositories (chunked `insert_many .. on_conflict .. exec_without_returning`, one
//! transaction per batch), against a raw multi-row `INSERT` of the same rows through sqlx
//! (same batches, same statement sizes, same connection settings) measured in the same run;
//! then the same batches through the repositories again, where every row conflicts.
//!
//! Each path first writes one warm-up batch under another tenant of its database, so that
//! neither pays for statement preparation or a cold file alone.
//!
//! `BENCH upsert backend=<b> rows=<n> rows_per_s=<repo> raw_rows_per_s=<raw> ratio=<repo/raw>
//! rerun_rows_per_s=<all-conflict rerun> readback_ratio=<r> peak_rss_mb=<m>`; rows count
//! messages, attachments and reactions. `readback_ratio` compares, on further all-conflict
//! passes alternating batch by batch, a variant that reads the batch's message ids back
//! (what random ids would need before writing children) with the deterministic-id path:
//! below 1 means the read-back costs throughput.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sqlx;
use sea_orm::{DatabaseConnection, DbBackend};
use service::config::redact_url;
use service::db::{begin_write, now, rows_per_statement};
use service::repo::attachments::{self, AttachmentRow};
use service::repo::messages::{self, MessageRow};
use service::repo::reactions::{self, ReactionRow};
use service::repo::{MAX_STATEMENT_BYTES, chunks};
use uuid::Uuid;

use crate::common::{BenchResult, DbArgs, bench_line, peak_rss_mb, tenant_with_channels};

/// Options of the upsert benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Messages to write.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Messages per transaction (the sync writes one page of 100 per transaction).
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Channels the messages are spread over.
    #[arg(long, default_value_t = 100)]
    channels: usize,
}

/// One transaction's worth of rows.
struct Batch {
    messages: Vec<MessageRow>,
    attachments: Vec<AttachmentRow>,
    reactions: Vec<ReactionRow>,
}

impl Batch {
    fn rows(&self) -> usize {
        self.messages.len() + self.attachments.len() + self.reactions.len()
    }
}

/// Deterministic pseudo-random numbers (SplitMix64), so every run writes the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "the", "sync", "archive", "discord", "message", "thread", "hello", "world", "rust", "😀",
    "naïve", "🎉", "query", "index", "forum", "reply", "upsert", "batch", "cursor", "channel",
];
const EMOJI: &[&str] = &[
    "👍",
    "🎉",
    "😀",
    "❤️",
    "🔥",
    "<:blob:1234567890>",
    "<a:dance:42>",
];

fn timestamp(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_600_000_000 + secs, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// Messages (~20% with an attachment, ~30% with 1-3 reactions, ~10% replies, ~25% with
/// metadata) for `channels`, cut into batches of `batch` messages of one channel each.
fn dataset(channel_ids: &[Uuid], messages: usize, batch: usize) -> Vec<Batch> {
    let mut rng = Rng(42);
    let per_channel = messages.div_ceil(channel_ids.len().max(1));
    let mut batches = Vec::new();
    let mut left = messages;
    for (c, &channel_id) in channel_ids.iter().enumerate() {
        let n = per_channel.min(left);
        left -= n;
        let mut current = Batch {
            messages: Vec::new(),
            attachments: Vec::new(),
            reactions: Vec::new(),
        };
        for i in 0..n {
            let snowflake = 1_000_000_000_000_000_000u64 + (c as u64) * 10_000_000 + i as u64;
            let words = 5 + rng.below(40);
            let content = (0..words)
                .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ");
            let m = MessageRow {
                channel_id,
                platform_message_id: snowflake.to_string(),
                anonymized_author_id: format!("{:064x}", rng.below(500)),
                content,
                reply_to_id: (rng.below(10) == 0 && i > 0).then(|| (snowflake - 1).to_string()),
                metadata: (rng.below(4) == 0)
                    .then(|| serde_json::json!({"edited_timestamp": null, "pinned": false})),
                platform_created_at: timestamp(i as i64),
            };
            if rng.below(5) == 0 {
                current.attachments.push(AttachmentRow {
                    message_id: m.id(),
                    platform_attachment_id: (snowflake + 7).to_string(),
                    filename: format!("image-{i}.png"),
                    file_size: rng.below(5_000_000) as i64,
                    content_type: "image/png".into(),
                    url: format!(
                        "https://cdn.discordapp.com/attachments/{c}/{snowflake}/image-{i}.png?ex=6790&is=678f&hm=0123456789abcdef"
                    ),
                });
            }
            if rng.below(10) < 3 {
                for e in 0..1 + rng.below(3) {
                    current.reactions.push(ReactionRow {
                        message_id: m.id(),
                        emoji: EMOJI
                            [((e + rng.below(EMOJI.len() as u64)) % EMOJI.len() as u64) as usize]
                            .into(),
                        anonymized_user_id: format!("{:064x}", rng.below(500)),
                    });
                }
            }
            current.messages.push(m);
            if current.messages.len() == batch {
                batches.push(std::mem::replace(
                    &mut current,
                    Batch {
                        messages: Vec::new(),
                        attachments: Vec::new(),
                        reactions: Vec::new(),
                    },
                ));
            }
        }
        if !current.messages.is_empty() {
            batches.push(current);
        }
    }
    // A page never repeats a reaction key; the generator may, so drop repeats per batch.
    for b in &mut batches {
        let mut seen = std::collections::HashSet::new();
        b.reactions.retain(|r| seen.insert(r.id()));
    }
    batches
}

/// A tenant and its channels in `db` (not timed). Returns the channel row ids.
async fn prepare(db: &DatabaseConnection, channels: usize) -> Result<Vec<Uuid>, service::Error> {
    let key = Uuid::new_v4().simple().to_string();
    let (_, ids) = tenant_with_channels(
        db,
        format!("Bench {key}"),
        None,
        key,
        channels,
        900_000_000_000_000_000,
    )
    .await?;
    Ok(ids)
}

/// One batch through the repositories, in one write transaction.
async fn write_repo_batch(db: &DatabaseConnection, b: &Batch) -> Result<Duration, service::Error> {
    let start = Instant::now();
    let txn = begin_write(db).await?;
    messages::upsert(&txn, &b.messages).await?;
    attachments::upsert(&txn, &b.attachments).await?;
    reactions::upsert(&txn, &b.reactions).await?;
    txn.commit().await?;
    Ok(start.elapsed())
}

/// Like [`write_repo_batch`], plus the query a design without deterministic ids would need:
/// read the message ids of the batch back before writing its children.
async fn write_repo_batch_readback(
    db: &DatabaseConnection,
    b: &Batch,
) -> Result<Duration, service::Error> {
    use entity::messages as m;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let start = Instant::now();
    let txn = begin_write(db).await?;
    messages::upsert(&txn, &b.messages).await?;
    if let Some(first) = b.messages.first() {
        let ids: Vec<(String, String)> = m::Entity::find()
            .select_only()
            .column(m::Column::PlatformMessageId)
            .column(m::Column::Id)
            .filter(m::Column::ChannelId.eq(first.channel_id.to_string()))
            .filter(
                m::Column::PlatformMessageId
                    .is_in(b.messages.iter().map(|x| x.platform_message_id.clone())),
            )
            .into_tuple()
            .all(&txn)
            .await?;
        if ids.len() != b.messages.len() {
            return Err(service::Error::BusinessRule(format!(
                "read back {} ids for {} messages",
                ids.len(),
                b.messages.len()
            )));
        }
    }
    attachments::upsert(&txn, &b.attachments).await?;
    reactions::upsert(&txn, &b.reactions).await?;
    txn.commit().await?;
    Ok(start.elapsed())
}

/// Every batch through the repositories.
async fn write_repo(
    db: &DatabaseConnection,
    batches: &[Batch],
) -> Result<Duration, service::Error> {
    let mut total = Duration::ZERO;
    for b in batches {
        total += write_repo_batch(db, b).await?;
    }
    Ok(total)
}

fn message_size(m: &MessageRow) -> usize {
    200 + m.platform_message_id.len()
        + m.content.len()
        + m.reply_to_id.as_ref().map_or(0, String::len)
        + 64
}

/// The raw baseline for one sqlx database type: plain multi-row INSERTs (no conflict
/// clause), same batches, transactions and statement sizes as the repositories.
macro_rules! raw_writer {
    ($name:ident, $db:ty, $pool:ty, $backend:expr) => {
        async fn $name(pool: &$pool, b: &Batch) -> Result<Duration, sqlx::Error> {
            let backend: DbBackend = $backend;
            let start = Instant::now();
            {
                let stamp = now();
                let mut tx = pool.begin().await?;
                for chunk in chunks(&b.messages, rows_per_statement(backend, 10), MAX_STATEMENT_BYTES, message_size) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO messages (id, channel_id, platform_message_id, anonymized_author_id, content, reply_to_id, metadata, platform_created_at, created_at, updated_at) ",
                    );
                    q.push_values(chunk, |mut r, m| {
                        r.push_bind(m.id().to_string())
                            .push_bind(m.channel_id.to_string())
                            .push_bind(m.platform_message_id.clone())
                            .push_bind(m.anonymized_author_id.clone())
                            .push_bind(m.content.clone())
                            .push_bind(m.reply_to_id.clone())
                            .push_bind(m.metadata.as_ref().map(|v| v.to_string()))
                            .push_bind(m.platform_created_at)
                            .push_bind(stamp)
                            .push_bind(stamp);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in chunks(&b.attachments, rows_per_statement(backend, 7), MAX_STATEMENT_BYTES, |a| 200 + a.url.len() + a.filename.len()) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO message_attachments (id, message_id, filename, file_size, content_type, url, created_at) ",
                    );
                    q.push_values(chunk, |mut r, a| {
                        r.push_bind(a.id().to_string())
                            .push_bind(a.message_id.to_string())
                            .push_bind(a.filename.clone())
                            .push_bind(a.file_size)
                            .push_bind(a.content_type.clone())
                            .push_bind(a.url.clone())
                            .push_bind(stamp);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in chunks(&b.reactions, rows_per_statement(backend, 5), MAX_STATEMENT_BYTES, |r| 200 + r.emoji.len()) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO message_emoji_reactions (id, message_id, emoji, anonymized_user_id, created_at) ",
                    );
                    q.push_values(chunk, |mut r, x| {
                        r.push_bind(x.id().to_string())
                            .push_bind(x.message_id.to_string())
                            .push_bind(x.emoji.clone())
                            .push_bind(x.anonymized_user_id.clone())
                            .push_bind(stamp);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            Ok(start.elapsed())
        }
    };
}

raw_writer!(
    write_raw_sqlite,
    sqlx::Sqlite,
    sqlx::SqlitePool,
    DbBackend::Sqlite
);
raw_writer!(
    write_raw_mysql,
    sqlx::MySql,
    sqlx::MySqlPool,
    DbBackend::MySql
);

/// One batch as raw INSERTs, in one transaction.
async fn write_raw_batch(db: &DatabaseConnection, b: &Batch) -> Result<Duration, sqlx::Error> {
    match db.get_database_backend() {
        DbBackend::Sqlite => write_raw_sqlite(db.get_sqlite_connection_pool(), b).await,
        _ => write_raw_mysql(db.get_mysql_connection_pool(), b).await,
    }
}

fn per_second(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64().max(1e-9)
}

/// Run the benchmark and print its BENCH line.
///
/// The baseline and the repositories write into two fresh databases side by side, batch by
/// batch in alternation, so that load from other processes (disk flushes, CPU) hits both
/// equally and the ratio stays meaningful on a busy machine.
pub async fn run(args: Args) -> BenchResult {
    let backend = args.db.backend;
    let raw_db = args.db.database().await?;
    let repo_db = args.db.database().await?;
    eprintln!(
        "upsert[{}]: baseline {} / repositories {}",
        backend.name(),
        redact_url(&raw_db.url),
        redact_url(&repo_db.url)
    );
    let raw_channels = prepare(&raw_db.db, args.channels).await?;
    let repo_channels = prepare(&repo_db.db, args.channels).await?;
    let raw_batches = dataset(&raw_channels, args.messages, args.batch);
    let batches = dataset(&repo_channels, args.messages, args.batch);
    let rows: usize = batches.iter().map(Batch::rows).sum();

    warm_up(&raw_db.db, &repo_db.db, args.batch).await?;

    eprintln!(
        "upsert[{}]: {rows} rows in {} batches, raw INSERT and repositories alternating ...",
        backend.name(),
        batches.len()
    );
    let (mut raw, mut repo) = (Duration::ZERO, Duration::ZERO);
    for (raw_batch, batch) in raw_batches.iter().zip(&batches) {
        raw += write_raw_batch(&raw_db.db, raw_batch).await?;
        repo += write_repo_batch(&repo_db.db, batch).await?;
    }
    drop(raw_batches);
    raw_db.db.clone().close().await?;
    drop(raw_db);
    eprintln!(
        "upsert[{}]: repositories again (all conflicts) ...",
        backend.name()
    );
    let rerun = write_repo(&repo_db.db, &batches).await?;
    eprintln!(
        "upsert[{}]: again, alternating with a variant that reads message ids back ...",
        backend.name()
    );
    let (mut det, mut readback) = (Duration::ZERO, Duration::ZERO);
    for b in &batches {
        det += write_repo_batch(&repo_db.db, b).await?;
        readback += write_repo_batch_readback(&repo_db.db, b).await?;
    }

    let stored = stored_messages(&repo_db.db, &repo_channels).await?;
    if stored != args.messages as u64 {
        return Err(format!("expected {} messages stored, found {stored}", args.messages).into());
    }

    let repo_rate = per_second(rows, repo);
    let raw_rate = per_second(rows, raw);
    bench_line(
        "upsert",
        backend,
        &[
            ("rows", rows.to_string()),
            ("messages", args.messages.to_string()),
            ("batch", args.batch.to_string()),
            ("rows_per_s", format!("{repo_rate:.0}")),
            ("raw_rows_per_s", format!("{raw_rate:.0}")),
            ("ratio", format!("{:.2}", repo_rate / raw_rate)),
            (
                "rerun_rows_per_s",
                format!("{:.0}", per_second(rows, rerun)),
            ),
            (
                "readback_ratio",
                format!("{:.2}", readback.as_secs_f64().recip() * det.as_secs_f64()),
            ),
            ("peak_rss_mb", peak_rss_mb().to_string()),
        ],
    );
    Ok(())
}

/// One batch down each path under a tenant of its own, so that neither path pays for
/// statement preparation or the first pages of a fresh file alone.
async fn warm_up(
    raw_db: &DatabaseConnection,
    repo_db: &DatabaseConnection,
    batch: usize,
) -> BenchResult {
    let warm_raw = prepare(raw_db, 1).await?;
    for b in dataset(&warm_raw, batch, batch) {
        write_raw_batch(raw_db, &b).await?;
    }
    let warm_repo = prepare(repo_db, 1).await?;
    write_repo(repo_db, &dataset(&warm_repo, batch, batch)).await?;
    Ok(())
}

/// Messages stored in `channels`.
async fn stored_messages(
    db: &DatabaseConnection,
    channels: &[Uuid],
) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    entity::messages::Entity::find()
        .filter(entity::messages::Column::ChannelId.is_in(channels.iter().map(ToString::to_string)))
        .count(db)
        .await
}
