//! `verta files status --tenant <id|slug>` and `verta files gc`.
//!
//! Contract (docs/design.md): `status` prints the tenant's attachment files as JSON on stdout
//! (`total`, `stored`, `pending`, `skipped`, `gone` with `files` and `bytes`, the skip
//! reasons, the distinct `blobs`); `gc` removes blobs no attachment references and prints
//! `blobs`, `referenced`, `removed`, `removedBytes`, `requeued`, `temporaryFiles`.

use std::process::ExitCode;

use service::Config;
use service::files::{self, BlobStore};
use service::tenants;

use super::{CliError, FilesCommand, open_database, print_json};

/// Runs one `verta files ...` command.
pub async fn run(command: FilesCommand, config: Config) -> Result<ExitCode, CliError> {
    let db = open_database(&config).await?;
    let store = BlobStore::open(&config.attachment_store())?;
    match command {
        FilesCommand::Status { tenant } => {
            let tenant = tenants::get_by_id_or_slug(&db, &tenant).await?;
            let status = files::status(&db, &tenant, &store, config.sync_attachment_files).await?;
            print_json(&status)?;
        }
        FilesCommand::Gc => {
            let summary = files::gc(&db, &store).await?;
            tracing::info!(
                removed = summary.removed,
                bytes = summary.removed_bytes,
                "unreferenced attachment files removed"
            );
            print_json(&summary)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
