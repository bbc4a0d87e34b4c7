//! Stored attachment files as readers get them: `GET /api/v1/attachments/{id}` (headers,
//! ranges, caching, the 404s without bytes, tenant isolation), the `file` object of the read
//! API's attachments, the website's `f/<sha256>.<ext>` files and inline images (live and
//! built), and `verta export --with-files`. Files are stored directly through the queue and
//! the store (no CDN), the way the fetcher records them.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use service::export::{self, NoProgress};
use service::files::{BlobStore, download, queue, state};
use service::repo::{self, attachments::AttachmentRow, messages::MessageRow};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::archive_data::{self, Archive};
use crate::helpers::{TestApp, assert_error, assert_status, spawn_app, spawn_app_with};

/// A worker id for the files these tests record.
const WORKER: &str = "attachment-files-test";

/// The names no header or path may carry as they are. The longest is 1,000 characters
/// where the database keeps it (SQLite); MySQL-family servers hold 500 (`varchar(500)`).
fn hostile_names(db: &DatabaseConnection) -> Vec<String> {
    let long = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => 1000,
        _ => 500,
    };
    vec![
        "../../etc/passwd".to_owned(),
        "a/b\\c.txt".to_owned(),
        "quote\"semi;colon.txt".to_owned(),
        "line\r\nSet-Cookie: x=1.txt".to_owned(),
        "nul\0tab\tbell\u{7}.txt".to_owned(),
        format!("{}.txt", "n".repeat(long - 4)),
        "ünïcødé 文件 😀.txt".to_owned(),
        "..".to_owned(),
        String::new(),
    ]
}

/// One attachment to add: name, content type, and what to record for it.
pub struct Planned {
    /// File name.
    pub name: String,
    /// Declared content type.
    pub content_type: &'static str,
    /// What the fetcher recorded.
    pub outcome: Outcome,
}

/// A [`Planned`] file.
pub fn file(name: &str, content_type: &'static str, outcome: Outcome) -> Planned {
    Planned {
        name: name.to_owned(),
        content_type,
        outcome,
    }
}

/// What the fetcher recorded for a file.
#[derive(Clone)]
pub enum Outcome {
    /// Downloaded: these bytes.
    Stored(Vec<u8>),
    /// Not yet.
    Pending,
    /// Skipped or gone, and why.
    Final(&'static str, &'static str),
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds a message to the archive's general channel with the `planned` attachments and
/// records each one's outcome (bytes put into `store`). Returns the attachment ids in order
/// and the message's row id.
async fn add_files(
    db: &DatabaseConnection,
    store: &BlobStore,
    archive: &Archive,
    seq: u64,
    planned: &[Planned],
) -> (Vec<String>, Uuid) {
    let at = chrono::Utc::now() - chrono::Duration::days(1) + chrono::Duration::seconds(seq as i64);
    add_files_to(db, store, archive.general, at, seq, planned).await
}

/// [`add_files`] into any channel, the message sent at `at`.
pub async fn add_files_to(
    db: &DatabaseConnection,
    store: &BlobStore,
    channel: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    seq: u64,
    planned: &[Planned],
) -> (Vec<String>, Uuid) {
    let message = MessageRow {
        channel_id: channel,
        platform_message_id: archive_data::snowflake(at, 900_000 + seq),
        anonymized_author_id: "anon-files".to_owned(),
        content: format!("files {seq}"),
        reply_to_id: None,
        metadata: None,
        platform_created_at: at,
    };
    repo::messages::upsert(db, std::slice::from_ref(&message))
        .await
        .unwrap();
    let rows: Vec<AttachmentRow> = planned
        .iter()
        .enumerate()
        .map(|(i, p)| AttachmentRow {
            message_id: message.id(),
            platform_attachment_id: format!("77{seq}{i:03}"),
            filename: p.name.clone(),
            file_size: 10,
            content_type: p.content_type.to_owned(),
            url: format!("https://cdn.discordapp.com/attachments/1/2/{i}"),
        })
        .collect();
    repo::attachments::upsert(db, &rows).await.unwrap();
    let ids: Vec<String> = rows.iter().map(|r| r.id().to_string()).collect();
    for statement in queue::queue_statements(db.get_database_backend(), &ids) {
        db.execute_raw(statement).await.unwrap();
    }
    let claimed = queue::claim(db, WORKER, Duration::from_secs(60), 10_000)
        .await
        .unwrap();
    for c in &claimed {
        let Some(i) = ids.iter().position(|id| *id == c.attachment_id) else {
            queue::release(db, &c.attachment_id, WORKER).await.unwrap();
            continue;
        };
        match &planned[i].outcome {
            Outcome::Stored(bytes) => {
                let staged = download::stage_bytes(&store.staging_dir(), bytes).unwrap();
                let hash = staged.sha256.clone();
                assert!(queue::set_hash(db, &ids[i], WORKER, &hash).await.unwrap());
                store.put(staged).await.unwrap();
                let n = bytes.len() as u64;
                assert!(
                    queue::mark_stored(db, &ids[i], WORKER, &hash, n)
                        .await
                        .unwrap()
                );
            }
            Outcome::Final(final_state, reason) => {
                assert!(
                    queue::mark_final(db, &ids[i], WORKER, final_state, reason)
                        .await
                        .unwrap()
                );
            }
            Outcome::Pending => queue::release(db, &ids[i], WORKER).await.unwrap(),
        }
    }
    (ids, message.id())
}

async fn read(app: &TestApp, slug: &str, method: Method, path: &str) -> Response {
    app.anonymous(method, path)
        .header("X-Tenant-Slug", slug)
        .send()
        .await
        .unwrap()
}

fn header<'r>(response: &'r Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing from {}", response.url()))
        .to_str()
        .unwrap()
}

