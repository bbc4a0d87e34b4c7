//! Ground truth: exactly what Verta must store for a guild (docs/design.md, "Sync model"), with
//! raw Discord ids (Verta pseudonymises them itself). Messages are streamed, never
//! collected, so the truth of a ten-million-message channel costs no memory.

use chrono::{DateTime, Utc};

use super::files::{Content, ContentReader};
use super::guild::Guild;
use super::model::{ChannelKind, ChannelMeta, Message, VIEW_CHANNEL};
use super::store::Store;

/// A channel Verta must store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthChannel {
    /// Discord channel / thread id.
    pub platform_id: u64,
    /// Name.
    pub name: String,
    /// Verta's type: `text` (text + announcement), `forum`, `thread` (public +
    /// announcement threads, forum posts) or `category`.
    pub kind: &'static str,
    /// Discord's numeric type.
    pub discord_type: u8,
    /// Category (channels) or parent channel (threads).
    pub parent_platform_id: Option<u64>,
}

/// A reaction row: one (emoji, user) pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TruthReaction {
    /// Emoji as Verta stores it: the unicode string, `<:name:id>` or `<a:name:id>`.
    pub emoji: String,
    /// Raw reacting user id.
    pub user_id: u64,
}

/// An attachment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthAttachment {
    /// Discord attachment id.
    pub id: u64,
    /// File name.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type when Discord sent one.
    pub content_type: Option<String>,
    /// CDN URL as the fake serves it now (signed, see [`super::Signer::links_at`] for why
    /// two renders within a short window agree); from [`TruthMessage::from`] alone, the
    /// unsigned URL.
    pub url: String,
    /// The bytes the CDN serves (`size` of them).
    pub content: Content,
}

impl TruthAttachment {
    /// Expected SHA-256 of the bytes, lowercase hex (generates them: O(size) time, O(1)
    /// memory).
    pub fn sha256_hex(&self) -> String {
        self.content.sha256_hex()
    }

    /// The expected bytes as a reader.
    pub fn reader(&self) -> ContentReader {
        self.content.reader()
    }
}

/// A message Verta must store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthMessage {
    /// Discord message id.
    pub platform_id: u64,
    /// Channel / thread id.
    pub channel_id: u64,
    /// Raw author id.
    pub author_id: u64,
    /// Content as served (raw mentions `<@id>` / `<@!id>`).
    pub content: String,
    /// Replied-to message id (also when that message was deleted).
    pub reply_to: Option<u64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last edit time.
    pub edited_at: Option<DateTime<Utc>>,
    /// Reaction rows, sorted.
    pub reactions: Vec<TruthReaction>,
    /// Attachments in message order.
    pub attachments: Vec<TruthAttachment>,
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl From<Message> for TruthMessage {
    fn from(m: Message) -> Self {
        let mut reactions: Vec<TruthReaction> = m
            .reactions
            .iter()
            .flat_map(|r| {
                let emoji = r.emoji.verta_string();
                r.users.iter().map(move |u| TruthReaction {
                    emoji: emoji.clone(),
                    user_id: *u,
                })
            })
            .collect();
        reactions.sort();
        TruthMessage {
            platform_id: m.id,
            channel_id: m.channel_id,
            author_id: m.author_id,
            content: m.content,
            reply_to: m.reply_to,
            created_at: utc(m.timestamp_ms),
            edited_at: m.edited_ms.map(utc),
            reactions,
            attachments: m
                .attachments
                .into_iter()
                .map(|a| TruthAttachment {
                    content: a.content(),
                    id: a.id,
                    filename: a.filename,
                    size: a.size,
                    content_type: a.content_type,
                    url: a.url,
                })
                .collect(),
        }
    }
}

/// Whether @everyone can view a channel as generated: the @everyone role's permissions,
/// then the channel's @everyone overwrite (deny, then allow). Threads: public and
/// announcement threads whose parent is visible; private threads never.
pub fn everyone_can_view(g: &Guild, ch: &ChannelMeta) -> bool {
    if ch.kind.is_thread() {
        return ch.kind != ChannelKind::PrivateThread
            && ch
                .parent_id
                .and_then(|p| g.channel(p))
                .is_some_and(|p| everyone_can_view(g, p));
    }
    overwrites_allow_view(g, ch)
}

