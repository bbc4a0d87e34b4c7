//! `GET /api/v1/attachments/{id}`: the stored bytes of one attachment of the tenant, streamed
//! from the attachment store with the safe headers of [`crate::file_response`].

use actix_web::{HttpRequest, HttpResponse, web};
use sea_orm::DatabaseConnection;
use service::files::BlobStore;
use service::files::read::{self, FileLookup};

use super::ReadTenant;
use crate::error::ApiError;
use crate::file_response::{self, FileMeta};

/// The message of the 404 for a file whose bytes are not (yet) downloaded.
pub const NOT_STORED_YET: &str = "not stored yet";

/// An attachment's bytes (`HEAD` for the headers alone).
#[utoipa::path(
    get,
    path = "/api/v1/attachments/{attachmentId}",
    tag = "read",
    params(
        ("X-Tenant-Slug" = String, Header, description = "Slug of the tenant whose archive is read"),
        ("attachmentId" = String, Path, description = "Internal attachment id (`attachments[].id` of a message)"),
        ("Range" = Option<String>, Header, description = "One byte range (`bytes=0-1023`); several ranges or a malformed one get the whole file"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` (`\"<sha256>\"`) of a copy the client holds"),
    ),
    responses(
        (status = 200, description = "The file. `Content-Disposition` is `inline` for raster images, video and audio, else `attachment`; `ETag` is the quoted SHA-256", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The requested range (`Content-Range`)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "The client's copy (`If-None-Match`) is current"),
        (status = 404, description = "Unknown tenant or attachment, or no bytes: the message is `not stored yet`, `gone` or `skipped: <reason>`", body = crate::error::ErrorBody),
        (status = 416, description = "The range lies outside the file (`Content-Range: bytes */<size>`)"),
        (status = 429, description = "Rate limit of this client exceeded (`Retry-After`)", body = crate::error::ErrorBody),
    )
)]
pub async fn attachment(
    req: HttpRequest,
    db: web::Data<DatabaseConnection>,
    store: web::Data<BlobStore>,
    ReadTenant(t): ReadTenant,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let file = match read::attachment_file(db.get_ref(), &t.id, &path).await? {
        FileLookup::Stored(file) => file,
        FileLookup::Pending => return Err(ApiError::FileUnavailable(NOT_STORED_YET.into())),
        FileLookup::Gone(_) => return Err(ApiError::FileUnavailable("gone".into())),
        FileLookup::Skipped(reason) => {
            return Err(ApiError::FileUnavailable(format!("skipped: {reason}")));
        }
    };
    let meta = FileMeta {
        sha256: &file.sha256,
        size: file.bytes,
        content_type: &file.content_type,
        filename: &file.filename,
    };
    file_response::respond(&req, &store, meta)
        .await?
        // Recorded as stored, but the blob is not there (removed by garbage collection,
        // which sends the file back to the download queue).
        .ok_or_else(|| ApiError::FileUnavailable(NOT_STORED_YET.into()))
}
