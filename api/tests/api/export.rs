//! Export (service::export, `verta export`, `/api/export/*`) on generated archives: every
//! file parses back and equals the database, pages and forums are complete, stale files go,
//! failures are clear, nothing exposes a raw user id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use entity::{message_attachments, message_emoji_reactions, messages};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use service::archive::view::{AttachmentView, ChannelView, MessageView, ReactionView};
use service::export::{self, MessagePageFile, MetadataFile, NoProgress, ThreadPageFile};

use crate::archive_data::{self, Archive};
use crate::helpers::{assert_error, assert_status, fresh_db, spawn_app_with};

/// Every message of `channel` straight from the tables (no archive code), newest first, each
/// with its reactions and attachments in creation order, as JSON.
async fn expected_messages(db: &DatabaseConnection, channel: &str) -> Vec<Value> {
    let mut rows = messages::Entity::find()
        .filter(messages::Column::ChannelId.eq(channel))
        .all(db)
        .await
        .unwrap();
    rows.sort_by(|a, b| {
        (b.platform_created_at, &b.platform_message_id)
            .cmp(&(a.platform_created_at, &a.platform_message_id))
    });
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let mut reactions: HashMap<String, Vec<message_emoji_reactions::Model>> = HashMap::new();
    let mut attachments: HashMap<String, Vec<message_attachments::Model>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for r in message_emoji_reactions::Entity::find()
            .filter(message_emoji_reactions::Column::MessageId.is_in(chunk.to_vec()))
            .all(db)
            .await
            .unwrap()
        {
            reactions.entry(r.message_id.clone()).or_default().push(r);
        }
        for a in message_attachments::Entity::find()
            .filter(message_attachments::Column::MessageId.is_in(chunk.to_vec()))
            .all(db)
            .await
            .unwrap()
        {
            attachments.entry(a.message_id.clone()).or_default().push(a);
        }
    }
    rows.into_iter()
        .map(|m| {
            let mut r = reactions.remove(&m.id).unwrap_or_default();
            r.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            let mut a = attachments.remove(&m.id).unwrap_or_default();
            a.sort_by(|x, y| (x.created_at, &x.id).cmp(&(y.created_at, &y.id)));
            let view = MessageView::new(
                m,
                r.into_iter().map(ReactionView::from).collect(),
                a.into_iter().map(AttachmentView::from).collect(),
            );
            serde_json::to_value(view).unwrap()
        })
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every file under `dir`, recursively.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Parses the whole export of `archive` under `out` and compares it with the database.
async fn assert_export_matches_database(db: &DatabaseConnection, archive: &Archive, out: &Path) {
    let tenant_dir = out.join(&archive.slug);
    let metadata: MetadataFile =
        serde_json::from_value(read_json(&tenant_dir.join("metadata.json"))).unwrap();
    assert_eq!(metadata.tenant.id, archive.tenant_id.to_string());
    assert_eq!(metadata.data_version, "1.0.0");
    let branding = metadata.branding.clone().expect("branding exported");
    assert_eq!(branding.primary_color, "#112233");
    assert_eq!(
        branding.logo.as_deref(),
        Some("https://cdn.example/logo.png")
    );

    let rows = service::archive::channel_rows(db, &archive.tenant_id.to_string())
        .await
        .unwrap();
    let expected_channels: Vec<ChannelView> = rows.iter().cloned().map(ChannelView::from).collect();
    assert_eq!(
        metadata.channels, expected_channels,
        "metadata.channels equals the table"
    );
    assert_eq!(metadata.channels.len(), archive.channel_ids.len());

    for channel in &metadata.channels {
        let dir = tenant_dir.join("channels").join(&channel.id);
        assert!(dir.is_dir(), "a directory per channel, even empty ones");
        if channel.kind.as_deref() == Some("forum") {
            assert!(
                !dir.join("page-1.json").exists(),
                "forums have no message pages"
            );
            continue;
        }
        let expected = expected_messages(db, &channel.id).await;
        let total_pages = expected.len().div_ceil(1000);
        let mut exported = Vec::new();
        for page in 1..=total_pages {
            let file = read_json(&dir.join(format!("page-{page}.json")));
            let parsed: MessagePageFile = serde_json::from_value(file.clone()).unwrap();
            assert_eq!(parsed.page, page as u64);
            assert_eq!(parsed.total_pages, total_pages as u64);
            assert_eq!(parsed.channel_id, channel.id);
            assert_eq!(parsed.channel_name, channel.name);
            let messages = file["messages"].as_array().unwrap().clone();
            let expected_len = if page < total_pages {
                1000
            } else {
                expected.len() - 1000 * (page - 1)
            };
            assert_eq!(
                messages.len(),
                expected_len,
                "page {page} of {}",
                channel.name
            );
            exported.extend(messages);
        }
        assert!(
            !dir.join(format!("page-{}.json", total_pages + 1)).exists(),
            "no page beyond totalPages"
        );
        assert_eq!(
            exported.len(),
            expected.len(),
            "{}: every message once",
            channel.name
        );
        assert!(
            exported == expected,
            "{}: exported messages equal the tables",
            channel.name
        );
    }
}