/// The safety every file response carries, whatever the file.
fn assert_safe_headers(response: &Response) {
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    let csp = header(response, "content-security-policy");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(csp.contains("sandbox") && !csp.contains("script"), "{csp}");
    assert!(
        !csp.contains("allow-"),
        "a sandbox without exceptions: {csp}"
    );
    assert_eq!(
        header(response, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(response, "accept-ranges"), "bytes");
    assert_disposition_is_safe(header(response, "content-disposition"));
}

/// One `Content-Disposition` value: a disposition, a quoted ASCII `filename` without path
/// separators, quotes or control characters, and an RFC 5987 `filename*`.
fn assert_disposition_is_safe(value: &str) {
    assert!(
        value.starts_with("inline; filename=\"") || value.starts_with("attachment; filename=\""),
        "{value}"
    );
    assert!(
        value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'/' && b != b'\\'),
        "{value:?}"
    );
    let (_, rest) = value.split_once("filename=\"").unwrap();
    let (ascii, tail) = rest.split_once('"').unwrap();
    assert!(!ascii.is_empty() && ascii.len() <= 100, "{ascii:?}");
    assert!(
        !ascii.contains("..") && !ascii.starts_with('.'),
        "{ascii:?}"
    );
    assert!(!ascii.contains(';'), "{ascii:?}");
    let encoded = tail
        .strip_prefix("; filename*=UTF-8''")
        .unwrap_or_else(|| panic!("no filename* in {value}"));
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~%".contains(&b)),
        "{encoded}"
    );
    assert!(encoded.len() <= 200 * 12, "capped: {}", encoded.len());
}

