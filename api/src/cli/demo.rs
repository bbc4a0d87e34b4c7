//! `verta demo`: try Verta without a Discord bot token.
//!
//! Starts the fake Discord of `testkit` with a generated guild on a free loopback port, points
//! the real Discord client at it (through the [`Config`] value, never the process
//! environment), creates the tenant `demo`, syncs it with the code and progress bar of `verta
//! sync start --wait`, then serves the archive like `verta serve` (API, worker, scheduler)
//! until SIGINT/SIGTERM, and stops the fake Discord with it.
//!
//! Stdout carries one JSON line (API URL, admin key, tenant, counts, example commands), so a
//! script can read it while the server runs; stderr carries the progress bar, the logs and a
//! short tour.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use service::Config;
use service::archive::view::ChannelSummary;
use service::sync::service as sync;
use service::sync::{JobStatus, SyncType, Trigger};
use service::tenants::{self, CreateTenant};
use testkit::demo::DemoDiscord;

use super::{CliError, open_database};
use crate::middleware::AdminKey;
use crate::openapi::DOCS_PATH;
use crate::startup::{Application, ServeOptions};

/// The demo's own SQLite file in the working directory, recreated by every run so that the
/// user's archive (`verta.db` or whatever `DATABASE_URL` names) is never touched.
pub const DEMO_DATABASE_FILE: &str = "verta-demo.db";

/// Slug of the demo tenant.
pub const DEMO_SLUG: &str = "demo";

/// `verta demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// About how many messages the generated guild holds (the exact count is printed).
    #[arg(
        long,
        default_value_t = 5_000,
        value_parser = clap::value_parser!(u64).range(1..=10_000_000)
    )]
    pub messages: u64,
    /// Seed of the generated guild: the same seed and size give the same guild.
    #[arg(long, default_value_t = testkit::demo::DEFAULT_SEED)]
    pub seed: u64,
    /// Archive into this (empty) database instead of a fresh ./verta-demo.db. DATABASE_URL
    /// and --database-url are not used by the demo: they name the real archive.
    #[arg(long = "demo-database-url", value_name = "URL")]
    pub demo_database_url: Option<String>,
}

/// What the demo prints on stdout once the server is up (one JSON line).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DemoSummary {
    /// `http://HOST:PORT` of the API.
    api_url: String,
    /// The Swagger UI.
    docs_url: String,
    /// The tenant's archive website.
    site_url: String,
    /// The key the admin routes expect in `X-API-KEY`.
    admin_key: String,
    /// The database the archive was written to (password redacted).
    database: String,
    tenant: TenantSummary,
    sync_job: JobSummary,
    /// Archived channels, threads, forums and categories.
    channels: usize,
    /// Archived messages (the sum of the channels' `messageCount`).
    messages: u64,
    fake_discord: FakeSummary,
    examples: Examples,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TenantSummary {
    id: String,
    slug: String,
    name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JobSummary {
    id: String,
    status: JobStatus,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FakeSummary {
    /// The fake's `/api/v10` base URL.
    api_url: String,
    /// The generated guild's Discord id.
    guild_id: String,
    /// The seed it was generated from.
    seed: u64,
}

/// Ready-to-paste shell commands.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Examples {
    channels: String,
    messages: Option<String>,
    search: String,
    tenants: String,
    sync_status: String,
    docs: String,
}

/// Runs `verta demo` until SIGINT/SIGTERM; see the module docs.
pub async fn run(args: DemoArgs, mut config: Config) -> Result<ExitCode, CliError> {
    config.database_url = match args.demo_database_url {
        Some(url) => url,
        None => {
            remove_demo_database()?;
            format!("sqlite://{DEMO_DATABASE_FILE}?mode=rwc")
        }
    };
    // Set here rather than left to start-up, which would log a warning about a missing key:
    // the demo prints the key as part of its result.
    let admin_key = match config.admin_api_key.as_deref() {
        Some(key) if !key.is_empty() => key.to_owned(),
        _ => AdminKey::generate().expose().to_owned(),
    };
    config.admin_api_key = Some(admin_key.clone());

    let (messages, seed) = (args.messages, args.seed);
    // Generating the guild and waiting for the fake's socket block; keep them off the runtime.
    let discord = tokio::task::spawn_blocking(move || DemoDiscord::start(messages, seed))
        .await
        .map_err(|e| CliError::Failed(format!("cannot start the fake Discord: {e}")))?
        .map_err(|e| CliError::Failed(format!("cannot start the fake Discord: {e}")))?;
    config.discord_bot_token = Some(discord.token().to_owned());
    config.discord_api_proxy = Some(discord.proxy());
    eprintln!(
        "verta demo: fake Discord serving \"{}\" (guild {}, seed {seed}) at {}",
        discord.guild_name(),
        discord.guild_id(),
        discord.api_url()
    );

    let result = archive_and_serve(&discord, config, admin_key, seed).await;
    // Stopping the fake joins its server thread.
    let _ = tokio::task::spawn_blocking(move || drop(discord)).await;
    if result.is_ok() {
        eprintln!("verta demo: stopped");
    }
    result
}

/// Creates the tenant, syncs it, then serves until SIGINT/SIGTERM.
async fn archive_and_serve(
    discord: &DemoDiscord,
    config: Config,
    admin_key: String,
    seed: u64,
) -> Result<ExitCode, CliError> {
    let db = open_database(&config).await?;
    let tenant = tenants::create(
        &db,
        &CreateTenant {
            name: Some(discord.guild_name().to_owned()),
            slug: Some(DEMO_SLUG.to_owned()),
            platform: Some(tenants::Platform::Discord.as_str().to_owned()),
            platform_id: Some(discord.guild_id().to_string()),
            status: None,
        },
    )
    .await?;
    let (job, _) = sync::trigger(&db, &tenant, SyncType::Full, Trigger::Cli, None).await?;
    let finished = super::sync::wait_for(&db, &config, &job.id).await?;
    super::sync::report(&finished);
    if finished.status != JobStatus::Completed {
        return Err(CliError::Failed(format!(
            "the demo sync ended {}; nothing to serve",
            finished.status
        )));
    }
    let tenant_id = tenant.id.to_string();
    let channels = service::archive::list_channels(&db, &tenant_id).await?;
    drop(db);

    let app = Application::build_with(config.clone(), ServeOptions { worker: true }).await?;
    let api_url = format!("http://{}:{}", url_host(&config.host), app.port());
    let summary = DemoSummary {
        docs_url: format!("{api_url}{DOCS_PATH}"),
        site_url: format!("{api_url}{}/{DEMO_SLUG}/", crate::routes::site::PREFIX),
        examples: examples(&api_url, &admin_key, &tenant_id, &channels),
        api_url,
        admin_key,
        database: service::config::redact_url(&config.database_url),
        tenant: TenantSummary {
            id: tenant_id,
            slug: tenant.slug,
            name: tenant.name,
        },
        sync_job: JobSummary {
            id: finished.id.clone(),
            status: finished.status,
        },
        channels: channels.len(),
        messages: channels.iter().map(|c| c.message_count).sum(),
        fake_discord: FakeSummary {
            api_url: discord.api_url(),
            guild_id: discord.guild_id().to_string(),
            seed,
        },
    };
    print_line(&summary)?;
    tour(&summary);
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// Removes the demo's SQLite file and its journals left by an earlier run.
fn remove_demo_database() -> Result<(), CliError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = format!("{DEMO_DATABASE_FILE}{suffix}");
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CliError::Failed(format!(
                    "cannot remove the previous demo database {path}: {e}"
                )));
            }
        }
    }
    Ok(())
}

