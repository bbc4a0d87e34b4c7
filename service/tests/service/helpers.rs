//! Shared set-up: a fresh, migrated database per test, and row builders.

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use service::repo::channels::{ChannelKind, ChannelRow};
use service::repo::messages::MessageRow;
use service::tenants::{self, CreateTenant, Tenant};
use testkit::db::TestDb;
use uuid::Uuid;

/// A migrated database; the connection is declared first so it closes before the
/// database is dropped.
pub struct Ctx {
    pub db: DatabaseConnection,
    pub test_db: TestDb,
}

/// A fresh, migrated database on the backend of this test run.
pub async fn setup() -> Ctx {
    let test_db = TestDb::new().await;
    let db = service::db::connect_url(test_db.url())
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", test_db.url()));
    service::db::migrate(&db).await.expect("migrations apply");
    Ctx { db, test_db }
}

/// A create request for a discord tenant with an explicit slug.
pub fn create_input(name: &str, slug: Option<&str>, platform_id: &str) -> CreateTenant {
    CreateTenant {
        name: Some(name.into()),
        slug: slug.map(Into::into),
        platform: Some("discord".into()),
        platform_id: Some(platform_id.into()),
        status: None,
    }
}

/// Create a discord tenant with a unique slug and guild id.
pub async fn tenant(db: &DatabaseConnection) -> Tenant {
    let n = Uuid::new_v4().simple().to_string();
    tenants::create(db, &create_input(&format!("Guild {n}"), None, &n))
        .await
        .expect("tenant created")
}

/// Store one text channel of `tenant` and return its row id.
pub async fn channel(db: &DatabaseConnection, tenant: Uuid, platform_id: &str) -> Uuid {
    let row = ChannelRow {
        tenant_id: tenant,
        platform_channel_id: platform_id.into(),
        name: format!("channel-{platform_id}"),
        kind: ChannelKind::Text,
        parent_channel_id: None,
        metadata: None,
    };
    service::repo::channels::upsert(db, std::slice::from_ref(&row))
        .await
        .expect("channel upserted");
    row.id()
}

/// A whole-second timestamp (what the columns keep on every backend).
pub fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0)
        .single()
        .expect("valid timestamp")
}

/// A message row with simple content.
pub fn message(channel_id: Uuid, platform_id: u64) -> MessageRow {
    MessageRow {
        channel_id,
        platform_message_id: platform_id.to_string(),
        anonymized_author_id: format!("{:064x}", platform_id % 7),
        content: format!("message {platform_id}"),
        reply_to_id: None,
        metadata: None,
        platform_created_at: ts(platform_id as i64),
    }
}

/// Number of rows of entity `E`.
pub async fn count<E>(db: &DatabaseConnection) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().count(db).await.expect("count")
}

/// Number of stored messages of channel row `channel`.
pub async fn messages_in(db: &impl ConnectionTrait, channel: Uuid) -> Result<u64, DbErr> {
    entity::messages::Entity::find()
        .filter(entity::messages::Column::ChannelId.eq(channel.to_string()))
        .count(db)
        .await
}
