//! The sync against the fake Discord (testkit), on the backend of `VERTA_TEST_BACKEND`:
//! whole-database comparisons with the fake's ground truth, incremental runs, failures,
//! cancellation, several workers, a killed worker process, and the sync HTTP routes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use entity::{channels, message_attachments, message_emoji_reactions, messages, sync_progress};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use service::Config;
use service::anonymize::Anonymizer;
use service::sync::channel::PAGES_IN_FLIGHT;
use service::sync::queue::{self, NewJob, SyncType, Trigger};
use service::sync::{SyncEngine, SyncSettings};
use testkit::db::TestDb;
use testkit::fake_discord::{Emoji, FakeConfig, FakeDiscord, GuildSpec, NewMessage, routes};

use crate::helpers::{assert_error, assert_status, spawn_app, spawn_app_with};

/// A fresh database with a Discord tenant for the fake's first guild.
struct Harness {
    fake: FakeDiscord,
    guild: u64,
    db: DatabaseConnection,
    tenant_id: String,
    config: Config,
    _test_db: TestDb,
}

fn test_settings(config: &Config) -> SyncSettings {
    SyncSettings {
        lease: Duration::from_secs(2),
        poll_interval: Duration::from_millis(100),
        retry_delays: vec![
            Duration::from_millis(50),
            Duration::from_millis(100),
            Duration::from_millis(200),
        ],
        ..SyncSettings::from_config(config)
    }
}

