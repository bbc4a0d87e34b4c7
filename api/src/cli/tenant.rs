//! `verta tenant create|list` (in progress).

use std::process::ExitCode;

use service::Config;

use super::{CliError, TenantCommand};

/// Runs one `verta tenant ...` command.
pub async fn run(command: TenantCommand, config: Config) -> Result<ExitCode, CliError> {
    let _ = (command, config);
    Ok(ExitCode::FAILURE)
}
