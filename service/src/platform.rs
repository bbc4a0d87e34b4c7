//! The platform-agnostic view of a chat platform that the sync engine works against.
//!
//! The sync engine (`crate::sync`) only knows these types and the [`PlatformAdapter`] trait;
//! `crate::discord` implements it for Discord. Message ids are numeric snowflakes (`u64`) so
//! cursors compare numerically; everything else is the platform's own id as a string.

use chrono::{DateTime, Utc};

/// What kind of channel a platform channel is stored as (`channels.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// A channel with messages (Discord text and announcement channels).
    Text,
    /// A forum whose posts are threads; it has no messages itself.
    Forum,
    /// A grouping of channels; no messages.
    Category,
    /// A public thread or forum post.
    Thread,
}

impl ChannelKind {
    /// The value stored in `channels.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Text => "text",
            ChannelKind::Forum => "forum",
            ChannelKind::Category => "category",
            ChannelKind::Thread => "thread",
        }
    }

    /// Whether channels of this kind carry messages of their own.
    pub fn has_messages(self) -> bool {
        matches!(self, ChannelKind::Text | ChannelKind::Thread)
    }
}

/// A channel, thread or category that @everyone can see.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformChannel {
    /// The platform's channel id (Discord snowflake).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Stored kind.
    pub kind: ChannelKind,
    /// The platform id of the parent (category for channels, channel/forum for threads).
    pub parent_id: Option<String>,
    /// Id of the newest message as the platform reports it; `None` when unknown or empty.
    pub last_message_id: Option<u64>,
    /// Platform details stored in `channels.metadata` (type number, position, thread flags).
    pub metadata: serde_json::Value,
}

/// Everything discovery found in a community.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Visible channels, categories, forums and threads.
    pub channels: Vec<PlatformChannel>,
    /// Parents whose thread listing failed: their stored threads must not be marked vanished.
    pub incomplete_parents: Vec<String>,
}

/// A reaction on a message: the emoji, how to ask the platform for its users, and a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformReaction {
    /// Stored form: the unicode character(s), `<:name:id>` or `<a:name:id>`.
    pub emoji: String,
    /// Custom emoji id, `None` for unicode emoji.
    pub custom_id: Option<u64>,
    /// Custom emoji name or the unicode emoji itself.
    pub name: Option<String>,
    /// How many users reacted.
    pub count: u64,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformAttachment {
    /// The platform's attachment id (deterministic row ids derive from it).
    pub id: String,
    /// File name.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type when the platform knows it.
    pub content_type: Option<String>,
    /// Download URL.
    pub url: String,
}

/// Users, roles and channels a message mentions (raw platform ids).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Mentioned user ids.
    pub users: Vec<String>,
    /// Mentioned role ids.
    pub roles: Vec<String>,
    /// Whether @everyone/@here was mentioned.
    pub everyone: bool,
}

/// One message as the platform returns it (raw ids; the sync pseudonymises them).
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformMessage {
    /// Message snowflake.
    pub id: u64,
    /// Author's user id (or webhook id).
    pub author_id: String,
    /// Raw content, empty when absent.
    pub content: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it was last edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// Platform message type number.
    pub kind: u8,
    /// Whether it is pinned.
    pub pinned: bool,
    /// Platform id of the message it replies to.
    pub reply_to_id: Option<String>,
    /// Mentions.
    pub mentions: Mentions,
    /// Reactions, one per emoji.
    pub reactions: Vec<PlatformReaction>,
    /// Attachments.
    pub attachments: Vec<PlatformAttachment>,
}

/// Why a platform call failed, classified for the sync's retry and failure rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The bot token was refused (HTTP 401): the whole job fails at once.
    #[error("the platform refused the bot token (401 Unauthorized): {0}")]
    Unauthorized(String),
    /// The bot may not read this resource (HTTP 403).
    #[error("missing access (403 Forbidden): {0}")]
    Forbidden(String),
    /// The resource does not exist (HTTP 404).
    #[error("not found (404): {0}")]
    NotFound(String),
    /// A server error, time-out or network failure that may succeed when retried.
    #[error("transient failure{}: {message}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Transient {
        /// HTTP status when there was a response.
        status: Option<u16>,
        /// What happened.
        message: String,
    },
    /// Anything else (a malformed response, a rejected request).
    #[error("request failed{}: {message}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Other {
        /// HTTP status when there was a response.
        status: Option<u16>,
        /// What happened.
        message: String,
    },
}

