//! The archive website's benchmarks (`scripts/bench.sh site`).
//!
//! - `site-live`: the read-api benchmark's archive and application, then, in the same process
//!   and run, the JSON read API (as `read-api` measures it) and the site's 100-message pages
//!   (`/archive/<slug>/c/<channel>/<n>/`, random full pages over the channel), 64 keep-alive
//!   clients each, 2 s warm-up, `--seconds` measured; only 200s count (anything else fails
//!   the run). `ratio` = site pages/s ÷ API pages/s, the site served as deployed (its page
//!   cache on, `SITE_CACHE_SECS` default); then the same pages from a second app that renders
//!   every request (`SITE_CACHE_SECS=0`: `uncached_rps`, `uncached_p99_ms`). Before the load,
//!   one page is fetched to check its size (`page_kb`), and the live page is rendered in a loop
//!   without HTTP, split into its parts, to show on stderr where a page's time goes.
//!   `BENCH site-live backend=<b> clients=<c> rps=.. p50_ms=.. p99_ms=.. api_rps=.. ratio=..
//!   uncached_rps=.. uncached_p99_ms=.. page_kb=..`
//! - `site-build`: `verta site build` (the release binary, as a child process) of a generated
//!   tenant at two sizes, then a rebuild of the bigger one where nothing changed. The child's
//!   peak RSS is read from `/proc/<pid>/status` (`VmHWM`, polled while it runs).
//!   `BENCH site-build backend=<b> messages=.. pages=.. pages_per_s=.. msgs_per_s=..
//!   peak_rss_mb=.. mb_written=..` per size, then `BENCH site-rebuild backend=<b> messages=..
//!   written=.. unchanged=.. seconds=.. peak_rss_mb=..`.
//! - `site-lighthouse`: the demo guild (fake Discord, a text channel of about 3,000 messages,
//!   threads and a forum) synced into a fresh database and served by the application; then
//!   Lighthouse (`VERTA_LIGHTHOUSE`, on `VERTA_CHROMIUM`) on the home page, a channel page and
//!   a thread page. `BENCH site-lighthouse backend=<b> page=<home|channel|thread>
//!   performance=.. accessibility=.. best_practices=.. seo=..` (scores × 100); the audits
//!   that fall short of a perfect score are listed on stderr.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use service::Config;
use service::anonymize::Anonymizer;
use service::sync::queue::{self, NewJob, SyncType, Trigger};
use service::sync::{SyncEngine, SyncSettings};
use uuid::Uuid;

use crate::archive_gen::{add_threads, generate};
use crate::common::{BenchResult, DbArgs, bench_line};
use crate::read_api::full_page_cursors;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Options of `site-live`.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Messages in the archive (all in one channel).
    #[arg(long, default_value_t = 50_000)]
    messages: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Measured seconds of each of the two loads (after a 2 s warm-up each).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Options of `site-build`.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Messages of the big tenant (threads included).
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Messages of the small tenant (the flat-memory comparison).
    #[arg(long, default_value_t = 100_000)]
    small: usize,
    /// Text channels per tenant.
    #[arg(long, default_value_t = 20)]
    channels: usize,
    /// The `verta` binary to run (a release build).
    #[arg(long, default_value = "target/release/verta")]
    verta: PathBuf,
}

/// Options of `site-lighthouse`.
#[derive(Debug, Clone, clap::Args)]
pub struct LighthouseArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Approximate messages of the demo guild (about an eighth of them land in each of its
    /// text channels).
    #[arg(long, default_value_t = 24_000)]
    messages: u64,
    /// The Lighthouse command (`scripts/browser-tools.sh lighthouse` installs it).
    #[arg(long, env = "VERTA_LIGHTHOUSE")]
    lighthouse: PathBuf,
    /// The Chromium binary Lighthouse drives.
    #[arg(long, env = "VERTA_CHROMIUM", default_value = "chromium")]
    chromium: PathBuf,
}

