//! Answering a search: a parsed query becomes a tantivy query confined to one tenant, the
//! matching documents are ranked and paged, and the hits are loaded from the database (the
//! source of truth) with a highlighted snippet each.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, EnableScoring, Explanation, Occur,
    PhrasePrefixQuery, PhraseQuery, Query as _, QueryClone as _, RangeQuery, Scorer, TermQuery,
    Weight,
};
use tantivy::schema::{IndexRecordOption, Term, Value as _};
use tantivy::{DocAddress, DocId, DocSet, Order, Score, Searcher, SegmentReader, TantivyDocument};

use entity::{channels, message_attachments, message_emoji_reactions, messages};

use super::index::{Fields, order_floor, order_millis};
use super::indexer::PINNED;
use super::syntax::{self, AuthorKey, Clause, Query};
use super::{HitChannel, SearchHit, SearchPage, SearchRequest, Sort, text};
use crate::archive::query::Detail;
use crate::archive::view::{AttachmentView, MessageView, ReactionView, metadata_flag};
use crate::error::{Error, Result};

/// Deepest result a relevance-ordered page may start at (`newest`/`oldest` page by keyset and
/// have no such limit).
pub const MAX_OFFSET: u64 = 1_000;
/// Relevance ranks candidates in tiers of this many by raw score; the recency boost reorders
/// a tier within itself, so that every page of one result set agrees on the order.
const WINDOW: u64 = 200;
/// How much a brand-new message's score is raised over a very old one's.
const RECENCY_BOOST: f32 = 0.5;
/// Age (days) at which the recency boost has halved.
const RECENCY_HALF_LIFE_DAYS: f32 = 180.0;
/// Characters of context in a snippet.
const SNIPPET_CHARS: usize = 180;
/// Expansions of a `prefix*` word.
const MAX_PREFIX_EXPANSIONS: u32 = 200;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// Fingerprint of the query and order this cursor belongs to.
    f: String,
    /// Relevance: offset of the next hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<u64>,
    /// Newest/oldest: order key of the last hit shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<u64>,
}

fn fingerprint(q: &str, sort: Sort) -> String {
    let digest = Sha256::digest(format!("{sort:?}\n{q}").as_bytes());
    hex::encode(&digest[..8])
}

fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(text: &str, q: &str, sort: Sort) -> Result<Cursor> {
    let bad = || {
        Error::invalid(
            "cursor",
            "not a cursor of this search: pass the nextCursor of the previous page unchanged",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.f != fingerprint(q, sort) {
        return Err(Error::invalid(
            "cursor",
            "this cursor belongs to another query or order: start again from the first page",
        ));
    }
    match (sort, cursor.o, cursor.k) {
        (Sort::Relevance, Some(o), None) if o <= MAX_OFFSET => Ok(cursor),
        (Sort::Newest | Sort::Oldest, None, Some(_)) => Ok(cursor),
        _ => Err(bad()),
    }
}

/// What a snippet highlights: analysed terms of the query's positive clauses.
#[derive(Debug, Clone, Default)]
pub struct Highlights {
    exact: HashSet<String>,
    prefixes: Vec<String>,
}

impl Highlights {
    fn matches(&self, token: &str) -> bool {
        self.exact.contains(token) || self.prefixes.iter().any(|p| token.starts_with(p.as_str()))
    }
}

/// The tantivy query of `parsed` within `tenant_id`, with `in:` already resolved to channel ids;
/// with what a snippet highlights, and whether any clause scores (a word or phrase to find,
/// rather than only conditions and exclusions).
pub fn build(
    fields: Fields,
    tenant_id: &str,
    parsed: &Query,
    channel_ids: &[String],
) -> (Box<dyn tantivy::query::Query>, Highlights, bool) {
    let mut parts: Vec<(Occur, Box<dyn tantivy::query::Query>)> = Vec::new();
    let filter = |q: Box<dyn tantivy::query::Query>| -> Box<dyn tantivy::query::Query> {
        Box::new(ConstScoreQuery::new(q, 0.0))
    };
    // A condition's term scores nothing: its BM25 score would depend on other tenants'
    // documents (the tenant term's rarity) and on how many terms of its field a document has
    // (two `has:` kinds, or a thread's two channels), and reorder hits a filter only narrows.
    // Boosted by zero it is still a term scorer, so block-max WAND still ranks the
    // intersection.
    let term_query = |field, text: &str| -> Box<dyn tantivy::query::Query> {
        Box::new(BoostQuery::new(
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::Basic,
            )),
            0.0,
        ))
    };
    let any_of =
        |field, values: &mut dyn Iterator<Item = String>| -> Box<dyn tantivy::query::Query> {
            let mut queries: Vec<Box<dyn tantivy::query::Query>> =
                values.map(|v| term_query(field, &v)).collect();
            if queries.len() == 1 {
                return queries.remove(0);
            }
            filter(Box::new(BooleanQuery::new(
                queries.into_iter().map(|q| (Occur::Should, q)).collect(),
            )))
        };
    // Single-term conditions stay term queries rather than constant-score filters: an
    // intersection of term queries is ranked with block-max WAND (top hits found without
    // scoring every match).
    parts.push((Occur::Must, term_query(fields.tenant, tenant_id)));

    let mut highlights = Highlights::default();
    let mut scoring = false;
    for clause in &parsed.clauses {
        let (words, prefix, negated) = match clause {
            Clause::Word {
                text: t,
                prefix,
                negated,
            } => (text::terms(t), *prefix, *negated),
            Clause::Phrase { text: t, negated } => (text::terms(t), false, *negated),
        };
        if words.is_empty() {
            continue;
        }
        let terms: Vec<Term> = words
            .iter()
            .map(|w| Term::from_field_text(fields.content, w))
            .collect();
        let terms_len = terms.len();
        let query: Box<dyn tantivy::query::Query> = match (terms_len, prefix) {
            (1, false) => Box::new(TermQuery::new(
                terms[0].clone(),
                IndexRecordOption::WithFreqs,
            )),
            (_, false) => Box::new(PhraseQuery::new(terms)),
            (_, true) => {
                let mut q = PhrasePrefixQuery::new(terms);
                q.set_max_expansions(MAX_PREFIX_EXPANSIONS);
                Box::new(q)
            }
        };
        if negated {
            // A single term keeps its term scorer (tantivy's fast path for exclusion).
            let excluded: Box<dyn tantivy::query::Query> = if terms_len == 1 && !prefix {
                query
            } else {
                Box::new(Excluded(query))
            };
            parts.push((Occur::MustNot, excluded));
        } else {
            scoring = true;
            let (last, rest) = words.split_last().unwrap_or((&words[0], &[]));
            highlights.exact.extend(rest.iter().cloned());
            if prefix {
                highlights.prefixes.push(last.clone());
            } else {
                highlights.exact.insert(last.clone());
            }
            parts.push((Occur::Must, query));
        }
    }
    if !parsed.from.is_empty() {
        let mut keys = parsed.from.iter().map(|k| match k {
            AuthorKey::Id(id) => id.clone(),
            AuthorKey::Name(name) => name.clone(),
        });
        parts.push((Occur::Must, any_of(fields.author, &mut keys)));
    }
    if !parsed.channels.is_empty() {
        parts.push((
            Occur::Must,
            any_of(fields.within, &mut channel_ids.iter().cloned()),
        ));
    }
    for has in &parsed.has {
        parts.push((Occur::Must, term_query(fields.has, has.term())));
    }
    match parsed.pinned {
        Some(true) => parts.push((Occur::Must, term_query(fields.has, PINNED))),
        Some(false) => parts.push((Occur::MustNot, term_query(fields.has, PINNED))),
        None => {}
    }
    if parsed.after.is_some() || parsed.before.is_some() {
        let lower = parsed.after.map_or(Bound::Unbounded, |t| {
            Bound::Included(Term::from_field_u64(fields.order, order_floor(t)))
        });
        let upper = parsed.before.map_or(Bound::Unbounded, |t| {
            Bound::Excluded(Term::from_field_u64(fields.order, order_floor(t)))
        });
        parts.push((Occur::Must, filter(Box::new(RangeQuery::new(lower, upper)))));
    }
    (Box::new(BooleanQuery::new(parts)), highlights, scoring)
}

/// A `-` clause. Tantivy's exclusion first asks the excluded scorer about the first candidate
/// document, which may come before the document a new phrase scorer already stands on; the
/// phrase scorer does not allow that question (it asserts against it, which panics the search
/// in a debug build). This wrapper leaves the question to [`DocSet::seek_danger`]'s default,
/// which answers it from `doc` and `seek`.
#[derive(Debug)]
struct Excluded(Box<dyn tantivy::query::Query>);

impl Clone for Excluded {
    fn clone(&self) -> Self {
        Self(self.0.box_clone())
    }
}

