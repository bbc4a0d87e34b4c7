//! The index on disk: its schema, opening (and replacing what cannot be read), the writer, and
//! the position the indexer has reached, which is committed inside the index itself.
//!
//! The position travels in the commit's payload (`meta.json`, written atomically by tantivy
//! after the segments), so documents and the position that produced them become visible
//! together or not at all: a crash between two commits loses nothing (the next pass redoes
//! the uncommitted work from the committed position) and duplicates nothing (every document
//! is replaced by message id).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tantivy::directory::error::LockError;
use tantivy::directory::{Directory as _, INDEX_WRITER_LOCK, MmapDirectory};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyError};

use super::text;
use crate::error::{Error, Result};

/// Bumped whenever the schema or the analyzer changes: an index of another version is
/// rebuilt from the database instead of being misread.
pub const FORMAT_VERSION: u32 = 3;

/// The writer's memory budget (tantivy flushes a segment when it is used up).
const WRITER_HEAP_BYTES: usize = 96 * 1024 * 1024;

/// The fields of a message document.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Message row id (UUID), stored: documents are replaced and results loaded by it.
    pub id: Field,
    /// Tenant id: every query is confined to one.
    pub tenant: Field,
    /// The message's channel and, for a thread, its parent channel (`in:`, and removal of a
    /// channel that stops being public together with its threads).
    pub within: Field,
    /// Author terms: the pseudonymised id, the pseudonym's key, and key#tag (`from:`).
    pub author: Field,
    /// `has:` terms, plus `pinned`.
    pub has: Field,
    /// The text as shown, analysed by [`text::analyzer`] with positions (phrases).
    pub content: Field,
    /// Sort key: the send time in Discord's snowflake layout (milliseconds since 2015 in the
    /// high 42 bits, the message snowflake's low 22 bits below; see [`order_key`]), unique
    /// per message in practice; orders by time, bounds dates and pages `newest`/`oldest`.
    pub order: Field,
    /// `updated_at` of the row the document was made from (Unix seconds): tells a document
    /// that is up to date from one a late write changed since ([`super::indexer::recheck`]).
    pub updated: Field,
}

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The [`Fields::order`] key of a message sent at `at` with snowflake `snowflake`.
///
/// Stored send times keep whole seconds while a snowflake holds its own to the millisecond:
/// a snowflake whose time falls in `at`'s second is the key itself, unique per message (its
/// low bits alone repeat within a second when the counter wraps). Any other id gives `at`
/// with the id's low bits.
pub fn order_key(at: DateTime<Utc>, snowflake: u64) -> u64 {
    use chrono::SubsecRound;
    let second = order_floor(at.trunc_subsecs(0));
    if (second..second + (1_000 << 22)).contains(&snowflake) {
        snowflake
    } else {
        order_floor(at) | (snowflake & 0x3F_FFFF)
    }
}

/// The smallest [`order_key`] of any message sent at or after `at`.
pub fn order_floor(at: DateTime<Utc>) -> u64 {
    let ms = (at.timestamp_millis() - DISCORD_EPOCH_MS).max(0);
    // 42 bits of milliseconds last until 2154; later times saturate.
    (ms.min((1 << 42) - 1) as u64) << 22
}

/// The send time (Unix milliseconds) of an [`order_key`].
pub fn order_millis(key: u64) -> i64 {
    (key >> 22) as i64 + DISCORD_EPOCH_MS
}

/// The schema of [`Fields`].
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let content = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(text::TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        tenant: b.add_text_field("tenant", STRING),
        within: b.add_text_field("in", STRING),
        author: b.add_text_field("author", STRING),
        has: b.add_text_field("has", STRING),
        content: b.add_text_field("content", content),
        order: b.add_u64_field("order", INDEXED | FAST),
        updated: b.add_u64_field("updated", FAST),
    };
    (b.build(), fields)
}

/// Where the indexer is: every change up to this point is in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// [`FORMAT_VERSION`] of the index this was written by.
    pub version: u32,
    /// Last message change indexed, as `(updated_at, id)`.
    pub messages: Option<(DateTime<Utc>, String)>,
    /// Last channel change seen, as `(updated_at, id)`.
    pub channels: Option<(DateTime<Utc>, String)>,
    /// Channels (row id -> tenant id) that are not public: their messages, and those of their
    /// threads, are not in the index.
    pub hidden: BTreeMap<String, String>,
    /// Tenants with documents in the index (to drop a deleted tenant's documents).
    pub tenants: BTreeSet<String>,
    /// Whether the index holds every message once: false for a new index until its first
    /// complete rebuild.
    pub built: bool,
}

/// An open index with its one writer and a reader.
pub struct Store {
    /// Where it lives.
    pub dir: PathBuf,
    /// Its fields.
    pub fields: Fields,
    /// The only writer (tantivy's lock file keeps other processes out).
    pub writer: IndexWriter,
    /// Reloaded after each commit.
    pub reader: IndexReader,
    /// The committed position.
    pub position: Position,
}

