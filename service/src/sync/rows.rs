//! Row mapping of the sync: what the platform returned, turned into the rows the repositories
//! write (user ids pseudonymised, mentions rewritten), and the marks the sync leaves on rows it
//! no longer sees. No database access here; [`crate::sync::store`] writes the result.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::anonymize::Anonymizer;
use crate::platform::{ChannelKind, PlatformChannel, PlatformMessage};
use crate::repo::{
    attachments::AttachmentRow,
    channels::{ChannelKind as StoredKind, ChannelRow},
    ids,
    messages::MessageRow,
    reactions::ReactionRow,
    sync_progress::{ProgressRow, ProgressStatus},
};

/// Row ids are UUID strings written by us; a malformed one maps to the nil UUID (and then to
/// ids that match nothing) rather than panicking.
pub fn uuid_of(id: &str) -> Uuid {
    Uuid::parse_str(id).unwrap_or(Uuid::nil())
}

/// A page turned into rows, ready to write.
#[derive(Debug, Default)]
pub struct PageRows {
    /// Message rows.
    pub messages: Vec<MessageRow>,
    /// Reaction rows (one per message, user, emoji).
    pub reactions: Vec<ReactionRow>,
    /// Attachment rows.
    pub attachments: Vec<AttachmentRow>,
}

/// Turn platform messages into rows. `reaction_users[i]` holds, per reaction of message `i`,
/// the users who reacted (when fetched); `None` stores the counts in the message metadata.
pub fn page_rows(
    channel_id: &str,
    page: &[PlatformMessage],
    reaction_users: Option<&[Vec<Vec<String>>]>,
    anonymizer: &Anonymizer,
) -> PageRows {
    let mut rows = PageRows::default();
    let channel = uuid_of(channel_id);
    for (i, m) in page.iter().enumerate() {
        let platform_id = m.id.to_string();
        let id = ids::message(channel, &platform_id);
        let mut metadata = message_metadata(m, anonymizer);
        match reaction_users.and_then(|all| all.get(i)) {
            Some(per_reaction) => {
                for (reaction, users) in m.reactions.iter().zip(per_reaction) {
                    rows.reactions.extend(users.iter().map(|user| ReactionRow {
                        message_id: id,
                        emoji: reaction.emoji.clone(),
                        anonymized_user_id: anonymizer.user_id(user),
                    }));
                }
            }
            None if !m.reactions.is_empty() => {
                metadata["reactions"] = m
                    .reactions
                    .iter()
                    .map(|r| serde_json::json!({"emoji": r.emoji, "count": r.count}))
                    .collect();
            }
            None => {}
        }
        rows.attachments.extend(m.attachments.iter().map(|a| {
            AttachmentRow {
                message_id: id,
                platform_attachment_id: a.id.clone(),
                filename: clip(&a.filename, MAX_FILENAME_CHARS),
                file_size: i64::try_from(a.size).unwrap_or(i64::MAX),
                content_type: a
                    .content_type
                    .as_deref()
                    .map(|t| clip(t, MAX_CONTENT_TYPE_CHARS))
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                url: a.url.clone(),
            }
        }));
        rows.messages.push(MessageRow {
            channel_id: channel,
            platform_message_id: platform_id,
            anonymized_author_id: anonymizer.user_id(&m.author_id),
            content: anonymizer.rewrite_mentions(&m.content).into_owned(),
            reply_to_id: m.reply_to_id.clone(),
            metadata: Some(metadata),
            platform_created_at: m.created_at,
        });
    }
    rows
}

/// A message's `metadata`: edit time, pin, type and its mentions (user mentions
/// pseudonymised).
fn message_metadata(m: &PlatformMessage, anonymizer: &Anonymizer) -> serde_json::Value {
    serde_json::json!({
        "editedAt": m.edited_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        "pinned": m.pinned,
        "type": m.kind,
        "mentions": {
            "users": m.mentions.users.iter().map(|u| anonymizer.user_id(u)).collect::<Vec<_>>(),
            "roles": m.mentions.roles,
            "channels": crate::discord::channel_mentions(&m.content),
            "everyone": m.mentions.everyone,
        },
    })
}

/// The row of a discovered channel of `tenant`.
pub fn channel_row(tenant: Uuid, c: &PlatformChannel) -> ChannelRow {
    ChannelRow {
        tenant_id: tenant,
        platform_channel_id: c.id.clone(),
        name: c.name.clone(),
        kind: match c.kind {
            ChannelKind::Text => StoredKind::Text,
            ChannelKind::Forum => StoredKind::Forum,
            ChannelKind::Category => StoredKind::Category,
            ChannelKind::Thread => StoredKind::Thread,
        },
        parent_channel_id: c.parent_id.clone(),
        metadata: Some(c.metadata.clone()),
    }
}