impl tantivy::query::Query for Excluded {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(ExcludedWeight(self.0.weight(scoring)?)))
    }
}

struct ExcludedWeight(Box<dyn Weight>);

impl Weight for ExcludedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ExcludedScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct ExcludedScorer(Box<dyn Scorer>);

impl DocSet for ExcludedScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.0.seek(target)
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }
}

impl Scorer for ExcludedScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}

/// Matching documents of one page: (message id, order key) in result order, the total, and
/// whether more follow.
struct Matches {
    ids: Vec<(String, u64)>,
    total: u64,
    more: bool,
}

fn stored_id(searcher: &Searcher, fields: Fields, addr: DocAddress) -> Result<String> {
    let doc: TantivyDocument = searcher.doc(addr)?;
    Ok(doc
        .get_first(fields.id)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned())
}

fn order_of(searcher: &Searcher, addr: DocAddress) -> Result<u64> {
    let column = searcher
        .segment_reader(addr.segment_ord)
        .fast_fields()
        .u64("order")?;
    Ok(column.first(addr.doc_id).unwrap_or(0))
}

/// The factor a relevance score is raised by for a message with order key `order`, at
/// `now_ms`: from `1 + RECENCY_BOOST` when brand new down to 1, halving with every
/// `RECENCY_HALF_LIFE_DAYS` of age.
fn recency_boost(now_ms: i64, order: u64) -> f32 {
    let age_days = (now_ms - order_millis(order)).max(0) as f32 / 86_400_000.0;
    1.0 + RECENCY_BOOST * 0.5f32.powf(age_days / RECENCY_HALF_LIFE_DAYS)
}

fn execute(
    searcher: &Searcher,
    fields: Fields,
    query: Box<dyn tantivy::query::Query>,
    sort: Sort,
    scoring: bool,
    cursor: Option<&Cursor>,
    limit: u64,
) -> Result<Matches> {
    let total = query.count(searcher)? as u64;
    let page: Vec<(u64, DocAddress)> = match sort {
        Sort::Relevance if !scoring => {
            // Nothing scores (only conditions and exclusions): recency alone ranks, so the
            // newest come first, over the whole result set.
            let offset = cursor.and_then(|c| c.o).unwrap_or(0) as usize;
            searcher
                .search(
                    &query,
                    &TopDocs::with_limit(limit as usize + 1)
                        .and_offset(offset)
                        .order_by_u64_field("order", Order::Desc),
                )?
                .into_iter()
                .map(|(order, addr)| (order.unwrap_or(0), addr))
                .collect()
        }
        Sort::Relevance => {
            // Candidates come by raw score (block-max WAND finds them without scoring every
            // match), in tiers of WINDOW by raw rank; the recency boost reorders each tier
            // within itself. The tiers of a result set are the same whichever page asks, so
            // every page is a slice of one order: no hit twice, none skipped.
            let offset = cursor.and_then(|c| c.o).unwrap_or(0);
            let window = ((offset + limit + 1).div_ceil(WINDOW) * WINDOW) as usize;
            let top = searcher.search(&query, &TopDocs::with_limit(window).order_by_score())?;
            let now = Utc::now().timestamp_millis();
            let mut ranked = Vec::with_capacity(top.len());
            for (rank, (score, addr)) in top.into_iter().enumerate() {
                let order = order_of(searcher, addr)?;
                let tier = rank / WINDOW as usize;
                ranked.push((tier, score * recency_boost(now, order), order, addr));
            }
            ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(b.2.cmp(&a.2)));
            ranked
                .into_iter()
                .skip(offset as usize)
                .take(limit as usize + 1)
                .map(|(_, _, order, addr)| (order, addr))
                .collect()
        }
        Sort::Newest | Sort::Oldest => {
            let (bound, order) = match (sort, cursor.and_then(|c| c.k)) {
                (Sort::Newest, Some(k)) => (
                    Some(RangeQuery::new(
                        Bound::Unbounded,
                        Bound::Excluded(Term::from_field_u64(fields.order, k)),
                    )),
                    Order::Desc,
                ),
                (Sort::Oldest, Some(k)) => (
                    Some(RangeQuery::new(
                        Bound::Excluded(Term::from_field_u64(fields.order, k)),
                        Bound::Unbounded,
                    )),
                    Order::Asc,
                ),
                (Sort::Newest, None) => (None, Order::Desc),
                _ => (None, Order::Asc),
            };
            let query: Box<dyn tantivy::query::Query> = match bound {
                Some(range) => Box::new(BooleanQuery::new(vec![
                    (Occur::Must, query),
                    (Occur::Must, Box::new(range)),
                ])),
                None => query,
            };
            searcher
                .search(
                    &query,
                    &TopDocs::with_limit(limit as usize + 1).order_by_u64_field("order", order),
                )?
                .into_iter()
                .map(|(order, addr)| (order.unwrap_or(0), addr))
                .collect()
        }
    };
    let more = page.len() as u64 > limit;
    let mut ids = Vec::with_capacity(page.len());
    for (order, addr) in page.into_iter().take(limit as usize) {
        ids.push((stored_id(searcher, fields, addr)?, order));
    }
    Ok(Matches { ids, total, more })
}

