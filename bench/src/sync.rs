//! `sync`: a full sync of a generated guild from the fake Discord (in this process) into a
//! fresh database through the real worker (discovery, paging, reaction users, upserts,
//! cursors), against a raw multi-row INSERT of the same rows (committed like the sync's group
//! commit: one transaction per round of `--concurrency` pages of 100 from as many channels)
//! measured in the same run.
//!
//! `BENCH sync backend=<b> channels=<c> messages=<n> msgs_per_s=<sync> raw_msgs_per_s=<raw>
//! ratio=<sync/raw> requests=<r> peak_rss_mb=<m>`; one line per guild size (`--messages`
//! may be given several times, to show that memory stays flat as the guild grows).
//! `peak_rss_mb` is the peak of the whole process (the fake Discord included) during that
//! size's setup and sync: it is reset before each size, and the raw-insert baselines run
//! after every sync (their lines are printed then), so it never includes a baseline.
//!
//! Then (unless `--no-limited`) Discord-like limits on the fake (50 requests/s global and per
//! route, `--latency-ms` per response) with the client's limiter at Discord's 50/s:
//! `BENCH sync-limited backend=<b> req_per_s=<achieved> ceiling_ratio=<achieved/50>`.
//! `--limited-only` runs just that part.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};
use service::anonymize::Anonymizer;
use service::discord::{DiscordAdapter, DiscordOptions};
use service::platform::PlatformAdapter;
use service::sync::queue::{self, JobStatus, NewJob, SyncType, Trigger};
use service::sync::{SyncEngine, SyncSettings};
use service::tenants::{self, CreateTenant, Platform};
use testkit::fake_discord::{FakeConfig, FakeDiscord, GuildSpec, GuildTruth, TruthMessage};

use crate::common::{BenchResult, DbArgs, bench_line, peak_rss_mb, reset_peak_rss};

/// Options of the sync benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Text channels in the guild.
    #[arg(long, default_value_t = 20)]
    channels: u32,
    /// Messages per channel; repeat for several guild sizes.
    #[arg(long, default_values_t = vec![10_000u64, 50_000])]
    messages: Vec<u64>,
    /// Share of messages with reactions.
    #[arg(long, default_value_t = 0.1)]
    reaction_share: f64,
    /// Channels synced at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Only the run under Discord-like limits.
    #[arg(long)]
    limited_only: bool,
    /// Skip the run under Discord-like limits.
    #[arg(long, conflicts_with = "limited_only")]
    no_limited: bool,
    /// Latency of every fake response in the limited run, milliseconds.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// How long the limited run lasts at most, seconds.
    #[arg(long, default_value_t = 20)]
    limited_secs: u64,
}

/// Run the benchmark.
pub async fn run(args: Args) -> BenchResult {
    let mut runs = Vec::new();
    if !args.limited_only {
        for &messages in &args.messages {
            runs.push(unlimited(&args, messages).await?);
        }
    }
    if !args.no_limited {
        limited(&args).await?;
    }
    // The raw-insert baselines come last: the allocator keeps the memory their row buffers
    // used, which would inflate the peaks measured after them.
    for run in runs {
        eprintln!("sync: raw-insert baseline for {} messages...", run.messages);
        let raw = raw_insert_rate(&args, run.per_channel).await?;
        bench_line(
            "sync",
            args.db.backend,
            &[
                ("channels", args.channels.to_string()),
                ("messages", run.messages.to_string()),
                ("msgs_per_s", format!("{:.0}", run.rate)),
                ("raw_msgs_per_s", format!("{raw:.0}")),
                ("ratio", format!("{:.2}", run.rate / raw)),
                ("requests", run.requests.to_string()),
                ("peak_rss_mb", run.peak_rss_mb.to_string()),
            ],
        );
    }
    Ok(())
}

/// What one unlimited sync measured.
struct SyncRun {
    per_channel: u64,
    messages: u64,
    rate: f64,
    requests: u64,
    peak_rss_mb: u64,
}

