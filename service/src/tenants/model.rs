//! The tenant as code and the API see it: its typed status and platform, the stored row turned
//! into a [`Tenant`], and the wire shapes of the requests and of a list page.
//!
//! Request bodies ([`CreateTenant`], [`UpdateTenant`], [`ListTenantsQuery`]) keep every field
//! an optional plain string, so that one request can be reported with one issue per bad field
//! (see [`super::validate`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use entity::tenants;

use crate::error::{Error, Result};

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
}

/// Source platform of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, ToSchema)]
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

impl Tenant {
    /// Whether the sync may run for this tenant: only ACTIVE Discord tenants are synced.
    pub fn is_syncable(&self) -> bool {
        self.status == TenantStatus::Active && self.platform == Platform::Discord
    }
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

/// Query of "list tenants": the page numbers (read from the query string by the API's one
/// paging policy) and the sort options as given (`sortBy`, `sortOrder`); [`super::list`]
/// validates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTenantsQuery {
    /// Page number >= 1 (default 1).
    pub page: u64,
    /// Page size 1-100 (default 10).
    pub limit: u64,
    /// `created_at` (default), `updated_at` or `name`.
    pub sort_by: Option<String>,
    /// `asc` or `desc` (default).
    pub sort_order: Option<String>,
}

impl Default for ListTenantsQuery {
    /// The first page of 10, newest first.
    fn default() -> Self {
        Self {
            page: 1,
            limit: 10,
            sort_by: None,
            sort_order: None,
        }
    }
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
