//! The read API's tenant-by-slug cache (`service::archive::TenantCache`): what it serves
//! after a rename or delete, with and without invalidation.

use std::time::Duration;

use service::Error;
use service::archive::TenantCache;
use service::archive::view::TenantView;
use service::tenants::{self, UpdateTenant};

use crate::helpers::{create_input, setup};

fn is_not_found(result: &Result<TenantView, Error>) -> bool {
    matches!(
        result,
        Err(Error::NotFound {
            entity: "tenant",
            ..
        })
    )
}

#[tokio::test]
async fn renamed_tenant_is_served_by_its_old_slug_only_until_invalidated() {
    let ctx = setup().await;
    let t = tenants::create(&ctx.db, &create_input("Old", Some("old-slug"), "1"))
        .await
        .unwrap();
    let cache = TenantCache::new(Duration::from_secs(3600));
    let cached = cache.tenant_by_slug(&ctx.db, "old-slug").await.unwrap();
    assert_eq!(cached.id, t.id.to_string());

    tenants::update(
        &ctx.db,
        t.id,
        &UpdateTenant {
            slug: Some("new-slug".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Within the TTL and without invalidation the old answer is still served: the bound the
    // TTL documents.
    let stale = cache.tenant_by_slug(&ctx.db, "old-slug").await.unwrap();
    assert_eq!(stale.slug, "old-slug");

    cache.invalidate_all();
    assert!(is_not_found(
        &cache.tenant_by_slug(&ctx.db, "old-slug").await
    ));
    let renamed = cache.tenant_by_slug(&ctx.db, "new-slug").await.unwrap();
    assert_eq!(
        (renamed.id, renamed.slug),
        (t.id.to_string(), "new-slug".into())
    );
}

#[tokio::test]
async fn deleted_tenant_is_not_found_after_invalidation() {
    let ctx = setup().await;
    let t = tenants::create(&ctx.db, &create_input("Doomed", Some("doomed"), "2"))
        .await
        .unwrap();
    let cache = TenantCache::new(Duration::from_secs(3600));
    cache.tenant_by_slug(&ctx.db, "doomed").await.unwrap();
    tenants::delete(&ctx.db, t.id).await.unwrap();
    cache.invalidate_all();
    assert!(is_not_found(&cache.tenant_by_slug(&ctx.db, "doomed").await));
}

#[tokio::test]
async fn unknown_slugs_are_not_cached() {
    let ctx = setup().await;
    let cache = TenantCache::new(Duration::from_secs(3600));
    assert!(is_not_found(&cache.tenant_by_slug(&ctx.db, "later").await));
    tenants::create(&ctx.db, &create_input("Later", Some("later"), "3"))
        .await
        .unwrap();
    let found = cache.tenant_by_slug(&ctx.db, "later").await.unwrap();
    assert_eq!(found.slug, "later");
}

#[tokio::test]
async fn zero_ttl_reads_the_database_every_time() {
    let ctx = setup().await;
    let t = tenants::create(&ctx.db, &create_input("Gone", Some("gone"), "4"))
        .await
        .unwrap();
    let cache = TenantCache::new(Duration::ZERO);
    cache.tenant_by_slug(&ctx.db, "gone").await.unwrap();
    tenants::delete(&ctx.db, t.id).await.unwrap();
    assert!(is_not_found(&cache.tenant_by_slug(&ctx.db, "gone").await));
}
