//! What the analytics writer receives ([`Queued`]) and the lines it stores for a batch: the
//! pipeline's records written straight from their fields ([`CallRecord::wire`], no
//! `CallEvent` built), events as given (refusals of unknown callers among them folded,
//! [`super::fold`]), then the aggregates the refusal table counted.

use std::borrow::Cow;

use tessera_shared::analytics::{CallEvent, Wire};

use super::fold;
use super::record::CallRecord;

/// What the writer receives: a pipeline's record, or an event as it was given.
#[derive(Debug)]
pub(super) enum Queued {
    Call(CallRecord),
    Event(Box<CallEvent>),
}

/// The stored lines of `batch` (emptied) and of the `counted` aggregates, and the calls they
/// stand for. `scratch` is the line buffer, reused from line to line.
pub(super) fn lines(
    batch: &mut Vec<Queued>,
    counted: &[CallEvent],
    scratch: &mut String,
) -> (Vec<String>, u64) {
    let mut lines = Vec::with_capacity(batch.len() + counted.len());
    let mut calls = 0u64;
    let mut events = Vec::new();
    for q in batch.drain(..) {
        match q {
            Queued::Call(r) => {
                lines.push(line(&r.wire(), scratch));
                calls += 1;
            }
            Queued::Event(e) => events.push(*e),
        }
    }
    let folded = fold::fold(&events).into_iter();
    for record in folded.chain(counted.iter().map(Cow::Borrowed)) {
        lines.push(line(&record.wire(), scratch));
        calls += record.count;
    }
    (lines, calls)
}

/// One stored line, written in `scratch` and copied out at its size (no growth of a fresh
/// `String` per line).
fn line(w: &Wire<'_>, scratch: &mut String) -> String {
    scratch.clear();
    w.write_json(scratch);
    scratch.as_str().to_owned()
}
