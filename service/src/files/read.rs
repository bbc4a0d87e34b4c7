//! Reading stored files for the readers of the archive: the read API's
//! `GET /api/v1/attachments/{id}`, the website's `f/<sha256>.<ext>`, the export's `files/`.
//!
//! Every lookup is one query that also checks what the reader may see: the attachment's
//! message must be in a channel of the tenant (the read API's rule for messages); the website
//! shows no attachment of a message deleted on Discord, so it serves no such file either.
//! What a content type allows (shown inline or downloaded, the extension of a site file) is
//! decided here once, for every reader.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult, Statement, Value};

use super::state;
use crate::archive::view::{FileStatus, metadata_flag};
use crate::error::{Error, Result};

/// A stored attachment file, as the read API serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The attachment's id.
    pub attachment_id: String,
    /// The attachment's original file name (untrusted text: never a path, never a header
    /// as it is).
    pub filename: String,
    /// The attachment's declared content type (untrusted text).
    pub content_type: String,
    /// SHA-256 of the bytes, the blob's key.
    pub sha256: String,
    /// Size of the blob in bytes.
    pub bytes: u64,
}

/// What the archive holds of one attachment's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileLookup {
    /// The bytes are stored.
    Stored(StoredFile),
    /// Not downloaded yet.
    Pending,
    /// Deliberately not downloaded, with the reason (e.g. `too large`).
    Skipped(String),
    /// The platform no longer has the file, with the reason.
    Gone(String),
}

#[derive(Debug, FromQueryResult)]
struct LookupRow {
    id: String,
    filename: String,
    content_type: String,
    state: Option<String>,
    sha256: Option<String>,
    bytes: Option<i64>,
    reason: Option<String>,
}

/// The file of attachment `attachment_id` of tenant `tenant_id`: one query joining the
/// attachment to its message's channel (the tenant check) and to its file row. An unknown
/// id, or an attachment of another tenant, is [`Error::NotFound`].
pub async fn attachment_file(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    attachment_id: &str,
) -> Result<FileLookup> {
    let row = LookupRow::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT a.id AS id, a.filename AS filename, a.content_type AS content_type, \
                f.state AS state, f.sha256 AS sha256, f.bytes AS bytes, f.reason AS reason \
         FROM message_attachments a \
         JOIN messages m ON m.id = a.message_id \
         JOIN channels c ON c.id = m.channel_id \
         LEFT JOIN attachment_files f ON f.attachment_id = a.id \
         WHERE a.id = ? AND c.tenant_id = ?",
        [attachment_id.into(), tenant_id.into()],
    ))
    .all(db)
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| Error::not_found("attachment", attachment_id))?;
    Ok(match (row.state.as_deref(), row.sha256) {
        (Some(state::STORED), Some(sha256)) => FileLookup::Stored(StoredFile {
            attachment_id: row.id,
            filename: row.filename,
            content_type: row.content_type,
            sha256,
            bytes: u64::try_from(row.bytes.unwrap_or(0)).unwrap_or(0),
        }),
        (Some(state::SKIPPED), _) => FileLookup::Skipped(row.reason.unwrap_or_default()),
        (Some(state::GONE), _) => FileLookup::Gone(row.reason.unwrap_or_default()),
        _ => FileLookup::Pending,
    })
}

/// A blob as the website serves it under `f/<sha256>.<ext>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    /// The file name of one public attachment with these bytes.
    pub filename: String,
    /// Its declared content type.
    pub content_type: String,
    /// Size in bytes.
    pub bytes: u64,
}

#[derive(Debug, FromQueryResult)]
struct SiteRow {
    filename: String,
    content_type: String,
    bytes: Option<i64>,
    metadata: Option<serde_json::Value>,
}

/// Attachments of one blob looked at to find a public one; a blob shared by more messages of
/// one tenant is served when any of the first ones is public.
const SITE_CANDIDATES: u64 = 50;

