//! `files`: attachment bytes from the fake Discord's CDN into the store.
//!
//! 1. Throughput against a plain download. One guild (fake Discord, in this process) whose
//!    channel carries `--files` attachments of `--min-kib` to `--max-kib` (log-uniform, in a
//!    shuffled order). Each round first downloads every attachment with a plain concurrent
//!    client (reqwest, `--concurrency` requests in flight, fresh signed links, every body
//!    read to its end and written to a temporary file, as any downloader that keeps the
//!    files must), then syncs a fresh tenant in a fresh database with the sync engine (which
//!    queues the files; not timed) and times `FileFetcher::run_until_idle` storing them into
//!    a fresh store with the default settings (`SYNC_ATTACHMENT_CONCURRENCY` = 4). After
//!    `--rounds` rounds, the best round of each side is reported:
//!    `BENCH files backend=<file|s3> files=<n> mb=<MiB> mb_per_s=<fetcher> baseline_mb_per_s=<plain>
//!    ratio=<fetcher/plain> peak_rss_mb=<m>`. Every stored blob is checked against the
//!    expected SHA-256 of its attachment. `peak_rss_mb` is the peak of this process during
//!    the fetcher's rounds (reset before each), so it includes the in-process fake CDN.
//!    The `s3` line runs when `VERTA_TEST_S3_URL` (and the `AWS_*` variables) name a bucket:
//!    the store is a fresh prefix in it, removed afterwards.
//! 2. A `--large-mib` (1 GiB) file at flat memory: `verta sync start --wait` (the release
//!    binary, a child process) syncs a tenant whose channel carries that one attachment
//!    from a fake Discord in this process, with `ATTACHMENT_MAX_BYTES` above its size, into
//!    a fresh `file://` store. The stored blob must hash to the attachment's SHA-256.
//!    `BENCH files-large backend=file files=1 mb=<MiB> mb_per_s=<MiB / child wall time>
//!    peak_rss_mb=<child peak RSS>`.
//!
//! MB are MiB (1,048,576 bytes) throughout.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use sea_orm::DatabaseConnection;
use service::anonymize::Anonymizer;
use service::config::AttachmentStoreUrl;
use service::discord::{DiscordAdapter, DiscordOptions};
use service::files::{BlobStore, FileFetcher, FileSettings};
use service::platform::PlatformAdapter;
use service::sync::queue::{self, JobStatus, NewJob, SyncType, Trigger};
use service::sync::{SyncEngine, SyncSettings};
use service::tenants::{self, CreateTenant, Platform};
use sha2::{Digest, Sha256};
use testkit::fake_discord::{
    Attachment, ChannelKind, FakeConfig, FakeDiscord, GuildSpec, NewAttachment, NewMessage,
};
use tokio::io::AsyncWriteExt;

use crate::common::{BenchResult, DbArgs, peak_rss_mb, reset_peak_rss, run_measured};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

const MIB: f64 = 1_048_576.0;

/// Options of the files benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Attachments of the throughput part.
    #[arg(long, default_value_t = 300)]
    files: usize,
    /// Smallest attachment, KiB.
    #[arg(long, default_value_t = 256)]
    min_kib: u64,
    /// Largest attachment, KiB.
    #[arg(long, default_value_t = 4096)]
    max_kib: u64,
    /// Downloads in flight, for the fetcher and the plain download alike.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Rounds of (plain download, fetcher) per store; the best of each side is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Size of the single large attachment, MiB.
    #[arg(long, default_value_t = 1024)]
    large_mib: u64,
    /// Skip the large-file part.
    #[arg(long)]
    no_large: bool,
    /// The `verta` binary that syncs the large file (a release build).
    #[arg(long, default_value = "target/release/verta")]
    verta: PathBuf,
    /// An S3 bucket (`s3://bucket[/prefix]`, credentials from the `AWS_*` variables) to
    /// measure too; `scripts/bench.sh` sets it when it starts the S3 server of scripts/s3.sh.
    #[arg(long, env = "VERTA_TEST_S3_URL")]
    s3_url: Option<String>,
}

