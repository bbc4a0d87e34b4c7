//! `verta demo` as a user runs it: the built binary, its JSON line on stdout, the server it
//! leaves running, and its shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use testkit::db::{Backend, TestDb};

/// Small enough to sync in a few seconds, large enough for several pages per channel.
const MESSAGES: u64 = 600;
const SEED: u64 = 7;

/// What a user keeps in the working directory, which the demo must leave alone.
const USER_DATABASE: &[u8] = b"the user's own archive";

/// `verta demo --port 0 --messages MESSAGES --seed SEED [extra]` in `dir`, with a clean
/// environment and stdout/stderr piped.
fn spawn_demo(dir: &std::path::Path, extra: &[&str]) -> Child {
    let (messages, seed) = (MESSAGES.to_string(), SEED.to_string());
    Command::new(env!("CARGO_BIN_EXE_verta"))
        .args([
            "demo",
            "--port",
            "0",
            "--messages",
            &messages,
            "--seed",
            &seed,
        ])
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("verta demo starts")
}

/// The truth of the demo's guild: (guild id, channels to store, messages to store).
fn truth() -> (u64, usize, u64) {
    let demo = testkit::demo::DemoDiscord::start(MESSAGES, SEED).expect("the fake starts");
    let truth = demo.fake().truth(demo.guild_id()).expect("the demo guild");
    (demo.guild_id(), truth.channels.len(), truth.message_count())
}

#[tokio::test]
async fn demo_syncs_the_fake_guild_serves_it_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // On MariaDB the demo archives into the test database; on SQLite it makes its own file,
    // replacing a stale one and never touching the user's verta.db beside it.
    let test_db = match testkit::db::backend() {
        Backend::MariaDb => Some(TestDb::new().await),
        Backend::Sqlite => None,
    };
    let extra: Vec<&str> = match &test_db {
        Some(db) => vec!["--demo-database-url", db.url()],
        None => {
            std::fs::write(dir.path().join("verta.db"), USER_DATABASE).unwrap();
            std::fs::write(dir.path().join("verta-demo.db"), b"stale, not SQLite").unwrap();
            vec![]
        }
    };
    let mut child = spawn_demo(dir.path(), &extra);

    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = tokio::task::spawn_blocking(move || {
        let line = lines.recv_timeout(Duration::from_secs(180));
        (line, lines)
    })
    .await
    .unwrap();
    let (line, lines) = first;
    let Ok(line) = line else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "no JSON line on stdout; stderr:\n{}",
            stderr.join().unwrap()
        );
    };
    let summary: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let scheme = if test_db.is_some() {
        "mysql://"
    } else {
        "sqlite://"
    };
    assert!(
        summary["database"].as_str().unwrap().starts_with(scheme),
        "{summary}"
    );

    let (guild_id, truth_channels, truth_messages) =
        tokio::task::spawn_blocking(truth).await.unwrap();
    assert_eq!(summary["tenant"]["slug"], "demo");
    assert_eq!(summary["fakeDiscord"]["guildId"], guild_id.to_string());
    assert_eq!(summary["fakeDiscord"]["seed"], SEED);
    assert_eq!(summary["messages"], truth_messages, "{summary}");
    assert_eq!(summary["channels"], truth_channels, "{summary}");
    assert!(
        summary["examples"]["channels"]
            .as_str()
            .unwrap()
            .contains("X-Tenant-Slug: demo"),
        "{summary}"
    );

    let api = summary["apiUrl"].as_str().unwrap().to_owned();
    let key = summary["adminKey"].as_str().unwrap().to_owned();
    let tenant_id = summary["tenant"]["id"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();

    let channels = client
        .get(format!("{api}/api/v1/channels"))
        .header("X-Tenant-Slug", "demo")
        .send()
        .await
        .unwrap();
    assert_eq!(channels.status(), StatusCode::OK);
    let channels: Value = channels.json().await.unwrap();
    let channels = channels["data"].as_array().expect("a channel list");
    assert_eq!(channels.len(), truth_channels);
    let stored: u64 = channels
        .iter()
        .map(|c| c["messageCount"].as_u64().unwrap())
        .sum();
    assert_eq!(stored, truth_messages);

    // The archive website of the demo tenant answers at the advertised URL.
    let site_url = summary["siteUrl"].as_str().unwrap();
    assert_eq!(site_url, format!("{api}/archive/demo/"));
    let home = client.get(site_url).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(
        home.text()
            .await
            .unwrap()
            .contains("<h1>Verta Demo Guild</h1>")
    );

    // The search example finds messages once the indexer has caught up with the sync.
    let example = summary["examples"]["search"].as_str().unwrap();
    let search_url = example.rsplit('\'').nth(1).unwrap().to_owned();
    assert!(
        search_url.starts_with(&format!("{api}/api/v1/search?q=")),
        "{example}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let page: Value = client
            .get(&search_url)
            .header("X-Tenant-Slug", "demo")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if page["meta"]["total"].as_u64().unwrap_or(0) > 0 {
            assert!(!page["data"].as_array().unwrap().is_empty(), "{page}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the search example found nothing: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }

    let tenants = client
        .get(format!("{api}/api/tenants"))
        .send()
        .await
        .unwrap();
    assert_eq!(tenants.status(), StatusCode::UNAUTHORIZED);
    let tenants = client
        .get(format!("{api}/api/tenants"))
        .header("X-API-KEY", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(tenants.status(), StatusCode::OK);
    let tenants = tenants.text().await.unwrap();
    assert!(tenants.contains(&tenant_id), "{tenants}");

    let status = client
        .get(format!("{api}/api/tenants/{tenant_id}/sync/status"))
        .header("X-API-KEY", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    let status: Value = status.json().await.unwrap();
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["id"], summary["syncJob"]["id"]);
    assert_eq!(status["progress"]["messagesProcessed"], truth_messages);
    drop(client);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    })
    .await
    .unwrap();
    let stderr = stderr.join().unwrap();
    let exit = exit.unwrap_or_else(|| panic!("still running 15 s after SIGTERM:\n{stderr}"));
    assert!(exit.success(), "exit status {exit:?}:\n{stderr}");
    // The reader ends at EOF, now that the process has exited.
    let more: Vec<String> = lines.iter().collect();
    assert!(more.is_empty(), "one JSON line only, then: {more:?}");
    assert!(stderr.contains("verta demo: stopped"), "{stderr}");

    if test_db.is_none() {
        let user_db = std::fs::read(dir.path().join("verta.db")).unwrap();
        assert_eq!(user_db, USER_DATABASE, "the user's verta.db was touched");
        let demo_db = std::fs::read(dir.path().join("verta-demo.db")).unwrap();
        assert!(
            demo_db.starts_with(b"SQLite format 3\0"),
            "a fresh SQLite file"
        );
    }
}
