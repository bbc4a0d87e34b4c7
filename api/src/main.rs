//! The `verta` binary: parse the command line, hand over to the library.

/// jemalloc, for SQLite's allocations as well (the unprefixed build replaces `malloc`), with
/// the settings in `.cargo/config.toml` (`JEMALLOC_SYS_WITH_MALLOC_CONF`). With it the sync's
/// peak RSS stays flat as the guild grows, where glibc's per-thread arenas keep freed memory
/// resident after a large sync; the sync and the read API are faster too (figures in
/// docs/benchmarks.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    let cli = api::cli::parse();
    api::cli::run(cli)
}