/// Run the benchmark.
pub async fn run(args: Args) -> BenchResult {
    if args.files == 0 || args.min_kib == 0 || args.min_kib > args.max_kib {
        return Err("need --files >= 1 and 1 <= --min-kib <= --max-kib".into());
    }
    if !args.no_large && !args.verta.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p api`",
            args.verta.display()
        )
        .into());
    }
    let mut stores = vec![("file", None)];
    if let Some(url) = &args.s3_url {
        stores.push(("s3", Some(fresh_s3_prefix(url)?)));
    }
    {
        let guild = Guild::start(&attachment_sizes(args.files, args.min_kib, args.max_kib)).await?;
        eprintln!(
            "files: {} attachments, {:.0} MiB; expected hashes computed",
            guild.attachments.len(),
            guild.total_bytes as f64 / MIB
        );
        for (kind, s3) in stores {
            throughput(&args, &guild, kind, s3).await?;
        }
    }
    if !args.no_large {
        large(&args).await?;
    }
    Ok(())
}

/// `s3://bucket[/prefix]` as a store under a new prefix of its own.
fn fresh_s3_prefix(url: &str) -> Result<AttachmentStoreUrl, AnyError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("VERTA_TEST_S3_URL must be s3://bucket[/prefix], got {url}"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("VERTA_TEST_S3_URL names no bucket: {url}").into());
    }
    let run = format!("bench-files-{}", uuid::Uuid::new_v4().simple());
    let prefix = match prefix.trim_matches('/') {
        "" => run,
        p => format!("{p}/{run}"),
    };
    Ok(AttachmentStoreUrl::S3 {
        bucket: bucket.to_owned(),
        prefix,
    })
}

/// SplitMix64: a fixed, well-spread sequence, so every run downloads the same sizes.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` sizes spread log-uniformly over `min_kib..=max_kib` KiB (many small files, a
/// few large ones, as in chat archives), in a shuffled order so that large and small
/// downloads overlap.
fn attachment_sizes(n: usize, min_kib: u64, max_kib: u64) -> Vec<u64> {
    let (min, max) = ((min_kib * 1024) as f64, (max_kib * 1024) as f64);
    let mut sizes: Vec<(u64, u64)> = (0..n)
        .map(|i| {
            let t = if n == 1 {
                0.0
            } else {
                i as f64 / (n - 1) as f64
            };
            (mix(i as u64), (min * (max / min).powf(t)).round() as u64)
        })
        .collect();
    sizes.sort_unstable();
    sizes.into_iter().map(|(_, size)| size).collect()
}

/// A guild with one channel of few messages and no generated attachments.
fn bare_guild() -> GuildSpec {
    GuildSpec {
        attachment_share: 0.0,
        empty_share: 0.0,
        ..GuildSpec::bench(1, 10, 0.0)
    }
}

/// The fake Discord of the throughput part, with the attachments added at runtime.
struct Guild {
    fake: FakeDiscord,
    attachments: Vec<Attachment>,
    /// SHA-256 (hex) of each attachment, in the same order.
    expected: Vec<String>,
    total_bytes: u64,
}

impl Guild {
    async fn start(sizes: &[u64]) -> Result<Guild, AnyError> {
        let sizes = sizes.to_vec();
        tokio::task::spawn_blocking(move || {
            let fake = FakeDiscord::start(FakeConfig::single(bare_guild()))?;
            let channel = text_channel(&fake)?;
            let mut attachments = Vec::with_capacity(sizes.len());
            for (i, size) in sizes.into_iter().enumerate() {
                let mut m = fake.add_message_with_attachments(
                    channel,
                    NewMessage {
                        content: format!("file {i}"),
                        ..NewMessage::default()
                    },
                    vec![NewAttachment {
                        filename: format!("file-{i}.bin"),
                        size,
                        content_type: Some("application/octet-stream".into()),
                    }],
                )?;
                attachments.append(&mut m.attachments);
                // The CDN finds an attachment's message by its millisecond (at most 16
                // messages a millisecond): one message per millisecond or two.
                std::thread::sleep(Duration::from_millis(2));
            }
            let expected = attachments
                .iter()
                .map(|a| a.content().sha256_hex())
                .collect();
            let total_bytes = attachments.iter().map(|a| a.size).sum();
            Ok::<Guild, AnyError>(Guild {
                fake,
                attachments,
                expected,
                total_bytes,
            })
        })
        .await?
    }
}

fn guild_id(fake: &FakeDiscord) -> Result<u64, AnyError> {
    fake.guild_ids()
        .first()
        .copied()
        .ok_or_else(|| "the fake serves no guild".into())
}