impl Harness {
    async fn new(spec: GuildSpec) -> Harness {
        let fake = FakeDiscord::start(FakeConfig::single(spec))
            .unwrap_or_else(|e| panic!("fake discord: {e}"));
        let guild = fake.guild_ids()[0];
        let test_db = TestDb::new().await;
        let config = Config {
            database_url: test_db.url().to_owned(),
            discord_bot_token: Some(fake.token().to_owned()),
            discord_api_proxy: Some(fake.proxy()),
            sync_rescan_window_secs: 0,
            sync_channel_concurrency: 4,
            ..Config::default()
        };
        let db = service::db::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        service::db::migrate(&db)
            .await
            .unwrap_or_else(|e| panic!("migrate: {e}"));
        let tenant = service::tenants::create(
            &db,
            &service::tenants::CreateTenant {
                name: Some("Fake Guild".into()),
                slug: Some("fake-guild".into()),
                platform: Some("discord".into()),
                platform_id: Some(guild.to_string()),
                status: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("tenant: {e}"));
        Harness {
            fake,
            guild,
            db,
            tenant_id: tenant.id.to_string(),
            config,
            _test_db: test_db,
        }
    }

    fn engine(&self) -> SyncEngine {
        self.engine_with(|_| {})
    }

    fn engine_with(&self, adjust: impl FnOnce(&mut SyncSettings)) -> SyncEngine {
        let mut settings = test_settings(&self.config);
        adjust(&mut settings);
        SyncEngine::new(
            self.db.clone(),
            service::sync::platform_from_config(&self.config),
            Anonymizer::from_config(&self.config),
            settings,
        )
    }

    async fn enqueue(&self, sync_type: SyncType) -> entity::sync_jobs::Model {
        let (job, _) = queue::enqueue(
            &self.db,
            NewJob {
                tenant_id: self.tenant_id.clone(),
                sync_type,
                trigger: Trigger::Cli,
                channel_ids: None,
                retry_of: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"));
        job
    }

    /// Enqueue an incremental sync and run the queue dry; returns the finished job.
    async fn sync(&self) -> entity::sync_jobs::Model {
        let job = self.enqueue(SyncType::Incremental).await;
        self.engine()
            .run_until_empty()
            .await
            .unwrap_or_else(|e| panic!("worker: {e}"));
        queue::get(&self.db, &job.id)
            .await
            .unwrap_or_else(|e| panic!("job: {e}"))
    }

    /// Assert that the database holds exactly the fake's ground truth.
    async fn assert_equals_truth(&self) {
        let truth = self.fake.truth(self.guild).expect("truth of the guild");
        let anon = Anonymizer::from_config(&self.config);
        let stored = channels::Entity::find()
            .filter(channels::Column::TenantId.eq(self.tenant_id.as_str()))
            .all(&self.db)
            .await
            .expect("channels");
        let stored_by_platform: BTreeMap<String, channels::Model> = stored
            .into_iter()
            .map(|c| (c.platform_channel_id.clone(), c))
            .collect();
        let expected: BTreeSet<String> = truth
            .channels
            .iter()
            .map(|c| c.platform_id.to_string())
            .collect();
        assert_eq!(
            stored_by_platform.keys().cloned().collect::<BTreeSet<_>>(),
            expected,
            "stored channels differ from the truth"
        );
        for c in &truth.channels {
            let row = &stored_by_platform[&c.platform_id.to_string()];
            assert_eq!(row.name, c.name, "name of {}", c.platform_id);
            assert_eq!(
                row.r#type.as_deref(),
                Some(c.kind),
                "type of {}",
                c.platform_id
            );
            assert_eq!(
                row.parent_channel_id,
                c.parent_platform_id.map(|p| p.to_string()),
                "parent of {}",
                c.platform_id
            );
        }
        for c in truth.message_channels() {
            let row = &stored_by_platform[&c.platform_id.to_string()];
            let mut rows = messages::Entity::find()
                .filter(messages::Column::ChannelId.eq(row.id.as_str()))
                .all(&self.db)
                .await
                .expect("messages");
            rows.sort_by_key(|m| m.platform_message_id.parse::<u64>().unwrap_or(0));
            let expected: Vec<_> = truth.messages(c.platform_id).collect();
            assert_eq!(
                rows.len(),
                expected.len(),
                "message count of channel {}",
                c.platform_id
            );
            let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
            let mut reactions: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
            let mut attachments: BTreeMap<String, Vec<message_attachments::Model>> =
                BTreeMap::new();
            for chunk in ids.chunks(500) {
                for r in message_emoji_reactions::Entity::find()
                    .filter(message_emoji_reactions::Column::MessageId.is_in(chunk.iter().cloned()))
                    .all(&self.db)
                    .await
                    .expect("reactions")
                {
                    reactions
                        .entry(r.message_id.clone())
                        .or_default()
                        .insert((r.emoji, r.anonymized_user_id));
                }
                for a in message_attachments::Entity::find()
                    .filter(message_attachments::Column::MessageId.is_in(chunk.iter().cloned()))
                    .all(&self.db)
                    .await
                    .expect("attachments")
                {
                    attachments.entry(a.message_id.clone()).or_default().push(a);
                }
            }
            for (m, t) in rows.iter().zip(&expected) {
                let at = format!("message {} of channel {}", t.platform_id, c.platform_id);
                assert_eq!(m.platform_message_id, t.platform_id.to_string(), "{at}");
                assert_eq!(
                    m.anonymized_author_id,
                    anon.user_id(&t.author_id.to_string()),
                    "{at}"
                );
                assert_eq!(m.content, anon.rewrite_mentions(&t.content), "{at}");
                assert_eq!(m.reply_to_id, t.reply_to.map(|r| r.to_string()), "{at}");
                assert_eq!(
                    m.platform_created_at.timestamp(),
                    t.created_at.timestamp(),
                    "{at}"
                );
                let edited = m
                    .metadata
                    .as_ref()
                    .and_then(|md| md.get("editedAt"))
                    .and_then(Value::as_str)
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.timestamp_millis());
                assert_eq!(edited, t.edited_at.map(|e| e.timestamp_millis()), "{at}");
                let want: BTreeSet<(String, String)> = t
                    .reactions
                    .iter()
                    .map(|r| (r.emoji.clone(), anon.user_id(&r.user_id.to_string())))
                    .collect();
                assert_eq!(
                    reactions.remove(&m.id).unwrap_or_default(),
                    want,
                    "reactions of {at}"
                );
                // Links are compared without their signature (`?ex=&is=&hm=`), which the
                // fake renews with time.
                let unsigned = |url: &str| url.split('?').next().unwrap_or_default().to_owned();
                let mut got = attachments.remove(&m.id).unwrap_or_default();
                got.sort_by_key(|a| unsigned(&a.url));
                let mut want = t.attachments.clone();
                want.sort_by_key(|a| unsigned(&a.url));
                assert_eq!(got.len(), want.len(), "attachments of {at}");
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g.filename, w.filename, "{at}");
                    assert_eq!(g.file_size, w.size as i64, "{at}");
                    assert_eq!(
                        g.content_type,
                        w.content_type
                            .clone()
                            .unwrap_or_else(|| "application/octet-stream".into()),
                        "{at}"
                    );
                    assert_eq!(unsigned(&g.url), unsigned(&w.url), "{at}");
                }
            }
        }
    }

    async fn message_count(&self) -> usize {
        messages::Entity::find()
            .all(&self.db)
            .await
            .expect("messages")
            .len()
    }
}

fn small_guild() -> GuildSpec {
    GuildSpec::small()
}

#[tokio::test]
async fn full_sync_equals_ground_truth_and_rerun_makes_no_message_request() {
    let h = Harness::new(small_guild()).await;
    let job = h.sync().await;
    assert_eq!(job.status, "completed", "job error: {:?}", job.error);
    h.assert_equals_truth().await;
    let count = h.message_count().await;

    h.fake.reset_stats();
    let second = h.sync().await;
    assert_eq!(second.status, "completed");
    assert_eq!(
        h.fake.route_count(routes::MESSAGES),
        0,
        "unchanged channels were re-read"
    );
    assert_eq!(h.message_count().await, count, "a re-run added rows");
    h.assert_equals_truth().await;
}

