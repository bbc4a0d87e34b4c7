//! The search index seen from the `verta` binary: `verta search reindex` (its JSON summary,
//! `--tenant`, the one-writer rule against a running `verta serve`), a `verta serve` killed
//! while it builds the index and started again (no message lost or indexed twice), a corrupt
//! index rebuilt on start, and a rebuilt index equal to the one a running app kept up to date
//! while a sync wrote.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::Value;
use service::anonymize::Anonymizer;
use service::repo::{self, channels::ChannelKind, channels::ChannelRow, messages::MessageRow};
use service::search::{SearchIndex, SearchRequest, Sort};
use uuid::Uuid;

use crate::archive_data::snowflake;
use crate::cli::{free_port, spawn_serve, stop, wait_until_up};
use crate::helpers::fresh_db;
use crate::search_api::{twin_tenant, visible_tenant_messages};

/// Runs `verta <args>` with only `PATH`, `DATABASE_URL`, `SEARCH_INDEX_DIR` and `RUST_LOG`.
async fn verta(database_url: &str, index_dir: &Path, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verta"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("SEARCH_INDEX_DIR", index_dir)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir());
    tokio::task::spawn_blocking(move || command.output().expect("the verta binary runs"))
        .await
        .unwrap()
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Waits until every write made so far is older than the indexer's horizon (the last whole
/// second that ended `LAG` ago).
async fn past_the_horizon() {
    let ms = 1_000 - u64::from(chrono::Utc::now().timestamp_subsec_millis());
    tokio::time::sleep(
        Duration::from_millis(ms) + service::search::LAG + Duration::from_millis(1_100),
    )
    .await;
}

/// The ids of every hit of `q` sorted newest first, page by page.
async fn newest_ids(
    index: &SearchIndex,
    db: &DatabaseConnection,
    tenant: &str,
    q: &str,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = index
            .search(
                db,
                tenant,
                &SearchRequest {
                    q: q.to_owned(),
                    limit: 100,
                    cursor: cursor.take(),
                    sort: Sort::Newest,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        ids.extend(page.hits.into_iter().map(|h| h.message.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn reindex_prints_the_summary_and_the_index_then_answers_queries() {
    let (test_db, db) = fresh_db().await;
    let anon = Anonymizer::new(None);
    let (tenant, ids, _) = twin_tenant(&db, &anon, "lab").await;
    twin_tenant(&db, &anon, "other").await;
    past_the_horizon().await;
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("index");
    {
        // A new index answers, and says it is not complete yet.
        let index = SearchIndex::open(&index_dir).unwrap();
        let request = SearchRequest {
            q: "apple".into(),
            limit: 10,
            cursor: None,
            sort: Sort::Newest,
        };
        let page = index.search(&db, &tenant, &request).await.unwrap();
        assert!(!page.complete && page.hits.is_empty() && page.total == 0);
    }

    let out = verta(test_db.url(), &index_dir, &["search", "reindex"]).await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON summary");
    assert_eq!(summary["tenants"], 2, "{summary}");
    assert_eq!(summary["messages"], 90, "{summary}");
    assert_eq!(
        summary["indexDir"],
        index_dir.to_str().unwrap(),
        "{summary}"
    );
    assert!(summary["indexBytes"].as_u64().unwrap() > 0, "{summary}");
    assert!(summary["seconds"].as_f64().unwrap() >= 0.0, "{summary}");

    let out = verta(
        test_db.url(),
        &index_dir,
        &["search", "reindex", "--tenant", "lab"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["tenants"].as_u64(), summary["messages"].as_u64()),
        (Some(1), Some(45))
    );

    let index = SearchIndex::open(&index_dir).unwrap();
    assert!(index.is_built().await);
    let request = SearchRequest {
        q: "apple".into(),
        limit: 10,
        cursor: None,
        sort: Sort::Newest,
    };
    assert!(index.search(&db, &tenant, &request).await.unwrap().complete);
    assert_eq!(index.document_count(Some(&tenant)).unwrap(), 45);
    assert_eq!(index.document_count(None).unwrap(), 90);
    let found = newest_ids(&index, &db, &tenant, "apple").await;
    assert!(!found.is_empty());
    assert!(found.iter().all(|id| ids.contains(id)));
    for id in ids.iter().take(10) {
        assert_eq!(index.copies_of(id).unwrap(), 1, "{id}");
    }
}

#[tokio::test]
async fn reindex_of_an_unknown_tenant_fails_clearly() {
    let (test_db, _db) = fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    let out = verta(
        test_db.url(),
        dir.path(),
        &["search", "reindex", "--tenant", "nobody"],
    )
    .await;
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("tenant not found: nobody"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn reindex_refuses_an_index_a_running_serve_holds() {
    let (test_db, _db) = fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("index");
    let port = free_port();
    let serve = spawn_serve(
        test_db.url(),
        port,
        &[
            ("SEARCH_INDEX_DIR", index_dir.to_str().unwrap()),
            ("RUST_LOG", "warn"),
        ],
        Stdio::null(),
    );
    wait_until_up(port).await;
    let out = verta(test_db.url(), &index_dir, &["search", "reindex"]).await;
    let stderr = stderr_of(&out);
    stop(serve).await;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    let line = stderr
        .lines()
        .find(|l| l.starts_with("verta: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(line.contains("is in use by another process"), "{line}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A tenant `crash` with `n` short messages over a few channels, `deleted` of them marked
/// deleted; returns (tenant id, every message id, visible count).
async fn big_tenant(db: &DatabaseConnection, n: u64, deleted: u64) -> (String, Vec<String>, u64) {
    let tenant = service::tenants::create(
        db,
        &service::tenants::CreateTenant {
            name: Some("Crash".into()),
            slug: Some("crash".into()),
            platform: Some("discord".into()),
            platform_id: Some("crash".into()),
            status: None,
        },
    )
    .await
    .unwrap();
    let channels: Vec<ChannelRow> = (0..4)
        .map(|c| ChannelRow {
            tenant_id: tenant.id,
            platform_channel_id: format!("40{c}"),
            name: format!("room-{c}"),
            kind: ChannelKind::Text,
            parent_channel_id: None,
            metadata: None,
        })
        .collect();
    repo::channels::upsert(db, &channels).await.unwrap();
    let channel_ids: Vec<Uuid> = channels.iter().map(ChannelRow::id).collect();
    let start = chrono::Utc::now() - chrono::Duration::days(30);
    let mut ids = Vec::with_capacity(n as usize);
    let mut batch = Vec::with_capacity(5_000);
    for i in 0..n {
        let at = start + chrono::Duration::seconds(i as i64);
        let row = MessageRow {
            channel_id: channel_ids[(i % 4) as usize],
            platform_message_id: snowflake(at, i),
            anonymized_author_id: format!("{:064x}", i % 13),
            content: format!("crash word{} number {i}", i % 97),
            reply_to_id: None,
            metadata: None,
            platform_created_at: at,
        };
        ids.push(row.id().to_string());
        batch.push(row);
        if batch.len() == 5_000 {
            repo::messages::upsert(db, &batch).await.unwrap();
            batch.clear();
        }
    }
    repo::messages::upsert(db, &batch).await.unwrap();
    let now = service::db::now();
    let marks: Vec<(String, Value)> = ids
        .iter()
        .take(deleted as usize)
        .map(|id| {
            (
                id.clone(),
                service::sync::rows::deleted_message_metadata(None, now).unwrap(),
            )
        })
        .collect();
    repo::messages::set_metadata(db, &marks, now).await.unwrap();
    (tenant.id.to_string(), ids, n - deleted)
}

/// `meta.total` of `q` on a running server, `None` while it does not answer 200.
async fn total_of(client: &reqwest::Client, base: &str, slug: &str, q: &str) -> Option<u64> {
    let response = client
        .get(format!("{base}/api/v1/search"))
        .query(&[("q", q), ("limit", "1")])
        .header("X-Tenant-Slug", slug)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json::<Value>().await.ok()?["meta"]["total"].as_u64()
}

/// Polls until the server's total of `q` is `expected` (at most `within`).
async fn wait_for_total(base: &str, slug: &str, q: &str, expected: u64, within: Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + within;
    let mut last = None;
    while Instant::now() < deadline {
        last = total_of(&client, base, slug, q).await;
        if last == Some(expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{q}: total {last:?}, expected {expected}");
}

#[tokio::test]
async fn serve_killed_while_building_the_index_restarts_without_loss_or_duplicates() {
    let (test_db, db) = fresh_db().await;
    let (tenant, ids, visible) = big_tenant(&db, 120_000, 25).await;
    let dir = tempfile::tempdir().unwrap();
    let index_dir = dir.path().join("index");
    let index_env = index_dir.to_str().unwrap().to_owned();

    let port = free_port();
    let mut first = spawn_serve(
        test_db.url(),
        port,
        &[("SEARCH_INDEX_DIR", &index_env), ("RUST_LOG", "info")],
        Stdio::null(),
    );
    // Kill it once the build has started (and well before it can finish); its log, read to
    // the end, shows the build never finished.
    let stderr = first.stderr.take().unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut log = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("building the search index from the database") {
                let _ = started_tx.send(());
            }
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    let started = tokio::task::spawn_blocking(move || {
        started_rx.recv_timeout(Duration::from_secs(60)).is_ok()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let log = reader.join().unwrap();
    assert!(started, "serve did not start building:\n{log}");
    assert!(
        !log.contains("search index built"),
        "the build finished before the kill:\n{log}"
    );

    let port = free_port();
    let second = spawn_serve(
        test_db.url(),
        port,
        &[("SEARCH_INDEX_DIR", &index_env), ("RUST_LOG", "warn")],
        Stdio::null(),
    );
    let base = wait_until_up(port).await;
    wait_for_total(&base, "crash", "crash", visible, Duration::from_secs(180)).await;
    let output = stop(second).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let index = SearchIndex::open(&index_dir).unwrap();
    assert!(index.is_built().await);
    assert_eq!(index.document_count(Some(&tenant)).unwrap(), visible);
    assert_eq!(visible_tenant_messages(&db, &tenant).await, visible);
    for id in ids.iter().skip(25).step_by(997) {
        assert_eq!(index.copies_of(id).unwrap(), 1, "{id}");
    }
    for id in ids.iter().take(25) {
        assert_eq!(index.copies_of(id).unwrap(), 0, "deleted {id}");
    }
}

#[tokio::test]
async fn a_corrupt_index_is_moved_aside_and_rebuilt_on_start() {
    let (test_db, db) = fresh_db().await;
    let anon = Anonymizer::new(None);
    let (tenant, _, _) = twin_tenant(&db, &anon, "lab").await;
    past_the_horizon().await;
    let dir = tempfile::tempdir().unwrap();
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 3] = [
        ("garbled meta.json", |d| {
            std::fs::write(d.join("meta.json"), b"{\"segments\": [garbage").unwrap()
        }),
        ("truncated meta.json", |d| {
            let meta = std::fs::read(d.join("meta.json")).unwrap();
            std::fs::write(d.join("meta.json"), &meta[..meta.len() / 2]).unwrap()
        }),
        ("a deleted segment file", |d| {
            let file = std::fs::read_dir(d)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "idx"))
                .expect("a segment file");
            std::fs::remove_file(file).unwrap()
        }),
    ];
    for (i, (what, damage)) in damages.into_iter().enumerate() {
        let index_dir = dir.path().join(format!("index-{i}"));
        let out = verta(test_db.url(), &index_dir, &["search", "reindex"]).await;
        assert!(out.status.success(), "{what}: {}", stderr_of(&out));
        damage(&index_dir);

        let port = free_port();
        let serve = spawn_serve(
            test_db.url(),
            port,
            &[
                ("SEARCH_INDEX_DIR", index_dir.to_str().unwrap()),
                ("RUST_LOG", "warn"),
            ],
            Stdio::null(),
        );
        let base = wait_until_up(port).await;
        // Every message of the tenant has a link.
        wait_for_total(&base, "lab", "has:link", 45, Duration::from_secs(30)).await;
        let output = stop(serve).await;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(
            dir.path().join(format!("index-{i}.broken")).is_dir(),
            "{what}: not moved aside"
        );
        let index = SearchIndex::open(&index_dir).unwrap();
        assert_eq!(index.document_count(Some(&tenant)).unwrap(), 45, "{what}");
    }
}

#[tokio::test]
async fn reindex_equals_the_index_kept_up_to_date_while_a_sync_wrote() {
    let site = crate::website::synced_site(400, 31).await;
    let app = &site.app;
    let tenant = &site.tenant_id;
    let visible = visible_tenant_messages(&app.db, tenant).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.search.document_count(Some(tenant)).unwrap() != visible {
        assert!(
            Instant::now() < deadline,
            "the app's indexer did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    past_the_horizon().await;
    let dir = tempfile::tempdir().unwrap();
    let out = verta(app.test_db.url(), dir.path(), &["search", "reindex"]).await;
    assert!(out.status.success(), "{}", stderr_of(&out));
    let rebuilt = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(
        rebuilt.document_count(Some(tenant)).unwrap(),
        app.search.document_count(Some(tenant)).unwrap()
    );
    assert_eq!(rebuilt.document_count(None).unwrap(), visible);

    let channel = crate::search_api::biggest_channel(&app.db, tenant.parse().unwrap()).await;
    let author = entity::messages::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .anonymized_author_id;
    let queries = [
        "archive".to_owned(),
        "hello world".to_owned(),
        "\"hello world\"".to_owned(),
        "sy*".to_owned(),
        "rust -sync".to_owned(),
        "日本語".to_owned(),
        "🎉".to_owned(),
        "cafe".to_owned(),
        "has:attachment".to_owned(),
        "has:image".to_owned(),
        "has:link".to_owned(),
        "pinned:true".to_owned(),
        format!("in:{}", channel.id),
        format!("from:{author}"),
        "after:2015-01-01 message".to_owned(),
    ];
    let mut compared = 0;
    for q in &queries {
        let kept = newest_ids(&app.search, &app.db, tenant, q).await;
        let built = newest_ids(&rebuilt, &app.db, tenant, q).await;
        assert_eq!(kept, built, "{q}");
        compared += kept.len();
    }
    assert!(
        compared > 100,
        "the queries found too little to compare: {compared}"
    );
}
