//! A short-lived cache of tenants by slug for the public read API, where every request names
//! its tenant in `X-Tenant-Slug` and would otherwise pay one more query for it.
//!
//! Staleness is bounded two ways: an entry is served for at most [`TENANT_CACHE_TTL`] after it
//! was read from the database, and [`TenantCache::invalidate_all`] (called by this process's
//! admin routes after a tenant update or delete) drops every entry at once. So a tenant renamed
//! or deleted through this process's API is seen at once; one changed by another process (the
//! `verta tenant` CLI, another API instance on the same database) within the TTL. Unknown slugs
//! are never cached: a new tenant is readable at once, and random slugs cost no memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;

use crate::error::Result;
use crate::tenants;

use super::view::TenantView;

/// How long a tenant read from the database may be served from the cache.
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(5);

/// Entries kept at most; beyond it expired entries are dropped, then everything.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    tenant: TenantView,
    loaded: Instant,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Bumped by every invalidation: a lookup that started before one does not store its
    /// (possibly stale) answer.
    generation: u64,
}

/// Tenants by slug, each served for at most a TTL (see the module documentation). One per
/// application, shared by all its HTTP workers.
pub struct TenantCache {
    ttl: Duration,
    state: Mutex<State>,
}

impl Default for TenantCache {
    fn default() -> Self {
        Self::new(TENANT_CACHE_TTL)
    }
}

impl std::fmt::Debug for TenantCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TenantCache {
    /// A cache serving each tenant for at most `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain map that no panic can leave half-updated.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tenant whose slug is `slug`, as the read API shows it: loaded by
    /// [`tenants::get_by_slug`] (same errors), from the cache when it was loaded less than the
    /// TTL ago.
    pub async fn tenant_by_slug(
        &self,
        db: &impl ConnectionTrait,
        slug: &str,
    ) -> Result<TenantView> {
        let generation = {
            let state = self.lock();
            if let Some(e) = state.entries.get(slug)
                && e.loaded.elapsed() < self.ttl
            {
                return Ok(e.tenant.clone());
            }
            state.generation
        };
        let loaded = Instant::now();
        let tenant = TenantView::from(tenants::get_by_slug(db, slug).await?);
        if !self.ttl.is_zero() {
            let mut state = self.lock();
            if state.generation == generation {
                if state.entries.len() >= MAX_ENTRIES {
                    let ttl = self.ttl;
                    state.entries.retain(|_, e| e.loaded.elapsed() < ttl);
                    if state.entries.len() >= MAX_ENTRIES {
                        state.entries.clear();
                    }
                }
                state.entries.insert(
                    slug.to_owned(),
                    Entry {
                        tenant: tenant.clone(),
                        loaded,
                    },
                );
            }
        }
        Ok(tenant)
    }

    /// Forget every tenant: call after a tenant was updated or deleted. Lookups already under
    /// way do not store their answers.
    pub fn invalidate_all(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.generation = state.generation.wrapping_add(1);
    }
}
