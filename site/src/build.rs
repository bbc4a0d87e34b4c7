//! `verta site build`: a tenant's site as static files.
//!
//! The build streams each channel page by page (one keyset range of `page_size` messages at a
//! time, as the export does), renders every page with the live renderer, and writes each file
//! atomically (a temporary name in the same directory, then a rename). A file whose bytes are
//! unchanged is not rewritten and keeps its mtime; files that the previous build wrote and this
//! one did not (listed in the manifest it leaves behind) are removed. Memory holds one page,
//! the set of written paths and the set of authors' avatar seeds, never a channel. Stored
//! attachment files the pages show are copied from the attachment store into `f/`, each blob
//! once (streamed, never held in memory), and kept as they are when already there.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use service::files::BlobStore;
use tokio::io::AsyncWriteExt;

use service::archive::{self, query::Direction, query::Position};

use crate::pages::{self, ChannelFacts, SiteContext};
use crate::paths::{self, Route};
use crate::{Error, Result, assets, avatar, sitemap};

/// The list of files a build wrote, kept in the output directory for the next build.
pub const MANIFEST: &str = ".verta-site-manifest";

/// What a build did (printed as JSON by the CLI).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Tenant slug.
    pub tenant: String,
    /// HTML pages in the site.
    pub pages: u64,
    /// Files in the site (pages, assets, avatars, sitemaps).
    pub files: u64,
    /// Files written because they were new or changed.
    pub written: u64,
    /// Files left as they were (same bytes).
    pub unchanged: u64,
    /// Stale files removed.
    pub removed: u64,
    /// Bytes of all files in the site.
    pub bytes: u64,
    /// Messages rendered.
    pub messages: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Build progress, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Messages rendered so far.
    pub messages: u64,
    /// Messages in the archive.
    pub total_messages: u64,
}

struct Writer {
    out: PathBuf,
    seen: BTreeSet<String>,
    summary: Summary,
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Writer {
    /// Write `rel` (a path relative to the output, `/`-separated) unless it holds these bytes.
    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.out.join(rel);
        self.summary.files += 1;
        self.summary.bytes += bytes.len() as u64;
        self.seen.insert(rel.to_owned());
        if let Ok(existing) = std::fs::read(&path)
            && existing == bytes
        {
            self.summary.unchanged += 1;
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.out);
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io(dir, e))?;
        std::io::Write::write_all(&mut tmp, bytes).map_err(|e| io(&path, e))?;
        tmp.as_file().sync_data().map_err(|e| io(&path, e))?;
        tmp.persist(&path).map_err(|e| io(&path, e.error))?;
        self.summary.written += 1;
        Ok(())
    }

    /// Copy blob `hash` from `store` to `rel` unless a file of its size is there (the name
    /// holds the hash, so the size is enough to know the bytes): streamed to a temporary name
    /// in the same directory, synced, renamed. A blob no longer in the store is left out.
    async fn blob(&mut self, store: &BlobStore, hash: &str, rel: &str) -> Result<()> {
        let path = self.out.join(rel);
        let Some(size) = store.size(hash).await? else {
            return Ok(());
        };
        self.summary.files += 1;
        self.summary.bytes += size;
        self.seen.insert(rel.to_owned());
        if std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == size) {
            self.summary.unchanged += 1;
            return Ok(());
        }
        let Some(body) = store.get(hash, None).await? else {
            return Ok(());
        };
        let dir = path.parent().unwrap_or(&self.out).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| io(&dir, e))?;
        let (file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut stream = body.stream;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| io(&path, e))?;
            file.write_all(&chunk).await.map_err(|e| io(&path, e))?;
        }
        file.sync_data().await.map_err(|e| io(&path, e))?;
        drop(file);
        tmp_path.persist(&path).map_err(|e| io(&path, e.error))?;
        self.summary.written += 1;
        Ok(())
    }

    /// A page at a route path (`c/x/1/` → `c/x/1/index.html`).
    fn page(&mut self, route_path: &str, html: &str) -> Result<()> {
        self.summary.pages += 1;
        self.write(&format!("{route_path}index.html"), html.as_bytes())
    }

    /// Remove what the previous build wrote and this one did not, then save the manifest.
    fn finish(mut self) -> Result<Summary> {
        let manifest = self.out.join(MANIFEST);
        if let Ok(previous) = std::fs::read_to_string(&manifest) {
            for rel in previous.lines() {
                // Only names this builder writes: never a path that climbs out of the site.
                if rel.is_empty()
                    || self.seen.contains(rel)
                    || rel.split('/').any(|p| p == ".." || p.is_empty())
                {
                    continue;
                }
                let path = self.out.join(rel);
                if std::fs::remove_file(&path).is_ok() {
                    self.summary.removed += 1;
                    // Drop directories the removal emptied (fails harmlessly when not empty).
                    let mut dir = path.parent();
                    while let Some(d) = dir.filter(|d| *d != self.out) {
                        if std::fs::remove_dir(d).is_err() {
                            break;
                        }
                        dir = d.parent();
                    }
                }
            }
        }
        // The manifest is bookkeeping, not a file of the site: written as the others are
        // (atomically, only when changed) but not counted.
        let list: String = self.seen.iter().map(|p| format!("{p}\n")).collect();
        let counted = self.summary.clone();
        self.write(MANIFEST, list.as_bytes())?;
        self.summary = counted;
        Ok(self.summary)
    }
}

