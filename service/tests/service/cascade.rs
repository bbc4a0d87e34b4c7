//! Deleting a tenant removes everything archived under it (foreign keys ON DELETE CASCADE;
//! on SQLite this needs `foreign_keys=ON`, which `db::connect` sets).

use entity::{
    channel_sync_jobs, channels, message_attachments, message_emoji_reactions,
    messages as message_rows, sync_jobs, sync_progress, tenant_branding, tenants as tenant_rows,
};
use service::branding::{self, BrandingInput};
use service::repo::attachments::{self, AttachmentRow};
use service::repo::messages;
use service::repo::reactions::{self, ReactionRow};
use service::repo::sync_progress::{self as progress, ProgressRow, ProgressStatus};
use service::sync::queue::{self, NewJob, SyncType, Trigger};
use service::tenants;

use crate::helpers::{channel, count, message, setup, tenant, ts};

#[tokio::test]
async fn deleting_a_tenant_cascades_to_everything_under_it_and_spares_other_tenants() {
    let ctx = setup().await;
    let db = &ctx.db;
    let doomed = tenant(db).await;
    let kept = tenant(db).await;
    for t in [&doomed, &kept] {
        let ch = channel(db, t.id, "100").await;
        let m = message(ch, 1);
        messages::upsert(db, std::slice::from_ref(&m))
            .await
            .unwrap();
        reactions::upsert(
            db,
            &[ReactionRow {
                message_id: m.id(),
                emoji: "👍".into(),
                anonymized_user_id: "u".repeat(64),
            }],
        )
        .await
        .unwrap();
        attachments::upsert(
            db,
            &[AttachmentRow {
                message_id: m.id(),
                platform_attachment_id: "9".into(),
                filename: "a.png".into(),
                file_size: 10,
                content_type: "image/png".into(),
                url: "https://cdn/a.png".into(),
            }],
        )
        .await
        .unwrap();
        progress::upsert(
            db,
            &[ProgressRow {
                tenant_id: t.id,
                channel_id: ch,
                last_synced_message_id: "1".into(),
                last_synced_at: ts(0),
                status: ProgressStatus::Completed,
                error_details: None,
                worker_id: None,
                started_at: None,
                messages_per_second: None,
            }],
        )
        .await
        .unwrap();
        let (job, _) = queue::enqueue(
            db,
            NewJob {
                tenant_id: t.id.to_string(),
                sync_type: SyncType::Full,
                trigger: Trigger::Api,
                channel_ids: None,
                retry_of: None,
            },
        )
        .await
        .unwrap();
        queue::create_items(db, &job.id, &t.id.to_string(), &[ch.to_string()])
            .await
            .unwrap();
        branding::upsert(db, t.id, &BrandingInput::default())
            .await
            .unwrap();
    }
    tenants::delete(db, doomed.id).await.unwrap();

    assert_eq!(count::<tenant_rows::Entity>(db).await, 1);
    assert_eq!(count::<channels::Entity>(db).await, 1);
    assert_eq!(count::<message_rows::Entity>(db).await, 1);
    assert_eq!(count::<message_emoji_reactions::Entity>(db).await, 1);
    assert_eq!(count::<message_attachments::Entity>(db).await, 1);
    assert_eq!(count::<sync_progress::Entity>(db).await, 1);
    assert_eq!(count::<sync_jobs::Entity>(db).await, 1);
    assert_eq!(count::<channel_sync_jobs::Entity>(db).await, 1);
    assert_eq!(count::<tenant_branding::Entity>(db).await, 1);
    tenants::get(db, kept.id).await.unwrap();
}
