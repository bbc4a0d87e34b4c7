//! Data types of the fake (channels, users, messages, emoji, reactions, attachments) and
//! snowflake arithmetic. Generation lives in `guild.rs`: channel metadata is materialised
//! (it is small); messages are computed on demand, so a channel of ten million messages
//! costs no memory: message `i` of a channel has the id
//! `snowflake(first_ms + i * step_ms + jitter(i), slot, i & 0xFFF)`, strictly increasing
//! in `i`, and an id is mapped back to its index by binary search.

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;
/// Default end of generated history ([`GuildSpec::generated_until_ms`]):
/// 2026-01-01T00:00:00Z in Unix ms. Messages added at runtime get later ids.
pub const GENERATED_END_MS: i64 = 1_767_225_600_000;

/// `VIEW_CHANNEL` permission bit.
pub const VIEW_CHANNEL: u64 = 1 << 10;
/// `SEND_MESSAGES` permission bit.
pub const SEND_MESSAGES: u64 = 1 << 11;
/// `READ_MESSAGE_HISTORY` permission bit.
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
/// `ADD_REACTIONS` permission bit.
pub const ADD_REACTIONS: u64 = 1 << 6;
/// `MANAGE_MESSAGES` permission bit.
pub const MANAGE_MESSAGES: u64 = 1 << 13;
/// `ADMINISTRATOR` permission bit.
pub const ADMINISTRATOR: u64 = 1 << 3;

/// Builds a snowflake from a Unix-ms timestamp, a 10-bit worker slot and a 12-bit sequence.
pub fn snowflake(unix_ms: i64, slot: u16, seq: u64) -> u64 {
    let ms = (unix_ms - DISCORD_EPOCH_MS).max(0) as u64;
    (ms << 22) | ((u64::from(slot) & 0x3FF) << 12) | (seq & 0xFFF)
}

/// The Unix-ms timestamp embedded in a snowflake.
pub fn snowflake_ms(id: u64) -> i64 {
    (id >> 22) as i64 + DISCORD_EPOCH_MS
}

/// splitmix64: the one hash behind every generated choice.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of three values.
pub(crate) fn h3(a: u64, b: u64, c: u64) -> u64 {
    mix(mix(mix(a) ^ b) ^ c)
}

/// Whether a hash value falls within `share` (0..=1).
pub(crate) fn chance(r: u64, share: f64) -> bool {
    share > 0.0 && ((r % 1_000_000) as f64) < share * 1_000_000.0
}

/// Channel and thread kinds the generator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// Type 4.
    Category,
    /// Type 0.
    Text,
    /// Type 5.
    Announcement,
    /// Type 2.
    Voice,
    /// Type 13 (stage; text-in-stage messages).
    Stage,
    /// Type 15.
    Forum,
    /// Type 11 (also forum posts).
    PublicThread,
    /// Type 10 (thread of an announcement channel).
    AnnouncementThread,
    /// Type 12.
    PrivateThread,
}

impl ChannelKind {
    /// Discord's numeric channel type.
    pub fn discord_type(self) -> u8 {
        match self {
            ChannelKind::Category => 4,
            ChannelKind::Text => 0,
            ChannelKind::Announcement => 5,
            ChannelKind::Voice => 2,
            ChannelKind::Stage => 13,
            ChannelKind::Forum => 15,
            ChannelKind::PublicThread => 11,
            ChannelKind::AnnouncementThread => 10,
            ChannelKind::PrivateThread => 12,
        }
    }

    /// Whether this is a thread kind.
    pub fn is_thread(self) -> bool {
        matches!(
            self,
            ChannelKind::PublicThread
                | ChannelKind::AnnouncementThread
                | ChannelKind::PrivateThread
        )
    }

    /// Whether messages can be listed in channels of this kind.
    pub fn has_messages(self) -> bool {
        !matches!(self, ChannelKind::Category | ChannelKind::Forum)
    }

    /// Whether public archived threads can be listed for channels of this kind.
    pub fn has_threads(self) -> bool {
        matches!(
            self,
            ChannelKind::Text | ChannelKind::Announcement | ChannelKind::Forum
        )
    }
}

/// A permission overwrite (`type` 0 = role, 1 = member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overwrite {
    /// Role or user id (the @everyone role's id is the guild id).
    pub id: u64,
    /// 0 = role, 1 = member.
    pub kind: u8,
    /// Allowed permission bits.
    pub allow: u64,
    /// Denied permission bits.
    pub deny: u64,
}

/// Thread metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Whether the thread is archived.
    pub archived: bool,
    /// Archive (or last activity) time, Unix ms.
    pub archive_ms: i64,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// Whether the thread is locked.
    pub locked: bool,
    /// User who created the thread.
    pub owner_id: u64,
    /// Auto-archive duration in minutes.
    pub auto_archive_minutes: u32,
    /// Forum post (its id equals its starter message's id).
    pub forum_post: bool,
    /// A spare slot for a thread created at runtime ([`super::Store::create_thread`]); not
    /// served before that.
    pub spare: bool,
}

