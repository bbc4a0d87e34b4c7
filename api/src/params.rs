//! The one policy for paging query parameters: page numbers, page sizes, neighbour counts and
//! keyset cursors, on every route that takes them.
//!
//! * A count ([`Count`]) is absent (its default) or a decimal integer (ASCII digits, surrounding
//!   whitespace ignored) inside its route's range. Anything else — a sign, a fraction, an
//!   exponent, an empty value, a word — and any value outside the range is a 400 `Validation
//!   Error` whose `details.issues[].path` names the parameter. Nothing is clamped.
//! * A cursor ([`cursor`]) is a platform snowflake in decimal digits, read with the same
//!   grammar as message ids in paths (`service::archive::ids::parse_snowflake`).
//! * Every bad paging parameter of one request is reported, each as its own issue.
//!
//! The ranges and defaults are the original's where it validated (the tenant list) and where it
//! only had defaults (the read API, sync history), with the upper bound of 100 the rewrite puts
//! on every page size (docs/differences.md). Each route's query type below derives
//! [`IntoParams`] for the OpenAPI document; the API tests check that the document states the
//! same ranges and defaults as the [`Count`] constants.

use serde::Deserialize;
use service::archive::{self, ContextParams, MessagePageParams, ThreadPageParams};
use service::error::FieldIssue;
use utoipa::IntoParams;

use crate::error::ApiError;

/// The accepted range and the default of one count parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
    /// The value when the parameter is absent.
    pub default: u64,
}

/// `page` of `GET /api/tenants`: 1 or more, default 1 (a page past the end is empty).
pub const TENANT_PAGE: Count = Count {
    min: 1,
    max: u64::MAX,
    default: 1,
};
/// `limit` of `GET /api/tenants`: 1-100, default 10.
pub const TENANT_LIMIT: Count = Count {
    min: 1,
    max: 100,
    default: 10,
};
/// `limit` of `GET /api/sync/history/{tenantId}`: 1-100, default 10.
pub const HISTORY_LIMIT: Count = Count {
    min: 1,
    max: 100,
    default: 10,
};
/// `limit` of `GET /api/v1/channels/{id}/messages`: 1-100, default 50.
pub const MESSAGE_LIMIT: Count = Count {
    min: 1,
    max: archive::MAX_LIMIT,
    default: 50,
};
/// `limit` of `GET /api/v1/channels/{id}/threads`: 1-100, default 20.
pub const THREAD_LIMIT: Count = Count {
    min: 1,
    max: archive::MAX_LIMIT,
    default: 20,
};
/// `limit` of `GET /api/v1/search`: 1-100, default 25 (the search service's bounds).
pub const SEARCH_LIMIT: Count = Count {
    min: 1,
    max: service::search::MAX_LIMIT,
    default: service::search::DEFAULT_LIMIT,
};
/// `before` and `after` of `GET /api/v1/messages/{id}` (neighbours on each side): 0-100,
/// default 50.
pub const NEIGHBOURS: Count = Count {
    min: 0,
    max: archive::MAX_LIMIT,
    default: 50,
};

/// Why a count was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountError {
    /// Not a decimal integer.
    NotANumber,
    /// Below the range.
    TooSmall,
    /// Above the range (or too large for any count).
    TooBig,
}

impl Count {
    /// Reads `raw` (the parameter's value, `None` when absent) under this policy.
    pub fn read(self, raw: Option<&str>) -> Result<u64, CountError> {
        let Some(raw) = raw else {
            return Ok(self.default);
        };
        let digits = raw.trim();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CountError::NotANumber);
        }
        // All digits: the only failure left is overflow.
        let value: u64 = digits.parse().map_err(|_| CountError::TooBig)?;
        if value < self.min {
            Err(CountError::TooSmall)
        } else if value > self.max {
            Err(CountError::TooBig)
        } else {
            Ok(value)
        }
    }

    /// The client-facing sentence for `error`.
    pub fn message(self, error: &CountError) -> String {
        match error {
            CountError::NotANumber => "Invalid input: expected an integer".to_owned(),
            CountError::TooSmall => format!("Too small: expected number to be >={}", self.min),
            CountError::TooBig => format!("Too big: expected number to be <={}", self.max),
        }
    }
}

/// Collects the issues of one request's parameters, so that all of them are reported at once.
#[derive(Debug, Default)]
pub struct Issues(Vec<FieldIssue>);

impl Issues {
    /// The count parameter `name` under `policy`; on an issue, records it and returns the
    /// default (only used if the request is rejected anyway).
    pub fn count(&mut self, name: &str, raw: Option<&str>, policy: Count) -> u64 {
        policy.read(raw).unwrap_or_else(|e| {
            self.0.push(FieldIssue::new(name, policy.message(&e)));
            policy.default
        })
    }

    /// The cursor parameter `name` (see [`cursor`]).
    pub fn cursor(&mut self, name: &str, raw: Option<&str>) -> Option<String> {
        cursor(name, raw).unwrap_or_else(|issue| {
            self.0.push(issue);
            None
        })
    }

