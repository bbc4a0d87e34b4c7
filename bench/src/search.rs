//! `search`: the search index's build and its queries (`scripts/bench.sh search`), on a
//! generated archive of realistic chat ([`corpus`]).
//!
//! 1. The archive is written through the service repositories, and the same messages into an
//!    SQLite FTS5 file (the baseline, [`fts5`]). Then `verta search reindex` (the release
//!    binary, a child process, `SEARCH_INDEX_DIR` in a temporary directory) builds the index:
//!    wall time of the child (start-up included) -> `msgs_per_s`, its peak RSS (`VmHWM`
//!    polled every 20 ms), the index directory's size afterwards.
//!    `BENCH search-index backend=<b> messages=.. msgs_per_s=.. index_mb=.. peak_rss_mb=..`
//! 2. `verta serve --no-worker` (child, same database and index directory, read API rate
//!    limit off) answers `GET /api/v1/search` for 16 concurrent keep-alive clients cycling
//!    through a fixed mix of queries ([`mix`]) for a warm-up and then the measured seconds;
//!    then the FTS5 baseline, served by actix-web inside this process, gets the same mix
//!    translated to FTS5 from the same clients for as long. Only 200s count.
//!    `BENCH search-query backend=<b> rps=.. p50_ms=.. p99_ms=.. fts5_rps=.. fts5_p99_ms=..
//!    ratio=..` with `ratio` = Verta's rps / FTS5's rps.

mod corpus;
mod fts5;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::{BenchResult, DbArgs, bench_line};
use crate::site::dir_bytes;
use fts5::Fts5Query;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Options of `search`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Messages in the archive.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Concurrent clients of the query load.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Measured seconds of each query load (after `--warmup` seconds).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Warm-up seconds before each measured load.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// The `verta` binary to run (a release build).
    #[arg(long, default_value = "target/release/verta")]
    verta: PathBuf,
}

/// One query of the mix, in both languages.
#[derive(Debug, Clone)]
struct MixQuery {
    /// What it stands for (stderr only).
    kind: &'static str,
    /// Discord's syntax, for `GET /api/v1/search?q=`.
    q: String,
    /// The same search for the baseline.
    fts5: Fts5Query,
}

/// Word ranks (0-based, in `words.txt`'s frequency order) the mix is made of.
const COMMON: usize = 19;
const RARE: usize = 3_999;
const PHRASE: (usize, usize) = (24, 44);
/// The prefix is this word's first four letters.
const PREFIX_OF: usize = 275;
const FROM_WORD: usize = 99;
const IN_WORD: usize = 149;
const IMAGE_WORD: usize = 199;
const BEFORE_WORD: usize = 59;
/// The author of `from:` (by activity rank) and the channel of `in:`.
const FROM_AUTHOR: usize = 4;
const IN_CHANNEL: usize = 1;

/// The fixed mix: a common word, a rare word, a two-word phrase, a prefix, and a word with
/// each of `from:`, `in:`, `has:image` and `before:`.
fn mix(channel_within: &str) -> Vec<MixQuery> {
    let words = corpus::vocabulary();
    let word = |rank: usize| words[rank.min(words.len() - 1)];
    let author = corpus::author_id(FROM_AUTHOR);
    let pseudonym = format!(
        "{}#{}",
        service::search::syntax::name_key(&service::pseudonym::name(&author)),
        service::pseudonym::tag(&author)
    );
    let prefix: String = word(PREFIX_OF).chars().take(4).collect();
    let before = corpus::first_time() + chrono::Duration::days(365);
    let plain = |m: String| Fts5Query {
        match_: m,
        ..Fts5Query::default()
    };
    vec![
        MixQuery {
            kind: "common word",
            q: word(COMMON).to_owned(),
            fts5: plain(word(COMMON).to_owned()),
        },
        MixQuery {
            kind: "rare word",
            q: word(RARE).to_owned(),
            fts5: plain(word(RARE).to_owned()),
        },
        MixQuery {
            kind: "phrase",
            q: format!("\"{} {}\"", word(PHRASE.0), word(PHRASE.1)),
            fts5: plain(format!("\"{} {}\"", word(PHRASE.0), word(PHRASE.1))),
        },
        MixQuery {
            kind: "prefix",
            q: format!("{prefix}*"),
            fts5: plain(format!("{prefix}*")),
        },
        MixQuery {
            kind: "from:",
            q: format!("{} from:{pseudonym}", word(FROM_WORD)),
            fts5: Fts5Query {
                author: Some(author.clone()),
                ..plain(word(FROM_WORD).to_owned())
            },
        },
        MixQuery {
            kind: "in:",
            q: format!("{} in:{}", word(IN_WORD), corpus::CHANNEL_NAMES[IN_CHANNEL]),
            fts5: Fts5Query {
                within: Some(channel_within.to_owned()),
                ..plain(word(IN_WORD).to_owned())
            },
        },
        MixQuery {
            kind: "has:image",
            q: format!("{} has:image", word(IMAGE_WORD)),
            fts5: Fts5Query {
                image: Some(true),
                ..plain(word(IMAGE_WORD).to_owned())
            },
        },
        MixQuery {
            kind: "before:",
            q: format!("{} before:{}", word(BEFORE_WORD), before.format("%Y-%m-%d")),
            fts5: Fts5Query {
                before: Some(before.timestamp()),
                ..plain(word(BEFORE_WORD).to_owned())
            },
        },
    ]
}

