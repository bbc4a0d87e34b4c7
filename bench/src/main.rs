//! `verta-bench`: Verta's benchmarks. Each measurement prints one machine-readable line,
//! `BENCH <name> backend=<sqlite|mariadb> <key>=<value> ...` (docs/design.md, "Benchmarks"; method and figures in docs/benchmarks.md).
//!
//! `verta-bench <name> --backend sqlite|mariadb [--database-url URL] [bench options]`.
//! Without `--database-url` every run gets fresh databases: an SQLite file in a temporary
//! directory, or a `verta_t_*` database on the server named by `VERTA_TEST_MARIADB_URL`
//! (`scripts/bench.sh` starts a throwaway MariaDB and sets it). Human progress goes to stderr.
//!
//! Adding a benchmark: a module with an `Args` struct (clap) that flattens
//! [`common::DbArgs`] and an `async fn run(args) -> common::BenchResult`, plus one variant in
//! [`Bench`] and one arm in `main`.

/// The `verta` binary's allocator (see `api/src/main.rs`): the benchmarks measure what ships.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod archive_gen;
mod common;
mod export;
mod files;
mod read_api;
mod search;
mod site;
mod sync;
mod upsert;

use clap::{Parser, Subcommand};

/// Command line of `verta-bench`.
#[derive(Debug, Parser)]
#[command(
    name = "verta-bench",
    about = "Verta benchmarks (BENCH lines on stdout)"
)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

/// One subcommand per benchmark.
#[derive(Debug, Subcommand)]
enum Bench {
    /// Repository upserts (messages + attachments + reactions) vs a raw multi-row INSERT.
    Upsert(upsert::Args),
    /// Full sync of a generated guild from the fake Discord vs a raw INSERT of the same rows,
    /// then requests/s under Discord-like rate limits.
    Sync(sync::Args),
    /// Export of a generated tenant to JSON files at two sizes (throughput, flat peak RSS).
    Export(export::Args),
    /// The read API's 100-message page under concurrent clients on loopback.
    #[command(name = "read-api")]
    ReadApi(read_api::Args),
    /// The website's 100-message pages under concurrent clients, against the read API in
    /// the same run.
    #[command(name = "site-live")]
    SiteLive(site::LiveArgs),
    /// `verta site build` (release binary, child process) of a generated tenant at two sizes,
    /// then an unchanged rebuild.
    #[command(name = "site-build")]
    SiteBuild(site::BuildArgs),
    /// Lighthouse scores of the website's home, channel and thread pages (demo guild).
    #[command(name = "site-lighthouse")]
    SiteLighthouse(site::LighthouseArgs),
    /// The search index: `verta search reindex` of a generated archive (throughput, peak
    /// RSS, size), then queries through the HTTP API against SQLite FTS5 in the same run.
    Search(search::Args),
    /// Attachment files: the fetcher from the fake CDN into the store vs a plain concurrent
    /// download of the same URLs, then a 1 GiB file through `verta sync start --wait`
    /// (release binary, child process) at flat memory.
    Files(files::Args),
    /// One export in this fresh process (used by `export` to measure peak memory).
    #[command(name = "export-child", hide = true)]
    ExportChild(export::ChildArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("verta-bench: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.bench {
            Bench::Upsert(args) => upsert::run(args).await,
            Bench::Sync(args) => sync::run(args).await,
            Bench::Export(args) => export::run(args).await,
            Bench::ReadApi(args) => read_api::run(args).await,
            Bench::SiteLive(args) => site::run_live(args).await,
            Bench::SiteBuild(args) => site::run_build(args).await,
            Bench::SiteLighthouse(args) => site::run_lighthouse(args).await,
            Bench::Search(args) => search::run(args).await,
            Bench::Files(args) => files::run(args).await,
            Bench::ExportChild(args) => export::run_child(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("verta-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
