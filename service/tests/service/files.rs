//! The attachment file store, queue and garbage collection against a real database (and, when
//! `VERTA_TEST_S3_URL` is set, a real S3-compatible server); downloads from the fake CDN are
//! tested through the sync in the api crate.

use std::time::Duration;

use futures::TryStreamExt;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use service::config::AttachmentStoreUrl;
use service::files::{self, BlobStore, queue, state};
use service::repo::attachments::AttachmentRow;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::helpers::{self, Ctx};

fn local_store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        BlobStore::open(&AttachmentStoreUrl::File(dir.path().join("files"))).expect("store opens");
    (dir, store)
}

/// An S3 store on the server of the test script's S3 leg, under a fresh prefix; `None` when
/// this run has no S3 server.
fn s3_store() -> Option<BlobStore> {
    let url = std::env::var("VERTA_TEST_S3_URL").ok()?;
    let bucket = url.strip_prefix("s3://")?.trim_end_matches('/').to_owned();
    let prefix = format!("test-{}", Uuid::new_v4().simple());
    Some(BlobStore::open(&AttachmentStoreUrl::S3 { bucket, prefix }).expect("S3 store opens"))
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A message with one attachment of `size` bytes in a new channel of `tenant`, queued for
/// download. Returns the attachment id.
async fn queued_attachment(db: &DatabaseConnection, tenant: Uuid, n: u64, size: i64) -> String {
    let channel = helpers::channel(db, tenant, &format!("{}", 900 + n)).await;
    let message = helpers::message(channel, 1_000 + n);
    service::repo::messages::upsert(db, std::slice::from_ref(&message))
        .await
        .expect("message");
    let row = AttachmentRow {
        message_id: message.id(),
        platform_attachment_id: format!("{}", 5_000 + n),
        filename: format!("file-{n}.png"),
        file_size: size,
        content_type: "image/png".into(),
        url: format!("https://cdn.discordapp.com/attachments/1/{n}/file-{n}.png"),
    };
    service::repo::attachments::upsert(db, std::slice::from_ref(&row))
        .await
        .expect("attachment");
    let id = row.id().to_string();
    for statement in queue::queue_statements(db.get_database_backend(), std::slice::from_ref(&id)) {
        db.execute_raw(statement).await.expect("queued");
    }
    id
}

/// Store `bytes` as the file of `attachment_id` the way the fetcher does (claim, hash, blob,
/// stored).
async fn store_file(db: &DatabaseConnection, store: &BlobStore, attachment_id: &str, bytes: &[u8]) {
    let worker = format!("test-{}", Uuid::new_v4());
    let claimed = queue::claim(db, &worker, Duration::from_secs(30), 1000)
        .await
        .expect("claim");
    assert!(
        claimed.iter().any(|c| c.attachment_id == attachment_id),
        "{attachment_id} claimable"
    );
    let staged = files::download::stage_bytes(&store.staging_dir(), bytes).expect("staged");
    let hash = staged.sha256.clone();
    assert!(
        queue::set_hash(db, attachment_id, &worker, &hash)
            .await
            .expect("hash")
    );
    if !store.contains(&hash).await.expect("contains") {
        store.put(staged).await.expect("put");
    }
    assert!(
        queue::mark_stored(db, attachment_id, &worker, &hash, bytes.len() as u64)
            .await
            .expect("stored")
    );
    // Hand back what this worker claimed besides.
    for c in claimed.iter().filter(|c| c.attachment_id != attachment_id) {
        queue::release(db, &c.attachment_id, &worker)
            .await
            .expect("release");
    }
}

async fn blob_bytes(store: &BlobStore, hash: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let body = store.get(hash, range).await.expect("get").expect("stored");
    let chunks: Vec<bytes::Bytes> = body.stream.try_collect().await.expect("read");
    chunks.concat()
}

async fn round_trip(store: &BlobStore) {
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let hash = sha(&bytes);
    assert!(!store.contains(&hash).await.expect("contains"));
    assert!(store.get(&hash, None).await.expect("get").is_none());
    let staged = files::download::stage_bytes(&store.staging_dir(), &bytes).expect("staged");
    assert_eq!(staged.sha256, hash);
    store.put(staged).await.expect("put");
    // The same content again is a no-op, not an error.
    let again = files::download::stage_bytes(&store.staging_dir(), &bytes).expect("staged");
    store.put(again).await.expect("put twice");
    assert!(store.contains(&hash).await.expect("contains"));
    assert_eq!(
        store.size(&hash).await.expect("size"),
        Some(bytes.len() as u64)
    );
    assert_eq!(blob_bytes(store, &hash, None).await, bytes);
    assert_eq!(
        blob_bytes(store, &hash, Some(1_000..70_000)).await,
        bytes[1_000..70_000]
    );
    let listed: Vec<(String, u64)> = store.list().try_collect().await.expect("list");
    assert!(
        listed.contains(&(hash.clone(), bytes.len() as u64)),
        "{listed:?}"
    );
    // Names that are not hashes never reach a path or a key.
    assert!(!store.contains("../../etc/passwd").await.expect("contains"));
    assert!(store.get("../x", None).await.expect("get").is_none());
    store.delete(&hash).await.expect("delete");
    assert!(!store.contains(&hash).await.expect("contains"));
    store.delete(&hash).await.expect("delete twice");

    // Larger than one upload part: a multipart upload on S3.
    let big: Vec<u8> = (0..9 * 1024 * 1024 + 1u32)
        .map(|i| (i % 253) as u8)
        .collect();
    let staged = files::download::stage_bytes(&store.staging_dir(), &big).expect("staged");
    let big_hash = staged.sha256.clone();
    store.put(staged).await.expect("put big");
    assert_eq!(
        store.size(&big_hash).await.expect("size"),
        Some(big.len() as u64)
    );
    let boundary = 8 * 1024 * 1024;
    assert_eq!(
        blob_bytes(store, &big_hash, Some(boundary - 10..boundary + 10)).await,
        big[boundary as usize - 10..boundary as usize + 10]
    );
    assert_eq!(blob_bytes(store, &big_hash, None).await, big);
    store.delete(&big_hash).await.expect("delete big");
}

#[tokio::test]
async fn a_local_store_keeps_blobs_whole_by_hash_with_ranges() {
    let (dir, store) = local_store();
    round_trip(&store).await;
    // Nothing is left in the temporary directory after a put.
    let leftovers = std::fs::read_dir(dir.path().join("files/.tmp"))
        .expect("tmp dir")
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn an_s3_store_keeps_blobs_whole_by_hash_with_ranges() {
    let Some(store) = s3_store() else {
        eprintln!("VERTA_TEST_S3_URL is not set: the S3 leg of scripts/test.sh runs this test");
        return;
    };
    round_trip(&store).await;
}

async fn gc_spares_shared_blobs(store: BlobStore) {
    let Ctx { db, test_db: _t } = helpers::setup().await;
    let a = helpers::tenant(&db).await;
    let b = helpers::tenant(&db).await;
    let shared = b"the same meme, posted in two servers".to_vec();
    let only_b = b"a file only the second server has".to_vec();
    let a1 = queued_attachment(&db, a.id, 1, shared.len() as i64).await;
    let b1 = queued_attachment(&db, b.id, 2, shared.len() as i64).await;
    let b2 = queued_attachment(&db, b.id, 3, only_b.len() as i64).await;
    store_file(&db, &store, &a1, &shared).await;
    store_file(&db, &store, &b1, &shared).await;
    store_file(&db, &store, &b2, &only_b).await;
    let status_b = files::status(&db, &b, &store, true).await.expect("status");
    assert_eq!(status_b.stored.files, 2);
    assert_eq!(status_b.blobs.files, 2);
    // An orphan (left by an earlier deletion) goes at the first collection.
    let orphan = files::download::stage_bytes(&store.staging_dir(), b"orphan").expect("staged");
    let orphan_hash = orphan.sha256.clone();
    store.put(orphan).await.expect("put");

    let first = files::gc(&db, &store).await.expect("gc");
    assert_eq!(
        (first.blobs, first.referenced, first.removed),
        (3, 2, 1),
        "{first:?}"
    );
    assert!(!store.contains(&orphan_hash).await.expect("contains"));

    service::tenants::delete(&db, b.id)
        .await
        .expect("tenant deleted");
    let second = files::gc(&db, &store).await.expect("gc");
    assert_eq!((second.blobs, second.removed), (2, 1), "{second:?}");
    assert_eq!(second.removed_bytes, only_b.len() as u64);
    assert!(
        store.contains(&sha(&shared)).await.expect("contains"),
        "shared blob kept"
    );
    assert!(!store.contains(&sha(&only_b)).await.expect("contains"));
    assert_eq!(blob_bytes(&store, &sha(&shared), None).await, shared);
    let status_a = files::status(&db, &a, &store, true).await.expect("status");
    assert_eq!(status_a.stored.files, 1);
}

#[tokio::test]
async fn gc_removes_only_blobs_no_tenant_references() {
    let (_dir, store) = local_store();
    gc_spares_shared_blobs(store).await;
}

#[tokio::test]
async fn gc_removes_only_blobs_no_tenant_references_s3() {
    let Some(store) = s3_store() else {
        eprintln!("VERTA_TEST_S3_URL is not set: the S3 leg of scripts/test.sh runs this test");
        return;
    };
    gc_spares_shared_blobs(store).await;
}

#[tokio::test]
async fn a_row_reset_by_gc_is_not_marked_stored_by_a_late_fetcher() {
    let Ctx { db, test_db: _t } = helpers::setup().await;
    let (_dir, store) = local_store();
    let tenant = helpers::tenant(&db).await;
    let id = queued_attachment(&db, tenant.id, 1, 5).await;
    let worker = "late-fetcher";
    let claimed = queue::claim(&db, worker, Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let hash = sha(b"hello");
    assert!(
        queue::set_hash(&db, &id, worker, &hash)
            .await
            .expect("hash")
    );
    // Garbage collection removed that blob and re-queued what referenced it.
    assert_eq!(
        queue::requeue_hashes(&db, std::slice::from_ref(&hash))
            .await
            .expect("requeue"),
        1
    );
    assert!(
        !queue::mark_stored(&db, &id, worker, &hash, 5)
            .await
            .expect("mark")
    );
    let row = entity::attachment_files::Entity::find_by_id(id.clone())
        .one(&db)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.state, state::PENDING);
    assert_eq!(row.sha256, None);
    // It is downloaded again.
    store_file(&db, &store, &id, b"hello").await;
}

#[tokio::test]
async fn claims_are_exclusive_until_their_lease_expires() {
    let Ctx { db, test_db: _t } = helpers::setup().await;
    let tenant = helpers::tenant(&db).await;
    for n in 0..5 {
        queued_attachment(&db, tenant.id, n, 10).await;
    }
    let first = queue::claim(&db, "one", Duration::from_secs(1), 3)
        .await
        .expect("claim");
    assert_eq!(first.len(), 3);
    let second = queue::claim(&db, "two", Duration::from_secs(1), 10)
        .await
        .expect("claim");
    assert_eq!(second.len(), 2, "only the unclaimed rest");
    assert!(
        second
            .iter()
            .all(|c| first.iter().all(|f| f.attachment_id != c.attachment_id))
    );
    assert!(
        queue::claim(&db, "three", Duration::from_secs(1), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    // A dead worker's files are taken over once its lease has passed.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let later = queue::claim(&db, "three", Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(later.len(), 5);
    // The old holder can no longer record anything.
    assert!(
        !queue::mark_final(&db, &first[0].attachment_id, "one", state::GONE, "x")
            .await
            .expect("mark")
    );
}

#[tokio::test]
async fn backfill_queues_each_unqueued_attachment_once_and_status_counts_them() {
    let Ctx { db, test_db: _t } = helpers::setup().await;
    let (_dir, store) = local_store();
    let tenant = helpers::tenant(&db).await;
    let other = helpers::tenant(&db).await;
    let queued = queued_attachment(&db, tenant.id, 1, 100).await;
    // Attachments written before files were fetched: no file row.
    let unqueued: Vec<String> = {
        let mut ids = Vec::new();
        for n in 2..6 {
            let id = queued_attachment(&db, tenant.id, n, 1_000).await;
            entity::attachment_files::Entity::delete_by_id(id.clone())
                .exec(&db)
                .await
                .expect("unqueue");
            ids.push(id);
        }
        ids
    };
    queued_attachment(&db, other.id, 9, 7).await;
    let before = files::status(&db, &tenant, &store, true)
        .await
        .expect("status");
    assert_eq!(before.total.files, 5);
    assert_eq!(
        before.pending.files, 5,
        "unqueued attachments count as pending"
    );
    assert_eq!(before.pending.bytes, 4_100);
    assert_eq!(
        queue::backfill(&db, &tenant.id.to_string())
            .await
            .expect("backfill"),
        unqueued.len() as u64
    );
    assert_eq!(
        queue::backfill(&db, &tenant.id.to_string())
            .await
            .expect("again"),
        0
    );

    store_file(&db, &store, &queued, &[7u8; 100]).await;
    let worker = "w";
    let claimed = queue::claim(&db, worker, Duration::from_secs(30), 100)
        .await
        .expect("claim");
    let mine: Vec<_> = claimed
        .iter()
        .filter(|c| c.tenant_id == tenant.id.to_string())
        .collect();
    assert_eq!(mine.len(), 4);
    queue::mark_final(
        &db,
        &mine[0].attachment_id,
        worker,
        state::SKIPPED,
        "too large",
    )
    .await
    .expect("skip");
    queue::mark_final(
        &db,
        &mine[1].attachment_id,
        worker,
        state::GONE,
        "not found",
    )
    .await
    .expect("gone");
    queue::retry_later(
        &db,
        &mine[2].attachment_id,
        worker,
        Duration::from_secs(60),
        "HTTP 503",
    )
    .await
    .expect("retry");
    let after = files::status(&db, &tenant, &store, true)
        .await
        .expect("status");
    assert_eq!(
        after.stored,
        files::Tally {
            files: 1,
            bytes: 100
        }
    );
    assert_eq!(after.skipped.files, 1);
    assert_eq!(after.skipped_reasons.get("too large"), Some(&1));
    assert_eq!(after.gone.files, 1);
    assert_eq!(after.pending.files, 2);
    assert_eq!(after.retrying, 1);
    assert_eq!(
        after.blobs,
        files::Tally {
            files: 1,
            bytes: 100
        }
    );
    let json = serde_json::to_value(&after).expect("json");
    for key in [
        "total",
        "stored",
        "pending",
        "skipped",
        "gone",
        "blobs",
        "skippedReasons",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
}
