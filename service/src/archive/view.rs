//! The JSON shapes of archived data, with the original's field names (camelCase, timestamps as
//! ISO-8601 UTC with milliseconds and `Z`). Shared by the read API and the export files; every
//! type also deserializes so tests can read exports back.
//!
//! Only pseudonymised user ids appear here (`anonymizedAuthorId`, `anonymizedUserId`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use entity::{channels, message_attachments, message_emoji_reactions, messages, tenant_branding};

use crate::tenants::Tenant;

/// Serde helpers for timestamps in the original's format (`2024-05-01T12:00:00.000Z`).
pub mod ts {
    use super::*;

    /// Serialize a timestamp as RFC 3339 with milliseconds and `Z`.
    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0; MILLIS_LEN];
        match write_millis(t, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }

    /// Length of `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    const MILLIS_LEN: usize = 24;

    /// `t` as chrono's `to_rfc3339_opts(SecondsFormat::Millis, true)` writes it, into `buf`
    /// without allocating (every message carries three timestamps, and the read API and the
    /// export write them by the million); `None` for what the fixed layout cannot hold (years
    /// outside 0-9999, leap seconds), which the caller hands to chrono.
    pub(crate) fn write_millis<'b>(
        t: &DateTime<Utc>,
        buf: &'b mut [u8; MILLIS_LEN],
    ) -> Option<&'b str> {
        use chrono::{Datelike, Timelike};
        // The naive UTC value once: each getter of a `DateTime` re-applies the offset.
        let t = t.naive_utc();
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let millis = t.nanosecond() / 1_000_000;
        if millis >= 1000 {
            return None;
        }
        let fields: [(usize, u32, usize); 7] = [
            (0, year, 4),
            (5, t.month(), 2),
            (8, t.day(), 2),
            (11, t.hour(), 2),
            (14, t.minute(), 2),
            (17, t.second(), 2),
            (20, millis, 3),
        ];
        for (at, mut value, width) in fields {
            for slot in buf[at..at + width].iter_mut().rev() {
                // A digit: `value % 10` is below 10.
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        for (at, sep) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
        ] {
            buf[at] = sep;
        }
        buf[23] = b'Z';
        std::str::from_utf8(&buf[..]).ok()
    }

    /// Parse any RFC 3339 timestamp.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }

    /// The same for optional timestamps (`null` when absent).
    pub mod option {
        use super::*;

        /// Serialize `Some` like [`super::serialize`], `None` as `null`.
        pub fn serialize<S: serde::Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        /// Parse an optional RFC 3339 timestamp.
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<DateTime<Utc>>::deserialize(d)
        }
    }
}

/// A tenant: exactly the original's eight fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// Internal id (UUID).
    pub id: String,
    /// Display name.
    pub name: String,
    /// URL handle.
    pub slug: String,
    /// `ACTIVE`, `CANCELLED` or `MAINTENANCE`.
    pub status: String,
    /// `discord` or `slack`.
    pub platform: String,
    /// The platform's id of the community.
    pub platform_id: String,
    /// Row creation time.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "ts")]
    pub updated_at: DateTime<Utc>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            slug: t.slug,
            status: t.status.as_str().to_owned(),
            platform: t.platform.as_str().to_owned(),
            platform_id: t.platform_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A tenant's branding as the read API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrandingView {
    /// Internal id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Logo URL or data URI.
    pub logo: Option<String>,
    /// `#rrggbb`.
    pub primary_color: String,
    /// `#rrggbb`.
    pub secondary_color: String,
    /// `#rrggbb`.
    pub accent_color: String,
    /// Row creation time.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "ts")]
    pub updated_at: DateTime<Utc>,
}