// ----- site-live ----------------------------------------------------------------------------

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Starts the application (loopback, port 0, read-API rate limit off, as `read-api` does)
/// with its search index in a temporary directory of its own (two apps on one database must
/// not share one), and waits until that index is built, so that the indexer's first rebuild
/// does not run during a measurement; returns its origin and the index directory (deleted when
/// dropped).
async fn start_app(config: Config) -> Result<(String, tempfile::TempDir), AnyError> {
    let index = tempfile::tempdir()?;
    let app = api::startup::Application::build(Config {
        search_index_dir: Some(index.path().to_owned()),
        ..config
    })
    .await?;
    let origin = format!("http://127.0.0.1:{}", app.port());
    let search = app.search_index();
    tokio::spawn(app.run_until_stopped());
    crate::read_api::wait_for_index(&search).await?;
    Ok((origin, index))
}

fn app_config(database_url: &str) -> Config {
    Config {
        database_url: database_url.to_owned(),
        host: "127.0.0.1".to_owned(),
        port: 0,
        admin_api_key: Some("bench".to_owned()),
        sync_interval_secs: 0,
        read_api_rate_limit: 0,
        ..Config::default()
    }
}

/// How each client walks the URL list.
#[derive(Debug, Clone, Copy)]
enum Walk {
    /// From its own starting point, one after the other (the read-api benchmark's walk).
    Stride,
    /// Uniformly at random.
    Random,
}

/// What one load measured.
struct Load {
    rps: f64,
    latencies: Vec<Duration>,
}

/// `clients` keep-alive clients requesting `urls` for 2 s of warm-up and `seconds` measured.
/// Any answer but 200 fails the load.
async fn load(
    client: &reqwest::Client,
    urls: Arc<Vec<String>>,
    slug: &str,
    clients: usize,
    seconds: u64,
    walk: Walk,
) -> Result<Load, AnyError> {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, urls, slug) = (client.clone(), urls.clone(), slug.to_owned());
        let (measuring, stop) = (measuring.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut i = c * 7919;
            // xorshift64: a cheap, deterministic spread without a dependency.
            let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (c as u64 + 1);
            while !stop.load(Ordering::Relaxed) {
                let url = match walk {
                    Walk::Stride => {
                        i += 1;
                        &urls[i % urls.len()]
                    }
                    Walk::Random => {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        &urls[(state % urls.len() as u64) as usize]
                    }
                };
                let started = Instant::now();
                let ok = match client.get(url).header("X-Tenant-Slug", &slug).send().await {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => r.bytes().await.is_ok(),
                    _ => false,
                };
                let elapsed = started.elapsed();
                if !ok {
                    failures += 1;
                } else if measuring.load(Ordering::Relaxed) {
                    latencies.push(elapsed);
                }
            }
            (latencies, failures)
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await?;
        all.extend(l);
        failures += f;
    }
    if failures > 0 {
        return Err(format!("{failures} requests did not answer 200").into());
    }
    all.sort_unstable();
    Ok(Load {
        rps: all.len() as f64 / elapsed,
        latencies: all,
    })
}

