//! Attachment files end to end: a guild of the fake Discord synced and its files fetched from
//! the fake CDN into the store, on the backend of `VERTA_TEST_BACKEND` (and, for the tests
//! named `_s3`, the S3 server of the test script's S3 leg): byte-identical blobs, renewed
//! links, gone files, retries, skips, dedupe across tenants, gc, a killed worker process, and
//! the `verta files` commands.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use entity::{attachment_files, message_attachments};
use futures::{StreamExt, TryStreamExt};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::Value;
use service::Config;
use service::anonymize::Anonymizer;
use service::config::AttachmentStoreUrl;
use service::files::{BlobStore, FileFetcher, FileSettings, state};
use service::sync::queue::{self, NewJob, SyncType, Trigger};
use service::sync::{SyncEngine, SyncSettings};
use sha2::{Digest, Sha256};
use testkit::db::TestDb;
use testkit::fake_discord::{FakeConfig, FakeDiscord, GuildSpec, NewAttachment, NewMessage};

/// A small guild whose messages carry many attachments.
fn files_guild(seed: u64) -> GuildSpec {
    let mut spec = GuildSpec::small()
        .with_seed(seed)
        .with_messages_per_channel(40)
        .with_big_channel(None);
    spec.attachment_share = 0.4;
    spec
}

struct Tenant {
    id: String,
    guild: u64,
}

/// A database with one tenant per guild of a fake Discord, and an attachment store.
struct Harness {
    fake: FakeDiscord,
    db: DatabaseConnection,
    config: Config,
    store: BlobStore,
    tenants: Vec<Tenant>,
    _store_dir: tempfile::TempDir,
    _test_db: TestDb,
}

impl Harness {
    async fn new(guilds: Vec<GuildSpec>) -> Harness {
        Self::with_store(guilds, None).await
    }

    async fn with_store(guilds: Vec<GuildSpec>, store: Option<AttachmentStoreUrl>) -> Harness {
        let fake = FakeDiscord::start(FakeConfig::with_guilds(guilds))
            .unwrap_or_else(|e| panic!("fake discord: {e}"));
        let test_db = TestDb::new().await;
        let store_dir = tempfile::tempdir().expect("store dir");
        let store_url =
            store.unwrap_or_else(|| AttachmentStoreUrl::File(store_dir.path().join("files")));
        let config = Config {
            database_url: test_db.url().to_owned(),
            discord_bot_token: Some(fake.token().to_owned()),
            discord_api_proxy: Some(fake.proxy()),
            sync_rescan_window_secs: 0,
            sync_channel_concurrency: 4,
            attachment_store: Some(store_url.clone()),
            ..Config::default()
        };
        let db = service::db::connect(&config).await.expect("connect");
        service::db::migrate(&db).await.expect("migrate");
        let mut tenants = Vec::new();
        for (i, guild) in fake.guild_ids().into_iter().enumerate() {
            let tenant = service::tenants::create(
                &db,
                &service::tenants::CreateTenant {
                    name: Some(format!("Guild {i}")),
                    slug: Some(format!("guild-{i}")),
                    platform: Some("discord".into()),
                    platform_id: Some(guild.to_string()),
                    status: None,
                },
            )
            .await
            .expect("tenant");
            tenants.push(Tenant {
                id: tenant.id.to_string(),
                guild,
            });
        }
        let store = BlobStore::open(&store_url).expect("store");
        Harness {
            fake,
            db,
            config,
            store,
            tenants,
            _store_dir: store_dir,
            _test_db: test_db,
        }
    }

    fn settings(&self) -> FileSettings {
        FileSettings {
            lease: Duration::from_secs(2),
            poll_interval: Duration::from_millis(50),
            retry_base: Duration::ZERO,
            ..FileSettings::from_config(&self.config)
        }
    }

    fn fetcher(&self) -> FileFetcher {
        self.fetcher_with(|_| {})
    }

    fn fetcher_with(&self, adjust: impl FnOnce(&mut FileSettings)) -> FileFetcher {
        let mut settings = self.settings();
        adjust(&mut settings);
        FileFetcher::new(
            self.db.clone(),
            self.store.clone(),
            service::sync::platform_from_config(&self.config),
            settings,
        )
    }

