//! What every benchmark needs: the backend flags, fresh migrated databases, the BENCH line
//! and peak memory.

use std::fmt::Write as _;

use sea_orm::DatabaseConnection;
use service::repo::channels::{self, ChannelKind, ChannelRow};
use service::tenants::{self, CreateTenant, Platform, Tenant};
use testkit::db::{Backend, TestDb};
use uuid::Uuid;

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

/// A new Discord tenant (`slug`, or one made from `name` when `None`) with `channels` text
/// channels `channel-0`, `channel-1`, ... whose platform ids count up from
/// `first_platform_id`. Returns the tenant and the channel row ids, in order.
pub async fn tenant_with_channels(
    db: &DatabaseConnection,
    name: String,
    slug: Option<String>,
    platform_id: String,
    channels: usize,
    first_platform_id: u64,
) -> Result<(Tenant, Vec<Uuid>), service::Error> {
    let tenant = tenants::create(
        db,
        &CreateTenant {
            name: Some(name),
            slug,
            platform: Some(Platform::Discord.as_str().to_owned()),
            platform_id: Some(platform_id),
            status: None,
        },
    )
    .await?;
    let rows: Vec<ChannelRow> = (0..channels)
        .map(|c| ChannelRow {
            tenant_id: tenant.id,
            platform_channel_id: (first_platform_id + c as u64).to_string(),
            name: format!("channel-{c}"),
            kind: ChannelKind::Text,
            parent_channel_id: None,
            metadata: None,
        })
        .collect();
    channels::upsert(db, &rows).await?;
    let ids = rows.iter().map(ChannelRow::id).collect();
    Ok((tenant, ids))
}

/// Print `BENCH <name> backend=<b> k=v ...` on stdout.
pub fn bench_line(name: &str, backend: BackendArg, fields: &[(&str, String)]) {
    let mut line = format!("BENCH {name} backend={}", backend.name());
    for (k, v) in fields {
        let _ = write!(line, " {k}={v}");
    }
    println!("{line}");
}

/// What a measured child process did: its stdout, wall time and peak RSS.
pub struct ChildRun {
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Wall time from spawn to exit.
    pub seconds: f64,
    /// Peak RSS (`VmHWM`) in KiB, polled every 20 ms.
    pub peak_kb: u64,
}

/// Runs `command` (stdout captured, stderr dropped) to its end, polling its peak RSS; an exit
/// other than success is an error naming `what`.
pub async fn run_measured(
    mut command: tokio::process::Command,
    what: &str,
) -> Result<ChildRun, Box<dyn std::error::Error + Send + Sync>> {
    let started = std::time::Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let pid = child.id().ok_or_else(|| format!("{what} has no pid"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut text)
            .await
            .map(|_| text)
    });
    let mut peak_kb = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak_kb = peak_kb.max(vm_hwm_kb(pid).unwrap_or(0));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{what} failed: {status}").into());
    }
    Ok(ChildRun {
        stdout: reader.await??,
        seconds,
        peak_kb,
    })
}

/// Peak RSS (`VmHWM`) of process `pid` in KiB, when it is still there.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
