//! The OpenAPI 3 document (utoipa), served at `/api/openapi.json`, with Swagger UI at
//! `/api/docs/` (assets built in: utoipa-swagger-ui's `vendored` feature, no CDN).
//!
//! Each route module contributes its own `#[derive(OpenApi)]` struct; [`document`] merges
//! them (see `routes::openapi_parts`) and then adds what holds for every operation in one
//! place ([`finalize`]): the `X-API-KEY` security requirement and 401 response on every
//! protected path, 400/413 on operations that take input, 500 everywhere.

use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, path::Operation};

use crate::error::{ErrorBody, IssueBody};

/// Path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
/// Path of the Swagger UI.
pub const DOCS_PATH: &str = "/api/docs";
/// Name of the security scheme for `X-API-KEY`.
pub const SECURITY_SCHEME: &str = "api_key";

/// The base document: title, version, shared schemas, the security scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Verta API",
        description = "Archive Discord servers (tenants) into SQL: manage tenants and syncs, read the archive.",
        version = "1.0.0",
    ),
    components(schemas(ErrorBody, IssueBody)),
    tags(
        (name = "meta", description = "Root, health and metrics"),
        (name = "tenants", description = "Tenants (archived communities) and their branding"),
    ),
)]
pub struct BaseDoc;

/// Paths that need no `X-API-KEY`: health, the API docs and the public read API.
pub fn is_public(path: &str) -> bool {
    path == "/health"
        || path == OPENAPI_PATH
        || path == DOCS_PATH
        || path.starts_with("/api/docs/")
        || path == "/api/v1"
        || path.starts_with("/api/v1/")
}

/// The complete document of every route (see the module docs).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = BaseDoc::openapi();
    for part in crate::routes::openapi_parts() {
        doc.merge(part);
    }
    finalize(&mut doc);
    doc
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn add_response(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error_response(description));
}

/// Adds the security scheme, and to every operation the responses and security that hold
/// for all of them.
pub fn finalize(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SECURITY_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-API-KEY",
            "The admin API key (ADMIN_API_KEY)",
        ))),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = is_public(path);
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            let takes_input =
                op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if takes_input {
                add_response(
                    op,
                    "400",
                    "Invalid input (validation error, malformed request)",
                );
            }
            if op.request_body.is_some() {
                add_response(op, "413", "Request body too large");
            }
            if !public {
                op.security = Some(vec![SecurityRequirement::new(
                    SECURITY_SCHEME,
                    Vec::<String>::new(),
                )]);
                add_response(op, "401", "Missing or invalid X-API-KEY");
            }
            add_response(op, "500", "Internal error (never caused by input)");
        }
    }
}