/// Runs `search`.
pub async fn run(args: Args) -> BenchResult {
    if !args.verta.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p api`",
            args.verta.display()
        )
        .into());
    }
    let bench_db = args.db.database().await?;
    let work = tempfile::tempdir()?;
    let fts5_path = work.path().join("fts5.sqlite");
    let index_dir = work.path().join("index");

    let started = Instant::now();
    let mut builder = fts5::Builder::create(&fts5_path)?;
    let corpus = corpus::generate(&bench_db.db, "search", args.messages, &mut |batch| {
        builder.add(batch)
    })
    .await?;
    let fts5_path = builder.finish()?;
    eprintln!(
        "search: archive and FTS5 file written in {:.1} s (FTS5 file {:.0} MB)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&fts5_path).map_or(0, |m| m.len()) as f64 / 1_048_576.0
    );
    // The index's position is the last whole second that ended a second before the rebuild
    // starts: waiting past it keeps the server's first pass from re-reading the newest rows.
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    let build = reindex(&args.verta, &bench_db.url, &index_dir).await?;
    if build.messages != args.messages as u64 {
        return Err(format!(
            "the index holds {} of {} messages",
            build.messages, args.messages
        )
        .into());
    }
    eprintln!(
        "search: reindex {:.1} s wall ({:.1} s inside the rebuild), {} MB",
        build.wall_seconds,
        build.rebuild_seconds,
        build.index_bytes / 1_048_576
    );
    bench_line(
        "search-index",
        args.db.backend,
        &[
            ("messages", build.messages.to_string()),
            (
                "msgs_per_s",
                format!("{:.0}", build.messages as f64 / build.wall_seconds),
            ),
            (
                "index_mb",
                format!("{:.0}", dir_bytes(&index_dir) as f64 / 1_048_576.0),
            ),
            ("peak_rss_mb", build.peak_rss_mb.to_string()),
        ],
    );

    let tenant = service::tenants::get_by_slug(&bench_db.db, &corpus.slug).await?;
    let channels = service::archive::list_channels(&bench_db.db, &tenant.id.to_string()).await?;
    let in_channel = channels
        .iter()
        .find(|c| c.channel.name == corpus::CHANNEL_NAMES[IN_CHANNEL])
        .map(|c| c.channel.id.clone())
        .ok_or("the in: channel is missing")?;
    let queries = mix(&in_channel);

    let server = Server::start(&args.verta, &bench_db.url, &index_dir).await?;
    let fts5_url = fts5::serve(fts5_path.clone())?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let verta_urls: Vec<reqwest::Url> = queries
        .iter()
        .map(|m| {
            reqwest::Url::parse_with_params(
                &format!("{}/api/v1/search", server.origin),
                &[("q", m.q.as_str()), ("limit", "25")],
            )
        })
        .collect::<Result<_, _>>()?;
    let fts5_urls: Vec<reqwest::Url> = queries
        .iter()
        .map(|m| {
            Ok(reqwest::Url::parse(&format!(
                "{fts5_url}?{}",
                form(&m.fts5)?
            ))?)
        })
        .collect::<Result<_, AnyError>>()?;

    wait_until_indexed(
        &client,
        &verta_urls[0],
        &corpus.slug,
        &fts5_path,
        &queries[0],
    )
    .await?;
    check_mix(&client, &queries, &verta_urls, &fts5_urls, &corpus.slug).await?;
    sequential(&client, &queries, &verta_urls, &fts5_urls, &corpus.slug).await?;

    eprintln!(
        "search: Verta, {} clients, {} s + {} s",
        args.clients, args.warmup, args.seconds
    );
    let ours = load(&client, &verta_urls, &corpus.slug, &args).await?;
    report("Verta", &queries, &ours);
    eprintln!("search: FTS5 baseline, {} clients", args.clients);
    let theirs = load(&client, &fts5_urls, &corpus.slug, &args).await?;
    report("FTS5", &queries, &theirs);
    server.stop().await;
    profile(
        &bench_db.db,
        &index_dir,
        &tenant.id.to_string(),
        &queries,
        &fts5_path,
    )
    .await?;

    bench_line(
        "search-query",
        args.db.backend,
        &[
            ("rps", format!("{:.0}", ours.rps)),
            ("p50_ms", format!("{:.2}", ours.percentile(0.50))),
            ("p99_ms", format!("{:.2}", ours.percentile(0.99))),
            ("fts5_rps", format!("{:.0}", theirs.rps)),
            ("fts5_p99_ms", format!("{:.2}", theirs.percentile(0.99))),
            ("ratio", format!("{:.2}", ours.rps / theirs.rps.max(1e-9))),
        ],
    );
    drop(work);
    Ok(())
}

/// Each query of the mix [`PROFILE_ROUNDS`] times, one at a time, without HTTP: Verta's
/// `SearchIndex::search` (index, database reads, snippets) on the index the server used, and
/// the baseline's query and attachment read, so that stderr shows what one search costs each
/// side before HTTP, JSON and queueing behind 15 other clients.
async fn profile(
    db: &sea_orm::DatabaseConnection,
    index_dir: &Path,
    tenant_id: &str,
    queries: &[MixQuery],
    fts5_path: &Path,
) -> Result<(), AnyError> {
    let index = service::search::SearchIndex::open_with_lag(index_dir, Duration::ZERO)?;
    // A word no message has: the query's fixed cost without loading any hit.
    let nothing = MixQuery {
        kind: "no match",
        q: "zzqxv".to_owned(),
        fts5: Fts5Query {
            match_: "zzqxv".to_owned(),
            ..Fts5Query::default()
        },
    };
    let queries: Vec<MixQuery> = queries.iter().cloned().chain([nothing]).collect();
    let mut ours = Vec::new();
    for m in &queries {
        let request = service::search::SearchRequest {
            q: m.q.clone(),
            limit: 25,
            cursor: None,
            sort: service::search::Sort::Relevance,
        };
        let started = Instant::now();
        for _ in 0..PROFILE_ROUNDS {
            index.search(db, tenant_id, &request).await?;
        }
        ours.push(started.elapsed() / PROFILE_ROUNDS);
    }
    drop(index);
    let theirs = tokio::task::spawn_blocking({
        let (queries, path) = (queries.to_vec(), fts5_path.to_owned());
        move || -> Result<Vec<Duration>, AnyError> {
            let mut out = Vec::new();
            for m in &queries {
                let started = Instant::now();
                for _ in 0..PROFILE_ROUNDS {
                    fts5::run_query(&path, &m.fts5)?;
                }
                out.push(started.elapsed() / PROFILE_ROUNDS);
            }
            Ok(out)
        }
    })
    .await??;
    for ((m, o), t) in queries.iter().zip(&ours).zip(&theirs) {
        eprintln!(
            "search: one at a time, no HTTP: {:<12} {:<40} Verta {:>7.2} ms  FTS5 {:>7.2} ms",
            m.kind,
            m.q,
            o.as_secs_f64() * 1000.0,
            t.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// Each query of the mix [`PROFILE_ROUNDS`] times from one client, one request at a time,
/// through HTTP: what a search costs with HTTP and JSON but without queueing (stderr).
async fn sequential(
    client: &reqwest::Client,
    queries: &[MixQuery],
    verta: &[reqwest::Url],
    fts5: &[reqwest::Url],
    slug: &str,
) -> Result<(), AnyError> {
    for ((m, v), f) in queries.iter().zip(verta).zip(fts5) {
        let mut times = [Duration::ZERO; 2];
        for (side, url) in [v, f].into_iter().enumerate() {
            let started = Instant::now();
            for _ in 0..PROFILE_ROUNDS {
                get_json(client, url, slug).await?;
            }
            times[side] = started.elapsed() / PROFILE_ROUNDS;
        }
        eprintln!(
            "search: one client, through HTTP: {:<12} {:<40} Verta {:>7.2} ms  FTS5 {:>7.2} ms",
            m.kind,
            m.q,
            times[0].as_secs_f64() * 1000.0,
            times[1].as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// Rounds of each query in [`profile`] and [`sequential`].
const PROFILE_ROUNDS: u32 = 50;

/// The baseline's query string.
fn form(q: &Fts5Query) -> Result<String, AnyError> {
    let value = serde_json::to_value(q)?;
    let mut url = reqwest::Url::parse("http://localhost/")?;
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in value.as_object().into_iter().flatten() {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            pairs.append_pair(k, &text);
        }
    }
    Ok(url.query().unwrap_or_default().to_owned())
}

/// The JSON summary `verta search reindex` prints (the fields this benchmark reads).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    messages: u64,
    index_bytes: u64,
    seconds: f64,
}

/// What the reindex child did.
struct Build {
    messages: u64,
    index_bytes: u64,
    rebuild_seconds: f64,
    wall_seconds: f64,
    peak_rss_mb: u64,
}

/// Runs `verta search reindex` into `index_dir` and waits for it, polling its peak RSS.
async fn reindex(verta: &Path, database_url: &str, index_dir: &Path) -> Result<Build, AnyError> {
    let mut command = tokio::process::Command::new(verta);
    command
        .args(["search", "reindex"])
        .env("DATABASE_URL", database_url)
        .env("SEARCH_INDEX_DIR", index_dir)
        .env("RUST_LOG", "warn");
    let run = crate::common::run_measured(command, "verta search reindex").await?;
    let summary: Summary = serde_json::from_str(run.stdout.trim()).map_err(|e| {
        format!(
            "unexpected output of verta search reindex ({e}): {}",
            run.stdout
        )
    })?;
    let (wall_seconds, peak_kb) = (run.seconds, run.peak_kb);
    Ok(Build {
        messages: summary.messages,
        index_bytes: summary.index_bytes,
        rebuild_seconds: summary.seconds,
        wall_seconds,
        peak_rss_mb: peak_kb / 1024,
    })
}

/// A running `verta serve --no-worker`.
struct Server {
    child: tokio::process::Child,
    origin: String,
}

impl Server {
    /// Starts it on a free loopback port and waits until `/health` answers.
    async fn start(verta: &Path, database_url: &str, index_dir: &Path) -> Result<Self, AnyError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = tokio::process::Command::new(verta)
            .args(["serve", "--no-worker"])
            .env("DATABASE_URL", database_url)
            .env("SEARCH_INDEX_DIR", index_dir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("READ_API_RATE_LIMIT", "0")
            .env("ADMIN_API_KEY", "bench")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", verta.display()))?;
        let origin = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(format!("{origin}/health")).await
                && r.status().is_success()
            {
                return Ok(Self { child, origin });
            }
            if Instant::now() > deadline {
                return Err("verta serve did not answer /health within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops it (it is a throwaway: no graceful shutdown needed).
    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Waits until the server's index answers the common word with as many messages as FTS5
/// counts: the server serves the rebuilt index, whole.
async fn wait_until_indexed(
    client: &reqwest::Client,
    url: &reqwest::Url,
    slug: &str,
    fts5_path: &Path,
    common: &MixQuery,
) -> Result<(), AnyError> {
    let expected = fts5::count(fts5_path, &common.fts5.match_)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = None;
    while Instant::now() < deadline {
        if let Ok(r) = client
            .get(url.clone())
            .header("X-Tenant-Slug", slug)
            .send()
            .await
            && r.status().is_success()
        {
            let body: serde_json::Value = r.json().await?;
            let total = body["meta"]["total"].as_u64();
            if total == Some(expected) {
                return Ok(());
            }
            last = total;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "after 120 s the index finds {last:?} messages for '{}', FTS5 {expected}",
        common.q
    )
    .into())
}

/// Asks every query of the mix once from both sides; each must find something. Prints the
/// totals on stderr.
async fn check_mix(
    client: &reqwest::Client,
    queries: &[MixQuery],
    verta: &[reqwest::Url],
    fts5: &[reqwest::Url],
    slug: &str,
) -> Result<(), AnyError> {
    for ((m, v), f) in queries.iter().zip(verta).zip(fts5) {
        let ours: serde_json::Value = get_json(client, v, slug).await?;
        let theirs: serde_json::Value = get_json(client, f, slug).await?;
        let (ours_hits, theirs_hits) = (
            ours["data"].as_array().map_or(0, Vec::len),
            theirs["data"].as_array().map_or(0, Vec::len),
        );
        eprintln!(
            "search: {:<12} {:<40} Verta {ours_hits} hits of {}, FTS5 {theirs_hits} hits",
            m.kind, m.q, ours["meta"]["total"]
        );
        if ours_hits == 0 || theirs_hits == 0 {
            return Err(format!("'{}' finds nothing on one side", m.q).into());
        }
    }
    Ok(())
}

async fn get_json(
    client: &reqwest::Client,
    url: &reqwest::Url,
    slug: &str,
) -> Result<serde_json::Value, AnyError> {
    let r = client
        .get(url.clone())
        .header("X-Tenant-Slug", slug)
        .send()
        .await?;
    let status = r.status();
    if !status.is_success() {
        return Err(format!("{url}: {status}: {}", r.text().await.unwrap_or_default()).into());
    }
    Ok(r.json().await?)
}

/// What one load measured.
struct Load {
    rps: f64,
    /// Sorted latencies of all queries.
    all: Vec<Duration>,
    /// Sorted latencies per query of the mix.
    per_query: Vec<Vec<Duration>>,
}

impl Load {
    fn percentile(&self, p: f64) -> f64 {
        percentile(&self.all, p)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// `args.clients` keep-alive clients, each cycling through `urls` from its own starting
/// point, for the warm-up and then `args.seconds` measured. Any answer but 200 fails the load.
async fn load(
    client: &reqwest::Client,
    urls: &[reqwest::Url],
    slug: &str,
    args: &Args,
) -> Result<Load, AnyError> {
    let urls = Arc::new(urls.to_vec());
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, urls, slug) = (client.clone(), urls.clone(), slug.to_owned());
        let (measuring, stop) = (measuring.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<(usize, Duration)> = Vec::new();
            let mut failures = 0u64;
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let k = i % urls.len();
                i += 1;
                let started = Instant::now();
                let ok = match client
                    .get(urls[k].clone())
                    .header("X-Tenant-Slug", &slug)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => r.bytes().await.is_ok(),
                    _ => false,
                };
                let elapsed = started.elapsed();
                if !ok {
                    failures += 1;
                } else if measuring.load(Ordering::Relaxed) {
                    latencies.push((k, elapsed));
                }
            }
            (latencies, failures)
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut per_query = vec![Vec::new(); urls.len()];
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await?;
        for (k, d) in l {
            all.push(d);
            per_query[k].push(d);
        }
        failures += f;
    }
    if failures > 0 {
        return Err(format!("{failures} requests did not answer 200").into());
    }
    all.sort_unstable();
    for q in &mut per_query {
        q.sort_unstable();
    }
    Ok(Load {
        rps: all.len() as f64 / elapsed,
        all,
        per_query,
    })
}

/// Per-query latencies on stderr: where the time goes.
fn report(side: &str, queries: &[MixQuery], load: &Load) {
    eprintln!(
        "search: {side}: {:.0} queries/s, p50 {:.2} ms, p99 {:.2} ms",
        load.rps,
        load.percentile(0.5),
        load.percentile(0.99)
    );
    for (m, l) in queries.iter().zip(&load.per_query) {
        eprintln!(
            "search: {side}:   {:<12} {:<40} p50 {:>7.2} ms  p99 {:>7.2} ms  ({} requests)",
            m.kind,
            m.q,
            percentile(l, 0.5),
            percentile(l, 0.99),
            l.len()
        );
    }
}
