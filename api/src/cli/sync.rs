//! `verta sync start|status|reset` (owned by the sync engine, H-sync).
//!
//! Contract (DESIGN.md): `sync start` prints the job with `id` and `status` as JSON on stdout
//! (with `--wait`: processes it here with progress on stderr, exit 0 only if it completed);
//! `sync status` prints the latest job per tenant with its status, counts and per-channel
//! state; `sync reset` forgets a tenant's cursors. Use [`super::open_database`] and
//! [`super::print_json`].

use std::process::ExitCode;

use service::Config;

use super::{CliError, SyncCommand};

/// Runs one `verta sync ...` command.
pub async fn run(command: SyncCommand, config: Config) -> Result<ExitCode, CliError> {
    let _ = (command, config);
    Err(CliError::Failed(
        "`verta sync` is not available in this build yet".to_owned(),
    ))
}
