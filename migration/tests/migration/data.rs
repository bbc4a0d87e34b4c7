//! Rows through the entities on the migrated schema: what the schema must admit and reject.

use crate::migrated;
use chrono::Utc;
use entity::{channels, message_emoji_reactions, messages, tenant_branding, tenants};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn tenant(conn: &DatabaseConnection) -> String {
    let tenant_id = id();
    tenants::Entity::insert(tenants::ActiveModel {
        id: Set(tenant_id.clone()),
        name: Set("Rust Community".into()),
        slug: Set(format!("rust-{}", &tenant_id[..8])),
        platform: Set("discord".into()),
        platform_id: Set(format!("{}", 100_000 + rand_suffix())),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await
    .expect("tenant inserts");
    tenant_id
}

fn rand_suffix() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32 % 1_000_000
}

async fn channel(conn: &DatabaseConnection, tenant_id: &str, kind: &str) -> String {
    let channel_id = id();
    channels::Entity::insert(channels::ActiveModel {
        id: Set(channel_id.clone()),
        tenant_id: Set(tenant_id.into()),
        platform_channel_id: Set(format!("{}", 200_000 + rand_suffix())),
        name: Set("general".into()),
        r#type: Set(Some(kind.into())),
        metadata: Set(Some(
            serde_json::json!({"topic": "hello ✨", "nsfw": false}),
        )),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await
    .expect("channel inserts");
    channel_id
}

async fn message(conn: &DatabaseConnection, channel_id: &str) -> String {
    let message_id = id();
    messages::Entity::insert(messages::ActiveModel {
        id: Set(message_id.clone()),
        channel_id: Set(channel_id.into()),
        platform_message_id: Set("1234567890123456789".into()),
        anonymized_author_id: Set("a".repeat(64)),
        content: Set("hello 👋".into()),
        reply_to_id: Set(Some("1234567890123456788".into())),
        platform_created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await
    .expect("message inserts (reply_to_id holds a snowflake, no foreign key)");
    message_id
}

fn reaction(message_id: &str, emoji: &str) -> message_emoji_reactions::ActiveModel {
    message_emoji_reactions::ActiveModel {
        id: Set(id()),
        message_id: Set(message_id.into()),
        emoji: Set(emoji.into()),
        anonymized_user_id: Set("b".repeat(64)),
        ..Default::default()
    }
}

#[tokio::test]
async fn thumbs_up_and_party_from_one_user_on_one_message_are_two_reaction_rows() {
    let (_db, conn) = migrated().await;
    let t = tenant(&conn).await;
    let c = channel(&conn, &t, "text").await;
    let m = message(&conn, &c).await;
    let upsert = || {
        message_emoji_reactions::Entity::insert_many([reaction(&m, "👍"), reaction(&m, "🎉")])
            .on_conflict(
                OnConflict::columns([
                    message_emoji_reactions::Column::MessageId,
                    message_emoji_reactions::Column::AnonymizedUserId,
                    message_emoji_reactions::Column::Emoji,
                ])
                // MySQL has no DO NOTHING: `do_nothing_on` writes the portable
                // `ON DUPLICATE KEY UPDATE id = id` there (plain `do_nothing()` is a syntax
                // error on MySQL/MariaDB).
                .do_nothing_on([message_emoji_reactions::Column::Id])
                .to_owned(),
            )
    };
    upsert()
        .exec_without_returning(&conn)
        .await
        .expect("distinct emoji do not collide on the unique key");
    // The same two reactions again are conflicts, not new rows.
    upsert()
        .exec_without_returning(&conn)
        .await
        .expect("re-sync is an upsert");
    let mut emoji: Vec<String> = message_emoji_reactions::Entity::find()
        .all(&conn)
        .await
        .expect("reactions read")
        .into_iter()
        .map(|r| r.emoji)
        .collect();
    emoji.sort();
    assert_eq!(emoji, vec!["🎉".to_string(), "👍".to_string()]);
}

#[tokio::test]
async fn category_channels_are_admitted_and_json_metadata_round_trips() {
    let (_db, conn) = migrated().await;
    let t = tenant(&conn).await;
    let c = channel(&conn, &t, "category").await;
    let row = channels::Entity::find_by_id(c)
        .one(&conn)
        .await
        .expect("channel read")
        .expect("channel exists");
    assert_eq!(row.r#type.as_deref(), Some("category"));
    assert_eq!(
        row.metadata,
        Some(serde_json::json!({"topic": "hello ✨", "nsfw": false}))
    );
}

#[tokio::test]
async fn unknown_channel_type_and_malformed_colour_are_rejected() {
    let (_db, conn) = migrated().await;
    let t = tenant(&conn).await;
    let bad_channel = channels::Entity::insert(channels::ActiveModel {
        id: Set(id()),
        tenant_id: Set(t.clone()),
        platform_channel_id: Set("1".into()),
        name: Set("voice".into()),
        r#type: Set(Some("voice".into())),
        ..Default::default()
    })
    .exec_without_returning(&conn)
    .await;
    assert!(bad_channel.is_err(), "check_channel_type rejects 'voice'");

    let branding = |color: &str| tenant_branding::ActiveModel {
        id: Set(id()),
        tenant_id: Set(t.clone()),
        primary_color: Set(color.into()),
        ..Default::default()
    };
    let bad = tenant_branding::Entity::insert(branding("blue"))
        .exec_without_returning(&conn)
        .await;
    assert!(bad.is_err(), "check_primary_color_format rejects 'blue'");
    tenant_branding::Entity::insert(branding("#A0b1C2"))
        .exec_without_returning(&conn)
        .await
        .expect("a #rrggbb colour is admitted");
    let row = tenant_branding::Entity::find()
        .one(&conn)
        .await
        .expect("branding read")
        .expect("branding exists");
    assert_eq!(row.secondary_color, "#64748b", "column default applies");
}

#[tokio::test]
async fn deleting_a_tenant_cascades_through_its_archive() {
    let (_db, conn) = migrated().await;
    let t = tenant(&conn).await;
    let c = channel(&conn, &t, "text").await;
    let m = message(&conn, &c).await;
    message_emoji_reactions::Entity::insert(reaction(&m, "🦀"))
        .exec_without_returning(&conn)
        .await
        .expect("reaction inserts");
    let tenant_row = tenants::Entity::find_by_id(t.clone())
        .one(&conn)
        .await
        .expect("tenant read")
        .expect("tenant exists");
    assert_eq!(tenant_row.status, "ACTIVE", "status defaults to ACTIVE");
    tenants::Entity::delete_by_id(t)
        .exec(&conn)
        .await
        .expect("tenant deletes");
    assert_eq!(
        channels::Entity::find().count(&conn).await.expect("count"),
        0
    );
    assert_eq!(
        messages::Entity::find().count(&conn).await.expect("count"),
        0
    );
    assert_eq!(
        message_emoji_reactions::Entity::find()
            .count(&conn)
            .await
            .expect("count"),
        0
    );
}

/// Rolls back everything after m00`keep`.
async fn down_to(conn: &DatabaseConnection, keep: usize) {
    use migration::{Migrator, MigratorTrait};
    let extra = Migrator::migrations().len() - keep;
    if extra > 0 {
        Migrator::down(conn, Some(extra as u32))
            .await
            .expect("later migrations roll back");
    }
}

#[tokio::test]
async fn rolling_back_008_refuses_while_category_channels_exist() {
    use migration::{Migrator, MigratorTrait};
    let (_db, conn) = migrated().await;
    if conn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // On SQLite m002 creates the final column and m008 is empty in both directions.
        return;
    }
    let t = tenant(&conn).await;
    let c = channel(&conn, &t, "category").await;
    down_to(&conn, 8).await;
    let refused = Migrator::down(&conn, Some(1)).await;
    assert!(
        refused.is_err(),
        "008 down must refuse while a category exists"
    );
    channels::Entity::delete_by_id(c)
        .exec(&conn)
        .await
        .expect("channel deletes");
    Migrator::down(&conn, Some(1))
        .await
        .expect("008 down runs once no category is left");
}

#[tokio::test]
async fn rolling_back_004_refuses_while_reply_to_holds_snowflakes() {
    use migration::{Migrator, MigratorTrait};
    let (_db, conn) = migrated().await;
    let t = tenant(&conn).await;
    let c = channel(&conn, &t, "text").await;
    message(&conn, &c).await; // reply_to_id = a Discord snowflake
    down_to(&conn, 4).await;
    if conn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        // SQLite keeps the m004 column shape; down only drops the index.
        Migrator::down(&conn, Some(1)).await.expect("004 down");
        return;
    }
    let refused = Migrator::down(&conn, Some(1)).await;
    let message = format!("{:?}", refused.expect_err("004 down must refuse"));
    assert!(message.contains("platform ids"), "{message}");
    messages::Entity::update_many()
        .col_expr(
            messages::Column::ReplyToId,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .exec(&conn)
        .await
        .expect("reply_to_id cleared");
    Migrator::down(&conn, Some(1))
        .await
        .expect("004 down runs once the column holds no snowflakes");
}
