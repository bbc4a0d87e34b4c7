//! The live website's cache of rendered answers: a page changes only when a sync writes, so
//! rendering it again for every reader repeats the same work. An answer is kept for
//! `SITE_CACHE_SECS` (0 turns the cache off), keyed by the tenant's public root and the page's
//! path, and served with the ETag of its own bytes. Memory is bounded: past [`BUDGET_BYTES`] the
//! expired entries go, then everything. The tenant's context (its row and branding) is kept the
//! same way, so a cached page costs no query at all; the admin routes that change a tenant or
//! its branding drop everything at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use site::pages::SiteContext;

/// Most bytes of cached answers.
pub const BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// A rendered answer, as sent.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status (200, 302 or 404).
    pub status: u16,
    /// `Content-Type` (empty for a redirect).
    pub content_type: &'static str,
    /// The body.
    pub body: actix_web::web::Bytes,
    /// `Location` of a redirect.
    pub location: Option<String>,
    /// Strong ETag of the body.
    pub etag: String,
    /// `Last-Modified` (HTTP date) when known.
    pub last_modified: Option<String>,
    /// The page's Content-Security-Policy.
    pub csp: Option<String>,
}

impl Answer {
    /// An answer with its ETag computed from `body`.
    pub fn new(
        status: u16,
        content_type: &'static str,
        body: String,
        location: Option<String>,
    ) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        Self {
            status,
            content_type,
            etag: format!("\"{}\"", &hex::encode(digest)[..32]),
            body: actix_web::web::Bytes::from(body),
            location,
            last_modified: None,
            csp: None,
        }
    }
}

#[derive(Default)]
struct State {
    contexts: HashMap<String, (Instant, Arc<SiteContext>)>,
    answers: HashMap<(String, String), (Instant, Arc<Answer>)>,
    bytes: usize,
}

/// One cache per application, shared by every worker (`web::Data<SiteCache>`).
pub struct SiteCache {
    ttl: Duration,
    state: Mutex<State>,
}

impl SiteCache {
    /// A cache keeping answers for `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain maps that no panic can leave half-updated.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The context of tenant `slug`, when loaded less than the TTL ago.
    pub fn context(&self, slug: &str) -> Option<Arc<SiteContext>> {
        let state = self.lock();
        let (at, ctx) = state.contexts.get(slug)?;
        (at.elapsed() < self.ttl).then(|| ctx.clone())
    }

    /// Keep tenant `slug`'s context.
    pub fn keep_context(&self, slug: &str, ctx: Arc<SiteContext>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.lock();
        if state.contexts.len() >= 10_000 {
            state.contexts.clear();
        }
        state
            .contexts
            .insert(slug.to_owned(), (Instant::now(), ctx));
    }

    /// The answer for `path` under the tenant root `root`, when rendered less than the TTL ago.
    pub fn answer(&self, root: &str, path: &str) -> Option<Arc<Answer>> {
        let state = self.lock();
        let (at, answer) = state.answers.get(&(root.to_owned(), path.to_owned()))?;
        (at.elapsed() < self.ttl).then(|| answer.clone())
    }

    /// Keep `answer` for `path` under the tenant root `root`.
    pub fn keep_answer(&self, root: &str, path: &str, answer: Arc<Answer>) {
        if self.ttl.is_zero() {
            return;
        }
        let size = answer.body.len() + root.len() + path.len();
        let mut state = self.lock();
        if state.bytes + size > BUDGET_BYTES {
            let ttl = self.ttl;
            state.answers.retain(|_, (at, _)| at.elapsed() < ttl);
            state.bytes = state
                .answers
                .iter()
                .map(|((r, p), (_, a))| a.body.len() + r.len() + p.len())
                .sum();
            if state.bytes + size > BUDGET_BYTES {
                state.answers.clear();
                state.bytes = 0;
            }
        }
        let key = (root.to_owned(), path.to_owned());
        if let Some((_, old)) = state.answers.insert(key, (Instant::now(), answer)) {
            state.bytes = state
                .bytes
                .saturating_sub(old.body.len() + root.len() + path.len());
        }
        state.bytes += size;
    }

    /// Forget everything (a tenant or its branding changed).
    pub fn invalidate_all(&self) {
        let mut state = self.lock();
        state.contexts.clear();
        state.answers.clear();
        state.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Arc<Answer> {
        Arc::new(Answer::new(200, "text/html", body.to_owned(), None))
    }

    #[test]
    fn answers_are_kept_for_the_ttl_and_etags_follow_the_bytes() {
        let cache = SiteCache::new(Duration::from_secs(60));
        cache.keep_answer("r/", "p/", answer("one"));
        let kept = cache.answer("r/", "p/").map(|a| a.etag.clone());
        assert_eq!(kept, Some(answer("one").etag.clone()));
        assert_ne!(answer("one").etag, answer("two").etag);
        assert!(cache.answer("r/", "q/").is_none());
        cache.invalidate_all();
        assert!(cache.answer("r/", "p/").is_none());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing_and_expired_answers_are_not_served() {
        let off = SiteCache::new(Duration::ZERO);
        off.keep_answer("r/", "p/", answer("x"));
        assert!(off.answer("r/", "p/").is_none());
        let short = SiteCache::new(Duration::from_millis(1));
        short.keep_answer("r/", "p/", answer("x"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.answer("r/", "p/").is_none());
    }

    #[test]
    fn memory_stays_within_the_budget() {
        let cache = SiteCache::new(Duration::from_secs(60));
        let big = "x".repeat(1024 * 1024);
        for i in 0..200 {
            cache.keep_answer("r/", &format!("{i}/"), answer(&big));
            assert!(cache.lock().bytes <= BUDGET_BYTES);
        }
        assert!(cache.answer("r/", "199/").is_some());
    }
}
