//! Tenants: the archived communities. Validation rules, slug generation and CRUD, exactly as
//! the original API (reference api.md §2), with its whitespace bug fixed: names and platform
//! ids are trimmed *before* the length rules, so a whitespace-only value fails.
//!
//! The HTTP layer deserializes request bodies into [`CreateTenant`] / [`UpdateTenant`] /
//! [`ListTenantsQuery`] (every field optional and a plain string, so that one request can be
//! reported with one issue per bad field) and serializes [`Tenant`] / [`Page`] as they are.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Order};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::tenants;

use crate::db::{self, ViolationKind};
use crate::error::{Error, FieldIssue, Result};

/// Serde helpers writing timestamps as the original did: ISO-8601 UTC with exactly three
/// fractional digits and `Z` (`2026-01-02T03:04:05.000Z`).
pub mod iso_millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    /// Format one timestamp.
    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// `#[serde(serialize_with = "iso_millis::serialize")]`
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// `#[serde(serialize_with = "iso_millis::serialize_option")]`
    pub fn serialize_option<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(t)),
            None => s.serialize_none(),
        }
    }
}

/// Longest name / platform id, in characters (after trimming).
pub const MAX_NAME_LEN: usize = 255;
/// Shortest slug, in characters.
pub const MIN_SLUG_LEN: usize = 3;
/// Longest slug, in characters.
pub const MAX_SLUG_LEN: usize = 50;

/// Source platform of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Slack workspace (stored, never synced).
    Slack,
    /// Discord guild.
    Discord,
}

impl Platform {
    /// The stored / JSON value (`slack`, `discord`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Discord => "discord",
        }
    }

    /// Parse the exact, case-sensitive value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "slack" => Some(Platform::Slack),
            "discord" => Some(Platform::Discord),
            _ => None,
        }
    }
}

/// Lifecycle status of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum TenantStatus {
    /// Archived and synced (default).
    #[default]
    Active,
    /// No longer synced; data kept.
    Cancelled,
    /// Temporarily not synced.
    Maintenance,
}

impl TenantStatus {
    /// The stored / JSON value (`ACTIVE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "ACTIVE",
            TenantStatus::Cancelled => "CANCELLED",
            TenantStatus::Maintenance => "MAINTENANCE",
        }
    }

    /// Parse the exact, case-sensitive value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ACTIVE" => Some(TenantStatus::Active),
            "CANCELLED" => Some(TenantStatus::Cancelled),
            "MAINTENANCE" => Some(TenantStatus::Maintenance),
            _ => None,
        }
    }
}

/// A tenant as the API returns it: exactly the original's eight camelCase fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Random UUID v4 (lower-case).
    pub id: Uuid,
    /// Display name (trimmed, 1-255 characters).
    pub name: String,
    /// URL-safe unique handle.
    pub slug: String,
    /// Lifecycle status.
    pub status: TenantStatus,
    /// Source platform.
    pub platform: Platform,
    /// The platform's id of the community (Discord guild id); unique per platform.
    pub platform_id: String,
    /// Creation time (second precision, as the columns store it).
    #[serde(serialize_with = "iso_millis::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change time.
    #[serde(serialize_with = "iso_millis::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<tenants::Model> for Tenant {
    type Error = Error;

    fn try_from(m: tenants::Model) -> Result<Self> {
        let corrupt = |what: &str| {
            Error::Database(sea_orm::DbErr::Custom(format!(
                "tenant {}: invalid stored {what}",
                m.id
            )))
        };
        Ok(Tenant {
            id: Uuid::parse_str(&m.id).map_err(|_| corrupt("id"))?,
            status: TenantStatus::parse(&m.status).ok_or_else(|| corrupt("status"))?,
            platform: Platform::parse(&m.platform).ok_or_else(|| corrupt("platform"))?,
            name: m.name,
            slug: m.slug,
            platform_id: m.platform_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Body of "create a tenant". Every field is an optional string so that validation can
/// report each bad field; unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTenant {
    /// Required; trimmed, then 1-255 characters.
    pub name: Option<String>,
    /// Optional; 3-50 characters of `^[a-z0-9]+(?:-[a-z0-9]+)*$`. Generated from the name
    /// when absent or empty, and then made unique with a `-2`, `-3`, ... suffix.
    pub slug: Option<String>,
    /// Required; `slack` or `discord`.
    pub platform: Option<String>,
    /// Required; trimmed, then 1-255 characters; unique per platform.
    pub platform_id: Option<String>,
    /// Optional; `ACTIVE` (default), `CANCELLED` or `MAINTENANCE`.
    pub status: Option<String>,
}

/// Body of "update a tenant": any subset of the fields, same rules as [`CreateTenant`] (no
/// slug generation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTenant {
    /// New name.
    pub name: Option<String>,
    /// New slug (must itself be valid).
    pub slug: Option<String>,
    /// New platform.
    pub platform: Option<String>,
    /// New platform id.
    pub platform_id: Option<String>,
    /// New status.
    pub status: Option<String>,
}

impl UpdateTenant {
    /// True when no field is given: the API answers 400 "No valid fields provided for
    /// update" before looking the tenant up.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.slug.is_none()
            && self.platform.is_none()
            && self.platform_id.is_none()
            && self.status.is_none()
    }
}