/// A tenant's channels, by row id and by snowflake.
#[derive(Debug, Default)]
pub struct TenantChannels {
    by_id: HashMap<String, channels::Model>,
    by_platform: HashMap<String, String>,
}

impl TenantChannels {
    fn parent_of(&self, c: &channels::Model) -> Option<&channels::Model> {
        if c.r#type.as_deref() != Some("thread") {
            return None;
        }
        let id = self.by_platform.get(c.parent_channel_id.as_deref()?)?;
        self.by_id.get(id)
    }
}

/// Most tenants whose channels [`ChannelCache`] keeps.
const CACHED_TENANTS: usize = 64;
/// How long a tenant's channels are reused: channels change when a sync discovers them, and
/// a hit's channel is only named and checked for being public (the index itself drops a
/// channel that stops being public within seconds).
const CHANNELS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

type CachedChannels = (std::time::Instant, std::sync::Arc<TenantChannels>);

/// Recently read channels of each tenant, so that a search reads no channel rows.
#[derive(Debug, Default)]
pub struct ChannelCache {
    entries: std::sync::Mutex<HashMap<String, CachedChannels>>,
}

impl ChannelCache {
    async fn get(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: &str,
    ) -> Result<std::sync::Arc<TenantChannels>> {
        let now = std::time::Instant::now();
        if let Ok(entries) = self.entries.lock()
            && let Some((at, channels)) = entries.get(tenant_id)
            && now.duration_since(*at) < CHANNELS_TTL
        {
            return Ok(channels.clone());
        }
        let mut channels = TenantChannels::default();
        for c in channels::Entity::find()
            .filter(channels::Column::TenantId.eq(tenant_id))
            .all(db)
            .await?
        {
            channels
                .by_platform
                .insert(c.platform_channel_id.clone(), c.id.clone());
            channels.by_id.insert(c.id.clone(), c);
        }
        let channels = std::sync::Arc::new(channels);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHED_TENANTS {
                entries.retain(|_, (at, _)| now.duration_since(*at) < CHANNELS_TTL);
                if entries.len() >= CACHED_TENANTS {
                    entries.clear();
                }
            }
            entries.insert(tenant_id.to_owned(), (now, channels.clone()));
        }
        Ok(channels)
    }
}

/// Where a search reads the archive: the pool, direct SQLite reads when the database is an
/// SQLite file, and the channel cache.
pub struct Sources<'a> {
    /// The connection pool.
    pub db: &'a sea_orm::DatabaseConnection,
    /// Direct reads of the SQLite file (`None` on other backends).
    pub sqlite: Option<&'a crate::archive::sqlite_reads::SqliteReader>,
    /// The tenants' channels.
    pub channels: &'a ChannelCache,
}

/// Resolve `in:` values (names, or ids, both case-insensitive) to the tenant's channel ids.
fn resolve_channels(channels: &TenantChannels, wanted: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for value in wanted {
        let folded = value.to_lowercase();
        let mut found: Vec<&String> = channels
            .by_id
            .values()
            .filter(|c| c.id.eq_ignore_ascii_case(value) || c.name.to_lowercase() == folded)
            .map(|c| &c.id)
            .collect();
        if found.is_empty() {
            return Err(Error::invalid(
                "q",
                format!("in:{value} — this archive has no channel of that name"),
            ));
        }
        found.sort();
        ids.extend(found.into_iter().cloned());
    }
    Ok(ids)
}

