//! The pages: what each shows, loaded from the archive and rendered through the templates.
//!
//! Every page is a pure function of the database's state, the tenant's public root URL and
//! whether the site can answer searches ([`SiteContext::search`]: the live server can, a static
//! build cannot), so the live server and the static build produce the same bytes for the same
//! URL but for the search box in the header. Message pages hold `page_size` messages, oldest
//! first, page 1 the channel's oldest. The search results page ([`search`]) is live only.

use std::collections::{BTreeMap, HashMap, HashSet};

use askama::Template;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use entity::channels;
use service::archive::query::ChannelStats;
use service::archive::view::{AttachmentView, MessageView};
use service::archive::{self, pages as reads};
use service::files::read;
use service::search::{DEFAULT_LIMIT, MAX_OFFSET, SearchHit, SearchIndex, SearchRequest, Sort};
use service::tenants::Tenant;

use crate::assets::{self, THEME_BOOT};
use crate::markdown::{self, ChannelRef, Resolver, UserRef};
use crate::paths::{self, Route};
use crate::theme::{self, Theme};
use crate::{Error, Result, avatar, pseudonym};

/// Messages per page (the default of `verta site build` and the live site).
pub const PAGE_SIZE: u64 = 100;
/// Thread cards per threads page.
pub const THREADS_PAGE_SIZE: u64 = 50;
/// A message starts a new group when its author's previous message is older than this.
const GROUP_GAP_SECONDS: i64 = 7 * 60;

/// What every page of one tenant shares: its name, logo, colours and public root.
#[derive(Debug, Clone)]
pub struct SiteContext {
    /// The tenant.
    pub tenant: Tenant,
    /// Header logo (a vetted `data:` URI).
    pub logo: Option<String>,
    /// The `:root` rule of the tenant's colours.
    pub theme_css: String,
    /// Absolute URL of the tenant's root (ends in `/`), for canonical URLs and sitemaps;
    /// `None` when unknown (a static build without `--base-url`).
    pub base_url: Option<String>,
    /// Messages per page.
    pub page_size: u64,
    /// Whether every page carries the search box in its header. Only a server that answers
    /// [`paths::SEARCH`] sets it: a static build has nothing to send a query to.
    pub search: bool,
}

impl SiteContext {
    /// Load the tenant's branding and build the context.
    pub async fn load(
        db: &impl ConnectionTrait,
        tenant: Tenant,
        base_url: Option<String>,
    ) -> Result<Self> {
        let branding = archive::branding(db, &tenant.id.to_string()).await?;
        let (theme, logo) = match &branding {
            Some(b) => (
                Theme::new(
                    Some(&b.primary_color),
                    Some(&b.secondary_color),
                    Some(&b.accent_color),
                ),
                theme::safe_logo(b.logo.as_deref()).map(str::to_owned),
            ),
            None => (Theme::default(), None),
        };
        Ok(Self {
            tenant,
            logo,
            theme_css: theme.css(),
            base_url,
            page_size: PAGE_SIZE,
            search: false,
        })
    }

    fn tenant_id(&self) -> String {
        self.tenant.id.to_string()
    }

    /// The absolute URL of `path`, when the root is known.
    pub fn absolute(&self, path: &str) -> Option<String> {
        self.base_url.as_ref().map(|b| format!("{b}{path}"))
    }

    /// The inline `<style>` and `<script>` texts of every page (for a CSP's hashes).
    pub fn inline_texts(&self) -> [&str; 2] {
        [self.theme_css.as_str(), THEME_BOOT]
    }
}

/// Every channel of the tenant (oldest row first) and the message count and last activity of
/// each non-empty one: two queries, whatever the archive's size.
pub async fn tenant_channels(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
) -> Result<(Vec<channels::Model>, HashMap<String, ChannelStats>)> {
    use sea_orm::{ColumnTrait, Condition};
    let tenant_id = ctx.tenant_id();
    let rows = archive::channel_rows(db, &tenant_id).await?;
    let stats = archive::query::channel_stats(
        db,
        Condition::all().add(channels::Column::TenantId.eq(tenant_id.as_str())),
    )
    .await?;
    Ok((rows, stats))
}

/// A rendered answer for one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// An HTML page (`status` 200, or 404 for the not-found page).
    Html {
        /// HTTP status.
        status: u16,
        /// The document.
        body: String,
    },
    /// A redirect to another path of the tenant's site (relative to its root, may hold a
    /// fragment).
    Redirect(String),
}

// ----- layout -------------------------------------------------------------------------------

/// The `<head>` facts of a page.
#[derive(Debug, Clone)]
pub struct Head {
    /// `<title>`.
    pub title: String,
    /// Meta description (plain text).
    pub description: String,
    /// Canonical absolute URL.
    pub canonical: Option<String>,
    /// `noindex,follow`: the page has nothing of its own for a search engine.
    pub noindex: bool,
    /// `og:type`.
    pub og_type: &'static str,
    /// JSON-LD, already safe inside `<script>`.
    pub json_ld: Option<String>,
}

/// What the base template reads.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Head facts.
    pub head: Head,
    /// Relative prefix to the tenant root.
    pub root: String,
    /// Tenant name.
    pub site_name: String,
    /// Logo `data:` URI.
    pub logo: Option<String>,
    /// Inline colours.
    pub theme_css: String,
    /// Stylesheet path from the root.
    pub css: String,
    /// Script path from the root.
    pub js: String,
    /// Inline theme script.
    pub boot: &'static str,
    /// Breadcrumb trail: (label, href from this page); the last is the current page.
    pub crumbs: Vec<(String, Option<String>)>,
    /// The header's search box, on a site that answers searches.
    pub search: Option<SearchBox>,
}

/// The search box in a page's header: a plain GET form, so it works without script.
#[derive(Debug, Clone, Default)]
pub struct SearchBox {
    /// The query it shows (the current one on a results page, empty elsewhere).
    pub q: String,
    /// The order a new query keeps (`None`: relevance, the default).
    pub sort: Option<&'static str>,
}

/// The favicon: a small brand-neutral mark, inline so no page requests `/favicon.ico`.
pub const ICON: &str = "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%20viewBox='0%200%2016%2016'%3E%3Crect%20width='16'%20height='16'%20rx='4'%20fill='%235865f2'/%3E%3Cpath%20d='M4%205h8M4%208h8M4%2011h5'%20stroke='white'%20stroke-width='1.5'/%3E%3C/svg%3E";

fn layout(
    ctx: &SiteContext,
    path: &str,
    head: Head,
    crumbs: Vec<(String, Option<String>)>,
) -> Layout {
    Layout {
        head,
        root: paths::root_from(path),
        site_name: ctx.tenant.name.clone(),
        logo: ctx.logo.clone(),
        theme_css: ctx.theme_css.clone(),
        css: Route::Asset(assets::CSS.name.clone()).path(),
        js: Route::Asset(assets::JS.name.clone()).path(),
        boot: THEME_BOOT,
        crumbs,
        search: ctx.search.then(SearchBox::default),
    }
}

// ----- formatting ---------------------------------------------------------------------------