#[tokio::test]
async fn export_round_trips_every_page_thread_and_field_without_raw_user_ids() {
    let (_test_db, db) = fresh_db().await;
    let archive = archive_data::generate(&db, "round-trip", 2345, 35).await;
    let out = tempfile::tempdir().unwrap();

    let result = export::export_tenant(&db, &archive.slug, out.path(), &NoProgress)
        .await
        .unwrap();
    // general 2345 + side thread 4 + forum threads sum(t % 4 for t in 0..35).
    let thread_messages: usize = (0..35).map(|t| t % 4).sum();
    assert_eq!(
        result.messages_exported as usize,
        2345 + 4 + thread_messages
    );
    assert_eq!(result.tenant_slug, "round-trip");
    assert_eq!(result.channels_exported as usize, archive.channel_ids.len());
    assert_export_matches_database(&db, &archive, out.path()).await;

    // The original's field names, exactly.
    let page = read_json(
        &out.path()
            .join("round-trip/channels")
            .join(archive.general.to_string())
            .join("page-1.json"),
    );
    let first = &page["messages"][0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "anonymizedAuthorId",
            "attachments",
            "channelId",
            "content",
            "createdAt",
            "id",
            "metadata",
            "platformCreatedAt",
            "platformMessageId",
            "reactions",
            "replyToId",
            "updatedAt"
        ]
    );
    assert!(
        first["platformCreatedAt"]
            .as_str()
            .unwrap()
            .ends_with(".000Z")
    );

    // Forum: every thread once, 30 a page, by last activity, with correct summaries.
    let forum_dir = out
        .path()
        .join("round-trip/channels")
        .join(archive.forum.to_string());
    let mut threads = Vec::new();
    for page in 1..=2 {
        let file: ThreadPageFile = serde_json::from_value(read_json(
            &forum_dir.join(format!("threads-page-{page}.json")),
        ))
        .unwrap();
        assert_eq!(
            (file.total_pages, file.total_threads, file.threads_per_page),
            (2, 35, 30)
        );
        assert_eq!(file.threads.len(), if page == 1 { 30 } else { 5 });
        threads.extend(file.threads);
    }
    assert!(
        threads
            .windows(2)
            .all(|w| w[0].last_activity >= w[1].last_activity)
    );
    let mut names: Vec<_> = threads.iter().map(|t| t.name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 35, "every thread exactly once");
    for thread in &threads {
        let expected = expected_messages(&db, &thread.id).await;
        assert_eq!(thread.message_count as usize, expected.len());
        match expected.last() {
            None => assert!(thread.first_message.is_none()),
            Some(oldest) => {
                let first = thread.first_message.as_ref().expect("first message");
                assert_eq!(first.id, oldest["id"].as_str().unwrap());
            }
        }
    }
    assert!(
        threads.iter().any(|t| t.archived && t.locked),
        "flags read from metadata"
    );

    // No raw user id anywhere (authors, reacting users, mentions).
    for file in all_files(&out.path().join("round-trip")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for raw in &archive.raw_user_ids {
            assert!(
                !text.contains(raw.as_str()),
                "{} exposes raw user id {raw}",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn re_export_removes_pages_and_channels_left_by_a_bigger_earlier_export() {
    let (_test_db, db) = fresh_db().await;
    let archive = archive_data::generate(&db, "stale-pages", 1500, 3).await;
    let out = tempfile::tempdir().unwrap();
    let channels_dir = out.path().join("stale-pages/channels");
    let general_dir = channels_dir.join(archive.general.to_string());
    let gone_channel = channels_dir.join(uuid::Uuid::new_v4().to_string());
    std::fs::create_dir_all(&general_dir).unwrap();
    std::fs::create_dir_all(&gone_channel).unwrap();
    for stale in [
        "page-3.json",
        "page-17.json",
        ".page-1.json.tmp",
        "threads-page-1.json",
    ] {
        std::fs::write(general_dir.join(stale), "{\"truncated\": ").unwrap();
    }
    std::fs::write(gone_channel.join("page-1.json"), "{}").unwrap();
    let forum_dir = channels_dir.join(archive.forum.to_string());
    std::fs::create_dir_all(&forum_dir).unwrap();
    std::fs::write(forum_dir.join("threads-page-4.json"), "{}").unwrap();

    export::export_tenant(&db, &archive.tenant_id.to_string(), out.path(), &NoProgress)
        .await
        .unwrap();

    let mut left: Vec<String> = std::fs::read_dir(&general_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["page-1.json", "page-2.json"]);
    assert!(
        !gone_channel.exists(),
        "directory of a channel that no longer exists removed"
    );
    assert!(forum_dir.join("threads-page-1.json").exists());
    assert!(!forum_dir.join("threads-page-4.json").exists());
    assert_export_matches_database(&db, &archive, out.path()).await;
}

#[tokio::test]
async fn export_of_an_unknown_tenant_or_into_an_unwritable_directory_fails_clearly() {
    let (_test_db, db) = fresh_db().await;
    let archive = archive_data::generate(&db, "failing", 10, 1).await;
    let out = tempfile::tempdir().unwrap();
    let err = export::export_tenant(&db, "no-such-tenant", out.path(), &NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            service::Error::NotFound {
                entity: "tenant",
                ..
            }
        ),
        "{err:?}"
    );

    // A regular file where the output directory should be.
    let blocker = out.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let err = export::export_tenant(&db, &archive.slug, &blocker, &NoProgress)
        .await
        .unwrap_err();
    match err {
        service::Error::Io { path, .. } => assert!(path.contains("not-a-dir"), "{path}"),
        other => panic!("expected an i/o error naming the path, got {other:?}"),
    }
}

/// Runs the built `verta` binary against `database_url`.
fn verta(database_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_verta"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the verta binary runs")
}

#[tokio::test]
async fn verta_export_prints_the_summary_and_exits_non_zero_on_failure() {
    let (test_db, db) = fresh_db().await;
    let archive = archive_data::generate(&db, "cli-export", 1200, 2).await;
    let out = tempfile::tempdir().unwrap();
    let url = test_db.url().to_owned();
    let out_arg = out.path().to_str().unwrap().to_owned();
    let (ok, unknown, unwritable) = tokio::task::spawn_blocking(move || {
        let blocker = format!("{out_arg}/file");
        std::fs::write(&blocker, "x").unwrap();
        (
            verta(
                &url,
                &["export", "--tenant", "cli-export", "--out", &out_arg],
            ),
            verta(&url, &["export", "--tenant", "nobody", "--out", &out_arg]),
            verta(
                &url,
                &["export", "--tenant", "cli-export", "--out", &blocker],
            ),
        )
    })
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let summary: Value = serde_json::from_slice(&ok.stdout).expect("stdout is the JSON summary");
    assert_eq!(summary["tenantSlug"], "cli-export");
    assert_eq!(summary["messagesExported"], 1200 + 4 + 1);
    assert_eq!(
        summary["exportPath"],
        out.path().join("cli-export").to_str().unwrap()
    );
    assert_export_matches_database(&db, &archive, out.path()).await;

    assert!(!unknown.status.success());
    assert!(unknown.stdout.is_empty());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
    assert!(!unwritable.status.success());
    assert!(String::from_utf8_lossy(&unwritable.stderr).contains("file"));
}

#[tokio::test]
async fn export_routes_need_the_admin_key_and_write_the_tenant_into_export_dir() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_path_buf();
    let app = spawn_app_with(|c| c.export_dir = out_dir).await;
    let archive = archive_data::generate(&app.db, "via-api", 1001, 2).await;
    let path = format!("/api/export/tenant/{}", archive.tenant_id);

    let anonymous = app.anonymous(Method::POST, &path).send().await.unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "Unauthorized").await;
    let bad = app
        .request(Method::POST, "/api/export/tenant/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_error(bad, StatusCode::BAD_REQUEST, "Validation Error").await;
    let unknown = app
        .request(
            Method::POST,
            &format!("/api/export/tenant/{}", uuid::Uuid::new_v4()),
        )
        .send()
        .await
        .unwrap();
    assert_error(unknown, StatusCode::NOT_FOUND, "Not Found").await;
    let missing_job = app
        .get(&format!("/api/export/status/{}", uuid::Uuid::new_v4()))
        .await;
    assert_error(missing_job, StatusCode::NOT_FOUND, "Not Found").await;

    let queued = app.request(Method::POST, &path).send().await.unwrap();
    assert_status(&queued, StatusCode::ACCEPTED);
    let queued: Value = queued.json().await.unwrap();
    let status = wait_for_job(&app, queued["jobId"].as_str().unwrap()).await;
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["progress"], 100);
    assert_eq!(status["result"][0]["messagesExported"], 1001 + 4 + 1);
    assert_export_matches_database(&app.db, &archive, out.path()).await;

    let all = app
        .request(Method::POST, "/api/export/all-tenants")
        .send()
        .await
        .unwrap();
    assert_status(&all, StatusCode::ACCEPTED);
    let all: Value = all.json().await.unwrap();
    let job_ids = all["jobIds"].as_array().unwrap();
    assert_eq!(job_ids.len(), 1);
    let status = wait_for_job(&app, job_ids[0].as_str().unwrap()).await;
    assert_eq!(status["status"], "completed", "{status}");
    let slugs: Vec<&str> = status["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tenantSlug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["via-api"], "every active tenant");
}