/// Run `request` for `tenant_id`.
pub async fn search(
    sources: &Sources<'_>,
    reader: &tantivy::IndexReader,
    fields: Fields,
    tenant_id: &str,
    request: &SearchRequest,
) -> Result<SearchPage> {
    if !(1..=super::MAX_LIMIT).contains(&request.limit) {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {}", super::MAX_LIMIT),
        ));
    }
    let parsed = syntax::parse(&request.q)?;
    let cursor = request
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c, &request.q, request.sort))
        .transpose()?;
    let channels = sources.channels.get(sources.db, tenant_id).await?;
    let channel_ids = resolve_channels(&channels, &parsed.channels)?;
    let (query, highlights, scoring) = build(fields, tenant_id, &parsed, &channel_ids);
    let searcher = reader.searcher();
    let (sort, limit) = (request.sort, request.limit);
    let cursor_for_search = cursor.clone();
    let matches = tokio::task::spawn_blocking(move || {
        execute(
            &searcher,
            fields,
            query,
            sort,
            scoring,
            cursor_for_search.as_ref(),
            limit,
        )
    })
    .await
    .map_err(|e| Error::Search(format!("search task failed: {e}")))??;

    let next_cursor = if matches.more {
        let f = fingerprint(&request.q, request.sort);
        match request.sort {
            Sort::Relevance => {
                let next = cursor.and_then(|c| c.o).unwrap_or(0) + limit;
                (next <= MAX_OFFSET).then_some(Cursor {
                    f,
                    o: Some(next),
                    k: None,
                })
            }
            Sort::Newest | Sort::Oldest => matches.ids.last().map(|(_, order)| Cursor {
                f,
                o: None,
                k: Some(*order),
            }),
        }
        .map(|c| encode_cursor(&c))
    } else {
        None
    };
    let ids: Vec<String> = matches.ids.into_iter().map(|(id, _)| id).collect();
    let hits = load_hits(sources, &channels, &ids, &highlights).await?;
    Ok(SearchPage {
        hits,
        total: matches.total,
        next_cursor,
        complete: true,
    })
}

/// The hits of `ids`, in that order, from the database: the tenant's messages only, and never
/// one deleted or in a channel that is not public (the index may lag a few seconds behind).
async fn load_hits(
    sources: &Sources<'_>,
    channels: &TenantChannels,
    ids: &[String],
    highlights: &Highlights,
) -> Result<Vec<SearchHit>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (rows, mut reactions, mut attachments) = load_messages(sources, ids).await?;
    let visible = |m: &messages::Model| {
        !metadata_flag(m.metadata.as_ref(), "deleted")
            && channels.by_id.get(&m.channel_id).is_some_and(|c| {
                public(c)
                    && (c.r#type.as_deref() != Some("thread")
                        || channels.parent_of(c).is_none_or(public))
            })
    };
    let mut by_id: HashMap<&str, &messages::Model> = rows
        .iter()
        .filter(|m| visible(m))
        .map(|m| (m.id.as_str(), m))
        .collect();
    let mut hits = Vec::with_capacity(by_id.len());
    for id in ids {
        let Some(m) = by_id.remove(id.as_str()) else {
            continue;
        };
        let Some(channel) = channels.by_id.get(&m.channel_id) else {
            continue;
        };
        let own = hit_channel(channel);
        let (channel_hit, thread) = match channels.parent_of(channel) {
            Some(p) => (hit_channel(p), Some(own)),
            None => (own, None),
        };
        let snippet = snippet(&text::display_text(&m.content), highlights);
        let message = MessageView::new(
            m.clone(),
            reactions.remove(&m.id).unwrap_or_default(),
            attachments.remove(&m.id).unwrap_or_default(),
        )
        .with_reaction_counts();
        hits.push(SearchHit {
            message,
            channel: channel_hit,
            thread,
            snippet,
        });
    }
    Ok(hits)
}

type Loaded = (
    Vec<messages::Model>,
    HashMap<String, Vec<ReactionView>>,
    HashMap<String, Vec<AttachmentView>>,
);

