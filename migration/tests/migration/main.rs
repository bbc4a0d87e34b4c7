//! Integration tests of the migrations, on the backend chosen by `VERTA_TEST_BACKEND`
//! (see `testkit::db`), plus structural checks of deployment files.

mod compose;
mod data;
mod reference;
mod schema;
mod snapshot;

use migration::{Migrator, MigratorTrait};
use sea_orm::{Database, DatabaseConnection};
use testkit::db::TestDb;

/// A fresh database and a connection to it.
pub async fn fresh() -> (TestDb, DatabaseConnection) {
    let db = TestDb::new().await;
    let conn = Database::connect(db.url())
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", db.url()));
    (db, conn)
}

/// A fresh database with all migrations applied.
pub async fn migrated() -> (TestDb, DatabaseConnection) {
    let (db, conn) = fresh().await;
    Migrator::up(&conn, None).await.expect("migrations apply");
    (db, conn)
}

/// The workspace root (parent of this crate).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate lives inside the workspace")
        .to_path_buf()
}

/// The eight tables of m001..m008.
pub const TABLES: [&str; 8] = [
    "tenants",
    "channels",
    "messages",
    "message_emoji_reactions",
    "message_attachments",
    "sync_progress",
    "tenant_branding",
    "channel_sync_jobs",
];
