//! Result order: relevance with a recency boost on a crafted corpus, exact newest/oldest
//! order, and paging with cursors.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use service::search::{MAX_LIMIT, Sort};
use uuid::Uuid;

use service::repo::messages::MessageRow;

use super::{Env, all_ids, at, author, days_ago, issue, post, text_channel, uuid, write};
use crate::helpers::tenant;

/// The hit ids of `q` by relevance.
async fn ranked(env: &Env, tenant: Uuid, q: &str) -> Vec<Uuid> {
    env.relevance(tenant, q)
        .await
        .hits
        .iter()
        .map(|h| uuid(&h.message.id))
        .collect()
}

#[tokio::test]
async fn relevance_orders_by_term_weight_length_and_then_age() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let who = author(1);
    let month_ago = days_ago(30);

    // Equally long, equally old: the word twice beats the word once.
    let once = post(db, ch, month_ago, &who, "alpha gamma delta epsilon").await;
    let twice = post(db, ch, month_ago, &who, "alpha alpha delta epsilon").await;
    // Identical texts: the newer first.
    let recent = post(db, ch, days_ago(5), &who, "identical harbour message").await;
    let older = post(db, ch, days_ago(50), &who, "identical harbour message").await;
    let oldest = post(db, ch, days_ago(500), &who, "identical harbour message").await;
    // Equally old, the word once: the shorter message first.
    let short = post(db, ch, month_ago, &who, "zeta one").await;
    let long = post(
        db,
        ch,
        month_ago,
        &who,
        "zeta one two three four five six seven eight",
    )
    .await;
    // A much better match outweighs the boost of a much newer weak one.
    let strong_old = post(db, ch, days_ago(700), &who, "papaya papaya papaya").await;
    let weak_new = post(
        db,
        ch,
        days_ago(1),
        &who,
        "a long message that mentions papaya once among many other words about fruit \
         markets prices weather travel plans and the weekend schedule for everyone here",
    )
    .await;
    // All three words must match; of those that do, the rarer word's repetition counts more.
    for n in 0..6 {
        post(db, ch, month_ago, &who, &format!("common filler text {n}")).await;
    }
    let rare_twice = post(db, ch, month_ago, &who, "common rare rare kiwi").await;
    let common_twice = post(db, ch, month_ago, &who, "common common rare kiwi").await;
    let two_of_three = post(db, ch, month_ago, &who, "common rare plain").await;
    env.catch_up().await;

    assert_eq!(ranked(&env, t, "alpha").await, [twice.id(), once.id()]);
    assert_eq!(
        ranked(&env, t, "harbour").await,
        [recent.id(), older.id(), oldest.id()]
    );
    assert_eq!(
        ranked(&env, t, "\"identical harbour\"").await,
        [recent.id(), older.id(), oldest.id()]
    );
    assert_eq!(ranked(&env, t, "zeta").await, [short.id(), long.id()]);
    assert_eq!(
        ranked(&env, t, "papaya").await,
        [strong_old.id(), weak_new.id()]
    );
    let three = ranked(&env, t, "common rare kiwi").await;
    assert_eq!(three, [rare_twice.id(), common_twice.id()]);
    assert!(!three.contains(&two_of_three.id()));
    // The order of the words in the query does not matter.
    assert_eq!(ranked(&env, t, "kiwi rare common").await, three);
}

#[tokio::test]
async fn newest_and_oldest_follow_the_send_time_exactly() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let who = author(1);
    // Written out of order; two in the same second (the snowflake orders them).
    let times: [DateTime<Utc>; 6] = [
        at(2024, 5, 1, 12, 0, 0),
        at(2021, 1, 1, 0, 0, 0),
        at(2024, 5, 1, 12, 0, 1),
        at(2024, 5, 1, 12, 0, 1),
        at(2023, 12, 31, 23, 59, 59),
        at(2025, 6, 30, 8, 0, 0),
    ];
    let mut rows = Vec::new();
    for (n, sent) in times.iter().enumerate() {
        rows.push(post(db, ch, *sent, &who, &format!("sorted message {n}")).await);
    }
    env.catch_up().await;
    let expected_newest: Vec<Uuid> = [5, 3, 2, 0, 4, 1].iter().map(|&n| rows[n].id()).collect();
    let mut expected_oldest = expected_newest.clone();
    expected_oldest.reverse();
    for limit in [1, 2, 4, MAX_LIMIT] {
        let newest = all_ids(&env.index, db, t, "sorted", Sort::Newest, limit).await;
        assert_eq!(newest, expected_newest, "limit {limit}");
        let oldest = all_ids(&env.index, db, t, "sorted", Sort::Oldest, limit).await;
        assert_eq!(oldest, expected_oldest, "limit {limit}");
    }
}

