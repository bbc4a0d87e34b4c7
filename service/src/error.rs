//! The one error type of the service crate. `api` maps it to HTTP in exactly one place.

/// One offending input field, with a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldIssue {
    /// Path of the field as the client sent it (camelCase, dotted for nested fields).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldIssue {
    /// Build an issue for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything that can go wrong in the domain layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Client input broke a validation rule (HTTP 400); lists every offending field.
    #[error("validation failed: {}", .0.iter().map(|i| format!("{}: {}", i.field, i.message)).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldIssue>),
    /// The addressed resource does not exist (HTTP 404).
    #[error("{entity} not found: {id}")]
    NotFound {
        /// What kind of thing, e.g. "tenant".
        entity: &'static str,
        /// The id or slug the caller used.
        id: String,
    },
    /// A unique value is already taken (HTTP 409); `field` names it (camelCase).
    #[error("{field} already exists: {message}")]
    Conflict {
        /// The field whose value collides, e.g. "slug" or "platformId".
        field: &'static str,
        /// Human sentence.
        message: String,
    },
    /// The request is well-formed but breaks a business rule (HTTP 422).
    #[error("{0}")]
    BusinessRule(String),
    /// The chat platform (Discord) failed or refused.
    #[error("upstream {platform} error: {message}")]
    Upstream {
        /// e.g. "discord".
        platform: &'static str,
        /// HTTP status from the platform when there was one.
        status: Option<u16>,
        /// Human sentence.
        message: String,
    },
    /// Configuration is missing or invalid; names the variable.
    #[error("invalid configuration {variable}: {message}")]
    Config {
        /// Environment variable name.
        variable: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Filesystem failure (export).
    #[error("i/o error at {path}: {source}")]
    Io {
        /// The path being read or written.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The search index failed (HTTP 500): unreadable files, a full disk, or another process
    /// holding its write lock.
    #[error("search index error: {0}")]
    Search(String),
    /// The attachment store (a directory or an S3 bucket) failed (HTTP 500).
    #[error("attachment store error: {0}")]
    Store(String),
    /// Any other database failure (HTTP 500).
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

impl Error {
    /// Shorthand for a single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldIssue::new(field, message)])
    }

    /// Shorthand for a not-found error.
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            entity,
            id: id.into(),
        }
    }
}

impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Self {
        Error::Search(e.to_string())
    }
}

/// Result alias for the service crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
