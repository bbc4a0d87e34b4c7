//! The site's stylesheet and script, compiled in, published under content-hashed names so a
//! page can tell browsers and CDNs to cache them forever.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One static file.
#[derive(Debug)]
pub struct Asset {
    /// Published name, e.g. `site.3f2a…​.css`.
    pub name: String,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static str,
}

fn asset(stem: &str, ext: &str, content_type: &'static str, body: &'static str) -> Asset {
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    Asset {
        name: format!("{stem}.{}.{ext}", &hash[..12]),
        content_type,
        body,
    }
}

/// The stylesheet.
pub static CSS: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "site",
        "css",
        "text/css; charset=utf-8",
        include_str!("../assets/site.css"),
    )
});

/// The script: the theme toggle and local times. Pages work without it.
pub static JS: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "site",
        "js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/site.js"),
    )
});

/// The inline script in every page's `<head>`: applies a saved theme before the first paint,
/// so a page never flashes the other theme.
pub const THEME_BOOT: &str = "try{var t=localStorage.getItem('verta-theme');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}";

/// The asset published as `name`.
pub fn by_name(name: &str) -> Option<&'static Asset> {
    [&*CSS, &*JS].into_iter().find(|a| a.name == name)
}

/// `'sha256-…'` of an inline element's text, for a Content-Security-Policy.
pub fn csp_hash(text: &str) -> String {
    use base64::Engine as _;
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}