struct Setup {
    fake: FakeDiscord,
    db: DatabaseConnection,
    tenant_id: String,
    adapter: Arc<DiscordAdapter>,
    _bench_db: crate::common::BenchDb,
}

async fn setup(
    args: &Args,
    spec: GuildSpec,
    fake_config: FakeConfig,
    global: u16,
) -> Result<Setup, Box<dyn std::error::Error + Send + Sync>> {
    let fake = FakeDiscord::start(FakeConfig {
        guilds: vec![spec],
        ..fake_config
    })?;
    let guild = fake.guild_ids()[0];
    let bench_db = args.db.database().await?;
    let db = bench_db.db.clone();
    let tenant = tenants::create(
        &db,
        &CreateTenant {
            name: Some("Bench Guild".into()),
            slug: None,
            platform: Some(Platform::Discord.as_str().into()),
            platform_id: Some(guild.to_string()),
            status: None,
        },
    )
    .await?;
    let adapter = Arc::new(DiscordAdapter::new(&DiscordOptions {
        token: fake.token().to_owned(),
        proxy: Some(fake.proxy()),
        global_limit: global,
    }));
    Ok(Setup {
        fake,
        db,
        tenant_id: tenant.id.to_string(),
        adapter,
        _bench_db: bench_db,
    })
}

fn engine(s: &Setup, concurrency: usize) -> SyncEngine {
    let config = service::Config::default();
    let settings = SyncSettings {
        concurrency,
        rescan_window: Duration::ZERO,
        ..SyncSettings::from_config(&config)
    };
    SyncEngine::new(
        s.db.clone(),
        Some(Arc::clone(&s.adapter) as Arc<dyn PlatformAdapter>),
        Anonymizer::new(None),
        settings,
    )
}

async fn enqueue(s: &Setup) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let (job, _) = queue::enqueue(
        &s.db,
        NewJob {
            tenant_id: s.tenant_id.clone(),
            sync_type: SyncType::Full,
            trigger: Trigger::Cli,
            channel_ids: None,
            retry_of: None,
        },
    )
    .await?;
    Ok(job.id)
}

async fn unlimited(
    args: &Args,
    messages: u64,
) -> Result<SyncRun, Box<dyn std::error::Error + Send + Sync>> {
    let spec = GuildSpec::bench(args.channels, messages, args.reaction_share);
    let fake_config = FakeConfig {
        workers: 2,
        ..FakeConfig::single(spec.clone())
    };
    // The peak of this guild size only (earlier sizes and their baselines ran in this process).
    if !reset_peak_rss() {
        eprintln!("sync: cannot reset the peak RSS; peak_rss_mb covers the whole process");
    }
    let s = setup(args, spec, fake_config, u16::MAX).await?;
    let job_id = enqueue(&s).await?;
    let engine = engine(&s, args.concurrency);
    eprintln!(
        "sync: {} channels x {messages} messages on {}...",
        args.channels,
        args.db.backend.name()
    );
    let started = Instant::now();
    engine.run_until_empty().await?;
    let elapsed = started.elapsed().as_secs_f64();
    let job = queue::get(&s.db, &job_id).await?;
    if job.status != JobStatus::Completed.as_str() {
        return Err(format!("sync job ended {}: {:?}", job.status, job.error).into());
    }
    let total = job.messages_processed as f64;
    Ok(SyncRun {
        per_channel: messages,
        messages: total as u64,
        rate: total / elapsed,
        requests: s.adapter.requests_made(),
        peak_rss_mb: peak_rss_mb(),
    })
}

