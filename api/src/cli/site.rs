//! `verta site build --tenant <id|slug> --out DIR [--base-url URL]`: the tenant's archive
//! website as static files (see `site::build`), with a progress bar on stderr and the build
//! summary as JSON on stdout.

use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use service::Config;
use site::build::{self, Progress};
use site::pages::SiteContext;

use super::{CliError, SiteBuildArgs, print_json};

/// Runs `verta site build`.
pub async fn build(args: SiteBuildArgs, config: Config) -> Result<ExitCode, CliError> {
    // The build reads one page at a time: a small pool (each SQLite connection has its own
    // page cache) keeps its memory flat whatever the archive's size.
    let db = service::db::connect_with_pool(&config.database_url, 2).await?;
    service::db::migrate(&db).await?;
    let tenant = service::tenants::get_by_id_or_slug(&db, &args.tenant).await?;
    let base_url = args
        .base_url
        .map(|u| format!("{}/", u.trim_end_matches('/')));
    let ctx = SiteContext::load(&db, tenant, base_url).await?;
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} building [{bar:40}] {pos}/{len} messages ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let logs_above_bar = crate::telemetry::show_progress(&bar);
    let on_progress = |p: Progress| {
        bar.set_length(p.total_messages);
        bar.set_position(p.messages);
    };
    let files = service::files::BlobStore::open(&config.attachment_store())?;
    let result = build::build(&db, &ctx, &args.out, &files, &on_progress).await;
    bar.finish_and_clear();
    drop(logs_above_bar);
    print_json(&result?)?;
    Ok(ExitCode::SUCCESS)
}
