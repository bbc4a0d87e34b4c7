//! Sitemaps and robots.txt.
//!
//! The sitemap lists the home page and every message page (listing pages are `noindex`), in
//! chunks of at most [`CHUNK`] URLs under a sitemap index, each URL with the time of the last
//! message on its page as `lastmod`. A chunk is computed from the [`Plan`] (the channels and
//! their counts) and the page boundaries of just the channels it covers, so the live server can
//! answer any chunk without building the others, and the static build writes the same bytes.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use entity::channels;
use service::archive::pages as reads;
use service::archive::query::ChannelStats;

use crate::Result;
use crate::pages::{SiteContext, pages_for};
use crate::paths::{self, Route};

/// Most URLs in one sitemap file (the protocol's limit).
pub const CHUNK: u64 = 50_000;

/// What the sitemap lists: the message channels of a tenant in sitemap order, with their
/// message counts.
#[derive(Debug, Clone)]
pub struct Plan(Vec<(String, u64)>);

impl Plan {
    /// The plan from the tenant's channels and their stats (see `pages::tenant_channels`).
    pub fn from_channels(rows: &[channels::Model], stats: &HashMap<String, ChannelStats>) -> Self {
        Self(
            rows.iter()
                .filter(|c| !matches!(c.r#type.as_deref(), Some("category") | Some("forum")))
                .filter_map(|c| {
                    let n = stats.get(&c.id).map(|s| s.message_count).unwrap_or(0);
                    (n > 0).then(|| (c.id.clone(), n))
                })
                .collect(),
        )
    }

    /// The plan of `ctx`'s tenant, read from the database.
    pub async fn load(db: &impl ConnectionTrait, ctx: &SiteContext) -> Result<Self> {
        let (rows, stats) = crate::pages::tenant_channels(db, ctx).await?;
        Ok(Self::from_channels(&rows, &stats))
    }

    fn url_count(&self, page_size: u64) -> u64 {
        1 + self
            .0
            .iter()
            .map(|(_, n)| pages_for(*n, page_size))
            .sum::<u64>()
    }

    /// Number of sitemap chunks.
    pub fn chunk_count(&self, page_size: u64) -> u64 {
        self.url_count(page_size).div_ceil(CHUNK)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn lastmod(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The sitemap index, `None` when the site's public URL is unknown (sitemaps need absolute
/// URLs).
pub fn index(ctx: &SiteContext, plan: &Plan) -> Option<String> {
    let base = ctx.base_url.as_deref()?;
    let chunks = plan.chunk_count(ctx.page_size);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for k in 1..=chunks {
        let _ = writeln!(
            out,
            "<sitemap><loc>{}</loc></sitemap>",
            escape(&format!("{base}{}", Route::Sitemap(k).path()))
        );
    }
    out.push_str("</sitemapindex>\n");
    Some(out)
}

/// Sitemap chunk `k` (from 1), `None` past the last one or when the public URL is unknown.
pub async fn chunk(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    plan: &Plan,
    k: u64,
) -> Result<Option<String>> {
    let Some(base) = ctx.base_url.as_deref() else {
        return Ok(None);
    };
    let total = plan.url_count(ctx.page_size);
    if k == 0 || (k - 1) * CHUNK >= total {
        return Ok(None);
    }
    let (from, to) = ((k - 1) * CHUNK, (k * CHUNK).min(total));
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut at = 0u64;
    if from == 0 {
        let _ = writeln!(out, "<url><loc>{}</loc></url>", escape(base));
    }
    at += 1;
    for (channel_id, count) in &plan.0 {
        let pages = pages_for(*count, ctx.page_size);
        if at + pages <= from {
            at += pages;
            continue;
        }
        if at >= to {
            break;
        }
        let ends = reads::page_end_times(db, channel_id, ctx.page_size).await?;
        for n in 1..=pages {
            if at >= from && at < to {
                let loc = format!("{base}{}", paths::channel_page(channel_id, n));
                match ends.get((n - 1) as usize) {
                    Some(t) => {
                        let _ = writeln!(
                            out,
                            "<url><loc>{}</loc><lastmod>{}</lastmod></url>",
                            escape(&loc),
                            lastmod(t)
                        );
                    }
                    None => {
                        let _ = writeln!(out, "<url><loc>{}</loc></url>", escape(&loc));
                    }
                }
            }
            at += 1;
        }
    }
    out.push_str("</urlset>\n");
    Ok(Some(out))
}

/// robots.txt of a tenant's site: everything may be crawled but the search results (endless
/// URLs of pages that are `noindex` anyway; named whether or not this copy of the site can
/// answer searches, so a static copy's robots.txt is the live one's); names the sitemap when the
/// public URL is known.
pub fn robots(ctx: &SiteContext) -> String {
    let mut out = format!(
        "User-agent: *\nDisallow: {}{}\nAllow: /\n",
        crate::pages::static_root_path(ctx),
        paths::SEARCH
    );
    if let Some(base) = &ctx.base_url {
        let _ = writeln!(out, "Sitemap: {base}{}", Route::SitemapIndex.path());
    }
    out
}