fn text_channel(fake: &FakeDiscord) -> Result<u64, AnyError> {
    fake.guilds()
        .first()
        .and_then(|g| g.channels.iter().find(|c| c.kind == ChannelKind::Text))
        .map(|c| c.id)
        .ok_or_else(|| "the fake guild has no text channel".into())
}

/// `url` (a signed `https://cdn.discordapp.com/...` link) on the fake, as
/// `DISCORD_API_PROXY` rewrites it.
fn on_fake(fake: &FakeDiscord, url: &str) -> Result<String, AnyError> {
    let at = url
        .find("/attachments/")
        .ok_or_else(|| format!("not a CDN link: {url}"))?;
    Ok(format!("{}{}", fake.base_url(), &url[at..]))
}

/// The throughput rounds on one store, then its BENCH line.
async fn throughput(
    args: &Args,
    guild: &Guild,
    kind: &str,
    s3: Option<AttachmentStoreUrl>,
) -> BenchResult {
    let mb = guild.total_bytes as f64 / MIB;
    let (mut best_plain, mut best_fetch, mut peak) = (0f64, 0f64, 0u64);
    for round in 1..=args.rounds.max(1) {
        let cpu = cpu_seconds();
        let secs = plain_download(guild, args.concurrency).await?;
        eprintln!(
            "files: round {round} ({kind}): plain download {:.2} s, {:.0} MiB/s, {:.2} CPU s",
            secs,
            mb / secs,
            cpu_seconds() - cpu
        );
        best_plain = best_plain.max(mb / secs);
        let run = fetcher_round(args, guild, s3.clone()).await?;
        eprintln!(
            "files: round {round} ({kind}): fetcher {:.2} s, {:.0} MiB/s, {:.2} CPU s, peak RSS {} MiB",
            run.seconds,
            mb / run.seconds,
            run.cpu_seconds,
            run.peak_rss_mb
        );
        best_fetch = best_fetch.max(mb / run.seconds);
        peak = peak.max(run.peak_rss_mb);
    }
    println!(
        "BENCH files backend={kind} files={} mb={mb:.0} mb_per_s={best_fetch:.0} baseline_mb_per_s={best_plain:.0} ratio={:.2} peak_rss_mb={peak}",
        guild.attachments.len(),
        best_fetch / best_plain
    );
    Ok(())
}