/// Query of "list tenants", as strings from the query string (`page`, `limit`, `sortBy`,
/// `sortOrder`); [`list`] validates them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTenantsQuery {
    /// Page number >= 1 (default 1).
    pub page: Option<String>,
    /// Page size 1-100 (default 10).
    pub limit: Option<String>,
    /// `created_at` (default), `updated_at` or `name`.
    pub sort_by: Option<String>,
    /// `asc` or `desc` (default).
    pub sort_order: Option<String>,
}

/// Pagination block of a list response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Requested page (1-based).
    pub page: u64,
    /// Page size.
    pub limit: u64,
    /// Number of items across all pages.
    pub total: u64,
    /// `ceil(total / limit)`; 0 when empty.
    pub total_pages: u64,
}

/// The original's list envelope: `{"data": [...], "pagination": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// Items of this page (empty past the end).
    pub data: Vec<T>,
    /// Where this page is.
    pub pagination: Pagination,
}

const SLUG_MESSAGE: &str = "Slug must contain only lowercase letters, numbers, and hyphens (cannot start or end with hyphen)";

/// Whether `slug` matches `^[a-z0-9]+(?:-[a-z0-9]+)*$`.
fn slug_pattern_ok(slug: &str) -> bool {
    !slug.is_empty()
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Check a slug against the reference rules; every failing rule gives one issue on `slug`.
pub fn validate_slug(slug: &str, issues: &mut Vec<FieldIssue>) {
    let len = slug.chars().count();
    if len < MIN_SLUG_LEN {
        issues.push(FieldIssue::new(
            "slug",
            "Slug must be at least 3 characters long",
        ));
    }
    if len > MAX_SLUG_LEN {
        issues.push(FieldIssue::new(
            "slug",
            "Slug must not exceed 50 characters",
        ));
    }
    if !slug_pattern_ok(slug) {
        issues.push(FieldIssue::new("slug", SLUG_MESSAGE));
    }
}

/// The slug the original derives from a name: lower-case, runs of anything but `[a-z0-9]`
/// become one `-`, no leading/trailing `-`, at most 50 characters (and, unlike the original,
/// no trailing `-` left by the cut). May be shorter than 3 characters (then invalid).
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    cut_slug(slug.trim_matches('-'), MAX_SLUG_LEN)
}

/// `slug` cut to at most `max` characters without a trailing hyphen (slugs are ASCII).
fn cut_slug(slug: &str, max: usize) -> String {
    slug[..slug.len().min(max)].trim_end_matches('-').to_owned()
}

