//! The content-addressed blob store: a local directory or an S3-compatible bucket.
//!
//! A blob's key is its SHA-256 (64 lowercase hex digits), laid out as
//! `sha256/<h[0..2]>/<h[2..4]>/<h>` under the directory or the bucket's prefix, so no directory
//! grows past a few thousand entries. Nothing else from an attachment (its file name, its
//! content type) ever reaches a path or a key: hostile names cannot escape the store.
//!
//! A blob is written only from a complete, hashed temporary file ([`Staged`]): locally by a
//! rename on the same filesystem (atomic), on S3 by a multipart upload that becomes visible
//! only when completed. A crash therefore never leaves a partial blob under a final key.

use std::io::SeekFrom;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::config::AttachmentStoreUrl;
use crate::error::{Error, Result};

/// Size of the reads that feed a response body or an upload part.
const CHUNK: usize = 64 * 1024;
/// Multipart upload part size (S3's minimum is 5 MiB for all but the last part); smaller
/// blobs are uploaded with one PUT.
const PART: usize = 8 * 1024 * 1024;
/// Parts uploaded concurrently; with [`PART`] this bounds an upload's buffers to ~24 MiB.
const PARTS_IN_FLIGHT: usize = 2;
/// Temporary files older than this are debris of a killed process (no download runs longer
/// with its temporary file untouched).
pub const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Whether `hash` is a SHA-256 as the store names blobs (64 lowercase hex digits).
pub fn is_sha256(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The key of a blob relative to the store's root.
fn relative_key(hash: &str) -> String {
    format!("sha256/{}/{}/{hash}", &hash[0..2], &hash[2..4])
}

/// A byte range of a blob (end exclusive), as a `Range` request asks for it.
pub type ByteRange = Range<u64>;

/// A blob's bytes as a stream of chunks, with the blob's full size.
pub struct BlobBody {
    /// Size of the whole blob in bytes.
    pub size: u64,
    /// The requested bytes.
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

impl std::fmt::Debug for BlobBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobBody")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A downloaded, hashed file waiting to become a blob. The file is deleted when this is
/// dropped (unless it was moved into a local store).
#[derive(Debug)]
pub struct Staged {
    file: tempfile::TempPath,
    /// SHA-256 of the content (lowercase hex).
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl Staged {
    /// A staged file: `file` holds exactly `bytes` bytes whose SHA-256 is `sha256`.
    pub fn new(file: tempfile::TempPath, sha256: String, bytes: u64) -> Self {
        Self {
            file,
            sha256,
            bytes,
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.file
    }
}

/// Where attachment bytes live. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobStore {
    inner: Arc<Backend>,
}

#[derive(Debug)]
enum Backend {
    Local {
        root: PathBuf,
    },
    S3 {
        store: Arc<dyn ObjectStore>,
        prefix: String,
        url: String,
        staging: PathBuf,
    },
}

fn store_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Store(format!("{what}: {e}"))
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

impl BlobStore {
    /// Open the store `url` names. A local directory is created if missing; an S3 bucket
    /// takes its credentials, region and endpoint from the usual `AWS_*` variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// `AWS_ALLOW_HTTP`, ...) and is not contacted until first used.
    pub fn open(url: &AttachmentStoreUrl) -> Result<Self> {
        let backend = match url {
            AttachmentStoreUrl::File(root) => {
                std::fs::create_dir_all(root.join(".tmp")).map_err(|e| io_error(root, e))?;
                Backend::Local { root: root.clone() }
            }
            AttachmentStoreUrl::S3 { bucket, prefix } => {
                let store = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| Error::Config {
                        variable: "ATTACHMENT_STORE",
                        message: format!("cannot use {url}: {e}"),
                    })?;
                let staging = std::env::temp_dir().join("verta-files");
                std::fs::create_dir_all(&staging).map_err(|e| io_error(&staging, e))?;
                Backend::S3 {
                    store: Arc::new(store),
                    prefix: prefix.clone(),
                    url: url.to_string(),
                    staging,
                }
            }
        };
        Ok(Self {
            inner: Arc::new(backend),
        })
    }

    /// The store as `ATTACHMENT_STORE` would name it.
    pub fn describe(&self) -> String {
        match &*self.inner {
            Backend::Local { root } => format!("file://{}", root.display()),
            Backend::S3 { url, .. } => url.clone(),
        }
    }

    /// `"file"` or `"s3"`.
    pub fn kind(&self) -> &'static str {
        match &*self.inner {
            Backend::Local { .. } => "file",
            Backend::S3 { .. } => "s3",
        }
    }

    /// Directory for the temporary files of downloads: inside a local store (so the final
    /// rename stays on one filesystem), the system's temporary directory for S3.
    pub fn staging_dir(&self) -> PathBuf {
        match &*self.inner {
            Backend::Local { root } => root.join(".tmp"),
            Backend::S3 { staging, .. } => staging.clone(),
        }
    }

    fn object_path(prefix: &str, hash: &str) -> ObjectPath {
        if prefix.is_empty() {
            ObjectPath::from(relative_key(hash))
        } else {
            ObjectPath::from(format!("{prefix}/{}", relative_key(hash)))
        }
    }

    fn local_path(root: &Path, hash: &str) -> PathBuf {
        root.join(relative_key(hash))
    }

    /// Whether the blob `hash` is stored.
    pub async fn contains(&self, hash: &str) -> Result<bool> {
        if !is_sha256(hash) {
            return Ok(false);
        }
        match &*self.inner {
            Backend::Local { root } => {
                let path = Self::local_path(root, hash);
                match tokio::fs::metadata(&path).await {
                    Ok(m) => Ok(m.is_file()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(io_error(&path, e)),
                }
            }
            Backend::S3 { store, prefix, .. } => {
                match store.head(&Self::object_path(prefix, hash)).await {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(e) => Err(store_error("checking a blob", e)),
                }
            }
        }
    }

    /// Store a staged file under its hash (a no-op when the blob is already there). The
    /// blob appears whole or not at all.
    pub async fn put(&self, staged: Staged) -> Result<()> {
        if !is_sha256(&staged.sha256) {
            return Err(Error::Store(format!(
                "refusing to store a blob under {:?}",
                staged.sha256
            )));
        }
        match &*self.inner {
            Backend::Local { root } => {
                let path = Self::local_path(root, &staged.sha256);
                // Durable content before the name: a power cut must not leave a named,
                // empty blob.
                let file = staged.path().to_path_buf();
                tokio::task::spawn_blocking(move || std::fs::File::open(&file)?.sync_data())
                    .await
                    .map_err(|e| Error::Store(e.to_string()))?
                    .map_err(|e| io_error(staged.path(), e))?;
                // The fan-out directories exist after the first few thousand blobs: try the
                // rename first and create them only when it says they are missing.
                let temp = staged.file;
                let temp = match temp.persist(&path) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.error.kind() == std::io::ErrorKind::NotFound => e.path,
                    Err(e) => return Err(io_error(&path, e.error)),
                };
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| io_error(dir, e))?;
                }
                temp.persist(&path).map_err(|e| io_error(&path, e.error))?;
                Ok(())
            }
            Backend::S3 { store, prefix, .. } if staged.bytes <= PART as u64 => {
                // One request for a small blob instead of a multipart upload's three; the
                // body is at most one part in memory.
                let key = Self::object_path(prefix, &staged.sha256);
                let bytes = tokio::fs::read(staged.path())
                    .await
                    .map_err(|e| io_error(staged.path(), e))?;
                store
                    .put(&key, object_store::PutPayload::from(bytes))
                    .await
                    .map_err(|e| store_error("uploading a blob", e))?;
                Ok(())
            }
            Backend::S3 { store, prefix, .. } => {
                let key = Self::object_path(prefix, &staged.sha256);
                let upload = store
                    .put_multipart(&key)
                    .await
                    .map_err(|e| store_error("starting an upload", e))?;
                let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
                let mut file = tokio::fs::File::open(staged.path())
                    .await
                    .map_err(|e| io_error(staged.path(), e))?;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = match file.read(&mut buf).await {
                        Ok(n) => n,
                        Err(e) => {
                            let _ = writer.abort().await;
                            return Err(io_error(staged.path(), e));
                        }
                    };
                    if n == 0 {
                        break;
                    }
                    if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                        let _ = writer.abort().await;
                        return Err(store_error("uploading a blob", e));
                    }
                    writer.write(&buf[..n]);
                }
                writer
                    .finish()
                    .await
                    .map_err(|e| store_error("completing an upload", e))?;
                Ok(())
            }
        }
    }

    /// The bytes of blob `hash` (all, or `range` clamped to the blob), or `None` when it is
    /// not stored.
    pub async fn get(&self, hash: &str, range: Option<ByteRange>) -> Result<Option<BlobBody>> {
        if !is_sha256(hash) {
            return Ok(None);
        }
        match &*self.inner {
            Backend::Local { root } => {
                let path = Self::local_path(root, hash);
                let mut file = match tokio::fs::File::open(&path).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io_error(&path, e)),
                };
                let size = file.metadata().await.map_err(|e| io_error(&path, e))?.len();
                let range = range.unwrap_or(0..size);
                let (start, end) = (range.start.min(size), range.end.min(size));
                file.seek(SeekFrom::Start(start))
                    .await
                    .map_err(|e| io_error(&path, e))?;
                Ok(Some(BlobBody {
                    size,
                    stream: read_stream(file, end.saturating_sub(start)),
                }))
            }
            Backend::S3 { store, prefix, .. } => {
                let key = Self::object_path(prefix, hash);
                let options = GetOptions {
                    range: range.filter(|r| r.start < r.end).map(GetRange::Bounded),
                    ..GetOptions::default()
                };
                match store.get_opts(&key, options).await {
                    Ok(result) => {
                        let size = result.meta.size;
                        let stream = result
                            .into_stream()
                            .map_err(|e| std::io::Error::other(e.to_string()))
                            .boxed();
                        Ok(Some(BlobBody { size, stream }))
                    }
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(store_error("reading a blob", e)),
                }
            }
        }
    }

    /// The size of blob `hash`, or `None` when it is not stored.
    pub async fn size(&self, hash: &str) -> Result<Option<u64>> {
        if !is_sha256(hash) {
            return Ok(None);
        }
        match &*self.inner {
            Backend::Local { root } => {
                let path = Self::local_path(root, hash);
                match tokio::fs::metadata(&path).await {
                    Ok(m) => Ok(Some(m.len())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io_error(&path, e)),
                }
            }
            Backend::S3 { store, prefix, .. } => {
                match store.head(&Self::object_path(prefix, hash)).await {
                    Ok(meta) => Ok(Some(meta.size)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(store_error("checking a blob", e)),
                }
            }
        }
    }

    /// Remove blob `hash` (no error when it is not there).
    pub async fn delete(&self, hash: &str) -> Result<()> {
        if !is_sha256(hash) {
            return Ok(());
        }
        match &*self.inner {
            Backend::Local { root } => {
                let path = Self::local_path(root, hash);
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io_error(&path, e)),
                }
            }
            Backend::S3 { store, prefix, .. } => {
                match store.delete(&Self::object_path(prefix, hash)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(store_error("deleting a blob", e)),
                }
            }
        }
    }

    /// Every stored blob as `(hash, size)`, streamed (the listing is never held whole).
    /// Keys that are not blobs (temporary files, foreign objects) are left out.
    pub fn list(&self) -> BoxStream<'static, Result<(String, u64)>> {
        match &*self.inner {
            Backend::Local { root } => list_local(root.join("sha256")),
            Backend::S3 { store, prefix, .. } => {
                let base = if prefix.is_empty() {
                    ObjectPath::from("sha256")
                } else {
                    ObjectPath::from(format!("{prefix}/sha256"))
                };
                store
                    .list(Some(&base))
                    .map_err(|e| store_error("listing blobs", e))
                    .try_filter_map(|meta| async move {
                        let name = meta.location.filename().unwrap_or_default().to_owned();
                        Ok(is_sha256(&name).then_some((name, meta.size)))
                    })
                    .boxed()
            }
        }
    }

    /// Delete temporary files of downloads older than `older_than` (debris of killed
    /// processes); returns how many were removed.
    pub async fn clean_staging(&self, older_than: Duration) -> Result<u64> {
        let dir = self.staging_dir();
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_error(&dir, e)),
        };
        let mut removed = 0;
        let now = SystemTime::now();
        while let Some(entry) = entries.next_entry().await.map_err(|e| io_error(&dir, e))? {
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            let ours = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
            if meta.is_file()
                && ours
                && age >= older_than
                && tokio::fs::remove_file(entry.path()).await.is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Name prefix of the temporary files of downloads.
pub const TEMP_PREFIX: &str = "download-";

fn read_stream(file: tokio::fs::File, len: u64) -> BoxStream<'static, std::io::Result<Bytes>> {
    futures::stream::try_unfold((file, len), |(mut file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let want = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        let mut buf = vec![0u8; want];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "blob shorter than its size",
            ));
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), (file, left - n as u64))))
    })
    .boxed()
}

