//! The one mapping from errors to HTTP responses.
//!
//! Every error response of the API — domain errors from `service`, authentication failures,
//! malformed requests caught by extractors, unknown routes — is an [`ApiError`] rendered by the
//! single `impl ResponseError` below, with the body of docs/design.md ("Errors over HTTP"):
//! `{"error": <title>, "message": <sentence>, "details"?: <any>, "timestamp": <RFC 3339>}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use service::error::FieldIssue;
use utoipa::ToSchema;

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Short title, e.g. `Validation Error`, `Unauthorized`, `Not Found`, `Duplicate Entry`.
    #[schema(example = "Validation Error")]
    pub error: String,
    /// Human-readable sentence.
    #[schema(example = "Invalid request data")]
    pub message: String,
    /// Structured detail: for validation errors `{"issues": [{"path", "message"}]}`, for
    /// conflicts `{"field": <camelCase field>}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub details: Option<serde_json::Value>,
    /// When the error was produced (RFC 3339, UTC, milliseconds).
    #[schema(example = "2026-01-01T12:00:00.000Z")]
    pub timestamp: String,
}

/// One offending input field of a validation error, as sent to the client.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssueBody {
    /// Dotted path of the field as the client sent it (camelCase); empty for the whole body
    /// or a path parameter.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// Everything the HTTP layer can answer with an error status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A domain error from the service layer.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// No (or an empty) `X-API-KEY` header.
    #[error("X-API-KEY header is required")]
    MissingApiKey,
    /// An `X-API-KEY` header that does not match the admin key.
    #[error("Invalid API key")]
    InvalidApiKey,
    /// The request itself is malformed (unparseable JSON, wrong content type, ...).
    #[error("{0}")]
    BadRequest(String),
    /// The request body exceeds the configured limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No route matches the request path.
    #[error("no route for {method} {path}")]
    RouteNotFound {
        /// HTTP method of the request.
        method: String,
        /// Request path.
        path: String,
    },
    /// Something failed inside the API layer itself (HTTP 500; details only in the logs).
    #[error("internal error: {0}")]
    Internal(String),
    /// An attachment the reader may see has no bytes to serve (HTTP 404); the message says
    /// why: `not stored yet`, `gone`, `skipped: <reason>`.
    #[error("{0}")]
    FileUnavailable(String),
    /// A route matches the path but not the method.
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed {
        /// HTTP method of the request.
        method: String,
        /// Request path.
        path: String,
    },
}

impl From<site::Error> for ApiError {
    fn from(e: site::Error) -> Self {
        match e {
            site::Error::Service(e) => ApiError::Service(e),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// A validation error on one input field (`path` may be empty for a path parameter).
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Service(service::Error::invalid(path, message))
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Service(e) => match e {
                service::Error::Validation(_) => "Validation Error",
                service::Error::NotFound { .. } => "Not Found",
                service::Error::Conflict { .. } => "Duplicate Entry",
                service::Error::BusinessRule(_) => "Business Rule Violation",
                service::Error::Upstream { .. } => "Upstream Error",
                service::Error::Config { .. } => "Service Unavailable",
                service::Error::Io { .. }
                | service::Error::Search(_)
                | service::Error::Store(_)
                | service::Error::Database(_) => "Internal Server Error",
            },
            ApiError::MissingApiKey | ApiError::InvalidApiKey => "Unauthorized",
            ApiError::BadRequest(_) => "Bad Request",
            ApiError::PayloadTooLarge { .. } => "Payload Too Large",
            ApiError::RouteNotFound { .. } | ApiError::FileUnavailable(_) => "Not Found",
            ApiError::MethodNotAllowed { .. } => "Method Not Allowed",
            ApiError::Internal(_) => "Internal Server Error",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Service(e) => match e {
                service::Error::Validation(_) => "Invalid request data".to_owned(),
                service::Error::NotFound { entity, id } => {
                    format!("{} with ID {id} not found", capitalize(entity))
                }
                service::Error::Conflict { message, .. } => message.clone(),
                service::Error::BusinessRule(message) => message.clone(),
                service::Error::Upstream {
                    platform, message, ..
                } => format!("{platform} request failed: {message}"),
                service::Error::Config { variable, message } => {
                    format!("The server is not configured for this: {variable}: {message}")
                }
                // Internal details stay in the logs.
                service::Error::Io { .. }
                | service::Error::Search(_)
                | service::Error::Store(_)
                | service::Error::Database(_) => "An error occurred. Please try again.".to_owned(),
            },
            ApiError::Internal(_) => "An error occurred. Please try again.".to_owned(),
            other => other.to_string(),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            ApiError::Service(service::Error::Validation(issues)) => Some(serde_json::json!({
                "issues": issues.iter().map(issue_body).collect::<Vec<_>>()
            })),
            ApiError::Service(service::Error::Conflict { field, .. }) => {
                Some(serde_json::json!({ "field": field }))
            }
            _ => None,
        }
    }