/// `2024-05-01T12:00:00.000Z`.
fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `2024-05-01 12:00 UTC`.
fn datetime_text(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `Wednesday, 1 May 2024`.
fn day_text(t: &DateTime<Utc>) -> String {
    t.format("%A, %-d %B %Y").to_string()
}

/// `1,234`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `12.3 KB`.
fn size_text(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GB", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// JSON for a `<script type="application/ld+json">`: `<` escaped so no text can close the
/// element or open a comment.
fn json_ld(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// Number of pages of `count` items, `size` a page (at least one).
pub fn pages_for(count: u64, size: u64) -> u64 {
    count.div_ceil(size.max(1)).max(1)
}

// ----- resolver -----------------------------------------------------------------------------

/// Resolves mentions on one page: users to pseudonyms, channels to their pages when archived.
struct PageResolver {
    channels: HashMap<String, ChannelRef>,
}

impl Resolver for PageResolver {
    fn user(&self, pseudonym_hash: &str) -> UserRef {
        UserRef {
            name: pseudonym::name(pseudonym_hash),
        }
    }

    fn channel(&self, snowflake: &str) -> Option<ChannelRef> {
        self.channels.get(snowflake).map(|c| ChannelRef {
            name: c.name.clone(),
            url: c.url.clone(),
        })
    }
}

/// Platform ids of the channels mentioned in `texts`, each once.
fn mentioned_channels<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<String> {
    let ids: HashSet<String> = texts.flat_map(service::discord::channel_mentions).collect();
    ids.into_iter().collect()
}

/// The path a channel's link goes to: threads index for forums, newest page otherwise.
fn channel_link(c: &channels::Model, stats: Option<&ChannelStats>, page_size: u64) -> String {
    if c.r#type.as_deref() == Some("forum") {
        paths::threads_page(&c.id, 1)
    } else {
        let count = stats.map(|s| s.message_count).unwrap_or(0);
        paths::channel_page(&c.id, pages_for(count, page_size))
    }
}

async fn resolver_for(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    root: &str,
    texts: Vec<&str>,
) -> Result<PageResolver> {
    let ids = mentioned_channels(texts.into_iter());
    let mut channels = HashMap::new();
    if !ids.is_empty() {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let rows = reads::channels_by_platform_ids(db, &ctx.tenant_id(), &refs).await?;
        let row_ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
        let stats = channel_stats_of(db, &row_ids).await?;
        for c in rows {
            if c.r#type.as_deref() == Some("category") {
                continue;
            }
            let url = format!(
                "{root}{}",
                channel_link(&c, stats.get(&c.id), ctx.page_size)
            );
            channels.insert(
                c.platform_channel_id.clone(),
                ChannelRef { name: c.name, url },
            );
        }
    }
    Ok(PageResolver { channels })
}

async fn channel_stats_of(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashMap<String, ChannelStats>> {
    use sea_orm::{ColumnTrait, Condition};
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(archive::query::channel_stats(
        db,
        Condition::all().add(channels::Column::Id.is_in(ids.iter().cloned())),
    )
    .await?)
}

// ----- messages -----------------------------------------------------------------------------

/// A reply's bar above the message.
#[derive(Debug, Clone)]
pub struct ReplyBar {
    /// The replied-to author's pseudonym; `None` when the target is not archived.
    pub author: Option<String>,
    /// First characters of the target, plain text.
    pub excerpt: String,
    /// Link to the target (relative), when archived.
    pub href: Option<String>,
}

/// An attachment card.
#[derive(Debug, Clone)]
pub struct AttachmentCard {
    /// File name.
    pub name: String,
    /// MIME type.
    pub kind: String,
    /// Human size.
    pub size: String,
    /// The stored file (`<root>f/<sha256>.<ext>`), when its bytes are stored.
    pub href: Option<String>,
    /// A stored raster image: shown inline.
    pub image: bool,
}

/// The site file of an attachment whose bytes are stored: its route (`f/<sha256>.<ext>`)
/// and whether it is a raster image shown inline.
pub fn attachment_file(a: &AttachmentView) -> Option<(Route, bool)> {
    let hash = a.stored_sha256()?;
    let ext = read::site_extension(&a.content_type);
    let image = read::presentation(&a.content_type) == read::Presentation::Image;
    Some((Route::File(hash.to_owned(), ext.to_owned()), image))
}

/// One reaction pill.
#[derive(Debug, Clone)]
pub struct ReactionPill {
    /// What to show (Unicode emoji, or `:name:` for a custom one).
    pub emoji: String,
    /// Count.
    pub count: u64,
    /// Accessible label, e.g. "👍: 3 reactions".
    pub label: String,
}

/// A message as a page shows it.
#[derive(Debug, Clone)]
pub struct MessageItem {
    /// Anchor id (`m-<uuid>`).
    pub anchor: String,
    /// Author pseudonym.
    pub author: String,
    /// Short disambiguation tag of the author.
    pub author_tag: String,
    /// Avatar path from the root.
    pub avatar: String,
    /// `datetime` attribute.
    pub time_iso: String,
    /// Full UTC text.
    pub time_text: String,
    /// `HH:MM` (UTC) for continuation lines.
    pub time_short: String,
    /// Edit time, when edited.
    pub edited: Option<String>,
    /// Pinned in Discord.
    pub pinned: bool,
    /// Deleted on Discord: the content is not shown.
    pub deleted: bool,
    /// Rendered content.
    pub html: String,
    /// Emoji-only message: shown large.
    pub jumbo: bool,
    /// Reply bar.
    pub reply: Option<ReplyBar>,
    /// Attachment cards.
    pub attachments: Vec<AttachmentCard>,
    /// Reactions.
    pub reactions: Vec<ReactionPill>,
    /// First of a group: shows the avatar and the author.
    pub starts_group: bool,
}

/// Messages of one day.
#[derive(Debug, Clone)]
pub struct DayGroup {
    /// Heading id.
    pub id: String,
    /// `2024-05-01`.
    pub date_iso: String,
    /// Human date.
    pub title: String,
    /// The day's messages.
    pub messages: Vec<MessageItem>,
}

/// A message's reactions as pills, most used first. A custom emoji (`<:name:id>`) shows as
/// `:name:`, as the markdown shows it: its id is a Discord id, and its image another origin.
fn reaction_pills(m: &MessageView, resolver: &PageResolver) -> Vec<ReactionPill> {
    m.counted_reactions()
        .into_iter()
        .map(|c| {
            let shown = markdown::to_plain(&c.emoji, resolver);
            ReactionPill {
                label: format!("{shown}: {}", plural(c.count, "reaction", "reactions")),
                emoji: shown,
                count: c.count,
            }
        })
        .collect()
}

fn metadata_str<'a>(m: &'a MessageView, key: &str) -> Option<&'a str> {
    m.metadata.as_ref()?.get(key)?.as_str()
}

/// What a Discord system message without text says, by its message type (Discord's
/// `MessageType`); `None` for ordinary messages.
fn system_event(m: &MessageView) -> Option<&'static str> {
    let kind = m.metadata.as_ref()?.get("type")?.as_u64()?;
    Some(match kind {
        6 => "pinned a message to this channel.",
        7 => "joined the server.",
        8 => "boosted the server.",
        9..=11 => "boosted the server to a new level.",
        18 => "started a thread.",
        _ => return None,
    })
}

fn metadata_bool(m: &MessageView, key: &str) -> bool {
    archive::view::metadata_flag(m.metadata.as_ref(), key)
}

/// What a reply bar shows of its target.
struct Target {
    /// The target's author (pseudonymised id).
    author: String,
    /// Its first characters, plain text.
    excerpt: String,
    /// Its page and anchor, relative to the replying message's page.
    href: String,
}

/// Reply targets of a page, by platform id.
struct Targets {
    by_platform_id: HashMap<String, Target>,
}

