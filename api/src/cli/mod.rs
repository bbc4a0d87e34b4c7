//! The `verta` command line (DESIGN.md, "The `verta` binary"): one clap `Command` enum.
//!
//! Every command prints its result as JSON on stdout and human progress on stderr; the exit
//! code is 0 only on success.

use clap::{Args, Parser, Subcommand};

/// `verta`: archive Discord servers into SQL.
#[derive(Debug, Parser)]
#[command(name = "verta", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
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
}

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> std::process::ExitCode {
    let _ = cli;
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