fn trimmed_text(
    field: &'static str,
    label: &str,
    value: Option<&str>,
    issues: &mut Vec<FieldIssue>,
) -> Option<String> {
    let v = value.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        issues.push(FieldIssue::new(field, format!("{label} is required")));
        return None;
    }
    if v.chars().count() > MAX_NAME_LEN {
        issues.push(FieldIssue::new(
            field,
            format!("{label} must not exceed 255 characters"),
        ));
        return None;
    }
    Some(v.to_owned())
}

fn platform_field(value: Option<&str>, issues: &mut Vec<FieldIssue>) -> Option<Platform> {
    let p = value.and_then(Platform::parse);
    if p.is_none() {
        issues.push(FieldIssue::new(
            "platform",
            r#"Invalid option: expected one of "slack"|"discord""#,
        ));
    }
    p
}

fn status_field(value: &str, issues: &mut Vec<FieldIssue>) -> Option<TenantStatus> {
    let s = TenantStatus::parse(value);
    if s.is_none() {
        issues.push(FieldIssue::new(
            "status",
            r#"Invalid option: expected one of "ACTIVE"|"CANCELLED"|"MAINTENANCE""#,
        ));
    }
    s
}

/// A validated create request.
struct ValidCreate {
    name: String,
    /// `None`: generate from the name.
    slug: Option<String>,
    platform: Platform,
    platform_id: String,
    status: TenantStatus,
}

fn validate_create(input: &CreateTenant) -> Result<(ValidCreate, String)> {
    let mut issues = Vec::new();
    let name = trimmed_text("name", "Name", input.name.as_deref(), &mut issues);
    let explicit_slug = input.slug.as_deref().filter(|s| !s.is_empty());
    if let Some(slug) = explicit_slug {
        validate_slug(slug, &mut issues);
    }
    let platform = platform_field(input.platform.as_deref(), &mut issues);
    let platform_id = trimmed_text(
        "platformId",
        "Platform ID",
        input.platform_id.as_deref(),
        &mut issues,
    );
    let status = match input.status.as_deref() {
        None => Some(TenantStatus::Active),
        Some(s) => status_field(s, &mut issues),
    };
    // The generated slug is only checked once everything else is valid, as the original did.
    let generated = match (&name, explicit_slug) {
        (Some(name), None) if issues.is_empty() => {
            let slug = slug_from_name(name);
            let mut slug_issues = Vec::new();
            validate_slug(&slug, &mut slug_issues);
            if !slug_issues.is_empty() {
                return Err(Error::invalid(
                    "slug",
                    format!(
                        "cannot generate a slug of at least 3 characters from the name \
                         (got `{slug}`); provide a slug"
                    ),
                ));
            }
            slug
        }
        _ => String::new(),
    };
    match (name, platform, platform_id, status) {
        (Some(name), Some(platform), Some(platform_id), Some(status)) if issues.is_empty() => Ok((
            ValidCreate {
                name,
                slug: explicit_slug.map(str::to_owned),
                platform,
                platform_id,
                status,
            },
            generated,
        )),
        _ => Err(Error::Validation(issues)),
    }
}