impl From<tenant_branding::Model> for BrandingView {
    fn from(b: tenant_branding::Model) -> Self {
        Self {
            id: b.id,
            tenant_id: b.tenant_id,
            logo: b.logo,
            primary_color: b.primary_color,
            secondary_color: b.secondary_color,
            accent_color: b.accent_color,
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// An archived channel, thread, forum or category (the export's `metadata.json` entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    /// Internal id (UUID).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Discord channel snowflake.
    pub platform_channel_id: String,
    /// Channel name (thread title for forum posts).
    pub name: String,
    /// `text`, `thread`, `forum` or `category`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Discord snowflake of the parent channel (category, or the thread's channel/forum).
    pub parent_channel_id: Option<String>,
    /// Free-form platform metadata (topic, archived flags, ...).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Row creation time.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "ts")]
    pub updated_at: DateTime<Utc>,
}

impl From<channels::Model> for ChannelView {
    fn from(c: channels::Model) -> Self {
        Self {
            id: c.id,
            tenant_id: c.tenant_id,
            platform_channel_id: c.platform_channel_id,
            name: c.name,
            kind: c.r#type,
            parent_channel_id: c.parent_channel_id,
            metadata: c.metadata,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A channel with its activity: what the read API returns for channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelSummary {
    /// The channel's own fields.
    #[serde(flatten)]
    pub channel: ChannelView,
    /// Number of archived messages.
    pub message_count: u64,
    /// `platformCreatedAt` of the newest message; `null` when there is none.
    #[serde(with = "ts::option")]
    pub last_activity: Option<DateTime<Utc>>,
}

/// One reaction row: one user's emoji on one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionView {
    /// Internal id.
    pub id: String,
    /// The message's internal id.
    pub message_id: String,
    /// Unicode emoji or `<:name:id>` / `<a:name:id>`.
    pub emoji: String,
    /// Pseudonymised id of the reacting user.
    pub anonymized_user_id: String,
    /// Row creation time.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
}

impl From<message_emoji_reactions::Model> for ReactionView {
    fn from(r: message_emoji_reactions::Model) -> Self {
        Self {
            id: r.id,
            message_id: r.message_id,
            emoji: r.emoji,
            anonymized_user_id: r.anonymized_user_id,
            created_at: r.created_at,
        }
    }
}

/// Reactions of one message aggregated per emoji (read API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionCount {
    /// The emoji.
    pub emoji: String,
    /// How many users reacted with it.
    pub count: u64,
}

/// One attachment's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    /// Internal id.
    pub id: String,
    /// The message's internal id.
    pub message_id: String,
    /// Original file name.
    pub filename: String,
    /// Size in bytes.
    pub file_size: i64,
    /// MIME type.
    pub content_type: String,
    /// Discord CDN URL.
    pub url: String,
    /// Row creation time.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    /// Whether the file's bytes are stored and where to get them (read API); in an export
    /// written with its files, the stored file's path beside the JSON. Absent from plain
    /// exports, which stay as they were before files were stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<FileStatus>)]
    pub file: Option<AttachmentFile>,
}

impl From<message_attachments::Model> for AttachmentView {
    fn from(a: message_attachments::Model) -> Self {
        Self {
            id: a.id,
            message_id: a.message_id,
            filename: a.filename,
            file_size: a.file_size,
            content_type: a.content_type,
            url: a.url,
            created_at: a.created_at,
            file: None,
        }
    }
}

/// The `file` of an attachment: its status (read API) or, in an export written with its
/// files, the path of the stored file relative to the tenant's directory (`files/<sha256>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AttachmentFile {
    /// Whether the bytes are stored, and where to get them.
    Status(FileStatus),
    /// Path of the stored file in an export.
    Path(String),
}

/// Whether an attachment's bytes are stored, and where the read API serves them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FileStatus {
    /// `stored`, `pending` (not downloaded yet), `skipped` or `gone` (no bytes, see `reason`).
    #[schema(example = "stored")]
    pub state: String,
    /// Where the bytes are served (`/api/v1/attachments/<id>`, same tenant header); only when
    /// stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// SHA-256 of the bytes (lowercase hex); only when stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size of the stored bytes; only when stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    /// Why there are no bytes; only when skipped or gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl FileStatus {
    /// The status of attachment `attachment_id` from its `attachment_files` columns (all
    /// `None` when it has no row yet: it is then pending, like a queued file).
    pub fn from_columns(
        attachment_id: &str,
        state: Option<String>,
        sha256: Option<String>,
        bytes: Option<i64>,
        reason: Option<String>,
    ) -> Self {
        use crate::files::state as s;
        match state.as_deref() {
            Some(s::STORED) if sha256.is_some() => Self {
                state: s::STORED.to_owned(),
                url: Some(format!("/api/v1/attachments/{attachment_id}")),
                sha256,
                bytes,
                reason: None,
            },
            Some(final_state @ (s::SKIPPED | s::GONE)) => Self {
                state: final_state.to_owned(),
                url: None,
                sha256: None,
                bytes: None,
                reason: Some(reason.unwrap_or_default()),
            },
            _ => Self {
                state: s::PENDING.to_owned(),
                url: None,
                sha256: None,
                bytes: None,
                reason: None,
            },
        }
    }