/// Messages per second of raw multi-row INSERTs of the same rows (messages, reactions,
/// attachments) into a fresh database, committed like the sync commits them: one transaction
/// per round of `--concurrency` pages of 100, one page from each of that many channels at
/// once. Rows come from the ground truth of the same generated guild (not timed).
async fn raw_insert_rate(
    args: &Args,
    per_channel: u64,
) -> Result<f64, Box<dyn std::error::Error + Send + Sync>> {
    let fake = FakeDiscord::start(FakeConfig::single(GuildSpec::bench(
        args.channels,
        per_channel,
        args.reaction_share,
    )))?;
    let target = args.db.database().await?;
    let db = &target.db;
    let guild = fake.guild_ids()[0];
    let truth = fake.truth(guild).ok_or("no truth")?;
    let anon = Anonymizer::new(None);
    let now = service::db::now();
    let mut waiting = raw_tenant_with_channels(db, &truth, now).await?;
    waiting.reverse();
    // At most `--concurrency` channels' message iterators exist at once, like the sync.
    let mut active = Vec::new();
    let mut timed = Duration::ZERO;
    let mut count = 0u64;
    loop {
        while active.len() < args.concurrency.max(1) {
            match waiting.pop() {
                Some((channel_id, platform_id)) => {
                    active.push((channel_id, truth.messages(platform_id).peekable()));
                }
                None => break,
            }
        }
        if active.is_empty() {
            break;
        }
        let mut round = RawRound::default();
        for (channel_id, iter) in &mut active {
            for m in iter.by_ref().take(100) {
                round.push(*channel_id, &m, &anon, now);
            }
        }
        active.retain_mut(|(_, iter)| iter.peek().is_some());
        let messages = round.messages.len() / 10;
        let started = Instant::now();
        round.insert(db).await?;
        timed += started.elapsed();
        count += messages as u64;
    }
    Ok(count as f64 / timed.as_secs_f64().max(1e-9))
}

/// Inserts a tenant and the guild's message channels with raw INSERTs (not timed); returns
/// each channel's row id with its Discord id, in the truth's order.
async fn raw_tenant_with_channels(
    db: &DatabaseConnection,
    truth: &GuildTruth<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<(uuid::Uuid, u64)>, Box<dyn std::error::Error + Send + Sync>> {
    let backend = db.get_database_backend();
    let tenant_id = uuid::Uuid::new_v4();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO tenants (id, name, slug, status, platform, platform_id, created_at, updated_at) VALUES (?, 'raw', 'raw', 'ACTIVE', 'discord', 'raw', ?, ?)",
        [tenant_id.to_string().into(), now.into(), now.into()],
    ))
    .await?;
    let mut channels = Vec::new();
    for ch in truth.message_channels() {
        let channel_id = service::repo::ids::channel(tenant_id, &ch.platform_id.to_string());
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO channels (id, tenant_id, platform_channel_id, name, type, created_at, updated_at) VALUES (?, ?, ?, ?, 'text', ?, ?)",
            [
                channel_id.to_string().into(),
                tenant_id.to_string().into(),
                ch.platform_id.to_string().into(),
                ch.name.clone().into(),
                now.into(),
                now.into(),
            ],
        ))
        .await?;
        channels.push((channel_id, ch.platform_id));
    }
    Ok(channels)
}

/// The values of one round's rows, flat, in each table's column order (see
/// [`RawRound::insert`]).
#[derive(Default)]
struct RawRound {
    messages: Vec<Value>,
    reactions: Vec<Value>,
    attachments: Vec<Value>,
}

