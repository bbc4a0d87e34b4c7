//! `service::archive::query::with_details` names the messages whose reactions and attachments
//! it loads by their range in the channel: whatever rows it is given (a page in either order,
//! scattered messages, several channels), each message gets exactly its own rows.

use std::collections::BTreeMap;

use entity::{message_attachments, message_emoji_reactions, messages};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use service::archive::query::{self, Direction};

use crate::archive_data;
use crate::helpers::fresh_db;

/// Reaction ids and attachment ids per message id, straight from the tables.
async fn expected(
    db: &sea_orm::DatabaseConnection,
    ids: &[String],
) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let mut out: BTreeMap<String, (Vec<String>, Vec<String>)> = ids
        .iter()
        .map(|id| (id.clone(), Default::default()))
        .collect();
    for r in message_emoji_reactions::Entity::find()
        .filter(message_emoji_reactions::Column::MessageId.is_in(ids.iter().cloned()))
        .order_by_asc(message_emoji_reactions::Column::CreatedAt)
        .order_by_asc(message_emoji_reactions::Column::Id)
        .all(db)
        .await
        .unwrap()
    {
        out.get_mut(&r.message_id).unwrap().0.push(r.id);
    }
    for a in message_attachments::Entity::find()
        .filter(message_attachments::Column::MessageId.is_in(ids.iter().cloned()))
        .order_by_asc(message_attachments::Column::CreatedAt)
        .order_by_asc(message_attachments::Column::Id)
        .all(db)
        .await
        .unwrap()
    {
        out.get_mut(&a.message_id).unwrap().1.push(a.id);
    }
    out
}

#[tokio::test]
async fn every_message_gets_exactly_its_own_reactions_and_attachments() {
    let (_test_db, db) = fresh_db().await;
    let archive = archive_data::generate(&db, "details", 600, 3).await;
    let other = archive_data::generate(&db, "details-other", 600, 3).await;
    let general = archive.general.to_string();

    let page = query::messages_from(&db, &general, None, Direction::Older, 100)
        .await
        .unwrap();
    let mut newer_first = page.clone();
    newer_first.reverse();
    // Every 7th message of both tenants' big channels, interleaved: scattered rows of two
    // channels, whose ranges hold many messages that were not asked for.
    let scattered: Vec<messages::Model> = messages::Entity::find()
        .filter(messages::Column::ChannelId.is_in([general.clone(), other.general.to_string()]))
        .order_by_asc(messages::Column::Id)
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .step_by(7)
        .collect();

    for (name, rows) in [
        ("a page, newest first", page),
        ("a page, oldest first", newer_first),
        ("scattered messages of two channels", scattered),
    ] {
        let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
        let want = expected(&db, &ids).await;
        let views = query::with_details(&db, rows).await.unwrap();
        let got: Vec<String> = views.iter().map(|v| v.id.clone()).collect();
        assert_eq!(got, ids, "{name}: rows keep their order");
        let with_reactions = views.iter().filter(|v| !v.reactions.is_empty()).count();
        let with_attachments = views.iter().filter(|v| !v.attachments.is_empty()).count();
        assert!(
            with_reactions > 0 && with_attachments > 0,
            "{name}: the data has reactions and attachments"
        );
        for v in views {
            assert!(
                v.reactions.iter().all(|r| r.message_id == v.id)
                    && v.attachments.iter().all(|a| a.message_id == v.id),
                "{name}: {} got another message's rows",
                v.id
            );
            let got = (
                v.reactions.into_iter().map(|r| r.id).collect::<Vec<_>>(),
                v.attachments.into_iter().map(|a| a.id).collect::<Vec<_>>(),
            );
            assert_eq!(got, want[&v.id], "{name}: message {}", v.id);
        }
    }
}