#[tokio::test]
async fn export_jobs_skip_inactive_tenants_and_report_a_failure_with_its_cause() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_path_buf();
    let app = spawn_app_with(|c| c.export_dir = out_dir).await;
    let active = archive_data::generate(&app.db, "active", 3, 1).await;
    let paused = archive_data::generate(&app.db, "paused", 3, 1).await;
    service::tenants::update(
        &app.db,
        paused.tenant_id,
        &service::tenants::UpdateTenant {
            status: Some("MAINTENANCE".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let blocked = archive_data::generate(&app.db, "blocked", 3, 1).await;
    // A regular file where the tenant's directory should be.
    let blocker = out.path().join("blocked");
    std::fs::write(&blocker, "x").unwrap();

    let queued: Value = app
        .request(
            Method::POST,
            &format!("/api/export/tenant/{}", blocked.tenant_id),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status = wait_for_job(&app, queued["jobId"].as_str().unwrap()).await;
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        status["error"].as_str().unwrap().contains("blocked"),
        "the error names the path: {status}"
    );
    assert!(status.get("result").is_none(), "{status}");
    assert!(status["executionTimeMs"].is_u64(), "{status}");

    std::fs::remove_file(&blocker).unwrap();
    let all: Value = app
        .request(Method::POST, "/api/export/all-tenants")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status = wait_for_job(&app, all["jobIds"][0].as_str().unwrap()).await;
    assert_eq!(status["status"], "completed", "{status}");
    let mut slugs: Vec<&str> = status["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tenantSlug"].as_str().unwrap())
        .collect();
    slugs.sort_unstable();
    assert_eq!(
        slugs,
        [active.slug.as_str(), blocked.slug.as_str()],
        "every ACTIVE tenant, not the one in maintenance"
    );
    assert!(!out.path().join(&paused.slug).exists());
}

/// Polls an export job until it has finished (the test must not end while the job still
/// reads the database); returns its last status.
async fn wait_for_job(app: &crate::helpers::TestApp, job_id: &str) -> Value {
    let mut status = Value::Null;
    for _ in 0..400 {
        status = app
            .get(&format!("/api/export/status/{job_id}"))
            .await
            .json()
            .await
            .unwrap();
        if status["status"] == "completed" || status["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    status
}