    /// Sync every tenant (messages and the queue of their files).
    async fn sync(&self) {
        for tenant in &self.tenants {
            queue::enqueue(
                &self.db,
                NewJob {
                    tenant_id: tenant.id.clone(),
                    sync_type: SyncType::Incremental,
                    trigger: Trigger::Cli,
                    channel_ids: None,
                    retry_of: None,
                },
            )
            .await
            .expect("enqueue");
        }
        SyncEngine::new(
            self.db.clone(),
            service::sync::platform_from_config(&self.config),
            Anonymizer::from_config(&self.config),
            SyncSettings {
                poll_interval: Duration::from_millis(50),
                ..SyncSettings::from_config(&self.config)
            },
        )
        .run_until_empty()
        .await
        .expect("sync");
    }

    /// File rows by the platform attachment id (read from the stored CDN URL).
    async fn files(&self) -> BTreeMap<u64, (message_attachments::Model, attachment_files::Model)> {
        let rows = message_attachments::Entity::find()
            .find_also_related(attachment_files::Entity)
            .all(&self.db)
            .await
            .expect("attachments");
        rows.into_iter()
            .map(|(a, f)| {
                let f = f.unwrap_or_else(|| panic!("attachment {} was never queued", a.id));
                (platform_attachment_id(&a.url), (a, f))
            })
            .collect()
    }

    /// Every blob of the store, checked to hold exactly the bytes its name is the hash of
    /// (read eight at a time: on S3 each read is a request).
    async fn verified_blobs(&self) -> BTreeSet<String> {
        let listed: Vec<(String, u64)> = self.store.list().try_collect().await.expect("list");
        futures::stream::iter(listed)
            .map(|(hash, size)| async move {
                let body = self
                    .store
                    .get(&hash, None)
                    .await
                    .expect("get")
                    .expect("listed blob");
                let chunks: Vec<_> = body.stream.try_collect().await.expect("read");
                let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
                assert_eq!(bytes.len() as u64, size, "{hash}");
                assert_eq!(hex::encode(Sha256::digest(&bytes)), hash, "blob content");
                hash
            })
            .buffer_unordered(8)
            .collect()
            .await
    }

    /// Add a message with one attachment of `size` bytes named `name` to the first text
    /// channel of the first guild; returns the attachment's platform id.
    fn add_file(&self, name: &str, size: u64) -> u64 {
        let channel = self
            .fake
            .truth(self.tenants[0].guild)
            .expect("truth")
            .message_channels()
            .next()
            .expect("channel")
            .platform_id;
        self.fake
            .add_message_with_attachments(
                channel,
                NewMessage {
                    content: format!("a file: {name}"),
                    ..NewMessage::default()
                },
                vec![NewAttachment::new(name, size)],
            )
            .expect("message")
            .attachments[0]
            .id
    }

    /// Expected SHA-256 per platform attachment id of a guild.
    fn truth_hashes(&self, guild: u64) -> BTreeMap<u64, String> {
        let truth = self.fake.truth(guild).expect("truth");
        let mut out = BTreeMap::new();
        for channel in truth.message_channels() {
            for message in truth.messages(channel.platform_id) {
                for a in message.attachments {
                    out.insert(a.id, a.sha256_hex());
                }
            }
        }
        out
    }
}

/// `https://cdn.discordapp.com/attachments/<channel>/<attachment>/<name>?...` -> attachment.
fn platform_attachment_id(url: &str) -> u64 {
    url.split('/')
        .nth(5)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an attachment URL: {url}"))
}

async fn assert_every_attachment_stored_and_identical(h: &Harness, gone: &BTreeSet<u64>) {
    let files = h.files().await;
    let blobs = h.verified_blobs().await;
    let mut expected = BTreeMap::new();
    for t in &h.tenants {
        expected.extend(h.truth_hashes(t.guild));
    }
    assert_eq!(
        files.keys().collect::<BTreeSet<_>>(),
        expected.keys().collect::<BTreeSet<_>>()
    );
    for (id, (attachment, file)) in &files {
        if gone.contains(id) {
            assert_eq!(file.state, state::GONE, "{id}");
            continue;
        }
        assert_eq!(file.state, state::STORED, "{id}: {:?}", file.reason);
        let hash = file.sha256.as_deref().expect("hash");
        assert_eq!(Some(hash), expected.get(id).map(String::as_str), "{id}");
        assert_eq!(file.bytes, Some(attachment.file_size), "{id}");
        assert!(blobs.contains(hash), "blob of {id}");
    }
}

