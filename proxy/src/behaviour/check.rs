//! The steps that refuse subjects the behaviour rules blocked: an address right after the IP
//! lists (before any token lookup), a client — or one user of a client — right after
//! authentication (known only then). Both read the local block cache only — blocks are learnt at each flush — so a step
//! costs a read lock and a map lookup, no store round trip.
//!
//! A block answers `429` with `Retry-After` = the block's remaining seconds (RFC 6585 §4), or
//! `403` when the rule says so (RFC 9110 §15.5.4), also with `Retry-After` (§10.2.3 lets any
//! response carry it).

use std::sync::Arc;

use super::rules::Kind;
use super::Behaviour;
use crate::denial::Denial;
use crate::policy::exchange::{Blocked, Check, Exchange, Policy};

#[derive(Debug)]
pub struct BehaviourCheck {
    behaviour: Arc<Behaviour>,
    kind: Kind,
}

impl BehaviourCheck {
    /// The address step, when an address rule is on.
    pub fn addresses(b: Option<&Arc<Behaviour>>) -> Option<Self> {
        let b = b.filter(|b| b.rules().addresses_on())?;
        Some(BehaviourCheck {
            behaviour: b.clone(),
            kind: Kind::Address,
        })
    }

    /// The client step, when a client rule is on and the route authenticates its callers.
    pub fn clients(b: Option<&Arc<Behaviour>>, authenticates: bool) -> Option<Self> {
        let b = b.filter(|b| b.rules().clients_on() && authenticates)?;
        Some(BehaviourCheck {
            behaviour: b.clone(),
            kind: Kind::Client,
        })
    }
}

impl Check for BehaviourCheck {
    async fn check(&self, x: &mut Exchange<'_>) -> Result<(), Blocked> {
        let refusal = match self.kind {
            Kind::Address => self.behaviour.address_refusal(x.ip()),
            Kind::Client => match &x.out.caller {
                Some(c) => self
                    .behaviour
                    .client_refusal(&c.client_id, c.sub.as_deref()),
                None => None,
            },
        };
        let Some(r) = refusal else {
            return Ok(());
        };
        self.behaviour.blocked.with_label_values(&[r.rule]).inc();
        let retry_after_secs = (r.left.as_millis() as u64).div_ceil(1000);
        let denial = if r.status == 403 {
            Denial::AbuseForbidden { retry_after_secs }
        } else {
            x.out.throttled = true;
            Denial::Throttled {
                retry_after_secs,
                reason: "abuse",
            }
        };
        Err(Blocked::by(Policy::Abuse, denial))
    }
}