impl Store {
    /// Open the index in `dir`, or create it. An index that cannot be read, or has another
    /// schema or [`FORMAT_VERSION`], is moved to `<dir>.broken` (replacing an older one) and a
    /// new, empty one is created; its position says it is not [`Position::built`].
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        match Self::open_existing(dir) {
            Ok(store) => Ok(store),
            Err(OpenError::Locked(message)) => Err(Error::Search(format!(
                "the search index {} is in use by another process ({message}); give each \
                 `verta serve` its own SEARCH_INDEX_DIR, and stop it before `verta search \
                 reindex`",
                dir.display()
            ))),
            Err(OpenError::Unreadable(reason)) => {
                let aside = broken_path(dir);
                tracing::warn!(dir = %dir.display(), %reason, aside = %aside.display(),
                    "the search index cannot be read: it is moved aside and rebuilt from the database");
                let _ = std::fs::remove_dir_all(&aside);
                std::fs::rename(dir, &aside)
                    .or_else(|_| std::fs::remove_dir_all(dir))
                    .map_err(|source| Error::Io {
                        path: dir.display().to_string(),
                        source,
                    })?;
                std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                    path: dir.display().to_string(),
                    source,
                })?;
                Self::open_existing(dir).map_err(|e| Error::Search(e.to_string()))
            }
        }
    }

    fn open_existing(dir: &Path) -> std::result::Result<Self, OpenError> {
        let (schema, fields) = schema();
        let directory =
            MmapDirectory::open(dir).map_err(|e| OpenError::Unreadable(e.to_string()))?;
        // Another process's index must not be judged unreadable (and moved aside) because it
        // changed while being read here: hold its write lock while reading, so that a live
        // owner shows as `Locked`. Released just before the writer takes it for good.
        let probe = match directory.acquire_lock(&INDEX_WRITER_LOCK) {
            Ok(lock) => lock,
            Err(LockError::LockBusy) => {
                return Err(OpenError::Locked("write lock held".into()));
            }
            Err(e) => return Err(OpenError::Unreadable(e.to_string())),
        };
        let exists = Index::exists(&directory).map_err(|e| OpenError::Unreadable(e.to_string()))?;
        let mut index = if exists {
            let index = Index::open(directory).map_err(unreadable)?;
            if index.schema() != schema {
                return Err(OpenError::Unreadable(
                    "it was built with another schema".into(),
                ));
            }
            index
        } else {
            Index::create(directory, schema, Default::default()).map_err(unreadable)?
        };
        index
            .tokenizers()
            .register(text::TOKENIZER, text::analyzer());
        let position = match index.load_metas().map_err(unreadable)?.payload {
            Some(payload) => {
                let position: Position = serde_json::from_str(&payload).map_err(|e| {
                    OpenError::Unreadable(format!("its position is unreadable: {e}"))
                })?;
                if position.version != FORMAT_VERSION {
                    return Err(OpenError::Unreadable(format!(
                        "it has format version {}, this program writes {FORMAT_VERSION}",
                        position.version
                    )));
                }
                position
            }
            None => Position {
                version: FORMAT_VERSION,
                ..Position::default()
            },
        };
        // Opening the reader maps every segment: missing or truncated files show up here.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(unreadable)?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        drop(probe);
        let writer = match index.writer_with_num_threads(threads, WRITER_HEAP_BYTES) {
            Ok(w) => w,
            Err(TantivyError::LockFailure(_, message)) => {
                return Err(OpenError::Locked(
                    message.unwrap_or_else(|| "write lock held".into()),
                ));
            }
            Err(e) => return Err(unreadable(e)),
        };
        let _ = index.set_default_multithread_executor();
        Ok(Self {
            dir: dir.to_owned(),
            fields,
            writer,
            reader,
            position,
        })
    }

    /// Commit everything added and deleted since the last commit together with `position`,
    /// then make it visible to searches.
    pub fn commit(&mut self, position: Position) -> Result<()> {
        let payload = serde_json::to_string(&position)
            .map_err(|e| Error::Search(format!("position not serialisable: {e}")))?;
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.position = position;
        self.reader.reload()?;
        Ok(())
    }

    /// Drop everything added and deleted since the last commit.
    pub fn rollback(&mut self) -> Result<()> {
        self.writer.rollback()?;
        Ok(())
    }

    /// Bytes the index takes on disk.
    pub fn disk_bytes(&self) -> u64 {
        dir_bytes(&self.dir)
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn broken_path(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".broken");
    dir.with_file_name(name)
}

#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error("locked: {0}")]
    Locked(String),
    #[error("{0}")]
    Unreadable(String),
}

fn unreadable(e: TantivyError) -> OpenError {
    OpenError::Unreadable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn order_keys_follow_time_then_snowflake() {
        let t = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let a = order_key(t, 5);
        let b = order_key(t, 6);
        let c = order_key(t + chrono::Duration::milliseconds(1), 0);
        assert!(a < b && b < c);
        assert_eq!(order_millis(a), t.timestamp_millis());
        assert!(order_floor(t) <= a && a < order_floor(t + chrono::Duration::milliseconds(1)));
        // A real snowflake's key is the snowflake itself.
        let snowflake: u64 = 1_234_567_890_123_456_789;
        let at = Utc
            .timestamp_millis_opt(order_millis(snowflake))
            .single()
            .unwrap();
        assert_eq!(order_key(at, snowflake), snowflake);
        // Stored times keep whole seconds: the snowflake still decides within the second,
        // even when its low bits equal another message's.
        let second = Utc.timestamp_opt(at.timestamp(), 0).unwrap();
        assert_eq!(order_key(second, snowflake), snowflake);
        let twin = snowflake + (300 << 22);
        assert_eq!(order_millis(twin) / 1000, order_millis(snowflake) / 1000);
        assert!(order_key(second, snowflake) < order_key(second, twin));
        // Before Discord's epoch saturates at zero.
        assert_eq!(
            order_floor(Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap()),
            0
        );
    }
}
