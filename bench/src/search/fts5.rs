//! The baseline: SQLite FTS5 over the same messages, in a file of its own, served over HTTP
//! by a small actix-web server in the benchmark process so that it pays HTTP and JSON as
//! Verta's search does.
//!
//! The file:
//!
//! ```sql
//! CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL,
//!     channel_id TEXT NOT NULL, within TEXT NOT NULL, channel_name TEXT NOT NULL,
//!     thread_name TEXT, author_id TEXT NOT NULL, created_at INTEGER NOT NULL,
//!     has_image INTEGER NOT NULL, has_attachment INTEGER NOT NULL, has_link INTEGER NOT NULL,
//!     content TEXT NOT NULL);
//! CREATE INDEX messages_author ON messages (author_id);
//! CREATE INDEX messages_within ON messages (within);
//! CREATE INDEX messages_created ON messages (created_at);
//! CREATE INDEX messages_image ON messages (has_image);
//! CREATE TABLE attachments (message INTEGER NOT NULL, filename TEXT NOT NULL,
//!     content_type TEXT NOT NULL, size INTEGER NOT NULL, url TEXT NOT NULL);
//! CREATE INDEX attachments_message ON attachments (message);
//! CREATE VIRTUAL TABLE messages_fts USING fts5 (content, content = 'messages',
//!     content_rowid = 'id', tokenize = 'unicode61');
//! ```
//!
//! `content` is the text as shown (`service::search::text::display_text`: mentions as
//! pseudonyms), the text Verta indexes; `within` is the text channel (a thread's parent).
//! A query ([`select`]) matches, filters on the joined row, ranks by FTS5's bm25 (`ORDER BY
//! rank`), takes 25 with a snippet, then loads those messages' attachments.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use actix_web::{App, HttpResponse, HttpServer, web};
use rusqlite::{Connection, OpenFlags, params};
use serde::{Deserialize, Serialize};

use super::corpus::Generated;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

const SCHEMA: &str = "
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL,
    channel_id TEXT NOT NULL, within TEXT NOT NULL, channel_name TEXT NOT NULL,
    thread_name TEXT, author_id TEXT NOT NULL, created_at INTEGER NOT NULL,
    has_image INTEGER NOT NULL, has_attachment INTEGER NOT NULL, has_link INTEGER NOT NULL,
    content TEXT NOT NULL);
CREATE TABLE attachments (message INTEGER NOT NULL, filename TEXT NOT NULL,
    content_type TEXT NOT NULL, size INTEGER NOT NULL, url TEXT NOT NULL);
CREATE VIRTUAL TABLE messages_fts USING fts5 (content, content = 'messages',
    content_rowid = 'id', tokenize = 'unicode61');
";

/// Built after the rows: one sort per index instead of random inserts.
const INDEXES: &str = "
CREATE INDEX messages_author ON messages (author_id);
CREATE INDEX messages_within ON messages (within);
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX messages_image ON messages (has_image);
CREATE INDEX attachments_message ON attachments (message);
INSERT INTO messages_fts (messages_fts) VALUES ('optimize');
ANALYZE;
";

/// The query of one search: the match, then only the filters it uses (so that SQLite may
/// use their indexes), ranked by bm25, 25 rows with a snippet.
pub fn select(q: &Fts5Query) -> String {
    let mut sql = String::from(
        "SELECT m.id, m.message_id, m.channel_id, m.channel_name, m.thread_name, m.author_id, \
         m.created_at, m.content, snippet(messages_fts, 0, '<mark>', '</mark>', '…', 24) \
         FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid \
         WHERE messages_fts MATCH :match",
    );
    if q.author.is_some() {
        sql.push_str(" AND m.author_id = :author");
    }
    if q.within.is_some() {
        sql.push_str(" AND m.within = :within");
    }
    if q.image == Some(true) {
        sql.push_str(" AND m.has_image = 1");
    }
    if q.before.is_some() {
        sql.push_str(" AND m.created_at < :before");
    }
    sql.push_str(" ORDER BY rank LIMIT 25");
    sql
}

/// The FTS5 file under construction.
pub struct Builder {
    conn: Connection,
    path: PathBuf,
    next_id: i64,
}

