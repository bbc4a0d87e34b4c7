//! The S3 leg's end-to-end check of the object store itself: `object_store`'s `AmazonS3`,
//! configured from the AWS variables exactly as Verta configures it, against the real
//! S3-compatible server that `scripts/s3.sh` starts on loopback (s3s-fs). A multipart upload,
//! a ranged read across a part boundary, a listing and a delete: the calls the attachment
//! store makes, so a server or client incompatibility shows here first.
//!
//! Runs only when `VERTA_TEST_S3_URL` is set (`bash scripts/s3.sh run -- cargo test -p service
//! --test service s3_smoke`; `scripts/test.sh` sets it in its S3 leg); otherwise it says so
//! and passes, like every S3 test, so that a plain `cargo test` needs no server.

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, ObjectStoreScheme, WriteMultipart};
use uuid::Uuid;

/// The object's size: more than two parts of `WriteMultipart`'s 5 MiB, with a short last part.
const OBJECT_BYTES: usize = 12 * 1024 * 1024;
/// `WriteMultipart`'s part size; the ranged read straddles the first part boundary.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// Deterministic, non-repeating content (xorshift64), so that a part written at the wrong
/// offset or a range served from the wrong place cannot compare equal.
fn content(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&state.to_le_bytes()[..take]);
    }
    out
}

#[tokio::test]
async fn s3_smoke_multipart_put_ranged_get_list_and_delete_on_the_real_server() {
    let Ok(url) = std::env::var("VERTA_TEST_S3_URL") else {
        println!(
            "VERTA_TEST_S3_URL is not set: S3 smoke test not run (bash scripts/s3.sh run -- cargo test ...)"
        );
        return;
    };
    let parsed = url::Url::parse(&url).unwrap_or_else(|e| panic!("VERTA_TEST_S3_URL {url}: {e}"));
    let (scheme, base) = ObjectStoreScheme::parse(&parsed)
        .unwrap_or_else(|e| panic!("VERTA_TEST_S3_URL {url}: {e}"));
    assert_eq!(
        scheme,
        ObjectStoreScheme::AmazonS3,
        "{url} is not an s3:// URL"
    );
    let store = AmazonS3Builder::from_env()
        .with_url(&url)
        .build()
        .unwrap_or_else(|e| panic!("AmazonS3 from the AWS variables and {url}: {e}"));

    // A prefix of its own, so that parallel runs against one bucket never see each other.
    let prefix: Path = base
        .parts()
        .chain(["s3-smoke".into(), Uuid::new_v4().to_string().into()])
        .collect();
    let location = prefix.clone().join("object.bin");
    let bytes = content(OBJECT_BYTES);

    let mut upload = WriteMultipart::new_with_chunk_size(
        store
            .put_multipart(&location)
            .await
            .unwrap_or_else(|e| panic!("start multipart upload of {location}: {e}")),
        PART_BYTES,
    );
    // Written in 1 MiB pieces, the way a download is streamed into the store.
    for piece in bytes.chunks(1024 * 1024) {
        upload
            .wait_for_capacity(2)
            .await
            .unwrap_or_else(|e| panic!("upload part of {location}: {e}"));
        upload.write(piece);
    }
    upload
        .finish()
        .await
        .unwrap_or_else(|e| panic!("complete multipart upload of {location}: {e}"));

    let meta = store
        .head(&location)
        .await
        .unwrap_or_else(|e| panic!("head {location}: {e}"));
    assert_eq!(meta.size, OBJECT_BYTES as u64, "stored size");

    let range = (PART_BYTES - 1000) as u64..(PART_BYTES + 1000) as u64;
    let ranged = store
        .get_range(&location, range.clone())
        .await
        .unwrap_or_else(|e| panic!("ranged get {range:?} of {location}: {e}"));
    assert!(
        ranged[..] == bytes[PART_BYTES - 1000..PART_BYTES + 1000],
        "ranged read across the first part boundary returns the bytes written there"
    );
    let tail = store
        .get_range(&location, (OBJECT_BYTES - 10) as u64..OBJECT_BYTES as u64)
        .await
        .unwrap_or_else(|e| panic!("ranged get of the last bytes of {location}: {e}"));
    assert!(tail[..] == bytes[OBJECT_BYTES - 10..], "the last bytes");

    let whole = store
        .get(&location)
        .await
        .unwrap_or_else(|e| panic!("get {location}: {e}"))
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("read body of {location}: {e}"));
    assert!(
        whole[..] == bytes[..],
        "the whole object reads back byte-identical"
    );

    let listed: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("list {prefix}: {e}"));
    let listed: Vec<_> = listed.iter().map(|m| (&m.location, m.size)).collect();
    assert_eq!(
        listed,
        [(&location, OBJECT_BYTES as u64)],
        "listing of {prefix}"
    );

    store
        .delete(&location)
        .await
        .unwrap_or_else(|e| panic!("delete {location}: {e}"));
    assert!(
        matches!(
            store.head(&location).await,
            Err(object_store::Error::NotFound { .. })
        ),
        "a deleted object is not found"
    );
    let left: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("list {prefix} after delete: {e}"));
    assert!(left.is_empty(), "nothing left under {prefix}: {left:?}");
}
