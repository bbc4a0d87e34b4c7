//! Every statement on the `tenants` table. Rows leave this module as [`Tenant`]s; unique-key
//! violations leave it as [`Error::Conflict`] naming the field.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Order;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use entity::tenants;

use crate::db::{self, ViolationKind};
use crate::error::{Error, Result};

use super::model::{Platform, Tenant, TenantStatus};
use super::validate::{ListParams, SortBy, TenantPatch, ValidCreate};

/// Map a unique violation on `tenants` to the field it concerns.
fn conflict(err: sea_orm::DbErr) -> Error {
    match db::classify(&err) {
        Some(v) if v.kind == ViolationKind::Unique && v.involves("slug") => Error::Conflict {
            field: "slug",
            message: "A tenant with this slug already exists".into(),
        },
        Some(v) if v.kind == ViolationKind::Unique && v.involves("platform") => Error::Conflict {
            field: "platformId",
            message: "A tenant for this platform already exists".into(),
        },
        Some(v) if v.kind == ViolationKind::Unique => Error::Conflict {
            field: "id",
            message: "A duplicate entry already exists".into(),
        },
        _ => Error::Database(err),
    }
}

/// The one row `select` finds, if any.
async fn first(
    db: &impl ConnectionTrait,
    select: Select<tenants::Entity>,
) -> Result<Option<Tenant>> {
    // `.all()` rather than `.one()`: the read API looks tenants up on every request, and a
    // bound `LIMIT ?` makes SQLite re-plan the statement on every call. The callers' filters
    // are on unique keys, so there is at most one row.
    select
        .all(db)
        .await?
        .into_iter()
        .next()
        .map(Tenant::try_from)
        .transpose()
}

/// The tenant with this id.
pub(super) async fn find_by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Tenant>> {
    first(
        db,
        tenants::Entity::find().filter(tenants::Column::Id.eq(id.to_string())),
    )
    .await
}

/// The tenant with this slug.
pub(super) async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<Tenant>> {
    first(
        db,
        tenants::Entity::find().filter(tenants::Column::Slug.eq(slug)),
    )
    .await
}

/// Slugs already taken among `base` and `base-<n>`.
pub(super) async fn taken_slugs(db: &impl ConnectionTrait, base: &str) -> Result<Vec<String>> {
    let rows: Vec<String> = tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Slug)
        .filter(
            Condition::any()
                .add(tenants::Column::Slug.eq(base))
                .add(tenants::Column::Slug.starts_with(format!("{base}-"))),
        )
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows)
}

/// Insert a new tenant with `slug`; a taken slug or (platform, platformId) is a conflict.
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    id: Uuid,
    valid: &ValidCreate,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<Tenant> {
    let row = tenants::ActiveModel {
        id: Set(id.to_string()),
        name: Set(valid.name.clone()),
        slug: Set(slug.to_owned()),
        status: Set(valid.status.as_str().to_owned()),
        platform: Set(valid.platform.as_str().to_owned()),
        platform_id: Set(valid.platform_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    tenants::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .map_err(conflict)?;
    Ok(Tenant {
        id,
        name: valid.name.clone(),
        slug: slug.to_owned(),
        status: valid.status,
        platform: valid.platform,
        platform_id: valid.platform_id.clone(),
        created_at: now,
        updated_at: now,
    })
}

/// Number of tenants.
pub(super) async fn count(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(tenants::Entity::find().count(db).await?)
}

fn sort_column(sort_by: SortBy) -> tenants::Column {
    match sort_by {
        SortBy::CreatedAt => tenants::Column::CreatedAt,
        SortBy::UpdatedAt => tenants::Column::UpdatedAt,
        SortBy::Name => tenants::Column::Name,
    }
}

/// The tenants of one page: ordered by the sort column then by id (stable across pages),
/// skipping `offset` rows.
pub(super) async fn page(
    db: &impl ConnectionTrait,
    params: &ListParams,
    offset: u64,
) -> Result<Vec<Tenant>> {
    let order = if params.ascending {
        Order::Asc
    } else {
        Order::Desc
    };
    // The tenants table is small (one row per community): OFFSET paging is fine here.
    tenants::Entity::find()
        .order_by(sort_column(params.sort_by), order.clone())
        .order_by(tenants::Column::Id, order)
        .limit(params.limit)
        .offset(offset)
        .all(db)
        .await?
        .into_iter()
        .map(Tenant::try_from)
        .collect()
}

/// Ids of up to `limit` ACTIVE Discord tenants with an id above `after`, in id order (keyset
/// pages over every tenant the scheduler syncs).
pub(super) async fn syncable_ids_after(
    db: &impl ConnectionTrait,
    after: &str,
    limit: u64,
) -> Result<Vec<String>> {
    Ok(tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Id)
        .filter(tenants::Column::Status.eq(TenantStatus::Active.as_str()))
        .filter(tenants::Column::Platform.eq(Platform::Discord.as_str()))
        .filter(tenants::Column::Id.gt(after))
        .order_by_asc(tenants::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// Every tenant, oldest first.
pub(super) async fn all(db: &impl ConnectionTrait) -> Result<Vec<Tenant>> {
    tenants::Entity::find()
        .order_by_asc(tenants::Column::CreatedAt)
        .order_by_asc(tenants::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Tenant::try_from)
        .collect()
}

/// Write the patched fields and `updated_at` of tenant `id`. Says nothing about whether the
/// tenant exists: MySQL counts only changed rows, so the affected count cannot tell "missing"
/// from "unchanged".
pub(super) async fn update(
    db: &impl ConnectionTrait,
    id: Uuid,
    patch: &TenantPatch,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut row = tenants::ActiveModel::default();
    if let Some(name) = &patch.name {
        row.name = Set(name.clone());
    }
    if let Some(slug) = &patch.slug {
        row.slug = Set(slug.clone());
    }
    if let Some(platform) = patch.platform {
        row.platform = Set(platform.as_str().to_owned());
    }
    if let Some(platform_id) = &patch.platform_id {
        row.platform_id = Set(platform_id.clone());
    }
    if let Some(status) = patch.status {
        row.status = Set(status.as_str().to_owned());
    }
    row.updated_at = Set(now);
    tenants::Entity::update_many()
        .set(row)
        .filter(tenants::Column::Id.eq(id.to_string()))
        .exec(db)
        .await
        .map_err(conflict)?;
    Ok(())
}

/// Delete tenant `id` (the foreign keys cascade); returns whether a row was deleted.
pub(super) async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<bool> {
    let result = tenants::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}