impl RawRound {
    /// Adds message `m` of channel `channel_id` with its reactions and attachments, as the
    /// sync would store them.
    fn push(
        &mut self,
        channel_id: uuid::Uuid,
        m: &TruthMessage,
        anon: &Anonymizer,
        now: DateTime<Utc>,
    ) {
        let pid = m.platform_id.to_string();
        let id = service::repo::ids::message(channel_id, &pid);
        let metadata = serde_json::json!({
            "editedAt": m.edited_at.map(|t| t.to_rfc3339()),
            "pinned": false, "type": 0,
            "mentions": {"users": [], "roles": [], "channels": [], "everyone": false},
        });
        self.messages.extend([
            id.to_string().into(),
            channel_id.to_string().into(),
            pid.into(),
            anon.user_id(&m.author_id.to_string()).into(),
            anon.rewrite_mentions(&m.content).into_owned().into(),
            m.reply_to.map(|r| r.to_string()).into(),
            metadata.into(),
            m.created_at.into(),
            now.into(),
            now.into(),
        ]);
        for r in &m.reactions {
            let user = anon.user_id(&r.user_id.to_string());
            self.reactions.extend([
                service::repo::ids::reaction(id, &user, &r.emoji)
                    .to_string()
                    .into(),
                id.to_string().into(),
                r.emoji.clone().into(),
                user.into(),
                now.into(),
            ]);
        }
        for a in &m.attachments {
            self.attachments.extend([
                service::repo::ids::attachment(id, &a.id.to_string())
                    .to_string()
                    .into(),
                id.to_string().into(),
                a.filename.clone().into(),
                (a.size as i64).into(),
                a.content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into())
                    .into(),
                a.url.clone().into(),
                now.into(),
            ]);
        }
    }

    /// Writes the round in one transaction (the part that is timed).
    async fn insert(
        self,
        db: &DatabaseConnection,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let backend = db.get_database_backend();
        let txn = service::db::begin_write(db).await?;
        for (table, columns, values) in [
            (
                "messages (id, channel_id, platform_message_id, anonymized_author_id, content, reply_to_id, metadata, platform_created_at, created_at, updated_at)",
                10,
                self.messages,
            ),
            (
                "message_emoji_reactions (id, message_id, emoji, anonymized_user_id, created_at)",
                5,
                self.reactions,
            ),
            (
                "message_attachments (id, message_id, filename, file_size, content_type, url, created_at)",
                7,
                self.attachments,
            ),
        ] {
            // As many rows per statement as the placeholder limit allows.
            let per = service::db::rows_per_statement(backend, columns) * columns;
            let mut values = values;
            while !values.is_empty() {
                let rest = values.split_off(per.min(values.len()));
                txn.execute_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "INSERT INTO {table} VALUES {}",
                        placeholders(values.len() / columns, columns)
                    ),
                    values,
                ))
                .await?;
                values = rest;
            }
        }
        txn.commit().await?;
        Ok(())
    }
}

fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

async fn limited(args: &Args) -> BenchResult {
    let messages = args.messages.first().copied().unwrap_or(10_000).min(5_000);
    let spec = GuildSpec::bench(args.channels, messages, args.reaction_share);
    let fake_config = FakeConfig::single(spec.clone())
        .discord_like_limits()
        .with_latency(Duration::from_millis(args.latency_ms));
    let s = setup(
        args,
        spec,
        fake_config,
        service::discord::DISCORD_GLOBAL_LIMIT,
    )
    .await?;
    reset_peak_rss();
    let job_id = enqueue(&s).await?;
    let engine = Arc::new(engine(&s, args.concurrency));
    eprintln!(
        "sync-limited: 50 req/s global, {} ms latency, on {} for up to {} s...",
        args.latency_ms,
        args.db.backend.name(),
        args.limited_secs
    );
    let started = Instant::now();
    let runner = {
        let engine = Arc::clone(&engine);
        tokio::spawn(async move { engine.run_until_empty().await })
    };
    let deadline = Duration::from_secs(args.limited_secs);
    // Measure the steady state: skip discovery (the first second).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (t0, r0) = (Instant::now(), s.adapter.requests_made());
    while started.elapsed() < deadline && !runner.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (t1, r1) = (Instant::now(), s.adapter.requests_made());
    let _ = queue::request_cancel(&s.db, &job_id).await;
    let _ = runner.await;
    let rate = (r1 - r0) as f64 / (t1 - t0).as_secs_f64();
    let limit = f64::from(service::discord::DISCORD_GLOBAL_LIMIT);
    let statuses = s.fake.status_counts();
    bench_line(
        "sync-limited",
        args.db.backend,
        &[
            ("req_per_s", format!("{rate:.1}")),
            ("ceiling_ratio", format!("{:.2}", rate / limit)),
            ("latency_ms", args.latency_ms.to_string()),
            (
                "http_429",
                statuses.get(&429).copied().unwrap_or(0).to_string(),
            ),
            ("peak_rss_mb", peak_rss_mb().to_string()),
        ],
    );
    Ok(())
}