/// `metadata` with `flag: true` and `{flag}SeenAt: now` added, or `None` when it already
/// carries the flag (the row was marked before and keeps its first mark).
fn marked(
    metadata: Option<&serde_json::Value>,
    flag: &str,
    now: DateTime<Utc>,
) -> Option<serde_json::Value> {
    let mut metadata = metadata.cloned().unwrap_or_else(|| serde_json::json!({}));
    if metadata.get(flag).and_then(serde_json::Value::as_bool) == Some(true) {
        return None;
    }
    if let Some(map) = metadata.as_object_mut() {
        map.insert(flag.into(), true.into());
        map.insert(format!("{flag}SeenAt"), seconds(now).into());
    }
    Some(metadata)
}

fn seconds(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The metadata of a stored message the platform no longer returns (`deleted`,
/// `deletedSeenAt`), or `None` when it is marked already.
pub fn deleted_message_metadata(
    metadata: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) -> Option<serde_json::Value> {
    marked(metadata, "deleted", now)
}

/// The metadata of a stored channel discovery no longer finds (`vanished`, `vanishedSeenAt`,
/// and `lastSeenAt` = when the row was last written), or `None` when it is marked already.
pub fn vanished_channel_metadata(
    metadata: Option<&serde_json::Value>,
    last_written: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<serde_json::Value> {
    let mut metadata = marked(metadata, "vanished", now)?;
    if let Some(map) = metadata.as_object_mut() {
        map.insert("lastSeenAt".into(), seconds(last_written).into());
    }
    Some(metadata)
}

/// What to record in `sync_progress` for a channel.
#[derive(Debug, Clone)]
pub struct ProgressUpdate<'a> {
    /// Tenant row id.
    pub tenant_id: &'a str,
    /// Channel row id.
    pub channel_id: &'a str,
    /// Highest stored message id (the cursor).
    pub cursor: u64,
    /// State of the channel's run.
    pub status: ProgressStatus,
    /// Worker holding the channel.
    pub worker_id: Option<&'a str>,
    /// When this run of the channel started.
    pub started_at: DateTime<Utc>,
    /// Throughput of the run.
    pub messages_per_second: Option<u64>,
    /// Error record of a failure.
    pub error: Option<serde_json::Value>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The `sync_progress` row of an update.
pub fn progress_row(p: &ProgressUpdate<'_>) -> ProgressRow {
    ProgressRow {
        tenant_id: uuid_of(p.tenant_id),
        channel_id: uuid_of(p.channel_id),
        last_synced_message_id: if p.cursor == 0 {
            String::new()
        } else {
            p.cursor.to_string()
        },
        last_synced_at: p.now,
        status: p.status,
        error_details: p.error.clone(),
        worker_id: p.worker_id.map(str::to_owned),
        started_at: Some(p.started_at),
        messages_per_second: p.messages_per_second.map(rust_decimal::Decimal::from),
    }
}

/// Characters of an attachment's file name kept (the column is `varchar(500)`; longer names
/// would make the page's transaction fail on MySQL-family databases).
pub const MAX_FILENAME_CHARS: usize = 500;
/// Characters of an attachment's content type kept (`varchar(255)`).
pub const MAX_CONTENT_TYPE_CHARS: usize = 255;

/// The first `max` characters of `text`.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_names_are_clipped_on_a_character_boundary() {
        assert_eq!(super::clip("abc", 5), "abc");
        assert_eq!(super::clip(&"é".repeat(600), 500), "é".repeat(500));
        assert_eq!(super::clip("a/b\\c", 3), "a/b");
    }

    use super::*;

    #[test]
    fn a_row_is_marked_once_and_keeps_its_other_metadata() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let later = t + chrono::Duration::hours(1);
        let first = deleted_message_metadata(Some(&serde_json::json!({"pinned": true})), t)
            .expect("marked");
        assert_eq!(
            first,
            serde_json::json!({"pinned": true, "deleted": true, "deletedSeenAt": "2023-11-14T22:13:20Z"})
        );
        assert_eq!(deleted_message_metadata(Some(&first), later), None);
        let vanished = vanished_channel_metadata(None, t, later).expect("marked");
        assert_eq!(vanished["vanished"], true);
        assert_eq!(vanished["lastSeenAt"], "2023-11-14T22:13:20Z");
        assert_eq!(vanished_channel_metadata(Some(&vanished), t, later), None);
    }
}