#[tokio::test]
async fn every_attachment_is_stored_byte_identical_after_renewing_expired_links() {
    let h = Harness::new(vec![files_guild(11)]).await;
    h.fake.update_faults(|f| f.expired_links = true);
    h.sync().await;
    let attachments = h.files().await;
    assert!(attachments.len() >= 20, "{} attachments", attachments.len());
    let gone: BTreeSet<u64> = attachments.keys().take(2).copied().collect();
    h.fake
        .update_faults(|f| f.gone_attachments = gone.iter().copied().collect());

    let summary = h.fetcher().run_until_idle().await.expect("fetch");
    assert_eq!(summary.gone, 2, "{summary:?}");
    assert_every_attachment_stored_and_identical(&h, &gone).await;

    // Every link had expired: each was renewed (50 a request), then downloaded.
    let stats = h.fake.cdn_stats();
    let n = attachments.len() as u64;
    assert!(stats.urls_refreshed >= n, "{stats:?}");
    assert!(stats.refresh_requests >= n.div_ceil(50), "{stats:?}");
    // Plus one per gone file (renewed once more before it is called gone).
    assert!(
        stats.refresh_requests <= n.div_ceil(50) + 2 + 2,
        "{stats:?}"
    );
    // The renewed links replaced the expired ones in the archive.
    for (id, (a, _)) in h.files().await {
        if !gone.contains(&id) {
            let ex = a.url.split("ex=").nth(1).and_then(|s| s.split('&').next());
            let ex = ex
                .and_then(|s| i64::from_str_radix(s, 16).ok())
                .expect("ex");
            assert!(ex > chrono::Utc::now().timestamp(), "{}", a.url);
        }
    }
    // Gone files are never requested again; stored files are not fetched again.
    let requests = h.fake.cdn_stats().requests;
    let again = h.fetcher().run_until_idle().await.expect("fetch again");
    assert_eq!(again, Default::default());
    assert_eq!(h.fake.cdn_stats().requests, requests);
    // A later sync (and its backfill) queues nothing new either.
    h.sync().await;
    assert_eq!(
        h.fetcher().run_until_idle().await.expect("fetch"),
        Default::default()
    );
    assert_eq!(h.fake.cdn_stats().requests, requests);
}

#[tokio::test]
async fn failing_downloads_are_retried_and_oversized_or_foreign_files_skipped_unrequested() {
    let h = Harness::new(vec![files_guild(12)]).await;
    h.sync().await;
    let big = h.add_file("big.bin", 3 * 1024 * 1024);
    h.sync().await;
    // One attachment URL rewritten to point off the CDN (as crafted message data could).
    let files = h.files().await;
    let (foreign_id, (foreign, _)) = files.iter().find(|(id, _)| **id != big).expect("one");
    let foreign_id = *foreign_id;
    let crafted = format!("http://{}/attachments/1/{foreign_id}/x.png", h.fake.proxy());
    message_attachments::Entity::update_many()
        .col_expr(
            message_attachments::Column::Url,
            sea_orm::sea_query::Expr::value(crafted),
        )
        .filter(message_attachments::Column::Id.eq(foreign.id.as_str()))
        .exec(&h.db)
        .await
        .expect("crafted");
    h.fake.update_faults(|f| f.cdn_fail_first = 2);

    let summary = h
        .fetcher_with(|s| s.max_bytes = 2 * 1024 * 1024)
        .run_until_idle()
        .await
        .expect("fetch");
    let files = h.files().await;
    assert_eq!(files[&big].1.state, state::SKIPPED);
    assert_eq!(files[&big].1.reason.as_deref(), Some("too large"));
    assert_eq!(files[&foreign_id].1.state, state::SKIPPED);
    assert_eq!(
        files[&foreign_id].1.reason.as_deref(),
        Some("not a Discord CDN link")
    );
    let stats = h.fake.cdn_stats();
    assert!(
        !stats.requests.contains_key(&big),
        "a too-large file was requested"
    );
    assert!(
        !stats.requests.contains_key(&foreign_id),
        "a foreign URL was requested"
    );
    for (id, (_, file)) in &files {
        if *id != big && *id != foreign_id {
            assert_eq!(file.state, state::STORED, "{id}: {:?}", file.reason);
            // Two failures, then the download.
            assert_eq!(stats.requests.get(id), Some(&3), "{id}");
            assert_eq!(stats.downloads_completed.get(id), Some(&1), "{id}");
        }
    }
    assert_eq!(
        summary.failures,
        2 * (files.len() as u64 - 2),
        "{summary:?}"
    );
    h.verified_blobs().await;
}

