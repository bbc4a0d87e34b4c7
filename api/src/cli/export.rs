//! `verta export --tenant <id|slug> --out DIR` (owned by the export, H-read).
//!
//! Contract (DESIGN.md): writes the tenant's archive to `<out>/<slug>/` and prints a JSON
//! summary on stdout; progress on stderr. Use [`super::open_database`] and
//! [`super::print_json`].

use std::process::ExitCode;

use service::Config;

use super::{CliError, ExportArgs};

/// Runs `verta export`.
pub async fn run(args: ExportArgs, config: Config) -> Result<ExitCode, CliError> {
    let _ = (args, config);
    Err(CliError::Failed(
        "`verta export` is not available in this build yet".to_owned(),
    ))
}
