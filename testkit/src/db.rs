//! Per-test databases.
//!
//! Every database test asks for its own fresh, empty database with
//! [`TestDb::new`]. Which backend it gets is chosen by the environment of the test run:
//!
//! | variable | meaning |
//! |---|---|
//! | `VERTA_TEST_BACKEND` | `sqlite` (default) or `mariadb` |
//! | `VERTA_TEST_MARIADB_URL` | admin URL of a MariaDB server, e.g. `mysql://root@127.0.0.1:3307` (required for `mariadb`) |
//!
//! SQLite databases are files in a temporary directory owned by the [`TestDb`]; MariaDB
//! databases are created as `verta_t_<random hex>` (utf8mb4 / utf8mb4_bin) and dropped,
//! best effort, when the [`TestDb`] is dropped.
//!
//! This module is test set-up: it panics with a clear message when the environment is
//! unusable, instead of returning errors that every test would have to unwrap anyway.

use sqlx::{AssertSqlSafe, Connection, MySqlConnection};

/// Environment variable selecting the backend of the test run.
pub const BACKEND_ENV: &str = "VERTA_TEST_BACKEND";
/// Environment variable holding the MariaDB admin URL (without a database name).
pub const MARIADB_URL_ENV: &str = "VERTA_TEST_MARIADB_URL";

/// The database server family a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on a MariaDB (MySQL dialect) server.
    MariaDb,
}

impl Backend {
    /// Short lowercase name (`sqlite` / `mariadb`), as used in `VERTA_TEST_BACKEND`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::MariaDb => "mariadb",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The backend selected by `VERTA_TEST_BACKEND` (default `sqlite`).
///
/// Panics on an unknown value, and when `mariadb` is selected without
/// `VERTA_TEST_MARIADB_URL`: a misconfigured test run must not silently test SQLite.
pub fn backend() -> Backend {
    let raw = std::env::var(BACKEND_ENV).unwrap_or_default();
    match raw.trim().to_ascii_lowercase().as_str() {
        "" | "sqlite" => Backend::Sqlite,
        "mariadb" | "mysql" => {
            if mariadb_admin_url().is_none() {
                panic!(
                    "{BACKEND_ENV}={raw} needs {MARIADB_URL_ENV} (e.g. mysql://root@127.0.0.1:3307); \
                     scripts/test.sh starts a throwaway MariaDB and sets both"
                );
            }
            Backend::MariaDb
        }
        other => panic!("{BACKEND_ENV}={other:?} is not supported: use sqlite or mariadb"),
    }
}

fn mariadb_admin_url() -> Option<String> {
    std::env::var(MARIADB_URL_ENV)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Splits `mysql://user@host:port/?x=y` into (`mysql://user@host:port`, `?x=y` or "").
fn split_admin_url(admin: &str) -> (String, String) {
    let (base, query) = match admin.find('?') {
        Some(i) => (&admin[..i], &admin[i..]),
        None => (admin, ""),
    };
    // Strip a trailing slash or an existing database path after the authority.
    let base = match base.find("://") {
        Some(scheme_end) => {
            let rest = &base[scheme_end + 3..];
            match rest.find('/') {
                Some(slash) => &base[..scheme_end + 3 + slash],
                None => base,
            }
        }
        None => base,
    };
    (base.to_string(), query.to_string())
}

enum Inner {
    Sqlite {
        // Keeps the directory (and the database file) alive as long as the TestDb.
        _dir: tempfile::TempDir,
    },
    MariaDb {
        admin_url: String,
        name: String,
    },
}

/// A fresh, empty database for one test; see the module docs.
pub struct TestDb {
    url: String,
    backend: Backend,
    inner: Inner,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &self.url)
            .field("backend", &self.backend)
            .finish()
    }
}

impl TestDb {
    /// Creates a fresh, empty database on the backend chosen by [`backend()`].
    pub async fn new() -> TestDb {
        Self::new_on(backend()).await
    }

    /// Creates a fresh, empty database on the given backend.
    pub async fn new_on(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("verta-test-")
                    .tempdir()
                    .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
                let path = dir.path().join("test.db");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                TestDb {
                    url,
                    backend,
                    inner: Inner::Sqlite { _dir: dir },
                }
            }
            Backend::MariaDb => {
                let admin = mariadb_admin_url().unwrap_or_else(|| {
                    panic!("{MARIADB_URL_ENV} must be set to run tests on MariaDB")
                });
                let (base, query) = split_admin_url(&admin);
                let name = format!("verta_t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = MySqlConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to MariaDB at {admin}: {e}"));
                let sql =
                    format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
                let _ = conn.close().await;
                let url = format!("{base}/{name}{query}");
                TestDb {
                    url,
                    backend,
                    inner: Inner::MariaDb {
                        admin_url: admin,
                        name,
                    },
                }
            }
        }
    }

    /// The `DATABASE_URL` of this database (`sqlite://...?mode=rwc` or `mysql://.../verta_t_...`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The backend this database lives on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The MariaDB database name (`verta_t_...`), or `None` on SQLite.
    pub fn database_name(&self) -> Option<&str> {
        match &self.inner {
            Inner::MariaDb { name, .. } => Some(name),
            Inner::Sqlite { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Inner::MariaDb { admin_url, name } = &self.inner {
            // Best effort: a separate thread with its own small runtime works from any
            // context (tokio test, actix system, plain thread). Failures are ignored: the
            // throwaway server of the test script is deleted at the end anyway.
            let admin_url = admin_url.clone();
            let name = name.clone();
            let handle = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(mut conn) = MySqlConnection::connect(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS `{name}`");
                        let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await;
                        let _ = conn.close().await;
                    }
                });
            });
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_admin_url;

    #[test]
    fn admin_url_is_split_into_server_part_and_query() {
        assert_eq!(
            split_admin_url("mysql://root@127.0.0.1:3307"),
            ("mysql://root@127.0.0.1:3307".into(), String::new())
        );
        assert_eq!(
            split_admin_url("mysql://root@127.0.0.1:3307/"),
            ("mysql://root@127.0.0.1:3307".into(), String::new())
        );
        assert_eq!(
            split_admin_url("mysql://root:pw@h:1/mysql?ssl-mode=disabled"),
            ("mysql://root:pw@h:1".into(), "?ssl-mode=disabled".into())
        );
    }
}
