//! Following the database: what to index, read in bounded batches, turned into documents.
//!
//! The sync writes every message and channel with `updated_at` = the time of the write (an
//! edit, a deletion mark or a re-read of the recent window all move it). A pass reads what
//! changed after the committed [`Position`] in `(updated_at, id)` order (m011 indexes both
//! tables on it), up to a horizon: the last whole second that ended at least [`LAG`] ago. A
//! write whose timestamp was taken just before another's may commit just after it, and the
//! horizon keeps the position from passing a write that is still in flight.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, FromQueryResult, Statement, Value};
use tantivy::collector::Count;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Term};
use tantivy::{DocSet, TantivyDocument};
use uuid::Uuid;

use super::index::{Fields, Position, Store, order_key};
use super::syntax::{Has, name_key};
use super::text;
use crate::archive::query::{Direction, Position as PagePosition, messages_from};
use crate::archive::view::metadata_flag;
use crate::error::Result;
use crate::{pseudonym, repo};

/// How long after its timestamp a write may still be uncommitted (see the module's doc).
pub const LAG: Duration = Duration::from_secs(1);

/// The newest `updated_at` a pass may read up to: timestamps are whole seconds
/// ([`crate::db::now`]), so a second is complete only once it is over, and then `lag` more.
fn horizon(lag: Duration) -> DateTime<Utc> {
    use chrono::SubsecRound;
    (Utc::now() - chrono::Duration::from_std(lag).unwrap_or_default()).trunc_subsecs(0)
        - chrono::Duration::seconds(1)
}
/// Rows read per query.
const BATCH: u64 = 2_000;
/// Most message changes one pass indexes before it commits (a long catch-up commits as it
/// goes, so its progress survives a crash and shows in results early). Each replaced document
/// queues a delete that tantivy keeps, at about a kilobyte and a half, until the commit: this
/// bounds that memory to some 30 MB.
const PASS_MESSAGES: u64 = 20_000;
/// Rows per `IN (...)` list.
const IN_CHUNK: usize = 1_000;

/// A message with what its document needs from its channel.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Row {
    pub id: String,
    pub channel_id: String,
    pub platform_message_id: String,
    pub anonymized_author_id: String,
    pub content: String,
    pub metadata: Option<serde_json::Value>,
    pub platform_created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tenant_id: String,
    pub channel_type: Option<String>,
    pub parent_channel_id: Option<String>,
}

/// A channel as the indexer sees it.
#[derive(Debug, Clone, FromQueryResult)]
struct ChannelRow {
    id: String,
    tenant_id: String,
    platform_channel_id: String,
    channel_type: Option<String>,
    parent_channel_id: Option<String>,
    metadata: Option<serde_json::Value>,
    updated_at: DateTime<Utc>,
}

const MESSAGE_COLUMNS: &str = "m.id, m.channel_id, m.platform_message_id, \
    m.anonymized_author_id, m.content, m.metadata, m.platform_created_at, m.updated_at, \
    c.tenant_id, c.`type` AS channel_type, c.parent_channel_id";

const CHANNEL_COLUMNS: &str = "id, tenant_id, platform_channel_id, `type` AS channel_type, \
    parent_channel_id, metadata, updated_at";

/// Whether discovery marked the channel as gone or no longer visible to everyone.
fn is_public(metadata: Option<&serde_json::Value>) -> bool {
    !metadata_flag(metadata, "vanished")
}

/// The row id of a thread's parent channel (`parent_channel_id` holds its snowflake).
fn parent_row_id(
    tenant_id: &str,
    channel_type: Option<&str>,
    parent: Option<&str>,
) -> Option<String> {
    if channel_type != Some("thread") {
        return None;
    }
    let tenant = tenant_id.parse::<Uuid>().ok()?;
    Some(repo::ids::channel(tenant, parent?).to_string())
}

