//! Responses that stream a stored attachment file: the read API's
//! `GET /api/v1/attachments/{id}` and the website's `f/<sha256>.<ext>`.
//!
//! The bytes are whatever someone uploaded to Discord, served from the archive's own origin,
//! so the headers make sure a browser never runs them: the declared type only when it is a
//! syntactically valid MIME type (else `application/octet-stream`), `nosniff`, a sandboxing
//! CSP without script, and `inline` only for raster images, video and audio (SVG and HTML
//! are downloads). The file name reaches the header only rewritten: an ASCII fallback without
//! separators, quotes or control characters, and the RFC 5987 UTF-8 form percent-encoded.
//! Blobs are content-addressed, so the hash is a strong `ETag` and the bytes cacheable
//! forever; a single `Range` is honoured; the body is streamed from the store, never held.

use actix_web::body::SizedStream;
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use service::files::BlobStore;
use service::files::read::{Presentation, presentation};

use crate::error::ApiError;

/// The CSP of every served file: nothing loads, nothing runs (`sandbox` without
/// `allow-scripts`), except what the browser's own viewer of an image or a video needs.
pub const FILE_CSP: &str =
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox";

/// Longest ASCII fallback file name, in characters.
const ASCII_NAME_MAX: usize = 100;
/// Longest UTF-8 file name, in characters (before percent-encoding).
const UTF8_NAME_MAX: usize = 200;

/// What a file response needs to know about the file.
#[derive(Debug, Clone, Copy)]
pub struct FileMeta<'a> {
    /// SHA-256 of the bytes: the blob's key and the `ETag`.
    pub sha256: &'a str,
    /// Size of the blob in bytes.
    pub size: u64,
    /// The declared content type (untrusted).
    pub content_type: &'a str,
    /// The original file name (untrusted).
    pub filename: &'a str,
}

/// The response for the file `meta` from `store`: 200 with the bytes, 206 with a range, 304
/// when the client holds them, 416 for a range outside the file; headers only for `HEAD`.
/// `None` when the blob is not in the store.
pub async fn respond(
    req: &HttpRequest,
    store: &BlobStore,
    meta: FileMeta<'_>,
) -> Result<Option<HttpResponse>, ApiError> {
    let etag = format!("\"{}\"", meta.sha256);
    if if_none_match(req, &etag) {
        let mut response = HttpResponse::NotModified().finish();
        common_headers(&mut response, &etag, &meta);
        return Ok(Some(response));
    }
    let ask = match req.headers().get(header::IF_RANGE) {
        // A range only of the representation the client has (the ETag is the only validator).
        Some(v) if v.to_str().ok().map(str::trim) != Some(etag.as_str()) => RangeAsk::Full,
        _ => parse_range(
            req.headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok()),
            meta.size,
        ),
    };
    let head = req.method() == Method::HEAD;
    let (status, range) = match ask {
        RangeAsk::Unsatisfiable => {
            let mut response = HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE).finish();
            common_headers(&mut response, &etag, &meta);
            insert(
                &mut response,
                header::CONTENT_RANGE,
                &format!("bytes */{}", meta.size),
            );
            return Ok(Some(response));
        }
        RangeAsk::Full => (StatusCode::OK, 0..meta.size),
        RangeAsk::Part(range) => (StatusCode::PARTIAL_CONTENT, range),
    };
    let length = range.end - range.start;
    let mut builder = HttpResponse::build(status);
    let mut response = if head {
        if !store.contains(meta.sha256).await? {
            return Ok(None);
        }
        builder.body(SizedStream::new(
            length,
            futures::stream::empty::<Result<actix_web::web::Bytes, std::io::Error>>(),
        ))
    } else {
        let wanted = (status == StatusCode::PARTIAL_CONTENT).then(|| range.clone());
        let Some(body) = store.get(meta.sha256, wanted).await? else {
            return Ok(None);
        };
        if body.size != meta.size {
            return Err(ApiError::Internal(format!(
                "blob {} holds {} bytes, recorded {}",
                meta.sha256, body.size, meta.size
            )));
        }
        builder.body(SizedStream::new(length, body.stream))
    };
    common_headers(&mut response, &etag, &meta);
    if status == StatusCode::PARTIAL_CONTENT {
        insert(
            &mut response,
            header::CONTENT_RANGE,
            &format!(
                "bytes {}-{}/{}",
                range.start,
                range.end.saturating_sub(1),
                meta.size
            ),
        );
    }
    Ok(Some(response))
}

