//! Message, thread and reaction-user pagination against brute-force listings.

use std::collections::BTreeSet;

use testkit::fake_discord::{ChannelKind, ChannelMeta, NewMessage};

use crate::helpers::{Harness, biggest, brute_force, first_of, ids};

async fn walk_after(h: &Harness, ch: &ChannelMeta, limit: usize) -> Vec<u64> {
    let mut out = Vec::new();
    let mut after = 0u64;
    loop {
        let r = h
            .get(&format!(
                "/channels/{}/messages?after={after}&limit={limit}",
                ch.id
            ))
            .await;
        assert_eq!(r.status, 200);
        let page = ids(&r.body);
        assert!(page.len() <= limit);
        assert!(
            page.windows(2).all(|w| w[0] > w[1]),
            "pages are newest-first"
        );
        assert!(page.iter().all(|id| *id > after));
        let Some(&max) = page.first() else { break };
        out.extend(page.iter().rev());
        after = max;
    }
    out
}

async fn walk_before(h: &Harness, ch: &ChannelMeta, limit: usize) -> Vec<u64> {
    let mut out = Vec::new();
    let mut query = format!("limit={limit}");
    loop {
        let r = h
            .get(&format!("/channels/{}/messages?{query}", ch.id))
            .await;
        assert_eq!(r.status, 200);
        let page = ids(&r.body);
        assert!(page.windows(2).all(|w| w[0] > w[1]), "newest-first");
        let Some(&min) = page.last() else { break };
        out.extend(page);
        query = format!("before={min}&limit={limit}");
    }
    out.reverse();
    out
}

#[tokio::test]
async fn walking_after_from_zero_and_before_from_newest_lists_every_message_exactly_once() {
    let h = Harness::small();
    let g = h.guild();
    let big = biggest(g);
    assert!(big.message_count > 1_000);
    let thread = first_of(g, ChannelKind::PublicThread);
    for (ch, limit) in [(big, 100), (big, 37), (thread, 7)] {
        let expected: Vec<u64> = brute_force(g, ch).iter().map(|m| m.id).collect();
        assert!(!expected.is_empty());
        let after = walk_after(&h, ch, limit).await;
        assert_eq!(after, expected, "after-walk of {} (limit {limit})", ch.name);
        let before = walk_before(&h, ch, limit).await;
        assert_eq!(
            before, expected,
            "before-walk of {} (limit {limit})",
            ch.name
        );
    }
}

#[tokio::test]
async fn pagination_includes_runtime_additions_and_skips_deletions() {
    let h = Harness::small();
    let g = h.guild();
    let ch = first_of(g, ChannelKind::Text);
    let all = brute_force(g, ch);
    let deleted = [all[0].id, all[500].id, all[all.len() - 1].id];
    for id in deleted {
        h.fake.delete_message(ch.id, id).expect("delete");
    }
    let added: Vec<u64> = (0..3)
        .map(|k| {
            h.fake
                .add_message(
                    ch.id,
                    NewMessage {
                        content: format!("new {k}"),
                        ..Default::default()
                    },
                )
                .expect("add")
                .id
        })
        .collect();
    let mut expected: Vec<u64> = all
        .iter()
        .map(|m| m.id)
        .filter(|id| !deleted.contains(id))
        .collect();
    expected.extend(&added);
    assert_eq!(walk_after(&h, ch, 100).await, expected);
    assert_eq!(walk_before(&h, ch, 100).await, expected);
    // The default page is the newest 50, newest first.
    let r = h.get(&format!("/channels/{}/messages", ch.id)).await;
    let page = ids(&r.body);
    assert_eq!(page.len(), 50);
    assert_eq!(page[0], *added.last().expect("added"));
}

#[tokio::test]
async fn around_returns_the_messages_surrounding_an_id_newest_first() {
    let h = Harness::small();
    let g = h.guild();
    let ch = biggest(g);
    let all: Vec<u64> = brute_force(g, ch).iter().map(|m| m.id).collect();
    let pivot = all[600];
    let r = h
        .get(&format!(
            "/channels/{}/messages?around={pivot}&limit=10",
            ch.id
        ))
        .await;
    let mut page = ids(&r.body);
    assert!(page.windows(2).all(|w| w[0] > w[1]));
    page.reverse();
    assert_eq!(page, all[595..605].to_vec());
}

#[tokio::test]
async fn archived_public_threads_page_by_archive_timestamp_exactly_once() {
    let h = Harness::small();
    let g = h.guild();
    for parent in g.initial_channels().filter(|c| c.kind.has_threads()) {
        let expected: BTreeSet<u64> = g
            .initial_channels()
            .filter(|c| c.parent_id == Some(parent.id) && c.kind != ChannelKind::PrivateThread)
            .filter(|c| c.thread.as_ref().is_some_and(|t| t.archived))
            .map(|c| c.id)
            .collect();
        let mut seen = Vec::new();
        let mut query = "limit=2".to_string();
        loop {
            let r = h
                .get(&format!(
                    "/channels/{}/threads/archived/public?{query}",
                    parent.id
                ))
                .await;
            assert_eq!(r.status, 200);
            let threads = r.body["threads"].as_array().expect("threads");
            assert!(threads.len() <= 2);
            for t in threads {
                assert_eq!(t["thread_metadata"]["archived"], true);
                seen.push(t["id"].as_str().expect("id").parse::<u64>().expect("id"));
            }
            if r.body["has_more"] != true {
                break;
            }
            let last = threads.last().expect("has_more implies a thread");
            let ts = last["thread_metadata"]["archive_timestamp"]
                .as_str()
                .expect("ts");
            query = format!("limit=2&before={}", ts.replace('+', "%2B"));
        }
        assert_eq!(
            seen.len(),
            expected.len(),
            "no duplicates in {}",
            parent.name
        );
        assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
    }
}

#[tokio::test]
async fn reaction_users_page_with_after_in_ascending_id_order() {
    let h = Harness::small();
    let g = h.guild();
    let (ch, m, reaction) = g
        .initial_channels()
        .filter(|c| c.kind.has_messages())
        .flat_map(|c| brute_force(g, c).into_iter().map(move |m| (c, m)))
        .find_map(|(c, m)| {
            let r = m.reactions.iter().find(|r| r.users.len() > 100).cloned();
            r.map(|r| (c, m, r))
        })
        .expect("a reaction with more than 100 users");
    let mut seen = Vec::new();
    let mut after = 0u64;
    loop {
        let r = h
            .get(&format!(
                "/channels/{}/messages/{}/reactions/{}?after={after}&limit=25",
                ch.id,
                m.id,
                reaction.emoji.url_segment()
            ))
            .await;
        assert_eq!(r.status, 200);
        let page = ids(&r.body);
        let Some(&last) = page.last() else { break };
        assert!(page.windows(2).all(|w| w[0] < w[1]));
        seen.extend(page);
        after = last;
    }
    assert_eq!(seen, reaction.users);
}
