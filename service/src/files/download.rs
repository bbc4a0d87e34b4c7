//! One download: which URLs may be fetched, where the request goes, and the bytes streamed
//! to a temporary file while they are hashed and counted.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::store::{Staged, TEMP_PREFIX};

/// Bytes of a download buffered before they are written to its temporary file.
const WRITE_BUFFER: usize = 1024 * 1024;

/// The only hosts attachment bytes are fetched from (Discord's CDN and media proxy).
pub const CDN_HOSTS: &[&str] = &["cdn.discordapp.com", "media.discordapp.net"];

/// Why a download did not produce a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownloadError {
    /// The URL is not a Discord CDN link: never requested.
    #[error("not a Discord CDN link")]
    NotAllowed,
    /// Larger than the configured maximum.
    #[error("too large")]
    TooLarge,
    /// The CDN says there is no such file (404, or 403 for a link it no longer honours).
    #[error("not found (HTTP {0})")]
    NotFound(u16),
    /// Anything that may work later: 5xx, 429, network, a truncated body.
    #[error("{message}")]
    Transient {
        /// What happened.
        message: String,
        /// How long the CDN asked to wait (429 `Retry-After`).
        retry_after: Option<Duration>,
    },
}

impl DownloadError {
    fn transient(message: impl Into<String>) -> Self {
        DownloadError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// The expiry of a signed Discord CDN link (`ex`: hex Unix seconds), when it has one.
pub fn link_expiry(url: &url::Url) -> Option<i64> {
    url.query_pairs()
        .find(|(k, _)| k == "ex")
        .and_then(|(_, v)| i64::from_str_radix(&v, 16).ok())
}

/// Parse `raw` and check it is an `https` URL on one of [`CDN_HOSTS`] (default port, no
/// credentials). Anything else is never requested.
pub fn allowed_url(raw: &str) -> Result<url::Url, DownloadError> {
    let url = url::Url::parse(raw).map_err(|_| DownloadError::NotAllowed)?;
    let host_ok = url.host_str().is_some_and(|h| {
        CDN_HOSTS
            .iter()
            .any(|allowed| h.eq_ignore_ascii_case(allowed))
    });
    if url.scheme() != "https"
        || !host_ok
        || url.port().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(DownloadError::NotAllowed);
    }
    Ok(url)
}

/// Where the request for `url` goes: the URL itself, or with `proxy` (`host:port`,
/// `DISCORD_API_PROXY`) the same path and query on `http://<proxy>`.
pub fn request_url(url: &url::Url, proxy: Option<&str>) -> String {
    match proxy {
        Some(proxy) => {
            let mut target = format!("http://{proxy}{}", url.path());
            if let Some(q) = url.query() {
                target.push('?');
                target.push_str(q);
            }
            target
        }
        None => url.to_string(),
    }
}

/// An HTTP client for the CDN: no redirects (a redirect could lead off the CDN), time-outs
/// on connecting and on every read (not on the whole body: large files take long).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("Verta/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
}

/// Download `target` into a new temporary file in `staging`, hashing as it goes; at most
/// `max_bytes` bytes. Memory stays at one chunk whatever the size. The file is removed
/// unless the download completes.
pub async fn fetch(
    http: &reqwest::Client,
    target: &str,
    staging: &Path,
    max_bytes: u64,
) -> Result<Staged, DownloadError> {
    let response = http
        .get(target)
        .send()
        .await
        .map_err(|e| DownloadError::transient(format!("request failed: {e}")))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::FORBIDDEN {
        return Err(DownloadError::NotFound(status.as_u16()));
    }
    if !status.is_success() {
        return Err(DownloadError::Transient {
            message: format!("HTTP {}", status.as_u16()),
            retry_after: retry_after(response.headers()),
        });
    }
    let declared = response.content_length();
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(DownloadError::TooLarge);
    }
    let staging = staging.to_path_buf();
    let file = tokio::task::spawn_blocking(move || {
        tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&staging)
    })
    .await
    .map_err(|e| DownloadError::transient(e.to_string()))?
    .map_err(|e| DownloadError::transient(format!("cannot create a temporary file: {e}")))?;
    let (file, path) = file.into_parts();
    // The body arrives in small chunks; writing them through a buffer makes one trip to
    // the blocking pool per mebibyte instead of one per chunk.
    let mut file =
        tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file));
    let mut hasher = Sha256::new();
    let mut written: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| DownloadError::transient(format!("download interrupted: {e}")))?;
        written += chunk.len() as u64;
        if written > max_bytes {
            return Err(DownloadError::TooLarge);
        }
        hasher.update(&chunk);
        tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
            .await
            .map_err(|e| DownloadError::transient(format!("cannot write the file: {e}")))?;
    }
    tokio::io::AsyncWriteExt::flush(&mut file)
        .await
        .map_err(|e| DownloadError::transient(format!("cannot write the file: {e}")))?;
    if let Some(declared) = declared
        && declared != written
    {
        return Err(DownloadError::transient(format!(
            "truncated: {written} of {declared} bytes"
        )));
    }
    drop(file);
    let sha256 = hex::encode(hasher.finalize());
    Ok(Staged::new(path, sha256, written))
}

/// Write `bytes` into a fresh temporary file of `staging` (for tests of the store).
pub fn stage_bytes(staging: &Path, bytes: &[u8]) -> std::io::Result<Staged> {
    let mut file = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(staging)?;
    file.write_all(bytes)?;
    file.flush()?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    Ok(Staged::new(
        file.into_temp_path(),
        sha256,
        bytes.len() as u64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_discord_cdn_urls_are_allowed() {
        for ok in [
            "https://cdn.discordapp.com/attachments/1/2/a.png?ex=1&is=2&hm=3&",
            "https://media.discordapp.net/attachments/1/2/a.png",
            "https://CDN.discordapp.com/attachments/1/2/a.png",
        ] {
            assert!(allowed_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://cdn.discordapp.com/attachments/1/2/a.png",
            "https://cdn.discordapp.com:8443/attachments/1/2/a.png",
            "https://user:pw@cdn.discordapp.com/a.png",
            "https://cdn.discordapp.com.evil.example/a.png",
            "https://evil.example/cdn.discordapp.com/a.png",
            "https://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert_eq!(allowed_url(bad), Err(DownloadError::NotAllowed), "{bad}");
        }
    }

    #[test]
    fn the_proxy_gets_the_same_path_and_query() {
        let url = allowed_url(
            "https://cdn.discordapp.com/attachments/1/2/a%20b.png?ex=65d8f5a2&is=1&hm=ab&",
        )
        .expect("allowed");
        assert_eq!(
            request_url(&url, Some("127.0.0.1:9000")),
            "http://127.0.0.1:9000/attachments/1/2/a%20b.png?ex=65d8f5a2&is=1&hm=ab&"
        );
        assert_eq!(request_url(&url, None), url.to_string());
        assert_eq!(link_expiry(&url), Some(0x65d8_f5a2));
    }
}