    /// The SHA-256 of the stored bytes, when stored.
    pub fn stored_sha256(&self) -> Option<&str> {
        (self.state == crate::files::state::STORED)
            .then_some(self.sha256.as_deref())
            .flatten()
    }
}

impl AttachmentView {
    /// The SHA-256 of the attachment's stored bytes, when its `file` says they are stored.
    pub fn stored_sha256(&self) -> Option<&str> {
        match &self.file {
            Some(AttachmentFile::Status(s)) => s.stored_sha256(),
            _ => None,
        }
    }
}

/// An archived message with its reactions and attachments (both ordered by creation time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    /// Internal id (UUID).
    pub id: String,
    /// Internal id of the channel.
    pub channel_id: String,
    /// Discord message snowflake.
    pub platform_message_id: String,
    /// Pseudonymised author id.
    pub anonymized_author_id: String,
    /// Message text (mentions pseudonymised).
    pub content: String,
    /// Discord snowflake of the message this one replies to.
    pub reply_to_id: Option<String>,
    /// Free-form platform metadata (embeds, edit time, deletion marks, ...).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// When Discord says the message was sent.
    #[serde(with = "ts")]
    pub platform_created_at: DateTime<Utc>,
    /// Row creation time.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "ts")]
    pub updated_at: DateTime<Utc>,
    /// Raw reaction rows, one per (user, emoji).
    pub reactions: Vec<ReactionView>,
    /// Attachments.
    pub attachments: Vec<AttachmentView>,
    /// Reactions aggregated per emoji, most used first (read API only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_counts: Option<Vec<ReactionCount>>,
}

impl MessageView {
    /// Build a message view from its row and its (already ordered) reactions and attachments.
    pub fn new(
        m: messages::Model,
        reactions: Vec<ReactionView>,
        attachments: Vec<AttachmentView>,
    ) -> Self {
        Self {
            id: m.id,
            channel_id: m.channel_id,
            platform_message_id: m.platform_message_id,
            anonymized_author_id: m.anonymized_author_id,
            content: m.content,
            reply_to_id: m.reply_to_id,
            metadata: m.metadata,
            platform_created_at: m.platform_created_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            reactions,
            attachments,
            reaction_counts: None,
        }
    }

    /// Fill `reactionCounts` from the raw rows.
    pub fn with_reaction_counts(mut self) -> Self {
        self.reaction_counts = Some(self.counted_reactions());
        self
    }

    /// The reactions aggregated per emoji, most used first; ties keep the order of first
    /// appearance.
    pub fn counted_reactions(&self) -> Vec<ReactionCount> {
        let mut counts: Vec<ReactionCount> = Vec::new();
        for r in &self.reactions {
            match counts.iter_mut().find(|c| c.emoji == r.emoji) {
                Some(c) => c.count += 1,
                None => counts.push(ReactionCount {
                    emoji: r.emoji.clone(),
                    count: 1,
                }),
            }
        }
        // The sort is stable.
        counts.sort_by_key(|c| std::cmp::Reverse(c.count));
        counts
    }
}

/// The first message of a thread, as summarised in thread lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirstMessageView {
    /// Internal id of the message.
    pub id: String,
    /// Discord message snowflake.
    pub platform_message_id: String,
    /// The first 200 UTF-16 code units of the content (never splitting a character).
    pub content: String,
    /// Pseudonymised author id.
    pub author_id: String,
    /// When Discord says the message was sent.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
}

impl From<messages::Model> for FirstMessageView {
    fn from(m: messages::Model) -> Self {
        Self {
            id: m.id,
            platform_message_id: m.platform_message_id,
            content: truncate_utf16(&m.content, 200),
            author_id: m.anonymized_author_id,
            created_at: m.platform_created_at,
        }
    }
}

/// A thread (forum post) with its activity summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadView {
    /// Internal id of the thread channel.
    pub id: String,
    /// Discord snowflake of the thread.
    pub platform_channel_id: String,
    /// Thread title.
    pub name: String,
    /// Archived messages in the thread.
    pub message_count: u64,
    /// Row creation time of the thread.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    /// From the thread's metadata; false when unknown.
    pub archived: bool,
    /// From the thread's metadata; false when unknown.
    pub locked: bool,
    /// The oldest message of the thread, `null` when it has none.
    pub first_message: Option<FirstMessageView>,
    /// `platformCreatedAt` of the newest message, else the thread's `createdAt`.
    #[serde(with = "ts")]
    pub last_activity: DateTime<Utc>,
}

