//! Tenant branding: defaults, partial updates, validation.

use service::Error;
use service::branding::{self, BrandingInput};
use uuid::Uuid;

use crate::helpers::{setup, tenant};

#[tokio::test]
async fn first_write_fills_the_original_defaults_and_later_writes_change_only_given_fields() {
    let ctx = setup().await;
    let t = tenant(&ctx.db).await;
    assert_eq!(branding::get(&ctx.db, t.id).await.unwrap(), None);

    let b = branding::upsert(
        &ctx.db,
        t.id,
        &BrandingInput {
            logo: Some(Some("https://example.com/logo.png".into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(b.tenant_id, t.id);
    assert_eq!(
        (
            b.primary_color.as_str(),
            b.secondary_color.as_str(),
            b.accent_color.as_str()
        ),
        ("#3b82f6", "#64748b", "#10b981")
    );
    assert_eq!(b.logo.as_deref(), Some("https://example.com/logo.png"));

    let b2 = branding::upsert(
        &ctx.db,
        t.id,
        &BrandingInput {
            primary_color: Some("#FF0000".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(b2.id, b.id);
    assert_eq!(b2.primary_color, "#FF0000");
    assert_eq!(b2.secondary_color, "#64748b");
    assert_eq!(b2.logo, b.logo, "an absent logo is kept");

    let b3 = branding::upsert(
        &ctx.db,
        t.id,
        &serde_json::from_str(r#"{"logo":null}"#).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(b3.logo, None, "a null logo clears it");
    assert_eq!(b3.primary_color, "#FF0000");
    assert_eq!(
        branding::get(&ctx.db, t.id).await.unwrap(),
        Some(b3.clone())
    );

    let json = serde_json::to_value(&b3).unwrap();
    for k in [
        "id",
        "tenantId",
        "logo",
        "primaryColor",
        "secondaryColor",
        "accentColor",
        "createdAt",
        "updatedAt",
    ] {
        assert!(json.get(k).is_some(), "{k} missing in {json}");
    }
}

#[tokio::test]
async fn branding_of_a_missing_tenant_is_not_found() {
    let ctx = setup().await;
    let missing = Uuid::new_v4();
    let err = branding::upsert(&ctx.db, missing, &BrandingInput::default())
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
    let err = branding::get(&ctx.db, missing).await.unwrap_err();
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
}

#[tokio::test]
async fn invalid_colours_are_rejected_before_anything_is_stored() {
    let ctx = setup().await;
    let t = tenant(&ctx.db).await;
    let err = branding::upsert(
        &ctx.db,
        t.id,
        &BrandingInput {
            secondary_color: Some("#12345".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Validation(i) if i[0].field == "secondaryColor"),
        "{err:?}"
    );
    assert_eq!(branding::get(&ctx.db, t.id).await.unwrap(), None);
}
