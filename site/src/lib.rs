//! The archive website: every ACTIVE tenant's archive as server-rendered pages, served live by
//! `verta serve` and written as static files by `verta site build`, from one renderer.
//!
//! [`paths`] is the URL space, [`pages`] loads and renders each page (askama templates under
//! `templates/`), [`markdown`] renders Discord's markdown, [`avatar`] and [`pseudonym`] show an
//! author without revealing them, [`theme`] turns branding into readable colours, [`sitemap`]
//! and [`build`] publish, [`assets`] holds the one stylesheet and the one script.

pub mod assets;
pub mod avatar;
pub mod build;
pub mod markdown;
pub mod pages;
pub mod paths;
/// Moved to `service` (the search index names authors too); re-exported for the pages.
pub use service::pseudonym;
pub mod sitemap;
pub mod theme;

/// What can go wrong rendering the site.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the archive failed.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// A template failed to render.
    #[error("rendering failed: {0}")]
    Render(String),
    /// Writing the static site failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
