//! What the sync changes reaches the index on the next pass: edits, deletion marks, channels
//! that vanish and come back, deleted tenants.

use chrono::Utc;
use service::repo::channels::ChannelKind;
use service::sync::rows::{deleted_message_metadata, vanished_channel_metadata};
use service::tenants;

use super::{Env, author, days_ago, post, store_channel, text_channel, thread, write};
use crate::helpers::tenant;

#[tokio::test]
async fn an_edit_is_found_by_its_new_words_after_the_next_pass_only() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let mut row = post(db, ch, days_ago(3), &author(1), "original wording here").await;
    env.catch_up().await;
    assert_eq!(env.ids(t, "original").await, [row.id()]);

    row.content = "revised text instead".into();
    write(db, &row).await;
    // Not yet: the index still holds the old words.
    assert!(env.ids(t, "revised").await.is_empty());
    let done = env.catch_up().await;
    assert_eq!((done.indexed, done.removed), (1, 0));
    assert_eq!(env.ids(t, "revised").await, [row.id()]);
    assert!(env.ids(t, "original").await.is_empty());
    assert_eq!(env.index.copies_of(&row.id().to_string()).unwrap(), 1);
    assert_eq!(env.index.document_count(Some(&t.to_string())).unwrap(), 1);
}

#[tokio::test]
async fn a_message_marked_deleted_leaves_the_index() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let mut gone = post(db, ch, days_ago(2), &author(1), "soon deleted words").await;
    let kept = post(db, ch, days_ago(1), &author(1), "kept words").await;
    env.catch_up().await;
    assert_eq!(env.ids(t, "words").await, [kept.id(), gone.id()]);

    gone.metadata = deleted_message_metadata(None, Utc::now());
    write(db, &gone).await;
    let done = env.catch_up().await;
    assert_eq!(done.removed, 1);
    assert_eq!(env.ids(t, "words").await, [kept.id()]);
    assert!(env.ids(t, "deleted").await.is_empty());
    assert_eq!(env.index.copies_of(&gone.id().to_string()).unwrap(), 0);
    assert_eq!(env.index.document_count(Some(&t.to_string())).unwrap(), 1);
}

#[tokio::test]
async fn a_vanished_channel_takes_its_threads_out_and_brings_them_back_when_public() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let hidden = text_channel(db, t, "10", "secretive").await;
    let sub = thread(db, t, "11", "a thread", "10").await;
    let open = text_channel(db, t, "20", "open").await;
    let who = author(1);
    let in_channel = post(db, hidden, days_ago(3), &who, "lantern in the channel").await;
    let in_thread = post(db, sub, days_ago(2), &who, "lantern in the thread").await;
    let elsewhere = post(db, open, days_ago(1), &who, "lantern elsewhere").await;
    env.catch_up().await;
    let all = [elsewhere.id(), in_thread.id(), in_channel.id()];
    assert_eq!(env.ids(t, "lantern").await, all);
    assert_eq!(
        env.ids(t, "in:secretive").await,
        [in_thread.id(), in_channel.id()]
    );

    let vanished = vanished_channel_metadata(None, days_ago(1), Utc::now());
    store_channel(db, t, "10", "secretive", ChannelKind::Text, None, vanished).await;
    let done = env.catch_up().await;
    assert_eq!(done.removed, 2, "{done:?}");
    assert_eq!(env.ids(t, "lantern").await, [elsewhere.id()]);
    assert!(env.ids(t, "thread").await.is_empty());
    assert_eq!(env.index.document_count(Some(&t.to_string())).unwrap(), 1);

    // A message synced into the thread while its parent is hidden stays out too.
    let late = post(db, sub, days_ago(0), &who, "lantern arrives late").await;
    env.catch_up().await;
    assert_eq!(env.index.copies_of(&late.id().to_string()).unwrap(), 0);

    store_channel(db, t, "10", "secretive", ChannelKind::Text, None, None).await;
    let done = env.catch_up().await;
    assert_eq!(done.indexed, 3, "{done:?}");
    assert_eq!(
        env.ids(t, "lantern").await,
        [late.id(), elsewhere.id(), in_thread.id(), in_channel.id()]
    );
    for id in [late.id(), elsewhere.id(), in_thread.id(), in_channel.id()] {
        assert_eq!(env.index.copies_of(&id.to_string()).unwrap(), 1);
    }
}