/// The rows of messages `ids` with their reactions and attachments (each in creation order,
/// then id): three statements through the pool, or one snapshot of direct SQLite reads.
async fn load_messages(sources: &Sources<'_>, ids: &[String]) -> Result<Loaded> {
    let mut reactions: HashMap<String, Vec<ReactionView>> = HashMap::new();
    let mut attachments: HashMap<String, Vec<AttachmentView>> = HashMap::new();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let rows = if let Some(sqlite) = sources.sqlite {
        let (rows, details) = sqlite.messages_with_details(&id_refs)?;
        for detail in details {
            match detail {
                Detail::Reaction(r) => reactions.entry(r.message_id.clone()).or_default().push(r),
                Detail::Attachment(a) => {
                    attachments.entry(a.message_id.clone()).or_default().push(a)
                }
            }
        }
        for list in reactions.values_mut() {
            list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        }
        for list in attachments.values_mut() {
            list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        }
        rows
    } else {
        let db = sources.db;
        let rows = messages::Entity::find()
            .filter(messages::Column::Id.is_in(id_refs.iter().copied()))
            .all(db)
            .await?;
        for r in message_emoji_reactions::Entity::find()
            .filter(message_emoji_reactions::Column::MessageId.is_in(id_refs.iter().copied()))
            .order_by_asc(message_emoji_reactions::Column::CreatedAt)
            .order_by_asc(message_emoji_reactions::Column::Id)
            .all(db)
            .await?
        {
            reactions
                .entry(r.message_id.clone())
                .or_default()
                .push(r.into());
        }
        for a in message_attachments::Entity::find()
            .filter(message_attachments::Column::MessageId.is_in(id_refs.iter().copied()))
            .order_by_asc(message_attachments::Column::CreatedAt)
            .order_by_asc(message_attachments::Column::Id)
            .all(db)
            .await?
        {
            attachments
                .entry(a.message_id.clone())
                .or_default()
                .push(a.into());
        }
        let attachment_ids: Vec<&str> = attachments
            .values()
            .flatten()
            .map(|a| a.id.as_str())
            .collect();
        let mut files = crate::files::read::statuses(db, &attachment_ids).await?;
        for a in attachments.values_mut().flatten() {
            a.file = files
                .remove(&a.id)
                .map(crate::archive::view::AttachmentFile::Status);
        }
        rows
    };
    Ok((rows, reactions, attachments))
}

fn public(c: &channels::Model) -> bool {
    !metadata_flag(c.metadata.as_ref(), "vanished")
}

fn hit_channel(c: &channels::Model) -> HitChannel {
    HitChannel {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: c.r#type.clone(),
    }
}

/// An HTML excerpt of `shown` (the message as shown) around its best cluster of matches,
/// everything escaped, matches in `<mark>`.
pub fn snippet(shown: &str, highlights: &Highlights) -> String {
    let mut analyzer = text::analyzer();
    let mut marks: Vec<(usize, usize)> = Vec::new();
    {
        let mut stream = analyzer.token_stream(shown);
        while let Some(token) = {
            if stream.advance() {
                Some(stream.token())
            } else {
                None
            }
        } {
            if highlights.matches(&token.text) {
                // Adjacent matches (a CJK word is a run of one-character terms) form one mark.
                match marks.last_mut() {
                    Some(last) if last.1 == token.offset_from => last.1 = token.offset_to,
                    _ => marks.push((token.offset_from, token.offset_to)),
                }
            }
        }
    }
    // The window: SNIPPET_CHARS characters starting a little before the first mark of the
    // densest run of marks.
    let char_starts: Vec<usize> = shown.char_indices().map(|(i, _)| i).collect();
    let char_count = char_starts.len();
    let byte_at = |char_index: usize| char_starts.get(char_index).copied().unwrap_or(shown.len());
    let char_of = |byte: usize| char_starts.partition_point(|&b| b < byte);
    let mut best = (0usize, 0usize); // (marks inside, start char)
    for (i, &(from, _)) in marks.iter().enumerate() {
        let start = char_of(from).saturating_sub(SNIPPET_CHARS / 5);
        let end_byte = byte_at(start + SNIPPET_CHARS);
        let inside = marks[i..]
            .iter()
            .take_while(|(_, to)| *to <= end_byte)
            .count();
        if inside > best.0 {
            best = (inside, start);
        }
    }
    let start_char = if marks.is_empty() { 0 } else { best.1 };
    let end_char = (start_char + SNIPPET_CHARS).min(char_count);
    let (start, end) = (byte_at(start_char), byte_at(end_char));
    let mut out = String::with_capacity(end - start + 32);
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for &(from, to) in marks.iter().filter(|(f, t)| *f >= start && *t <= end) {
        escape_into(&mut out, &shown[at..from]);
        out.push_str("<mark>");
        escape_into(&mut out, &shown[from..to]);
        out.push_str("</mark>");
        at = to;
    }
    escape_into(&mut out, &shown[at..end]);
    if end < shown.len() {
        out.push('…');
    }
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}