/// The blob `sha256` as tenant `tenant_id`'s website serves it at `f/<sha256>.<ext>`: only
/// when a stored attachment of the tenant, of a message not deleted on Discord, has these
/// bytes and a content type whose extension ([`site_extension`]) is `ext`. One query on the
/// hash's index.
pub async fn site_file(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    sha256: &str,
    ext: &str,
) -> Result<Option<SiteFile>> {
    if !super::is_sha256(sha256) {
        return Ok(None);
    }
    let rows = SiteRow::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        format!(
            "SELECT a.filename AS filename, a.content_type AS content_type, f.bytes AS bytes, \
                    m.metadata AS metadata \
             FROM attachment_files f \
             JOIN message_attachments a ON a.id = f.attachment_id \
             JOIN messages m ON m.id = a.message_id \
             JOIN channels c ON c.id = m.channel_id \
             WHERE f.sha256 = ? AND f.state = 'stored' AND c.tenant_id = ? \
             LIMIT {SITE_CANDIDATES}"
        ),
        [sha256.into(), tenant_id.into()],
    ))
    .all(db)
    .await?;
    Ok(rows
        .into_iter()
        .find(|r| {
            !metadata_flag(r.metadata.as_ref(), "deleted") && site_extension(&r.content_type) == ext
        })
        .map(|r| SiteFile {
            filename: r.filename,
            content_type: r.content_type,
            bytes: u64::try_from(r.bytes.unwrap_or(0)).unwrap_or(0),
        }))
}

/// Blobs per round trip of [`tenant_blobs`].
const BLOBS_PER_QUERY: u64 = 1_000;

/// The distinct blobs of tenant `tenant_id`'s stored files with hashes after `after` (all
/// when empty), in hash order, at most [`BLOBS_PER_QUERY`]; call again with the last hash
/// until it returns fewer. Each blob once, whatever number of attachments share it.
pub async fn tenant_blobs(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    after: &str,
) -> Result<Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!(
                "SELECT DISTINCT sha256 FROM attachment_files \
                 WHERE tenant_id = ? AND state = 'stored' AND sha256 > ? \
                 ORDER BY sha256 LIMIT {BLOBS_PER_QUERY}"
            ),
            [tenant_id.into(), after.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let hash: String = row.try_get("", "sha256")?;
        if super::is_sha256(&hash) {
            out.push(hash);
        }
    }
    Ok(out)
}

/// Of `hashes`, those that stored files of tenant `tenant_id` have (one query; pass at most
/// a few hundred).
pub async fn tenant_has_blobs(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    hashes: &[String],
) -> Result<HashSet<String>> {
    if hashes.is_empty() {
        return Ok(HashSet::new());
    }
    let marks = vec!["?"; hashes.len()].join(", ");
    let mut values: Vec<Value> = vec![tenant_id.into()];
    values.extend(hashes.iter().map(|h| Value::from(h.clone())));
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!(
                "SELECT DISTINCT sha256 FROM attachment_files \
                 WHERE tenant_id = ? AND state = 'stored' AND sha256 IN ({marks})"
            ),
            values,
        ))
        .await?;
    let mut out = HashSet::new();
    for row in rows {
        out.insert(row.try_get::<String>("", "sha256")?);
    }
    Ok(out)
}

