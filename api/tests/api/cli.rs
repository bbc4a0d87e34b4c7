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
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `verta serve --no-worker` on `port` with JSON logs at `rust_log`, no ADMIN_API_KEY (so a
/// key is generated) and stderr piped.
fn spawn_serve(
    database_url: &str,
    port: u16,
    rust_log: &str,
    stdout: std::process::Stdio,
) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_verta"))
        .args(["serve", "--no-worker"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", rust_log)
        .current_dir(std::env::temp_dir())
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("verta serve starts")
}

#[tokio::test]
async fn serve_logs_a_generated_key_as_json_and_stops_cleanly_on_sigterm() {
    let db = testkit::db::TestDb::new().await;
    let port = free_port();
    let mut child = spawn_serve(db.url(), port, "info", std::process::Stdio::piped());
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "server did not come up");
    let unauthorized = client.get(format!("{base}/api")).send().await.unwrap();
    assert_eq!(unauthorized.status(), reqwest::StatusCode::UNAUTHORIZED);
    let request_id = unauthorized.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || {
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
    .unwrap();
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
    let mut child = spawn_serve(db.url(), port, "warn", std::process::Stdio::null());
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
