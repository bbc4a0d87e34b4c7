//! Request extractors whose failures are client errors with field paths.
//!
//! * [`ValidJson<T>`]: a JSON body (size limit, content type and syntax checked by actix's
//!   `JsonConfig`, see `startup`), then deserialised into `T` with the path of the first
//!   offending field (`details.issues[].path`), so wrong types and missing fields are 400s
//!   that name the field.
//! * [`TenantIdParam`]: the `{id}` path segment of `/api/tenants/{id}/...` as a UUID; anything
//!   else is a 400 `Invalid tenant ID format`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;

/// A JSON request body deserialised into `T`; failures name the offending field.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T> ValidJson<T> {
    /// The deserialised body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            from_value(value).map(ValidJson).map_err(Into::into)
        })
    }
}

/// Deserialises `value` into `T`, turning the first failure into a validation error whose
/// path is the dotted field path (camelCase as sent).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let parent = err.path().to_string();
        let parent = if parent == "." { String::new() } else { parent };
        let message = err.into_inner().to_string();
        // serde reports a missing field at the parent's path; name the field itself.
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            let path = if parent.is_empty() {
                field.to_owned()
            } else {
                format!("{parent}.{field}")
            };
            return ApiError::invalid(path, "Required");
        }
        ApiError::invalid(parent, message)
    })
}

/// The tenant id from the `{id}` segment of a tenant route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantIdParam(pub Uuid);

impl FromRequest for TenantIdParam {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = req
            .match_info()
            .get("id")
            .and_then(parse_uuid)
            .map(TenantIdParam)
            .ok_or_else(|| ApiError::invalid("", "Invalid tenant ID format").into());
        std::future::ready(parsed)
    }
}

/// Parses the canonical hyphenated UUID form (8-4-4-4-12 hex digits, either case). The other
/// forms the `uuid` crate accepts (simple, braced, URN) are rejected: ids are compared as
/// stored strings.
pub fn parse_uuid(raw: &str) -> Option<Uuid> {
    if raw.len() != 36 {
        return None;
    }
    Uuid::try_parse(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)] // Fields exist to be deserialised; the tests look at the errors.
    struct Probe {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // As above.
    struct Inner {
        count: u32,
    }

    fn issue(err: ApiError) -> (String, String) {
        match err {
            ApiError::Service(service::Error::Validation(issues)) => {
                (issues[0].field.clone(), issues[0].message.clone())
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let err = from_value::<Probe>(serde_json::json!({"name": "x", "inner": {"count": "a"}}))
            .unwrap_err();
        assert_eq!(issue(err).0, "inner.count");
    }

    #[test]
    fn missing_field_is_reported_at_its_own_path() {
        let err = from_value::<Probe>(serde_json::json!({})).unwrap_err();
        assert_eq!(issue(err), ("name".to_owned(), "Required".to_owned()));
    }

    #[test]
    fn only_the_hyphenated_uuid_form_is_accepted() {
        assert!(parse_uuid("550e8400-e29b-41d4-a716-446655440000").is_some());
        assert!(parse_uuid("550E8400-E29B-41D4-A716-446655440000").is_some());
        assert!(parse_uuid("550e8400e29b41d4a716446655440000").is_none());
        assert!(parse_uuid("invalid-uuid").is_none());
        assert!(parse_uuid("").is_none());
    }
}