/// `(updated_at, id) > after AND updated_at <= horizon`, for a table alias prefix.
fn changed_since(
    prefix: &str,
    after: Option<&(DateTime<Utc>, String)>,
    horizon: DateTime<Utc>,
) -> (String, Vec<Value>) {
    match after {
        Some((at, id)) => (
            format!(
                "({prefix}updated_at > ? OR ({prefix}updated_at = ? AND {prefix}id > ?)) AND {prefix}updated_at <= ?"
            ),
            vec![
                (*at).into(),
                (*at).into(),
                id.clone().into(),
                horizon.into(),
            ],
        ),
        None => (format!("{prefix}updated_at <= ?"), vec![horizon.into()]),
    }
}

async fn changed_messages(
    db: &DatabaseConnection,
    after: Option<&(DateTime<Utc>, String)>,
    horizon: DateTime<Utc>,
) -> Result<Vec<Row>> {
    let (condition, values) = changed_since("m.", after, horizon);
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN channels c ON c.id = m.channel_id \
         WHERE {condition} ORDER BY m.updated_at, m.id LIMIT {BATCH}"
    );
    let backend = db.get_database_backend();
    Ok(
        Row::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(db)
            .await?,
    )
}

async fn changed_channels(
    db: &DatabaseConnection,
    after: Option<&(DateTime<Utc>, String)>,
    horizon: DateTime<Utc>,
) -> Result<Vec<ChannelRow>> {
    let (condition, values) = changed_since("", after, horizon);
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels WHERE {condition} ORDER BY updated_at, id LIMIT {BATCH}"
    );
    let backend = db.get_database_backend();
    Ok(
        ChannelRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(db)
            .await?,
    )
}

async fn tenant_channels(db: &DatabaseConnection, tenant_id: &str) -> Result<Vec<ChannelRow>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE tenant_id = ? ORDER BY id");
    let backend = db.get_database_backend();
    Ok(
        ChannelRow::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [tenant_id.into()],
        ))
        .all(db)
        .await?,
    )
}

async fn tenant_ids(db: &DatabaseConnection) -> Result<HashSet<String>> {
    #[derive(FromQueryResult)]
    struct Id {
        id: String,
    }
    let backend = db.get_database_backend();
    Ok(
        Id::find_by_statement(Statement::from_string(backend, "SELECT id FROM tenants"))
            .all(db)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect(),
    )
}

/// `has:` terms of each message among `ids`, from its attachments.
async fn attachment_kinds(
    db: &DatabaseConnection,
    ids: &[&str],
) -> Result<HashMap<String, Vec<&'static str>>> {
    #[derive(FromQueryResult)]
    struct Attachment {
        message_id: String,
        filename: String,
        content_type: String,
    }
    let backend = db.get_database_backend();
    let mut out: HashMap<String, Vec<&'static str>> = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT message_id, filename, content_type FROM message_attachments WHERE message_id IN ({marks})"
        );
        let values: Vec<Value> = chunk.iter().map(|id| (*id).into()).collect();
        let rows =
            Attachment::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                .all(db)
                .await?;
        for a in rows {
            let kinds = out.entry(a.message_id).or_default();
            if !kinds.contains(&Has::Attachment.term()) {
                kinds.push(Has::Attachment.term());
            }
            if let Some(kind) = media_kind(&a.content_type, &a.filename)
                && !kinds.contains(&kind.term())
            {
                kinds.push(kind.term());
            }
        }
    }
    Ok(out)
}

/// Image, video or audio, by MIME type or else by file extension.
fn media_kind(content_type: &str, filename: &str) -> Option<Has> {
    let major = content_type
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match major.as_str() {
        "image" => return Some(Has::Image),
        "video" => return Some(Has::Video),
        "audio" => return Some(Has::Audio),
        _ => {}
    }
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "avif" | "bmp" | "svg" | "heic" => {
            Some(Has::Image)
        }
        "mp4" | "mov" | "webm" | "mkv" | "avi" | "m4v" => Some(Has::Video),
        "mp3" | "ogg" | "wav" | "flac" | "m4a" | "opus" | "aac" => Some(Has::Audio),
        _ => None,
    }
}