impl Builder {
    /// A new file at `path`.
    pub fn create(path: &Path) -> Result<Self, AnyError> {
        let conn = Connection::open(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn,
            path: path.to_owned(),
            next_id: 1,
        })
    }

    /// Adds one batch of messages (one transaction).
    pub fn add(&mut self, batch: &[Generated<'_>]) -> Result<(), AnyError> {
        let tx = self.conn.transaction()?;
        {
            let mut message = tx.prepare_cached(
                "INSERT INTO messages (id, message_id, channel_id, within, channel_name, \
                 thread_name, author_id, created_at, has_image, has_attachment, has_link, content) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            let mut fts =
                tx.prepare_cached("INSERT INTO messages_fts (rowid, content) VALUES (?1, ?2)")?;
            let mut file = tx.prepare_cached(
                "INSERT INTO attachments (message, filename, content_type, size, url) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for g in batch {
                let id = self.next_id;
                self.next_id += 1;
                let shown = service::search::text::display_text(&g.row.content);
                let image = g
                    .attachment
                    .is_some_and(|a| a.content_type.starts_with("image/"));
                message.execute(params![
                    id,
                    g.row.id().to_string(),
                    g.place.channel_id,
                    g.place.within,
                    g.place.channel_name,
                    g.place.thread_name,
                    g.row.anonymized_author_id,
                    g.row.platform_created_at.timestamp(),
                    image,
                    g.attachment.is_some(),
                    service::search::text::has_link(&g.row.content),
                    shown,
                ])?;
                fts.execute(params![id, shown])?;
                if let Some(a) = g.attachment {
                    file.execute(params![id, a.filename, a.content_type, a.file_size, a.url])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Builds the indexes and merges the FTS5 index into one segment; returns the file.
    pub fn finish(self) -> Result<PathBuf, AnyError> {
        self.conn.execute_batch(INDEXES)?;
        drop(self.conn);
        Ok(self.path)
    }
}

/// One search of the baseline: an FTS5 match expression and the filters of the mix.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fts5Query {
    /// FTS5 query syntax (`word`, `"two words"`, `prefix*`).
    #[serde(rename = "match")]
    pub match_: String,
    /// `from:`: the author's pseudonymised id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// `in:`: the text channel's row id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// `has:image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<bool>,
    /// `before:`: Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

/// A hit as the baseline answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    id: String,
    channel_id: String,
    channel_name: String,
    thread_name: Option<String>,
    author_id: String,
    created_at: i64,
    content: String,
    snippet: String,
    attachments: Vec<Attachment>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    filename: String,
    content_type: String,
    size: i64,
    url: String,
}

thread_local! {
    /// Each server worker thread's own read-only connection (as Verta's SQLite reads keep
    /// one per HTTP worker).
    static CONN: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

/// One search of the baseline on this thread's connection: the 25 best rows with snippets,
/// then their attachments.
pub fn run_query(path: &Path, q: &Fts5Query) -> Result<Vec<Hit>, AnyError> {
    CONN.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824;")?;
            *slot = Some(conn);
        }
        let conn = slot.as_ref().ok_or("no connection")?;
        let mut stmt = conn.prepare_cached(&select(q))?;
        let mut named: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":match", &q.match_)];
        if let Some(a) = &q.author {
            named.push((":author", a));
        }
        if let Some(w) = &q.within {
            named.push((":within", w));
        }
        if let Some(b) = &q.before {
            named.push((":before", b));
        }
        let mut hits: Vec<(i64, Hit)> = stmt
            .query_map(named.as_slice(), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Hit {
                        id: r.get(1)?,
                        channel_id: r.get(2)?,
                        channel_name: r.get(3)?,
                        thread_name: r.get(4)?,
                        author_id: r.get(5)?,
                        created_at: r.get(6)?,
                        content: r.get(7)?,
                        snippet: r.get(8)?,
                        attachments: Vec::new(),
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        if !hits.is_empty() {
            let marks = vec!["?"; hits.len()].join(",");
            let mut files = conn.prepare_cached(&format!(
                "SELECT message, filename, content_type, size, url FROM attachments \
                 WHERE message IN ({marks})"
            ))?;
            let ids: Vec<i64> = hits.iter().map(|(id, _)| *id).collect();
            let rows = files.query_map(rusqlite::params_from_iter(ids.iter()), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Attachment {
                        filename: r.get(1)?,
                        content_type: r.get(2)?,
                        size: r.get(3)?,
                        url: r.get(4)?,
                    },
                ))
            })?;
            for row in rows {
                let (message, a) = row?;
                if let Some((_, hit)) = hits.iter_mut().find(|(id, _)| *id == message) {
                    hit.attachments.push(a);
                }
            }
        }
        Ok(hits.into_iter().map(|(_, h)| h).collect())
    })
}

async fn search(path: web::Data<PathBuf>, q: web::Query<Fts5Query>) -> HttpResponse {
    // On the worker's thread, like Verta's direct SQLite reads: no hand-off to a pool.
    match run_query(&path, &q) {
        Ok(hits) => HttpResponse::Ok().json(serde_json::json!({
            "data": hits,
            "meta": { "limit": 25 },
        })),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// Number of messages whose text matches `expr` (a sanity check against Verta's total).
pub fn count(path: &Path, expr: &str) -> Result<u64, AnyError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH ?1",
        [expr],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as u64)
}

/// Starts the baseline's server on loopback (as many workers as Verta's, the CPU count);
/// returns its `/search` URL.
pub fn serve(path: PathBuf) -> Result<String, AnyError> {
    let data = web::Data::new(path);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/search", web::get().to(search))
    })
    .bind(("127.0.0.1", 0))?;
    let port = server
        .addrs()
        .first()
        .map(|a| a.port())
        .ok_or("the FTS5 server has no address")?;
    tokio::spawn(server.run());
    Ok(format!("http://127.0.0.1:{port}/search"))
}