    /// The response body for this error, stamped now.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.title().to_owned(),
            message: self.message(),
            details: self.details(),
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

fn issue_body(issue: &FieldIssue) -> IssueBody {
    IssueBody {
        path: issue.field.clone(),
        message: issue.message.clone(),
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Service(e) => match e {
                service::Error::Validation(_) => StatusCode::BAD_REQUEST,
                service::Error::NotFound { .. } => StatusCode::NOT_FOUND,
                service::Error::Conflict { .. } => StatusCode::CONFLICT,
                service::Error::BusinessRule(_) => StatusCode::UNPROCESSABLE_ENTITY,
                service::Error::Upstream { .. } => StatusCode::BAD_GATEWAY,
                service::Error::Config { .. } => StatusCode::SERVICE_UNAVAILABLE,
                service::Error::Io { .. }
                | service::Error::Search(_)
                | service::Error::Store(_)
                | service::Error::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::MissingApiKey | ApiError::InvalidApiKey => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RouteNotFound { .. } | ApiError::FileUnavailable(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // The error chain is logged once, here, where it is handled.
        if status.is_server_error() {
            tracing::error!(error = %self, cause = ?std::error::Error::source(self), "request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request rejected");
        }
        HttpResponse::build(status).json(self.body())
    }
}

/// Maps the JSON body extractor's failures: oversized -> 413, everything else -> 400.
pub fn json_error(err: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::{JsonPayloadError as J, PayloadError as P};
    match err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } | J::Payload(P::Overflow) => {
            ApiError::PayloadTooLarge { limit }
        }
        J::ContentType => ApiError::BadRequest("Content-Type must be application/json".to_owned()),
        J::Deserialize(e) if e.is_eof() && e.line() == 1 && e.column() == 0 => {
            ApiError::BadRequest("Request body is required (JSON)".to_owned())
        }
        J::Deserialize(e) => ApiError::BadRequest(format!("Request body is not valid JSON: {e}")),
        J::Payload(e) => ApiError::BadRequest(format!("Could not read the request body: {e}")),
        other => ApiError::BadRequest(other.to_string()),
    }
}

/// Maps query-string deserialisation failures (unknown values, repeated keys) to 400.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::Service(service::Error::invalid(
        "",
        format!("Invalid query string: {err}"),
    ))
}

/// Maps path-parameter failures (e.g. a malformed UUID) to 400.
pub fn path_error(err: actix_web::error::PathError) -> ApiError {
    ApiError::Service(service::Error::invalid(
        "",
        format!("Invalid path parameter: {err}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_error_lists_each_field_with_its_path() {
        let err = ApiError::Service(service::Error::Validation(vec![
            FieldIssue::new("name", "Name is required"),
            FieldIssue::new("platformId", "Platform ID is required"),
        ]));
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST);
        let body = serde_json::to_value(err.body()).unwrap();
        assert_eq!(body["error"], "Validation Error");
        assert_eq!(body["details"]["issues"][1]["path"], "platformId");
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn database_errors_do_not_leak_their_message() {
        let err = ApiError::Service(service::Error::Database(sea_orm::DbErr::Custom(
            "secret table name".into(),
        )));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.body().message.contains("secret"));
    }
}
