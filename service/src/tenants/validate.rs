//! Validation of tenant requests, exactly as the original API (reference api.md §2), with its
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

#[cfg(test)]
mod tests {
    use super::*;

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