/// A real PNG of `width` x `height` pixels (RGB, a diagonal gradient), stored uncompressed:
/// enough for a browser to decode and lay out, without an image library.
pub fn gradient_png(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend([
                (x * 255 / width.max(1)) as u8,
                (y * 255 / height.max(1)) as u8,
                160,
            ]);
        }
    }
    // zlib with stored (uncompressed) deflate blocks of at most 65,535 bytes.
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend(len.to_le_bytes());
        z.extend((!len).to_le_bytes());
        z.extend(*block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend(((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn png_bytes() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..5000u32).map(|i| (i % 251) as u8));
    bytes
}

#[tokio::test]
async fn a_stored_attachment_is_streamed_with_its_headers_ranges_and_etag() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "files", 12, 0).await;
    let png = png_bytes();
    let (ids, _) = add_files(
        &app.db,
        &app.files,
        &archive,
        1,
        &[file(
            "cat picture.png",
            "image/png",
            Outcome::Stored(png.clone()),
        )],
    )
    .await;
    let path = format!("/api/v1/attachments/{}", ids[0]);
    let response = app
        .anonymous(Method::GET, &path)
        .header("X-Tenant-Slug", "files")
        .header("Origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::OK);
    assert_safe_headers(&response);
    let etag = format!("\"{}\"", sha256_hex(&png));
    assert_eq!(header(&response, "etag"), etag);
    assert_eq!(header(&response, "content-type"), "image/png");
    assert_eq!(header(&response, "content-length"), png.len().to_string());
    assert_eq!(header(&response, "access-control-allow-origin"), "*");
    assert_eq!(
        header(&response, "content-disposition"),
        "inline; filename=\"cat picture.png\"; filename*=UTF-8''cat%20picture.png"
    );
    assert_eq!(response.bytes().await.unwrap().to_vec(), png);

    // The client's copy is current.
    let response = app
        .anonymous(Method::GET, &path)
        .header("X-Tenant-Slug", "files")
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, "etag"), etag);

    // One range, the end of the file, a suffix; then what is not served as a range.
    let len = png.len() as u64;
    for (range, start, end) in [
        ("bytes=2-5", 2u64, 5u64),
        ("bytes=4990-", 4990, len - 1),
        ("bytes=-8", len - 8, len - 1),
        ("bytes=100-999999", 100, len - 1),
    ] {
        let response = app
            .anonymous(Method::GET, &path)
            .header("X-Tenant-Slug", "files")
            .header("Range", range)
            .send()
            .await
            .unwrap();
        assert_status(&response, StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            header(&response, "content-range"),
            format!("bytes {start}-{end}/{len}"),
            "{range}"
        );
        assert_safe_headers(&response);
        let body = response.bytes().await.unwrap();
        assert_eq!(body.to_vec(), png[start as usize..=end as usize], "{range}");
    }
    for range in ["bytes=99999-", "bytes=-0"] {
        let response = app
            .anonymous(Method::GET, &path)
            .header("X-Tenant-Slug", "files")
            .header("Range", range)
            .send()
            .await
            .unwrap();
        assert_status(&response, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(header(&response, "content-range"), format!("bytes */{len}"));
    }
    for range in ["bytes=0-1,4-5", "bytes=9-2", "lines=1-2", "bytes=x-"] {
        let response = app
            .anonymous(Method::GET, &path)
            .header("X-Tenant-Slug", "files")
            .header("Range", range)
            .send()
            .await
            .unwrap();
        assert_status(&response, StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap().len(), png.len(), "{range}");
    }

    // HEAD: the same headers, no body.
    let response = read(&app, "files", Method::HEAD, &path).await;
    assert_status(&response, StatusCode::OK);
    assert_safe_headers(&response);
    assert_eq!(header(&response, "content-length"), png.len().to_string());
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn attachments_without_bytes_or_of_other_tenants_are_404s_that_say_why() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "nobytes", 5, 0).await;
    let other = archive_data::generate(&app.db, "nobytes-other", 5, 0).await;
    let (ids, _) = add_files(
        &app.db,
        &app.files,
        &archive,
        1,
        &[
            file("later.bin", "application/octet-stream", Outcome::Pending),
            file(
                "huge.mp4",
                "video/mp4",
                Outcome::Final(state::SKIPPED, "too large"),
            ),
            file(
                "deleted.png",
                "image/png",
                Outcome::Final(state::GONE, "not found on the CDN (404)"),
            ),
        ],
    )
    .await;
    let (other_ids, _) = add_files(
        &app.db,
        &app.files,
        &other,
        2,
        &[file(
            "theirs.txt",
            "text/plain",
            Outcome::Stored(b"not yours".to_vec()),
        )],
    )
    .await;
    for (id, message) in [
        (&ids[0], "not stored yet"),
        (&ids[1], "skipped: too large"),
        (&ids[2], "gone"),
    ] {
        for method in [Method::GET, Method::HEAD] {
            let response = read(
                &app,
                "nobytes",
                method.clone(),
                &format!("/api/v1/attachments/{id}"),
            )
            .await;
            if method == Method::HEAD {
                assert_status(&response, StatusCode::NOT_FOUND);
                continue;
            }
            let body = assert_error(response, StatusCode::NOT_FOUND, "Not Found").await;
            assert_eq!(body["message"], message);
        }
    }
    // An attachment never queued (archived before files were fetched) is pending too.
    let unqueued = &archive.general_messages[0].attachments[0];
    let response = read(
        &app,
        "nobytes",
        Method::GET,
        &format!("/api/v1/attachments/{}", unqueued.id()),
    )
    .await;
    let body = assert_error(response, StatusCode::NOT_FOUND, "Not Found").await;
    assert_eq!(body["message"], "not stored yet");

    // Another tenant's stored file, an unknown id: the usual 404, nothing about the file.
    for id in [other_ids[0].clone(), Uuid::new_v4().to_string()] {
        let response = read(
            &app,
            "nobytes",
            Method::GET,
            &format!("/api/v1/attachments/{id}"),
        )
        .await;
        let body = assert_error(response, StatusCode::NOT_FOUND, "Not Found").await;
        assert_eq!(
            body["message"],
            format!("Attachment with ID {id} not found")
        );
    }
    let response = read(
        &app,
        "nobytes-other",
        Method::GET,
        &format!("/api/v1/attachments/{}", other_ids[0]),
    )
    .await;
    assert_status(&response, StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "not yours");
    // The tenant header is required, as on every read route.
    let response = app
        .anonymous(
            Method::GET,
            &format!("/api/v1/attachments/{}", other_ids[0]),
        )
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "Validation Error").await;
}

