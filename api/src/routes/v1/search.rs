//! `GET /api/v1/search`: full-text search of one tenant's archive, in Discord's search
//! language (`service::search::syntax`).
//!
//! The handler reads the parameters under the API's paging policy (`limit` is a
//! [`crate::params::Count`], `sort` one of three words), asks the process's
//! [`SearchIndex`] for a page, and adds to each hit the absolute URL of the message's
//! permalink on the tenant's archive website (the same tenant root the live site computes).
//! Everything a client can send that the index cannot answer is a 400 naming the parameter:
//! the service reports mistakes in `q` and `cursor` itself.

use actix_web::{HttpRequest, HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use service::Config;
use service::search::{SearchHit, SearchIndex, SearchPage, SearchRequest, Sort};
use site::paths::Route;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Envelope, ReadTenant};
use crate::error::ApiError;
use crate::params::{Issues, SEARCH_LIMIT};

/// Query of `GET /api/v1/search` (unknown keys are ignored; a repeated key is a 400).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The query in Discord's search language: words (all must match), `"exact phrases"`,
    /// `prefix*`, `-excluded`, `from:<pseudonym or author id>`, `in:<channel name or id>`,
    /// `has:attachment|image|video|audio|link`, `before:`/`after:`/`during:` dates
    /// (`YYYY-MM-DD`, `YYYY-MM`, `YYYY`), `pinned:true|false`. At most 512 characters.
    #[param(required = true, value_type = String, max_length = 512)]
    pub q: Option<String>,
    /// Hits per page, an integer 1-100 (default 25).
    // Literals, as attributes take no paths: the API tests check they are SEARCH_LIMIT's.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100, default = 25)]
    pub limit: Option<String>,
    /// `meta.nextCursor` of the previous page, unchanged (it belongs to one `q` and `sort`).
    pub cursor: Option<String>,
    /// Result order: `relevance` (best match first, newer messages boosted; the default),
    /// `newest` or `oldest`.
    #[param(value_type = Option<String>, pattern = "^(relevance|newest|oldest)$", default = "relevance")]
    pub sort: Option<String>,
}

impl SearchQuery {
    /// The service request, or the 400 listing every bad parameter (`q` missing, `limit`,
    /// `sort`); the content of `q` and `cursor` is the service's to check.
    pub fn request(&self) -> Result<SearchRequest, ApiError> {
        let mut issues = Issues::default();
        if self.q.is_none() {
            issues.push("q", "Required: the search query");
        }
        let limit = issues.count("limit", self.limit.as_deref(), SEARCH_LIMIT);
        let sort = match self.sort.as_deref().map(str::trim) {
            None => Sort::default(),
            Some(text) => parse_sort(text).unwrap_or_else(|| {
                issues.push(
                    "sort",
                    "Invalid option: expected one of \"relevance\", \"newest\", \"oldest\"",
                );
                Sort::default()
            }),
        };
        issues.finish(SearchRequest {
            q: self.q.clone().unwrap_or_default(),
            limit,
            cursor: self.cursor.clone(),
            sort,
        })
    }
}

fn parse_sort(text: &str) -> Option<Sort> {
    match text {
        "relevance" => Some(Sort::Relevance),
        "newest" => Some(Sort::Newest),
        "oldest" => Some(Sort::Oldest),
        _ => None,
    }
}

/// One hit: the message with its channel, thread and snippet, and its permalink.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// The message, where it was written, and the highlighted excerpt.
    #[serde(flatten)]
    pub hit: SearchHit,
    /// Absolute URL of the message's permalink on the tenant's archive website
    /// (`<site root>/m/<message id>/`, which redirects to the page that shows it).
    pub permalink: String,
}

/// `meta` of a page of hits.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchMeta {
    /// How many messages match in all.
    pub total: u64,
    /// Pass as `cursor` for the next page (same `q` and `sort`); `null` on the last page.
    pub next_cursor: Option<String>,
    /// The page size applied.
    pub limit: u64,
    /// The order applied.
    pub sort: Sort,
    /// `false` while the search index is still being built from the database (first start,
    /// or a replaced index): older messages may be missing from the hits until it is done.
    pub index_complete: bool,
}

/// The permalink of message `id` under the tenant root `root` (which ends in `/`).
fn permalink(root: &str, id: &str) -> String {
    let path = match Uuid::try_parse(id) {
        Ok(uuid) => Route::Message(uuid).path(),
        // Message ids are UUIDs; anything else still gets a URL, escaped.
        Err(_) => format!(
            "m/{}/",
            url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        ),
    };
    format!("{root}{path}")
}

/// Search the tenant's archive.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "read",
    params(
        ("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read"),
        SearchQuery,
    ),
    responses(
        (status = 200, description = "A page of hits in the requested order", body = Envelope<Vec<SearchResult>, SearchMeta>),
        (status = 400, description = "Missing or invalid `q` (unbalanced quote, unknown operator, bad date, unknown channel, too long), `limit`, `sort` or `cursor`; `details.issues[].path` names it", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown tenant", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn search(
    req: HttpRequest,
    db: web::Data<DatabaseConnection>,
    index: web::Data<SearchIndex>,
    config: web::Data<Config>,
    ReadTenant(t): ReadTenant,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = query.request()?;
    let SearchPage {
        hits,
        total,
        next_cursor,
        complete,
    } = index.search(db.get_ref(), &t.id, &request).await?;
    let root = crate::routes::site::tenant_root_url(&config, &req, &t.slug);
    let data: Vec<SearchResult> = hits
        .into_iter()
        .map(|hit| SearchResult {
            permalink: permalink(&root, &hit.message.id),
            hit,
        })
        .collect();
    let meta = SearchMeta {
        total,
        next_cursor,
        limit: request.limit,
        sort: request.sort,
        index_complete: complete,
    };
    Ok(HttpResponse::Ok().json(Envelope { data, meta }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Service(service::Error::Validation(issues)) => {
                issues.into_iter().map(|i| i.field).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_services() {
        let request = SearchQuery {
            q: Some("hello".into()),
            ..Default::default()
        }
        .request()
        .unwrap();
        assert_eq!(request.limit, service::search::DEFAULT_LIMIT);
        assert_eq!(request.sort, Sort::Relevance);
        assert_eq!(request.cursor, None);
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let query = SearchQuery {
            q: None,
            limit: Some("101".into()),
            cursor: None,
            sort: Some("bogus".into()),
        };
        assert_eq!(fields(query.request().unwrap_err()), ["q", "limit", "sort"]);
        for sort in ["relevance", "newest", "oldest"] {
            let query = SearchQuery {
                q: Some("x".into()),
                sort: Some(sort.into()),
                ..Default::default()
            };
            assert!(query.request().is_ok(), "{sort}");
        }
    }

    #[test]
    fn permalinks_use_the_sites_message_route() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(
            permalink("https://a.example/archive/x/", id),
            format!("https://a.example/archive/x/m/{id}/")
        );
        assert_eq!(permalink("http://h/", "a b"), "http://h/m/a+b/");
    }
}
