//! The `verta` command line (docs/design.md, "The `verta` binary"): one clap `Command` enum,
//! and the configuration ([`Config`]: environment variables, each also a global flag).
//!
//! Every command prints its result as JSON on stdout and human progress on stderr; the exit
//! code is 0 only on success.

use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use service::Config;

pub mod demo;
pub mod export;
pub mod files;
pub mod search;
pub mod site;
pub mod sync;
pub mod tenant;

/// `verta`: archive Discord servers into SQL.
#[derive(Debug, Parser)]
#[command(name = "verta", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The configuration (environment, `.env`, or the same-named flags).
    #[command(flatten)]
    pub config: Config,
}

/// Reads the command line and the configuration the way `verta` does: `.env` is loaded
/// first, then clap parses the arguments and the environment, a blank variable meaning its
/// default. Like clap's `Parser::parse`, prints the error (or the help) and exits when there
/// is nothing to run; an invalid variable is an error naming it (exit code 2).
pub fn parse() -> Cli {
    if let Err(e) = service::config::load_dotenv() {
        eprintln!("verta: {e}");
        std::process::exit(2);
    }
    let matches = service::config::ignore_blank_variables(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, start the HTTP API and (unless --no-worker) the worker and scheduler.
    Serve {
        /// Run only the HTTP API, no sync worker or scheduler in this process.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the sync worker and scheduler only (scale-out).
    Worker,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Start, inspect and reset syncs.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Export a tenant's archive to JSON files.
    Export(ExportArgs),
    /// Try Verta without Discord: sync a generated guild from a built-in fake Discord into
    /// ./verta-demo.db, then serve it (one JSON line on stdout) until Ctrl-C.
    Demo(demo::DemoArgs),
    /// The archive website.
    #[command(subcommand)]
    Site(SiteCommand),
    /// The full-text search index.
    #[command(subcommand)]
    Search(SearchCommand),
    /// Attachment files (their bytes, in ATTACHMENT_STORE).
    #[command(subcommand)]
    Files(FilesCommand),
}

/// `verta files ...`
#[derive(Debug, Subcommand)]
pub enum FilesCommand {
    /// Print a tenant's attachment files as JSON: stored, pending, skipped (with reasons) and
    /// gone, counts and bytes.
    Status {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
    },
    /// Remove the blobs no attachment references (a deleted tenant's files) and the
    /// temporary files of interrupted downloads; print a JSON summary.
    Gc,
}

/// `verta search ...`
#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild the search index in SEARCH_INDEX_DIR from the database (stop `verta serve`
    /// on that directory first); print a JSON summary.
    Reindex(SearchReindexArgs),
}

/// `verta search reindex ...`
#[derive(Debug, Args)]
pub struct SearchReindexArgs {
    /// Tenant id or slug; every tenant when omitted.
    #[arg(long)]
    pub tenant: Option<String>,
}

/// `verta site ...`
#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Write a tenant's archive website as static files (the pages `serve` shows live under
    /// /archive/<slug>/); print a JSON summary.
    Build(SiteBuildArgs),
}

/// `verta site build ...`
#[derive(Debug, Args)]
pub struct SiteBuildArgs {
    /// Tenant id or slug.
    #[arg(long)]
    pub tenant: String,
    /// Output directory (the site's root). A rebuild rewrites only changed files and removes
    /// pages that no longer exist.
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Public URL the site will be served from (e.g. https://archive.example.org/): makes
    /// canonical URLs absolute and enables the sitemap.
    #[arg(long = "base-url", value_parser = parse_base_url)]
    pub base_url: Option<String>,
}

fn parse_base_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("`{value}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "`{value}` must be an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{value}` must have no query or fragment"));
    }
    Ok(url.to_string())
}

/// `verta tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print it as JSON.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// URL handle; generated from the name when omitted.
        #[arg(long)]
        slug: Option<String>,
        /// `discord` or `slack`.
        #[arg(long)]
        platform: String,
        /// The platform's id for the community (Discord guild id).
        #[arg(long = "platform-id")]
        platform_id: String,
    },
    /// List all tenants as JSON.
    List,
}

/// `verta sync ...`
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Enqueue a sync for a tenant (print the job as JSON).
    Start {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
        /// Re-read every channel from the start instead of from the cursors.
        #[arg(long)]
        full: bool,
        /// Process the job in this process with a progress display; exit 0 only if it completed.
        #[arg(long)]
        wait: bool,
    },
    /// Print the latest job per tenant (or for one tenant) as JSON.
    Status {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Forget a tenant's sync cursors so the next sync starts from the beginning.
    Reset {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
    },
}

/// `verta export ...`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Tenant id or slug.
    #[arg(long)]
    pub tenant: String,
    /// Output directory; the tenant's files go to `<out>/<slug>/`.
    #[arg(long, default_value = "./data-export")]
    pub out: std::path::PathBuf,
    /// Also write the tenant's stored attachment files (from ATTACHMENT_STORE), each once as
    /// `<out>/<slug>/files/<sha256>`, referenced from the message pages.
    #[arg(long)]
    pub with_files: bool,
}

/// Why a command failed (printed to stderr; the exit code is then non-zero).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Start-up of the server or worker failed.
    #[error(transparent)]
    Startup(#[from] crate::startup::StartupError),
    /// A domain error (validation, not found, conflict, database, ...).
    #[error(transparent)]
    Service(#[from] service::Error),
    /// Rendering or writing the website failed.
    #[error(transparent)]
    Site(#[from] ::site::Error),
    /// Writing the result failed.
    #[error("cannot write the result: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding the result as JSON failed.
    #[error("cannot encode the result as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The command ran but did not succeed (e.g. a sync job that failed); human sentence.
    #[error("{0}")]
    Failed(String),
}

/// Run a parsed command line; returns the process exit code (0 only on success).
///
/// Sets up logging to stderr, then dispatches on a multi-threaded tokio runtime.
pub fn run(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Serve { no_worker: false });
    let config = cli.config;
    crate::telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("verta: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(command, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("verta: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command with an already loaded configuration.
pub async fn dispatch(command: Command, config: Config) -> Result<ExitCode, CliError> {
    match command {
        Command::Serve { no_worker } => {
            let app = crate::startup::Application::build_with(
                config,
                crate::startup::ServeOptions { worker: !no_worker },
            )
            .await?;
            app.run_until_stopped().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker => {
            crate::startup::run_worker(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(command) => tenant::run(command, config).await,
        Command::Sync(command) => sync::run(command, config).await,
        Command::Export(args) => export::run(args, config).await,
        Command::Demo(args) => demo::run(args, config).await,
        Command::Site(SiteCommand::Build(args)) => site::build(args, config).await,
        Command::Search(command) => search::run(command, config).await,
        Command::Files(command) => files::run(command, config).await,
    }
}

/// Connects to `config.database_url` and applies pending migrations: what every command
/// that touches the database does first.
pub async fn open_database(config: &Config) -> Result<sea_orm::DatabaseConnection, CliError> {
    let db = service::db::connect(config).await?;
    service::db::migrate(&db).await?;
    Ok(db)
}

/// Prints `value` as pretty JSON on stdout, followed by a newline.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