/// Adds and removes documents on a [`Store`]'s writer.
pub struct Batch<'a> {
    store: &'a Store,
    fields: Fields,
    /// Documents added.
    pub indexed: u64,
    /// Messages now absent from the index.
    pub removed: u64,
    /// Whether every document these rows could have was already deleted in this commit (a
    /// rebuild), so that a row needs no delete of its own: tantivy keeps each queued delete
    /// (about a kilobyte) until the commit, a million of them in a big rebuild.
    fresh: bool,
}

impl<'a> Batch<'a> {
    pub fn new(store: &'a Store) -> Self {
        Self {
            store,
            fields: store.fields,
            indexed: 0,
            removed: 0,
            fresh: false,
        }
    }

    /// A batch of a rebuild whose scope was deleted first: rows are added without a delete each.
    pub fn rebuilding(store: &'a Store) -> Self {
        Self {
            fresh: true,
            ..Self::new(store)
        }
    }

    /// Replace the documents of `rows` (each removed first; added back when visible).
    pub async fn apply(
        &mut self,
        db: &DatabaseConnection,
        rows: &[Row],
        position: &mut Position,
    ) -> Result<()> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let kinds = attachment_kinds(db, &ids).await?;
        for row in rows {
            if !self.fresh {
                self.store
                    .writer
                    .delete_term(Term::from_field_text(self.fields.id, &row.id));
            }
            let parent = parent_row_id(
                &row.tenant_id,
                row.channel_type.as_deref(),
                row.parent_channel_id.as_deref(),
            );
            let visible = !metadata_flag(row.metadata.as_ref(), "deleted")
                && !position.hidden.contains_key(&row.channel_id)
                && parent
                    .as_ref()
                    .is_none_or(|p| !position.hidden.contains_key(p));
            if !visible {
                self.removed += 1;
                continue;
            }
            let doc = self.document(row, parent.as_deref(), kinds.get(&row.id));
            self.store.writer.add_document(doc)?;
            self.indexed += 1;
            if !position.tenants.contains(&row.tenant_id) {
                position.tenants.insert(row.tenant_id.clone());
            }
        }
        Ok(())
    }

    fn document(
        &self,
        row: &Row,
        parent: Option<&str>,
        kinds: Option<&Vec<&'static str>>,
    ) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::new();
        doc.add_text(f.id, &row.id);
        doc.add_text(f.tenant, &row.tenant_id);
        doc.add_text(f.within, &row.channel_id);
        if let Some(parent) = parent {
            doc.add_text(f.within, parent);
        }
        let author = &row.anonymized_author_id;
        let key = name_key(&pseudonym::name(author));
        doc.add_text(f.author, author.to_ascii_lowercase());
        doc.add_text(f.author, format!("{key}#{}", pseudonym::tag(author)));
        doc.add_text(f.author, key);
        for kind in kinds.into_iter().flatten() {
            doc.add_text(f.has, kind);
        }
        if text::has_link(&row.content) {
            doc.add_text(f.has, Has::Link.term());
        }
        if metadata_flag(row.metadata.as_ref(), "pinned") {
            doc.add_text(f.has, PINNED);
        }
        doc.add_text(f.content, text::display_text(&row.content));
        let snowflake = row.platform_message_id.parse::<u64>().unwrap_or(0);
        doc.add_u64(f.order, order_key(row.platform_created_at, snowflake));
        doc.add_u64(f.updated, row.updated_at.timestamp().max(0) as u64);
        doc
    }

    /// Remove the documents of a channel and of its threads; returns how many there were.
    fn remove_channel(&mut self, channel_id: &str) -> Result<u64> {
        let term = Term::from_field_text(self.fields.within, channel_id);
        let searcher = self.store.reader.searcher();
        let count = searcher.search(
            &TermQuery::new(term.clone(), IndexRecordOption::Basic),
            &Count,
        )? as u64;
        self.store.writer.delete_term(term);
        self.removed += count;
        Ok(count)
    }
}