#[tokio::test]
async fn scriptable_types_are_downloads_and_hostile_names_make_one_safe_header() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "hostile", 3, 0).await;
    let mut planned = vec![
        file(
            "x.svg",
            "image/svg+xml",
            Outcome::Stored(b"<svg onload=alert(1)></svg>".to_vec()),
        ),
        file(
            "x.html",
            "text/html",
            Outcome::Stored(b"<script>alert(1)</script>".to_vec()),
        ),
        file("weird", "not a type\r\n", Outcome::Stored(b"?".to_vec())),
        file("clip.webm", "video/webm", Outcome::Stored(b"webm".to_vec())),
    ];
    for (i, name) in hostile_names(&app.db).into_iter().enumerate() {
        planned.push(Planned {
            name,
            content_type: "text/plain",
            outcome: Outcome::Stored(format!("hostile {i}").into_bytes()),
        });
    }
    let (ids, _) = add_files(&app.db, &app.files, &archive, 1, &planned).await;
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/api/v1/attachments/{id}"))
        .collect();
    let get = |i: usize| read(&app, "hostile", Method::GET, &paths[i]);
    let svg = get(0).await;
    assert_safe_headers(&svg);
    assert_eq!(header(&svg, "content-type"), "image/svg+xml");
    assert!(header(&svg, "content-disposition").starts_with("attachment; "));
    let html = get(1).await;
    assert_safe_headers(&html);
    assert!(header(&html, "content-disposition").starts_with("attachment; "));
    let weird = get(2).await;
    assert_eq!(header(&weird, "content-type"), "application/octet-stream");
    assert!(header(&weird, "content-disposition").starts_with("attachment; "));
    let video = get(3).await;
    assert!(header(&video, "content-disposition").starts_with("inline; "));
    for i in 4..planned.len() {
        let response = get(i).await;
        assert_status(&response, StatusCode::OK);
        assert_safe_headers(&response);
        assert_eq!(
            response
                .headers()
                .get_all("content-disposition")
                .iter()
                .count(),
            1
        );
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(response.text().await.unwrap(), format!("hostile {}", i - 4));
    }
}

