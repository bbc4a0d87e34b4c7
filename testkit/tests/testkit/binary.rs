//! The `fake-discord` binary announces itself on its first stdout line and serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_proxy_token_and_guild_ids_then_serves_until_killed() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_fake-discord"))
            .args(["--port", "0", "--preset", "bench", "--channels", "2"])
            .args([
                "--messages",
                "1000",
                "--seed",
                "9",
                "--global-rate-limit",
                "50",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn fake-discord"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let info: Value = serde_json::from_str(&line).expect("first line is JSON");
    let proxy = info["proxy"].as_str().expect("proxy");
    assert!(proxy.starts_with("127.0.0.1:"));
    let token = info["token"].as_str().expect("token");
    let guild = info["guild_ids"][0].as_str().expect("guild id");
    let http = reqwest::Client::new();
    let channels: Value = http
        .get(format!("http://{proxy}/api/v10/guilds/{guild}/channels"))
        .header("authorization", format!("Bot {token}"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let text: Vec<&Value> = channels
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["type"] == 0)
        .collect();
    assert_eq!(text.len(), 2);
    let first_line_keys: Vec<&str> = line
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|k| ["proxy", "token", "guild_ids"].contains(k))
        .collect();
    assert_eq!(
        first_line_keys,
        ["proxy", "token", "guild_ids"],
        "documented key order"
    );
}
