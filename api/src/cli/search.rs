//! `verta search reindex [--tenant <id|slug>]`: rebuild the search index in
//! `SEARCH_INDEX_DIR` from the database (all tenants, or one), with a progress bar on stderr
//! and the summary (`tenants`, `messages`, `indexDir`, `indexBytes`, `seconds`) as JSON on
//! stdout.
//!
//! The index has one writer: while a `verta serve` holds the same directory the command fails
//! with a one-line error instead of waiting (stop the server, or rebuild a copy elsewhere).

use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use service::Config;
use service::search::SearchIndex;
use service::tenants;

use super::{CliError, SearchCommand, SearchReindexArgs, open_database, print_json};

/// Runs one `verta search ...` command.
pub async fn run(command: SearchCommand, config: Config) -> Result<ExitCode, CliError> {
    match command {
        SearchCommand::Reindex(args) => reindex(args, config).await,
    }
}

async fn reindex(args: SearchReindexArgs, config: Config) -> Result<ExitCode, CliError> {
    let db = open_database(&config).await?;
    let tenant_id = match &args.tenant {
        Some(t) => Some(tenants::get_by_id_or_slug(&db, t).await?.id.to_string()),
        None => None,
    };
    let index = SearchIndex::open(&config.search_index_dir())?;
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} indexing [{bar:40}] {pos}/{len} messages ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let logs_above_bar = crate::telemetry::show_progress(&bar);
    let on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let result = index.reindex(&db, tenant_id.as_deref(), &on_progress).await;
    bar.finish_and_clear();
    drop(logs_above_bar);
    print_json(&result?)?;
    Ok(ExitCode::SUCCESS)
}