/// Seconds a plain concurrent download of every attachment takes: fresh signed links,
/// `concurrency` requests in flight, each body written to a temporary file as it arrives.
async fn plain_download(guild: &Guild, concurrency: usize) -> Result<f64, AnyError> {
    let urls: Vec<String> = guild
        .attachments
        .iter()
        .map(|a| on_fake(&guild.fake, &guild.fake.signed_url(a, false)))
        .collect::<Result<_, _>>()?;
    let dir = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let bytes: u64 = futures::stream::iter(urls.into_iter().enumerate())
        .map(|(i, url)| {
            let (http, path) = (http.clone(), dir.path().join(format!("{i}.bin")));
            async move {
                let mut response = http.get(&url).send().await?.error_for_status()?;
                let mut file = tokio::fs::File::create(&path).await?;
                let mut n = 0u64;
                while let Some(chunk) = response.chunk().await? {
                    n += chunk.len() as u64;
                    file.write_all(&chunk).await?;
                }
                file.flush().await?;
                Ok::<u64, AnyError>(n)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(0, |sum, n| async move { Ok(sum + n) })
        .await?;
    let secs = started.elapsed().as_secs_f64();
    if bytes != guild.total_bytes {
        return Err(format!("plain download read {bytes} bytes of {}", guild.total_bytes).into());
    }
    Ok(secs)
}

/// What one timed fetcher run measured.
struct FetchRun {
    seconds: f64,
    cpu_seconds: f64,
    peak_rss_mb: u64,
}

/// A fresh database and tenant, synced (files queued), then the fetcher timed into a fresh
/// store (a temporary directory, or `s3` when given); every blob checked afterwards.
async fn fetcher_round(
    args: &Args,
    guild: &Guild,
    s3: Option<AttachmentStoreUrl>,
) -> Result<FetchRun, AnyError> {
    let bench_db = args.db.database().await?;
    let db = bench_db.db.clone();
    let guild_id = guild_id(&guild.fake)?;
    let adapter = sync_tenant(&db, &guild.fake, guild_id, "files-bench").await?;
    let local = tempfile::tempdir()?;
    let store_url = s3.unwrap_or_else(|| AttachmentStoreUrl::File(local.path().join("store")));
    let store = BlobStore::open(&store_url)?;
    let config = service::Config {
        discord_api_proxy: Some(guild.fake.proxy()),
        ..service::Config::default()
    };
    let settings = FileSettings {
        concurrency: args.concurrency.max(1),
        ..FileSettings::from_config(&config)
    };
    let fetcher = FileFetcher::new(
        db,
        store.clone(),
        Some(adapter as Arc<dyn PlatformAdapter>),
        settings,
    );
    if !reset_peak_rss() {
        eprintln!("files: cannot reset the peak RSS; peak_rss_mb covers the whole process");
    }
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let summary = fetcher.run_until_idle().await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_seconds() - cpu;
    let peak_rss_mb = peak_rss_mb();
    let n = guild.attachments.len() as u64;
    if summary.stored != n || summary.bytes != guild.total_bytes || summary.failures != 0 {
        return Err(format!(
            "fetcher stored {} of {n} files, {} of {} bytes, {} failures",
            summary.stored, summary.bytes, guild.total_bytes, summary.failures
        )
        .into());
    }
    for hash in &guild.expected {
        if !store.contains(hash).await? {
            return Err(format!("blob {hash} missing from {}", store.describe()).into());
        }
    }
    if store.kind() == "s3" {
        for hash in &guild.expected {
            store.delete(hash).await?;
        }
    }
    Ok(FetchRun {
        seconds,
        cpu_seconds,
        peak_rss_mb,
    })
}

/// A new tenant for `guild_id`, fully synced by the sync engine in this process (which
/// queues its attachments). Returns the platform adapter, for link renewal.
async fn sync_tenant(
    db: &DatabaseConnection,
    fake: &FakeDiscord,
    guild_id: u64,
    name: &str,
) -> Result<Arc<DiscordAdapter>, AnyError> {
    let tenant = create_tenant(db, guild_id, name).await?;
    let adapter = Arc::new(DiscordAdapter::new(&DiscordOptions {
        token: fake.token().to_owned(),
        proxy: Some(fake.proxy()),
        global_limit: u16::MAX,
    }));
    let (job, _) = queue::enqueue(
        db,
        NewJob {
            tenant_id: tenant.id.to_string(),
            sync_type: SyncType::Full,
            trigger: Trigger::Cli,
            channel_ids: None,
            retry_of: None,
        },
    )
    .await?;
    let engine = SyncEngine::new(
        db.clone(),
        Some(Arc::clone(&adapter) as Arc<dyn PlatformAdapter>),
        Anonymizer::new(None),
        SyncSettings::from_config(&service::Config::default()),
    );
    engine.run_until_empty().await?;
    let job = queue::get(db, &job.id).await?;
    if job.status != JobStatus::Completed.as_str() {
        return Err(format!("sync job ended {}: {:?}", job.status, job.error).into());
    }
    Ok(adapter)
}

async fn create_tenant(
    db: &DatabaseConnection,
    guild_id: u64,
    name: &str,
) -> Result<tenants::Tenant, AnyError> {
    Ok(tenants::create(
        db,
        &CreateTenant {
            name: Some(name.to_owned()),
            slug: None,
            platform: Some(Platform::Discord.as_str().to_owned()),
            platform_id: Some(guild_id.to_string()),
            status: None,
        },
    )
    .await?)
}

/// The large file: `verta sync start --wait` in a child process, its peak RSS, and the
/// stored blob's SHA-256 checked against the attachment's.
async fn large(args: &Args) -> BenchResult {
    let size = args.large_mib * 1024 * 1024;
    let (fake, attachment) = tokio::task::spawn_blocking(move || {
        let fake = FakeDiscord::start(FakeConfig::single(bare_guild()))?;
        let channel = text_channel(&fake)?;
        let m = fake.add_message_with_attachments(
            channel,
            NewMessage {
                content: "the large one".into(),
                ..NewMessage::default()
            },
            vec![NewAttachment::new("large.bin", size)],
        )?;
        let attachment = m
            .attachments
            .into_iter()
            .next()
            .ok_or("the message has no attachment")?;
        Ok::<_, AnyError>((fake, attachment))
    })
    .await??;
    let bench_db = args.db.database().await?;
    let tenant = create_tenant(&bench_db.db, guild_id(&fake)?, "files-large").await?;
    let dir = tempfile::tempdir()?;
    let store = dir.path().join("store");
    let mut command = tokio::process::Command::new(&args.verta);
    command
        .args(["sync", "start", "--wait", "--tenant", &tenant.slug])
        .env("DATABASE_URL", &bench_db.url)
        .env("DISCORD_BOT_TOKEN", fake.token())
        .env("DISCORD_API_PROXY", fake.proxy())
        .env("ATTACHMENT_STORE", format!("file://{}", store.display()))
        .env("ATTACHMENT_MAX_BYTES", (size + 1024 * 1024).to_string())
        .env("SYNC_ATTACHMENT_FILES", "true")
        .env("RUST_LOG", "warn");
    eprintln!(
        "files-large: verta sync start --wait with one {} MiB attachment...",
        args.large_mib
    );
    let run = run_measured(command, "verta sync start --wait").await?;
    // Hashed after the child's run, not beside it: the machine has few cores.
    let expected = {
        let content = attachment.content();
        tokio::task::spawn_blocking(move || content.sha256_hex()).await?
    };
    let blob = store
        .join("sha256")
        .join(&expected[0..2])
        .join(&expected[2..4])
        .join(&expected);
    let stored = {
        let blob = blob.clone();
        tokio::task::spawn_blocking(move || sha256_of_file(&blob)).await?
    }
    .map_err(|e| format!("no blob {} ({e}) after the sync", blob.display()))?;
    if stored != (expected.clone(), size) {
        return Err(format!(
            "the stored blob is {} bytes hashing to {}, expected {size} bytes hashing to {expected}",
            stored.1, stored.0
        )
        .into());
    }
    eprintln!(
        "files-large: {} MiB stored in {:.1} s (child wall time), SHA-256 verified",
        args.large_mib, run.seconds
    );
    println!(
        "BENCH files-large backend=file files=1 mb={} mb_per_s={:.0} peak_rss_mb={}",
        args.large_mib,
        args.large_mib as f64 / run.seconds,
        run.peak_kb / 1024
    );
    Ok(())
}

/// CPU time this process has used so far (user + system, all threads), seconds; 0 when
/// unknown. Progress lines show it per phase: on a machine of few cores the fetcher and the
/// fake CDN compete for them.
fn cpu_seconds() -> f64 {
    // /proc/self/stat: fields 14 and 15 (utime, stime) after the parenthesised name, in
    // clock ticks (100 a second on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// SHA-256 (hex) and size of a file, read in 1 MiB pieces.
fn sha256_of_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use service::config::AttachmentStoreUrl;

    use super::{attachment_sizes, fresh_s3_prefix};

    #[test]
    fn sizes_span_the_range_in_a_fixed_shuffled_order() {
        let sizes = attachment_sizes(300, 256, 4096);
        assert_eq!(sizes.len(), 300);
        assert_eq!(sizes, attachment_sizes(300, 256, 4096));
        assert_eq!(sizes.iter().min(), Some(&(256 * 1024)));
        assert_eq!(sizes.iter().max(), Some(&(4096 * 1024)));
        let mut sorted = sizes.clone();
        sorted.sort_unstable();
        assert_ne!(
            sizes, sorted,
            "shuffled, so that large and small downloads overlap"
        );
        // Log-uniform: the median is the geometric mean of the bounds (1 MiB).
        let median = sorted[150] as f64 / (1024.0 * 1024.0);
        assert!((0.95..1.05).contains(&median), "median {median} MiB");
        assert_eq!(attachment_sizes(1, 512, 4096), vec![512 * 1024]);
    }

    #[test]
    fn the_s3_store_is_a_new_prefix_under_the_given_one() {
        let prefix_of = |url: &str| match fresh_s3_prefix(url) {
            Ok(AttachmentStoreUrl::S3 { bucket, prefix }) => (bucket, prefix),
            other => panic!("{url}: {other:?}"),
        };
        let (bucket, prefix) = prefix_of("s3://verta-test");
        assert_eq!(bucket, "verta-test");
        assert!(prefix.starts_with("bench-files-"), "{prefix}");
        let (bucket, nested) = prefix_of("s3://verta-test/runs/");
        assert_eq!(bucket, "verta-test");
        assert!(nested.starts_with("runs/bench-files-"), "{nested}");
        assert_ne!(prefix_of("s3://b").1, prefix_of("s3://b").1);
        for bad in ["http://verta-test", "s3://", "s3:///prefix", "verta-test"] {
            assert!(fresh_s3_prefix(bad).is_err(), "{bad}");
        }
    }
}
