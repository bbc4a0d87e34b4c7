//! Tenant branding: logo and three `#RRGGBB` colours, one record per tenant, with the
//! original's defaults (`#3b82f6`, `#64748b`, `#10b981`, no logo).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use entity::tenant_branding;

use crate::db::{self, ViolationKind};
use crate::error::{Error, FieldIssue, Result};
use crate::repo::tenant_branding::{self as repo, BrandingChanges};
use crate::tenants::{self, iso_millis};

pub use crate::repo::tenant_branding::{
    DEFAULT_ACCENT_COLOR, DEFAULT_PRIMARY_COLOR, DEFAULT_SECONDARY_COLOR,
};

/// Largest logo (URL or data URI), in bytes: a MySQL `TEXT` column.
pub const MAX_LOGO_BYTES: usize = 65_535;

/// A tenant's branding as the API returns it (camelCase, like the original's `/api/v1/branding`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Branding {
    /// Row id.
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Logo as a URL or data URI, or null.
    pub logo: Option<String>,
    /// `#RRGGBB`.
    pub primary_color: String,
    /// `#RRGGBB`.
    pub secondary_color: String,
    /// `#RRGGBB`.
    pub accent_color: String,
    /// Creation time.
    #[serde(serialize_with = "iso_millis::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change time.
    #[serde(serialize_with = "iso_millis::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<tenant_branding::Model> for Branding {
    type Error = Error;

    fn try_from(m: tenant_branding::Model) -> Result<Self> {
        let parse = |s: &str| {
            Uuid::parse_str(s).map_err(|_| {
                Error::Database(sea_orm::DbErr::Custom(format!(
                    "tenant_branding {}: invalid stored id",
                    m.id
                )))
            })
        };
        Ok(Branding {
            id: parse(&m.id)?,
            tenant_id: parse(&m.tenant_id)?,
            logo: m.logo,
            primary_color: m.primary_color,
            secondary_color: m.secondary_color,
            accent_color: m.accent_color,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// Deserialize a present field (even `null`) as `Some(..)`, so `logo: null` (clear) differs
/// from an absent `logo` (keep).
fn present<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Body of "set branding": any subset of the fields; absent fields keep their value (or the
/// default on first write); `"logo": null` removes the logo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrandingInput {
    /// URL or data URI (at most 65,535 bytes); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    pub logo: Option<Option<String>>,
    /// `#RRGGBB` (hex digits in either case).
    pub primary_color: Option<String>,
    /// `#RRGGBB`.
    pub secondary_color: Option<String>,
    /// `#RRGGBB`.
    pub accent_color: Option<String>,
}

/// Whether `s` is `#` followed by exactly six hex digits (the table's CHECK).
pub fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl BrandingInput {
    /// Check every given field; one issue per bad field (`primaryColor`, ..., `logo`).
    pub fn validate(&self) -> Result<BrandingChanges> {
        let mut issues = Vec::new();
        for (field, value) in [
            ("primaryColor", &self.primary_color),
            ("secondaryColor", &self.secondary_color),
            ("accentColor", &self.accent_color),
        ] {
            if let Some(v) = value
                && !is_hex_color(v)
            {
                issues.push(FieldIssue::new(
                    field,
                    "Color must be a hex color in the form #RRGGBB",
                ));
            }
        }
        if let Some(Some(logo)) = &self.logo
            && logo.len() > MAX_LOGO_BYTES
        {
            issues.push(FieldIssue::new("logo", "Logo must not exceed 65535 bytes"));
        }
        if !issues.is_empty() {
            return Err(Error::Validation(issues));
        }
        Ok(BrandingChanges {
            logo: self.logo.clone(),
            primary_color: self.primary_color.clone(),
            secondary_color: self.secondary_color.clone(),
            accent_color: self.accent_color.clone(),
        })
    }
}

/// The branding of a tenant.
///
/// Contract: `Error::NotFound{entity:"tenant"}` when the tenant does not exist; `Ok(None)`
/// when it exists but has no branding yet (the read API answers `null`).
pub async fn get(db: &impl sea_orm::ConnectionTrait, tenant_id: Uuid) -> Result<Option<Branding>> {
    match repo::get(db, tenant_id).await? {
        Some(row) => Ok(Some(row.try_into()?)),
        None => {
            tenants::get(db, tenant_id).await?;
            Ok(None)
        }
    }
}

/// Set (create or partially update) the branding of a tenant and return the stored record.
///
/// Contract: validation first (`Error::Validation` naming each bad field); a missing tenant is
/// `Error::NotFound{entity:"tenant"}`; the first write fills absent fields with the defaults,
/// later writes change only the given fields.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant_id))]
pub async fn upsert(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: Uuid,
    input: &BrandingInput,
) -> Result<Branding> {
    let changes = input.validate()?;
    if let Err(err) = repo::upsert(db, tenant_id, &changes).await {
        return Err(match err {
            Error::Database(e)
                if db::classify(&e).is_some_and(|v| v.kind == ViolationKind::ForeignKey) =>
            {
                Error::not_found("tenant", tenant_id.to_string())
            }
            other => other,
        });
    }
    repo::get(db, tenant_id)
        .await?
        .ok_or_else(|| Error::not_found("tenant", tenant_id.to_string()))?
        .try_into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_colors_at_their_boundaries() {
        for ok in ["#000000", "#ffffff", "#3B82F6", "#a1B2c3"] {
            assert!(is_hex_color(ok), "{ok}");
        }
        for bad in [
            "",
            "#fff",
            "#12345",
            "#1234567",
            "123456",
            "#12345g",
            "##12345",
            "#ｆｆｆｆｆ",
        ] {
            assert!(!is_hex_color(bad), "{bad}");
        }
    }

    #[test]
    fn absent_logo_differs_from_null_logo() {
        let absent: BrandingInput = serde_json::from_str("{}").unwrap();
        let null: BrandingInput = serde_json::from_str(r#"{"logo":null}"#).unwrap();
        let set: BrandingInput = serde_json::from_str(r#"{"logo":"x"}"#).unwrap();
        assert_eq!(absent.logo, None);
        assert_eq!(null.logo, Some(None));
        assert_eq!(set.logo, Some(Some("x".into())));
    }

    #[test]
    fn each_bad_field_is_named() {
        let input = BrandingInput {
            primary_color: Some("red".into()),
            accent_color: Some("#12345".into()),
            logo: Some(Some("x".repeat(MAX_LOGO_BYTES + 1))),
            ..Default::default()
        };
        let Err(Error::Validation(issues)) = input.validate() else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["primaryColor", "accentColor", "logo"]);
    }
}