async fn dedupe_and_gc(h: Harness) {
    h.sync().await;
    h.fetcher().run_until_idle().await.expect("fetch");
    assert_every_attachment_stored_and_identical(&h, &BTreeSet::new()).await;
    let files = h.files().await;
    let tenant_of = |file: &attachment_files::Model| file.tenant_id.clone();
    let mut hashes_per_tenant: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, file) in files.values() {
        hashes_per_tenant
            .entry(tenant_of(file))
            .or_default()
            .insert(file.sha256.clone().expect("hash"));
    }
    let (a, b) = (&h.tenants[0].id, &h.tenants[1].id);
    let shared: BTreeSet<&String> = hashes_per_tenant[a]
        .intersection(&hashes_per_tenant[b])
        .collect();
    assert!(!shared.is_empty(), "the two guilds share no file");
    let blobs = h.verified_blobs().await;
    let distinct: BTreeSet<&String> = hashes_per_tenant.values().flatten().collect();
    assert_eq!(blobs.len(), distinct.len(), "one blob per distinct content");
    assert!(blobs.len() < files.len(), "no file appears twice");

    // Deleting the second tenant, then collecting: its own blobs go, shared ones stay.
    let tenant_b: uuid::Uuid = b.parse().expect("uuid");
    service::tenants::delete(&h.db, tenant_b)
        .await
        .expect("delete");
    let gc = service::files::gc(&h.db, &h.store).await.expect("gc");
    let only_b: BTreeSet<&String> = hashes_per_tenant[b]
        .difference(&hashes_per_tenant[a])
        .collect();
    assert_eq!(gc.removed, only_b.len() as u64, "{gc:?}");
    let after = h.verified_blobs().await;
    assert_eq!(
        after, hashes_per_tenant[a],
        "exactly the first tenant's blobs remain"
    );
    for hash in shared {
        assert!(after.contains(hash));
    }
}

#[tokio::test]
async fn identical_files_are_stored_once_across_tenants_and_gc_keeps_shared_ones() {
    dedupe_and_gc(Harness::new(vec![files_guild(21), files_guild(22)]).await).await;
}

#[tokio::test]
async fn identical_files_are_stored_once_across_tenants_and_gc_keeps_shared_ones_s3() {
    let Ok(url) = std::env::var("VERTA_TEST_S3_URL") else {
        eprintln!("VERTA_TEST_S3_URL is not set: the S3 leg of scripts/test.sh runs this test");
        return;
    };
    let bucket = url
        .trim_start_matches("s3://")
        .trim_end_matches('/')
        .to_owned();
    let store = AttachmentStoreUrl::S3 {
        bucket,
        prefix: format!("e2e-{}", uuid::Uuid::new_v4().simple()),
    };
    dedupe_and_gc(Harness::with_store(vec![files_guild(23), files_guild(24)], Some(store)).await)
        .await;
}

#[tokio::test]
async fn files_are_not_queued_when_turned_off_and_are_backfilled_when_turned_on() {
    let mut h = Harness::new(vec![files_guild(31)]).await;
    h.config.sync_attachment_files = false;
    h.sync().await;
    assert!(
        attachment_files::Entity::find()
            .all(&h.db)
            .await
            .expect("rows")
            .is_empty()
    );
    assert_eq!(
        h.fetcher().run_until_idle().await.expect("off"),
        Default::default()
    );
    assert!(h.fake.cdn_stats().requests.is_empty());
    // Turned on: the next sync queues the earlier attachments too.
    h.config.sync_attachment_files = true;
    h.sync().await;
    h.fetcher().run_until_idle().await.expect("fetch");
    assert_every_attachment_stored_and_identical(&h, &BTreeSet::new()).await;
}

