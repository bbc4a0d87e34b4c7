//! Validation of tenant requests, exactly as the original API (docs/differences.md), with its
//! whitespace bug fixed: names and platform ids are trimmed *before* the length rules, so a
//! whitespace-only value fails. Each function collects one [`FieldIssue`] per bad field and
//! turns the request's strings into typed values.

use crate::error::{Error, FieldIssue, Result};

use super::model::{CreateTenant, ListTenantsQuery, Platform, TenantStatus, UpdateTenant};
use super::slug::{slug_from_name, validate_slug};

/// Longest name / platform id, in characters (after trimming).
pub const MAX_NAME_LEN: usize = 255;

/// Where the slug of a new tenant comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NewSlug {
    /// Given by the client: used as is, a collision is a conflict.
    Given(String),
    /// Derived from the name: the first free `base`, `base-2`, ... is used.
    FromName(String),
}

/// A validated create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ValidCreate {
    pub name: String,
    pub slug: NewSlug,
    pub platform: Platform,
    pub platform_id: String,
    pub status: TenantStatus,
}

/// A validated update request: the fields to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct TenantPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub platform: Option<Platform>,
    pub platform_id: Option<String>,
    pub status: Option<TenantStatus>,
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

/// Validate a create request: one issue per bad field; a slug generated from the name is only
/// checked once everything else is valid, as the original did.
pub(super) fn validate_create(input: &CreateTenant) -> Result<ValidCreate> {
    let mut issues = Vec::new();
    let name = trimmed_text("name", "Name", input.name.as_deref(), &mut issues);
    let given_slug = input.slug.as_deref().filter(|s| !s.is_empty());
    if let Some(slug) = given_slug {
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
    match (name, platform, platform_id, status) {
        (Some(name), Some(platform), Some(platform_id), Some(status)) if issues.is_empty() => {
            let slug = match given_slug {
                Some(slug) => NewSlug::Given(slug.to_owned()),
                None => NewSlug::FromName(generated_slug(&name)?),
            };
            Ok(ValidCreate {
                name,
                slug,
                platform,
                platform_id,
                status,
            })
        }
        _ => Err(Error::Validation(issues)),
    }
}

/// The slug derived from `name`, when it is a valid slug.
fn generated_slug(name: &str) -> Result<String> {
    let slug = slug_from_name(name);
    let mut issues = Vec::new();
    validate_slug(&slug, &mut issues);
    if issues.is_empty() {
        Ok(slug)
    } else {
        Err(Error::invalid(
            "slug",
            format!(
                "cannot generate a slug of at least 3 characters from the name \
                 (got `{slug}`); provide a slug"
            ),
        ))
    }
}

/// Validate an update request: an empty one is refused with field `""` and the message "No
/// valid fields provided for update"; each given field follows the create rules (no slug
/// generation).
pub(super) fn validate_update(input: &UpdateTenant) -> Result<TenantPatch> {
    if input.is_empty() {
        return Err(Error::invalid("", "No valid fields provided for update"));
    }
    let mut issues = Vec::new();
    let mut patch = TenantPatch::default();
    if input.name.is_some() {
        patch.name = trimmed_text("name", "Name", input.name.as_deref(), &mut issues);
    }
    if let Some(slug) = &input.slug {
        validate_slug(slug, &mut issues);
        patch.slug = Some(slug.clone());
    }
    if input.platform.is_some() {
        patch.platform = platform_field(input.platform.as_deref(), &mut issues);
    }
    if input.platform_id.is_some() {
        patch.platform_id = trimmed_text(
            "platformId",
            "Platform ID",
            input.platform_id.as_deref(),
            &mut issues,
        );
    }
    if let Some(status) = &input.status {
        patch.status = status_field(status, &mut issues);
    }
    if issues.is_empty() {
        Ok(patch)
    } else {
        Err(Error::Validation(issues))
    }
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

/// `value` when it lies in `min..=max`; otherwise an issue on `field` (and `min`, so that the
/// other fields are still checked).
fn in_range(
    field: &'static str,
    value: u64,
    min: u64,
    max: u64,
    issues: &mut Vec<FieldIssue>,
) -> u64 {
    if value < min {
        issues.push(FieldIssue::new(
            field,
            format!("Too small: expected number to be >={min}"),
        ));
        min
    } else if value > max {
        issues.push(FieldIssue::new(
            field,
            format!("Too big: expected number to be <={max}"),
        ));
        min
    } else {
        value
    }
}

impl ListTenantsQuery {
    /// Validate: page integer > 0 (default 1), limit integer 1-100 (default 10), sortBy
    /// `created_at|updated_at|name` (default created_at), sortOrder `asc|desc` (default desc).
    pub fn validate(&self) -> Result<ListParams> {
        let mut issues = Vec::new();
        let page = in_range("page", self.page, 1, u64::MAX, &mut issues);
        let limit = in_range("limit", self.limit, 1, 100, &mut issues);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_pages_start_at_one_and_hold_at_most_a_hundred() {
        let q = |page: u64, limit: u64| ListTenantsQuery {
            page,
            limit,
            ..Default::default()
        };
        let ok = q(2, 100).validate().unwrap();
        assert_eq!((ok.page, ok.limit), (2, 100));
        let fields = |page, limit| -> Vec<String> {
            match q(page, limit).validate() {
                Err(Error::Validation(issues)) => issues.into_iter().map(|i| i.field).collect(),
                other => panic!("expected a validation error, got {other:?}"),
            }
        };
        assert_eq!(fields(0, 10), ["page"]);
        assert_eq!(fields(1, 0), ["limit"]);
        assert_eq!(fields(1, 101), ["limit"]);
        assert_eq!(fields(0, 101), ["page", "limit"]);
    }

    #[test]
    fn create_keeps_a_given_slug_and_derives_a_missing_or_empty_one() {
        let input = |slug: Option<&str>| CreateTenant {
            name: Some("  Acme Corp ".into()),
            slug: slug.map(Into::into),
            platform: Some("discord".into()),
            platform_id: Some("1".into()),
            status: None,
        };
        let given = validate_create(&input(Some("acme"))).unwrap();
        assert_eq!(given.slug, NewSlug::Given("acme".into()));
        assert_eq!(given.name, "Acme Corp");
        assert_eq!(given.status, TenantStatus::Active);
        for slug in [None, Some("")] {
            let derived = validate_create(&input(slug)).unwrap();
            assert_eq!(derived.slug, NewSlug::FromName("acme-corp".into()));
        }
    }

    #[test]
    fn update_turns_the_given_fields_into_a_typed_patch() {
        let patch = validate_update(&UpdateTenant {
            platform: Some("slack".into()),
            status: Some("MAINTENANCE".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            patch,
            TenantPatch {
                platform: Some(Platform::Slack),
                status: Some(TenantStatus::Maintenance),
                ..Default::default()
            }
        );
    }
}
