//! Tenants: the archived communities, and the one owner of the `tenants` table. Every lookup
//! of a tenant (by id, by slug, by the CLI's `<id|slug>`) and every write goes through the
//! functions of this module, whose contracts follow the original API (docs/differences.md).
//!
//! - [`model`]: the typed [`Tenant`] with its [`TenantStatus`] and [`Platform`], and the wire
//!   shapes of requests ([`CreateTenant`], [`UpdateTenant`], [`ListTenantsQuery`]) and pages.
//! - [`validate`]: the request rules, turning strings into typed values.
//! - [`slug`]: slug rules and generation.
//! - `store`: the SQL.

pub mod model;
pub mod slug;
mod store;
pub mod validate;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::db;
use crate::error::{Error, Result};

pub use model::{
    CreateTenant, ListTenantsQuery, Page, Pagination, Platform, Tenant, TenantStatus, UpdateTenant,
    iso_millis,
};
use validate::NewSlug;

/// Create a tenant.
///
/// Contract: validates every field (trimmed name/platformId 1-255, slug rules, platform and
/// status enums) and returns `Error::Validation` with one issue per bad field. A missing or
/// empty `slug` is generated from the name and made unique with a numeric suffix (retrying
/// when a concurrent create takes it first). A taken explicit slug gives
/// `Error::Conflict{field:"slug"}`, a taken (platform, platformId) gives
/// `Error::Conflict{field:"platformId"}` — decided by the database's unique keys, so it
/// holds under races. Returns the stored tenant. Enqueuing the first sync of a discord
/// tenant is the caller's job.
#[tracing::instrument(skip_all, fields(platform = ?input.platform))]
pub async fn create(db: &impl ConnectionTrait, input: &CreateTenant) -> Result<Tenant> {
    let valid = validate::validate_create(input)?;
    let now = db::now();
    let id = Uuid::new_v4();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let slug = match &valid.slug {
            NewSlug::Given(slug) => slug.clone(),
            NewSlug::FromName(base) => {
                slug::first_free_slug(base, &store::taken_slugs(db, base).await?)
            }
        };
        match store::insert(db, id, &valid, &slug, now).await {
            Ok(tenant) => {
                tracing::info!(tenant_id = %id, %slug, "tenant created");
                return Ok(tenant);
            }
            // Someone took the generated slug between our look-up and insert: pick again.
            Err(Error::Conflict { field: "slug", .. })
                if matches!(valid.slug, NewSlug::FromName(_)) && attempts < 20 => {}
            Err(other) => return Err(other),
        }
    }
}

/// The tenant with id `id`.
///
/// Contract: `Error::NotFound{entity:"tenant", id}` when there is none.
#[tracing::instrument(skip(db))]
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Tenant> {
    store::find_by_id(db, id)
        .await?
        .ok_or_else(|| Error::not_found("tenant", id.to_string()))
}

/// The tenant whose slug is `slug` (exact match; slugs are lower-case).
///
/// Contract: `Error::NotFound{entity:"tenant", id: slug}` when there is none. Status is not
/// checked: a cancelled tenant's archive stays readable, as in the original.
#[tracing::instrument(skip(db))]
pub async fn get_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Tenant> {
    store::find_by_slug(db, slug)
        .await?
        .ok_or_else(|| Error::not_found("tenant", slug))
}

/// The tenant named by `key`, an id or a slug (the CLI's `<id|slug>`, `POST /api/sync`'s
/// `tenantId`). Surrounding whitespace is ignored; a UUID (any case) is tried as an id first,
/// then the text as a slug, since a slug may itself look like a UUID.
///
/// Contract: `Error::NotFound{entity:"tenant", id: key}` when neither matches.
#[tracing::instrument(skip(db))]
pub async fn get_by_id_or_slug(db: &impl ConnectionTrait, key: &str) -> Result<Tenant> {
    let key = key.trim();
    if let Ok(id) = Uuid::parse_str(key)
        && let Some(tenant) = store::find_by_id(db, id).await?
    {
        return Ok(tenant);
    }
    store::find_by_slug(db, key)
        .await?
        .ok_or_else(|| Error::not_found("tenant", key))
}

/// List tenants, one page at a time.
///
/// Contract: validates the query (`Error::Validation` naming `page`, `limit`, `sortBy`,
/// `sortOrder`); orders by the sort column then by id (stable across pages); a page past the
/// end is empty with the right total.
pub async fn list(db: &impl ConnectionTrait, query: &ListTenantsQuery) -> Result<Page<Tenant>> {
    let params = query.validate()?;
    let total = store::count(db).await?;
    let offset = params.page.saturating_sub(1).saturating_mul(params.limit);
    // A page past the end is answered without a query: the offset of an absurd page number
    // does not fit the database's signed 64-bit OFFSET (the SQLite binder panics on it).
    let data = if offset >= total {
        Vec::new()
    } else {
        store::page(db, &params, offset).await?
    };
    Ok(Page {
        data,
        pagination: Pagination {
            page: params.page,
            limit: params.limit,
            total,
            total_pages: total.div_ceil(params.limit),
        },
    })
}

/// Ids of up to `limit` tenants the sync serves (ACTIVE, Discord) with an id above `after`
/// (`""` for the first page), in id order: keyset pages over every such tenant.
pub async fn syncable_ids_after(
    db: &impl ConnectionTrait,
    after: &str,
    limit: u64,
) -> Result<Vec<String>> {
    store::syncable_ids_after(db, after, limit).await
}

/// Every tenant, oldest first (then by id).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Tenant>> {
    store::all(db).await
}

/// Change some fields of a tenant.
///
/// Contract, in this order: an empty patch is `Error::Validation` with field `""` and the
/// message "No valid fields provided for update" (check [`UpdateTenant::is_empty`] first for
/// the original's exact 400 body); each given field is validated like on create (no slug
/// generation); a missing tenant is `Error::NotFound{entity:"tenant"}`; a taken slug or
/// (platform, platformId) is `Error::Conflict{field}`. `updatedAt` is refreshed. Returns the
/// full updated tenant.
#[tracing::instrument(skip_all, fields(tenant_id = %id))]
pub async fn update(db: &impl ConnectionTrait, id: Uuid, input: &UpdateTenant) -> Result<Tenant> {
    let patch = validate::validate_update(input)?;
    store::update(db, id, &patch, db::now()).await?;
    // The read-back tells a missing tenant (NotFound) from an unchanged one.
    get(db, id).await
}

/// Delete a tenant and, through the foreign keys' `ON DELETE CASCADE`, everything archived
/// under it (channels, messages, reactions, attachments, progress, branding, jobs).
///
/// Contract: `Error::NotFound{entity:"tenant"}` when nothing was deleted.
#[tracing::instrument(skip_all, fields(tenant_id = %id))]
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<()> {
    if !store::delete(db, id).await? {
        return Err(Error::not_found("tenant", id.to_string()));
    }
    tracing::info!("tenant deleted");
    Ok(())
}