#[tokio::test]
async fn read_api_attachments_say_whether_their_bytes_are_stored() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "status", 5, 0).await;
    let bytes = b"stored bytes".to_vec();
    let (ids, _) = add_files(
        &app.db,
        &app.files,
        &archive,
        1,
        &[
            file("a.txt", "text/plain", Outcome::Stored(bytes.clone())),
            file("b.txt", "text/plain", Outcome::Pending),
            file(
                "c.txt",
                "text/plain",
                Outcome::Final(state::SKIPPED, "too large"),
            ),
            file(
                "d.txt",
                "text/plain",
                Outcome::Final(state::GONE, "not found on the CDN"),
            ),
        ],
    )
    .await;
    let expected = [
        serde_json::json!({
            "state": "stored",
            "url": format!("/api/v1/attachments/{}", ids[0]),
            "sha256": sha256_hex(&bytes),
            "bytes": bytes.len(),
        }),
        serde_json::json!({"state": "pending"}),
        serde_json::json!({"state": "skipped", "reason": "too large"}),
        serde_json::json!({"state": "gone", "reason": "not found on the CDN"}),
    ];
    // The page (direct SQLite reads on SQLite) and the message in context (the pool).
    let page = read(
        &app,
        "status",
        Method::GET,
        &format!("/api/v1/channels/{}/messages?limit=1", archive.general),
    )
    .await;
    assert_status(&page, StatusCode::OK);
    let page: Value = page.json().await.unwrap();
    let newest = &page["data"][0];
    assert_eq!(newest["content"], "files 1");
    let context = read(
        &app,
        "status",
        Method::GET,
        &format!(
            "/api/v1/messages/{}?before=0&after=0",
            newest["platformMessageId"].as_str().unwrap()
        ),
    )
    .await;
    assert_status(&context, StatusCode::OK);
    let context: Value = context.json().await.unwrap();
    for message in [newest, &context["data"]["messages"][0]] {
        let attachments = message["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 4);
        for a in attachments {
            let name = a["filename"].as_str().unwrap();
            let i = usize::from(name.as_bytes()[0] - b'a');
            assert_eq!(a["file"], expected[i], "{name}");
            assert_eq!(a["id"], ids[i]);
        }
    }
    // An attachment archived before files were fetched (no file row) is pending.
    let oldest = read(
        &app,
        "status",
        Method::GET,
        &format!("/api/v1/channels/{}/messages?limit=100", archive.general),
    )
    .await;
    let oldest: Value = oldest.json().await.unwrap();
    let last = oldest["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last["attachments"][0]["file"],
        serde_json::json!({"state": "pending"})
    );
}

/// Every file under `dir`, relative, `/`-separated.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel);
            }
        }
    }
    out
}

