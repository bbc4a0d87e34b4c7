//! A generated archive for the read API and export tests, written through the service's
//! repositories (the same upserts the sync uses): a category, a text channel with enough
//! messages for several export pages (several per second, so keyset ties are exercised), an
//! empty channel, a thread of the text channel, and a forum with more threads than one export
//! page; replies, reactions (two emoji from one user), attachments, mentions of raw user ids
//! rewritten to pseudonyms, branding. It returns what it wrote to the big channel, so that
//! tests can build the answers they expect without reading them back.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::DatabaseConnection;
use service::anonymize::Anonymizer;
use service::repo::{
    self,
    attachments::AttachmentRow,
    channels::{ChannelKind, ChannelRow},
    messages::MessageRow,
    reactions::ReactionRow,
};
use service::tenants::{self, CreateTenant};
use uuid::Uuid;

/// Discord's epoch (2015-01-01) in Unix milliseconds.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// One message as written, with its reactions and attachments.
#[derive(Debug, Clone)]
pub struct Written {
    /// The message row.
    pub message: MessageRow,
    /// Its reaction rows.
    pub reactions: Vec<ReactionRow>,
    /// Its attachment rows.
    pub attachments: Vec<AttachmentRow>,
}

/// What was generated, for the assertions.
pub struct Archive {
    /// The tenant's id.
    pub tenant_id: Uuid,
    /// The tenant's slug.
    pub slug: String,
    /// Raw (platform) user ids of every author and reacting user: must never be exposed.
    pub raw_user_ids: Vec<String>,
    /// The big text channel.
    pub general: Uuid,
    /// The forum.
    pub forum: Uuid,
    /// The empty text channel.
    pub empty: Uuid,
    /// The category.
    pub category: Uuid,
    /// Every channel id.
    pub channel_ids: Vec<Uuid>,
    /// The messages of the big text channel, in the order written (oldest first).
    pub general_messages: Vec<Written>,
}

/// The snowflake of a message sent at `at`, with `seq` in the low bits.
pub fn snowflake(at: DateTime<Utc>, seq: u64) -> String {
    let ms = (at.timestamp_millis() - DISCORD_EPOCH_MS) as u64;
    ((ms << 22) | (seq & 0x3f_ffff)).to_string()
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0)
        .single()
        .expect("valid date")
}

/// Writes messages `0..count` into `channel`: three per second (keyset ties), every 7th a
/// reply to the previous one, every 5th with reactions (👍 from two users, 🎉 from one of
/// them), every 11th with an attachment, every 3rd mentioning a raw user id. Returns what it
/// wrote, oldest first.
async fn write_messages(
    db: &DatabaseConnection,
    anon: &Anonymizer,
    raw_users: &[String],
    channel: Uuid,
    start: DateTime<Utc>,
    count: usize,
    salt: u64,
) -> Vec<Written> {
    let mut messages = Vec::with_capacity(count);
    let mut reactions = Vec::new();
    let mut attachments = Vec::new();
    let mut previous: Option<String> = None;
    for i in 0..count {
        let at = start + Duration::seconds((i / 3) as i64);
        let pid = snowflake(at, salt * 10_000 + i as u64);
        let author = &raw_users[i % raw_users.len()];
        let mentioned = &raw_users[(i + 1) % raw_users.len()];
        let raw_content = if i % 3 == 0 {
            format!("message {i} hello <@{mentioned}> 😀")
        } else {
            format!("message {i}")
        };
        let row = MessageRow {
            channel_id: channel,
            platform_message_id: pid.clone(),
            anonymized_author_id: anon.user_id(author),
            content: anon.rewrite_mentions(&raw_content).into_owned(),
            reply_to_id: if i % 7 == 6 { previous.clone() } else { None },
            metadata: Some(serde_json::json!({"seq": i})),
            platform_created_at: at,
        };
        if i % 5 == 0 {
            for (user, emoji) in [(0, "👍"), (1, "👍"), (0, "🎉")] {
                reactions.push(ReactionRow {
                    message_id: row.id(),
                    emoji: emoji.to_owned(),
                    anonymized_user_id: anon.user_id(&raw_users[user]),
                });
            }
        }
        if i % 11 == 0 {
            attachments.push(AttachmentRow {
                message_id: row.id(),
                platform_attachment_id: format!("9{i}"),
                filename: format!("file-{i}.png"),
                file_size: 1000 + i as i64,
                content_type: "image/png".to_owned(),
                url: format!("https://cdn.example/{i}.png"),
            });
        }
        previous = Some(pid);
        messages.push(row);
    }
    let written = messages
        .iter()
        .map(|m| Written {
            message: m.clone(),
            reactions: reactions
                .iter()
                .filter(|r| r.message_id == m.id())
                .cloned()
                .collect(),
            attachments: attachments
                .iter()
                .filter(|a| a.message_id == m.id())
                .cloned()
                .collect(),
        })
        .collect();
    repo::messages::upsert(db, &messages)
        .await
        .expect("messages written");
    repo::reactions::upsert(db, &reactions)
        .await
        .expect("reactions written");
    repo::attachments::upsert(db, &attachments)
        .await
        .expect("attachments written");
    written
}