    /// Records an issue that is not about one value's form (e.g. two exclusive parameters).
    pub fn push(&mut self, name: &str, message: &str) {
        self.0.push(FieldIssue::new(name, message));
    }

    /// `value` when no issue was recorded, else the 400 listing them.
    pub fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(service::Error::Validation(self.0).into())
        }
    }
}

/// A keyset cursor: absent, or a platform snowflake in decimal digits (returned without
/// leading zeros, the form the archive stores).
pub fn cursor(name: &str, raw: Option<&str>) -> Result<Option<String>, FieldIssue> {
    raw.map(|text| {
        archive::ids::parse_snowflake(name, text).map_err(|e| match e {
            service::Error::Validation(mut issues) if !issues.is_empty() => issues.remove(0),
            other => FieldIssue::new(name, other.to_string()),
        })
    })
    .transpose()
}

/// Query of `GET /api/tenants` (unknown keys are ignored; a repeated key is a 400).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct TenantListQuery {
    /// Page number, an integer >= 1 (default 1); a page past the end is empty.
    #[param(value_type = Option<u64>, minimum = 1, default = 1)]
    pub page: Option<String>,
    /// Page size, an integer 1-100 (default 10).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100, default = 10)]
    pub limit: Option<String>,
    /// Sort column (default `created_at`); ties are ordered by id.
    #[param(pattern = "^(created_at|updated_at|name)$")]
    pub sort_by: Option<String>,
    /// Sort direction (default `desc`).
    #[param(pattern = "^(asc|desc)$")]
    pub sort_order: Option<String>,
}

impl TenantListQuery {
    /// Checks `page` and `limit` under this module's policy (the sort parameters are the
    /// tenants service's to check).
    pub fn check_paging(&self) -> Result<(u64, u64), ApiError> {
        let mut issues = Issues::default();
        let page = issues.count("page", self.page.as_deref(), TENANT_PAGE);
        let limit = issues.count("limit", self.limit.as_deref(), TENANT_LIMIT);
        issues.finish((page, limit))
    }
}

/// Query of `GET /api/sync/history/{tenantId}`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many jobs, newest first: an integer 1-100 (default 10).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100, default = 10)]
    pub limit: Option<String>,
}

impl HistoryQuery {
    /// The number of jobs asked for.
    pub fn limit(&self) -> Result<u64, ApiError> {
        let mut issues = Issues::default();
        let limit = issues.count("limit", self.limit.as_deref(), HISTORY_LIMIT);
        issues.finish(limit)
    }
}

/// Query of `GET /api/v1/channels/{channelId}/messages`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Page size, an integer 1-100 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<String>,
    /// Platform message id: return older messages (use `meta.before`).
    #[param(pattern = "^[0-9]{1,20}$")]
    pub before: Option<String>,
    /// Platform message id: return newer messages (use `meta.after`); not with `before`.
    #[param(pattern = "^[0-9]{1,20}$")]
    pub after: Option<String>,
}

impl MessagesQuery {
    /// The page asked for.
    pub fn params(&self) -> Result<MessagePageParams, ApiError> {
        let mut issues = Issues::default();
        let limit = issues.count("limit", self.limit.as_deref(), MESSAGE_LIMIT);
        if self.before.is_some() && self.after.is_some() {
            issues.push("before", "give either before or after, not both");
            return issues.finish(MessagePageParams::default());
        }
        let before = issues.cursor("before", self.before.as_deref());
        let after = issues.cursor("after", self.after.as_deref());
        issues.finish(MessagePageParams {
            limit,
            before,
            after,
        })
    }
}

/// Query of `GET /api/v1/channels/{channelId}/threads`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadsQuery {
    /// Page size, an integer 1-100 (default 20).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<String>,
    /// Platform id of the last thread of the previous page (`meta.before`).
    #[param(pattern = "^[0-9]{1,20}$")]
    pub before: Option<String>,
}

impl ThreadsQuery {
    /// The page asked for.
    pub fn params(&self) -> Result<ThreadPageParams, ApiError> {
        let mut issues = Issues::default();
        let limit = issues.count("limit", self.limit.as_deref(), THREAD_LIMIT);
        let before = issues.cursor("before", self.before.as_deref());
        issues.finish(ThreadPageParams { limit, before })
    }
}

/// Query of `GET /api/v1/messages/{messageId}`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContextQuery {
    /// Older neighbours, an integer 0-100 (default 50).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 100, default = 50)]
    pub before: Option<String>,
    /// Newer neighbours, an integer 0-100 (default 50).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 100, default = 50)]
    pub after: Option<String>,
}

