//! The effective scopes and rate plan of an app with products.

#![allow(clippy::unwrap_used)]

use uuid::Uuid;

use super::*;
use crate::model::{App, Status};

fn app(scopes: &str, plan: serde_json::Value) -> App {
    serde_json::from_value(serde_json::json!({
        "id": Uuid::nil(), "developer_id": Uuid::nil(), "name": "a", "redirect_uris": [],
        "grant_types": [], "scopes": scopes.split_whitespace().collect::<Vec<_>>(),
        "status": "approved", "generation": 0, "credentials": [], "rate_plan": plan,
        "created_at": 0, "updated_at": 0,
    }))
    .unwrap()
}

fn sub(
    product: &str,
    scopes: &str,
    status: SubscriptionStatus,
    plan: serde_json::Value,
) -> Subscription {
    Subscription {
        product: product.into(),
        status,
        scopes: ScopeSet::parse(scopes).unwrap(),
        rate_plan: serde_json::from_value(plan).unwrap(),
        created_at: 0,
        updated_at: 0,
    }
}

use SubscriptionStatus::{Approved, Pending, Revoked};

#[test]
fn only_approved_products_add_scopes() {
    let mut a = app("profile", serde_json::json!({}));
    a.subscriptions = vec![
        sub(
            "orders",
            "orders:read orders:write",
            Approved,
            serde_json::json!({}),
        ),
        sub("billing", "billing:read", Pending, serde_json::json!({})),
        sub("admin", "admin", Revoked, serde_json::json!({})),
    ];
    assert_eq!(
        a.effective_scopes().to_string(),
        "orders:read orders:write profile"
    );
    assert_eq!(a.status, Status::Approved);
}

#[test]
fn own_plan_wins_then_the_most_generous_product() {
    let mut a = app("", serde_json::json!({"spike_arrest": "5ps"}));
    a.subscriptions = vec![
        sub(
            "bronze",
            "",
            Approved,
            serde_json::json!(
            {"spike_arrest": "100ps", "quota": {"limit": 1000, "period": "day"},
             "oauth": {"token": "1ps"}}),
        ),
        sub(
            "gold",
            "",
            Approved,
            serde_json::json!(
            {"spike_arrest": "600pm", "quota": {"limit": 100, "period": "minute"}}),
        ),
        sub(
            "platinum",
            "",
            Pending,
            serde_json::json!({"quota": {"limit": 1000000, "period": "minute"}}),
        ),
    ];
    let p = a.effective_rate_plan();
    // The app's own spike arrest stays.
    assert_eq!(String::from(p.spike_arrest.unwrap()), "5ps");
    // 100 a minute is more than 1000 a day; the pending product does not count.
    assert_eq!(p.quota.unwrap().limit, 100);
    assert_eq!(String::from(p.oauth.token.unwrap()), "1ps");
    assert!(p.oauth.introspect.is_none());
    a.rate_plan = RatePlan::default();
    assert_eq!(
        String::from(a.effective_rate_plan().spike_arrest.unwrap()),
        "100ps"
    );
}

#[test]
fn quota_ties_go_to_the_longer_period() {
    let minute = Quota {
        limit: 60,
        period: Period::Minute,
    };
    let hour = Quota {
        limit: 3600,
        period: Period::Hour,
    };
    assert_eq!(more_quota(minute, hour), hour);
    assert_eq!(more_quota(hour, minute), hour);
    let huge = Quota {
        limit: u64::MAX,
        period: Period::Month,
    };
    assert_eq!(more_quota(huge, minute), huge);
}

#[test]
fn product_names() {
    for ok in ["orders", "orders-v2", "a.b_c", "9lives"] {
        assert!(product_name(ok).is_ok(), "{ok}");
    }
    for bad in ["", "Orders", "-x", "a b", "a/b", &"x".repeat(65), "é"] {
        assert!(product_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn visibility_decides_who_sees() {
    assert!(Visibility::Public.open_to(false));
    assert!(!Visibility::Internal.open_to(false));
    assert!(Visibility::Internal.open_to(true));
    assert!(!Visibility::Private.open_to(true));
}