/// Build the site of `ctx`'s tenant into `out`.
pub async fn build(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    out: &Path,
    files: &BlobStore,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary> {
    let started = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let mut w = Writer {
        out: out.to_path_buf(),
        seen: BTreeSet::new(),
        summary: Summary {
            tenant: ctx.tenant.slug.clone(),
            ..Summary::default()
        },
    };
    let (rows, stats) = pages::tenant_channels(db, ctx).await?;
    let total_messages: u64 = stats.values().map(|s| s.message_count).sum();
    let mut done = 0u64;
    progress(Progress {
        messages: 0,
        total_messages,
    });

    for asset in [&*assets::CSS, &*assets::JS] {
        w.write(
            &Route::Asset(asset.name.clone()).path(),
            asset.body.as_bytes(),
        )?;
    }
    w.page("", &pages::home(db, ctx).await?)?;
    w.write(
        "404.html",
        pages::not_found(
            ctx,
            &pages::static_root_path(ctx),
            "There is no page at this address.",
        )?
        .as_bytes(),
    )?;
    w.write("robots.txt", sitemap::robots(ctx).as_bytes())?;

    let mut seeds: HashSet<String> = HashSet::new();
    let mut blobs: BTreeSet<(String, String)> = BTreeSet::new();
    for facts in pages::all_channel_facts(&rows, &stats) {
        let channel = &facts.channel;
        if pages::has_threads_index(&facts) {
            let all = pages::thread_list(db, ctx, &facts).await?;
            for n in 1..=pages::threads_pages_for(all.len() as u64) {
                if let Some(html) = pages::render_threads_page(db, ctx, &facts, &all, n).await? {
                    w.page(&paths::threads_page(&channel.id, n), &html)?;
                }
            }
        }
        if matches!(channel.r#type.as_deref(), Some("category") | Some("forum")) {
            if channel.r#type.as_deref() == Some("forum") {
                let root = Route::ChannelRoot(parse(&channel.id)).path();
                let target = format!(
                    "{}{}",
                    paths::root_from(&root),
                    paths::threads_page(&channel.id, 1)
                );
                w.write(
                    &format!("{root}index.html"),
                    pages::redirect_page(&target)?.as_bytes(),
                )?;
            }
            continue;
        }
        done += channel_pages(db, ctx, &facts, &mut w, &mut seeds, &mut blobs).await?;
        progress(Progress {
            messages: done,
            total_messages,
        });
    }
    for seed in &seeds {
        w.write(
            &Route::Avatar(seed.clone()).path(),
            avatar::svg(seed).as_bytes(),
        )?;
    }
    // Each referenced blob once, whatever number of attachments show it.
    for (hash, rel) in &blobs {
        w.blob(files, hash, rel).await?;
    }
    let plan = sitemap::Plan::from_channels(&rows, &stats);
    if let Some(index) = sitemap::index(ctx, &plan) {
        w.write(&Route::SitemapIndex.path(), index.as_bytes())?;
        for k in 1..=plan.chunk_count(ctx.page_size) {
            if let Some(chunk) = sitemap::chunk(db, ctx, &plan, k).await? {
                w.write(&Route::Sitemap(k).path(), chunk.as_bytes())?;
            }
        }
    }
    let mut summary = w.finish()?;
    summary.messages = done;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn parse(id: &str) -> uuid::Uuid {
    uuid::Uuid::try_parse(id).unwrap_or_default()
}

/// Write every message page of one channel (and its root redirect); returns the messages
/// rendered.
async fn channel_pages(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    facts: &ChannelFacts,
    w: &mut Writer,
    seeds: &mut HashSet<String>,
    blobs: &mut BTreeSet<(String, String)>,
) -> Result<u64> {
    let c = &facts.channel;
    let mut n = 0u64;
    let mut cursor: Option<Position> = None;
    let mut rendered = 0u64;
    loop {
        let rows = archive::query::messages_from(
            db,
            &c.id,
            cursor.as_ref(),
            Direction::Newer,
            ctx.page_size,
        )
        .await?;
        if rows.is_empty() && n > 0 {
            break;
        }
        n += 1;
        cursor = rows.last().map(Position::of);
        let full = rows.len() as u64 == ctx.page_size;
        let views = archive::query::with_details(db, rows).await?;
        for m in &views {
            if !seeds.contains(avatar::seed_for(&m.anonymized_author_id)) {
                seeds.insert(avatar::seed_for(&m.anonymized_author_id).to_owned());
            }
            // The page shows no attachment of a deleted message, so links none of its files.
            if pages::is_deleted(m) {
                continue;
            }
            for a in &m.attachments {
                if let (Some(hash), Some((route, _))) =
                    (a.stored_sha256(), pages::attachment_file(a))
                {
                    blobs.insert((hash.to_owned(), route.path()));
                }
            }
        }
        rendered += views.len() as u64;
        let html = pages::render_message_page(db, ctx, facts, n, &views).await?;
        w.page(&paths::channel_page(&c.id, n), &html)?;
        if !full {
            break;
        }
    }
    // A channel whose count is an exact multiple of the page size ends on a full page; the
    // loop's last, empty read does not make a page of its own.
    let last = pages::pages_for(facts.message_count, ctx.page_size);
    let root = Route::ChannelRoot(parse(&c.id)).path();
    let target = format!(
        "{}{}",
        paths::root_from(&root),
        paths::channel_page(&c.id, last)
    );
    w.write(
        &format!("{root}index.html"),
        pages::redirect_page(&target)?.as_bytes(),
    )?;
    Ok(rendered)
}