fn verta(h: &Harness) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_verta"));
    cmd.env("DATABASE_URL", &h.config.database_url)
        .env("DISCORD_BOT_TOKEN", h.fake.token())
        .env("DISCORD_API_PROXY", h.fake.proxy())
        .env("SYNC_INTERVAL_SECS", "0")
        .env("SYNC_RESCAN_WINDOW_SECS", "0")
        .env("ADMIN_API_KEY", "unused")
        .env(
            "ATTACHMENT_STORE",
            h.config
                .attachment_store
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
    cmd
}

/// Run `cmd` (what it is: `what`) and return its output; fails the test, with its stderr,
/// when it does not exit successfully.
fn run_ok(cmd: &mut std::process::Command, what: &str) -> std::process::Output {
    let out = cmd.output().expect(what);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
async fn a_killed_worker_leaves_no_partial_blob_and_stored_files_are_not_fetched_again() {
    let mut spec = files_guild(41).with_messages_per_channel(5);
    spec.attachment_share = 0.0;
    let h = Harness::new(vec![spec]).await;
    for i in 0..12 {
        h.add_file(&format!("part-{i}.bin"), 1024 * 1024);
    }
    // 4 MiB/s per download: each file takes about a quarter of a second.
    h.fake
        .update_faults(|f| f.cdn_bytes_per_sec = 4 * 1024 * 1024);
    queue::enqueue(
        &h.db,
        NewJob {
            tenant_id: h.tenants[0].id.clone(),
            sync_type: SyncType::Incremental,
            trigger: Trigger::Cli,
            channel_ids: None,
            retry_of: None,
        },
    )
    .await
    .expect("enqueue");
    let mut child = verta(&h)
        .arg("worker")
        .env("SYNC_ATTACHMENT_CONCURRENCY", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn verta worker");
    let stored_count = || async {
        attachment_files::Entity::find()
            .filter(attachment_files::Column::State.eq(state::STORED))
            .all(&h.db)
            .await
            .expect("rows")
            .len()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while stored_count().await < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker stored nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL the worker");
    let _ = child.wait();
    let files = h.files().await;
    let stored_before: BTreeSet<u64> = files
        .iter()
        .filter(|(_, (_, f))| f.state == state::STORED)
        .map(|(id, _)| *id)
        .collect();
    assert!(
        stored_before.len() < files.len(),
        "finished before it was killed"
    );
    // No partial blob under a final name; every stored row has its blob.
    let blobs = h.verified_blobs().await;
    for (_, file) in files.values() {
        if file.state == state::STORED {
            assert!(blobs.contains(file.sha256.as_deref().expect("hash")));
        }
    }

    // Another worker takes over the job and the files once the dead worker's leases (30 s)
    // have expired.
    h.fake.update_faults(|f| f.cdn_bytes_per_sec = 0);
    let expected = h.truth_hashes(h.tenants[0].guild).len();
    let fetcher = h.fetcher();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while stored_count().await < expected {
        assert!(std::time::Instant::now() < deadline, "never resumed");
        h.sync().await;
        fetcher.run_until_idle().await.expect("fetch");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_every_attachment_stored_and_identical(&h, &BTreeSet::new()).await;
    let completed = h.fake.cdn_stats().downloads_completed;
    for id in &stored_before {
        assert_eq!(completed.get(id), Some(&1), "{id} was downloaded again");
    }
}

#[tokio::test]
async fn files_status_and_gc_commands_print_json() {
    let h = Harness::new(vec![files_guild(51)]).await;
    h.sync().await;
    let status = |h: &Harness| -> Value {
        let out = run_ok(
            verta(h).args(["files", "status", "--tenant", "guild-0"]),
            "verta files status",
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let before = status(&h);
    let total = before["total"]["files"].as_u64().expect("total");
    assert!(total > 0);
    assert_eq!(before["pending"]["files"], total);
    assert_eq!(before["stored"]["files"], 0);
    h.fetcher().run_until_idle().await.expect("fetch");
    let after = status(&h);
    assert_eq!(after["stored"]["files"], total);
    assert_eq!(after["pending"]["files"], 0);
    assert!(after["blobs"]["files"].as_u64().expect("blobs") <= total);
    assert_eq!(after["tenant"], "guild-0");

    let out = run_ok(verta(&h).args(["files", "gc"]), "verta files gc");
    let gc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(gc["removed"], 0, "{gc}");
    assert_eq!(gc["blobs"], after["blobs"]["files"], "{gc}");

    let out = verta(&h)
        .args(["files", "status", "--tenant", "nope"])
        .output()
        .expect("unknown tenant");
    assert!(!out.status.success());
}

#[tokio::test]
async fn a_download_longer_than_its_lease_keeps_the_claim_and_is_not_fetched_twice() {
    let mut spec = files_guild(61).with_messages_per_channel(5);
    spec.attachment_share = 0.0;
    let h = Harness::new(vec![spec]).await;
    h.sync().await;
    h.add_file("slow.bin", 768 * 1024);
    h.sync().await;
    // About 3 s per download, with a 1 s lease renewed every third of it.
    h.fake.update_faults(|f| f.cdn_bytes_per_sec = 256 * 1024);
    let one = h.fetcher_with(|s| s.lease = Duration::from_secs(1));
    let two = h.fetcher_with(|s| s.lease = Duration::from_secs(1));
    let (a, b) = tokio::join!(one.run_until_idle(), async {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        two.run_until_idle().await
    });
    let (a, b) = (a.expect("one"), b.expect("two"));
    assert_eq!(
        a.stored + b.stored,
        h.files().await.len() as u64,
        "{a:?} {b:?}"
    );
    let stats = h.fake.cdn_stats();
    assert!(stats.requests.values().all(|n| *n == 1), "{stats:?}");
    assert_every_attachment_stored_and_identical(&h, &BTreeSet::new()).await;
}

#[tokio::test]
async fn hostile_file_names_are_synced_and_fetched_without_reaching_the_store() {
    let mut spec = files_guild(71).with_messages_per_channel(5);
    spec.attachment_share = 0.0;
    let h = Harness::new(vec![spec]).await;
    let names = [
        "../../../etc/passwd".to_owned(),
        "a/b\\c/..\\..\\d.png".to_owned(),
        "line\r\nbreak\u{0}\u{7}\u{1b}[31m.txt".to_owned(),
        "\"quoted\"; filename=evil.html".to_owned(),
        "é".repeat(1_000),
        "x".repeat(1_000),
        "..".to_owned(),
    ];
    for (i, name) in names.iter().enumerate() {
        h.add_file(name, 1_000 + i as u64);
    }
    h.sync().await;
    h.fetcher().run_until_idle().await.expect("fetch");
    assert_every_attachment_stored_and_identical(&h, &BTreeSet::new()).await;
    let stored: Vec<String> = h
        .files()
        .await
        .into_values()
        .map(|(a, _)| a.filename)
        .collect();
    for name in &names {
        let kept: String = name.chars().take(500).collect();
        assert!(stored.contains(&kept), "{name:?} not stored as {kept:?}");
    }
    // Nothing but the content-addressed layout (and the temporary directory) in the store.
    let root = match h.config.attachment_store.as_ref() {
        Some(AttachmentStoreUrl::File(dir)) => dir.clone(),
        other => panic!("expected a local store, got {other:?}"),
    };
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let relative = path.strip_prefix(&root).expect("inside the store");
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let ok = match parts.as_slice() {
                [top] => top == "sha256" || top == ".tmp",
                [top, a] | [top, a, _] => {
                    top == "sha256" && a.len() == 2 && a.bytes().all(|b| b.is_ascii_hexdigit())
                }
                [top, _, _, blob] => top == "sha256" && service::files::is_sha256(blob),
                _ => false,
            };
            assert!(ok, "unexpected path in the store: {relative:?}");
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
}

#[tokio::test]
async fn sync_start_wait_downloads_the_files_of_the_job() {
    let h = Harness::new(vec![files_guild(81)]).await;
    run_ok(
        verta(&h).args(["sync", "start", "--tenant", "guild-0", "--wait"]),
        "verta sync start --wait",
    );
    assert_every_attachment_stored_and_identical(&h, &BTreeSet::new()).await;
}
