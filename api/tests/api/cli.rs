use std::process::Command;

use serde_json::Value;

/// Runs the built `verta` binary with a clean environment pointing at `database_url`.
fn verta(database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_verta"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "info")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the verta binary runs")
}

#[tokio::test]
async fn tenant_create_and_list_print_json_on_stdout() {
    let db = testkit::db::TestDb::new().await;
    let url = db.url().to_owned();
    let (a, b) = tokio::task::spawn_blocking(move || {
        let a = verta(
            &url,
            &["tenant", "create", "--name", "CLI Guild", "--platform", "discord", "--platform-id", "42"],
        );
        let b = verta(
            &url,
            &["tenant", "create", "--name", "Other", "--slug", "other-one", "--platform", "slack", "--platform-id", "7"],
        );
        (a, b)
    })
    .await
    .unwrap();
    assert!(a.status.success(), "stderr: {}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "stderr: {}", String::from_utf8_lossy(&b.stderr));
    let created: Value = serde_json::from_slice(&a.stdout).expect("stdout is JSON");
    assert_eq!(created["slug"], "cli-guild");
    assert!(uuid::Uuid::parse_str(created["id"].as_str().unwrap()).is_ok());
    assert_eq!(created["platformId"], "42");

    let url = db.url().to_owned();
    let listed = tokio::task::spawn_blocking(move || verta(&url, &["tenant", "list"]))
        .await
        .unwrap();
    assert!(listed.status.success());
    let list: Value = serde_json::from_slice(&listed.stdout).expect("stdout is JSON");
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs.len(), 2);
    assert!(slugs.contains(&"cli-guild") && slugs.contains(&"other-one"));
}

#[tokio::test]
async fn invalid_tenant_create_fails_with_a_message_on_stderr() {
    let db = testkit::db::TestDb::new().await;
    let url = db.url().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        verta(
            &url,
            &["tenant", "create", "--name", "X", "--slug", "Bad Slug", "--platform", "irc", "--platform-id", "1"],
        )
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("slug") && stderr.contains("platform"), "{stderr}");
}