async fn reply_targets(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    channel_id: &str,
    page: &[MessageView],
    page_no: u64,
    resolver: &PageResolver,
) -> Result<Targets> {
    let mut by_platform_id = HashMap::new();
    let on_page: HashMap<&str, &MessageView> = page
        .iter()
        .map(|m| (m.platform_message_id.as_str(), m))
        .collect();
    let mut missing: Vec<&str> = Vec::new();
    for m in page {
        let Some(target) = m.reply_to_id.as_deref() else {
            continue;
        };
        match on_page.get(target) {
            Some(t) => {
                by_platform_id.insert(
                    target.to_owned(),
                    Target {
                        author: t.anonymized_author_id.clone(),
                        excerpt: excerpt_of(t, resolver),
                        href: format!("#{}", paths::anchor(&t.id)),
                    },
                );
            }
            None => missing.push(target),
        }
    }
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        for t in reads::reply_targets(db, &[channel_id], &missing).await? {
            let n = t.index / ctx.page_size + 1;
            let view = MessageView::new(t.message, Vec::new(), Vec::new());
            let href = if n == page_no {
                format!("#{}", paths::anchor(&view.id))
            } else {
                format!("../{n}/#{}", paths::anchor(&view.id))
            };
            by_platform_id.insert(
                view.platform_message_id.clone(),
                Target {
                    author: view.anonymized_author_id.clone(),
                    excerpt: excerpt_of(&view, resolver),
                    href,
                },
            );
        }
    }
    Ok(Targets { by_platform_id })
}

/// Whether `m` was deleted on Discord (its page shows neither its content nor its files).
pub fn is_deleted(m: &MessageView) -> bool {
    metadata_bool(m, "deleted")
}

fn excerpt_of(m: &MessageView, resolver: &PageResolver) -> String {
    if metadata_bool(m, "deleted") {
        return "Message deleted on Discord".to_owned();
    }
    let text = markdown::to_plain(&m.content, resolver);
    if text.is_empty() && !m.attachments.is_empty() {
        return "Attachment".to_owned();
    }
    markdown::truncate(&text, 80)
}

fn message_items(
    page: &[MessageView],
    root: &str,
    resolver: &PageResolver,
    targets: &Targets,
) -> Vec<DayGroup> {
    let mut days: Vec<DayGroup> = Vec::new();
    let mut previous: Option<&MessageView> = None;
    for m in page {
        let at = m.platform_created_at;
        let date_iso = at.format("%Y-%m-%d").to_string();
        if days.last().map(|d| d.date_iso != date_iso).unwrap_or(true) {
            days.push(DayGroup {
                id: format!("d-{date_iso}"),
                title: day_text(&at),
                date_iso,
                messages: Vec::new(),
            });
            previous = None;
        }
        let deleted = metadata_bool(m, "deleted");
        let reply = m
            .reply_to_id
            .as_deref()
            .map(|id| match targets.by_platform_id.get(id) {
                Some(t) => ReplyBar {
                    author: Some(pseudonym::name(&t.author)),
                    excerpt: t.excerpt.clone(),
                    href: Some(t.href.clone()),
                },
                None => ReplyBar {
                    author: None,
                    excerpt: "Original message not archived".to_owned(),
                    href: None,
                },
            });
        let starts_group = reply.is_some()
            || previous.is_none_or(|p| {
                p.anonymized_author_id != m.anonymized_author_id
                    || (at - p.platform_created_at).num_seconds() > GROUP_GAP_SECONDS
            });
        let html = if deleted {
            String::new()
        } else if m.content.trim().is_empty()
            && let Some(event) = system_event(m)
        {
            format!("<em class=\"system\">{event}</em>")
        } else {
            markdown::to_html(&m.content, resolver)
        };
        let item = MessageItem {
            anchor: paths::anchor(&m.id),
            author: pseudonym::name(&m.anonymized_author_id),
            author_tag: pseudonym::tag(&m.anonymized_author_id),
            avatar: format!(
                "{root}{}",
                Route::Avatar(avatar::seed_for(&m.anonymized_author_id).to_owned()).path()
            ),
            time_iso: iso(&at),
            time_text: datetime_text(&at),
            time_short: at.format("%H:%M").to_string(),
            edited: metadata_str(m, "editedAt").map(str::to_owned),
            pinned: metadata_bool(m, "pinned"),
            deleted,
            jumbo: !deleted && markdown::is_emoji_only(&m.content),
            html,
            reply,
            attachments: if deleted {
                Vec::new()
            } else {
                m.attachments
                    .iter()
                    .map(|a| {
                        let file = attachment_file(a);
                        AttachmentCard {
                            name: a.filename.clone(),
                            kind: a.content_type.clone(),
                            size: size_text(a.file_size),
                            image: file.as_ref().is_some_and(|(_, image)| *image),
                            href: file.map(|(route, _)| format!("{root}{}", route.path())),
                        }
                    })
                    .collect()
            },
            reactions: reaction_pills(m, resolver),
            starts_group,
        };
        if let Some(day) = days.last_mut() {
            day.messages.push(item);
        }
        previous = Some(m);
    }
    days
}

// ----- pages --------------------------------------------------------------------------------

/// Pagination links of a numbered page.
#[derive(Debug, Clone)]
pub struct Pager {
    /// Label, e.g. "Pages".
    pub label: &'static str,
    /// Older page (relative href).
    pub prev: Option<String>,
    /// Newer page (relative href).
    pub next: Option<String>,
    /// Numbered links: (number, href, current); `None` for a gap.
    pub items: Vec<Option<(u64, String, bool)>>,
    /// Prev/next words.
    pub prev_label: &'static str,
    /// Prev/next words.
    pub next_label: &'static str,
}