/// Runs `site-live`.
pub async fn run_live(args: LiveArgs) -> BenchResult {
    let bench_db = args.db.database().await?;
    let archive = generate(&bench_db.db, "site-live", args.messages, 1).await?;
    let channel = archive.channels[0];
    let (origin, _index) = start_app(app_config(&bench_db.url)).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;

    let api_base = format!("{origin}/api/v1/channels/{channel}/messages");
    let cursors = full_page_cursors(&client, &api_base, &archive.slug).await?;
    if cursors.is_empty() {
        return Err("no cursors: the channel is too small".into());
    }
    let api_urls: Vec<String> = cursors
        .iter()
        .map(|c| format!("{api_base}?limit=100&before={c}"))
        .collect();
    // Pages are numbered from the oldest: every page but a partial last one is full.
    let full_pages = (args.messages / 100) as u64;
    if full_pages == 0 {
        return Err("no full page: the channel is too small".into());
    }
    let page_base = format!("{origin}/archive/{}/c/{channel}/", archive.slug);
    let page_urls: Vec<String> = (1..=full_pages)
        .map(|n| format!("{page_base}{n}/"))
        .collect();

    let page_kb = check_page(&client, &page_urls[page_urls.len() / 2]).await?;
    profile_render(&bench_db.db, &archive.slug, channel, full_pages).await?;

    eprintln!(
        "site-live: read API, {} cursors, {} clients",
        api_urls.len(),
        args.clients
    );
    let api = load(
        &client,
        Arc::new(api_urls),
        &archive.slug,
        args.clients,
        args.seconds,
        Walk::Stride,
    )
    .await?;
    eprintln!(
        "site-live: read API {:.0} pages/s, p50 {:.2} ms, p99 {:.2} ms",
        api.rps,
        percentile(&api.latencies, 0.5),
        percentile(&api.latencies, 0.99)
    );
    eprintln!(
        "site-live: site, {} pages, {} clients",
        page_urls.len(),
        args.clients
    );
    let site = load(
        &client,
        Arc::new(page_urls.clone()),
        &archive.slug,
        args.clients,
        args.seconds,
        Walk::Random,
    )
    .await?;
    // The same pages from an app that renders every request (`SITE_CACHE_SECS=0`): what a
    // page costs when nobody has asked for it in the last seconds.
    let (uncached_origin, _uncached_index) = start_app(Config {
        site_cache_secs: 0,
        ..app_config(&bench_db.url)
    })
    .await?;
    let uncached_urls: Vec<String> = page_urls
        .iter()
        .map(|u| u.replacen(&origin, &uncached_origin, 1))
        .collect();
    eprintln!(
        "site-live: site without the page cache, {} clients",
        args.clients
    );
    let uncached = load(
        &client,
        Arc::new(uncached_urls),
        &archive.slug,
        args.clients,
        args.seconds,
        Walk::Random,
    )
    .await?;
    bench_line(
        "site-live",
        args.db.backend,
        &[
            ("clients", args.clients.to_string()),
            ("rps", format!("{:.0}", site.rps)),
            (
                "p50_ms",
                format!("{:.2}", percentile(&site.latencies, 0.50)),
            ),
            (
                "p99_ms",
                format!("{:.2}", percentile(&site.latencies, 0.99)),
            ),
            ("api_rps", format!("{:.0}", api.rps)),
            ("ratio", format!("{:.2}", site.rps / api.rps.max(1e-9))),
            ("uncached_rps", format!("{:.0}", uncached.rps)),
            (
                "uncached_p99_ms",
                format!("{:.2}", percentile(&uncached.latencies, 0.99)),
            ),
            ("page_kb", format!("{page_kb:.1}")),
        ],
    );
    Ok(())
}

/// Fetches one page (uncompressed, as the load does); checks that it is a full page of HTML
/// within the 150 KB budget and returns its size in KB.
async fn check_page(client: &reqwest::Client, url: &str) -> Result<f64, AnyError> {
    let response = client.get(url).send().await?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("{url}: {}", response.status()).into());
    }
    let html = response.text().await?;
    let messages = html.matches(" id=\"m-").count();
    if messages != 100 {
        return Err(format!("{url}: {messages} messages on a full page").into());
    }
    let kb = html.len() as f64 / 1024.0;
    if html.len() > 150 * 1024 {
        eprintln!("site-live: a 100-message page is {kb:.1} KB of HTML, over the 150 KB budget");
    }
    Ok(kb)
}

