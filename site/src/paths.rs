//! The website's URL space, relative to a tenant's root.
//!
//! Live, a tenant's root is `/archive/<slug>/` (or `/` on a host mapped to the tenant); built
//! statically, it is the output directory. Pages link to each other with relative URLs, so one
//! document is correct wherever the root is mounted, and a static page and the live page for
//! the same URL are the same bytes. Page URLs end in `/` (a static host serves `index.html`).
//! Ids in URLs are Verta's own UUIDs: no Discord id appears in the site.
//!
//! | path | page |
//! |---|---|
//! | `` | home: channel directory |
//! | `c/<channel>/` | the channel's newest page (a redirect) |
//! | `c/<channel>/<n>/` | message page `n`, counted from the oldest |
//! | `c/<channel>/threads/<n>/` | the channel's or forum's threads, newest activity first |
//! | `m/<message>/` | a message's permalink (live only: a redirect to its page and anchor) |
//! | `search/` | search results, `?q=..&sort=..&cursor=..` (live only: it needs the index) |
//! | `a/<seed>.svg` | an author's avatar |
//! | `f/<sha256>.<ext>` | a stored attachment file (its extension from the allow-list) |
//! | `_assets/<name>` | the stylesheet and the script (content-hashed names) |
//! | `sitemap.xml`, `sitemap-<k>.xml`, `robots.txt` | for crawlers |

use uuid::Uuid;

/// A place in a tenant's site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The home page.
    Home,
    /// A channel's root, redirecting to its newest page.
    ChannelRoot(Uuid),
    /// Message page `n` (from 1) of a channel or thread.
    ChannelPage(Uuid, u64),
    /// Page `n` (from 1) of a channel's or forum's threads.
    Threads(Uuid, u64),
    /// A message's permalink.
    Message(Uuid),
    /// The search results page (its query is in the URL's query string, not its path).
    Search,
    /// An avatar (the seed is validated by the avatar module).
    Avatar(String),
    /// A stored attachment file: its SHA-256 (64 lowercase hex digits) and extension.
    File(String, String),
    /// A static asset by its published name.
    Asset(String),
    /// The sitemap index.
    SitemapIndex,
    /// Chunk `k` (from 1) of the sitemap.
    Sitemap(u64),
    /// robots.txt.
    Robots,
}

fn page_number(text: &str) -> Option<u64> {
    // No leading zeros or signs: one URL per page.
    if text.is_empty() || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| *n <= 1_000_000_000)
}

fn uuid(text: &str) -> Option<Uuid> {
    // Only the canonical lower-case hyphenated form: one URL per page.
    let id = Uuid::try_parse(text).ok()?;
    (id.hyphenated().to_string() == text).then_some(id)
}

impl Route {
    /// The route of `path` (relative to the tenant root, without a leading `/`), `None` when
    /// no page lives there.
    pub fn parse(path: &str) -> Option<Self> {
        let parts: Vec<&str> = path.split('/').collect();
        Some(match parts.as_slice() {
            [""] => Route::Home,
            ["c", id, ""] => Route::ChannelRoot(uuid(id)?),
            ["c", id, n, ""] => Route::ChannelPage(uuid(id)?, page_number(n)?),
            ["c", id, "threads", n, ""] => Route::Threads(uuid(id)?, page_number(n)?),
            ["m", id, ""] => Route::Message(uuid(id)?),
            ["search", ""] => Route::Search,
            ["a", file] => Route::Avatar(file.strip_suffix(".svg")?.to_owned()),
            ["f", file] => {
                let (hash, ext) = file.split_once('.')?;
                let ext_ok = !ext.is_empty()
                    && ext.len() <= 8
                    && ext
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                if !service::files::is_sha256(hash) || !ext_ok {
                    return None;
                }
                Route::File(hash.to_owned(), ext.to_owned())
            }
            ["_assets", name] => Route::Asset((*name).to_owned()),
            ["sitemap.xml"] => Route::SitemapIndex,
            ["robots.txt"] => Route::Robots,
            [file] => {
                let k = file.strip_prefix("sitemap-")?.strip_suffix(".xml")?;
                Route::Sitemap(page_number(k)?)
            }
            _ => return None,
        })
    }

    /// The path of this route relative to the tenant root (no leading `/`).
    pub fn path(&self) -> String {
        match self {
            Route::Home => String::new(),
            Route::ChannelRoot(id) => format!("c/{id}/"),
            Route::ChannelPage(id, n) => format!("c/{id}/{n}/"),
            Route::Threads(id, n) => format!("c/{id}/threads/{n}/"),
            Route::Message(id) => format!("m/{id}/"),
            Route::Search => SEARCH.to_owned(),
            Route::Avatar(seed) => format!("a/{seed}.svg"),
            Route::File(hash, ext) => format!("f/{hash}.{ext}"),
            Route::Asset(name) => format!("_assets/{name}"),
            Route::SitemapIndex => "sitemap.xml".to_owned(),
            Route::Sitemap(k) => format!("sitemap-{k}.xml"),
            Route::Robots => "robots.txt".to_owned(),
        }
    }
}

/// The path of the search results page.
pub const SEARCH: &str = "search/";

/// The relative prefix from the document at `path` back to the tenant root: `./` at the root,
/// one `../` per directory level below it.
pub fn root_from(path: &str) -> String {
    let depth = path.matches('/').count();
    if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    }
}

/// The path of message page `n` of a channel.
pub fn channel_page(channel_id: &str, n: u64) -> String {
    format!("c/{channel_id}/{n}/")
}

/// The path of threads page `n` of a channel or forum.
pub fn threads_page(channel_id: &str, n: u64) -> String {
    format!("c/{channel_id}/threads/{n}/")
}

/// The anchor of a message on its page.
pub fn anchor(message_id: &str) -> String {
    format!("m-{message_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190c2b3-7d4e-7a00-8000-000000000001";

    #[test]
    fn every_route_parses_back_from_its_path() {
        let id = Uuid::try_parse(ID).unwrap_or_default();
        for route in [
            Route::Home,
            Route::ChannelRoot(id),
            Route::ChannelPage(id, 3),
            Route::Threads(id, 1),
            Route::Message(id),
            Route::Search,
            Route::Avatar("0123456789abcdef".into()),
            Route::Asset("site.abc.css".into()),
            Route::SitemapIndex,
            Route::Sitemap(2),
            Route::Robots,
        ] {
            assert_eq!(
                Route::parse(&route.path()),
                Some(route.clone()),
                "{route:?}"
            );
        }
    }

    #[test]
    fn non_canonical_or_unknown_paths_are_not_pages() {
        for bad in [
            "c/",
            &format!("c/{ID}"),
            &format!("c/{ID}/0/"),
            &format!("c/{ID}/01/"),
            &format!("c/{ID}/-1/"),
            &format!("c/{ID}/99999999999999999999/"),
            &format!("c/{}/1/", ID.to_uppercase()),
            "c/123456789012345678/1/",
            "m/../",
            "search",
            "search/x/",
            "sitemap-0.xml",
            "sitemap-x.xml",
            "api/v1/channels",
            "a/x.png",
        ] {
            assert_eq!(Route::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn root_prefix_climbs_one_level_per_directory() {
        assert_eq!(root_from(""), "./");
        assert_eq!(root_from("robots.txt"), "./");
        assert_eq!(root_from(&format!("c/{ID}/2/")), "../../../");
        assert_eq!(root_from(&format!("c/{ID}/threads/1/")), "../../../../");
    }
}