impl ContextQuery {
    /// The neighbours asked for.
    pub fn params(&self) -> Result<ContextParams, ApiError> {
        let mut issues = Issues::default();
        let before = issues.count("before", self.before.as_deref(), NEIGHBOURS);
        let after = issues.count("after", self.after.as_deref(), NEIGHBOURS);
        issues.finish(ContextParams { before, after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::Service(service::Error::Validation(issues)) => {
                issues.into_iter().map(|i| (i.field, i.message)).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// Every count policy: the default when absent, both bounds accepted, one past each bound,
    /// and the forms that are not a decimal integer, rejected.
    #[test]
    fn every_count_policy_accepts_its_range_and_rejects_the_rest() {
        for (name, policy) in [
            ("TENANT_PAGE", TENANT_PAGE),
            ("TENANT_LIMIT", TENANT_LIMIT),
            ("HISTORY_LIMIT", HISTORY_LIMIT),
            ("MESSAGE_LIMIT", MESSAGE_LIMIT),
            ("THREAD_LIMIT", THREAD_LIMIT),
            ("SEARCH_LIMIT", SEARCH_LIMIT),
            ("NEIGHBOURS", NEIGHBOURS),
        ] {
            assert!(
                (policy.min..=policy.max).contains(&policy.default),
                "{name}"
            );
            assert_eq!(policy.read(None), Ok(policy.default), "{name}");
            let min = policy.min.to_string();
            let max = policy.max.to_string();
            assert_eq!(policy.read(Some(&min)), Ok(policy.min), "{name}");
            assert_eq!(policy.read(Some(&max)), Ok(policy.max), "{name}");
            if policy.min > 0 {
                let below = (policy.min - 1).to_string();
                assert_eq!(
                    policy.read(Some(&below)),
                    Err(CountError::TooSmall),
                    "{name}"
                );
            }
            let above = (u128::from(policy.max) + 1).to_string();
            assert_eq!(policy.read(Some(&above)), Err(CountError::TooBig), "{name}");
            for bad in ["", " ", "abc", "-1", "+5", "1.5", "2.0", "1e1", "0x10", "½"] {
                assert_eq!(
                    policy.read(Some(bad)),
                    Err(CountError::NotANumber),
                    "{name}: {bad:?}"
                );
            }
        }
    }

    #[test]
    fn surrounding_whitespace_is_ignored_and_leading_zeros_read_as_decimal() {
        assert_eq!(TENANT_LIMIT.read(Some(" 25 ")), Ok(25));
        assert_eq!(TENANT_LIMIT.read(Some("007")), Ok(7));
    }

    #[test]
    fn messages_state_the_range() {
        assert_eq!(
            TENANT_LIMIT.message(&CountError::TooBig),
            "Too big: expected number to be <=100"
        );
        assert_eq!(
            NEIGHBOURS.message(&CountError::TooSmall),
            "Too small: expected number to be >=0"
        );
        assert_eq!(
            HISTORY_LIMIT.message(&CountError::NotANumber),
            "Invalid input: expected an integer"
        );
    }

    #[test]
    fn each_bad_parameter_of_a_request_is_its_own_issue() {
        let query = TenantListQuery {
            page: Some("invalid".into()),
            limit: Some("200".into()),
            ..Default::default()
        };
        let issues = paths(query.check_paging().unwrap_err());
        assert_eq!(
            issues,
            [
                (
                    "page".to_owned(),
                    "Invalid input: expected an integer".to_owned()
                ),
                (
                    "limit".to_owned(),
                    "Too big: expected number to be <=100".to_owned()
                ),
            ]
        );
        let query = ContextQuery {
            before: Some("101".into()),
            after: Some("x".into()),
        };
        let fields: Vec<String> = paths(query.params().unwrap_err())
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["before", "after"]);
    }

    #[test]
    fn defaults_apply_per_route() {
        assert_eq!(TenantListQuery::default().check_paging().unwrap(), (1, 10));
        assert_eq!(HistoryQuery::default().limit().unwrap(), 10);
        assert_eq!(MessagesQuery::default().params().unwrap().limit, 50);
        assert_eq!(ThreadsQuery::default().params().unwrap().limit, 20);
        let context = ContextQuery::default().params().unwrap();
        assert_eq!((context.before, context.after), (50, 50));
    }

    #[test]
    fn cursors_are_decimal_snowflakes_without_leading_zeros() {
        assert_eq!(cursor("before", None), Ok(None));
        assert_eq!(cursor("before", Some("0042")), Ok(Some("42".to_owned())));
        for bad in ["", "abc", "-1", "1e9", "99999999999999999999999"] {
            let issue = cursor("after", Some(bad)).unwrap_err();
            assert_eq!(issue.field, "after", "{bad:?}");
        }
        let query = MessagesQuery {
            before: Some("1".into()),
            after: Some("2".into()),
            ..Default::default()
        };
        let fields: Vec<String> = paths(query.params().unwrap_err())
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["before"]);
        let query = MessagesQuery {
            limit: Some("0".into()),
            before: Some("x".into()),
            ..Default::default()
        };
        let fields: Vec<String> = paths(query.params().unwrap_err())
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, ["limit", "before"]);
    }
}
