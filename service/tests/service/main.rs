//! Integration tests of the service layer against a real database: SQLite by default, MariaDB
//! with `VERTA_TEST_BACKEND=mariadb VERTA_TEST_MARIADB_URL=mysql://root@127.0.0.1:3307`.
//! Every test gets its own fresh database (`testkit::db::TestDb`).

mod branding;
mod cascade;
mod db;
mod files;
mod helpers;
mod queue;
mod repo;
mod repo_props;
mod s3_smoke;
mod search;
mod tenant_cache;
mod tenants;