fn pager(
    current: u64,
    total: u64,
    href: impl Fn(u64) -> String,
    newer_first: bool,
) -> Option<Pager> {
    if total <= 1 {
        return None;
    }
    let mut wanted: Vec<u64> = vec![1, total];
    for n in current.saturating_sub(2)..=current + 2 {
        if n >= 1 && n <= total {
            wanted.push(n);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut items = Vec::new();
    let mut last = 0;
    for n in wanted {
        if n > last + 1 {
            items.push(None);
        }
        items.push(Some((n, href(n), n == current)));
        last = n;
    }
    let (prev_label, next_label) = if newer_first {
        ("Newer", "Older")
    } else {
        ("Older", "Newer")
    };
    Some(Pager {
        label: "Pages",
        prev: (current > 1).then(|| href(current - 1)),
        next: (current < total).then(|| href(current + 1)),
        items,
        prev_label,
        next_label,
    })
}

#[derive(Template)]
#[template(path = "messages.html")]
struct MessagesTemplate {
    l: Layout,
    title: String,
    kind_label: &'static str,
    topic: Option<String>,
    intro: String,
    days: Vec<DayGroup>,
    pager: Option<Pager>,
    threads_link: Option<(String, String)>,
    empty: bool,
}

/// The facts a message page needs about its channel.
#[derive(Debug, Clone)]
pub struct ChannelFacts {
    /// The channel.
    pub channel: channels::Model,
    /// Its parent (a thread's channel or forum, a channel's category), when archived.
    pub parent: Option<channels::Model>,
    /// Archived messages.
    pub message_count: u64,
    /// Threads under it (for text channels).
    pub thread_count: u64,
}

/// Load what [`render_message_page`] needs about `channel_id` (`None`: not this tenant's, or
/// not a channel with messages).
pub async fn channel_facts(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    channel_id: &str,
) -> Result<Option<ChannelFacts>> {
    let channel = match archive::channel_row(db, &ctx.tenant_id(), channel_id).await {
        Ok(c) => c,
        Err(service::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let stats = channel_stats_of(db, std::slice::from_ref(&channel.id)).await?;
    let message_count = stats.get(&channel.id).map(|s| s.message_count).unwrap_or(0);
    let mut parent = None;
    if let Some(p) = channel.parent_channel_id.as_deref() {
        parent = reads::channels_by_platform_ids(db, &ctx.tenant_id(), &[p])
            .await?
            .into_iter()
            .next();
    }
    let thread_count =
        reads::thread_count(db, &ctx.tenant_id(), &channel.platform_channel_id).await?;
    Ok(Some(ChannelFacts {
        channel,
        parent,
        message_count,
        thread_count,
    }))
}

/// The facts of every channel of the tenant, from its channel rows and their stats (see
/// [`tenant_channels`]), without another query: what the static build renders from.
pub fn all_channel_facts(
    rows: &[channels::Model],
    stats: &HashMap<String, ChannelStats>,
) -> Vec<ChannelFacts> {
    let by_platform_id: HashMap<&str, &channels::Model> = rows
        .iter()
        .map(|c| (c.platform_channel_id.as_str(), c))
        .collect();
    let mut threads_of: HashMap<&str, u64> = HashMap::new();
    for t in rows
        .iter()
        .filter(|c| c.r#type.as_deref() == Some("thread"))
    {
        if let Some(parent) = t.parent_channel_id.as_deref() {
            *threads_of.entry(parent).or_default() += 1;
        }
    }
    rows.iter()
        .map(|c| ChannelFacts {
            parent: c
                .parent_channel_id
                .as_deref()
                .and_then(|p| by_platform_id.get(p))
                .map(|p| (*p).clone()),
            message_count: stats.get(&c.id).map(|s| s.message_count).unwrap_or(0),
            thread_count: threads_of
                .get(c.platform_channel_id.as_str())
                .copied()
                .unwrap_or(0),
            channel: c.clone(),
        })
        .collect()
}

fn parse_uuid(id: &str) -> uuid::Uuid {
    // Channel ids are UUIDs written by the sync; a malformed one links to the nil channel,
    // which answers 404, rather than failing the page.
    uuid::Uuid::try_parse(id).unwrap_or_default()
}

fn is_message_channel(c: &channels::Model) -> bool {
    !matches!(c.r#type.as_deref(), Some("category") | Some("forum"))
}

/// Live: message page `n` of a channel, or `None` when there is no such page.
pub async fn message_page(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    channel_id: &str,
    n: u64,
) -> Result<Option<String>> {
    let Some(facts) = channel_facts(db, ctx, channel_id).await? else {
        return Ok(None);
    };
    if !is_message_channel(&facts.channel) {
        return Ok(None);
    }
    let total = pages_for(facts.message_count, ctx.page_size);
    if n == 0 || n > total {
        return Ok(None);
    }
    let start = if n == 1 {
        None
    } else {
        reads::position_at(db, &facts.channel.id, (n - 1) * ctx.page_size - 1).await?
    };
    let rows = archive::query::messages_from(
        db,
        &facts.channel.id,
        start.as_ref(),
        archive::query::Direction::Newer,
        ctx.page_size,
    )
    .await?;
    let views = archive::query::with_details(db, rows).await?;
    render_message_page(db, ctx, &facts, n, &views)
        .await
        .map(Some)
}

/// Render message page `n` of a channel from its messages (oldest first).
pub async fn render_message_page(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    facts: &ChannelFacts,
    n: u64,
    views: &[MessageView],
) -> Result<String> {
    let c = &facts.channel;
    let path = paths::channel_page(&c.id, n);
    let root = paths::root_from(&path);
    let total = pages_for(facts.message_count, ctx.page_size);
    let resolver = resolver_for(
        db,
        ctx,
        &root,
        views
            .iter()
            .map(|m| m.content.as_str())
            .chain(
                c.metadata
                    .as_ref()
                    .and_then(|m| m.get("topic"))
                    .and_then(|t| t.as_str()),
            )
            .collect(),
    )
    .await?;
    let targets = reply_targets(db, ctx, &c.id, views, n, &resolver).await?;
    let days = message_items(views, &root, &resolver, &targets);
    let is_thread = c.r#type.as_deref() == Some("thread");
    let in_forum = facts
        .parent
        .as_ref()
        .is_some_and(|p| p.r#type.as_deref() == Some("forum"));
    let kind_label = if in_forum {
        "Forum post"
    } else if is_thread {
        "Thread"
    } else {
        "Channel"
    };
    let display = if is_thread {
        c.name.clone()
    } else {
        format!("#{}", c.name)
    };
    let title = if total > 1 {
        format!("{display} (page {n} of {total}) · {}", ctx.tenant.name)
    } else {
        format!("{display} · {}", ctx.tenant.name)
    };
    let first_text = views
        .iter()
        .find(|m| !metadata_bool(m, "deleted") && !m.content.trim().is_empty())
        .map(|m| markdown::to_plain(&m.content, &resolver))
        .unwrap_or_default();
    let description = if first_text.is_empty() {
        format!(
            "{} in {display}, archived from {}'s Discord.",
            plural(facts.message_count, "message", "messages"),
            ctx.tenant.name
        )
    } else {
        markdown::truncate(&first_text, 160)
    };
    let json_ld = (is_thread && n == 1 && !views.is_empty())
        .then(|| thread_json_ld(ctx, facts, &path, views, &resolver));
    let mut crumbs = vec![("Home".to_owned(), Some(root.clone()))];
    if let Some(p) = &facts.parent {
        let href = match p.r#type.as_deref() {
            Some("category") => None,
            Some("forum") => Some(format!("{root}{}", paths::threads_page(&p.id, 1))),
            _ => Some(format!(
                "{root}{}",
                Route::ChannelRoot(parse_uuid(&p.id)).path()
            )),
        };
        let label = if p.r#type.as_deref() == Some("category") {
            p.name.clone()
        } else {
            format!("#{}", p.name)
        };
        crumbs.push((label, href));
    }
    crumbs.push((display.clone(), None));
    let head = Head {
        title,
        description,
        canonical: ctx.absolute(&path),
        noindex: views.is_empty(),
        og_type: if is_thread { "article" } else { "website" },
        json_ld,
    };
    let topic = c
        .metadata
        .as_ref()
        .and_then(|m| m.get("topic"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.trim().is_empty())
        .map(|t| markdown::to_html(t, &resolver));
    let intro = if facts.message_count == 0 {
        "No messages archived yet.".to_owned()
    } else {
        let first = (n - 1) * ctx.page_size + 1;
        let last = first + views.len() as u64 - 1;
        format!(
            "Messages {}–{} of {}, oldest first.",
            thousands(first),
            thousands(last),
            thousands(facts.message_count)
        )
    };
    let threads_link = (facts.thread_count > 0).then(|| {
        (
            format!("{root}{}", paths::threads_page(&c.id, 1)),
            plural(facts.thread_count, "thread", "threads"),
        )
    });
    let template = MessagesTemplate {
        l: layout(ctx, &path, head, crumbs),
        title: display,
        kind_label,
        topic,
        intro,
        empty: views.is_empty(),
        days,
        pager: pager(n, total, |k| format!("../{k}/"), false),
        threads_link,
    };
    Ok(template.render()?)
}

fn thread_json_ld(
    ctx: &SiteContext,
    facts: &ChannelFacts,
    path: &str,
    views: &[MessageView],
    resolver: &PageResolver,
) -> String {
    let c = &facts.channel;
    let person = |hash: &str| serde_json::json!({"@type": "Person", "name": pseudonym::name(hash)});
    let text_of = |m: &MessageView| {
        if metadata_bool(m, "deleted") {
            String::new()
        } else {
            markdown::to_plain(&m.content, resolver)
        }
    };
    let url = ctx.absolute(path).unwrap_or_else(|| path.to_owned());
    let first = &views[0];
    let comments: Vec<serde_json::Value> = views[1..]
        .iter()
        .filter(|m| !metadata_bool(m, "deleted"))
        .map(|m| {
            serde_json::json!({
                "@type": "Comment",
                "author": person(&m.anonymized_author_id),
                "datePublished": iso(&m.platform_created_at),
                "text": text_of(m),
                "url": format!("{url}#{}", paths::anchor(&m.id)),
            })
        })
        .collect();
    let last = views
        .last()
        .map(|m| m.platform_created_at)
        .unwrap_or(first.platform_created_at);
    json_ld(&serde_json::json!({
        "@context": "https://schema.org",
        "@type": "DiscussionForumPosting",
        "headline": markdown::truncate(&c.name, 110),
        "text": text_of(first),
        "author": person(&first.anonymized_author_id),
        "datePublished": iso(&first.platform_created_at),
        "dateModified": iso(&last),
        "url": url,
        "isPartOf": {"@type": "WebSite", "name": ctx.tenant.name},
        "interactionStatistic": {
            "@type": "InteractionCounter",
            "interactionType": "https://schema.org/CommentAction",
            "userInteractionCount": facts.message_count.saturating_sub(1),
        },
        "comment": comments,
    }))
}

// ----- threads index ------------------------------------------------------------------------

/// A thread or forum post card.
#[derive(Debug, Clone)]
pub struct ThreadCard {
    /// Title.
    pub title: String,
    /// Link (relative).
    pub href: String,
    /// Starter's pseudonym.
    pub starter: Option<String>,
    /// Starter's avatar path.
    pub avatar: Option<String>,
    /// First post, plain text, truncated.
    pub excerpt: String,
    /// "12 replies".
    pub replies: String,
    /// Last activity (ISO).
    pub last_iso: String,
    /// Last activity (text).
    pub last_text: String,
    /// Archived in Discord.
    pub archived: bool,
    /// Locked in Discord.
    pub locked: bool,
}

#[derive(Template)]
#[template(path = "threads.html")]
struct ThreadsTemplate {
    l: Layout,
    title: String,
    intro: String,
    cards: Vec<ThreadCard>,
    pager: Option<Pager>,
    messages_link: Option<String>,
}

/// A channel's or forum's threads, newest activity first, with their stats.
pub type ThreadList = Vec<(channels::Model, ChannelStats)>;

/// Whether `facts` names a channel with a threads index.
pub fn has_threads_index(facts: &ChannelFacts) -> bool {
    match facts.channel.r#type.as_deref() {
        Some("forum") => true,
        Some("category") => false,
        _ => facts.thread_count > 0,
    }
}

/// The threads of a channel or forum, newest activity first.
pub async fn thread_list(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    facts: &ChannelFacts,
) -> Result<ThreadList> {
    Ok(
        archive::threads_by_activity(db, &ctx.tenant_id(), &facts.channel.platform_channel_id)
            .await?,
    )
}

/// Number of threads pages for `count` threads.
pub fn threads_pages_for(count: u64) -> u64 {
    pages_for(count, THREADS_PAGE_SIZE)
}

/// Live: threads page `n` of a channel or forum; `None` when there is none.
pub async fn threads_page(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    channel_id: &str,
    n: u64,
) -> Result<Option<String>> {
    let Some(facts) = channel_facts(db, ctx, channel_id).await? else {
        return Ok(None);
    };
    if !has_threads_index(&facts) {
        return Ok(None);
    }
    let all = thread_list(db, ctx, &facts).await?;
    render_threads_page(db, ctx, &facts, &all, n).await
}

/// Render threads page `n` from the channel's whole thread list; `None` past the last page.
pub async fn render_threads_page(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    facts: &ChannelFacts,
    all: &ThreadList,
    n: u64,
) -> Result<Option<String>> {
    let c = &facts.channel;
    let is_forum = c.r#type.as_deref() == Some("forum");
    let total = threads_pages_for(all.len() as u64);
    if n == 0 || n > total {
        return Ok(None);
    }
    let count = all.len() as u64;
    let slice: Vec<_> = all
        .iter()
        .skip(((n - 1) * THREADS_PAGE_SIZE) as usize)
        .take(THREADS_PAGE_SIZE as usize)
        .cloned()
        .collect();
    let threads = archive::thread_views(db, slice).await?;
    let path = paths::threads_page(&c.id, n);
    let root = paths::root_from(&path);
    let resolver = resolver_for(
        db,
        ctx,
        &root,
        threads
            .iter()
            .filter_map(|t| t.first_message.as_ref().map(|f| f.content.as_str()))
            .collect(),
    )
    .await?;
    let cards = threads
        .iter()
        .map(|t| ThreadCard {
            title: t.name.clone(),
            // A thread reads from its start.
            href: format!("{root}{}", paths::channel_page(&t.id, 1)),
            starter: t
                .first_message
                .as_ref()
                .map(|f| pseudonym::name(&f.author_id)),
            avatar: t.first_message.as_ref().map(|f| {
                format!(
                    "{root}{}",
                    Route::Avatar(avatar::seed_for(&f.author_id).to_owned()).path()
                )
            }),
            excerpt: t
                .first_message
                .as_ref()
                .map(|f| markdown::truncate(&markdown::to_plain(&f.content, &resolver), 200))
                .unwrap_or_default(),
            replies: plural(t.message_count.saturating_sub(1), "reply", "replies"),
            last_iso: iso(&t.last_activity),
            last_text: datetime_text(&t.last_activity),
            archived: t.archived,
            locked: t.locked,
        })
        .collect();
    let display = format!("#{}", c.name);
    let noun = if is_forum { "posts" } else { "threads" };
    let title = if total > 1 {
        format!(
            "{display}: {noun} (page {n} of {total}) · {}",
            ctx.tenant.name
        )
    } else {
        format!("{display}: {noun} · {}", ctx.tenant.name)
    };
    let mut crumbs = vec![("Home".to_owned(), Some(root.clone()))];
    if let Some(p) = facts
        .parent
        .as_ref()
        .filter(|p| p.r#type.as_deref() == Some("category"))
    {
        crumbs.push((p.name.clone(), None));
    }
    crumbs.push((display.clone(), None));
    let head = Head {
        title,
        description: format!(
            "{} in {display}, archived from {}'s Discord.",
            plural(count, &noun[..noun.len() - 1], noun),
            ctx.tenant.name
        ),
        canonical: ctx.absolute(&path),
        // A listing whose order follows activity: the threads themselves are the content.
        noindex: true,
        og_type: "website",
        json_ld: None,
    };
    let template = ThreadsTemplate {
        l: layout(ctx, &path, head, crumbs),
        title: display,
        intro: format!(
            "{}, most recent activity first.",
            plural(count, &noun[..noun.len() - 1], noun)
        ),
        cards,
        pager: pager(n, total, |k| format!("../{k}/"), true),
        messages_link: (!is_forum).then(|| {
            format!(
                "{root}{}",
                paths::channel_page(&c.id, pages_for(facts.message_count, ctx.page_size))
            )
        }),
    };
    Ok(Some(template.render()?))
}

// ----- home ---------------------------------------------------------------------------------

/// A channel in the home page's directory.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// Name.
    pub name: String,
    /// `text`, `forum`, `announcement`.
    pub icon: &'static str,
    /// Link (relative), `None` for a channel with nothing archived.
    pub href: Option<String>,
    /// "1,234 messages" / "12 posts".
    pub count: String,
    /// Last activity.
    pub last_iso: Option<String>,
    /// Last activity text.
    pub last_text: Option<String>,
    /// Threads link and label.
    pub threads: Option<(String, String)>,
}

/// A category and its channels.
#[derive(Debug, Clone)]
pub struct DirGroup {
    /// Category name (`None`: channels without a category).
    pub name: Option<String>,
    /// Heading id.
    pub id: String,
    /// Channels in Discord's order.
    pub entries: Vec<DirEntry>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTemplate {
    l: Layout,
    name: String,
    summary: String,
    groups: Vec<DirGroup>,
}

fn position(c: &channels::Model) -> i64 {
    c.metadata
        .as_ref()
        .and_then(|m| m.get("position"))
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(i64::MAX)
}

fn discord_type(c: &channels::Model) -> Option<i64> {
    c.metadata.as_ref()?.get("discordType")?.as_i64()
}

/// The home page: logo, name, and the channel directory by category in Discord's order.
pub async fn home(db: &impl ConnectionTrait, ctx: &SiteContext) -> Result<String> {
    let (rows, stats) = tenant_channels(db, ctx).await?;
    let root = "./";
    // Threads per parent (platform id): count and newest activity.
    let mut threads: HashMap<&str, (u64, Option<DateTime<Utc>>)> = HashMap::new();
    for t in rows
        .iter()
        .filter(|c| c.r#type.as_deref() == Some("thread"))
    {
        if let Some(p) = t.parent_channel_id.as_deref() {
            let e = threads.entry(p).or_default();
            e.0 += 1;
            e.1 = e.1.max(stats.get(&t.id).and_then(|s| s.last_activity));
        }
    }
    let categories: BTreeMap<(i64, &str), &channels::Model> = rows
        .iter()
        .filter(|c| c.r#type.as_deref() == Some("category"))
        .map(|c| ((position(c), c.platform_channel_id.as_str()), c))
        .collect();
    let category_ids: HashSet<&str> = categories
        .values()
        .map(|c| c.platform_channel_id.as_str())
        .collect();
    let mut by_parent: HashMap<Option<&str>, Vec<&channels::Model>> = HashMap::new();
    for c in rows
        .iter()
        .filter(|c| matches!(c.r#type.as_deref(), Some("text") | Some("forum")))
    {
        let parent = c
            .parent_channel_id
            .as_deref()
            .filter(|p| category_ids.contains(p));
        by_parent.entry(parent).or_default().push(c);
    }
    let entry = |c: &channels::Model| -> DirEntry {
        let s = stats.get(&c.id);
        let is_forum = c.r#type.as_deref() == Some("forum");
        let (thread_count, thread_last) = threads
            .get(c.platform_channel_id.as_str())
            .copied()
            .unwrap_or_default();
        let count = s.map(|s| s.message_count).unwrap_or(0);
        let last = s.and_then(|s| s.last_activity).max(thread_last);
        let has_content = if is_forum {
            thread_count > 0
        } else {
            count > 0 || thread_count > 0
        };
        DirEntry {
            name: c.name.clone(),
            icon: if is_forum {
                "forum"
            } else if discord_type(c) == Some(5) {
                "announcement"
            } else {
                "text"
            },
            href: has_content.then(|| format!("{root}{}", channel_link(c, s, ctx.page_size))),
            count: if is_forum {
                plural(thread_count, "post", "posts")
            } else {
                plural(count, "message", "messages")
            },
            last_iso: last.map(|t| iso(&t)),
            last_text: last.map(|t| t.format("%Y-%m-%d").to_string()),
            threads: (!is_forum && thread_count > 0).then(|| {
                (
                    format!("{root}{}", paths::threads_page(&c.id, 1)),
                    plural(thread_count, "thread", "threads"),
                )
            }),
        }
    };
    let sorted = |list: Option<&Vec<&channels::Model>>| -> Vec<DirEntry> {
        let mut list: Vec<&channels::Model> = list.cloned().unwrap_or_default();
        // Discord lists text-like channels before voice-like ones, each by position.
        list.sort_by_key(|c| (position(c), c.platform_channel_id.clone()));
        list.into_iter().map(entry).collect()
    };
    let mut groups = Vec::new();
    let loose = sorted(by_parent.get(&None));
    if !loose.is_empty() {
        groups.push(DirGroup {
            name: None,
            id: "channels".to_owned(),
            entries: loose,
        });
    }
    for (i, c) in categories.values().enumerate() {
        let entries = sorted(by_parent.get(&Some(c.platform_channel_id.as_str())));
        if !entries.is_empty() {
            groups.push(DirGroup {
                name: Some(c.name.clone()),
                id: format!("cat-{}", i + 1),
                entries,
            });
        }
    }
    let total_messages: u64 = stats.values().map(|s| s.message_count).sum();
    let last = stats.values().filter_map(|s| s.last_activity).max();
    let channel_count = rows
        .iter()
        .filter(|c| matches!(c.r#type.as_deref(), Some("text") | Some("forum")))
        .count() as u64;
    let summary = match last {
        Some(t) => format!(
            "{} in {}, last activity {}.",
            plural(total_messages, "message", "messages"),
            plural(channel_count, "channel", "channels"),
            t.format("%-d %B %Y")
        ),
        None => "Nothing archived yet.".to_owned(),
    };
    let head = Head {
        title: format!("{} · Discord archive", ctx.tenant.name),
        description: format!(
            "The archive of {}'s Discord server: {summary}",
            ctx.tenant.name
        ),
        canonical: ctx.absolute(""),
        noindex: total_messages == 0,
        og_type: "website",
        json_ld: None,
    };
    let template = HomeTemplate {
        l: layout(ctx, "", head, Vec::new()),
        name: ctx.tenant.name.clone(),
        summary,
        groups,
    };
    Ok(template.render()?)
}

// ----- search -------------------------------------------------------------------------------

/// What a results page is asked for: the parameters of its URL's query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchParams {
    /// `q`, as typed (in [`service::search::syntax`]'s language).
    pub q: String,
    /// `sort` (`relevance`, `newest` or `oldest`), when given and not empty.
    pub sort: Option<String>,
    /// `cursor`: where the next page starts, when given and not empty.
    pub cursor: Option<String>,
}

impl SearchParams {
    /// The parameters of a URL query string (`q=..&sort=..&cursor=..`, form-encoded). The
    /// first of each name counts, other names are ignored, and bytes that are not UTF-8 read
    /// as U+FFFD: no query string is an error here (the search judges the values).
    pub fn parse(query: &str) -> Self {
        let (mut q, mut sort, mut cursor) = (None, None, None);
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "q" => &mut q,
                "sort" => &mut sort,
                "cursor" => &mut cursor,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        Self {
            q: q.unwrap_or_default(),
            sort: sort.filter(|s: &String| !s.is_empty()),
            cursor: cursor.filter(|c: &String| !c.is_empty()),
        }
    }
}

/// The orders a reader can choose: (value of `sort`, label).
const SORTS: [(Sort, &str, &str); 3] = [
    (Sort::Relevance, "relevance", "Best match"),
    (Sort::Newest, "newest", "Newest"),
    (Sort::Oldest, "oldest", "Oldest"),
];

/// A hit as the results page shows it.
#[derive(Debug, Clone)]
pub struct HitCard {
    /// The message's permalink (relative), which leads to its page and anchor.
    pub href: String,
    /// Author pseudonym.
    pub author: String,
    /// Avatar path (relative).
    pub avatar: String,
    /// Where it was said: the channel, then the thread, each (label, relative link).
    pub places: Vec<(String, String)>,
    /// `datetime` attribute.
    pub time_iso: String,
    /// Full UTC text.
    pub time_text: String,
    /// The search's excerpt: escaped HTML with `<mark>`, inserted as it is.
    pub snippet: String,
    /// What stands in for an empty excerpt (a message of attachments only, or no text).
    pub no_text: Option<&'static str>,
    /// "2 attachments", when it has any.
    pub attachments: Option<String>,
}

/// A link to the same query in another order.
#[derive(Debug, Clone)]
pub struct SortLink {
    /// Label.
    pub label: &'static str,
    /// Relative link (a query string).
    pub href: String,
    /// The order shown now.
    pub current: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchTemplate {
    l: Layout,
    q: String,
    error: Option<String>,
    summary: Option<String>,
    sorts: Vec<SortLink>,
    hits: Vec<HitCard>,
    next: Option<String>,
    first: Option<String>,
    capped: bool,
    /// The index is still being built: older messages may be missing.
    building: bool,
    help: bool,
}

/// The query string of the results for `q` in `sort` from `cursor` (relevance is the default
/// and left out).
fn search_href(q: &str, sort: Sort, cursor: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::from("?"));
    query.append_pair("q", q);
    if let Some((_, value, _)) = SORTS
        .iter()
        .find(|(s, ..)| *s == sort && *s != Sort::Relevance)
    {
        query.append_pair("sort", value);
    }
    if let Some(c) = cursor {
        query.append_pair("cursor", c);
    }
    query.finish()
}

/// The reader's words for the search's refusal of a request (`issues` of a validation error).
fn search_problem(issues: &[service::error::FieldIssue]) -> String {
    let sentences: Vec<String> = issues
        .iter()
        .map(|i| match i.field.as_str() {
            // The cursor is ours, not the reader's: only an edited or outdated link has a bad one.
            "cursor" => "This link to more results no longer fits its search: start the search \
                         again from the first page."
                .to_owned(),
            _ => match i.message.strip_prefix("q ") {
                Some(rest) => format!("Your search {rest}"),
                None => capitalized(&i.message),
            },
        })
        .collect();
    sentences.join(" ")
}

/// `text` with its first letter upper case (the search's messages start lower case, to follow
/// a field name).
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn hit_card(hit: &SearchHit, root: &str) -> HitCard {
    let m = &hit.message;
    let channel = &hit.channel;
    let mut places = vec![(
        format!("#{}", channel.name),
        format!("{root}c/{}/", channel.id),
    )];
    if let Some(t) = &hit.thread {
        // A thread reads from its start.
        places.push((
            t.name.clone(),
            format!("{root}{}", paths::channel_page(&t.id, 1)),
        ));
    }
    let files = m.attachments.len() as u64;
    HitCard {
        href: format!("{root}m/{}/", m.id),
        author: pseudonym::name(&m.anonymized_author_id),
        avatar: format!(
            "{root}{}",
            Route::Avatar(avatar::seed_for(&m.anonymized_author_id).to_owned()).path()
        ),
        places,
        time_iso: iso(&m.platform_created_at),
        time_text: datetime_text(&m.platform_created_at),
        no_text: hit.snippet.trim().is_empty().then_some(if files > 0 {
            "Attachments only"
        } else {
            "No text"
        }),
        snippet: hit.snippet.clone(),
        attachments: (files > 0).then(|| plural(files, "attachment", "attachments")),
    }
}

/// Live: the results page of `params` over `ctx`'s tenant (see [`paths::SEARCH`]), as its
/// HTTP status and document. An empty query shows the search box and how to search (200); a
/// query the search refuses (bad syntax, a foreign cursor, an unknown order) shows why, with
/// status 400. Only a failing index or database is an error.
pub async fn search(
    db: &sea_orm::DatabaseConnection,
    ctx: &SiteContext,
    index: &SearchIndex,
    params: &SearchParams,
) -> Result<(u16, String)> {
    let root = paths::root_from(paths::SEARCH);
    let q = params.q.as_str();
    let (sort, sort_known) = match params.sort.as_deref() {
        None => (Sort::Relevance, true),
        Some(text) => SORTS
            .iter()
            .find(|(_, value, _)| *value == text)
            .map_or((Sort::Relevance, false), |(s, ..)| (*s, true)),
    };
    let mut page = None;
    let mut error = None;
    if !q.trim().is_empty() {
        if !sort_known {
            error = Some(
                "Results can be sorted by relevance, newest or oldest only: search again from \
                 the box."
                    .to_owned(),
            );
        } else {
            let request = SearchRequest {
                q: q.to_owned(),
                limit: DEFAULT_LIMIT,
                cursor: params.cursor.clone(),
                sort,
            };
            match index.search(db, &ctx.tenant_id(), &request).await {
                Ok(p) => page = Some(p),
                Err(service::Error::Validation(issues)) => error = Some(search_problem(&issues)),
                Err(e) => return Err(e.into()),
            }
        }
    }
    let summary = page.as_ref().map(|p| match p.total {
        0 => "No results: check the spelling, or try fewer or other words.".to_owned(),
        n => format!(
            "{}, {}.",
            plural(n, "result", "results"),
            match sort {
                Sort::Relevance => "best match first",
                Sort::Newest => "newest first",
                Sort::Oldest => "oldest first",
            }
        ),
    });
    let hits: Vec<HitCard> = page
        .as_ref()
        .map(|p| p.hits.iter().map(|h| hit_card(h, &root)).collect())
        .unwrap_or_default();
    let sorts = if page.as_ref().is_some_and(|p| p.total > 0) {
        SORTS
            .iter()
            .map(|(s, _, label)| SortLink {
                label,
                href: search_href(q, *s, None),
                current: *s == sort,
            })
            .collect()
    } else {
        Vec::new()
    };
    let next = page
        .as_ref()
        .and_then(|p| p.next_cursor.as_deref())
        .map(|c| search_href(q, sort, Some(c)));
    let first = (page.is_some() && params.cursor.is_some()).then(|| search_href(q, sort, None));
    // Best-match pages start at most MAX_OFFSET deep (the dated orders reach every result):
    // the last one reached shows results up to MAX_OFFSET + DEFAULT_LIMIT.
    let capped = sort == Sort::Relevance
        && page
            .as_ref()
            .is_some_and(|p| p.next_cursor.is_none() && p.total > MAX_OFFSET + DEFAULT_LIMIT);
    let shown_q = q.trim();
    let head = Head {
        title: if shown_q.is_empty() {
            format!("Search · {}", ctx.tenant.name)
        } else {
            format!(
                "{} – search · {}",
                markdown::truncate(shown_q, 60),
                ctx.tenant.name
            )
        },
        description: format!("Search {}'s Discord archive.", ctx.tenant.name),
        canonical: None,
        noindex: true,
        og_type: "website",
        json_ld: None,
    };
    let crumbs = vec![
        ("Home".to_owned(), Some(root.clone())),
        ("Search".to_owned(), None),
    ];
    let mut l = layout(ctx, paths::SEARCH, head, crumbs);
    l.search = Some(SearchBox {
        q: q.to_owned(),
        sort: SORTS
            .iter()
            .find(|(s, ..)| *s == sort && *s != Sort::Relevance)
            .map(|(_, value, _)| *value),
    });
    let status = if error.is_some() { 400 } else { 200 };
    let template = SearchTemplate {
        l,
        q: markdown::truncate(shown_q, 120),
        help: page.is_none(),
        building: page.as_ref().is_some_and(|p| !p.complete),
        capped,
        error,
        summary,
        sorts,
        hits,
        next,
        first,
    };
    Ok((status, template.render()?))
}

// ----- not found, redirects -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "notfound.html")]
struct NotFoundTemplate {
    l: Layout,
    what: String,
}

/// The not-found page of a tenant's site. It may be served at any depth, so its links start
/// from `root`: the URL path of the tenant's root (`/archive/<slug>/`, or `/`), `what` says what
/// was not found, in words.
pub fn not_found(ctx: &SiteContext, root: &str, what: &str) -> Result<String> {
    let head = Head {
        title: format!("Not found · {}", ctx.tenant.name),
        description: format!("This page is not in {}'s archive.", ctx.tenant.name),
        canonical: None,
        noindex: true,
        og_type: "website",
        json_ld: None,
    };
    let mut l = layout(ctx, "", head, Vec::new());
    l.root = root.to_owned();
    Ok(NotFoundTemplate {
        l,
        what: what.to_owned(),
    }
    .render()?)
}

/// The URL path of the tenant's root: the path of its base URL (live, or a static build with
/// `--base-url`), `/` when there is none (a static site is then expected at the root of its
/// host).
pub fn static_root_path(ctx: &SiteContext) -> String {
    ctx.base_url
        .as_deref()
        .and_then(|b| url::Url::parse(b).ok())
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|| "/".to_owned())
}

/// The answer for a site that does not exist (an unknown or inactive tenant): a plain page with
/// nothing of any tenant.
pub const UNKNOWN_SITE: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"robots\" content=\"noindex\">\n<title>Archive not found</title>\n</head>\n<body>\n\
<main>\n<h1>Archive not found</h1>\n<p>There is no archive at this address. Check the link, or \
<a href=\"/\">go to the start page</a>.</p>\n</main>\n</body>\n</html>\n";

/// The answer over the per-client request limit.
pub const TOO_MANY_REQUESTS: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"robots\" content=\"noindex\">\n<title>Too many requests</title>\n</head>\n<body>\n\
<main>\n<h1>Too many requests</h1>\n<p>This archive is read too fast from your address. Please wait a \
moment and reload the page.</p>\n</main>\n</body>\n</html>\n";

#[derive(Template)]
#[template(path = "redirect.html")]
struct RedirectTemplate {
    target: String,
}

/// A static stand-in for a redirect: a tiny `noindex` page that forwards to `target` (relative
/// to the page) and links to it.
pub fn redirect_page(target: &str) -> Result<String> {
    Ok(RedirectTemplate {
        target: target.to_owned(),
    }
    .render()?)
}

/// Where a channel's root leads (its newest page, or its threads for a forum), relative to the
/// tenant root; `None` when the tenant has no such channel with pages.
pub async fn channel_root_target(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    channel_id: &str,
) -> Result<Option<String>> {
    let Some(facts) = channel_facts(db, ctx, channel_id).await? else {
        return Ok(None);
    };
    Ok(match facts.channel.r#type.as_deref() {
        Some("category") => None,
        Some("forum") => Some(paths::threads_page(&facts.channel.id, 1)),
        _ => Some(paths::channel_page(
            &facts.channel.id,
            pages_for(facts.message_count, ctx.page_size),
        )),
    })
}

/// Where a message's permalink leads: its page, with its anchor.
pub async fn message_target(
    db: &impl ConnectionTrait,
    ctx: &SiteContext,
    message_id: &str,
) -> Result<Option<String>> {
    let Some(m) = reads::message_of_tenant(db, &ctx.tenant_id(), message_id).await? else {
        return Ok(None);
    };
    let before = reads::count_before(db, &m.channel_id, &archive::query::Position::of(&m)).await?;
    let n = before / ctx.page_size + 1;
    Ok(Some(format!(
        "{}#{}",
        paths::channel_page(&m.channel_id, n),
        paths::anchor(&m.id)
    )))
}

impl From<askama::Error> for Error {
    fn from(e: askama::Error) -> Self {
        Error::Render(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(content: &str, metadata: serde_json::Value) -> MessageView {
        let at = chrono::DateTime::<Utc>::default();
        MessageView {
            id: "m".into(),
            channel_id: "c".into(),
            platform_message_id: "1".into(),
            anonymized_author_id: "a".repeat(64),
            content: content.into(),
            reply_to_id: None,
            metadata: Some(metadata),
            platform_created_at: at,
            created_at: at,
            updated_at: at,
            reactions: Vec::new(),
            attachments: Vec::new(),
            reaction_counts: None,
        }
    }

    #[test]
    fn system_messages_without_text_say_what_happened() {
        let join = message("", serde_json::json!({"type": 7}));
        assert_eq!(system_event(&join), Some("joined the server."));
        let pin = message("", serde_json::json!({"type": 6}));
        assert_eq!(
            system_event(&pin),
            Some("pinned a message to this channel.")
        );
        assert_eq!(
            system_event(&message("", serde_json::json!({"type": 0}))),
            None
        );
        assert_eq!(system_event(&message("", serde_json::json!({}))), None);
    }

    #[test]
    fn numbers_sizes_and_custom_emoji_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(2048), "2.0 KB");
        assert_eq!(size_text(-5), "-5 B");
    }

    #[test]
    fn reactions_are_counted_most_used_first_and_custom_emoji_show_their_name() {
        let mut m = message("hi", serde_json::json!({}));
        let reaction = |emoji: &str, user: &str| service::archive::view::ReactionView {
            id: format!("{emoji}{user}"),
            message_id: "m".into(),
            emoji: emoji.into(),
            anonymized_user_id: user.into(),
            created_at: chrono::DateTime::<Utc>::default(),
        };
        m.reactions = vec![
            reaction("👍", "a"),
            reaction("<:party:123456789012345678>", "a"),
            reaction("<a:dance:123456789012345678>", "b"),
            reaction("<:party:123456789012345678>", "b"),
        ];
        let resolver = PageResolver {
            channels: HashMap::new(),
        };
        let pills: Vec<(String, u64)> = reaction_pills(&m, &resolver)
            .into_iter()
            .map(|p| (p.emoji, p.count))
            .collect();
        assert_eq!(
            pills,
            vec![
                (":party:".into(), 2),
                ("👍".into(), 1),
                (":dance:".into(), 1)
            ]
        );
    }

    #[test]
    fn the_pager_links_the_ends_and_the_neighbours_with_gaps_between() {
        let p = pager(10, 20, |n| format!("{n}/"), false).expect("a pager");
        let numbers: Vec<Option<u64>> = p
            .items
            .iter()
            .map(|i| i.as_ref().map(|(n, ..)| *n))
            .collect();
        assert_eq!(
            numbers,
            vec![
                Some(1),
                None,
                Some(8),
                Some(9),
                Some(10),
                Some(11),
                Some(12),
                None,
                Some(20)
            ]
        );
        assert_eq!(p.prev.as_deref(), Some("9/"));
        assert_eq!(p.next.as_deref(), Some("11/"));
        assert!(pager(1, 1, |n| n.to_string(), false).is_none());
        let first = pager(1, 3, |n| n.to_string(), true).expect("a pager");
        assert!(first.prev.is_none());
        assert_eq!(first.prev_label, "Newer");
    }

    #[test]
    fn search_links_carry_the_query_order_and_cursor_back_unchanged() {
        let q = "from:\"Brave Otter\" a&b=c #x 100% é";
        for sort in [Sort::Relevance, Sort::Newest, Sort::Oldest] {
            let href = search_href(q, sort, Some("abc-_123"));
            let params = SearchParams::parse(href.trim_start_matches('?'));
            assert_eq!(params.q, q);
            assert_eq!(params.cursor.as_deref(), Some("abc-_123"));
            let named = SORTS.iter().find(|(s, ..)| *s == sort).map(|(_, v, _)| *v);
            // Relevance is the default, left out of the link.
            assert_eq!(params.sort.as_deref(), named.filter(|v| *v != "relevance"));
        }
        let params = SearchParams::parse("q=first&q=second&sort=&cursor=&x=1");
        assert_eq!(params.q, "first");
        assert_eq!((params.sort, params.cursor), (None, None));
        assert_eq!(SearchParams::parse("%FF%%q").q, "");
        assert_eq!(SearchParams::parse("q=a+b%2Bc").q, "a b+c");
        assert_eq!(capitalized("unbalanced quote"), "Unbalanced quote");
        assert_eq!(capitalized(""), "");
    }

    #[test]
    fn json_ld_cannot_close_its_script_element() {
        let text = json_ld(&serde_json::json!({"text": "</script><script>alert(1)</script><!--"}));
        assert!(!text.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back["text"], "</script><script>alert(1)</script><!--");
    }
}
