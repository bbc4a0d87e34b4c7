//! `verta sync start|status|reset`.
//!
//! Contract (docs/design.md): `sync start` prints the job with `id` and `status` as JSON on stdout
//! (with `--wait`: processes it in this process with a progress bar on stderr, downloading
//! the attachment files it queues meanwhile and the due ones after it, exit 0 only if it
//! completed); `sync status` prints the latest job per tenant with its status, counts and
//! per-channel state; `sync reset` forgets a tenant's cursors.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use service::Config;
use service::sync::service as sync;
use service::sync::view::JobView;
use service::sync::{JobStatus, SyncType, Trigger};
use service::tenants;

use super::{CliError, SyncCommand, open_database, print_json};

/// Runs one `verta sync ...` command.
pub async fn run(command: SyncCommand, config: Config) -> Result<ExitCode, CliError> {
    let db = open_database(&config).await?;
    match command {
        SyncCommand::Start { tenant, full, wait } => {
            let tenant = tenants::get_by_id_or_slug(&db, &tenant).await?;
            let sync_type = if full {
                SyncType::Full
            } else {
                SyncType::Incremental
            };
            let (view, created) =
                sync::trigger(&db, &tenant, sync_type, Trigger::Cli, None).await?;
            if !created {
                eprintln!(
                    "verta: tenant {} already has a {} job ({}); using it",
                    tenant.slug, view.status, view.id
                );
            }
            if !wait {
                print_json(&view)?;
                return Ok(ExitCode::SUCCESS);
            }
            let finished = wait_for(&db, &config, &view.id).await?;
            print_json(&finished)?;
            report(&finished);
            Ok(if finished.status == JobStatus::Completed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        SyncCommand::Status { tenant } => {
            match tenant {
                Some(t) => {
                    let tenant = tenants::get_by_id_or_slug(&db, &t).await?;
                    match sync::latest(&db, &tenant.id.to_string()).await? {
                        Some(view) => print_json(&view)?,
                        None => print_json(&json!({
                            "tenantId": tenant.id,
                            "status": "never_synced",
                            "message": "This tenant has never been synced",
                        }))?,
                    }
                }
                None => print_json(&sync::latest_per_tenant(&db).await?)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        SyncCommand::Reset { tenant } => {
            let tenant = tenants::get_by_id_or_slug(&db, &tenant).await?;
            let removed = sync::reset(&db, &tenant).await?;
            print_json(&json!({"tenantId": tenant.id, "cursorsRemoved": removed}))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Process the job in this process (or, if another worker holds it, follow it) with a
/// progress bar on stderr; returns the finished job.
pub(crate) async fn wait_for(
    db: &sea_orm::DatabaseConnection,
    config: &Config,
    job_id: &str,
) -> Result<JobView, CliError> {
    let platform = service::sync::platform_from_config(config);
    let engine = Arc::new(service::sync::SyncEngine::new(
        db.clone(),
        platform.clone(),
        service::anonymize::Anonymizer::from_config(config),
        service::sync::SyncSettings::from_config(config),
    ));
    let fetcher = service::sync::fetcher_from_config(db.clone(), config, platform)?;
    // Files are downloaded while the job pages (each pass takes the due files; a pass that
    // starts after the job has finished takes its last ones).
    let job_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let files_task = {
        let fetcher = fetcher.clone();
        let job_done = Arc::clone(&job_done);
        tokio::spawn(async move {
            loop {
                let last = job_done.load(Ordering::Acquire);
                let pass = fetcher.run_until_idle().await;
                if last || pass.is_err() {
                    return pass;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    // Log lines (a failed channel, a rate-limit warning) go above the bar, not through it.
    let _logs_above_bar = crate::telemetry::show_progress(&bar);
    let ticker = {
        let bar = bar.clone();
        let progress = Arc::clone(&engine.progress);
        let fetcher = fetcher.clone();
        let started = Instant::now();
        tokio::spawn(async move {
            loop {
                let messages = progress.messages.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(0.001);
                let files = fetcher.summary();
                bar.set_message(format!(
                    "{messages} messages, {}/{} channels ({} failed), {:.0} msgs/s; {} files ({:.1} MB)",
                    progress.channels_done.load(Ordering::Relaxed),
                    progress.channels_total.load(Ordering::Relaxed),
                    progress.channels_failed.load(Ordering::Relaxed),
                    messages as f64 / secs,
                    files.stored,
                    files.bytes as f64 / 1e6
                ));
                bar.tick();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let result = async {
        loop {
            if engine.run_job_by_id(job_id).await? {
                break;
            }
            let view = sync::job(db, job_id).await?;
            if view.is_finished() {
                break;
            }
            // Another worker holds the job: follow its progress from the database.
            bar.set_message(format!(
                "held by {}: {} messages, {}/{} channels",
                view.worker_id.as_deref().unwrap_or("another worker"),
                view.progress.messages_processed,
                view.progress.channels_completed + view.progress.channels_failed,
                view.progress.channels_total
            ));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // The files the job queued that are not stored yet (those waiting for a retry stay
        // queued for the worker).
        job_done.store(true, Ordering::Release);
        match files_task.await {
            Ok(pass) => {
                pass?;
            }
            Err(e) => tracing::warn!(error = %e, "the attachment downloads stopped"),
        }
        let files = fetcher.summary();
        tracing::info!(
            stored = files.stored,
            bytes = files.bytes,
            skipped = files.skipped,
            gone = files.gone,
            failures = files.failures,
            "attachment files"
        );
        sync::job(db, job_id).await
    }
    .await;
    ticker.abort();
    bar.finish_and_clear();
    Ok(result?)
}

/// Human summary on stderr: the outcome and every failed channel with its reason.
pub(crate) fn report(view: &JobView) {
    eprintln!(
        "verta: sync {} {}: {} messages, {}/{} channels",
        view.id,
        view.status,
        view.progress.messages_processed,
        view.progress.channels_completed,
        view.progress.channels_total
    );
    if let Some(error) = &view.error {
        eprintln!("verta: job failed: {error}");
    }
    for e in &view.errors {
        eprintln!(
            "verta: channel {} ({}) failed: {}",
            e["channelName"].as_str().unwrap_or("?"),
            e["channelId"].as_str().unwrap_or("?"),
            e["error"].as_str().unwrap_or("unknown error")
        );
    }
}
