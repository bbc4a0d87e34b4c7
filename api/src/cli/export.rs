//! `verta export --tenant <id|slug> --out DIR [--with-files]`: writes the tenant's archive to
//! `<out>/<slug>/` (see `service::export`), with `--with-files` its stored attachment files
//! too, draws a progress bar on stderr and prints the export summary as JSON on stdout. An
//! unknown tenant or an unwritable directory is an error (non-zero exit).

use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use service::Config;
use service::export::{self, Progress};
use service::files::BlobStore;

use super::{CliError, ExportArgs, open_database, print_json};

/// A progress bar over exported messages, on stderr (hidden when stderr is not a terminal).
struct Bar(ProgressBar);

impl Progress for Bar {
    fn begin(&self, total_messages: u64) {
        self.0.set_length(total_messages);
    }

    fn advance(&self, messages: u64) {
        self.0.inc(messages);
    }
}

/// Runs `verta export`.
pub async fn run(args: ExportArgs, config: Config) -> Result<ExitCode, CliError> {
    let db = open_database(&config).await?;
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} exporting [{bar:40}] {pos}/{len} messages ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    // Log lines go above the bar, not through it.
    let logs_above_bar = crate::telemetry::show_progress(&bar);
    let progress = Bar(bar);
    let store = match args.with_files {
        true => Some(BlobStore::open(&config.attachment_store())?),
        false => None,
    };
    let result =
        export::export_tenant_with_files(&db, &args.tenant, &args.out, &progress, store.as_ref())
            .await;
    progress.0.finish_and_clear();
    drop(logs_above_bar);
    print_json(&result?)?;
    Ok(ExitCode::SUCCESS)
}