#[tokio::test]
async fn export_with_files_writes_each_blob_once_beside_the_pages_that_reference_it() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "exported", 20, 0).await;
    let other = archive_data::generate(&app.db, "exported-other", 3, 0).await;
    let shared = b"the same bytes in two attachments".to_vec();
    let mut planned = vec![
        file("one.txt", "text/plain", Outcome::Stored(shared.clone())),
        file("two.txt", "text/plain", Outcome::Stored(shared.clone())),
        file(
            "big.bin",
            "application/octet-stream",
            Outcome::Final(state::SKIPPED, "too large"),
        ),
    ];
    for (i, name) in hostile_names(&app.db).into_iter().enumerate() {
        planned.push(Planned {
            name,
            content_type: "text/plain",
            outcome: Outcome::Stored(format!("hostile export {i}").into_bytes()),
        });
    }
    let (ids, _) = add_files(&app.db, &app.files, &archive, 1, &planned).await;
    add_files(
        &app.db,
        &app.files,
        &other,
        2,
        &[file(
            "theirs.txt",
            "text/plain",
            Outcome::Stored(b"other tenant".to_vec()),
        )],
    )
    .await;

    // Without the flag: no files, no `file` key (the format of before).
    let plain = tempfile::tempdir().unwrap();
    export::export_tenant(&app.db, "exported", plain.path(), &NoProgress)
        .await
        .unwrap();
    let plain_files = files_under(plain.path());
    assert!(plain_files.iter().all(|f| !f.contains("/files/")));
    for f in &plain_files {
        let text = std::fs::read_to_string(plain.path().join(f)).unwrap();
        assert!(!text.contains("\"file\""), "{f}");
    }

    let out = tempfile::tempdir().unwrap();
    // A file a user left there and a blob of an earlier export no longer referenced.
    let files_dir = out.path().join("exported").join("files");
    std::fs::create_dir_all(&files_dir).unwrap();
    std::fs::write(files_dir.join("notes.txt"), "mine").unwrap();
    std::fs::write(files_dir.join("ab".repeat(32)), "stale").unwrap();
    export::export_tenant_with_files(
        &app.db,
        "exported",
        out.path(),
        &NoProgress,
        Some(&app.files),
    )
    .await
    .unwrap();
    let tenant_dir = out.path().join("exported");
    let mut expected_blobs: BTreeSet<String> = BTreeSet::new();
    expected_blobs.insert(sha256_hex(&shared));
    for i in 0..hostile_names(&app.db).len() {
        expected_blobs.insert(sha256_hex(format!("hostile export {i}").as_bytes()));
    }
    let written: BTreeSet<String> = files_under(&files_dir);
    let mut want = expected_blobs.clone();
    want.insert("notes.txt".to_owned());
    assert_eq!(written, want, "each blob once, the stale one removed");
    for hash in &expected_blobs {
        let bytes = std::fs::read(files_dir.join(hash)).unwrap();
        assert_eq!(&sha256_hex(&bytes), hash);
    }
    // Nothing written outside the tenant's directory, nothing but its three parts inside.
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        1,
        "only <out>/exported"
    );
    let top: BTreeSet<String> = std::fs::read_dir(&tenant_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        top,
        ["channels", "files", "metadata.json"]
            .map(str::to_owned)
            .into()
    );

    // The pages reference the stored files; others have no `file`.
    let mut referenced = BTreeSet::new();
    let mut seen_ids = BTreeSet::new();
    for f in files_under(&tenant_dir.join("channels")) {
        let page: Value = serde_json::from_str(
            &std::fs::read_to_string(tenant_dir.join("channels").join(&f)).unwrap(),
        )
        .unwrap();
        for m in page["messages"].as_array().into_iter().flatten() {
            for a in m["attachments"].as_array().unwrap() {
                let id = a["id"].as_str().unwrap().to_owned();
                if let Some(i) = ids.iter().position(|x| *x == id) {
                    seen_ids.insert(id);
                    match &planned[i].outcome {
                        Outcome::Stored(bytes) => {
                            let path = format!("files/{}", sha256_hex(bytes));
                            assert_eq!(a["file"], path.as_str());
                            referenced.insert(path);
                        }
                        _ => assert!(a.get("file").is_none(), "{a}"),
                    }
                } else {
                    assert!(a.get("file").is_none(), "{a}");
                }
            }
        }
    }
    assert_eq!(seen_ids.len(), ids.len());
    assert_eq!(referenced.len(), expected_blobs.len());

    // Again: every blob kept as it is.
    let before: Vec<_> = expected_blobs
        .iter()
        .map(|h| {
            std::fs::metadata(files_dir.join(h))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    export::export_tenant_with_files(
        &app.db,
        "exported",
        out.path(),
        &NoProgress,
        Some(&app.files),
    )
    .await
    .unwrap();
    let after: Vec<_> = expected_blobs
        .iter()
        .map(|h| {
            std::fs::metadata(files_dir.join(h))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    assert_eq!(before, after);
}

/// The website's view of stored files: an inline image linking to its file, a download
/// link for another file, nothing for a deleted message; `f/` serving only the tenant's
/// public blobs; the static build copying each once, incrementally.
#[tokio::test]
async fn the_website_shows_stored_images_inline_and_serves_its_files() {
    let app = spawn_app_with(|c| c.read_api_rate_limit = 0).await;
    let archive = archive_data::generate(&app.db, "pics", 5, 0).await;
    let other = archive_data::generate(&app.db, "pics-other", 3, 0).await;
    let png = png_bytes();
    let doc = b"a document".to_vec();
    let (_, _) = add_files(
        &app.db,
        &app.files,
        &archive,
        1,
        &[
            file("photo \"1\".png", "image/png", Outcome::Stored(png.clone())),
            file("notes.pdf", "application/pdf", Outcome::Stored(doc.clone())),
            file(
                "page.html",
                "text/html",
                Outcome::Stored(b"<script>alert(1)</script>".to_vec()),
            ),
            file(
                "../../../escape\r\n\".png",
                "image/png",
                Outcome::Stored(b"hostile picture".to_vec()),
            ),
        ],
    )
    .await;
    let secret = b"only in a deleted message".to_vec();
    let (_, deleted_message) = add_files(
        &app.db,
        &app.files,
        &archive,
        2,
        &[file(
            "gone.png",
            "image/png",
            Outcome::Stored(secret.clone()),
        )],
    )
    .await;
    repo::messages::set_metadata(
        &app.db,
        &[(
            deleted_message.to_string(),
            serde_json::json!({"deleted": true}),
        )],
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let theirs = b"other tenant's picture".to_vec();
    add_files(
        &app.db,
        &app.files,
        &other,
        3,
        &[file(
            "theirs.png",
            "image/png",
            Outcome::Stored(theirs.clone()),
        )],
    )
    .await;

    let site = |path: &str| app.url(&format!("/archive/pics/{path}"));
    let page = app
        .client
        .get(site(&format!("c/{}/1/", archive.general)))
        .send()
        .await
        .unwrap();
    assert_status(&page, StatusCode::OK);
    let html = page.text().await.unwrap();
    let png_path = format!("f/{}.png", sha256_hex(&png));
    let img = format!(
        "<a href=\"../../../{png_path}\"><img src=\"../../../{png_path}\" loading=\"lazy\" decoding=\"async\" alt=\"photo &#34;1&#34;.png\"></a>"
    );
    assert!(html.contains(&img), "inline image {img} in {html}");
    let pdf_path = format!("f/{}.bin", sha256_hex(&doc));
    assert!(
        html.contains(&format!(
            "href=\"../../../{pdf_path}\" download>notes.pdf</a>"
        )),
        "download link in {html}"
    );
    assert!(
        !html.contains(&sha256_hex(&secret)),
        "a deleted message shows no file"
    );

    // The files themselves, with the read API's safe headers.
    let image = app.client.get(site(&png_path)).send().await.unwrap();
    assert_status(&image, StatusCode::OK);
    assert_safe_headers(&image);
    assert_eq!(header(&image, "content-type"), "image/png");
    assert!(header(&image, "content-disposition").starts_with("inline; "));
    assert_eq!(image.bytes().await.unwrap().to_vec(), png);
    let html_file = format!("f/{}.bin", sha256_hex(b"<script>alert(1)</script>"));
    let script = app.client.get(site(&html_file)).send().await.unwrap();
    assert_status(&script, StatusCode::OK);
    assert_safe_headers(&script);
    assert!(header(&script, "content-disposition").starts_with("attachment; "));
    // Not under another extension, not another tenant's, not a deleted message's.
    for path in [
        format!("f/{}.html", sha256_hex(b"<script>alert(1)</script>")),
        format!("f/{}.jpg", sha256_hex(&png)),
        format!("f/{}.png", sha256_hex(&theirs)),
        format!("f/{}.png", sha256_hex(&secret)),
        "f/../../etc/passwd".to_owned(),
        format!("f/{}", sha256_hex(&png)),
    ] {
        let response = app.client.get(site(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let theirs_ok = app
        .client
        .get(app.url(&format!(
            "/archive/pics-other/f/{}.png",
            sha256_hex(&theirs)
        )))
        .send()
        .await
        .unwrap();
    assert_status(&theirs_ok, StatusCode::OK);

    // The static build: each referenced blob once under f/, kept when unchanged, removed
    // when no page shows it any more.
    let tenant = service::tenants::get_by_slug(&app.db, "pics")
        .await
        .unwrap();
    let ctx = site::pages::SiteContext::load(&app.db, tenant, None)
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    site::build::build(&app.db, &ctx, out.path(), &app.files, &|_| {})
        .await
        .unwrap();
    let built: BTreeSet<String> = files_under(out.path())
        .into_iter()
        .filter(|f| f.starts_with("f/"))
        .collect();
    let hostile_path = format!("f/{}.png", sha256_hex(b"hostile picture"));
    let expected: BTreeSet<String> = [
        png_path.clone(),
        pdf_path.clone(),
        html_file.clone(),
        hostile_path,
    ]
    .into();
    assert_eq!(built, expected);
    // Nothing named after an attachment, inside the site or up to two levels above it.
    let inside = files_under(out.path());
    assert!(inside.iter().all(|f| !f.contains("escape")), "{inside:?}");
    for dir in out.path().ancestors().skip(1).take(2) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains("escape"), "{name} in {}", dir.display());
        }
    }
    assert_eq!(std::fs::read(out.path().join(&png_path)).unwrap(), png);
    let built_page = std::fs::read_to_string(
        out.path()
            .join(format!("c/{}/1/index.html", archive.general)),
    )
    .unwrap();
    assert!(
        built_page.contains(&img),
        "the static page links the same file"
    );
    let mtime = std::fs::metadata(out.path().join(&png_path))
        .unwrap()
        .modified()
        .unwrap();
    let summary = site::build::build(&app.db, &ctx, out.path(), &app.files, &|_| {})
        .await
        .unwrap();
    assert_eq!(summary.written, 0, "nothing changed");
    assert_eq!(
        std::fs::metadata(out.path().join(&png_path))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    // The message with the files is deleted on Discord: its files leave the site.
    let files_message = archive_data_message_with(&app.db, "photo \"1\".png").await;
    repo::messages::set_metadata(
        &app.db,
        &[(files_message, serde_json::json!({"deleted": true}))],
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let summary = site::build::build(&app.db, &ctx, out.path(), &app.files, &|_| {})
        .await
        .unwrap();
    assert!(summary.removed >= 4, "{summary:?}");
    assert!(
        !out.path().join("f").exists(),
        "the emptied directory goes too"
    );
}

/// The row id of the message carrying the attachment named `filename`.
async fn archive_data_message_with(db: &DatabaseConnection, filename: &str) -> String {
    use entity::message_attachments;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    message_attachments::Entity::find()
        .filter(message_attachments::Column::Filename.eq(filename))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .message_id
}

/// `verta export --with-files` and `verta site build` read the store `ATTACHMENT_STORE` names.
#[tokio::test]
async fn the_commands_copy_stored_files_from_the_configured_store() {
    let app = spawn_app().await;
    let archive = archive_data::generate(&app.db, "cli-files", 4, 0).await;
    let png = png_bytes();
    add_files(
        &app.db,
        &app.files,
        &archive,
        1,
        &[file("shot.png", "image/png", Outcome::Stored(png.clone()))],
    )
    .await;
    let hash = sha256_hex(&png);
    let out = tempfile::tempdir().unwrap();
    let store = format!("file://{}", app.files_dir.path().display());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_verta"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", app.test_db.url())
            .env("ATTACHMENT_STORE", &store)
            .current_dir(out.path())
            .output()
            .expect("the verta binary runs")
    };
    let export_dir = out.path().join("export");
    let output = run(&[
        "export",
        "--tenant",
        "cli-files",
        "--out",
        export_dir.to_str().unwrap(),
        "--with-files",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["tenantSlug"], "cli-files");
    let copied = std::fs::read(export_dir.join("cli-files").join("files").join(&hash)).unwrap();
    assert_eq!(copied, png);

    let site_dir = out.path().join("site");
    let output = run(&[
        "site",
        "build",
        "--tenant",
        "cli-files",
        "--out",
        site_dir.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read(site_dir.join("f").join(format!("{hash}.png"))).unwrap(),
        png
    );
}

#[tokio::test]
async fn deleting_a_tenant_removes_the_files_only_it_referenced() {
    let app = spawn_app().await;
    let kept = archive_data::generate(&app.db, "files-kept", 3, 0).await;
    let deleted = archive_data::generate(&app.db, "files-deleted", 3, 0).await;
    let shared = b"shared by both tenants".to_vec();
    let own = b"only the deleted tenant's".to_vec();
    let stored = |bytes: &Vec<u8>| {
        file(
            "f.bin",
            "application/octet-stream",
            Outcome::Stored(bytes.clone()),
        )
    };
    add_files(&app.db, &app.files, &kept, 1, &[stored(&shared)]).await;
    add_files(
        &app.db,
        &app.files,
        &deleted,
        2,
        &[stored(&shared), stored(&own)],
    )
    .await;
    assert!(app.files.contains(&sha256_hex(&own)).await.unwrap());

    let response = app
        .delete(&format!("/api/tenants/{}", deleted.tenant_id))
        .await;
    assert_status(&response, StatusCode::NO_CONTENT);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.files.contains(&sha256_hex(&own)).await.unwrap() {
        assert!(std::time::Instant::now() < deadline, "the file stayed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        app.files.contains(&sha256_hex(&shared)).await.unwrap(),
        "a file the other tenant references was removed"
    );
}
