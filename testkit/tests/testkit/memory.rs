//! Serving a ten-million-message channel keeps memory flat: pages are computed from
//! snowflake arithmetic, never materialised. Measured on a separate `fake-discord`
//! process so that other tests running in this process do not disturb the numbers.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;
use testkit::fake_discord::{Guild, GuildSpec};

use crate::helpers::ids;

/// Resident set size of a process in KiB (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serving_a_ten_million_message_channel_keeps_memory_flat() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_fake-discord"))
            .args(["--port", "0", "--preset", "bench", "--channels", "1"])
            .args(["--messages", "10000000", "--reaction-share", "0.1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn fake-discord"),
    );
    let pid = child.0.id();
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let info: Value = serde_json::from_str(&line).expect("announcement");
    let proxy = info["proxy"].as_str().expect("proxy").to_string();
    let auth = format!("Bot {}", info["token"].as_str().expect("token"));
    // The same spec, generated here, tells where the deep pages are.
    let spec = GuildSpec::bench(1, 10_000_000, 0.1);
    let g = Guild::generate(&spec);
    let ch = g
        .initial_channels()
        .find(|c| c.kind.has_messages())
        .expect("text");
    assert_eq!(ch.message_count, 10_000_000);
    let http = reqwest::Client::new();
    let get = |query: String| {
        let req = http
            .get(format!(
                "http://{proxy}/api/v10/channels/{}/messages?{query}",
                ch.id
            ))
            .header("authorization", auth.clone());
        async move {
            let v: Value = req
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            ids(&v)
        }
    };
    // Warm up (allocator arenas of both workers, connection) before the baseline.
    for _ in 0..20 {
        get("limit=100".into()).await;
    }
    let Some(before) = rss_kib(pid) else {
        eprintln!("no /proc/<pid>/status: memory not measured");
        return;
    };
    let mut served = 0usize;
    // 200 full pages at spread-out positions deep in the channel, in both directions.
    for k in 1..=20u64 {
        let pivot = ch.slot_id(k * 480_000 + 17);
        let (mut after, mut before_id) = (pivot, pivot);
        for _ in 0..5 {
            let page = get(format!("after={after}&limit=100")).await;
            assert_eq!(page.len(), 100, "deep pages are full");
            after = page[0];
            served += page.len();
            let page = get(format!("before={before_id}&limit=100")).await;
            assert_eq!(page.len(), 100);
            before_id = *page.last().expect("page");
            served += page.len();
        }
    }
    let after = rss_kib(pid).unwrap_or(before);
    let growth_mib = after.saturating_sub(before) as f64 / 1024.0;
    eprintln!(
        "fake-discord serving a 10M-message channel: {served} messages in 200 deep pages; \
         RSS {:.1} MiB -> {:.1} MiB (+{growth_mib:.1} MiB)",
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
    assert_eq!(served, 20_000);
    // A materialised channel would take gigabytes; allow allocator noise only.
    assert!(growth_mib < 16.0, "RSS grew by {growth_mib:.1} MiB");
    assert!(after < 128 * 1024, "RSS {after} KiB");
}