/// Renders pages of the channel in a loop, one at a time, without HTTP: the whole live page
/// (`site::pages::message_page`), then each read it makes, alone, and the render, so that
/// stderr shows where a page's time goes (each figure is the mean of `ROUNDS` calls).
async fn profile_render(
    db: &DatabaseConnection,
    slug: &str,
    channel: Uuid,
    pages: u64,
) -> Result<(), AnyError> {
    use sea_orm::{ColumnTrait, Condition};
    use service::archive::pages as reads;
    use service::archive::query::{self, Direction};
    const ROUNDS: u32 = 200;
    let tenant = service::tenants::get_by_slug(db, slug).await?;
    let tenant_id = tenant.id.to_string();
    let ctx = site::pages::SiteContext::load(db, tenant, None).await?;
    let id = channel.to_string();
    let page = |k: u32| 1 + (u64::from(k) * 7919) % pages;
    let ms = |d: Duration| (d / ROUNDS).as_secs_f64() * 1000.0;

    let started = Instant::now();
    for k in 0..ROUNDS {
        site::pages::message_page(db, &ctx, &id, page(k))
            .await?
            .ok_or("no such page")?;
    }
    let whole = ms(started.elapsed());

    // [request: tenant + branding + last change, channel row, message count, thread count,
    //  position (OFFSET), rows, details, render]
    let mut t = [Duration::ZERO; 8];
    for k in 0..ROUNDS {
        let n = page(k);
        let mut clock = Instant::now();
        let mut lap = |i: usize, t: &mut [Duration; 8]| {
            t[i] += clock.elapsed();
            clock = Instant::now();
        };
        let tenant = service::tenants::get_by_slug(db, slug).await?;
        site::pages::SiteContext::load(db, tenant, None).await?;
        reads::last_change(db, &tenant_id).await?;
        lap(0, &mut t);
        let row = service::archive::channel_row(db, &tenant_id, &id).await?;
        lap(1, &mut t);
        query::channel_stats(
            db,
            Condition::all().add(entity::channels::Column::Id.eq(id.as_str())),
        )
        .await?;
        lap(2, &mut t);
        reads::thread_count(db, &tenant_id, &row.platform_channel_id).await?;
        lap(3, &mut t);
        let start = if n == 1 {
            None
        } else {
            reads::position_at(db, &id, (n - 1) * 100 - 1).await?
        };
        lap(4, &mut t);
        let rows = query::messages_from(db, &id, start.as_ref(), Direction::Newer, 100).await?;
        lap(5, &mut t);
        let views = query::with_details(db, rows).await?;
        lap(6, &mut t);
        let facts = site::pages::channel_facts(db, &ctx, &id)
            .await?
            .ok_or("no such channel")?;
        clock = Instant::now();
        site::pages::render_message_page(db, &ctx, &facts, n, &views).await?;
        t[7] += clock.elapsed();
    }
    eprintln!(
        "site-live: one page, sequential, no HTTP: message_page {whole:.2} ms; its parts: \
         request (tenant, branding, last change) {:.2}, channel row {:.2}, message count {:.2}, \
         thread count {:.2}, page start (OFFSET) {:.2}, 100 rows {:.2}, details {:.2}, \
         render (its reads for names and reply targets, markdown, template) {:.2}",
        ms(t[0]),
        ms(t[1]),
        ms(t[2]),
        ms(t[3]),
        ms(t[4]),
        ms(t[5]),
        ms(t[6]),
        ms(t[7])
    );
    Ok(())
}

// ----- site-build ---------------------------------------------------------------------------

/// The JSON summary `verta site build` prints.
#[derive(Debug, serde::Deserialize)]
struct Summary {
    pages: u64,
    files: u64,
    written: u64,
    unchanged: u64,
    messages: u64,
}

/// What one build child did.
struct BuildRun {
    summary: Summary,
    seconds: f64,
    peak_rss_mb: u64,
}

/// Runs `verta site build` on `out` and waits for it, polling its peak RSS.
async fn build_child(
    verta: &Path,
    database_url: &str,
    slug: &str,
    out: &Path,
) -> Result<BuildRun, AnyError> {
    let mut command = tokio::process::Command::new(verta);
    command
        .args(["site", "build", "--tenant", slug, "--out"])
        .arg(out)
        .args(["--base-url", "https://bench.example/"])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn");
    let run = crate::common::run_measured(command, "verta site build").await?;
    let summary: Summary = serde_json::from_str(run.stdout.trim()).map_err(|e| {
        format!(
            "unexpected output of verta site build ({e}): {}",
            run.stdout
        )
    })?;
    let (seconds, peak_kb) = (run.seconds, run.peak_kb);
    Ok(BuildRun {
        summary,
        seconds,
        peak_rss_mb: peak_kb / 1024,
    })
}

