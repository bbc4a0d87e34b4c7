//! Slugs: the rules a slug must follow, the slug derived from a name, and the first free
//! `-2`, `-3`, ... variant of a taken one.

use crate::error::FieldIssue;

/// Shortest slug, in characters.
pub const MIN_SLUG_LEN: usize = 3;
/// Longest slug, in characters.
pub const MAX_SLUG_LEN: usize = 50;

const SLUG_MESSAGE: &str = "Slug must contain only lowercase letters, numbers, and hyphens (cannot start or end with hyphen)";

/// Whether `slug` matches `^[a-z0-9]+(?:-[a-z0-9]+)*$`.
fn pattern_ok(slug: &str) -> bool {
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
    if !pattern_ok(slug) {
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
    cut(slug.trim_matches('-'), MAX_SLUG_LEN)
}

/// `slug` cut to at most `max` characters without a trailing hyphen (slugs are ASCII).
fn cut(slug: &str, max: usize) -> String {
    slug[..slug.len().min(max)].trim_end_matches('-').to_owned()
}

/// `base`, or `base-2`, `base-3`, ... (cut so the whole stays within 50 characters): the
/// first candidate not in `taken`.
pub(super) fn first_free_slug(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    (2u32..)
        .map(|n| {
            let suffix = format!("-{n}");
            format!("{}{suffix}", cut(base, MAX_SLUG_LEN - suffix.len()))
        })
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| base.to_owned())
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
}
