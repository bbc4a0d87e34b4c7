//! Sitemaps and robots.txt.
//!
//! The sitemap lists the home page and every message page (listing pages are `noindex`), in
//! chunks of at most [`CHUNK`] URLs under a sitemap index, each URL with the time of the last
//! message on its page as `lastmod`. A chunk is computed from the database alone (channel counts,
//! then the page boundaries of just the channels it covers), so the live server can answer any
//! chunk without building the others, and the static build writes the same bytes.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use service::archive::pages as reads;

use crate::Result;
use crate::pages::{SiteContext, pages_for};
use crate::paths::{self, Route};

/// Most URLs in one sitemap file (the protocol's limit).
pub const CHUNK: u64 = 50_000;

/// The message channels of a tenant in sitemap order, with their message counts.
async fn plan(db: &impl ConnectionTrait, ctx: &SiteContext) -> Result<Vec<(String, u64)>> {
    let (rows, stats) = crate::pages::tenant_channels(db, ctx).await?;
    Ok(rows
        .into_iter()
        .filter(|c| !matches!(c.r#type.as_deref(), Some("category") | Some("forum")))
        .filter_map(|c| {
            let n = stats.get(&c.id).map(|s| s.message_count).unwrap_or(0);
            (n > 0).then_some((c.id, n))
        })
        .collect())
}

fn url_count(plan: &[(String, u64)], page_size: u64) -> u64 {
    1 + plan
        .iter()
        .map(|(_, n)| pages_for(*n, page_size))
        .sum::<u64>()
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
pub async fn index(db: &impl ConnectionTrait, ctx: &SiteContext) -> Result<Option<String>> {
    let Some(base) = ctx.base_url.as_deref() else {
        return Ok(None);
    };
    let plan = plan(db, ctx).await?;
    let chunks = url_count(&plan, ctx.page_size).div_ceil(CHUNK);
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
    Ok(Some(out))
}

/// Number of sitemap chunks.
pub async fn chunk_count(db: &impl ConnectionTrait, ctx: &SiteContext) -> Result<u64> {
    let plan = plan(db, ctx).await?;
    Ok(url_count(&plan, ctx.page_size).div_ceil(CHUNK))
}

/// Sitemap chunk `k` (from 1), `None` past the last one or when the public URL is unknown.
pub async fn chunk(db: &impl ConnectionTrait, ctx: &SiteContext, k: u64) -> Result<Option<String>> {
    let Some(base) = ctx.base_url.as_deref() else {
        return Ok(None);
    };
    let plan = plan(db, ctx).await?;
    let total = url_count(&plan, ctx.page_size);
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
    for (channel_id, count) in &plan {
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

/// robots.txt of a tenant's site: everything may be crawled; names the sitemap when the public
/// URL is known.
pub fn robots(ctx: &SiteContext) -> String {
    let mut out = String::from("User-agent: *\nAllow: /\n");
    if let Some(base) = &ctx.base_url {
        let _ = writeln!(out, "Sitemap: {base}{}", Route::SitemapIndex.path());
    }
    out
}