#[tokio::test]
async fn paging_returns_every_hit_once_in_every_order() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let who = author(1);
    // Many old short matches score higher than the new longer ones before the recency
    // boost, and lower after it: the boosted order must hold across every page.
    let long_ago = days_ago(3000);
    let mut expected = HashSet::new();
    for n in 0..230 {
        expected.insert(
            post(db, ch, long_ago, &who, &format!("needle {n}"))
                .await
                .id(),
        );
    }
    for n in 0..40 {
        let row = post(db, ch, days_ago(0), &who, &format!("needle and more {n}")).await;
        expected.insert(row.id());
    }
    env.catch_up().await;
    for sort in [Sort::Relevance, Sort::Newest, Sort::Oldest] {
        for limit in [7, 25, MAX_LIMIT] {
            let first = env
                .page(t, "needle", sort, limit, None)
                .await
                .expect("first page");
            assert_eq!(first.total, 270, "{sort:?}");
            let ids = all_ids(&env.index, db, t, "needle", sort, limit).await;
            let distinct: HashSet<Uuid> = ids.iter().copied().collect();
            assert_eq!(
                distinct.len(),
                ids.len(),
                "{sort:?} limit {limit}: a hit twice"
            );
            assert_eq!(distinct, expected, "{sort:?} limit {limit}: hits missing");
        }
    }
    // Relevance: the recency boost reorders tiers of 200 by raw score, each within itself:
    // the old short messages fill the first tier, and the new ones lead the second.
    let ranked = all_ids(&env.index, db, t, "needle", Sort::Relevance, 25).await;
    let new: HashSet<Uuid> = all_ids(&env.index, db, t, "needle more", Sort::Newest, MAX_LIMIT)
        .await
        .into_iter()
        .collect();
    assert_eq!(new.len(), 40);
    assert!(ranked[..200].iter().all(|id| !new.contains(id)));
    assert!(ranked[200..240].iter().all(|id| new.contains(id)));
}

#[tokio::test]
async fn a_cursor_only_continues_its_own_query_and_order() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    for n in 0..5 {
        post(db, ch, days_ago(n), &author(1), &format!("cursor word {n}")).await;
    }
    env.catch_up().await;
    for sort in [Sort::Relevance, Sort::Newest, Sort::Oldest] {
        let first = env
            .page(t, "cursor", sort, 2, None)
            .await
            .expect("first page");
        assert_eq!(first.hits.len(), 2);
        let cursor = first.next_cursor.expect("a next page");
        let second = env
            .page(t, "cursor", sort, 2, Some(cursor.clone()))
            .await
            .expect("the same query continues");
        assert_eq!(second.hits.len(), 2);
        let (field, _) = issue(
            "another query",
            env.page(t, "word", sort, 2, Some(cursor.clone())).await,
        );
        assert_eq!(field, "cursor");
        let other_sort = if sort == Sort::Newest {
            Sort::Oldest
        } else {
            Sort::Newest
        };
        let (field, _) = issue(
            "another order",
            env.page(t, "cursor", other_sort, 2, Some(cursor)).await,
        );
        assert_eq!(field, "cursor");
    }
    for garbage in ["", "x", "eyJmIjoiMSJ9", "!!!", &"A".repeat(2_000)] {
        let (field, _) = issue(
            garbage,
            env.page(t, "cursor", Sort::Newest, 2, Some(garbage.to_owned()))
                .await,
        );
        assert_eq!(field, "cursor", "{garbage:?}");
    }
}

#[tokio::test]
async fn messages_of_one_second_with_the_same_snowflake_low_bits_are_both_paged() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    // A snowflake's low 22 bits (worker, process, a wrapping counter) can repeat within one
    // second; the stored send time keeps whole seconds, the snowflake the milliseconds.
    let sent = at(2024, 5, 1, 12, 0, 0);
    let ms = (sent.timestamp_millis() - 1_420_070_400_000) as u64;
    let mut rows = Vec::new();
    for offset in [120, 870] {
        let row = MessageRow {
            channel_id: ch,
            platform_message_id: (((ms + offset) << 22) | 77).to_string(),
            anonymized_author_id: author(1),
            content: "twin message".into(),
            reply_to_id: None,
            metadata: None,
            platform_created_at: sent,
        };
        write(db, &row).await;
        rows.push(row.id());
    }
    env.catch_up().await;
    let oldest = all_ids(&env.index, db, t, "twin", Sort::Oldest, 1).await;
    assert_eq!(oldest, rows);
    rows.reverse();
    let newest = all_ids(&env.index, db, t, "twin", Sort::Newest, 1).await;
    assert_eq!(newest, rows);
}

