//! The sizes of the futures a proxied call builds (issue 11, P1). A future built in place and
//! awaited is moved into its caller's state, actix-web boxes the handler's future, and a step's
//! future is as large as the largest policy's: every byte of them is copied on every call. A
//! policy's rare large path (a store lookup past the token cache, a JWKS fetch, a DPoP proof, a
//! body read for threat checks) is boxed where it runs, so it does not size every call's
//! future. These tests bound the sizes (as the test build lays them out) so that a change
//! which grows them again fails here, not only in a profile.

use actix_web::{web, HttpRequest};

use super::route::Routed;
use super::{request::Client, Call};
use crate::policy::exchange::{Check, Exchange};
use crate::policy::step::Step;
use crate::policy::*;
use crate::state::Runtime;

fn handle_size<F, R>(_: F) -> usize
where
    F: FnOnce(HttpRequest, web::Payload, web::Data<Runtime>) -> R,
{
    std::mem::size_of::<R>()
}

fn send_size<'a, F, R>(_: F) -> usize
where
    F: FnOnce(&'a HttpRequest, web::Payload, &'a Runtime, Routed<'a>, Client, &'a mut Call) -> R,
{
    std::mem::size_of::<R>()
}

fn step_size<'a, 'b: 'a, S: 'a, F, R>(_: F) -> usize
where
    F: FnOnce(&'a S, &'a mut Exchange<'b>) -> R,
{
    std::mem::size_of::<R>()
}

#[test]
fn a_call_moves_small_futures() {
    let handle = handle_size(super::handle);
    let send = send_size(super::send::send);
    let step = step_size(Step::check);
    eprintln!("handle {handle}, send {send}, step {step} bytes");
    macro_rules! each_policy {
        ($($t:ty),*) => {$(
            let size = step_size(<$t as Check>::check);
            eprintln!("{}: {size} bytes", stringify!($t));
            assert!(size <= 512, "{}'s check future is {size} bytes", stringify!($t));
        )*};
    }
    each_policy!(
        ip::IpFilter,
        abuse::AbuseCheck,
        crate::behaviour::check::BehaviourCheck,
        spike::SpikeArrest,
        cors::Cors,
        auth::tessera::Tessera,
        auth::jwt::Jwt,
        auth::api_key::ApiKey,
        scope::Scopes,
        quota::QuotaStep,
        threat::step::HeadCheck
    );
    // Before: 1,488 (a step), 2,072 (the exchange with the backend), 2,960 (the handler).
    assert!(step <= 512, "a step's future is {step} bytes");
    assert!(send <= 1_536, "the exchange's future is {send} bytes");
    assert!(handle <= 2_432, "the handler's future is {handle} bytes");
}