/// One channel or thread of a generated guild; messages are computed from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelMeta {
    /// Channel id.
    pub id: u64,
    /// Kind.
    pub kind: ChannelKind,
    /// Name.
    pub name: String,
    /// Position among siblings.
    pub position: i32,
    /// Category (channels) or parent channel (threads).
    pub parent_id: Option<u64>,
    /// Permission overwrites (empty for threads).
    pub overwrites: Vec<Overwrite>,
    /// Topic (text, announcement, forum).
    pub topic: Option<String>,
    /// Snowflake worker slot shared by the channel id and its message ids.
    pub slot: u16,
    /// Number of generated message slots (deleted slots included).
    pub message_count: u64,
    /// Timestamp of message slot 0, Unix ms.
    pub first_ms: i64,
    /// Milliseconds between consecutive slots (>= 1).
    pub step_ms: i64,
    /// Thread metadata for threads.
    pub thread: Option<ThreadInfo>,
}

impl ChannelMeta {
    /// Timestamp (Unix ms) of generated slot `i`.
    pub fn slot_ms(&self, i: u64) -> i64 {
        let jitter = if i == 0 || self.step_ms <= 1 {
            0
        } else {
            (mix(self.id ^ i.wrapping_mul(0x1000_0001)) % self.step_ms as u64) as i64
        };
        self.first_ms + i as i64 * self.step_ms + jitter
    }

    /// Message id of generated slot `i`.
    pub fn slot_id(&self, i: u64) -> u64 {
        snowflake(self.slot_ms(i), self.slot, i)
    }

    /// The smallest slot index whose id is greater than `id` (`message_count` if none).
    pub fn first_slot_after(&self, id: u64) -> u64 {
        let (mut lo, mut hi) = (0u64, self.message_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.slot_id(mid) > id {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    /// The slot index holding exactly `id`, if any.
    pub fn slot_of(&self, id: u64) -> Option<u64> {
        let i = self.first_slot_after(id.checked_sub(1)?);
        (i < self.message_count && self.slot_id(i) == id).then_some(i)
    }

    /// Id of the newest generated slot.
    pub fn last_generated_id(&self) -> Option<u64> {
        self.message_count.checked_sub(1).map(|i| self.slot_id(i))
    }
}

/// A guild role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Role id (@everyone: the guild id).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Permission bits.
    pub permissions: u64,
    /// Position.
    pub position: i32,
    /// Colour.
    pub color: u32,
    /// Managed by an integration (the bot's role).
    pub managed: bool,
    /// For the bot's managed role: the bot user id.
    pub bot_id: Option<u64>,
}

/// A user of the generated pool (or the bot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub id: u64,
    /// Username.
    pub username: String,
    /// Display name.
    pub global_name: Option<String>,
    /// Whether this is a bot.
    pub bot: bool,
}

/// A reaction emoji.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Emoji {
    /// A unicode emoji (possibly a multi-codepoint sequence).
    Unicode(String),
    /// A custom guild emoji.
    Custom {
        /// Emoji id.
        id: u64,
        /// Emoji name.
        name: String,
        /// Animated (`<a:name:id>`).
        animated: bool,
    },
}

impl Emoji {
    /// The emoji as Verta stores it: the unicode string, `<:name:id>` or `<a:name:id>`.
    pub fn verta_string(&self) -> String {
        match self {
            Emoji::Unicode(s) => s.clone(),
            Emoji::Custom { id, name, animated } => {
                format!("<{}:{name}:{id}>", if *animated { "a" } else { "" })
            }
        }
    }

    /// The emoji as it appears in a reaction URL path: percent-encoded unicode or `name:id`.
    pub fn url_segment(&self) -> String {
        match self {
            Emoji::Unicode(s) => {
                let mut out = String::new();
                for b in s.bytes() {
                    if b.is_ascii_alphanumeric() {
                        out.push(b as char);
                    } else {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
                out
            }
            Emoji::Custom { id, name, .. } => format!("{name}:{id}"),
        }
    }
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// The emoji.
    pub emoji: Emoji,
    /// Ids of the users who reacted, ascending.
    pub users: Vec<u64>,
}

/// Attachment metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Attachment id.
    pub id: u64,
    /// File name.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type, absent for some files (Discord omits it when it cannot tell).
    pub content_type: Option<String>,
    /// CDN URL without its signature
    /// (`https://cdn.discordapp.com/attachments/<channel>/<attachment>/<name>`): messages
    /// are served with it signed (`?ex=..&is=..&hm=..&`, see [`super::Signer`]).
    pub url: String,
    /// Image dimensions.
    pub dimensions: Option<(u32, u32)>,
    /// Seed of the bytes the fake's CDN serves for it (see [`Attachment::content`]).
    pub content_seed: u64,
}

impl Attachment {
    /// The bytes the fake's CDN serves for this attachment (`size` of them).
    pub fn content(&self) -> super::files::Content {
        super::files::Content {
            seed: self.content_seed,
            size: self.size,
        }
    }

    /// The last segment of the URL's path (the file name as the CDN path carries it).
    pub fn url_name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or_default()
    }
}

/// A message as served (generated, or from the runtime overlay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message id.
    pub id: u64,
    /// Channel (or thread) id.
    pub channel_id: u64,
    /// Author user id.
    pub author_id: u64,
    /// 0 = default, 19 = reply.
    pub kind: u8,
    /// Content (mentions as `<@id>` / `<@!id>`).
    pub content: String,
    /// Creation time, Unix ms (equals the id's timestamp).
    pub timestamp_ms: i64,
    /// Last edit time, Unix ms.
    pub edited_ms: Option<i64>,
    /// Replied-to message id (may be a deleted message).
    pub reply_to: Option<u64>,
    /// Mentioned user ids.
    pub mentions: Vec<u64>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Reactions, one entry per emoji.
    pub reactions: Vec<Reaction>,
}