/// Map a unique violation on `tenants` to the field it concerns.
fn tenant_conflict(err: sea_orm::DbErr) -> Error {
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

/// Slugs already taken among `base` and `base-<n>`.
async fn taken_slugs(db: &impl ConnectionTrait, base: &str) -> Result<Vec<String>> {
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

/// `base`, or `base-2`, `base-3`, ... (cut so the whole stays within 50 characters): the
/// first candidate not in `taken`.
fn first_free_slug(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    (2u32..)
        .map(|n| {
            let suffix = format!("-{n}");
            format!("{}{suffix}", cut_slug(base, MAX_SLUG_LEN - suffix.len()))
        })
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| base.to_owned())
}

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
    let (valid, generated) = validate_create(input)?;
    let now = db::now();
    let id = Uuid::new_v4();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let slug = match &valid.slug {
            Some(explicit) => explicit.clone(),
            None => first_free_slug(&generated, &taken_slugs(db, &generated).await?),
        };
        let row = tenants::ActiveModel {
            id: Set(id.to_string()),
            name: Set(valid.name.clone()),
            slug: Set(slug.clone()),
            status: Set(valid.status.as_str().to_owned()),
            platform: Set(valid.platform.as_str().to_owned()),
            platform_id: Set(valid.platform_id.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        match tenants::Entity::insert(row)
            .exec_without_returning(db)
            .await
        {
            Ok(_) => {
                tracing::info!(tenant_id = %id, %slug, "tenant created");
                return Ok(Tenant {
                    id,
                    name: valid.name,
                    slug,
                    status: valid.status,
                    platform: valid.platform,
                    platform_id: valid.platform_id,
                    created_at: now,
                    updated_at: now,
                });
            }
            Err(err) => match tenant_conflict(err) {
                // Someone took the generated slug between our look-up and insert: pick again.
                Error::Conflict { field: "slug", .. } if valid.slug.is_none() && attempts < 20 => {
                    continue;
                }
                other => return Err(other),
            },
        }
    }
}

/// Look a tenant up by id.
///
/// Contract: `Error::NotFound{entity:"tenant"}` when there is none.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<Tenant> {
    tenants::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("tenant", id.to_string()))?
        .try_into()
}

/// Look a tenant up by slug. Contract: `Error::NotFound{entity:"tenant"}` when there is none.
pub async fn get_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Tenant> {
    tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("tenant", slug))?
        .try_into()
}

/// Resolve the `<id|slug>` argument of the CLI: a UUID is tried as an id first (any case),
/// then the text as a slug. Contract: `Error::NotFound{entity:"tenant", id: key}` otherwise.
pub async fn resolve(db: &impl ConnectionTrait, key: &str) -> Result<Tenant> {
    let key = key.trim();
    if let Ok(id) = Uuid::parse_str(key) {
        match get(db, id).await {
            Err(Error::NotFound { .. }) => {}
            other => return other,
        }
    }
    get_by_slug(db, key).await.map_err(|e| match e {
        Error::NotFound { entity, .. } => Error::not_found(entity, key),
        other => other,
    })
}

/// Sort column of a tenant list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// `created_at` (default).
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `name`.
    Name,
}

impl SortBy {
    fn column(self) -> tenants::Column {
        match self {
            SortBy::CreatedAt => tenants::Column::CreatedAt,
            SortBy::UpdatedAt => tenants::Column::UpdatedAt,
            SortBy::Name => tenants::Column::Name,
        }
    }
}

/// Validated list parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListParams {
    /// 1-based page.
    pub page: u64,
    /// 1-100.
    pub limit: u64,
    /// Sort column.
    pub sort_by: SortBy,
    /// Ascending?
    pub ascending: bool,
}

/// A JavaScript `Number()`-style positive integer: decimal (exponent allowed) and integral.
fn positive_int(
    field: &'static str,
    value: Option<&str>,
    default: u64,
    max: Option<u64>,
    issues: &mut Vec<FieldIssue>,
) -> u64 {
    let Some(raw) = value else { return default };
    let n = match raw.trim() {
        "" => Some(0.0),
        t => t.parse::<f64>().ok().filter(|n| n.is_finite()),
    };
    match n {
        None => {
            issues.push(FieldIssue::new(
                field,
                "Invalid input: expected number, received NaN",
            ));
            default
        }
        Some(n) if n.fract() != 0.0 => {
            issues.push(FieldIssue::new(
                field,
                "Invalid input: expected int, received number",
            ));
            default
        }
        Some(n) if n <= 0.0 => {
            issues.push(FieldIssue::new(
                field,
                "Too small: expected number to be >0",
            ));
            default
        }
        Some(n) => match max {
            Some(max) if n > max as f64 => {
                issues.push(FieldIssue::new(
                    field,
                    format!("Too big: expected number to be <={max}"),
                ));
                default
            }
            // In range: n is a positive whole number no larger than u64 can hold here.
            _ => n.min(u64::MAX as f64) as u64,
        },
    }
}