/// The `has` term of pinned messages (`pinned:`), never produced by a `has:` value.
pub const PINNED: &str = "pinned";

/// Index every message of `channel` (keyset over the channel's page index).
pub async fn index_channel(
    db: &DatabaseConnection,
    batch: &mut Batch<'_>,
    channel: &ChannelInfo,
    position: &mut Position,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<()> {
    let mut from: Option<PagePosition> = None;
    loop {
        let page = messages_from(db, &channel.id, from.as_ref(), Direction::Newer, BATCH).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        from = Some(PagePosition::of(last));
        let full = page.len() as u64 == BATCH;
        let rows: Vec<Row> = page
            .into_iter()
            .map(|m| Row {
                id: m.id,
                channel_id: m.channel_id,
                platform_message_id: m.platform_message_id,
                anonymized_author_id: m.anonymized_author_id,
                content: m.content,
                metadata: m.metadata,
                platform_created_at: m.platform_created_at,
                updated_at: m.updated_at,
                tenant_id: channel.tenant_id.clone(),
                channel_type: channel.channel_type.clone(),
                parent_channel_id: channel.parent_channel_id.clone(),
            })
            .collect();
        batch.apply(db, &rows, position).await?;
        progress(rows.len() as u64);
        if !full {
            return Ok(());
        }
    }
}

/// What [`index_channel`] needs of a channel.
#[derive(Debug, Clone)]
pub struct ChannelInfo {
    pub id: String,
    pub tenant_id: String,
    pub channel_type: Option<String>,
    pub parent_channel_id: Option<String>,
}

impl From<&ChannelRow> for ChannelInfo {
    fn from(c: &ChannelRow) -> Self {
        Self {
            id: c.id.clone(),
            tenant_id: c.tenant_id.clone(),
            channel_type: c.channel_type.clone(),
            parent_channel_id: c.parent_channel_id.clone(),
        }
    }
}

/// One pass over what changed; commits when anything did. Returns (indexed, removed,
/// committed).
pub async fn catch_up(
    db: &DatabaseConnection,
    store: &mut Store,
    lag: Duration,
) -> Result<(u64, u64, bool)> {
    let horizon = horizon(lag);
    let mut position = store.position.clone();
    let mut batch = Batch::new(store);
    let mut changed = false;

    // Deleted tenants: their rows are gone, cascaded; so must their documents be.
    if !position.tenants.is_empty() {
        let live = tenant_ids(db).await?;
        let gone: Vec<String> = position
            .tenants
            .iter()
            .filter(|t| !live.contains(*t))
            .cloned()
            .collect();
        for tenant in gone {
            batch
                .store
                .writer
                .delete_term(Term::from_field_text(batch.fields.tenant, &tenant));
            position.tenants.remove(&tenant);
            position.hidden.retain(|_, t| *t != tenant);
            changed = true;
        }
    }

    // Channels that stopped or started being public.
    loop {
        let rows = changed_channels(db, position.channels.as_ref(), horizon).await?;
        let Some(last) = rows.last() else { break };
        position.channels = Some((last.updated_at, last.id.clone()));
        changed = true;
        let full = rows.len() as u64 == BATCH;
        apply_channels(db, &mut batch, &mut position, &rows).await?;
        if !full {
            break;
        }
    }

    // Messages written since the last pass.
    let mut seen = 0;
    loop {
        let rows = changed_messages(db, position.messages.as_ref(), horizon).await?;
        let Some(last) = rows.last() else { break };
        position.messages = Some((last.updated_at, last.id.clone()));
        changed = true;
        batch.apply(db, &rows, &mut position).await?;
        seen += rows.len() as u64;
        if (rows.len() as u64) < BATCH || seen >= PASS_MESSAGES {
            break;
        }
    }

    let (indexed, removed) = (batch.indexed, batch.removed);
    if changed {
        store.commit(position)?;
    }
    Ok((indexed, removed, changed))
}

/// Act on channels whose row changed: a channel no longer public takes its messages and its
/// threads' out of the index; one public again brings them back. Idempotent.
async fn apply_channels(
    db: &DatabaseConnection,
    batch: &mut Batch<'_>,
    position: &mut Position,
    rows: &[ChannelRow],
) -> Result<bool> {
    let mut acted = false;
    // A tenant's channels, read once for all of its channels that came back in `rows`.
    let mut of_tenant: HashMap<String, Vec<ChannelRow>> = HashMap::new();
    for c in rows {
        let public = is_public(c.metadata.as_ref());
        let hidden = position.hidden.contains_key(&c.id);
        if !public && !hidden {
            position.hidden.insert(c.id.clone(), c.tenant_id.clone());
            batch.remove_channel(&c.id)?;
            acted = true;
        } else if public && hidden {
            position.hidden.remove(&c.id);
            acted = true;
            // Back in public: its messages, and those of its threads, come back.
            if !of_tenant.contains_key(&c.tenant_id) {
                let all = tenant_channels(db, &c.tenant_id).await?;
                of_tenant.insert(c.tenant_id.clone(), all);
            }
            let threads: Vec<ChannelInfo> = of_tenant[&c.tenant_id]
                .iter()
                .filter(|t| {
                    t.id == c.id
                        || (t.channel_type.as_deref() == Some("thread")
                            && t.parent_channel_id.as_deref()
                                == Some(c.platform_channel_id.as_str()))
                })
                .map(ChannelInfo::from)
                .collect();
            for t in &threads {
                index_channel(db, batch, t, position, &mut |_| {}).await?;
            }
        }
    }
    Ok(acted)
}

/// How far behind the position [`recheck`] looks for late writes.
pub const RECHECK_WINDOW: Duration = Duration::from_secs(120);
/// Most message rows one [`recheck`] compares.
const RECHECK_ROWS: u64 = 200_000;

/// The safety net for late writes: a write stamped before the horizon may still commit after a
/// pass has moved past its stamp (a writer that waited long for the database's write lock).
/// Compares every message and channel changed within [`RECHECK_WINDOW`] behind the position
/// with the index (each document records the `updated_at` it was made from) and applies what
/// differs. Returns the messages (re)indexed.
pub async fn recheck(db: &DatabaseConnection, store: &mut Store) -> Result<u64> {
    let window = chrono::Duration::from_std(RECHECK_WINDOW).unwrap_or_default();
    let mut position = store.position.clone();
    let searcher = store.reader.searcher();
    let fields = store.fields;
    let mut batch = Batch::new(store);
    let mut acted = false;
    if let Some((at, _)) = position.channels.clone() {
        let backend = db.get_database_backend();
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE updated_at > ? AND updated_at <= ? ORDER BY updated_at, id"
        );
        let rows = ChannelRow::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [(at - window).into(), at.into()],
        ))
        .all(db)
        .await?;
        acted |= apply_channels(db, &mut batch, &mut position, &rows).await?;
    }
    if let Some((at, _)) = position.messages.clone() {
        #[derive(FromQueryResult)]
        struct Version {
            id: String,
            updated_at: DateTime<Utc>,
        }
        let backend = db.get_database_backend();
        let sql = format!(
            "SELECT id, updated_at FROM messages WHERE updated_at > ? AND updated_at <= ? \
             ORDER BY updated_at, id LIMIT {RECHECK_ROWS}"
        );
        let versions = Version::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [(at - window).into(), at.into()],
        ))
        .all(db)
        .await?;
        let mut stale = Vec::new();
        for v in &versions {
            if indexed_version(&searcher, fields, &v.id)?
                != Some(v.updated_at.timestamp().max(0) as u64)
            {
                stale.push(v.id.as_str());
            }
        }
        for chunk in stale.chunks(IN_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN channels c ON c.id = m.channel_id \
                 WHERE m.id IN ({marks})"
            );
            let values: Vec<Value> = chunk.iter().map(|id| (*id).into()).collect();
            let rows = Row::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
                .all(db)
                .await?;
            batch.apply(db, &rows, &mut position).await?;
        }
    }
    let indexed = batch.indexed;
    if indexed > 0 || acted {
        tracing::warn!(indexed, "search index: applied writes that committed late");
        store.commit(position)?;
    }
    Ok(indexed)
}

