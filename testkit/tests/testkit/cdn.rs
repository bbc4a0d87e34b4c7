//! The fake CDN: signed, expiring attachment links, the byte route, `refresh-urls`, shared
//! contents, CDN faults and counters, and a 1 GiB download at flat memory.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use testkit::fake_discord::{
    ChannelKind, Content, FakeConfig, GONE_BODY, GuildSpec, NewAttachment, NewMessage,
    TruthAttachment, routes,
};

use crate::helpers::{Harness, assert_error_schema, first_of};
use crate::memory::{Child, rss_kib};

/// `url` on Discord's hosts, rewritten to the fake (what `DISCORD_API_PROXY` does).
fn local(base: &str, url: &str) -> String {
    let path = url
        .strip_prefix("https://cdn.discordapp.com")
        .or_else(|| url.strip_prefix("https://media.discordapp.net"))
        .unwrap_or_else(|| panic!("not a Discord CDN URL: {url}"));
    format!("{base}{path}")
}

struct Download {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Download {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

async fn download(h: &Harness, url: &str) -> Download {
    let resp = h
        .http
        .get(local(&h.fake.base_url(), url))
        .send()
        .await
        .expect("request");
    Download {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.bytes().await.expect("body").to_vec(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The first `n` attachments of the first guild (truth), in channel and message order.
fn truth_attachments(h: &Harness, n: usize) -> Vec<(u64, u64, TruthAttachment)> {
    let gid = h.fake.guild_ids()[0];
    let truth = h.fake.truth(gid).expect("truth");
    let mut out = Vec::new();
    for c in truth.message_channels() {
        for m in truth.messages(c.platform_id) {
            for a in m.attachments {
                out.push((c.platform_id, m.platform_id, a));
                if out.len() == n {
                    return out;
                }
            }
        }
    }
    out
}

/// The attachment objects of a message as the API serves it.
async fn served_attachments(h: &Harness, channel: u64, message: u64) -> Vec<Value> {
    let r = h
        .get(&format!("/channels/{channel}/messages/{message}"))
        .await;
    assert_eq!(r.status, 200);
    r.body["attachments"]
        .as_array()
        .expect("attachments")
        .clone()
}

async fn refresh(h: &Harness, body: Value) -> (u16, Value) {
    let resp = h
        .http
        .post(format!("{}/attachments/refresh-urls", h.fake.api_url()))
        .header("authorization", format!("Bot {}", h.fake.token()))
        .json(&body)
        .send()
        .await
        .expect("refresh");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    let (_, q) = url.split_once('?').expect("signed URL has a query");
    q.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn served_links_are_signed_and_download_the_advertised_bytes() {
    let h = Harness::small();
    let found = truth_attachments(&h, 6);
    assert_eq!(found.len(), 6, "the small guild has attachments");
    for (c, m, truth) in &found {
        let served = served_attachments(&h, *c, *m).await;
        let a = served
            .iter()
            .find(|a| a["id"].as_str() == Some(truth.id.to_string().as_str()))
            .expect("served attachment");
        let url = a["url"].as_str().expect("url");
        assert_eq!(url, truth.url, "the truth carries the served URL");
        assert!(url.starts_with(&format!(
            "https://cdn.discordapp.com/attachments/{c}/{}/",
            truth.id
        )));
        let q = query_of(url);
        let ex = i64::from_str_radix(&q["ex"], 16).expect("hex ex");
        let is = i64::from_str_radix(&q["is"], 16).expect("hex is");
        assert_eq!(ex - is, 24 * 3600, "default link lifetime");
        let now = chrono::Utc::now().timestamp();
        assert!(is <= now && now - is <= 3600, "issued within the hour");
        assert_eq!(q["hm"].len(), 64);
        assert!(url.ends_with('&'));

        let d = download(&h, url).await;
        assert_eq!(d.status, 200, "{url}");
        assert_eq!(d.body.len() as u64, truth.size);
        assert_eq!(d.header("content-length"), truth.size.to_string());
        let want_type = truth
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        assert_eq!(d.header("content-type"), want_type);
        assert_eq!(sha256_hex(&d.body), truth.sha256_hex());
        let mut expected = Vec::new();
        truth.reader().read_to_end(&mut expected).expect("read");
        assert!(expected == d.body, "reader bytes equal the served bytes");

        let proxy = a["proxy_url"].as_str().expect("proxy_url");
        assert!(proxy.starts_with("https://media.discordapp.net/attachments/"));
        let d = download(&h, proxy).await;
        assert_eq!((d.status, sha256_hex(&d.body)), (200, truth.sha256_hex()));

        let head = h
            .http
            .head(local(&h.fake.base_url(), url))
            .send()
            .await
            .expect("head");
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()["content-length"].to_str().expect("length"),
            truth.size.to_string()
        );
    }
    let stats = h.fake.cdn_stats();
    assert_eq!(stats.downloads_started.values().sum::<u64>(), 12);
    assert_eq!(stats.downloads_completed.values().sum::<u64>(), 12);
    let bytes: u64 = found.iter().map(|(_, _, a)| 2 * a.size).sum();
    assert_eq!(stats.bytes_served, bytes);
    assert_eq!(stats.downloads_completed[&found[0].2.id], 2);
    assert_eq!(h.fake.route_count(routes::CDN_ATTACHMENT), 18);
    h.fake.reset_stats();
    assert_eq!(h.fake.cdn_stats(), Default::default());
}

#[tokio::test]
async fn tampered_expired_unsigned_and_unknown_links_answer_404() {
    let h = Harness::small();
    let (c, _, a) = truth_attachments(&h, 1).remove(0);
    let url = a.url.clone();
    let (base, _) = url.split_once('?').expect("query");
    let q = query_of(&url);
    let flip = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b[0] = if b[0] == b'0' { b'1' } else { b'0' };
        String::from_utf8(b).expect("ascii")
    };
    let later = format!(
        "{:x}",
        i64::from_str_radix(&q["ex"], 16).expect("ex") + 3600
    );
    let bad = [
        base.to_string(),
        format!(
            "{base}?ex={}&is={}&hm={}&",
            q["ex"],
            q["is"],
            flip(&q["hm"])
        ),
        format!("{base}?ex={later}&is={}&hm={}&", q["is"], q["hm"]),
        format!("{base}?ex={}&is={}&", q["ex"], q["is"]),
        format!("{base}?ex={}&is={}&hm=zz&", q["ex"], q["is"]),
        url.replacen(&a.id.to_string(), &(a.id + 1).to_string(), 1),
        url.replace(
            &format!("/{}?", base.rsplit('/').next().expect("name")),
            "/other.png?",
        ),
    ];
    for u in &bad {
        let d = download(&h, u).await;
        assert_eq!(d.status, 404, "{u}");
        assert_eq!(String::from_utf8_lossy(&d.body), GONE_BODY);
    }
    // A correctly signed link to an attachment that does not exist.
    let guild = h.guild();
    let other = first_of(guild, ChannelKind::Text).id;
    let unknown = h.fake.store().signer().links(false).sign(&format!(
        "https://cdn.discordapp.com/attachments/{c}/{other}/x.png"
    ));
    assert_eq!(download(&h, &unknown).await.status, 404);
    // Links issued expired (the fault) are refused, and so are links past their `ex`.
    h.fake.update_faults(|f| f.expired_links = true);
    let (c2, m2, a2) = truth_attachments(&h, 1).remove(0);
    let served = served_attachments(&h, c2, m2).await;
    let expired = served[0]["url"].as_str().expect("url").to_string();
    let ex = i64::from_str_radix(&query_of(&expired)["ex"], 16).expect("ex");
    assert!(ex < chrono::Utc::now().timestamp());
    assert_eq!(download(&h, &expired).await.status, 404);
    assert_eq!(a2.id, a.id);
    let short = Harness::new(FakeConfig::small().with_link_ttl(Duration::from_secs(1)));
    let (_, _, a3) = truth_attachments(&short, 1).remove(0);
    assert_eq!(download(&short, &a3.url).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(download(&short, &a3.url).await.status, 404, "past ex");
    assert_eq!(h.fake.cdn_stats().downloads_started.len(), 0);
}

#[tokio::test]
async fn refresh_renews_expired_links_and_is_counted_like_an_api_route() {
    let h = Harness::small();
    h.fake.update_faults(|f| f.expired_links = true);
    let found = truth_attachments(&h, 3);
    let mut expired = Vec::new();
    for (c, m, _) in &found {
        for a in served_attachments(&h, *c, *m).await {
            expired.push(a["url"].as_str().expect("url").to_string());
        }
    }
    expired.dedup();
    for u in &expired {
        assert_eq!(download(&h, u).await.status, 404, "issued expired");
    }
    let mut asked: Vec<String> = expired.clone();
    asked.push("https://cdn.discordapp.com/attachments/1/2/nothing.png?ex=1&is=1&hm=00&".into());
    asked.push(expired[0].replacen("cdn.discordapp.com", "media.discordapp.net", 1));
    let (status, body) = refresh(&h, json!({"attachment_urls": asked})).await;
    assert_eq!(status, 200, "{body}");
    let refreshed = body["refreshed_urls"].as_array().expect("refreshed_urls");
    assert_eq!(
        refreshed.len(),
        expired.len() + 1,
        "unknown attachments left out"
    );
    for (r, original) in refreshed
        .iter()
        .zip(asked.iter().filter(|u| !u.contains("/1/2/")))
    {
        assert_eq!(r["original"], original.as_str());
        let fresh = r["refreshed"].as_str().expect("refreshed");
        let ex = i64::from_str_radix(&query_of(fresh)["ex"], 16).expect("ex");
        assert!(ex > chrono::Utc::now().timestamp() + 23 * 3600);
        let d = download(&h, fresh).await;
        assert_eq!(d.status, 200, "{fresh}");
    }
    let stats = h.fake.cdn_stats();
    assert_eq!(
        (stats.refresh_requests, stats.urls_refreshed),
        (1, refreshed.len() as u64)
    );
    assert_eq!(h.fake.route_count(routes::REFRESH_URLS), 1);

    // Bad bodies: Discord's error shapes, not counted as refreshes.
    let too_many: Vec<String> = (0..51).map(|_| expired[0].clone()).collect();
    for body in [
        json!({}),
        json!({"attachment_urls": []}),
        json!({"attachment_urls": too_many}),
        json!({"attachment_urls": "https://cdn.discordapp.com/x"}),
        json!({"attachment_urls": [1, 2]}),
    ] {
        let (status, err) = refresh(&h, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(err["code"], 50035, "{err}");
        assert_error_schema("ErrorResponse", &err);
    }
    let resp = h
        .http
        .post(format!("{}/attachments/refresh-urls", h.fake.api_url()))
        .header("authorization", format!("Bot {}", h.fake.token()))
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["code"], 50109);
    let resp = h
        .http
        .post(format!("{}/attachments/refresh-urls", h.fake.api_url()))
        .json(&json!({"attachment_urls": [expired[0]]}))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 401, "a bot token is required");
    assert_eq!(h.fake.cdn_stats().refresh_requests, 1);
    // The refresh route shares the rate limiter.
    let limited = Harness::new(FakeConfig::small().with_route_limit(1, Duration::from_secs(30)));
    let body = json!({"attachment_urls": [expired[0]]});
    assert_eq!(refresh(&limited, body.clone()).await.0, 200);
    assert_eq!(refresh(&limited, body).await.0, 429);
}

/// How often a content appears, and with which (size, content type).
type Uses = (u64, BTreeSet<(u64, Option<String>)>);

#[test]
fn popular_contents_repeat_across_messages_and_across_guild_seeds() {
    let spec = |seed| {
        GuildSpec {
            attachment_share: 0.3,
            ..GuildSpec::small()
        }
        .with_seed(seed)
    };
    let fake =
        testkit::fake_discord::FakeDiscord::start(FakeConfig::with_guilds(vec![spec(1), spec(2)]))
            .expect("fake");
    let mut per_guild: Vec<BTreeMap<Content, Uses>> = Vec::new();
    let mut ids = BTreeSet::new();
    for gid in fake.guild_ids() {
        let truth = fake.truth(gid).expect("truth");
        let mut contents: BTreeMap<Content, Uses> = BTreeMap::new();
        for c in truth.message_channels() {
            for m in truth.messages(c.platform_id) {
                for a in m.attachments {
                    assert!(ids.insert(a.id), "attachment ids are unique");
                    assert_eq!(a.content.size, a.size);
                    let e = contents.entry(a.content).or_default();
                    e.0 += 1;
                    e.1.insert((a.size, a.content_type));
                }
            }
        }
        per_guild.push(contents);
    }
    for contents in &per_guild {
        let repeated: Vec<_> = contents.iter().filter(|(_, (n, _))| *n > 1).collect();
        assert!(
            !repeated.is_empty(),
            "some content appears on several messages"
        );
        for (_, (_, shapes)) in repeated {
            assert_eq!(shapes.len(), 1, "same bytes, same size and content type");
        }
        let total: u64 = contents.values().map(|(n, _)| n).sum();
        let shared: u64 = contents
            .values()
            .filter(|(n, _)| *n > 1)
            .map(|(n, _)| n)
            .sum();
        let share = shared as f64 / total as f64;
        assert!((0.1..0.35).contains(&share), "shared share {share}");
    }
    let common = per_guild[0]
        .keys()
        .filter(|c| per_guild[1].contains_key(c))
        .count();
    assert!(common > 0, "two guilds of different seeds share content");
}

#[tokio::test]
async fn gone_slow_and_failing_downloads() {
    let h = Harness::small();
    let found = truth_attachments(&h, 3);
    let (_, _, gone) = &found[0];
    h.fake.update_faults(|f| {
        f.gone_attachments.insert(gone.id);
    });
    let fresh = h
        .fake
        .store()
        .signer()
        .links(false)
        .sign(gone.url.split_once('?').map(|(b, _)| b).expect("signed"));
    assert_eq!(
        download(&h, &fresh).await.status,
        404,
        "gone even when fresh"
    );
    let (status, body) = refresh(&h, json!({"attachment_urls": [gone.url]})).await;
    assert_eq!(status, 200);
    assert_eq!(body["refreshed_urls"].as_array().map(Vec::len), Some(1));

    // Failing: the first two requests of each file answer 500, then it downloads.
    let (_, _, a) = &found[1];
    h.fake.update_faults(|f| f.cdn_fail_first = 2);
    assert_eq!(download(&h, &a.url).await.status, 500);
    assert_eq!(download(&h, &a.url).await.status, 500);
    let d = download(&h, &a.url).await;
    assert_eq!((d.status, sha256_hex(&d.body)), (200, a.sha256_hex()));
    let stats = h.fake.cdn_stats();
    assert_eq!(stats.requests[&a.id], 3);
    assert_eq!(stats.downloads_started[&a.id], 1);
    assert_eq!(stats.downloads_completed[&a.id], 1);

    // Dropping: the first request of each file breaks after 1,000 body bytes.
    let (_, _, b) = &found[2];
    h.fake.update_faults(|f| {
        f.cdn_fail_first = 1;
        f.cdn_drop_after_bytes = Some(1_000);
    });
    let mut resp = h
        .http
        .get(local(&h.fake.base_url(), &b.url))
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(b.size));
    let mut received = 0;
    let broke = loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(broke, "the body breaks off");
    assert_eq!(received, 1_000);
    let d = download(&h, &b.url).await;
    assert_eq!((d.status, sha256_hex(&d.body)), (200, b.sha256_hex()));
    let stats = h.fake.cdn_stats();
    assert_eq!(stats.downloads_started[&b.id], 2);
    assert_eq!(stats.downloads_completed[&b.id], 1);

    // Slow: 20,000 bytes/s makes a 30,000-byte file take 1.5 s.
    h.fake.update_faults(|f| {
        f.cdn_fail_first = 0;
        f.cdn_bytes_per_sec = 20_000;
    });
    let channel = first_of(h.guild(), ChannelKind::Text).id;
    let m = h
        .fake
        .add_message_with_attachments(
            channel,
            NewMessage::default(),
            vec![NewAttachment::new("slow.bin", 30_000)],
        )
        .expect("add");
    let url = h.fake.signed_url(&m.attachments[0], false);
    let started = Instant::now();
    let d = download(&h, &url).await;
    let took = started.elapsed();
    assert_eq!(d.body.len(), 30_000);
    assert!(took >= Duration::from_millis(1_300), "took {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn hostile_file_names_are_served_as_given_behind_url_safe_paths() {
    let h = Harness::small();
    let channel = first_of(h.guild(), ChannelKind::Text).id;
    let names = [
        "../../etc/passwd".to_string(),
        "..\\..\\windows\\system32".to_string(),
        "..".to_string(),
        "bell\u{7}\r\nset-cookie: x=1\0.txt".to_string(),
        "x".repeat(1_000),
        "quote\"and'apostrophe.html".to_string(),
        "ünïcødé 名前 🎉.png".to_string(),
        "<script>alert(1)</script>.svg".to_string(),
    ];
    let attachments: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"filename": n, "size": 100 + i * 7, "content_type": "text/html"}))
        .collect();
    let r = h
        .control(
            reqwest::Method::POST,
            &format!("/channels/{channel}/messages"),
            Some(json!({"content": "files", "attachments": attachments})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let served = r.body["attachments"].as_array().expect("attachments");
    assert_eq!(served.len(), names.len());
    let truth = h.fake.truth(h.fake.guild_ids()[0]).expect("truth");
    let message_id: u64 = r.body["id"].as_str().expect("id").parse().expect("id");
    let t = truth
        .messages(channel)
        .find(|m| m.platform_id == message_id)
        .expect("in the truth");
    for ((a, name), ta) in served.iter().zip(&names).zip(&t.attachments) {
        assert_eq!(a["filename"], name.as_str());
        assert_eq!(&ta.filename, name);
        let url = a["url"].as_str().expect("url");
        let segment = url.split('?').next().and_then(|p| p.rsplit('/').next());
        let segment = segment.expect("segment");
        assert!(
            segment.len() <= 100
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{segment:?}"
        );
        let d = download(&h, url).await;
        assert_eq!(d.status, 200, "{url}");
        assert_eq!(d.body.len() as u64, ta.size);
        assert_eq!(sha256_hex(&d.body), ta.sha256_hex());
    }
    let bad_type = h
        .fake
        .add_message_with_attachments(
            channel,
            NewMessage::default(),
            vec![NewAttachment {
                filename: "a".into(),
                size: 10,
                content_type: Some("text/html\r\nx-evil: 1".into()),
            }],
        )
        .expect("add");
    let d = download(&h, &h.fake.signed_url(&bad_type.attachments[0], false)).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.header("content-type"), "application/octet-stream");
    assert!(d.headers.get("x-evil").is_none());
}

/// A 1 GiB attachment, generated on the fly by a separate `fake-discord` process, streams
/// at flat memory there.
#[tokio::test]
async fn a_one_gib_download_streams_with_flat_memory() {
    const SIZE: u64 = 1 << 30;
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_fake-discord"))
            .args(["--port", "0", "--preset", "bench", "--channels", "1"])
            .args(["--messages", "10", "--link-ttl-secs", "3600"])
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
    let base = format!("http://{}", info["proxy"].as_str().expect("proxy"));
    let g = testkit::fake_discord::Guild::generate(&GuildSpec::bench(1, 10, 0.1));
    let channel = first_of(&g, ChannelKind::Text).id;
    let http = reqwest::Client::new();
    let m: Value = http
        .post(format!("{base}/_control/channels/{channel}/messages"))
        .json(&json!({"attachments": [{"filename": "big.bin", "size": SIZE}]}))
        .send()
        .await
        .expect("add")
        .json()
        .await
        .expect("json");
    let url = m["attachments"][0]["url"]
        .as_str()
        .expect("url")
        .to_string();
    assert_eq!(m["attachments"][0]["size"], SIZE);
    let q = query_of(&url);
    let lifetime = i64::from_str_radix(&q["ex"], 16).expect("ex")
        - i64::from_str_radix(&q["is"], 16).expect("is");
    assert_eq!(lifetime, 3600, "--link-ttl-secs");
    let Some(before) = rss_kib(pid) else {
        eprintln!("no /proc/<pid>/status: memory not measured");
        return;
    };
    let mut resp = http.get(local(&base, &url)).send().await.expect("get");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(SIZE));
    let mut got = 0u64;
    let mut peak = before;
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        got += chunk.len() as u64;
        if got % (64 << 20) < chunk.len() as u64 {
            peak = peak.max(rss_kib(pid).unwrap_or(0));
        }
    }
    assert_eq!(got, SIZE);
    let growth_mib = peak.saturating_sub(before) as f64 / 1024.0;
    eprintln!(
        "fake-discord serving 1 GiB: RSS {:.1} MiB, peak during the download {:.1} MiB",
        before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    assert!(growth_mib < 64.0, "RSS grew by {growth_mib:.1} MiB");
    let stats: Value = http
        .get(format!("{base}/_control/cdn-stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["bytes_served"], SIZE);
    let all: Value = http
        .get(format!("{base}/_control/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(all["cdn"], stats);
    let id = m["attachments"][0]["id"].as_str().expect("id");
    assert_eq!(stats["downloads_completed"][id], 1);
}
