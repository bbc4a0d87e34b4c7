//! The index as derived, durable data: a rebuild equals the incremental result, uncommitted
//! work never shows, a reopened index continues where it committed, an unreadable one is
//! moved aside and rebuilt, and one directory has one owner.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use service::error::Error;
use service::repo::channels::ChannelKind;
use service::repo::messages::MessageRow;
use service::search::{SearchIndex, Sort};
use service::sync::rows::{deleted_message_metadata, vanished_channel_metadata};
use uuid::Uuid;

use super::{
    Env, all_ids, at, attach, author, index_dir, open, post, settle, store_channel, text_channel,
    thread, write,
};
use crate::helpers::tenant;

const WORDS: [&str; 8] = [
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron",
];

/// A small deterministic generator (the same corpus every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % below as u64) as usize
    }

    fn text(&mut self) -> String {
        let n = 2 + self.next(5);
        (0..n)
            .map(|_| WORDS[self.next(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A channel of the corpus: (tenant, row id, platform id, name, parent platform id).
type Channel = (Uuid, Uuid, &'static str, &'static str, Option<&'static str>);

/// The queries both indexes must answer alike, for each tenant.
fn queries() -> Vec<String> {
    let mut q: Vec<String> = WORDS.iter().map(|w| (*w).to_owned()).collect();
    q.extend(
        [
            "\"amber birch\"",
            "ce*",
            "grove -heron",
            "in:general",
            "in:random",
            "has:attachment",
            "has:image",
            "during:2024-01",
        ]
        .map(String::from),
    );
    for n in 0..3 {
        q.push(format!("from:{}", author(n)));
    }
    q
}

#[tokio::test]
async fn a_rebuild_equals_the_index_built_by_many_incremental_passes() {
    let env = Env::new().await;
    let db = env.db();
    let (t1, t2) = (tenant(db).await.id, tenant(db).await.id);
    let channels: Vec<Channel> = vec![
        (
            t1,
            text_channel(db, t1, "1", "general").await,
            "1",
            "general",
            None,
        ),
        (
            t1,
            text_channel(db, t1, "2", "random").await,
            "2",
            "random",
            None,
        ),
        (
            t1,
            thread(db, t1, "3", "a thread", "1").await,
            "3",
            "a thread",
            Some("1"),
        ),
        (
            t2,
            text_channel(db, t2, "4", "general").await,
            "4",
            "general",
            None,
        ),
        (
            t2,
            text_channel(db, t2, "5", "random").await,
            "5",
            "random",
            None,
        ),
    ];
    let mut rng = Lcg(18);
    let mut rows: Vec<(usize, MessageRow)> = Vec::new();
    let mut deleted: HashSet<Uuid> = HashSet::new();
    let mut hidden: HashSet<&str> = HashSet::new();
    let start = at(2024, 1, 1, 0, 0, 0);
    for round in 0..8i64 {
        for n in 0..15i64 {
            let c = rng.next(channels.len());
            let sent: DateTime<Utc> = start + chrono::Duration::hours(round * 100 + n);
            let who = author(rng.next(3) as u64);
            let row = post(db, channels[c].1, sent, &who, &rng.text()).await;
            if rng.next(5) == 0 {
                let (name, kind) =
                    [("a.png", "image/png"), ("b.pdf", "application/pdf")][rng.next(2)];
                attach(db, &row, name, kind).await;
            }
            rows.push((c, row));
        }
        for _ in 0..3 {
            let i = rng.next(rows.len());
            rows[i].1.content = rng.text();
            write(db, &rows[i].1).await;
        }
        if round >= 2 {
            let i = rng.next(rows.len());
            rows[i].1.metadata = deleted_message_metadata(None, Utc::now());
            write(db, &rows[i].1).await;
            deleted.insert(rows[i].1.id());
        }
        let toggle = match round {
            3 => Some((0, true)),
            4 => Some((4, true)),
            6 => Some((0, false)),
            _ => None,
        };
        if let Some((c, vanish)) = toggle {
            let (t, _, platform, name, _) = channels[c];
            let metadata = vanish.then(|| vanished_channel_metadata(None, start, Utc::now()));
            store_channel(
                db,
                t,
                platform,
                name,
                ChannelKind::Text,
                None,
                metadata.flatten(),
            )
            .await;
            if vanish {
                hidden.insert(platform);
            } else {
                hidden.remove(platform);
            }
        }
        // Every other pass runs at once, with this second's writes still ahead of it.
        if round % 2 == 0 {
            env.catch_up().await;
        } else {
            env.index.catch_up(db).await.expect("pass");
        }
    }
    env.catch_up().await;

    // What a reader may find: not deleted, in a public channel under a public parent.
    let mut expected: BTreeMap<Uuid, u64> = BTreeMap::new();
    for (c, row) in &rows {
        let (t, _, platform, _, parent) = channels[*c];
        let visible = !deleted.contains(&row.id())
            && !hidden.contains(platform)
            && parent.is_none_or(|p| !hidden.contains(p));
        *expected.entry(t).or_default() += u64::from(visible);
        let copies = env.index.copies_of(&row.id().to_string()).unwrap();
        assert_eq!(
            copies,
            u64::from(visible),
            "message {} once if visible",
            row.id()
        );
    }

    let rebuilt_dir = tempfile::tempdir().expect("temporary directory");
    let rebuilt = open(&index_dir(&rebuilt_dir));
    let progress = std::sync::Mutex::new(Vec::new());
    let summary = rebuilt
        .reindex(db, None, &|done, total| {
            if let Ok(mut seen) = progress.lock() {
                seen.push((done, total));
            }
        })
        .await
        .expect("reindex");
    assert_eq!(summary.tenants, 2);
    assert!(summary.index_bytes > 0);
    // Progress counts every stored message, deleted or hidden ones too, up to the total.
    let progress = progress.into_inner().expect("progress");
    assert_eq!(progress.first(), Some(&(0, rows.len() as u64)));
    assert_eq!(
        progress.last(),
        Some(&(rows.len() as u64, rows.len() as u64))
    );
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(rebuilt.is_built().await);
    assert_eq!(
        rebuilt.document_count(None).unwrap(),
        env.index.document_count(None).unwrap()
    );
    for t in [t1, t2] {
        let count = rebuilt.document_count(Some(&t.to_string())).unwrap();
        assert_eq!(count, expected[&t], "tenant {t}");
        assert_eq!(
            env.index.document_count(Some(&t.to_string())).unwrap(),
            count
        );
        for q in queries() {
            let incremental = all_ids(&env.index, db, t, &q, Sort::Newest, 50).await;
            let from_scratch = all_ids(&rebuilt, db, t, &q, Sort::Newest, 50).await;
            assert_eq!(incremental, from_scratch, "{q:?} for tenant {t}");
        }
    }

    // Rebuilding one tenant in place changes nothing either.
    env.index
        .reindex(db, Some(&t1.to_string()), &|_, _| {})
        .await
        .expect("tenant reindex");
    for t in [t1, t2] {
        for q in queries() {
            let again = all_ids(&env.index, db, t, &q, Sort::Newest, 50).await;
            let from_scratch = all_ids(&rebuilt, db, t, &q, Sort::Newest, 50).await;
            assert_eq!(
                again, from_scratch,
                "{q:?} for tenant {t} after its reindex"
            );
        }
    }
}

/// `n` messages of one new tenant, each with the word "durable"; their ids.
async fn messages(env: &Env, t: Uuid, platform: &str, n: usize) -> Vec<Uuid> {
    let db = env.db();
    let ch = text_channel(db, t, platform, platform).await;
    let rows: Vec<MessageRow> = (0..n)
        .map(|i| MessageRow {
            channel_id: ch,
            platform_message_id: super::snowflake(at(2024, 2, 1, 0, 0, 0)).to_string(),
            anonymized_author_id: author(i as u64 % 5),
            content: format!("durable message number {i}"),
            reply_to_id: None,
            metadata: None,
            platform_created_at: at(2024, 2, 1, 0, 0, 0) + chrono::Duration::seconds(i as i64),
        })
        .collect();
    service::repo::messages::upsert(db, &rows)
        .await
        .expect("messages stored");
    rows.iter().map(MessageRow::id).collect()
}

fn assert_each_once(index: &SearchIndex, ids: &[Uuid]) {
    for id in ids {
        assert_eq!(index.copies_of(&id.to_string()).unwrap(), 1, "message {id}");
    }
    assert_eq!(index.document_count(None).unwrap(), ids.len() as u64);
}

#[tokio::test]
async fn work_not_committed_before_the_index_is_dropped_is_redone_once_after_reopening() {
    let env = Env::new().await;
    let t = tenant(env.db()).await.id;
    let mut ids = messages(&env, t, "1", 10).await;
    env.catch_up().await;
    ids.extend(messages(&env, t, "2", 10).await);
    settle().await;
    // Dropped with changes waiting: the reopened index shows what it committed.
    let Env { index, dir, ctx } = env;
    drop(index);
    let index = open(&index_dir(&dir));
    assert_eq!(index.document_count(None).unwrap(), 10);
    let done = index.catch_up(&ctx.db).await.expect("pass");
    assert_eq!(done.indexed, 10);
    assert_each_once(&index, &ids);
}

#[tokio::test]
async fn a_pass_cut_off_mid_way_leaves_no_trace_after_reopening() {
    let env = Env::new().await;
    let t = tenant(env.db()).await.id;
    // Several batches: the pass is cut off while it adds documents, or just after it
    // committed; never in between.
    let ids = messages(&env, t, "1", 5_000).await;
    settle().await;
    // How long a whole pass takes here, on an index of its own: the real one is cut off
    // half-way through.
    let probe_dir = tempfile::tempdir().expect("temporary directory");
    let probe = open(&index_dir(&probe_dir));
    let started = std::time::Instant::now();
    probe.catch_up(env.db()).await.expect("pass");
    let whole = started.elapsed();
    drop(probe);
    let pass = {
        let (index, db) = (env.index.clone(), env.db().clone());
        tokio::spawn(async move { index.catch_up(&db).await })
    };
    tokio::time::sleep(whole / 2).await;
    pass.abort();
    let _ = pass.await;
    let Env { index, dir, ctx } = env;
    drop(index);

    let index = open(&index_dir(&dir));
    let visible = index.document_count(None).unwrap();
    assert!(
        visible == 0 || visible == ids.len() as u64,
        "a half-done pass is visible: {visible} documents"
    );
    index.catch_up(&ctx.db).await.expect("pass");
    assert_each_once(&index, &ids);
}

#[tokio::test]
async fn a_reopened_index_continues_from_its_committed_position() {
    let env = Env::new().await;
    let t = tenant(env.db()).await.id;
    let ids = messages(&env, t, "1", 30).await;
    assert_eq!(env.catch_up().await.indexed, 30);
    let Env { index, dir, ctx } = env;
    drop(index);
    let index = open(&index_dir(&dir));
    assert_eq!(index.document_count(None).unwrap(), 30);
    let done = index.catch_up(&ctx.db).await.expect("pass");
    assert_eq!((done.indexed, done.removed, done.committed), (0, 0, false));
    assert_each_once(&index, &ids);
}

/// Build an index of 25 messages, damage it with `damage`, and check that opening moves it
/// aside and a rebuild restores everything.
async fn survives(damage: impl FnOnce(&Path)) {
    let env = Env::new().await;
    let t = tenant(env.db()).await.id;
    let ids = messages(&env, t, "1", 25).await;
    settle().await;
    env.index
        .reindex(env.db(), None, &|_, _| {})
        .await
        .expect("reindex");
    assert!(env.index.is_built().await);
    let Env { index, dir, ctx } = env;
    drop(index);
    let path = index_dir(&dir);
    damage(&path);

    let index = SearchIndex::open_with_lag(&path, Duration::ZERO).expect("opens anyway");
    assert!(
        dir.path().join("index.broken").is_dir(),
        "the old index is kept aside"
    );
    assert!(!index.is_built().await);
    assert_eq!(index.document_count(None).unwrap(), 0);
    let summary = index
        .reindex(&ctx.db, None, &|_, _| {})
        .await
        .expect("reindex");
    assert_eq!(summary.messages, 25);
    assert!(index.is_built().await);
    assert_each_once(&index, &ids);
    let found = all_ids(&index, &ctx.db, t, "durable", Sort::Newest, 100).await;
    assert_eq!(found.len(), 25);
}

#[tokio::test]
async fn a_garbled_meta_json_is_moved_aside_and_rebuilt() {
    survives(|dir| {
        std::fs::write(dir.join("meta.json"), b"{\"segments\": [garbled").expect("write");
    })
    .await;
}

#[tokio::test]
async fn a_deleted_segment_file_is_moved_aside_and_rebuilt() {
    survives(|dir| {
        let mut removed = 0;
        for entry in std::fs::read_dir(dir).expect("list").flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "term") {
                std::fs::remove_file(&path).expect("remove");
                removed += 1;
            }
        }
        assert!(removed > 0, "no segment file found");
    })
    .await;
}

#[tokio::test]
async fn a_second_open_of_one_directory_fails_with_a_clear_error() {
    let env = Env::new().await;
    let path = index_dir(&env.dir);
    match SearchIndex::open_with_lag(&path, Duration::ZERO) {
        Err(Error::Search(message)) => {
            assert!(message.contains("in use"), "{message}");
            assert!(message.contains("SEARCH_INDEX_DIR"), "{message}");
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a second index on one directory opened"),
    }
    // The first one is untouched and still works.
    assert!(!path.with_file_name("index.broken").exists());
    let t = tenant(env.db()).await.id;
    messages(&env, t, "1", 3).await;
    assert_eq!(env.catch_up().await.indexed, 3);
    let Env { index, dir, .. } = env;
    drop(index);
    open(&index_dir(&dir));
}

#[tokio::test]
async fn an_index_in_use_is_never_moved_aside_by_a_second_open() {
    let env = Env::new().await;
    let t = tenant(env.db()).await.id;
    let ids = messages(&env, t, "1", 3).await;
    env.catch_up().await;
    let path = index_dir(&env.dir);
    // What a second process may read while the owner commits and merges (files replaced or
    // gone): it must stop at the owner's lock, not judge the index broken.
    let meta = std::fs::read(path.join("meta.json")).expect("read");
    std::fs::write(path.join("meta.json"), b"{\"segments\": [garbled").expect("write");
    match SearchIndex::open_with_lag(&path, Duration::ZERO) {
        Err(Error::Search(message)) => assert!(message.contains("in use"), "{message}"),
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a second index on one directory opened"),
    }
    assert!(!path.with_file_name("index.broken").exists());
    assert!(path.join("meta.json").is_file());
    std::fs::write(path.join("meta.json"), meta).expect("write");
    assert_each_once(&env.index, &ids);
}