/// The `updated` value of the document of message `id`, `None` when it has none.
fn indexed_version(searcher: &tantivy::Searcher, fields: Fields, id: &str) -> Result<Option<u64>> {
    let term = Term::from_field_text(fields.id, id);
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let inverted = segment.inverted_index(fields.id)?;
        let postings = inverted
            .read_postings(&term, IndexRecordOption::Basic)
            .map_err(|e| crate::Error::Search(e.to_string()))?;
        let Some(mut postings) = postings else {
            continue;
        };
        let column = searcher
            .segment_reader(ord as u32)
            .fast_fields()
            .u64("updated")?;
        let mut doc = postings.doc();
        while doc != tantivy::TERMINATED {
            if !segment.is_deleted(doc) {
                return Ok(column.first(doc));
            }
            doc = postings.advance();
        }
    }
    Ok(None)
}

/// Rebuild the documents of `tenant` (all tenants when `None`) from the database.
pub async fn reindex(
    db: &DatabaseConnection,
    store: &mut Store,
    tenant: Option<&str>,
    lag: Duration,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<(u64, u64)> {
    let started = horizon(lag);
    let tenants: Vec<String> = match tenant {
        Some(t) => vec![t.to_owned()],
        None => {
            let mut all: Vec<String> = tenant_ids(db).await?.into_iter().collect();
            all.sort();
            all
        }
    };
    let total = count_messages(db, tenant).await?;
    progress(0, total);
    let mut position = store.position.clone();
    let mut batch = Batch::rebuilding(store);
    match tenant {
        Some(t) => {
            batch
                .store
                .writer
                .delete_term(Term::from_field_text(batch.fields.tenant, t));
            position.hidden.retain(|_, owner| owner != t);
            position.tenants.remove(t);
        }
        None => {
            batch.store.writer.delete_all_documents()?;
            position.hidden.clear();
            position.tenants.clear();
        }
    }
    let mut done = 0;
    for t in &tenants {
        let channels = tenant_channels(db, t).await?;
        for c in &channels {
            if !is_public(c.metadata.as_ref()) {
                position.hidden.insert(c.id.clone(), c.tenant_id.clone());
            }
        }
        for c in &channels {
            index_channel(
                db,
                &mut batch,
                &ChannelInfo::from(c),
                &mut position,
                &mut |n| {
                    done += n;
                    progress(done, total);
                },
            )
            .await?;
        }
    }
    let indexed = batch.indexed;
    if tenant.is_none() {
        // Everything up to the start is in; what changed since is the next pass's work.
        position.messages = Some((started, String::new()));
        position.channels = Some((started, String::new()));
        position.built = true;
    } else {
        // Other tenants' changes after the committed position are still to be read; this
        // tenant's rows read here may be read again (documents are replaced, not added).
        let keep = |p: Option<(DateTime<Utc>, String)>| match p {
            Some((at, id)) if at <= started => Some((at, id)),
            _ => Some((started, String::new())),
        };
        position.messages = keep(position.messages.take());
        position.channels = keep(position.channels.take());
    }
    store.commit(position)?;
    Ok((tenants.len() as u64, indexed))
}

async fn count_messages(db: &DatabaseConnection, tenant: Option<&str>) -> Result<u64> {
    #[derive(FromQueryResult)]
    struct N {
        n: i64,
    }
    let backend = db.get_database_backend();
    let statement = match tenant {
        Some(t) => Statement::from_sql_and_values(
            backend,
            "SELECT COUNT(*) AS n FROM messages m JOIN channels c ON c.id = m.channel_id WHERE c.tenant_id = ?",
            [t.into()],
        ),
        None => Statement::from_string(backend, "SELECT COUNT(*) AS n FROM messages"),
    };
    Ok(N::find_by_statement(statement)
        .one(db)
        .await?
        .map_or(0, |n| n.n.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::channels::{ChannelKind, ChannelRow};
    use crate::repo::messages::MessageRow;
    use crate::tenants::{self, CreateTenant};
    use chrono::TimeZone;

    /// A migrated test database with one tenant whose one channel holds `n` messages.
    async fn archive(n: usize) -> (testkit::db::TestDb, DatabaseConnection, String) {
        let test_db = testkit::db::TestDb::new().await;
        let db = crate::db::connect_url(test_db.url()).await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let tenant = tenants::create(
            &db,
            &CreateTenant {
                name: Some("Rebuild".into()),
                slug: None,
                platform: Some("discord".into()),
                platform_id: Some("rebuild-1".into()),
                status: None,
            },
        )
        .await
        .unwrap();
        let channel = ChannelRow {
            tenant_id: tenant.id,
            platform_channel_id: "100".into(),
            name: "general".into(),
            kind: ChannelKind::Text,
            parent_channel_id: None,
            metadata: None,
        };
        repo::channels::upsert(&db, std::slice::from_ref(&channel))
            .await
            .unwrap();
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let rows: Vec<MessageRow> = (0..n)
            .map(|i| MessageRow {
                channel_id: channel.id(),
                platform_message_id: (1_000 + i).to_string(),
                anonymized_author_id: format!("{:064x}", i % 7 + 1),
                content: format!("message number {i} about rebuilding"),
                reply_to_id: None,
                metadata: None,
                platform_created_at: at + chrono::Duration::seconds(i as i64),
            })
            .collect();
        repo::messages::upsert(&db, &rows).await.unwrap();
        (test_db, db, tenant.id.to_string())
    }

    fn copies(store: &Store, id: &str) -> usize {
        store
            .reader
            .searcher()
            .search(
                &TermQuery::new(
                    Term::from_field_text(store.fields.id, id),
                    IndexRecordOption::Basic,
                ),
                &Count,
            )
            .unwrap()
    }

    /// tantivy holds every queued delete (about a kilobyte each) until the commit, so a rebuild
    /// that deleted each message before adding it grew with the archive. A rebuild deletes its
    /// whole scope once instead, and still leaves exactly one document a message, however
    /// often it runs.
    #[tokio::test]
    async fn a_rebuild_queues_one_delete_for_its_scope_not_one_per_message() {
        let (_test_db, db, tenant) = archive(300).await;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        // A fresh index, then the tenant twice: opstamps count up from the last commit (a
        // rebuild of everything restarts them, so it is counted only on the fresh index).
        for scope in [None, Some(tenant.as_str()), Some(tenant.as_str())] {
            let before = committed_opstamp(&store);
            let (_, indexed) = reindex(&db, &mut store, scope, Duration::ZERO, &|_, _| {})
                .await
                .unwrap();
            assert_eq!(indexed, 300);
            // One operation per document added, plus a few for the scope's delete and the
            // commit (a delete per message would make it twice as many).
            let operations = committed_opstamp(&store).saturating_sub(before);
            assert!(
                operations < 300 + 10,
                "{operations} operations for 300 messages"
            );
            assert_eq!(store.reader.searcher().num_docs(), 300);
        }
        reindex(&db, &mut store, None, Duration::ZERO, &|_, _| {})
            .await
            .unwrap();
        assert_eq!(store.reader.searcher().num_docs(), 300);
        let ids: Vec<String> = messages_from(
            &db,
            &tenant_channel(&db, &tenant).await,
            None,
            Direction::Newer,
            300,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
        assert_eq!(ids.len(), 300);
        for id in &ids {
            assert_eq!(copies(&store, id), 1, "{id}");
        }
    }

    /// The opstamp of the index's last commit: every add and delete takes one.
    fn committed_opstamp(store: &Store) -> u64 {
        store.writer.index().load_metas().unwrap().opstamp
    }

    async fn tenant_channel(db: &DatabaseConnection, tenant: &str) -> String {
        tenant_channels(db, tenant).await.unwrap()[0].id.clone()
    }
}
