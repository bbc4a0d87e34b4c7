//! A generated archive for the export and read-api benchmarks, written through the service
//! repositories in batches (flat memory whatever the size): one tenant, `channels` text
//! channels sharing `messages` messages round-robin, every 10th message with two reactions,
//! every 20th with an attachment, several messages per second; [`add_threads`] adds threads.

use chrono::{Duration, TimeZone, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use service::repo::attachments::{self, AttachmentRow};
use service::repo::messages::{self, MessageRow};
use service::repo::reactions::{self, ReactionRow};
use uuid::Uuid;

use crate::common::tenant_with_channels;

/// Messages written per transaction.
const BATCH: usize = 2_000;

/// What was generated.
pub struct Generated {
    /// The tenant's slug.
    pub slug: String,
    /// Channel row ids, in creation order.
    pub channels: Vec<Uuid>,
}

/// Writes the archive of a new tenant `slug`; progress on stderr.
pub async fn generate(
    db: &DatabaseConnection,
    slug: &str,
    messages_total: usize,
    channel_count: usize,
) -> Result<Generated, Box<dyn std::error::Error + Send + Sync>> {
    let (tenant, channel_ids) = tenant_with_channels(
        db,
        format!("Bench {slug}"),
        Some(slug.to_owned()),
        format!("bench-{slug}"),
        channel_count.max(1),
        5_000,
    )
    .await?;
    let start = Utc
        .with_ymd_and_hms(2023, 1, 1, 0, 0, 0)
        .single()
        .ok_or("bad start date")?;
    let users: Vec<String> = (0..50).map(|u| format!("{:064x}", u * 7919 + 1)).collect();
    let mut written = 0;
    while written < messages_total {
        let n = BATCH.min(messages_total - written);
        let mut msgs = Vec::with_capacity(n);
        let mut reacts = Vec::new();
        let mut files = Vec::new();
        for i in written..written + n {
            let channel = channel_ids[i % channel_ids.len()];
            let at = start + Duration::seconds((i / 4) as i64);
            let ms = (at.timestamp_millis() - 1_420_070_400_000) as u64;
            let row = MessageRow {
                channel_id: channel,
                platform_message_id: ((ms << 22) | (i as u64 & 0x3f_ffff)).to_string(),
                anonymized_author_id: users[i % users.len()].clone(),
                content: format!(
                    "message {i}: the archive keeps every word of this conversation 😀 <@{}>",
                    users[(i + 3) % users.len()]
                ),
                reply_to_id: None,
                metadata: None,
                platform_created_at: at,
            };
            if i % 10 == 0 {
                for (u, emoji) in [(0, "👍"), (1, "🎉")] {
                    reacts.push(ReactionRow {
                        message_id: row.id(),
                        emoji: emoji.to_owned(),
                        anonymized_user_id: users[(i + u) % users.len()].clone(),
                    });
                }
            }
            if i % 20 == 0 {
                files.push(AttachmentRow {
                    message_id: row.id(),
                    platform_attachment_id: format!("{i}"),
                    filename: format!("image-{i}.png"),
                    file_size: 12_345,
                    content_type: "image/png".to_owned(),
                    url: format!("https://cdn.discordapp.com/attachments/{i}/image.png"),
                });
            }
            msgs.push(row);
        }
        let tx = db.begin().await?;
        messages::upsert(&tx, &msgs).await?;
        reactions::upsert(&tx, &reacts).await?;
        attachments::upsert(&tx, &files).await?;
        tx.commit().await?;
        written += n;
        if written % 100_000 == 0 || written == messages_total {
            eprintln!("generated {written}/{messages_total} messages for {slug}");
        }
    }
    Ok(Generated {
        slug: tenant.slug,
        channels: channel_ids,
    })
}

/// Adds `per_channel` public threads under each of `parents` (channel row ids of `slug`'s
/// tenant, as [`generate`] returns them), each with `messages_each` messages from the same
/// authors, so that threads indexes and thread pages have something to show. Returns the
/// messages written.
pub async fn add_threads(
    db: &DatabaseConnection,
    slug: &str,
    parents: &[Uuid],
    per_channel: usize,
    messages_each: usize,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    use service::repo::channels::{self, ChannelKind, ChannelRow};
    let tenant = service::tenants::get_by_slug(db, slug).await?;
    // Parents were created with platform ids counting up from 5,000 (see `generate`).
    let mut rows = Vec::new();
    for (p, _) in parents.iter().enumerate() {
        for t in 0..per_channel {
            rows.push(ChannelRow {
                tenant_id: tenant.id,
                platform_channel_id: (9_000_000 + p * 1_000 + t).to_string(),
                name: format!("thread {t} of channel-{p}"),
                kind: ChannelKind::Thread,
                parent_channel_id: Some((5_000 + p).to_string()),
                metadata: None,
            });
        }
    }
    channels::upsert(db, &rows).await?;
    let start = Utc
        .with_ymd_and_hms(2023, 6, 1, 0, 0, 0)
        .single()
        .ok_or("bad start date")?;
    let users: Vec<String> = (0..50).map(|u| format!("{:064x}", u * 7919 + 1)).collect();
    let mut written = 0;
    for (k, thread) in rows.iter().enumerate() {
        let mut msgs = Vec::with_capacity(messages_each);
        for i in 0..messages_each {
            let at = start + Duration::seconds((k * messages_each + i) as i64 * 7);
            let ms = (at.timestamp_millis() - 1_420_070_400_000) as u64;
            msgs.push(MessageRow {
                channel_id: thread.id(),
                platform_message_id: ((ms << 22) | ((k * messages_each + i) as u64 & 0x3f_ffff))
                    .to_string(),
                anonymized_author_id: users[(k + i) % users.len()].clone(),
                content: format!("reply {i} in this thread: a short answer to the question above"),
                reply_to_id: None,
                metadata: None,
                platform_created_at: at,
            });
        }
        for chunk in msgs.chunks(BATCH) {
            let tx = db.begin().await?;
            messages::upsert(&tx, chunk).await?;
            tx.commit().await?;
        }
        written += msgs.len();
    }
    Ok(written)
}