/// The headers of every answer about a file (200, 206, 304, 416).
fn common_headers(response: &mut HttpResponse, etag: &str, meta: &FileMeta<'_>) {
    insert(response, header::ETAG, etag);
    insert(
        response,
        header::CACHE_CONTROL,
        "public, max-age=31536000, immutable",
    );
    insert(response, header::ACCEPT_RANGES, "bytes");
    insert(response, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    insert(response, header::CONTENT_SECURITY_POLICY, FILE_CSP);
    insert(
        response,
        header::CONTENT_TYPE,
        &content_type(meta.content_type),
    );
    insert(
        response,
        header::CONTENT_DISPOSITION,
        &content_disposition(meta.content_type, meta.filename),
    );
    // Already compressed media, and ranges of the stored bytes: never re-encoded on the way.
    response.headers_mut().insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(ContentEncoding::Identity.as_str()),
    );
}

fn insert(response: &mut HttpResponse, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}

fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

/// `content_type` when it is a syntactically valid MIME type that fits a header, else
/// `application/octet-stream`.
pub fn content_type(content_type: &str) -> String {
    let trimmed = content_type.trim();
    let valid = trimmed.parse::<actix_web::mime::Mime>().is_ok()
        && trimmed.bytes().all(|b| (0x20..0x7f).contains(&b))
        && trimmed.contains('/');
    if valid {
        trimmed.to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

/// `inline` for raster images, video and audio, `attachment` for everything else, with a
/// safe ASCII `filename` and the RFC 5987 `filename*`.
pub fn content_disposition(content_type: &str, filename: &str) -> String {
    let kind = match presentation(content_type) {
        Presentation::Image | Presentation::Media => "inline",
        Presentation::Download => "attachment",
    };
    format!(
        "{kind}; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_filename(filename),
        utf8_filename(filename)
    )
}

/// The last path segment of `name` (after `/` or `\`), without control characters.
fn base_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    last.chars().filter(|c| !c.is_control()).collect()
}

/// A file name that is safe inside a quoted header parameter and as a name on any disk:
/// ASCII letters, digits and a few punctuation marks, everything else `_`; no `..`, no
/// leading dot; at most [`ASCII_NAME_MAX`] characters, keeping a short extension. Never empty.
pub fn ascii_filename(name: &str) -> String {
    let mapped: String = base_name(name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut cleaned = mapped;
    while cleaned.contains("..") {
        cleaned = cleaned.replace("..", ".");
    }
    let cleaned = cleaned.trim_matches(|c| c == '.' || c == ' ').to_owned();
    let cleaned = cap_keeping_extension(&cleaned, ASCII_NAME_MAX);
    if cleaned.is_empty() || cleaned.bytes().all(|b| b == b'_') {
        "file".to_owned()
    } else {
        cleaned
    }
}

/// `name` cut to `max` characters, keeping its extension (up to 10 characters) at the end.
fn cap_keeping_extension(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.chars().count() <= 10);
    match ext {
        Some(ext) => {
            let keep = max - ext.chars().count() - 1;
            let stem: String = name.chars().take(keep).collect();
            format!("{stem}.{ext}")
        }
        None => name.chars().take(max).collect(),
    }
}

/// The RFC 5987 value of `name` (its last path segment, without control characters, at most
/// [`UTF8_NAME_MAX`] characters): UTF-8, every byte outside `attr-char` percent-encoded.
pub fn utf8_filename(name: &str) -> String {
    let base = base_name(name);
    let trimmed = base.trim_matches(|c| c == '.' || c == ' ');
    let capped = cap_keeping_extension(trimmed, UTF8_NAME_MAX);
    let capped = if capped.is_empty() {
        "file".to_owned()
    } else {
        capped
    };
    let mut out = String::with_capacity(capped.len() * 3);
    for b in capped.bytes() {
        let attr_char = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a `Range` header asks of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RangeAsk {
    /// No range, or one we do not serve (malformed, several ranges): the whole file.
    Full,
    /// One satisfiable range (end exclusive).
    Part(std::ops::Range<u64>),
    /// A well-formed single range outside the file.
    Unsatisfiable,
}

/// The single byte range `header` asks of a file of `size` bytes (RFC 9110 §14.1.2).
fn parse_range(header: Option<&str>, size: u64) -> RangeAsk {
    let Some(spec) = header.map(str::trim) else {
        return RangeAsk::Full;
    };
    let Some((unit, set)) = spec.split_once('=') else {
        return RangeAsk::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeAsk::Full;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeAsk::Full;
    };
    let number = |t: &str| -> Option<u64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match number(suffix) {
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if size == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Part(size - n.min(size)..size),
            None => RangeAsk::Full,
        },
        (start, "") => match number(start) {
            Some(s) if s >= size => RangeAsk::Unsatisfiable,
            Some(s) => RangeAsk::Part(s..size),
            None => RangeAsk::Full,
        },
        (start, end) => match (number(start), number(end)) {
            (Some(s), Some(e)) if s <= e => {
                if s >= size {
                    RangeAsk::Unsatisfiable
                } else {
                    RangeAsk::Part(s..e.saturating_add(1).min(size))
                }
            }
            _ => RangeAsk::Full,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_are_read_and_the_rest_ignored() {
        assert_eq!(parse_range(Some("bytes=0-9"), 100), RangeAsk::Part(0..10));
        assert_eq!(parse_range(Some("bytes=90-"), 100), RangeAsk::Part(90..100));
        assert_eq!(parse_range(Some("bytes=-10"), 100), RangeAsk::Part(90..100));
        assert_eq!(parse_range(Some("bytes=-500"), 100), RangeAsk::Part(0..100));
        assert_eq!(
            parse_range(Some("bytes=50-500"), 100),
            RangeAsk::Part(50..100)
        );
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeAsk::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 100), RangeAsk::Unsatisfiable);
        for ignored in [
            "bytes=0-1,5-6",
            "bytes=5-1",
            "items=0-1",
            "bytes=a-b",
            "bytes",
            "bytes=-",
        ] {
            assert_eq!(parse_range(Some(ignored), 100), RangeAsk::Full, "{ignored}");
        }
        assert_eq!(parse_range(None, 100), RangeAsk::Full);
    }

    #[test]
    fn only_valid_mime_types_are_sent_as_they_are() {
        assert_eq!(content_type("image/png"), "image/png");
        assert_eq!(
            content_type("text/plain; charset=utf-8"),
            "text/plain; charset=utf-8"
        );
        for bad in ["", "png", "image/png\r\nX: y", "ïmage/png", "a b/c"] {
            assert_eq!(content_type(bad), "application/octet-stream", "{bad:?}");
        }
    }

    #[test]
    fn hostile_names_become_safe_header_parameters() {
        assert_eq!(ascii_filename("../../etc/passwd"), "passwd");
        assert_eq!(ascii_filename("a/b\\c"), "c");
        assert_eq!(ascii_filename("x\"; y=\"z.txt"), "x__ y__z.txt");
        assert_eq!(ascii_filename(".."), "file");
        assert_eq!(ascii_filename("ünï.png"), "_n_.png");
        let long = format!("{}.png", "a".repeat(1000));
        assert_eq!(ascii_filename(&long).len(), ASCII_NAME_MAX);
        assert!(ascii_filename(&long).ends_with(".png"));
        assert_eq!(utf8_filename("ü b.png"), "%C3%BC%20b.png");
        assert_eq!(utf8_filename("a\r\nb/c\"d"), "c%22d");
        let disposition = content_disposition("image/svg+xml", "x.svg");
        assert!(disposition.starts_with("attachment; "), "{disposition}");
        assert!(content_disposition("image/png", "x.png").starts_with("inline; "));
    }
}
