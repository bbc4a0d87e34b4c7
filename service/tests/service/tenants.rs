//! Tenant rules and CRUD, as the original API had them (docs/differences.md).

use service::Error;
use service::tenants::{
    self, CreateTenant, ListTenantsQuery, Platform, TenantStatus, UpdateTenant,
};
use uuid::Uuid;

use crate::helpers::{create_input, setup};

fn issue_fields(err: &Error) -> Vec<String> {
    match err {
        Error::Validation(issues) => issues.iter().map(|i| i.field.clone()).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn conflict_field(err: &Error) -> &'static str {
    match err {
        Error::Conflict { field, .. } => field,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn create_trims_defaults_status_and_reads_back_equal() {
    let ctx = setup().await;
    let created = tenants::create(
        &ctx.db,
        &CreateTenant {
            name: Some("  New Tenant  ".into()),
            slug: Some("new-tenant".into()),
            platform: Some("slack".into()),
            platform_id: Some(" SLACK456 ".into()),
            status: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(created.name, "New Tenant");
    assert_eq!(created.platform_id, "SLACK456");
    assert_eq!(created.status, TenantStatus::Active);
    assert_eq!(created.platform, Platform::Slack);
    assert_eq!(created.id.get_version_num(), 4);
    assert_eq!(tenants::get(&ctx.db, created.id).await.unwrap(), created);
    assert_eq!(
        tenants::get_by_slug(&ctx.db, "new-tenant").await.unwrap(),
        created
    );
    assert_eq!(
        tenants::get_by_id_or_slug(&ctx.db, "new-tenant")
            .await
            .unwrap(),
        created
    );
    let upper = created.id.to_string().to_uppercase();
    assert_eq!(
        tenants::get_by_id_or_slug(&ctx.db, &upper).await.unwrap(),
        created
    );

    let json = serde_json::to_value(&created).unwrap();
    let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys.len(),
        8,
        "exactly the eight fields of the original: {keys:?}"
    );
    for k in [
        "id",
        "name",
        "slug",
        "status",
        "platform",
        "platformId",
        "createdAt",
        "updatedAt",
    ] {
        assert!(json.get(k).is_some(), "{k} missing");
    }
    let created_at = json["createdAt"].as_str().unwrap();
    assert!(
        created_at.ends_with(".000Z") && created_at.len() == 24,
        "{created_at}"
    );
    assert_eq!(json["status"], "ACTIVE");
    assert_eq!(json["platform"], "slack");
}

#[tokio::test]
async fn missing_slug_is_generated_from_the_name_and_made_unique_with_a_suffix() {
    let ctx = setup().await;
    let a = tenants::create(&ctx.db, &create_input("Auto Slug Test", None, "1"))
        .await
        .unwrap();
    let b = tenants::create(&ctx.db, &create_input("Auto Slug Test", Some(""), "2"))
        .await
        .unwrap();
    let c = tenants::create(&ctx.db, &create_input("auto slug test!", None, "3"))
        .await
        .unwrap();
    assert_eq!(a.slug, "auto-slug-test");
    assert_eq!(b.slug, "auto-slug-test-2");
    assert_eq!(c.slug, "auto-slug-test-3");
}

#[tokio::test]
async fn concurrent_creates_with_one_name_all_get_distinct_slugs() {
    let ctx = setup().await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let db = ctx.db.clone();
            tokio::spawn(async move {
                tenants::create(&db, &create_input("Race Guild", None, &format!("g{i}"))).await
            })
        })
        .collect();
    let mut slugs = Vec::new();
    for t in tasks {
        slugs.push(t.await.unwrap().unwrap().slug);
    }
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 6, "{slugs:?}");
}

#[tokio::test]
async fn concurrent_creates_with_one_explicit_slug_conflict_on_slug() {
    let ctx = setup().await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let db = ctx.db.clone();
            tokio::spawn(async move {
                tenants::create(
                    &db,
                    &create_input("Same", Some("same-slug"), &format!("p{i}")),
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(conflict_field(&e), "slug"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn duplicate_slug_or_platform_id_conflicts_name_the_field() {
    let ctx = setup().await;
    tenants::create(&ctx.db, &create_input("One", Some("platform-one"), "G1"))
        .await
        .unwrap();
    // A slug containing the word "platform" must still be reported as a slug conflict.
    let mut dup_slug = create_input("Two", Some("platform-one"), "G2");
    dup_slug.platform = Some("slack".into());
    let err = tenants::create(&ctx.db, &dup_slug).await.unwrap_err();
    assert_eq!(conflict_field(&err), "slug");

    let err = tenants::create(&ctx.db, &create_input("Three", Some("three"), "G1"))
        .await
        .unwrap_err();
    assert_eq!(conflict_field(&err), "platformId");

    // The same platform id on the other platform is allowed.
    let mut other = create_input("Four", Some("four"), "G1");
    other.platform = Some("slack".into());
    tenants::create(&ctx.db, &other).await.unwrap();
}

#[tokio::test]
async fn name_and_platform_id_are_trimmed_then_limited_to_255() {
    let ctx = setup().await;
    let exactly = "n".repeat(255);
    let with_space = format!("{} ", "m".repeat(255));
    let created = tenants::create(&ctx.db, &create_input(&exactly, Some("aaa"), &exactly))
        .await
        .unwrap();
    assert_eq!(created.name.chars().count(), 255);
    tenants::create(&ctx.db, &create_input(&with_space, Some("bbb"), "x"))
        .await
        .expect("255 characters plus trailing space trims to 255");
    let unicode = "é".repeat(255);
    tenants::create(&ctx.db, &create_input(&unicode, Some("ccc"), "y"))
        .await
        .expect("the limit counts characters, not bytes");

    let too_long = "n".repeat(256);
    let err = tenants::create(&ctx.db, &create_input(&too_long, Some("ddd"), &too_long))
        .await
        .unwrap_err();
    assert_eq!(issue_fields(&err), ["name", "platformId"]);

    for blank in ["", "   ", "\t\n"] {
        let err = tenants::create(&ctx.db, &create_input(blank, Some("eee"), blank))
            .await
            .unwrap_err();
        assert_eq!(issue_fields(&err), ["name", "platformId"], "{blank:?}");
    }
}

#[tokio::test]
async fn slug_length_and_pattern_are_checked_at_the_boundaries() {
    let ctx = setup().await;
    for (i, ok) in ["abc", &"a".repeat(50), "a1-b2", "123"].iter().enumerate() {
        tenants::create(&ctx.db, &create_input("Name", Some(ok), &format!("ok{i}")))
            .await
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for (i, bad) in [
        "ab",
        &"a".repeat(51),
        "-ab",
        "ab-",
        "a--b",
        "AB",
        "Bad_Slug",
        "a b",
    ]
    .iter()
    .enumerate()
    {
        let err = tenants::create(
            &ctx.db,
            &create_input("Name", Some(bad), &format!("bad{i}")),
        )
        .await
        .unwrap_err();
        assert!(
            issue_fields(&err).iter().all(|f| f == "slug"),
            "{bad}: {err:?}"
        );
    }
    // A name whose generated slug is too short must fail on slug, not be stored.
    for name in ["Hi", "日本語", "!!"] {
        let err = tenants::create(&ctx.db, &create_input(name, None, "gen"))
            .await
            .unwrap_err();
        assert_eq!(issue_fields(&err), ["slug"], "{name}");
    }
}

#[tokio::test]
async fn platform_and_status_must_be_exact_enum_values() {
    let ctx = setup().await;
    let mut input = create_input("Name", Some("name"), "1");
    input.platform = Some("Discord".into());
    input.status = Some("active".into());
    let err = tenants::create(&ctx.db, &input).await.unwrap_err();
    assert_eq!(issue_fields(&err), ["platform", "status"]);

    input.platform = None;
    input.status = Some("MAINTENANCE".into());
    let err = tenants::create(&ctx.db, &input).await.unwrap_err();
    assert_eq!(issue_fields(&err), ["platform"]);

    input.platform = Some("discord".into());
    let t = tenants::create(&ctx.db, &input).await.unwrap();
    assert_eq!(t.status, TenantStatus::Maintenance);
}

#[tokio::test]
async fn every_missing_required_field_is_reported_at_once() {
    let ctx = setup().await;
    let err = tenants::create(&ctx.db, &CreateTenant::default())
        .await
        .unwrap_err();
    assert_eq!(issue_fields(&err), ["name", "platform", "platformId"]);
    // The original's unit case: name valid, slug "123" valid, platform invalid, no platformId.
    let err = tenants::create(
        &ctx.db,
        &CreateTenant {
            name: Some("T".into()),
            slug: Some("123".into()),
            platform: Some("invalid".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(issue_fields(&err), ["platform", "platformId"]);
}

#[tokio::test]
async fn list_pages_sorts_and_counts() {
    let ctx = setup().await;
    let empty = tenants::list(&ctx.db, &ListTenantsQuery::default())
        .await
        .unwrap();
    assert!(empty.data.is_empty());
    assert_eq!(
        serde_json::to_value(empty.pagination).unwrap(),
        serde_json::json!({"page":1,"limit":10,"total":0,"totalPages":0})
    );
    for i in 0..15 {
        let name = if i == 0 {
            "Zebra Corp".to_owned()
        } else if i == 1 {
            "Alpha Inc".to_owned()
        } else {
            format!("Mid {i:02}")
        };
        tenants::create(
            &ctx.db,
            &create_input(&name, Some(&format!("t-{i}")), &i.to_string()),
        )
        .await
        .unwrap();
    }
    let q = |page: u64| ListTenantsQuery {
        page,
        ..Default::default()
    };
    let p1 = tenants::list(&ctx.db, &q(1)).await.unwrap();
    let p2 = tenants::list(&ctx.db, &q(2)).await.unwrap();
    let p3 = tenants::list(&ctx.db, &q(3)).await.unwrap();
    assert_eq!((p1.data.len(), p2.data.len(), p3.data.len()), (10, 5, 0));
    assert_eq!(p1.pagination.total, 15);
    assert_eq!(p1.pagination.total_pages, 2);
    assert_eq!(p2.pagination.page, 2);
    let mut ids: Vec<_> = p1.data.iter().chain(&p2.data).map(|t| t.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        15,
        "pages neither repeat nor skip tenants created in one second"
    );

    let by_name = tenants::list(
        &ctx.db,
        &ListTenantsQuery {
            sort_by: Some("name".into()),
            sort_order: Some("asc".into()),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(by_name.data.first().unwrap().name, "Alpha Inc");
    assert_eq!(by_name.data.last().unwrap().name, "Zebra Corp");

    let err = tenants::list(
        &ctx.db,
        &ListTenantsQuery {
            page: 0,
            limit: 200,
            sort_by: Some("createdAt".into()),
            sort_order: Some("up".into()),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(issue_fields(&err), ["page", "limit", "sortBy", "sortOrder"]);
}

#[tokio::test]
async fn update_changes_only_given_fields_and_refreshes_updated_at() {
    let ctx = setup().await;
    let t = tenants::create(&ctx.db, &create_input("Old", Some("old"), "1"))
        .await
        .unwrap();
    let other = tenants::create(&ctx.db, &create_input("Other", Some("other"), "2"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let u = tenants::update(
        &ctx.db,
        t.id,
        &UpdateTenant {
            name: Some(" Updated Name ".into()),
            status: Some("MAINTENANCE".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(u.name, "Updated Name");
    assert_eq!(u.status, TenantStatus::Maintenance);
    assert_eq!((u.slug.as_str(), u.platform_id.as_str()), ("old", "1"));
    assert_eq!(u.created_at, t.created_at);
    assert!(u.updated_at > t.updated_at);

    // Unchanged values (MySQL reports 0 affected rows) still answer the tenant.
    let same = tenants::update(
        &ctx.db,
        t.id,
        &UpdateTenant {
            status: Some("MAINTENANCE".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(same.id, t.id);

    let err = tenants::update(
        &ctx.db,
        t.id,
        &UpdateTenant {
            slug: Some(other.slug.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(conflict_field(&err), "slug");
    let err = tenants::update(
        &ctx.db,
        t.id,
        &UpdateTenant {
            platform_id: Some("2".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(conflict_field(&err), "platformId");

    let err = tenants::update(
        &ctx.db,
        Uuid::new_v4(),
        &UpdateTenant {
            name: Some("x".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: "tenant",
                ..
            }
        ),
        "{err:?}"
    );

    let err = tenants::update(&ctx.db, Uuid::new_v4(), &UpdateTenant::default())
        .await
        .unwrap_err();
    assert_eq!(
        issue_fields(&err),
        [""],
        "empty patch is rejected before the look-up"
    );

    let err = tenants::update(
        &ctx.db,
        t.id,
        &UpdateTenant {
            name: Some("  ".into()),
            slug: Some("X".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let mut fields = issue_fields(&err);
    fields.dedup();
    assert_eq!(fields, ["name", "slug"]);
}

#[tokio::test]
async fn delete_removes_the_tenant_then_reports_not_found() {
    let ctx = setup().await;
    let t = tenants::create(&ctx.db, &create_input("Gone", Some("gone"), "1"))
        .await
        .unwrap();
    tenants::delete(&ctx.db, t.id).await.unwrap();
    assert!(matches!(
        tenants::get(&ctx.db, t.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        tenants::delete(&ctx.db, t.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        tenants::get_by_id_or_slug(&ctx.db, "gone").await,
        Err(Error::NotFound { .. })
    ));
}

/// The tenant-not-found error every lookup gives, with the key the caller used.
fn not_found_key(result: Result<tenants::Tenant, Error>) -> String {
    match result {
        Err(Error::NotFound {
            entity: "tenant",
            id,
        }) => id,
        other => panic!("expected tenant not found, got {other:?}"),
    }
}

#[tokio::test]
async fn one_lookup_finds_a_tenant_by_id_by_slug_or_either_and_names_an_unknown_key() {
    let ctx = setup().await;
    let t = tenants::create(&ctx.db, &create_input("Lookup", Some("lookup"), "1"))
        .await
        .unwrap();
    // A slug that looks like another tenant's id: the id wins, the slug still finds its own.
    let uuid_slug = Uuid::new_v4().to_string();
    let other = tenants::create(&ctx.db, &create_input("Other", Some(&uuid_slug), "2"))
        .await
        .unwrap();
    let shadowing = tenants::create(
        &ctx.db,
        &create_input("Shadow", Some(&t.id.to_string()), "3"),
    )
    .await
    .unwrap();

    assert_eq!(tenants::get(&ctx.db, t.id).await.unwrap(), t);
    assert_eq!(tenants::get_by_slug(&ctx.db, "lookup").await.unwrap(), t);
    assert_eq!(
        tenants::get_by_slug(&ctx.db, &t.id.to_string())
            .await
            .unwrap(),
        shadowing
    );
    for key in [
        t.id.to_string(),
        t.id.to_string().to_uppercase(),
        format!("  {}\n", t.id),
        "lookup".to_owned(),
        " lookup ".to_owned(),
    ] {
        assert_eq!(
            tenants::get_by_id_or_slug(&ctx.db, &key).await.unwrap(),
            t,
            "{key:?}"
        );
    }
    assert_eq!(
        tenants::get_by_id_or_slug(&ctx.db, &uuid_slug)
            .await
            .unwrap(),
        other,
        "a UUID that is no tenant's id is tried as a slug"
    );

    let unknown = Uuid::new_v4();
    assert_eq!(
        not_found_key(tenants::get(&ctx.db, unknown).await),
        unknown.to_string()
    );
    assert_eq!(
        not_found_key(tenants::get_by_slug(&ctx.db, "no-such-tenant").await),
        "no-such-tenant"
    );
    assert_eq!(
        not_found_key(tenants::get_by_id_or_slug(&ctx.db, " nobody ").await),
        "nobody"
    );
    assert_eq!(
        not_found_key(tenants::get_by_id_or_slug(&ctx.db, &unknown.to_string()).await),
        unknown.to_string()
    );
}
