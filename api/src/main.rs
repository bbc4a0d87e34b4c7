//! The `verta` binary: parse the command line, hand over to the library.

use clap::Parser;

/// jemalloc, for SQLite's allocations as well (the unprefixed build replaces `malloc`), with
/// the settings in `.cargo/config.toml` (`JEMALLOC_SYS_WITH_MALLOC_CONF`). Against glibc's
/// malloc (README, Benchmarks): the sync's peak RSS stays flat as the guild grows, where
/// glibc's per-thread arenas kept ~90 MB of freed memory resident after a 1,000,000-message
/// sync; the sync runs 12-20 % faster and the read API serves a third more pages per second.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let cli = api::cli::Cli::parse();
    api::cli::run(cli)
}
