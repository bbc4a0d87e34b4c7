//! `message_emoji_reactions`: one row per (message, reacting user, emoji). Upsert on that
//! unique key with no change on conflict: a reaction has nothing that can be edited.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use entity::message_emoji_reactions::{ActiveModel, Column, Entity};

use super::{ROW_OVERHEAD_BYTES, execute_all, ids};
use crate::db;
use crate::error::Result;

/// One reaction of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRow {
    /// Message row id ([`ids::message`]).
    pub message_id: Uuid,
    /// The unicode emoji, or `<:name:id>` / `<a:name:id>` for custom emoji.
    pub emoji: String,
    /// Pseudonym of the reacting user.
    pub anonymized_user_id: String,
}

impl ReactionRow {
    /// The row id: [`ids::reaction`] of message, user and emoji.
    pub fn id(&self) -> Uuid {
        ids::reaction(self.message_id, &self.anonymized_user_id, &self.emoji)
    }
}

/// Insert reactions that are not stored yet; existing ones are left as they are
/// (`ON CONFLICT DO NOTHING`, on MySQL `ON DUPLICATE KEY UPDATE id = id`). Distinct emoji
/// need a binary collation on MySQL (utf8mb4_bin) to stay distinct. Returns the number of
/// rows submitted.
pub async fn upsert(db: &impl ConnectionTrait, rows: &[ReactionRow]) -> Result<usize> {
    execute_all(db, upsert_statements(db.get_database_backend(), rows)).await?;
    Ok(rows.len())
}

/// The statements of [`upsert`], built for `backend` and not executed.
pub fn upsert_statements(backend: DbBackend, rows: &[ReactionRow]) -> Vec<Statement> {
    let now = db::now();
    let on_conflict =
        OnConflict::columns([Column::MessageId, Column::AnonymizedUserId, Column::Emoji])
            .do_nothing_on([Column::Id])
            .to_owned();
    super::upsert_statements::<Entity, _, _>(
        backend,
        rows,
        |r| ROW_OVERHEAD_BYTES + r.emoji.len(),
        |r| ActiveModel {
            id: Set(r.id().to_string()),
            message_id: Set(r.message_id.to_string()),
            emoji: Set(r.emoji.clone()),
            anonymized_user_id: Set(r.anonymized_user_id.clone()),
            created_at: Set(now),
        },
        &on_conflict,
    )
}