#[tokio::test]
async fn added_messages_and_only_they_arrive_on_the_next_run() {
    let h = Harness::new(small_guild()).await;
    assert_eq!(h.sync().await.status, "completed");
    let truth = h.fake.truth(h.guild).expect("truth");
    let channel = truth
        .message_channels()
        .find(|c| c.kind == "text")
        .map(|c| c.platform_id)
        .expect("a text channel");
    drop(truth);
    let before = h.message_count().await;
    for i in 0..3 {
        h.fake
            .add_message(
                channel,
                NewMessage {
                    author_id: None,
                    content: format!("new message {i}"),
                    reply_to: None,
                },
            )
            .unwrap_or_else(|e| panic!("add message: {e:?}"));
    }
    h.fake.reset_stats();
    let job = h.sync().await;
    assert_eq!(job.status, "completed");
    assert_eq!(h.message_count().await, before + 3);
    assert_eq!(
        h.fake.route_count(routes::MESSAGES),
        1,
        "only the changed channel is read"
    );
    assert_eq!(
        job.messages_processed, 3,
        "only the new messages were written"
    );
    h.assert_equals_truth().await;
}

#[tokio::test]
async fn forbidden_channel_is_recorded_as_failed_and_the_others_complete() {
    let h = Harness::new(small_guild()).await;
    let truth = h.fake.truth(h.guild).expect("truth");
    let forbidden = truth
        .message_channels()
        .find(|c| c.kind == "text")
        .map(|c| c.platform_id)
        .expect("a text channel");
    drop(truth);
    h.fake.update_faults(|f| {
        f.forbidden_channels.insert(forbidden);
    });
    let job = h.sync().await;
    assert_eq!(job.status, "completed");
    let errors = job.errors.clone().expect("errors");
    let errors = errors.as_array().expect("array");
    // The channel, and threads inside it whose reads are refused as well.
    assert!(job.channels_failed >= 1 && job.channels_failed as usize == errors.len());
    assert!(job.channels_completed > job.channels_failed);
    let entry = errors
        .iter()
        .find(|e| e["channelId"] == json!(forbidden.to_string()))
        .unwrap_or_else(|| panic!("the forbidden channel is named: {errors:?}"));
    assert!(entry["channelName"].as_str().is_some_and(|n| !n.is_empty()));
    for e in errors {
        assert_eq!(e["status"], json!(403), "{e}");
        assert!(e["error"].as_str().unwrap_or("").contains("403"), "{e}");
    }
    // Everything else arrived.
    h.fake.update_faults(|f| f.forbidden_channels.clear());
    assert_eq!(h.sync().await.status, "completed");
    h.assert_equals_truth().await;
}

#[tokio::test]
async fn revoked_token_fails_the_job_at_once_with_a_clear_message() {
    let h = Harness::new(small_guild()).await;
    h.fake.update_faults(|f| f.token_revoked = true);
    let job = h.sync().await;
    assert_eq!(job.status, "failed");
    let error = job.error.unwrap_or_default();
    assert!(
        error.contains("401") && error.contains("DISCORD_BOT_TOKEN"),
        "{error}"
    );
    assert_eq!(h.message_count().await, 0);
}

#[tokio::test]
async fn storm_of_429s_and_bursts_of_5xx_still_complete() {
    let h = Harness::new(small_guild()).await;
    h.fake.update_faults(|f| {
        f.storm_429 = 20;
        f.storm_retry_after_ms = 50;
        f.error_rate = 0.05;
    });
    let job = h.sync().await;
    assert_eq!(job.status, "completed", "{:?} {:?}", job.error, job.errors);
    assert_eq!(job.channels_failed, 0, "{:?}", job.errors);
    assert!(h.fake.status_counts().get(&429).copied().unwrap_or(0) > 0);
    assert!(h.fake.status_counts().get(&500).copied().unwrap_or(0) > 0);
    h.assert_equals_truth().await;
}