impl PlatformError {
    /// Whether retrying the same call may succeed (5xx, network, time-out).
    pub fn is_transient(&self) -> bool {
        matches!(self, PlatformError::Transient { .. })
    }

    /// HTTP status of the failure, when known.
    pub fn status(&self) -> Option<u16> {
        match self {
            PlatformError::Unauthorized(_) => Some(401),
            PlatformError::Forbidden(_) => Some(403),
            PlatformError::NotFound(_) => Some(404),
            PlatformError::Transient { status, .. } | PlatformError::Other { status, .. } => {
                *status
            }
        }
    }
}

impl From<PlatformError> for crate::Error {
    fn from(err: PlatformError) -> Self {
        crate::Error::Upstream {
            platform: crate::tenants::Platform::Discord.as_str(),
            status: err.status(),
            message: err.to_string(),
        }
    }
}

/// A chat platform as the sync needs it. One instance per process, shared by all jobs.
///
/// Implementations pace their own requests (rate limits, `retry_after`); callers retry
/// [`PlatformError::Transient`] failures themselves.
#[async_trait::async_trait]
pub trait PlatformAdapter: Send + Sync {
    /// Channels, categories, forums and threads of `community_id` that @everyone can see.
    async fn discover(&self, community_id: &str) -> Result<Discovery, PlatformError>;

    /// Up to `limit` (1..=100) messages of `channel_id` with ids above `after` (0 = from the
    /// start), oldest first.
    async fn messages_after(
        &self,
        channel_id: &str,
        after: u64,
        limit: u16,
    ) -> Result<Vec<PlatformMessage>, PlatformError>;

    /// Every user id that reacted to `message_id` with `reaction` (all pages).
    async fn reaction_users(
        &self,
        channel_id: &str,
        message_id: u64,
        reaction: &PlatformReaction,
    ) -> Result<Vec<String>, PlatformError>;

    /// Fresh signed links for attachment `urls` (at most 50): `(original, refreshed)` pairs,
    /// `original` exactly as given. Links the platform does not recognise are left out.
    async fn refresh_attachment_urls(
        &self,
        urls: &[String],
    ) -> Result<Vec<(String, String)>, PlatformError>;

    /// Number of HTTP requests this adapter has issued (for metrics and benchmarks).
    fn requests_made(&self) -> u64;
}

/// The creation time encoded in a Discord snowflake.
pub fn snowflake_time(id: u64) -> DateTime<Utc> {
    const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;
    let ms = i64::try_from(id >> 22).unwrap_or(i64::MAX / 2) + DISCORD_EPOCH_MS;
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// The smallest snowflake created at `time` (for `after=` paging from a point in time).
pub fn snowflake_at(time: DateTime<Utc>) -> u64 {
    const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;
    let ms = (time.timestamp_millis() - DISCORD_EPOCH_MS).max(0);
    u64::try_from(ms).unwrap_or(0) << 22
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_time_round_trips_through_snowflake_at() {
        let t = DateTime::<Utc>::from_timestamp_millis(1_700_000_000_123).unwrap_or_default();
        assert_eq!(snowflake_time(snowflake_at(t)), t);
        // Discord's documented example: 175928847299117063 -> 2016-04-30T11:18:25.796Z
        assert_eq!(
            snowflake_time(175_928_847_299_117_063).to_rfc3339(),
            "2016-04-30T11:18:25.796+00:00"
        );
    }

    #[test]
    fn only_threads_and_text_channels_carry_messages() {
        assert!(ChannelKind::Text.has_messages());
        assert!(ChannelKind::Thread.has_messages());
        assert!(!ChannelKind::Forum.has_messages());
        assert!(!ChannelKind::Category.has_messages());
    }
}
