//! `tenant_branding`: at most one row per tenant. Upsert on tenant_id that changes only the
//! fields given, so a partial update keeps the others and a first write fills the defaults.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entity::tenant_branding::{ActiveModel, Column, Entity, Model};

use super::ids;
use crate::db;
use crate::error::Result;

/// Default primary colour (the original's column default).
pub const DEFAULT_PRIMARY_COLOR: &str = "#3b82f6";
/// Default secondary colour.
pub const DEFAULT_SECONDARY_COLOR: &str = "#64748b";
/// Default accent colour.
pub const DEFAULT_ACCENT_COLOR: &str = "#10b981";

/// Fields to set; `None` leaves a field as it is (or at its default for a new row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandingChanges {
    /// `Some(None)` clears the logo, `Some(Some(..))` sets it.
    pub logo: Option<Option<String>>,
    /// `#RRGGBB`, validated by the caller.
    pub primary_color: Option<String>,
    /// `#RRGGBB`.
    pub secondary_color: Option<String>,
    /// `#RRGGBB`.
    pub accent_color: Option<String>,
}

/// Insert or update the branding row of `tenant_id` with `changes` (one statement, on the
/// unique tenant_id). A missing tenant is a foreign-key violation (`DbErr`), left for the
/// caller to classify.
pub async fn upsert(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    changes: &BrandingChanges,
) -> Result<()> {
    let now = db::now();
    let row = ActiveModel {
        id: Set(ids::tenant_branding(tenant_id).to_string()),
        tenant_id: Set(tenant_id.to_string()),
        logo: Set(changes.logo.clone().flatten()),
        primary_color: Set(changes
            .primary_color
            .clone()
            .unwrap_or_else(|| DEFAULT_PRIMARY_COLOR.to_owned())),
        secondary_color: Set(changes
            .secondary_color
            .clone()
            .unwrap_or_else(|| DEFAULT_SECONDARY_COLOR.to_owned())),
        accent_color: Set(changes
            .accent_color
            .clone()
            .unwrap_or_else(|| DEFAULT_ACCENT_COLOR.to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut update = vec![Column::UpdatedAt];
    if changes.logo.is_some() {
        update.push(Column::Logo);
    }
    if changes.primary_color.is_some() {
        update.push(Column::PrimaryColor);
    }
    if changes.secondary_color.is_some() {
        update.push(Column::SecondaryColor);
    }
    if changes.accent_color.is_some() {
        update.push(Column::AccentColor);
    }
    let on_conflict = OnConflict::column(Column::TenantId)
        .update_columns(update)
        .to_owned();
    Entity::insert(row)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The branding row of a tenant, if any.
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant_id.to_string()))
        .one(db)
        .await?)
}