/// Bytes of the files under `dir` (the build's manifest included).
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_bytes(&e.path()),
                    _ => e.metadata().map_or(0, |m| m.len()),
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Runs `site-build`.
pub async fn run_build(args: BuildArgs) -> BenchResult {
    if !args.verta.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p api`",
            args.verta.display()
        )
        .into());
    }
    let bench_db = args.db.database().await?;
    let db = &bench_db.db;
    let sizes = [("site-small", args.small), ("site-big", args.messages)];
    for (slug, n) in sizes {
        // With --database-url a tenant generated by an earlier run is reused.
        if service::tenants::get_by_slug(db, slug).await.is_ok() {
            continue;
        }
        // About 1 % of the messages in threads: two per channel.
        let per_thread = (n / 100 / (2 * args.channels)).max(1);
        let in_threads = per_thread * 2 * args.channels;
        let generated = generate(db, slug, n.saturating_sub(in_threads), args.channels).await?;
        add_threads(db, slug, &generated.channels, 2, per_thread).await?;
    }
    let mut big_out = None;
    for (slug, n) in sizes {
        let out = tempfile::tempdir()?;
        let run = build_child(&args.verta, &bench_db.url, slug, out.path()).await?;
        let s = &run.summary;
        if s.messages as usize != n {
            return Err(format!("built {} of {n} messages", s.messages).into());
        }
        eprintln!(
            "site-build: {n} messages, {} pages, {} files in {:.1} s",
            s.pages, s.files, run.seconds
        );
        bench_line(
            "site-build",
            args.db.backend,
            &[
                ("messages", s.messages.to_string()),
                ("pages", s.pages.to_string()),
                (
                    "pages_per_s",
                    format!("{:.0}", s.pages as f64 / run.seconds),
                ),
                (
                    "msgs_per_s",
                    format!("{:.0}", s.messages as f64 / run.seconds),
                ),
                ("peak_rss_mb", run.peak_rss_mb.to_string()),
                (
                    "mb_written",
                    format!("{:.0}", dir_bytes(out.path()) as f64 / 1_048_576.0),
                ),
            ],
        );
        big_out = Some((slug, out));
    }
    let (slug, out) = big_out.ok_or("no build ran")?;
    let run = build_child(&args.verta, &bench_db.url, slug, out.path()).await?;
    bench_line(
        "site-rebuild",
        args.db.backend,
        &[
            ("messages", run.summary.messages.to_string()),
            ("written", run.summary.written.to_string()),
            ("unchanged", run.summary.unchanged.to_string()),
            ("seconds", format!("{:.1}", run.seconds)),
            ("peak_rss_mb", run.peak_rss_mb.to_string()),
        ],
    );
    Ok(())
}

// ----- site-lighthouse ----------------------------------------------------------------------

/// Lighthouse categories, as named in its JSON and in the BENCH line.
const CATEGORIES: [(&str, &str); 4] = [
    ("performance", "performance"),
    ("accessibility", "accessibility"),
    ("best-practices", "best_practices"),
    ("seo", "seo"),
];

/// Runs `site-lighthouse`.
pub async fn run_lighthouse(args: LighthouseArgs) -> BenchResult {
    let bench_db = args.db.database().await?;
    let discord = tokio::task::spawn_blocking({
        let messages = args.messages;
        move || testkit::demo::DemoDiscord::start(messages, testkit::demo::DEFAULT_SEED)
    })
    .await??;
    let config = Config {
        discord_bot_token: Some(discord.token().to_owned()),
        discord_api_proxy: Some(discord.proxy()),
        ..app_config(&bench_db.url)
    };
    let db = &bench_db.db;
    let tenant = service::tenants::create(
        db,
        &service::tenants::CreateTenant {
            name: Some(discord.guild_name().to_owned()),
            slug: Some("lighthouse".to_owned()),
            platform: Some("discord".to_owned()),
            platform_id: Some(discord.guild_id().to_string()),
            status: None,
        },
    )
    .await?;
    let tenant_id = tenant.id.to_string();
    queue::enqueue(
        db,
        NewJob {
            tenant_id: tenant_id.clone(),
            sync_type: SyncType::Full,
            trigger: Trigger::Cli,
            channel_ids: None,
            retry_of: None,
        },
    )
    .await?;
    eprintln!("site-lighthouse: syncing the demo guild");
    SyncEngine::new(
        db.clone(),
        service::sync::platform_from_config(&config),
        Anonymizer::from_config(&config),
        SyncSettings {
            poll_interval: Duration::from_millis(50),
            ..SyncSettings::from_config(&config)
        },
    )
    .run_until_empty()
    .await?;

    let channels = service::archive::list_channels(db, &tenant_id).await?;
    let busiest = |kind: &str| {
        channels
            .iter()
            .filter(|c| c.channel.kind.as_deref() == Some(kind))
            .max_by_key(|c| c.message_count)
            .map(|c| (c.channel.id.clone(), c.message_count))
            .ok_or_else(|| format!("the demo guild has no {kind} channel"))
    };
    let (text, text_count) = busiest("text")?;
    let (thread, thread_count) = busiest("thread")?;
    eprintln!(
        "site-lighthouse: busiest text channel {text_count} messages, busiest thread {thread_count}"
    );
    let (origin, _index) = start_app(config).await?;
    let root = format!("{origin}/archive/{}/", tenant.slug);
    let pages = [
        ("home", root.clone()),
        // The middle of the channel: a full page with pages on both sides.
        (
            "channel",
            format!("{root}c/{text}/{}/", (text_count / 100 / 2).max(1)),
        ),
        ("thread", format!("{root}c/{thread}/1/")),
    ];
    for (name, url) in pages {
        let scores = lighthouse(&args, &url).await?;
        let mut fields = vec![("page", name.to_owned())];
        for ((_, field), score) in CATEGORIES.iter().zip(scores) {
            fields.push((field, score));
        }
        bench_line("site-lighthouse", args.db.backend, &fields);
    }
    // Stopping the fake joins its server thread: off the runtime.
    tokio::task::spawn_blocking(move || drop(discord)).await?;
    Ok(())
}

/// Runs Lighthouse on `url`; returns the four category scores (× 100, in [`CATEGORIES`]'
/// order) and lists the audits that lost points on stderr.
async fn lighthouse(args: &LighthouseArgs, url: &str) -> Result<Vec<String>, AnyError> {
    let output = tokio::process::Command::new(&args.lighthouse)
        .arg(url)
        .args([
            "--chrome-flags=--headless=new --no-sandbox",
            "--output=json",
            "--output-path=stdout",
            "--quiet",
        ])
        .env("CHROME_PATH", &args.chromium)
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", args.lighthouse.display()))?;
    if !output.status.success() {
        return Err(format!("lighthouse failed on {url}: {}", output.status).into());
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    if let Some(e) = report["runtimeError"]["message"].as_str() {
        return Err(format!("lighthouse on {url}: {e}").into());
    }
    let mut scores = Vec::new();
    for (category, _) in CATEGORIES {
        let c = &report["categories"][category];
        let score = c["score"]
            .as_f64()
            .ok_or_else(|| format!("lighthouse on {url}: no {category} score"))?;
        scores.push(format!("{:.0}", score * 100.0));
        if score >= 1.0 {
            continue;
        }
        for audit_ref in c["auditRefs"].as_array().into_iter().flatten() {
            let id = audit_ref["id"].as_str().unwrap_or_default();
            let audit = &report["audits"][id];
            let weight = audit_ref["weight"].as_f64().unwrap_or(0.0);
            match audit["score"].as_f64() {
                Some(s) if s < 1.0 && (weight > 0.0 || category == "performance") => {}
                _ => continue,
            }
            eprintln!(
                "site-lighthouse: {url}: {category}: {id} ({}) score {} {} {}",
                audit["title"].as_str().unwrap_or_default(),
                audit["score"],
                audit["displayValue"].as_str().unwrap_or_default(),
                audit["explanation"].as_str().unwrap_or_default()
            );
            for item in audit["details"]["items"]
                .as_array()
                .into_iter()
                .flatten()
                .take(5)
            {
                let node = &item["node"];
                if node.is_object() {
                    eprintln!(
                        "    {} {}",
                        node["selector"].as_str().unwrap_or_default(),
                        node["snippet"].as_str().unwrap_or_default()
                    );
                } else if let Some(u) = item["url"].as_str() {
                    eprintln!("    {u}");
                } else {
                    eprintln!("    {item}");
                }
            }
        }
    }
    Ok(scores)
}
