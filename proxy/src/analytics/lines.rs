//! What the analytics writer receives ([`Queued`]) and the lines it stores for a batch, packed
//! in place into one reused buffer ([`Packed`]: no `String` per line): the pipeline's records
//! written straight from their fields ([`CallRecord::wire`], no `CallEvent` built), events as
//! given (refusals of unknown callers among them folded, [`super::fold`]), then the aggregates
//! the refusal table counted.

use std::borrow::Cow;

use tessera_shared::analytics::{CallEvent, Packed};

use super::fold;
use super::record::CallRecord;

/// What the writer receives: a pipeline's record, or an event as it was given.
#[derive(Debug)]
pub(super) enum Queued {
    Call(CallRecord),
    Event(Box<CallEvent>),
}

/// Packs the stored lines of `batch` (emptied) and of the `counted` aggregates into `out`
/// (emptied first, its buffer reused), and returns the calls they stand for.
pub(super) fn lines(batch: &mut Vec<Queued>, counted: &[CallEvent], out: &mut Packed) -> u64 {
    out.clear();
    let mut calls = 0u64;
    let mut events = Vec::new();
    for q in batch.drain(..) {
        match q {
            Queued::Call(r) => {
                out.push(&r.wire());
                calls += 1;
            }
            Queued::Event(e) => events.push(*e),
        }
    }
    let folded = fold::fold(&events).into_iter();
    for record in folded.chain(counted.iter().map(Cow::Borrowed)) {
        out.push(&record.wire());
        calls += record.count;
    }
    calls
}