/// The blobs under `<root>/sha256/xx/yy/`, walked one directory at a time.
fn list_local(base: PathBuf) -> BoxStream<'static, Result<(String, u64)>> {
    // A stack of directories still to read; each level is read whole (at most 256 entries
    // for the two fan-out levels, a few thousand blobs in a leaf).
    futures::stream::try_unfold(
        (vec![(base, 0u8)], Vec::<(String, u64)>::new()),
        |(mut dirs, mut ready)| async move {
            loop {
                if let Some(item) = ready.pop() {
                    return Ok(Some((item, (dirs, ready))));
                }
                let Some((dir, depth)) = dirs.pop() else {
                    return Ok(None);
                };
                let mut entries = match tokio::fs::read_dir(&dir).await {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_error(&dir, e)),
                };
                while let Some(entry) = entries.next_entry().await.map_err(|e| io_error(&dir, e))? {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let Ok(kind) = entry.file_type().await else {
                        continue;
                    };
                    if depth < 2 && kind.is_dir() {
                        dirs.push((entry.path(), depth + 1));
                    } else if depth == 2 && kind.is_file() && is_sha256(&name) {
                        let size = entry.metadata().await.map(|m| m.len()).unwrap_or(0);
                        ready.push((name, size));
                    }
                }
            }
        },
    )
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_hex_names_a_blob() {
        assert!(is_sha256(&"a1".repeat(32)));
        assert!(!is_sha256(&"A1".repeat(32)));
        assert!(!is_sha256("../../etc/passwd"));
        assert!(!is_sha256(&format!("{}/", "a".repeat(63))));
        assert_eq!(
            relative_key(&"ab".repeat(32)),
            format!("sha256/ab/ab/{}", "ab".repeat(32))
        );
    }
}