#[tokio::test]
async fn filters_and_other_tenants_never_reorder_a_tenants_hits() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let general = text_channel(db, t, "1", "general").await;
    let sub = super::thread(db, t, "2", "a thread", "1").await;
    let (a, b) = (author(1), author(2));
    // Close raw scores at different ages, in the channel and its thread, with and without
    // attachments of one or two kinds.
    let rows = [
        (general, 300, &a, "kiwi kiwi alpha beta", None),
        (
            sub,
            1,
            &b,
            "kiwi alpha beta gamma",
            Some(("a.png", "image/png")),
        ),
        (
            general,
            40,
            &a,
            "kiwi alpha beta",
            Some(("a.pdf", "application/pdf")),
        ),
        (
            sub,
            120,
            &a,
            "kiwi kiwi alpha beta gamma",
            Some(("b.png", "image/png")),
        ),
        (general, 5, &b, "kiwi one two three four", None),
        (
            sub,
            700,
            &b,
            "kiwi kiwi kiwi",
            Some(("c.pdf", "application/pdf")),
        ),
        (general, 60, &b, "other words only", None),
    ];
    let mut ids = Vec::new();
    for (channel, age, who, text, file) in rows {
        let row = post(db, channel, days_ago(age), who, text).await;
        if let Some((name, kind)) = file {
            super::attach(db, &row, name, kind).await;
        }
        ids.push(row.id());
    }
    env.catch_up().await;
    let alone = ranked(&env, t, "kiwi").await;
    assert_eq!(alone.len(), 6);

    // A filter narrows the hits and keeps their order.
    let narrowed = |keep: &[usize]| -> Vec<Uuid> {
        let keep: Vec<Uuid> = keep.iter().map(|&n| ids[n]).collect();
        alone
            .iter()
            .copied()
            .filter(|id| keep.contains(id))
            .collect()
    };
    assert_eq!(
        ranked(&env, t, "kiwi has:attachment").await,
        narrowed(&[1, 2, 3, 5])
    );
    assert_eq!(ranked(&env, t, "kiwi has:image").await, narrowed(&[1, 3]));
    assert_eq!(
        ranked(&env, t, "kiwi in:general").await,
        narrowed(&[0, 1, 2, 3, 4, 5])
    );
    assert_eq!(
        ranked(&env, t, "kiwi in:\"a thread\"").await,
        narrowed(&[1, 3, 5])
    );
    assert_eq!(
        ranked(&env, t, &format!("kiwi from:{a}")).await,
        narrowed(&[0, 2, 3])
    );
    assert_eq!(
        ranked(&env, t, &format!("kiwi from:{a} from:{b}")).await,
        alone
    );

    // Another, much larger tenant joins the index: this tenant's order stays.
    let big = tenant(db).await.id;
    let elsewhere = text_channel(db, big, "1", "general").await;
    let filler: Vec<MessageRow> = (0..1_000)
        .map(|n| MessageRow {
            channel_id: elsewhere,
            platform_message_id: super::snowflake(days_ago(n % 500)).to_string(),
            anonymized_author_id: author(3),
            content: format!("unrelated chatter number {n}"),
            reply_to_id: None,
            metadata: None,
            platform_created_at: days_ago(n % 500),
        })
        .collect();
    service::repo::messages::upsert(db, &filler)
        .await
        .expect("messages stored");
    env.catch_up().await;
    assert_eq!(ranked(&env, t, "kiwi").await, alone);
    assert_eq!(
        ranked(&env, t, "kiwi has:attachment").await,
        narrowed(&[1, 2, 3, 5])
    );
}

#[tokio::test]
async fn a_query_of_filters_only_ranks_the_newest_first_over_every_page() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let who = author(1);
    // Older messages indexed first, then newer ones: nothing but recency tells them apart.
    let mut expected = Vec::new();
    for n in 0..220 {
        let row = post(db, ch, days_ago(1_000 - n), &who, &format!("old image {n}")).await;
        super::attach(db, &row, "a.png", "image/png").await;
        expected.push(row.id());
    }
    env.catch_up().await;
    for n in 0..30 {
        let row = post(db, ch, days_ago(30 - n), &who, &format!("new image {n}")).await;
        super::attach(db, &row, "b.png", "image/png").await;
        expected.push(row.id());
    }
    env.catch_up().await;
    expected.reverse();
    for q in ["has:image", "-nothing", "has:image -nothing"] {
        let ranked = all_ids(&env.index, db, t, q, Sort::Relevance, 25).await;
        assert!(
            ranked == expected,
            "{q:?}: {} hits, the newest at {:?}",
            ranked.len(),
            ranked.iter().position(|id| *id == expected[0])
        );
    }
}
