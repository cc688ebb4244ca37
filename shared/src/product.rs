//! API products (Apigee's model): a named bundle of scopes and a rate plan that an operator
//! publishes, and the subscriptions of apps to them.
//!
//! An app's **effective scopes** are its own scopes (set one by one, as before products
//! existed) together with the scopes of every product its subscription to is *approved*
//! ([`effective_scopes`]). Its **effective rate plan** is worked out member by member
//! (spike arrest, quota, and each of the broker's per-app rates) by [`effective_rate_plan`]:
//!
//! 1. the app's own plan, where it sets the member (an operator's per-app setting is the most
//!    specific one; existing apps keep exactly the plan they had);
//! 2. otherwise the most generous value among the approved products that set it (a product
//!    sold as "gold" next to "bronze" must not throttle its subscribers to bronze): for a rate
//!    the shortest interval; for a quota the largest average allowance (`limit` over the
//!    period's length, a month counting 30 days), ties going to the longer period;
//! 3. otherwise unset: the route's own setting (proxy) or `[limits]`' default (broker) applies.
//!
//! A subscription keeps a copy of its product's scopes and rate plan, so a token lookup reads
//! one record (the app) as before; changing a product rewrites its subscribers' copies in the
//! same atomic catalog update, and every change to an app is announced on the revocation
//! channel, so live tokens and the proxies' caches follow at once.

use serde::{Deserialize, Serialize};

use crate::rate::{OAuthRates, Period, Quota, Rate, RatePlan};
use crate::scope::ScopeSet;

/// Who may subscribe to a product on their own, and who sees it in the portal.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// In the portal's catalogue for every signed-in developer, who may subscribe.
    Public,
    /// In the catalogue only for the portal's operators (the organisation's own people), who
    /// may subscribe their own apps.
    Internal,
    /// Never in the portal: only an operator attaches it to an app (admin API, console).
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Internal => "internal",
            Visibility::Private => "private",
        }
    }

    /// Whether a portal user (an operator or not) may see and subscribe to the product.
    pub fn open_to(self, operator: bool) -> bool {
        match self {
            Visibility::Public => true,
            Visibility::Internal => operator,
            Visibility::Private => false,
        }
    }
}

/// Whether a new subscription is approved at once or waits for an operator.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    Auto,
    Manual,
}

/// An API product.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Product {
    /// The key: 1–64 of `a-z`, `0-9`, `-`, `_`, `.`, starting with a letter or digit.
    pub name: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    pub scopes: ScopeSet,
    #[serde(default, skip_serializing_if = "RatePlan::is_empty")]
    pub rate_plan: RatePlan,
    pub approval: Approval,
    pub visibility: Visibility,
    /// Bumped by every change to the product and by every new subscription to it, so that a
    /// product change (which rewrites its subscribers' copies) and a new subscription (which
    /// copies the product) always see each other: whichever commits second retries.
    #[serde(default)]
    pub revision: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A product name: 1–64 of `a-z`, `0-9`, `-`, `_`, `.`, starting with a letter or digit (it
/// appears in URLs and forms as it is).
pub fn product_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(s.to_string())
    } else {
        Err(
            "must be 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit"
                .into(),
        )
    }
}

/// Where a subscription stands. Only `approved` ones grant anything.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Pending,
    Approved,
    Revoked,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Pending => "pending",
            SubscriptionStatus::Approved => "approved",
            SubscriptionStatus::Revoked => "revoked",
        }
    }
}

/// An app's subscription to a product, with a copy of what the product grants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subscription {
    pub product: String,
    pub status: SubscriptionStatus,
    /// The product's scopes, as of its last change.
    pub scopes: ScopeSet,
    /// The product's rate plan, as of its last change.
    #[serde(default, skip_serializing_if = "RatePlan::is_empty")]
    pub rate_plan: RatePlan,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Subscription {
    /// Copies what `product` grants (at subscription, and when the product changes).
    pub fn copy_grants(&mut self, product: &Product) {
        self.scopes = product.scopes.clone();
        self.rate_plan = product.rate_plan;
    }
}

/// The subscriptions that grant something: the approved ones.
fn approved(subs: &[Subscription]) -> impl Iterator<Item = &Subscription> {
    subs.iter()
        .filter(|s| s.status == SubscriptionStatus::Approved)
}

/// An app's own scopes `own` and those of its approved products among `subs` (see the module
/// documentation).
pub fn effective_scopes(own: &ScopeSet, subs: &[Subscription]) -> ScopeSet {
    approved(subs).fold(own.clone(), |acc, s| acc.union(&s.scopes))
}

/// An app's own rate plan `own`, completed member by member from its approved products among
/// `subs` (see the module documentation).
pub fn effective_rate_plan(own: RatePlan, subs: &[Subscription]) -> RatePlan {
    let plans: Vec<&RatePlan> = approved(subs).map(|s| &s.rate_plan).collect();
    let rate = |own: Option<Rate>, pick: fn(&RatePlan) -> Option<Rate>| {
        own.or_else(|| plans.iter().filter_map(|p| pick(p)).reduce(more_rate))
    };
    RatePlan {
        spike_arrest: rate(own.spike_arrest, |p| p.spike_arrest),
        quota: own
            .quota
            .or_else(|| plans.iter().filter_map(|p| p.quota).reduce(more_quota)),
        oauth: OAuthRates {
            token: rate(own.oauth.token, |p| p.oauth.token),
            introspect: rate(own.oauth.introspect, |p| p.oauth.introspect),
            revoke: rate(own.oauth.revoke, |p| p.oauth.revoke),
        },
    }
}

/// The more generous of two rates: the shorter interval between calls.
fn more_rate(a: Rate, b: Rate) -> Rate {
    if b.interval() < a.interval() {
        b
    } else {
        a
    }
}

fn period_secs(p: Period) -> u128 {
    match p {
        Period::Minute => 60,
        Period::Hour => 3_600,
        Period::Day => 86_400,
        Period::Month => 30 * 86_400,
    }
}

/// The more generous of two quotas: the larger average allowance; on a tie, the longer period.
fn more_quota(a: Quota, b: Quota) -> Quota {
    // a.limit / a.secs vs b.limit / b.secs, cross-multiplied (no floating point, no overflow).
    let lhs = u128::from(a.limit) * period_secs(b.period);
    let rhs = u128::from(b.limit) * period_secs(a.period);
    match lhs.cmp(&rhs) {
        std::cmp::Ordering::Less => b,
        std::cmp::Ordering::Greater => a,
        std::cmp::Ordering::Equal if period_secs(b.period) > period_secs(a.period) => b,
        std::cmp::Ordering::Equal => a,
    }
}

#[cfg(test)]
mod tests;
