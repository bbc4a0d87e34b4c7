//! `read-api`: the public read API's message page (`GET /api/v1/channels/{id}/messages?limit=100`
//! with a `before` cursor spread over the whole channel) served by the real application on
//! loopback (`api::startup::Application`, port 0, rate limit off) to `--clients` concurrent
//! keep-alive clients for `--seconds` after a warm-up. Only 200 responses count (any other
//! fails the run); every cursor used was checked beforehand to have a full page behind it.
//!
//! `BENCH read-api backend=<b> clients=<c> rps=<r> p50_ms=<x> p99_ms=<y> max_ms=<z>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use service::Config;

use crate::archive_gen::generate;
use crate::common::{BenchResult, DbArgs, bench_line};

/// Options of the read-api benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Messages in the archive (all in one channel).
    #[arg(long, default_value_t = 50_000)]
    messages: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Measured seconds (after a 2 s warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs the benchmark.
pub async fn run(args: Args) -> BenchResult {
    let bench_db = args.db.database().await?;
    let archive = generate(&bench_db.db, "read-bench", args.messages, 1).await?;
    let channel = archive.channels[0];
    let (base, _index) = start_app(&bench_db.url, channel).await?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let cursors = Arc::new(full_page_cursors(&client, &base, &archive.slug).await?);
    if cursors.is_empty() {
        return Err("no cursors: the channel is too small".into());
    }
    eprintln!(
        "read-api: {} cursors, {} clients",
        cursors.len(),
        args.clients
    );

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        tasks.push(tokio::spawn(client_loop(
            c,
            client.clone(),
            base.clone(),
            archive.slug.clone(),
            cursors.clone(),
            measuring.clone(),
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
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
        return Err(format!("{failures} requests failed").into());
    }
    all.sort_unstable();
    bench_line(
        "read-api",
        args.db.backend,
        &[
            ("clients", args.clients.to_string()),
            ("rps", format!("{:.0}", all.len() as f64 / elapsed)),
            ("p50_ms", format!("{:.2}", percentile(&all, 0.50))),
            ("p99_ms", format!("{:.2}", percentile(&all, 0.99))),
            ("max_ms", format!("{:.2}", percentile(&all, 1.0))),
        ],
    );
    Ok(())
}

/// Starts the application on the database at `database_url` (loopback, port 0, rate limit
/// off, its search index in a temporary directory) and waits until its search index is built,
/// so that the indexer's first rebuild does not run during the measurement; returns the URL
/// of `channel`'s message page and the index directory (deleted when dropped).
async fn start_app(
    database_url: &str,
    channel: uuid::Uuid,
) -> Result<(String, tempfile::TempDir), Box<dyn std::error::Error + Send + Sync>> {
    let index = tempfile::tempdir()?;
    let config = Config {
        search_index_dir: Some(index.path().to_owned()),
        database_url: database_url.to_owned(),
        host: "127.0.0.1".to_owned(),
        port: 0,
        admin_api_key: Some("bench".to_owned()),
        sync_interval_secs: 0,
        read_api_rate_limit: 0,
        ..Config::default()
    };
    let app = api::startup::Application::build(config).await?;
    let base = format!(
        "http://127.0.0.1:{}/api/v1/channels/{channel}/messages",
        app.port()
    );
    let search = app.search_index();
    tokio::spawn(app.run_until_stopped());
    wait_for_index(&search).await?;
    Ok((base, index))
}

/// Waits (up to ten minutes) until `search` holds the whole archive.
pub(crate) async fn wait_for_index(
    search: &service::search::SearchIndex,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !search.is_built().await {
        if Instant::now() > deadline {
            return Err("the search index was not built within ten minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Every page's `before` cursor, walking the whole channel (so that requests spread over
/// it), except those with fewer than 100 messages behind them.
pub(crate) async fn full_page_cursors(
    client: &reqwest::Client,
    base: &str,
    slug: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let mut cursors = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let url = match &next {
            Some(c) => format!("{base}?limit=100&before={c}"),
            None => format!("{base}?limit=100"),
        };
        let body: serde_json::Value = client
            .get(url)
            .header("X-Tenant-Slug", slug)
            .send()
            .await?
            .json()
            .await?;
        if next.is_some() && body["data"].as_array().map_or(0, Vec::len) < 100 {
            break;
        }
        match body["meta"]["before"].as_str() {
            Some(c) if body["meta"]["hasMore"] == true => {
                cursors.push(c.to_owned());
                next = Some(c.to_owned());
            }
            _ => break,
        }
    }
    // The last cursor may have fewer than 100 messages behind it.
    cursors.pop();
    Ok(cursors)
}

/// One client: requests pages at cursors from its own starting point until `stop`; returns
/// the latencies of the successful requests made while `measuring`, and the failures.
async fn client_loop(
    c: usize,
    client: reqwest::Client,
    base: String,
    slug: String,
    cursors: Arc<Vec<String>>,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> (Vec<Duration>, u64) {
    let mut latencies = Vec::new();
    let mut i = c * 7919;
    let mut failures = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let cursor = &cursors[i % cursors.len()];
        let started = Instant::now();
        let ok = match client
            .get(format!("{base}?limit=100&before={cursor}"))
            .header("X-Tenant-Slug", &slug)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
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
}