/// Generates the archive of a new tenant `slug` with `general_messages` messages in the big
/// channel and `forum_threads` forum posts.
pub async fn generate(
    db: &DatabaseConnection,
    slug: &str,
    general_messages: usize,
    forum_threads: usize,
) -> Archive {
    let tenant = tenants::create(
        db,
        &CreateTenant {
            name: Some(format!("Guild {slug}")),
            slug: Some(slug.to_owned()),
            platform: Some("discord".to_owned()),
            platform_id: Some(format!("guild-{slug}")),
            status: None,
        },
    )
    .await
    .expect("tenant created");
    let tid = tenant.id;
    repo::tenant_branding::upsert(
        db,
        tid,
        &repo::tenant_branding::BrandingChanges {
            logo: Some(Some("https://cdn.example/logo.png".to_owned())),
            primary_color: Some("#112233".to_owned()),
            ..Default::default()
        },
    )
    .await
    .expect("branding written");

    let anon = Anonymizer::new(None);
    let raw_users: Vec<String> = (0..4).map(|u| format!("8035111022467891{u}")).collect();
    let channel = |pid: &str, name: &str, kind, parent: Option<&str>, meta| ChannelRow {
        tenant_id: tid,
        platform_channel_id: pid.to_owned(),
        name: name.to_owned(),
        kind,
        parent_channel_id: parent.map(str::to_owned),
        metadata: meta,
    };
    let mut rows = vec![
        channel("1000", "Text", ChannelKind::Category, None, None),
        channel(
            "1001",
            "general",
            ChannelKind::Text,
            Some("1000"),
            Some(serde_json::json!({"topic": "talk"})),
        ),
        channel("1002", "empty", ChannelKind::Text, Some("1000"), None),
        channel("1003", "help", ChannelKind::Forum, Some("1000"), None),
        channel(
            "1004",
            "side thread",
            ChannelKind::Thread,
            Some("1001"),
            None,
        ),
    ];
    for t in 0..forum_threads {
        let meta =
            (t % 6 == 0).then(|| serde_json::json!({"archived": true, "locked": t % 12 == 0}));
        rows.push(channel(
            &format!("2{t:03}"),
            &format!("question {t}"),
            ChannelKind::Thread,
            Some("1003"),
            meta,
        ));
    }
    repo::channels::upsert(db, &rows)
        .await
        .expect("channels written");
    let id = |pid: &str| repo::ids::channel(tid, pid);

    let start = base_time();
    let general_messages = write_messages(
        db,
        &anon,
        &raw_users,
        id("1001"),
        start,
        general_messages,
        1,
    )
    .await;
    write_messages(db, &anon, &raw_users, id("1004"), start, 4, 2).await;
    for t in 0..forum_threads {
        // Activity spread out so the order by last activity differs from creation order.
        let thread_start = start + Duration::minutes(((t * 37) % 101) as i64);
        write_messages(
            db,
            &anon,
            &raw_users,
            id(&format!("2{t:03}")),
            thread_start,
            t % 4,
            3 + t as u64,
        )
        .await;
    }

    Archive {
        tenant_id: tid,
        slug: tenant.slug,
        raw_user_ids: raw_users,
        general: id("1001"),
        forum: id("1003"),
        empty: id("1002"),
        category: id("1000"),
        channel_ids: rows.iter().map(ChannelRow::id).collect(),
        general_messages,
    }
}
