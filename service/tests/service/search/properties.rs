//! Properties over generated queries: tenant isolation is absolute, and no query, however
//! hostile, makes `search` panic or fail with anything but a validation error.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use service::error::Error;
use service::pseudonym;
use service::repo::channels::ChannelKind;
use service::search::{MAX_LIMIT, SearchRequest, Sort};
use uuid::Uuid;

use super::{Env, at, attach, author, post, store_channel, uuid, write};
use crate::helpers::tenant;

const WORDS: [&str; 6] = ["apple", "banana", "cherry", "damson", "elder", "fig"];
const CHANNELS: [(&str, &str, Option<&str>); 3] = [
    ("1", "general", None),
    ("2", "Random Talk", None),
    ("3", "Shared Thread", Some("1")),
];
const AUTHORS: u64 = 3;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Two tenants with the same channel names and platform ids, the same authors and the same
/// words: everything a query can name exists in both.
struct World {
    env: Env,
    tenants: [Uuid; 2],
    /// Message ids of each tenant.
    ids: [HashSet<Uuid>; 2],
    /// Channel row ids of both tenants.
    channels: Vec<Uuid>,
}

impl World {
    async fn new() -> Self {
        let env = Env::new().await;
        let db = env.db();
        let tenants = [tenant(db).await.id, tenant(db).await.id];
        let mut ids = [HashSet::new(), HashSet::new()];
        let mut channels = Vec::new();
        for (which, t) in tenants.iter().enumerate() {
            let mut rows = Vec::new();
            for (platform, name, parent) in CHANNELS {
                let kind = if parent.is_some() {
                    ChannelKind::Thread
                } else {
                    ChannelKind::Text
                };
                rows.push(store_channel(db, *t, platform, name, kind, parent, None).await);
            }
            channels.extend(&rows);
            for n in 0..24usize {
                let text = format!(
                    "{} {} {}{}",
                    WORDS[n % 6],
                    WORDS[(n / 2 + which) % 6],
                    WORDS[(n * 5 + 1) % 6],
                    if n % 4 == 0 {
                        " https://example.com"
                    } else {
                        ""
                    }
                );
                let sent = at(2024, 1 + (n % 3) as u32, 1 + n as u32, 12, 0, 0);
                let who = author(n as u64 % AUTHORS);
                let mut row = post(db, rows[n % 3], sent, &who, &text).await;
                if n % 5 == 0 {
                    attach(db, &row, "p.png", "image/png").await;
                }
                if n % 7 == 0 {
                    row.metadata = Some(serde_json::json!({ "pinned": true }));
                    write(db, &row).await;
                }
                ids[which].insert(row.id());
            }
        }
        env.catch_up().await;
        World {
            env,
            tenants,
            ids,
            channels,
        }
    }

    /// Search `q` as tenant `which`: a validation error, or only that tenant's messages.
    async fn check(&self, which: usize, q: &str, sort: Sort) -> Result<(), TestCaseError> {
        let result = self
            .env
            .page(self.tenants[which], q, sort, MAX_LIMIT, None)
            .await;
        match result {
            Ok(page) => {
                for hit in &page.hits {
                    prop_assert!(
                        self.ids[which].contains(&uuid(&hit.message.id)),
                        "{:?} for tenant {} returned {} of the other tenant",
                        q,
                        which,
                        hit.message.id
                    );
                }
                prop_assert!(page.total <= self.ids[which].len() as u64);
                prop_assert_eq!(page.hits.len() as u64, page.total);
                Ok(())
            }
            Err(Error::Validation(_)) => Ok(()),
            Err(other) => Err(TestCaseError::fail(format!("{q:?}: {other}"))),
        }
    }
}

