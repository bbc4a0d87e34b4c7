//! What every benchmark needs: the backend flags, fresh migrated databases, the BENCH line
//! and peak memory.

use std::fmt::Write as _;

use sea_orm::DatabaseConnection;
use testkit::db::{Backend, TestDb};

/// Result of one benchmark run; errors are printed by `main`.
pub type BenchResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Database backend of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// An SQLite file.
    Sqlite,
    /// A MariaDB (MySQL dialect) server.
    Mariadb,
}

impl BackendArg {
    /// Name used in BENCH lines.
    pub fn name(self) -> &'static str {
        match self {
            BackendArg::Sqlite => "sqlite",
            BackendArg::Mariadb => "mariadb",
        }
    }
}

/// Flags shared by every benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// Backend to measure.
    #[arg(long, value_enum)]
    pub backend: BackendArg,
    /// Use this (empty or Verta-migrated) database instead of fresh ones. Runs that need
    /// several databases then share it.
    #[arg(long)]
    pub database_url: Option<String>,
}

/// A migrated database for one measurement; dropping it drops a fresh database.
pub struct BenchDb {
    /// Connection pool (set up by `service::db::connect_url`).
    pub db: DatabaseConnection,
    /// Its URL.
    pub url: String,
    _fresh: Option<TestDb>,
}

impl DbArgs {
    /// A migrated database: `--database-url` if given, else a fresh one on `--backend`.
    pub async fn database(&self) -> Result<BenchDb, Box<dyn std::error::Error + Send + Sync>> {
        let (url, fresh) = match &self.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let backend = match self.backend {
                    BackendArg::Sqlite => Backend::Sqlite,
                    BackendArg::Mariadb => Backend::MariaDb,
                };
                let t = TestDb::new_on(backend).await;
                (t.url().to_owned(), Some(t))
            }
        };
        let db = service::db::connect_url(&url).await?;
        service::db::migrate(&db).await?;
        Ok(BenchDb {
            db,
            url,
            _fresh: fresh,
        })
    }
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), 0 when unknown.
pub fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Start a new peak-RSS measurement: resets `VmHWM` to the current RSS (Linux
/// `/proc/self/clear_refs` value 5), so that [`peak_rss_mb`] reports the peak of what follows
/// rather than of earlier phases of this process. Returns whether the kernel allowed it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Print `BENCH <name> backend=<b> k=v ...` on stdout.
pub fn bench_line(name: &str, backend: BackendArg, fields: &[(&str, String)]) {
    let mut line = format!("BENCH {name} backend={}", backend.name());
    for (k, v) in fields {
        let _ = write!(line, " {k}={v}");
    }
    println!("{line}");
}