#[tokio::test]
async fn a_deleted_tenant_loses_its_documents_on_the_next_pass() {
    let env = Env::new().await;
    let db = env.db();
    let doomed = tenant(db).await.id;
    let other = tenant(db).await.id;
    for (t, platform) in [(doomed, "1"), (other, "2")] {
        let ch = text_channel(db, t, platform, "general").await;
        for n in 0..3 {
            post(db, ch, days_ago(n), &author(1), "shared words everywhere").await;
        }
    }
    env.catch_up().await;
    assert_eq!(
        env.index.document_count(Some(&doomed.to_string())).unwrap(),
        3
    );

    tenants::delete(db, doomed).await.expect("tenant deleted");
    env.catch_up().await;
    assert_eq!(
        env.index.document_count(Some(&doomed.to_string())).unwrap(),
        0
    );
    assert_eq!(
        env.index.document_count(Some(&other.to_string())).unwrap(),
        3
    );
    assert_eq!(env.index.document_count(None).unwrap(), 3);
    assert_eq!(env.ids(other, "shared").await.len(), 3);
}

#[tokio::test]
async fn the_indexer_task_builds_the_index_then_follows_writes_until_stopped() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let before = post(db, ch, days_ago(1), &author(1), "written before the start").await;
    assert!(!env.index.is_built().await);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(env.index.clone().run(db.clone(), stopped));

    let after = post(db, ch, days_ago(0), &author(1), "written after the start").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found = env.ids(t, "written").await;
        if found == [after.id(), before.id()] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not searchable within 10 s: {found:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(env.index.is_built().await);
    assert!(env.index.disk_bytes().await > 0);

    stop.send(true).expect("the indexer listens");
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .expect("the indexer stops when told")
        .expect("the indexer task ends cleanly");
}

/// Backdate a row's `updated_at`, as if its write had been stamped `secs` seconds ago and
/// committed only now (a writer that waited for the database's write lock).
async fn backdate(db: &sea_orm::DatabaseConnection, table: &str, id: &str, secs: i64) {
    use sea_orm::ConnectionTrait;
    let at = service::db::now() - chrono::Duration::seconds(secs);
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        format!("UPDATE {table} SET updated_at = ? WHERE id = ?"),
        [at.into(), id.into()],
    ))
    .await
    .expect("backdated");
}

#[tokio::test]
async fn writes_that_commit_after_a_pass_passed_their_stamp_are_found_by_the_recheck() {
    let env = Env::new().await;
    let db = env.db();
    let t = tenant(db).await.id;
    let ch = text_channel(db, t, "1", "general").await;
    let other = text_channel(db, t, "2", "secret").await;
    post(db, other, days_ago(2), &author(2), "hushed remark").await;
    post(db, ch, days_ago(3), &author(1), "early words").await;
    env.catch_up().await;
    // Another write moves the position on ...
    post(db, ch, days_ago(1), &author(1), "later words").await;
    env.catch_up().await;

    // ... then a message and a channel mark commit stamped before it.
    let late = post(db, ch, days_ago(2), &author(1), "straggler arrives").await;
    backdate(db, "messages", &late.id().to_string(), 30).await;
    store_channel(
        db,
        t,
        "2",
        "secret",
        ChannelKind::Text,
        None,
        vanished_channel_metadata(None, Utc::now(), Utc::now()),
    )
    .await;
    backdate(db, "channels", &other.to_string(), 30).await;
    let done = env.catch_up().await;
    assert_eq!(
        done.indexed, 0,
        "the pass does not see writes behind its position"
    );
    assert!(env.ids(t, "straggler").await.is_empty());
    let tenant = t.to_string();
    // Still indexed (though never shown: hits are checked against their channel).
    assert_eq!(env.index.document_count(Some(&tenant)).unwrap(), 3);
    assert!(env.ids(t, "hushed").await.is_empty());

    assert_eq!(env.index.recheck(db).await.unwrap(), 1);
    assert_eq!(env.ids(t, "straggler").await, [late.id()]);
    // early, later and straggler: the late vanish mark took "hushed" out.
    assert_eq!(env.index.document_count(Some(&tenant)).unwrap(), 3);
    assert_eq!(env.ids(t, "words").await.len(), 2);
    // Nothing is left to find: a second recheck changes nothing.
    assert_eq!(env.index.recheck(db).await.unwrap(), 0);
    assert_eq!(env.index.copies_of(&late.id().to_string()).unwrap(), 1);
}