#[tokio::test]
async fn cancel_stops_the_job_within_a_page() {
    let h = Harness::new(small_guild()).await;
    h.fake.update_faults(|f| f.latency_ms = 30);
    let job = h.enqueue(SyncType::Full).await;
    let engine = Arc::new(h.engine_with(|s| s.concurrency = 1));
    let runner = {
        let engine = Arc::clone(&engine);
        tokio::spawn(async move { engine.run_until_empty().await })
    };
    // Wait until some messages are stored, then cancel.
    for _ in 0..200 {
        if h.message_count().await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    queue::request_cancel(&h.db, &job.id)
        .await
        .unwrap_or_else(|e| panic!("cancel: {e}"));
    let at_cancel = h.message_count().await;
    let pages_at_cancel = h.fake.route_count(routes::MESSAGES);
    tokio::time::timeout(Duration::from_secs(20), runner)
        .await
        .expect("the worker stops")
        .expect("join")
        .expect("worker");
    let job = queue::get(&h.db, &job.id).await.expect("job");
    assert_eq!(job.status, "cancelled");
    let total = h.fake.truth(h.guild).expect("truth").message_count() as usize;
    let after = h.message_count().await;
    // Only the pages submitted before the cancel was seen may still be written.
    assert!(
        after <= at_cancel + PAGES_IN_FLIGHT * 100,
        "kept working after cancel: {at_cancel} -> {after}"
    );
    assert!(after < total, "the job ran to the end");
    // Work stops within a page: at most the page being fetched when the cancel came.
    let pages_after = h.fake.route_count(routes::MESSAGES) - pages_at_cancel;
    assert!(
        pages_after <= 1,
        "{pages_after} message pages fetched after the cancel"
    );
}

#[tokio::test]
async fn two_workers_on_one_database_sync_each_channel_once() {
    let h = Harness::new(small_guild()).await;
    h.fake.update_faults(|f| f.latency_ms = 5);
    let job = h.enqueue(SyncType::Incremental).await;
    let a = Arc::new(h.engine_with(|s| s.concurrency = 2));
    let b = Arc::new(h.engine_with(|s| s.concurrency = 2));
    let (ra, rb) = tokio::join!(
        {
            let a = Arc::clone(&a);
            async move { a.run_until_empty().await }
        },
        {
            let b = Arc::clone(&b);
            async move {
                // Let the first worker claim the job, then help with its channels.
                tokio::time::sleep(Duration::from_millis(300)).await;
                b.run_until_empty().await
            }
        }
    );
    ra.expect("worker a");
    rb.expect("worker b");
    let job = queue::get(&h.db, &job.id).await.expect("job");
    assert_eq!(job.status, "completed", "{:?}", job.error);
    // Each channel was read exactly once: the message requests equal the pages needed.
    let truth = h.fake.truth(h.guild).expect("truth");
    let pages: u64 = truth
        .message_channels()
        .map(|c| (truth.messages(c.platform_id).count() as u64 / 100) + 1)
        .sum();
    drop(truth);
    assert_eq!(h.fake.route_count(routes::MESSAGES), pages);
    let items = queue::items(&h.db, &job.id).await.expect("items");
    let workers: BTreeSet<String> = items.iter().filter_map(|i| i.worker_id.clone()).collect();
    assert_eq!(workers.len(), 2, "both workers took channels: {workers:?}");
    h.assert_equals_truth().await;
}

#[tokio::test]
async fn killed_worker_process_is_resumed_from_the_cursors_by_another() {
    let h = Harness::new(small_guild().with_big_channel(Some(6_000))).await;
    h.fake.update_faults(|f| f.latency_ms = 15);
    let job = h.enqueue(SyncType::Incremental).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_verta"))
        .arg("worker")
        .env("DATABASE_URL", &h.config.database_url)
        .env("DISCORD_BOT_TOKEN", h.fake.token())
        .env("DISCORD_API_PROXY", h.fake.proxy())
        .env("SYNC_INTERVAL_SECS", "0")
        .env("SYNC_RESCAN_WINDOW_SECS", "0")
        .env("SYNC_CHANNEL_CONCURRENCY", "2")
        .env("ADMIN_API_KEY", "unused")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn verta worker");
    // Kill it mid-sync: once it has stored a good part, but not all.
    let mut stored = 0;
    for _ in 0..600 {
        stored = h.message_count().await;
        if stored > 2_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("SIGKILL the worker");
    let _ = child.wait();
    assert!(stored > 0, "the worker process stored nothing");
    let total = h.fake.truth(h.guild).expect("truth").message_count() as usize;
    assert!(
        h.message_count().await < total,
        "the worker finished before it was killed"
    );
    let cursors = sync_progress::Entity::find()
        .all(&h.db)
        .await
        .expect("cursors");
    assert!(cursors.iter().any(|c| !c.last_synced_message_id.is_empty()));

    // Another worker takes over once the dead worker's lease (30 s) expires.
    let engine = h.engine();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        engine.run_until_empty().await.expect("worker");
        let j = queue::get(&h.db, &job.id).await.expect("job");
        if j.status == "completed" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job never resumed: {}",
            j.status
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    h.assert_equals_truth().await;
}

#[tokio::test]
async fn sync_routes_trigger_report_cancel_retry_and_list_history() {
    let fake = FakeDiscord::start(FakeConfig::single(small_guild())).expect("fake");
    let guild = fake.guild_ids()[0];
    let app = spawn_app_with(|c| {
        c.discord_bot_token = Some(fake.token().to_owned());
        c.discord_api_proxy = Some(fake.proxy());
    })
    .await;
    let response = app
        .create_tenant(&json!({"name": "Guild", "slug": "guild", "platform": "discord", "platformId": guild.to_string()}))
        .await;
    assert_status(&response, StatusCode::CREATED);
    let tenant: Value = response.json().await.expect("tenant");
    let tenant_id = tenant["id"].as_str().expect("id").to_owned();

    // Creating a discord tenant queued its first (full) sync.
    let status: Value = app
        .get(&format!("/api/tenants/{tenant_id}/sync/status"))
        .await
        .json()
        .await
        .expect("status");
    assert_eq!(status["status"], json!("queued"), "{status}");
    assert_eq!(status["syncType"], json!("full"));
    let first_id = status["jobId"].as_str().expect("jobId").to_owned();

    // A duplicate trigger returns the existing job.
    let response = app
        .post_json(
            &format!("/api/tenants/{tenant_id}/sync"),
            &json!({"syncType": "incremental"}),
        )
        .await;
    assert_status(&response, StatusCode::OK);
    let dup: Value = response.json().await.expect("dup");
    assert_eq!(dup["jobId"], json!(first_id));

    // Invalid syncType, unknown tenant.
    let response = app
        .post_json(
            &format!("/api/tenants/{tenant_id}/sync"),
            &json!({"syncType": "sideways"}),
        )
        .await;
    assert_status(&response, StatusCode::BAD_REQUEST);
    let response = app
        .post_json(
            "/api/sync",
            &json!({"tenantId": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_status(&response, StatusCode::NOT_FOUND);

    // Cancel the queued job; then a retry of it is queued.
    let response = app.delete(&format!("/api/sync/jobs/{first_id}")).await;
    assert_status(&response, StatusCode::OK);
    let cancelled: Value = response.json().await.expect("cancel");
    assert_eq!(cancelled["cancelled"], json!(true));
    let response = app.delete(&format!("/api/sync/jobs/{first_id}")).await;
    assert_status(&response, StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .post_json(&format!("/api/sync/jobs/{first_id}/retry"), &json!({}))
        .await;
    assert_status(&response, StatusCode::CREATED);
    let retried: Value = response.json().await.expect("retry");
    let retry_id = retried["jobId"].as_str().expect("jobId").to_owned();

    // Run it; the job reports completion with per-channel progress.
    let engine = service::sync::engine_from_config(app.db.clone(), &app.config);
    engine.run_until_empty().await.expect("worker");
    let job: Value = app
        .get(&format!("/api/sync/jobs/{retry_id}"))
        .await
        .json()
        .await
        .expect("job");
    assert_eq!(job["status"], json!("completed"), "{job}");
    assert!(
        job["progress"]["messagesProcessed"].as_i64().unwrap_or(0) > 1_000,
        "{job}"
    );
    assert!(
        !job["channels"]
            .as_array()
            .map(Vec::is_empty)
            .unwrap_or(true)
    );
    let response = app.get("/api/sync/jobs/not-a-job").await;
    assert_status(&response, StatusCode::NOT_FOUND);

    let history: Value = app
        .get(&format!("/api/sync/history/{tenant_id}?limit=5"))
        .await
        .json()
        .await
        .expect("history");
    let ids: Vec<&str> = history["history"]
        .as_array()
        .expect("history array")
        .iter()
        .filter_map(|j| j["jobId"].as_str())
        .collect();
    assert_eq!(ids, vec![retry_id.as_str(), first_id.as_str()]);

    // A never-synced tenant.
    let other = uuid::Uuid::new_v4();
    let status: Value = app
        .get(&format!("/api/tenants/{other}/sync/status"))
        .await
        .json()
        .await
        .expect("status");
    assert_eq!(status["status"], json!("never_synced"));
}

#[tokio::test]
async fn rescan_window_catches_edits_reactions_and_deletions_without_removing_rows() {
    let h = Harness::new(small_guild()).await;
    let rescan = |s: &mut SyncSettings| s.rescan_window = Duration::from_secs(86_400);
    let run = |engine: SyncEngine| async move { engine.run_until_empty().await.expect("worker") };
    h.enqueue(SyncType::Incremental).await;
    run(h.engine_with(rescan)).await;
    let truth = h.fake.truth(h.guild).expect("truth");
    let channel = truth
        .message_channels()
        .find(|c| c.kind == "text")
        .map(|c| c.platform_id)
        .expect("a text channel");
    let user = truth.guild().users[3].id;
    drop(truth);
    let new = |content: &str| NewMessage {
        author_id: None,
        content: content.to_owned(),
        reply_to: None,
    };
    let a = h.fake.add_message(channel, new("first")).expect("add a");
    let b = h.fake.add_message(channel, new("second")).expect("add b");
    h.enqueue(SyncType::Incremental).await;
    run(h.engine_with(rescan)).await;
    assert_eq!(stored_message(&h, b.id).await.content, "second");

    h.fake
        .edit_message(channel, a.id, "first, edited")
        .expect("edit");
    h.fake
        .add_reaction(channel, a.id, Emoji::Unicode("🎉".into()), user)
        .expect("react");
    h.fake.delete_message(channel, b.id).expect("delete");
    h.fake.reset_stats();
    let job = h.enqueue(SyncType::Incremental).await;
    run(h.engine_with(rescan)).await;
    assert_eq!(
        queue::get(&h.db, &job.id).await.expect("job").status,
        "completed"
    );
    assert_eq!(
        h.fake.route_count(routes::MESSAGES),
        1,
        "quiet channels cost no request"
    );

    let edited = stored_message(&h, a.id).await;
    assert_eq!(edited.content, "first, edited");
    assert!(
        edited
            .metadata
            .as_ref()
            .and_then(|m| m.get("editedAt"))
            .is_some_and(|v| !v.is_null())
    );
    let reactions = message_emoji_reactions::Entity::find()
        .filter(message_emoji_reactions::Column::MessageId.eq(edited.id.as_str()))
        .all(&h.db)
        .await
        .expect("reactions");
    assert_eq!(reactions.len(), 1);
    assert_eq!(reactions[0].emoji, "🎉");
    let deleted = stored_message(&h, b.id).await;
    assert_eq!(deleted.content, "second", "a deleted message keeps its row");
    assert_eq!(
        deleted.metadata.as_ref().and_then(|m| m.get("deleted")),
        Some(&json!(true))
    );
}

async fn stored_message(h: &Harness, platform_id: u64) -> messages::Model {
    messages::Entity::find()
        .filter(messages::Column::PlatformMessageId.eq(platform_id.to_string()))
        .one(&h.db)
        .await
        .expect("query")
        .expect("the message is stored")
}

#[tokio::test]
async fn vanished_channel_keeps_its_messages_and_is_marked() {
    let h = Harness::new(small_guild()).await;
    assert_eq!(h.sync().await.status, "completed");
    // A channel archived earlier that Discord no longer lists.
    let tenant = uuid::Uuid::parse_str(&h.tenant_id).expect("uuid");
    let gone = service::repo::channels::ChannelRow {
        tenant_id: tenant,
        platform_channel_id: "999".into(),
        name: "old-channel".into(),
        kind: service::repo::channels::ChannelKind::Text,
        parent_channel_id: None,
        metadata: Some(json!({"discordType": 0})),
    };
    service::repo::channels::upsert(&h.db, std::slice::from_ref(&gone))
        .await
        .expect("channel");
    service::repo::messages::upsert(
        &h.db,
        &[service::repo::messages::MessageRow {
            channel_id: gone.id(),
            platform_message_id: "1000".into(),
            anonymized_author_id: "a".repeat(64),
            content: "still here".into(),
            reply_to_id: None,
            metadata: None,
            platform_created_at: chrono::Utc::now(),
        }],
    )
    .await
    .expect("message");
    assert_eq!(h.sync().await.status, "completed");
    let row = channels::Entity::find_by_id(gone.id().to_string())
        .one(&h.db)
        .await
        .expect("query")
        .expect("the vanished channel keeps its row");
    let metadata = row.metadata.expect("metadata");
    assert_eq!(metadata["vanished"], json!(true));
    assert!(metadata["vanishedSeenAt"].is_string());
    assert_eq!(stored_message(&h, 1000).await.content, "still here");
}

#[tokio::test]
async fn without_reaction_users_the_counts_go_to_message_metadata() {
    let h = Harness::new(small_guild()).await;
    h.enqueue(SyncType::Incremental).await;
    h.engine_with(|s| s.reaction_users = false)
        .run_until_empty()
        .await
        .expect("worker");
    assert_eq!(h.fake.route_count(routes::REACTIONS), 0);
    assert!(
        message_emoji_reactions::Entity::find()
            .all(&h.db)
            .await
            .expect("rows")
            .is_empty()
    );
    let truth = h.fake.truth(h.guild).expect("truth");
    let expected: usize = truth
        .message_channels()
        .flat_map(|c| truth.messages(c.platform_id).collect::<Vec<_>>())
        .map(|m| m.reactions.len())
        .sum();
    drop(truth);
    let counted: u64 = messages::Entity::find()
        .all(&h.db)
        .await
        .expect("messages")
        .iter()
        .filter_map(|m| m.metadata.as_ref()?.get("reactions")?.as_array().cloned())
        .flatten()
        .filter_map(|r| r["count"].as_u64())
        .sum();
    assert!(expected > 0);
    assert_eq!(counted as usize, expected);
}

/// Runs the built `verta` binary against `h`'s database and fake Discord.
fn verta(h: &Harness, token: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_verta"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &h.config.database_url)
        .env("DISCORD_BOT_TOKEN", token)
        .env("DISCORD_API_PROXY", h.fake.proxy())
        .env("SYNC_RESCAN_WINDOW_SECS", "0")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the verta binary runs")
}

#[tokio::test]
async fn cli_sync_start_wait_status_and_reset() {
    let h = Harness::new(small_guild()).await;
    let token = h.fake.token().to_owned();
    let out = verta(
        &h,
        &token,
        &["sync", "start", "--tenant", "fake-guild", "--wait"],
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(job["status"], json!("completed"));
    assert!(job["id"].is_string());
    h.assert_equals_truth().await;

    let out = verta(&h, &token, &["sync", "status"]);
    assert!(out.status.success());
    let all: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(all[0]["status"], json!("completed"));
    assert!(all[0]["channels"].as_array().is_some_and(|c| !c.is_empty()));

    let out = verta(&h, &token, &["sync", "start", "--tenant", "fake-guild"]);
    assert!(out.status.success());
    let queued: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(queued["status"], json!("queued"));
    // Process it, then forget the cursors.
    h.engine().run_until_empty().await.expect("worker");
    let out = verta(&h, &token, &["sync", "reset", "--tenant", "fake-guild"]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reset: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert!(reset["cursorsRemoved"].as_u64().unwrap_or(0) > 0);
    assert!(
        sync_progress::Entity::find()
            .all(&h.db)
            .await
            .expect("cursors")
            .is_empty()
    );

    // A refused token: the job fails and the exit code says so.
    let out = verta(
        &h,
        "wrong-token",
        &["sync", "start", "--tenant", "fake-guild", "--wait"],
    );
    assert!(!out.status.success());
    let failed: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(failed["status"], json!("failed"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

#[tokio::test]
async fn scheduler_queues_every_active_discord_tenant_once_per_interval() {
    let test_db = TestDb::new().await;
    let db = service::db::connect_url(test_db.url())
        .await
        .expect("connect");
    service::db::migrate(&db).await.expect("migrate");
    let create =
        |name: String, platform: &str, status: Option<&str>| service::tenants::CreateTenant {
            name: Some(name.clone()),
            slug: None,
            platform: Some(platform.into()),
            platform_id: Some(name),
            status: status.map(str::to_owned),
        };
    // More than the original's first page of 10 tenants.
    for i in 0..12 {
        service::tenants::create(&db, &create(format!("guild-{i}"), "discord", None))
            .await
            .expect("tenant");
    }
    service::tenants::create(
        &db,
        &create("paused".into(), "discord", Some("MAINTENANCE")),
    )
    .await
    .expect("tenant");
    service::tenants::create(&db, &create("workspace".into(), "slack", None))
        .await
        .expect("tenant");
    let interval = Duration::from_secs(3600);
    let queued = service::sync::scheduler::enqueue_due(&db, interval)
        .await
        .expect("schedule");
    assert_eq!(queued, 12);
    let jobs = entity::sync_jobs::Entity::find()
        .all(&db)
        .await
        .expect("jobs");
    assert!(
        jobs.iter()
            .all(|j| j.triggered_by == "schedule" && j.sync_type == "incremental")
    );
    // Not due again within the interval, even from another process.
    assert_eq!(
        service::sync::scheduler::enqueue_due(&db, interval)
            .await
            .expect("again"),
        0
    );
}

/// A 400 `Validation Error` whose issues are exactly `expected` (`(path, message)`; an empty
/// message matches any).
async fn assert_issues(response: reqwest::Response, expected: &[(&str, &str)]) {
    let url = response.url().clone();
    let body = assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
    let issues = body["details"]["issues"].as_array().expect("issues");
    assert_eq!(issues.len(), expected.len(), "{url}: {body}");
    for (issue, (path, message)) in issues.iter().zip(expected) {
        assert_eq!(issue["path"], *path, "{url}: {body}");
        if !message.is_empty() {
            assert_eq!(issue["message"], *message, "{url}: {body}");
        }
    }
}

/// `limit` of the history route under the API's one paging policy (1-100, default 10): a bad
/// value is a 400 naming `limit`, not clamped into range.
#[tokio::test]
async fn history_limit_follows_the_one_query_policy() {
    let app = spawn_app().await;
    let tenant = app.create_tenant_ok("History", "history", "discord").await;
    let tenant_id = tenant["id"].as_str().expect("id").to_owned();
    // Twelve jobs: the one queued on creation, then eleven more, each cancelled so that the
    // next can be queued.
    for i in 0..12 {
        let job_id = if i == 0 {
            let status: Value = app
                .get(&format!("/api/tenants/{tenant_id}/sync/status"))
                .await
                .json()
                .await
                .expect("status");
            status["jobId"].as_str().expect("jobId").to_owned()
        } else {
            let response = app
                .post_json("/api/sync", &json!({"tenantId": tenant_id}))
                .await;
            assert_status(&response, StatusCode::CREATED);
            let started: Value = response.json().await.expect("started");
            started["jobId"].as_str().expect("jobId").to_owned()
        };
        let response = app.delete(&format!("/api/sync/jobs/{job_id}")).await;
        assert_status(&response, StatusCode::OK);
    }
    let history = format!("/api/sync/history/{tenant_id}");
    for (query, count) in [
        ("", 10),
        ("?limit=1", 1),
        ("?limit=11", 11),
        ("?limit=100", 12),
    ] {
        let response = app.get(&format!("{history}{query}")).await;
        assert_status(&response, StatusCode::OK);
        let body: Value = response.json().await.expect("history");
        assert_eq!(
            body["history"].as_array().expect("array").len(),
            count,
            "{query}"
        );
    }
    for (query, message) in [
        ("limit=0", "Too small: expected number to be >=1"),
        ("limit=101", "Too big: expected number to be <=100"),
        ("limit=1000", "Too big: expected number to be <=100"),
        ("limit=ten", "Invalid input: expected an integer"),
        ("limit=-1", "Invalid input: expected an integer"),
        ("limit=2.5", "Invalid input: expected an integer"),
        ("limit=", "Invalid input: expected an integer"),
    ] {
        let response = app.get(&format!("{history}?{query}")).await;
        assert_issues(response, &[("limit", message)]).await;
    }
}

/// `startDate`/`endDate` of `POST /api/sync` are validated as the original did (ISO 8601 UTC
/// datetimes with `Z`), `endDate` may not precede `startDate`, and valid ones are accepted
/// (and ignored: the job is the same as without them).
#[tokio::test]
async fn sync_start_dates_are_iso_utc_datetimes_in_order() {
    let app = spawn_app().await;
    let tenant = app.create_tenant_ok("Dated", "dated", "discord").await;
    let tenant_id = tenant["id"].as_str().expect("id").to_owned();
    let start = |extra: Value| {
        let mut body = json!({"tenantId": tenant_id});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    const ISO: &str = "Invalid ISO datetime (UTC with Z, e.g. 2026-01-31T12:00:00Z)";
    for (extra, expected) in [
        (json!({"startDate": "yesterday"}), vec![("startDate", ISO)]),
        (
            json!({"endDate": "2026-13-01T00:00:00Z"}),
            vec![("endDate", ISO)],
        ),
        (
            json!({"startDate": "2026-01-02T00:00:00+01:00"}),
            vec![("startDate", ISO)],
        ),
        (json!({"startDate": "2026-01-02"}), vec![("startDate", ISO)]),
        (
            json!({"startDate": "2026-02-30T00:00:00Z", "endDate": "soon"}),
            vec![("startDate", ISO), ("endDate", ISO)],
        ),
        (
            json!({"startDate": "2026-01-02T00:00:00Z", "endDate": "2026-01-01T23:59:59.999Z"}),
            vec![("endDate", "endDate must not be before startDate")],
        ),
        (json!({"startDate": 20260101}), vec![("startDate", "")]),
    ] {
        let response = app.post_json("/api/sync", &start(extra.clone())).await;
        assert_issues(response, &expected).await;
    }
    // Every bad field of one body is named.
    let response = app
        .post_json(
            "/api/sync",
            &json!({"tenantId": "nope", "syncType": "sideways", "startDate": "today"}),
        )
        .await;
    assert_issues(
        response,
        &[("tenantId", ""), ("syncType", ""), ("startDate", ISO)],
    )
    .await;

    // Valid dates (equal, minute precision, fractions) pass validation: an unknown tenant is
    // then a 404, the tenant's queued job comes back as it is.
    let valid = json!({"startDate": "2026-01-01T00:00Z", "endDate": "2026-01-01T00:00:00.000Z"});
    let mut unknown = valid.clone();
    unknown["tenantId"] = json!(uuid::Uuid::new_v4().to_string());
    let response = app.post_json("/api/sync", &unknown).await;
    assert_status(&response, StatusCode::NOT_FOUND);
    let response = app.post_json("/api/sync", &start(valid)).await;
    assert_status(&response, StatusCode::OK);
    let body: Value = response.json().await.expect("job");
    assert_eq!(body["job"]["syncType"], json!("full"), "{body}");
}