/// One part of a query that names things both tenants have.
fn part(channels: Vec<Uuid>) -> impl Strategy<Value = String> {
    let word = prop::sample::select(WORDS.to_vec());
    let author_key = (0..AUTHORS, 0..4usize).prop_map(|(n, spelling)| {
        let id = author(n);
        let name = pseudonym::name(&id);
        match spelling {
            0 => format!("from:\"{name}\""),
            1 => format!("from:{}", name.replace(' ', "_").to_lowercase()),
            2 => format!("from:\"{name}#{}\"", pseudonym::tag(&id)),
            _ => format!("from:{id}"),
        }
    });
    let channel = prop_oneof![
        prop::sample::select(CHANNELS.to_vec()).prop_map(|(_, name, _)| format!("in:\"{name}\"")),
        prop::sample::select(channels).prop_map(|id| format!("in:{id}")),
    ];
    prop_oneof![
        4 => word.clone().prop_map(String::from),
        1 => word.clone().prop_map(|w| format!("-{w}")),
        1 => word.clone().prop_map(|w| format!("{}*", &w[..2])),
        1 => (word.clone(), word).prop_map(|(a, b)| format!("\"{a} {b}\"")),
        2 => author_key,
        2 => channel,
        1 => prop::sample::select(vec!["has:image", "has:link", "has:attachment", "pinned:true", "pinned:false"])
            .prop_map(String::from),
        1 => (1..=3u32).prop_map(|m| format!("during:2024-0{m}")),
    ]
}

fn sort() -> impl Strategy<Value = Sort> {
    prop::sample::select(vec![Sort::Relevance, Sort::Newest, Sort::Oldest])
}

#[test]
fn no_query_returns_a_message_of_another_tenant() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new());
    // Sanity: the shared words find messages of both tenants.
    for which in 0..2 {
        let page = rt
            .block_on(
                world
                    .env
                    .page(world.tenants[which], "apple", Sort::Newest, MAX_LIMIT, None),
            )
            .expect("search");
        assert!(!page.hits.is_empty());
    }
    let strategy = (
        prop::collection::vec(part(world.channels.clone()), 1..5),
        sort(),
        0..2usize,
    );
    let result = runner(200).run(&strategy, |(parts, sort, which)| {
        rt.block_on(world.check(which, &parts.join(" "), sort))
    });
    let World { env, .. } = world;
    rt.block_on(env.ctx.db.close()).ok();
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Arbitrary text, and text made of the language's own pieces in any order.
fn hostile_query() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,120}",
        ".{0,700}",
        prop::collection::vec(
            prop_oneof![
                "[a-zé東👍🏽*\"#:-]{0,8}",
                Just("from:".to_owned()),
                Just("in:".to_owned()),
                Just("has:".to_owned()),
                Just("pinned:".to_owned()),
                "(before|after|during):[0-9-]{0,11}",
                "[A-Za-z]{1,6}:[^ ]{0,8}",
                "\"[^\"]{0,12}\"?",
                "<[@#:a!&t/]{0,3}[0-9a-f]{0,70}>?",
                "[ \t\u{3000}\u{200D}\u{FE0F}\u{301}]",
                Just("*".repeat(40)),
                Just("a".repeat(300)),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat()),
    ]
}

#[test]
fn hostile_queries_are_answered_or_refused_never_failed() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let world = rt.block_on(World::new());
    let strategy = (
        hostile_query(),
        sort(),
        0..=MAX_LIMIT + 20,
        prop::option::of("\\PC{0,60}|[A-Za-z0-9_-]{0,80}"),
    );
    let result = runner(400).run(&strategy, |(q, sort, limit, cursor)| {
        let request = SearchRequest {
            q: q.clone(),
            limit,
            cursor,
            sort,
        };
        let t = world.tenants[0];
        let result = rt.block_on(
            world
                .env
                .index
                .search(world.env.db(), &t.to_string(), &request),
        );
        match result {
            Ok(page) => {
                for hit in &page.hits {
                    prop_assert!(world.ids[0].contains(&uuid(&hit.message.id)), "{q:?}");
                }
                Ok(())
            }
            Err(Error::Validation(issues)) => {
                prop_assert!(!issues.is_empty());
                prop_assert!(
                    issues
                        .iter()
                        .all(|i| ["q", "limit", "cursor"].contains(&i.field.as_str())),
                    "{:?}",
                    issues
                );
                Ok(())
            }
            Err(other) => Err(TestCaseError::fail(format!("{q:?}: {other}"))),
        }
    });
    let World { env, .. } = world;
    rt.block_on(env.ctx.db.close()).ok();
    if let Err(e) = result {
        panic!("{e}");
    }
}
