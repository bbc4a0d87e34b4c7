//! Crash-safe file output for the export: every file is written to a temporary sibling and
//! renamed into place, so a reader never sees a truncated JSON file, and files left over from a
//! bigger earlier export are removed.

use std::collections::HashSet;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use futures::StreamExt;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::files::BlobStore;

/// Suffix of in-progress files; anything carrying it is debris from an interrupted export.
const TMP_SUFFIX: &str = ".tmp";

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Create `dir` and its parents; an existing directory is fine.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))
}

/// Fail early, with the path, when files cannot be created in `dir`.
pub fn check_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(format!(".write-check{TMP_SUFFIX}"));
    fs::write(&probe, b"").map_err(|e| io_error(dir, e))?;
    fs::remove_file(&probe).map_err(|e| io_error(&probe, e))
}

/// Serialize `value` as pretty JSON (two-space indent, like the original) into `path`
/// atomically: write `.<name>.tmp`, flush and sync it, then rename it over `path`.
/// Returns the number of bytes written.
pub fn write_json_atomic<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<u64> {
    let tmp = tmp_path(path);
    let result = (|| {
        let file = fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        serde_json::to_writer_pretty(&mut out, value)
            .map_err(|e| io_error(&tmp, std::io::Error::other(e)))?;
        out.write_all(b"\n").map_err(|e| io_error(&tmp, e))?;
        let file = out
            .into_inner()
            .map_err(|e| io_error(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        let len = file.metadata().map_err(|e| io_error(&tmp, e))?.len();
        fs::rename(&tmp, path).map_err(|e| io_error(path, e))?;
        Ok(len)
    })();
    if result.is_err() {
        // Best effort: the error being returned is the interesting one.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{TMP_SUFFIX}"))
}

/// Copy blob `hash` from `store` to `path` atomically (streamed through `.<name>.tmp`, synced,
/// renamed), unless `path` already holds a file of the blob's size: blobs are
/// content-addressed, so the name says the bytes. Returns whether it wrote; a blob missing
/// from the store (removed since the query) is skipped.
pub async fn write_blob_atomic(store: &BlobStore, hash: &str, path: &Path) -> Result<bool> {
    let Some(size) = store.size(hash).await? else {
        return Ok(false);
    };
    if fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == size) {
        return Ok(false);
    }
    let Some(body) = store.get(hash, None).await? else {
        return Ok(false);
    };
    let tmp = tmp_path(path);
    let result = async {
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| io_error(&tmp, e))?;
        let mut stream = body.stream;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| io_error(path, e))?;
            file.write_all(&chunk)
                .await
                .map_err(|e| io_error(&tmp, e))?;
        }
        file.sync_all().await.map_err(|e| io_error(&tmp, e))?;
        tokio::fs::rename(&tmp, path)
            .await
            .map_err(|e| io_error(path, e))
    }
    .await;
    if result.is_err() {
        // Best effort: the error being returned is the interesting one.
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| true)
}

/// The blob files (named by a SHA-256) in `dir`; temporary debris of an interrupted copy is
/// removed on the way.
pub fn blob_names(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if crate::files::is_sha256(&name) {
            out.push(name);
        } else if name.starts_with('.') && name.ends_with(TMP_SUFFIX) {
            remove_file(&entry.path())?;
        }
    }
    Ok(out)
}

/// Remove the file at `path` (no error when it is already gone).
pub fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(path, e)),
    }
}

/// The page number of a file named `<prefix><N>.json`, if it is one.
fn page_number(file_name: &str, prefix: &str) -> Option<u64> {
    file_name
        .strip_prefix(prefix)?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// Remove `<prefix><N>.json` files with `N > keep` from `dir`, and temporary debris of an
/// interrupted earlier export. Returns how many files were removed.
pub fn remove_stale_pages(dir: &Path, prefix: &str, keep: u64) -> Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = page_number(&name, prefix).is_some_and(|n| n > keep)
            || (name.starts_with('.') && name.ends_with(TMP_SUFFIX));
        if stale {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Remove the sub-directories of `channels_dir` that an earlier export wrote for channels not
/// in `keep`. Only directories named like a channel id (a UUID) are touched, so files a user put
/// there are left alone. Returns how many directories were removed.
pub fn remove_stale_channel_dirs(channels_dir: &Path, keep: &HashSet<String>) -> Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(channels_dir).map_err(|e| io_error(channels_dir, e))? {
        let entry = entry.map_err(|e| io_error(channels_dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && uuid::Uuid::parse_str(&name).is_ok() && !keep.contains(&name) {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(|e| io_error(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_only_the_final_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page-1.json");
        write_json_atomic(&path, &serde_json::json!({"a": [1, 2]})).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["page-1.json".to_owned()]);
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("{\n  \"a\": ["),
            "two-space pretty JSON: {text}"
        );
    }

    #[test]
    fn stale_pages_above_the_new_count_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for n in 1..=5 {
            fs::write(dir.path().join(format!("page-{n}.json")), "{}").unwrap();
        }
        fs::write(dir.path().join(".page-9.json.tmp"), "{").unwrap();
        fs::write(dir.path().join("threads-page-3.json"), "{}").unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        assert_eq!(remove_stale_pages(dir.path(), "page-", 2).unwrap(), 4);
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "notes.txt",
                "page-1.json",
                "page-2.json",
                "threads-page-3.json"
            ]
        );
    }
}
