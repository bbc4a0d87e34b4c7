//! `export`: export a generated tenant to JSON files (service::export, what `verta export`
//! runs) at two sizes, to show that throughput holds and peak memory stays flat as the
//! archive grows. Each export runs in a fresh child process (`verta-bench export-child`), so
//! its peak RSS is the export's alone, as `verta export` would have it, not the generator's.
//!
//! `BENCH export backend=<b> messages=<n> msgs_per_s=<r> peak_rss_mb=<m> files=<f>
//! mb_written=<s>`, one line per size (the small one first).

use std::path::{Path, PathBuf};
use std::time::Instant;

use service::export::{NoProgress, export_tenant};

use crate::archive_gen::generate;
use crate::common::{BenchResult, DbArgs, bench_line, peak_rss_mb};

/// Options of the export benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Messages of the big tenant.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Messages of the small tenant (the flat-memory comparison).
    #[arg(long, default_value_t = 100_000)]
    small: usize,
    /// Text channels per tenant.
    #[arg(long, default_value_t = 20)]
    channels: usize,
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        dir_size(&path)
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Options of the child process that runs one export.
#[derive(Debug, Clone, clap::Args)]
pub struct ChildArgs {
    /// Database holding the tenant.
    #[arg(long)]
    database_url: String,
    /// Tenant id or slug.
    #[arg(long)]
    tenant: String,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

/// The child: export one tenant, print `<messages> <files> <peak RSS MiB>` on stdout.
pub async fn run_child(args: ChildArgs) -> BenchResult {
    let db = service::db::connect_url(&args.database_url).await?;
    let result = export_tenant(&db, &args.tenant, &args.out, &NoProgress).await?;
    println!(
        "{} {} {}",
        result.messages_exported,
        result.files_generated,
        peak_rss_mb()
    );
    Ok(())
}

/// Runs the benchmark.
pub async fn run(args: Args) -> BenchResult {
    let bench_db = args.db.database().await?;
    let db = &bench_db.db;
    let sizes = [("export-small", args.small), ("export-big", args.messages)];
    for (slug, n) in sizes {
        generate(db, slug, n, args.channels).await?;
    }
    let exe = std::env::current_exe()?;
    for (slug, n) in sizes {
        let out = tempfile::tempdir()?;
        let started = Instant::now();
        let child = tokio::process::Command::new(&exe)
            .arg("export-child")
            .arg("--database-url")
            .arg(&bench_db.url)
            .arg("--tenant")
            .arg(slug)
            .arg("--out")
            .arg(out.path())
            .stderr(std::process::Stdio::inherit())
            .output()
            .await?;
        let secs = started.elapsed().as_secs_f64();
        if !child.status.success() {
            return Err(format!("export child failed: {}", child.status).into());
        }
        let report = String::from_utf8_lossy(&child.stdout);
        let fields: Vec<u64> = report
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [messages, files, peak] = fields[..] else {
            return Err(format!("unexpected child output: {report}").into());
        };
        if messages as usize != n {
            return Err(format!("exported {messages} of {n} messages").into());
        }
        let bytes = dir_size(out.path());
        eprintln!("exported {n} messages in {secs:.1} s");
        bench_line(
            "export",
            args.db.backend,
            &[
                ("messages", n.to_string()),
                ("msgs_per_s", format!("{:.0}", n as f64 / secs)),
                ("peak_rss_mb", peak.to_string()),
                ("files", files.to_string()),
                ("mb_written", (bytes / 1_048_576).to_string()),
            ],
        );
    }
    Ok(())
}