/// [`everyone_can_view`] in the state the store serves now (runtime deletions and
/// visibility changes applied).
pub fn everyone_can_view_now(store: &Store, g: &Guild, ch: &ChannelMeta) -> bool {
    if store.channel(ch.id).is_none() {
        return false;
    }
    if ch.kind.is_thread() {
        return ch.kind != ChannelKind::PrivateThread
            && ch
                .parent_id
                .and_then(|p| store.channel(p))
                .is_some_and(|(_, p)| everyone_can_view_now(store, g, p));
    }
    overwrites_allow_view(g, &store.current(ch))
}

fn overwrites_allow_view(g: &Guild, ch: &ChannelMeta) -> bool {
    let mut perms = g
        .roles
        .iter()
        .find(|r| r.id == g.id)
        .map(|r| r.permissions)
        .unwrap_or(0);
    if let Some(o) = ch.overwrites.iter().find(|o| o.kind == 0 && o.id == g.id) {
        perms = (perms & !o.deny) | o.allow;
    }
    perms & VIEW_CHANNEL != 0
}

/// Verta's channel type for a Discord kind (`None`: not archived).
pub fn verta_kind(kind: ChannelKind) -> Option<&'static str> {
    match kind {
        ChannelKind::Text | ChannelKind::Announcement => Some("text"),
        ChannelKind::Forum => Some("forum"),
        ChannelKind::Category => Some("category"),
        ChannelKind::PublicThread | ChannelKind::AnnouncementThread => Some("thread"),
        ChannelKind::Voice | ChannelKind::Stage | ChannelKind::PrivateThread => None,
    }
}

/// What Verta must store for one guild, in the state the fake serves right now
/// (runtime additions, edits and deletions of messages included; channels deleted or
/// hidden at runtime are left out, although Verta keeps the rows it stored earlier and
/// marks them).
#[derive(Debug)]
pub struct GuildTruth<'a> {
    store: &'a Store,
    guild: &'a Guild,
    /// Channels, threads, forum posts and categories to store, in creation order.
    pub channels: Vec<TruthChannel>,
}

impl<'a> GuildTruth<'a> {
    /// The truth of guild `guild_id` of `store` (`None` for an unknown guild).
    pub fn of(store: &'a Store, guild_id: u64) -> Option<GuildTruth<'a>> {
        let guild = store.guild(guild_id)?;
        let channels = store
            .channels(guild)
            .filter(|c| everyone_can_view_now(store, guild, c))
            .filter_map(|c| {
                Some(TruthChannel {
                    platform_id: c.id,
                    name: c.name.clone(),
                    kind: verta_kind(c.kind)?,
                    discord_type: c.kind.discord_type(),
                    parent_platform_id: c.parent_id,
                })
            })
            .collect();
        Some(GuildTruth {
            store,
            guild,
            channels,
        })
    }

    /// The guild.
    pub fn guild(&self) -> &Guild {
        self.guild
    }

    /// Channels that hold messages (text and thread types).
    pub fn message_channels(&self) -> impl Iterator<Item = &TruthChannel> {
        self.channels
            .iter()
            .filter(|c| c.kind == "text" || c.kind == "thread")
    }

    /// The messages of one stored channel, ascending by id, streamed. Empty for channels
    /// that are not stored or hold no messages.
    pub fn messages(&self, channel_id: u64) -> Box<dyn Iterator<Item = TruthMessage> + 'a> {
        let stored = self
            .channels
            .iter()
            .any(|c| c.platform_id == channel_id && (c.kind == "text" || c.kind == "thread"));
        match self.store.channel(channel_id) {
            Some((_, ch)) if stored => {
                let links = self.store.signer().links(false);
                Box::new(self.store.iter_messages(ch).map(move |m| {
                    let mut t = TruthMessage::from(m);
                    for a in &mut t.attachments {
                        a.url = links.sign(&a.url);
                    }
                    t
                }))
            }
            _ => Box::new(std::iter::empty()),
        }
    }

    /// Messages of the channel deleted at runtime (a sync that stored them earlier must
    /// mark them deleted, never remove them), ascending.
    pub fn deleted_messages(&self, channel_id: u64) -> Vec<u64> {
        self.store.deleted_ids(channel_id)
    }

    /// Total number of messages to store (iterates every channel: O(messages) time,
    /// O(1) memory).
    pub fn message_count(&self) -> u64 {
        self.message_channels()
            .map(|c| self.messages(c.platform_id).count() as u64)
            .sum()
    }
}