/// The host to put in URLs: a wildcard listen address is reached over loopback.
fn url_host(host: &str) -> String {
    match host {
        "" | "0.0.0.0" => "127.0.0.1".to_owned(),
        "::" | "[::]" => "[::1]".to_owned(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_owned(),
    }
}

fn examples(
    api_url: &str,
    admin_key: &str,
    tenant_id: &str,
    channels: &[ChannelSummary],
) -> Examples {
    let read = format!("curl -s -H 'X-Tenant-Slug: {DEMO_SLUG}'");
    let admin = format!("curl -s -H 'X-API-KEY: {admin_key}'");
    // The busiest text channel makes the best first page of messages.
    let busiest = channels
        .iter()
        .filter(|c| c.channel.kind.as_deref() == Some("text"))
        .max_by_key(|c| c.message_count);
    Examples {
        channels: format!("{read} {api_url}/api/v1/channels"),
        messages: busiest.map(|c| {
            format!(
                "{read} '{api_url}/api/v1/channels/{}/messages?limit=5'",
                c.channel.id
            )
        }),
        // Words the generated guild uses often; searchable a few seconds after the sync.
        search: format!("{read} '{api_url}/api/v1/search?q=hello+rust&limit=3'"),
        tenants: format!("{admin} {api_url}/api/tenants"),
        sync_status: format!("{admin} {api_url}/api/tenants/{tenant_id}/sync/status"),
        docs: format!("{api_url}{DOCS_PATH}"),
    }
}

/// Prints `value` as one line of JSON on stdout.
fn print_line<T: Serialize>(value: &T) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// The human tour on stderr.
fn tour(s: &DemoSummary) {
    let mut lines = vec![
        format!(
            "verta demo: \"{}\" is archived ({} messages in {} channels) and served at {}",
            s.tenant.name, s.messages, s.channels, s.api_url
        ),
        format!("  The archive website: {}", s.site_url),
        "  Public read API (no key; X-Tenant-Slug picks the tenant):".to_owned(),
        format!("    {}", s.examples.channels),
    ];
    if let Some(messages) = &s.examples.messages {
        lines.push(format!("    {messages}"));
    }
    lines.push(format!("    {}", s.examples.search));
    lines.extend([
        "  Admin API (X-API-KEY):".to_owned(),
        format!("    {}", s.examples.tenants),
        format!("    {}", s.examples.sync_status),
        format!("  API docs: {}", s.docs_url),
        "  The sync worker and scheduler run as under `verta serve`; Ctrl-C stops the server \
         and the fake Discord."
            .to_owned(),
    ]);
    eprintln!("{}", lines.join("\n"));
}

#[cfg(test)]
mod tests {
    use super::url_host;

    #[test]
    fn wildcard_listen_addresses_are_reached_over_loopback() {
        assert_eq!(url_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(url_host("::"), "[::1]");
        assert_eq!(url_host("::1"), "[::1]");
        assert_eq!(url_host("127.0.0.1"), "127.0.0.1");
        assert_eq!(url_host("localhost"), "localhost");
    }
}