impl ListTenantsQuery {
    /// Validate: page integer > 0 (default 1), limit integer 1-100 (default 10), sortBy
    /// `created_at|updated_at|name` (default created_at), sortOrder `asc|desc` (default desc).
    pub fn validate(&self) -> Result<ListParams> {
        let mut issues = Vec::new();
        let page = positive_int("page", self.page.as_deref(), 1, None, &mut issues);
        let limit = positive_int("limit", self.limit.as_deref(), 10, Some(100), &mut issues);
        let sort_by = match self.sort_by.as_deref() {
            None | Some("created_at") => SortBy::CreatedAt,
            Some("updated_at") => SortBy::UpdatedAt,
            Some("name") => SortBy::Name,
            Some(_) => {
                issues.push(FieldIssue::new(
                    "sortBy",
                    r#"Invalid option: expected one of "created_at"|"updated_at"|"name""#,
                ));
                SortBy::CreatedAt
            }
        };
        let ascending = match self.sort_order.as_deref() {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(_) => {
                issues.push(FieldIssue::new(
                    "sortOrder",
                    r#"Invalid option: expected one of "asc"|"desc""#,
                ));
                false
            }
        };
        if issues.is_empty() {
            Ok(ListParams {
                page,
                limit,
                sort_by,
                ascending,
            })
        } else {
            Err(Error::Validation(issues))
        }
    }
}

/// List tenants, one page at a time.
///
/// Contract: validates the query (`Error::Validation` naming `page`, `limit`, `sortBy`,
/// `sortOrder`); orders by the sort column then by id (stable across pages); a page past the
/// end is empty with the right total.
pub async fn list(db: &impl ConnectionTrait, query: &ListTenantsQuery) -> Result<Page<Tenant>> {
    let params = query.validate()?;
    let order = if params.ascending {
        Order::Asc
    } else {
        Order::Desc
    };
    let total = tenants::Entity::find().count(db).await?;
    let offset = params.page.saturating_sub(1).saturating_mul(params.limit);
    // A page past the end is answered without a query: the offset of an absurd page number
    // does not fit the database's signed 64-bit OFFSET (the SQLite binder panics on it).
    let rows = if offset >= total {
        Vec::new()
    } else {
        // The tenants table is small (one row per community): OFFSET paging is fine here.
        tenants::Entity::find()
            .order_by(params.sort_by.column(), order.clone())
            .order_by(tenants::Column::Id, order)
            .limit(params.limit)
            .offset(offset)
            .all(db)
            .await?
    };
    let data = rows
        .into_iter()
        .map(Tenant::try_from)
        .collect::<Result<Vec<_>>>()?;
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

/// Every tenant, oldest first (for the scheduler and the CLI).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Tenant>> {
    tenants::Entity::find()
        .order_by_asc(tenants::Column::CreatedAt)
        .order_by_asc(tenants::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Tenant::try_from)
        .collect()
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
    if input.is_empty() {
        return Err(Error::invalid("", "No valid fields provided for update"));
    }
    let mut issues = Vec::new();
    let mut row = tenants::ActiveModel {
        id: NotSet,
        ..Default::default()
    };
    if input.name.is_some()
        && let Some(name) = trimmed_text("name", "Name", input.name.as_deref(), &mut issues)
    {
        row.name = Set(name);
    }
    if let Some(slug) = &input.slug {
        validate_slug(slug, &mut issues);
        row.slug = Set(slug.clone());
    }
    if input.platform.is_some()
        && let Some(p) = platform_field(input.platform.as_deref(), &mut issues)
    {
        row.platform = Set(p.as_str().to_owned());
    }
    if input.platform_id.is_some()
        && let Some(pid) = trimmed_text(
            "platformId",
            "Platform ID",
            input.platform_id.as_deref(),
            &mut issues,
        )
    {
        row.platform_id = Set(pid);
    }
    if let Some(status) = &input.status
        && let Some(s) = status_field(status, &mut issues)
    {
        row.status = Set(s.as_str().to_owned());
    }
    if !issues.is_empty() {
        return Err(Error::Validation(issues));
    }
    row.updated_at = Set(db::now());
    let result = tenants::Entity::update_many()
        .set(row)
        .filter(tenants::Column::Id.eq(id.to_string()))
        .exec(db)
        .await
        .map_err(tenant_conflict)?;
    // MySQL counts only changed rows, so `rows_affected` cannot tell "missing" from
    // "unchanged": the read-back does (NotFound when the tenant does not exist).
    let _ = result;
    get(db, id).await
}