/// `s` cut to at most `max` UTF-16 code units (the original's JavaScript `substring`), without
/// splitting a surrogate pair.
pub fn truncate_utf16(s: &str, max: usize) -> String {
    let mut units = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            break;
        }
        end = i + c.len_utf8();
    }
    s[..end].to_owned()
}

/// A boolean flag of a channel's metadata, looked up at the top level and in a nested
/// `threadMetadata` / `thread_metadata` object; false when absent.
pub fn metadata_flag(metadata: Option<&serde_json::Value>, key: &str) -> bool {
    let Some(meta) = metadata else {
        return false;
    };
    [
        meta.get(key),
        meta.get("threadMetadata").and_then(|t| t.get(key)),
        meta.get("thread_metadata").and_then(|t| t.get(key)),
    ]
    .into_iter()
    .flatten()
    .find_map(serde_json::Value::as_bool)
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    proptest! {
        /// The allocation-free timestamp writer is chrono's `Millis`/`Z` format exactly, for
        /// every instant of years 0-9999 (and leaves nothing else unwritten: other years and
        /// leap seconds fall back to chrono).
        #[test]
        fn timestamps_are_written_as_chrono_writes_them(
            secs in -62_167_219_200i64..=253_402_300_799,
            nanos in 0u32..2_000_000_000,
        ) {
            let Some(t) = Utc.timestamp_opt(secs, nanos).single() else {
                return Ok(());
            };
            let mut buf = [0; 24];
            let fast = ts::write_millis(&t, &mut buf).map(str::to_owned);
            match fast {
                Some(text) => prop_assert_eq!(text, t.to_rfc3339_opts(SecondsFormat::Millis, true)),
                None => prop_assert!(nanos >= 1_000_000_000, "{t:?} fell back"),
            }
            let json = serde_json::to_string(&Stamp(t)).unwrap();
            prop_assert_eq!(json, format!("\"{}\"", t.to_rfc3339_opts(SecondsFormat::Millis, true)));
        }
    }

    #[derive(Serialize)]
    struct Stamp(#[serde(with = "ts")] DateTime<Utc>);

    #[test]
    fn timestamps_outside_four_digit_years_fall_back_to_chrono() {
        let t = Utc.with_ymd_and_hms(12_345, 6, 7, 8, 9, 10).unwrap();
        let mut buf = [0; 24];
        assert_eq!(ts::write_millis(&t, &mut buf), None);
        assert_eq!(
            serde_json::to_string(&Stamp(t)).unwrap(),
            "\"+12345-06-07T08:09:10.000Z\""
        );
    }

    #[test]
    fn utf16_truncation_never_splits_a_character() {
        assert_eq!(truncate_utf16("abc", 2), "ab");
        assert_eq!(truncate_utf16("a😀b", 2), "a", "the emoji needs two units");
        assert_eq!(truncate_utf16("a😀b", 3), "a😀");
        assert_eq!(truncate_utf16("", 200), "");
    }

    #[test]
    fn reaction_counts_group_by_emoji_most_used_first() {
        let at = Utc::now();
        let r = |id: &str, emoji: &str| ReactionView {
            id: id.into(),
            message_id: "m".into(),
            emoji: emoji.into(),
            anonymized_user_id: format!("u{id}"),
            created_at: at,
        };
        let mut m = MessageView {
            id: "m".into(),
            channel_id: "c".into(),
            platform_message_id: "1".into(),
            anonymized_author_id: "a".into(),
            content: String::new(),
            reply_to_id: None,
            metadata: None,
            platform_created_at: at,
            created_at: at,
            updated_at: at,
            reactions: vec![r("1", "👍"), r("2", "🎉"), r("3", "🎉")],
            attachments: vec![],
            reaction_counts: None,
        };
        m = m.with_reaction_counts();
        let counts: Vec<_> = m
            .reaction_counts
            .unwrap()
            .into_iter()
            .map(|c| (c.emoji, c.count))
            .collect();
        assert_eq!(counts, vec![("🎉".to_owned(), 2), ("👍".to_owned(), 1)]);
    }
}