/// The file statuses of `attachment_ids` (one query per 500 ids): for readers that load
/// attachments as rows rather than through the message pages' details query.
pub async fn statuses(
    db: &impl ConnectionTrait,
    attachment_ids: &[&str],
) -> Result<HashMap<String, FileStatus>> {
    #[derive(Debug, FromQueryResult)]
    struct Row {
        attachment_id: String,
        state: String,
        sha256: Option<String>,
        bytes: Option<i64>,
        reason: Option<String>,
    }
    let mut out: HashMap<String, FileStatus> = attachment_ids
        .iter()
        .map(|id| {
            (
                (*id).to_owned(),
                FileStatus::from_columns(id, None, None, None, None),
            )
        })
        .collect();
    for chunk in attachment_ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let values: Vec<Value> = chunk.iter().map(|id| Value::from(*id)).collect();
        let rows = Row::find_by_statement(Statement::from_sql_and_values(
            db.get_database_backend(),
            format!(
                "SELECT attachment_id, state, sha256, bytes, reason FROM attachment_files \
                 WHERE attachment_id IN ({marks})"
            ),
            values,
        ))
        .all(db)
        .await?;
        for r in rows {
            let status = FileStatus::from_columns(
                &r.attachment_id,
                Some(r.state),
                r.sha256,
                r.bytes,
                r.reason,
            );
            out.insert(r.attachment_id, status);
        }
    }
    Ok(out)
}

/// How a reader's browser may show a file of some content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// A raster image (png, jpeg, gif, webp, avif): shown inline, `<img>` on the website.
    Image,
    /// Video or audio a browser plays without running anything: shown inline.
    Media,
    /// Everything else, SVG and HTML included: downloaded (`Content-Disposition: attachment`).
    Download,
}

/// The media type of `content_type` in lower case, without parameters (`image/png` of
/// `Image/PNG; q=1`).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Raster images the website shows inline, with their file extensions.
const IMAGES: [(&str, &str); 6] = [
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/jpg", "jpg"),
    ("image/gif", "gif"),
    ("image/webp", "webp"),
    ("image/avif", "avif"),
];

/// Video and audio shown inline (any `audio/*` besides these), with their extensions.
const MEDIA: [(&str, &str); 12] = [
    ("video/mp4", "mp4"),
    ("video/webm", "webm"),
    ("video/ogg", "ogv"),
    ("video/quicktime", "mov"),
    ("audio/mpeg", "mp3"),
    ("audio/mp4", "m4a"),
    ("audio/ogg", "ogg"),
    ("audio/webm", "weba"),
    ("audio/wav", "wav"),
    ("audio/x-wav", "wav"),
    ("audio/flac", "flac"),
    ("audio/aac", "aac"),
];

/// How a file of `content_type` is presented: only the allow-listed raster images, video and
/// audio inline, never anything a browser could run (SVG, HTML, PDF, ...).
pub fn presentation(content_type: &str) -> Presentation {
    let e = essence(content_type);
    if IMAGES.iter().any(|(t, _)| *t == e) {
        Presentation::Image
    } else if MEDIA.iter().any(|(t, _)| *t == e) || e.starts_with("audio/") {
        Presentation::Media
    } else {
        Presentation::Download
    }
}

/// The extension of a website file of `content_type`: from the allow-lists of images, video
/// and audio, `bin` for everything else (so no site file is ever `.html` or `.svg`).
pub fn site_extension(content_type: &str) -> &'static str {
    let e = essence(content_type);
    IMAGES
        .iter()
        .chain(MEDIA.iter())
        .find(|(t, _)| *t == e)
        .map_or("bin", |(_, ext)| ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_video_and_audio_are_inline() {
        assert_eq!(presentation("image/png"), Presentation::Image);
        assert_eq!(presentation("IMAGE/JPEG; x=y"), Presentation::Image);
        assert_eq!(presentation("video/quicktime"), Presentation::Media);
        assert_eq!(presentation("audio/x-something"), Presentation::Media);
        for t in [
            "image/svg+xml",
            "text/html",
            "application/pdf",
            "",
            "image/",
        ] {
            assert_eq!(presentation(t), Presentation::Download, "{t}");
        }
    }

    #[test]
    fn site_extensions_come_from_the_allow_list() {
        assert_eq!(site_extension("image/jpeg"), "jpg");
        assert_eq!(site_extension("video/webm"), "webm");
        assert_eq!(site_extension("text/html"), "bin");
        assert_eq!(site_extension("image/svg+xml"), "bin");
        assert_eq!(site_extension("../../x"), "bin");
    }
}
