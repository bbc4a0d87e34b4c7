use std::path::Path;
use std::process::Command;

use serde_json::Value;
use service::config::VARIABLES;

/// Runs the built `verta` binary with a clean environment pointing at `database_url`.
fn verta(database_url: &str, args: &[&str]) -> std::process::Output {
    verta_in(
        &std::env::temp_dir(),
        &[("DATABASE_URL", database_url), ("RUST_LOG", "info")],
        args,
    )
}

/// Runs the built `verta` binary in `dir` with only `PATH` and `env` in its environment.
fn verta_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_verta"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("the verta binary runs")
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_every_variable_with_its_default_and_never_a_secret_value() {
    let secrets = [
        ("ADMIN_API_KEY", "admin-key-value"),
        ("DISCORD_BOT_TOKEN", "bot-token-value"),
        ("ANONYMIZATION_SECRET", "anonymization-value"),
        ("DATABASE_URL", "mysql://verta:database-password@db/verta"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["sync", "start", "--help"],
        &["export", "--help"],
    ] {
        let out = verta_in(dir.path(), &secrets, args);
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        let help = String::from_utf8_lossy(&out.stdout);
        for variable in VARIABLES {
            assert!(
                help.contains(&format!("[env: {variable}")),
                "{args:?} does not list {variable}:\n{help}"
            );
        }
        for default in ["[default: 25000]", "[default: 50]", "[default: 3600]"] {
            assert!(
                help.contains(default),
                "{args:?}: {default} missing:\n{help}"
            );
        }
        for secret in [
            "admin-key-value",
            "bot-token-value",
            "anonymization-value",
            "database-password",
        ] {
            assert!(!help.contains(secret), "{args:?} prints {secret}:\n{help}");
        }
    }
}

#[test]
fn an_invalid_variable_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value) in [
        ("PORT", "abc"),
        ("DISCORD_GLOBAL_RATE_LIMIT", "0"),
        ("SYNC_REACTION_USERS", "maybe"),
        (
            "DATABASE_URL",
            "postgres://verta:database-password@db/verta",
        ),
    ] {
        let out = verta_in(dir.path(), &[(variable, value)], &["tenant", "list"]);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{variable}={value}: {stderr}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr.contains(&format!("invalid {variable}:")),
            "{variable}={value}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains("database-password"), "{stderr}");
    }
}

#[tokio::test]
async fn blank_variables_mean_their_defaults() {
    let db = testkit::db::TestDb::new().await;
    let url = db.url().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![("DATABASE_URL", url.as_str())];
        env.extend(
            VARIABLES
                .iter()
                .filter(|v| **v != "DATABASE_URL")
                .map(|v| (*v, " ")),
        );
        verta_in(dir.path(), &env, &["tenant", "list"])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        Value::Array(vec![])
    );
}

#[test]
fn dot_env_is_read_before_parsing_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "PORT=not-a-port\n").unwrap();
    let from_file = verta_in(dir.path(), &[], &["tenant", "list"]);
    assert_eq!(from_file.status.code(), Some(2));
    assert!(
        stderr_of(&from_file).contains("invalid PORT:"),
        "{}",
        stderr_of(&from_file)
    );

    let database = format!("sqlite://{}?mode=rwc", dir.path().join("v.db").display());
    let overridden = verta_in(
        dir.path(),
        &[("PORT", "8080"), ("DATABASE_URL", &database)],
        &["tenant", "list"],
    );
    assert!(overridden.status.success(), "{}", stderr_of(&overridden));
}

#[tokio::test]
async fn tenant_create_and_list_print_json_on_stdout() {
    let db = testkit::db::TestDb::new().await;
    let url = db.url().to_owned();
    let (a, b) = tokio::task::spawn_blocking(move || {
        let a = verta(
            &url,
            &[
                "tenant",
                "create",
                "--name",
                "CLI Guild",
                "--platform",
                "discord",
                "--platform-id",
                "42",
            ],
        );
        let b = verta(
            &url,
            &[
                "tenant",
                "create",
                "--name",
                "Other",
                "--slug",
                "other-one",
                "--platform",
                "slack",
                "--platform-id",
                "7",
            ],
        );
        (a, b)
    })
    .await
    .unwrap();
    assert!(
        a.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert!(
        b.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&b.stderr)
    );
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
            &[
                "tenant",
                "create",
                "--name",
                "X",
                "--slug",
                "Bad Slug",
                "--platform",
                "irc",
                "--platform-id",
                "1",
            ],
        )
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("slug") && stderr.contains("platform"),
        "{stderr}"
    );
}

/// A free TCP port on loopback (bound and released; good enough for one test server).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `verta serve --no-worker` on `port` with JSON logs, `env` in its environment (nothing
/// else but `PATH`) and stderr piped.
pub(crate) fn spawn_serve(
    database_url: &str,
    port: u16,
    env: &[(&str, &str)],
    stdout: std::process::Stdio,
) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_verta"))
        .args(["serve", "--no-worker"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("verta serve starts")
}

/// Waits until the server on `port` answers `/health`; returns its base URL.
pub(crate) async fn wait_until_up(port: u16) -> String {
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            return base;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("server did not come up on port {port}");
}

/// Sends SIGTERM and collects the output (killing the process after 20 s).
pub(crate) async fn stop(mut child: std::process::Child) -> std::process::Output {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn serve_logs_a_generated_key_as_json_and_stops_cleanly_on_sigterm() {
    let db = testkit::db::TestDb::new().await;
    let port = free_port();
    let child = spawn_serve(
        db.url(),
        port,
        &[("RUST_LOG", "info")],
        std::process::Stdio::piped(),
    );
    let base = wait_until_up(port).await;
    let client = reqwest::Client::new();
    let unauthorized = client.get(format!("{base}/api")).send().await.unwrap();
    assert_eq!(unauthorized.status(), reqwest::StatusCode::UNAUTHORIZED);
    let request_id = unauthorized.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let output = stop(child).await;
    assert!(output.status.success(), "exit status {:?}", output.status);
    assert!(output.stdout.is_empty(), "serve prints nothing on stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON log line: {l}")))
        .collect();
    let key_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["admin_api_key"].is_string())
        .collect();
    assert_eq!(
        key_lines.len(),
        1,
        "the generated key is logged exactly once:\n{stderr}"
    );
    assert_eq!(key_lines[0]["admin_api_key"].as_str().unwrap().len(), 64);
    let access = lines
        .iter()
        .find(|l| l["message"] == "request completed" && l["span"]["request_id"] == request_id)
        .unwrap_or_else(|| panic!("access log line with request id {request_id}:\n{stderr}"));
    assert_eq!(access["status"], 401);
    assert_eq!(access["span"]["http.route"], "/api");
}

#[tokio::test]
async fn serve_answers_with_the_generated_key() {
    let db = testkit::db::TestDb::new().await;
    let port = free_port();
    let mut child = spawn_serve(
        db.url(),
        port,
        &[("RUST_LOG", "warn")],
        std::process::Stdio::null(),
    );
    let stderr = child.stderr.take().unwrap();
    // The key line is the first warning.
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stderr);
        let mut line = String::new();
        reader.read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let key = serde_json::from_str::<Value>(&line).unwrap()["admin_api_key"]
        .as_str()
        .unwrap_or_else(|| panic!("first log line carries the key: {line}"))
        .to_owned();
    let client = reqwest::Client::new();
    let mut answered = None;
    for _ in 0..200 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/api/tenants"))
            .header("X-API-KEY", &key)
            .send()
            .await
        {
            answered = Some(r.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answered, Some(reqwest::StatusCode::OK));
}