/// Delete a tenant and, through the foreign keys' `ON DELETE CASCADE`, everything archived
/// under it (channels, messages, reactions, attachments, progress, branding, jobs).
///
/// Contract: `Error::NotFound{entity:"tenant"}` when nothing was deleted.
#[tracing::instrument(skip_all, fields(tenant_id = %id))]
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<()> {
    let result = tenants::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(Error::not_found("tenant", id.to_string()));
    }
    tracing::info!("tenant deleted");
    Ok(())
}

/// Touch `updated_at` of a tenant (used after a sync); no error when it is gone.
pub async fn touch(db: &impl ConnectionTrait, id: Uuid) -> Result<()> {
    tenants::Entity::update_many()
        .col_expr(tenants::Column::UpdatedAt, Expr::value(db::now()))
        .filter(tenants::Column::Id.eq(id.to_string()))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_generation_matches_the_original() {
        assert_eq!(slug_from_name("Auto Slug Test"), "auto-slug-test");
        assert_eq!(slug_from_name("  --Hello,   World!--  "), "hello-world");
        assert_eq!(slug_from_name("Hi"), "hi");
        assert_eq!(slug_from_name("日本語"), "");
        let long = "a".repeat(49) + " b";
        assert_eq!(
            slug_from_name(&long),
            "a".repeat(49),
            "no trailing hyphen after the cut"
        );
    }

    #[test]
    fn slug_pattern_boundaries() {
        for ok in ["abc", "a-b", "a1-b2-c3", &"a".repeat(50)] {
            let mut issues = Vec::new();
            validate_slug(ok, &mut issues);
            assert!(issues.is_empty(), "{ok}: {issues:?}");
        }
        for bad in [
            "ab",
            &"a".repeat(51),
            "-ab",
            "ab-",
            "a--b",
            "Abc",
            "a_b",
            "a b",
        ] {
            let mut issues = Vec::new();
            validate_slug(bad, &mut issues);
            assert!(!issues.is_empty(), "{bad} should fail");
            assert!(issues.iter().all(|i| i.field == "slug"));
        }
    }

    #[test]
    fn free_slug_gets_a_numeric_suffix_within_50_chars() {
        assert_eq!(first_free_slug("acme", &[]), "acme");
        let taken = vec!["acme".to_owned(), "acme-2".to_owned()];
        assert_eq!(first_free_slug("acme", &taken), "acme-3");
        let base = "a".repeat(50);
        let s = first_free_slug(&base, std::slice::from_ref(&base));
        assert_eq!(s, format!("{}-2", "a".repeat(48)));
    }

    #[test]
    fn list_query_numbers_follow_javascript_number_rules() {
        let q = |page: &str, limit: &str| ListTenantsQuery {
            page: Some(page.into()),
            limit: Some(limit.into()),
            ..Default::default()
        };
        assert!(q("1", "100").validate().is_ok());
        assert_eq!(q(" 2 ", "1e1").validate().unwrap().limit, 10);
        for (page, limit) in [
            ("0", "1"),
            ("-1", "1"),
            ("1.5", "1"),
            ("abc", "1"),
            ("", "1"),
        ] {
            let err = q(page, limit).validate().unwrap_err();
            assert!(
                matches!(&err, Error::Validation(i) if i[0].field == "page"),
                "{page}"
            );
        }
        let err = q("1", "101").validate().unwrap_err();
        assert!(matches!(&err, Error::Validation(i) if i[0].field == "limit"));
    }
}
