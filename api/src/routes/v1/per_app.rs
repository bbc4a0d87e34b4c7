//! State shared by all actix workers of one application, created on first use.
//!
//! actix builds the `App` once per worker thread, so state created in a route module's
//! `configure` would be per worker (a rate limit per worker, export jobs visible to one worker
//! only). Each application has exactly one `web::Data<Config>` allocation, cloned into every
//! worker, and tests run several applications in one process; that allocation therefore
//! identifies the application, and entries of applications that are gone are dropped.

use std::sync::{Arc, Mutex, Weak};

use actix_web::web;
use service::Config;

/// A value of type `T` per running application.
pub struct PerApp<T> {
    entries: Mutex<Vec<(Weak<Config>, Arc<T>)>>,
}

impl<T> PerApp<T> {
    /// An empty registry (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The value of the application owning `config`, created with `init` on first use.
    pub fn get_or_init(&self, config: &web::Data<Config>, init: impl FnOnce() -> T) -> Arc<T> {
        let owner = Arc::downgrade(&config.clone().into_inner());
        // A poisoned lock only means a panic elsewhere mid-lookup; the list is still valid.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(cfg, _)| cfg.strong_count() > 0);
        if let Some((_, value)) = entries.iter().find(|(cfg, _)| cfg.ptr_eq(&owner)) {
            return value.clone();
        }
        let value = Arc::new(init());
        entries.push((owner, value.clone()));
        value
    }
}

impl<T> Default for PerApp<T> {
    fn default() -> Self {
        Self::new()
    }
}
