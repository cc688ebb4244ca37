//! Conformance of [`ProofStore`]: the DPoP replay cache accepts a proof once while its record
//! lives, exactly once under a race, and keeps proofs apart from the other replay marks.

use std::sync::Arc;
use std::time::Duration;

use tessera_shared::store::Store;

use super::{cluster_store, memory_store, redis_store, winners};

async fn a_proof_is_accepted_once_until_its_record_expires(s: Arc<dyn Store>) {
    assert!(s.proof_first_use("p1", 1).await.unwrap());
    assert!(!s.proof_first_use("p1", 60).await.unwrap(), "a replay");
    assert!(s.proof_first_use("p2", 60).await.unwrap());
    // Twenty concurrent presentations of one proof: exactly one wins.
    assert_eq!(winners(|| s.proof_first_use("p3", 60)).await, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(s.proof_first_use("p1", 60).await.unwrap(), "expired");
}

async fn proofs_and_other_replay_marks_do_not_collide(s: Arc<dyn Store>) {
    assert!(s.mark_used("same", 60).await.unwrap());
    assert!(s.proof_first_use("same", 60).await.unwrap());
    assert!(!s.proof_first_use("same", 60).await.unwrap());
}

conformance!(
    a_proof_is_accepted_once_until_its_record_expires,
    proofs_and_other_replay_marks_do_not_collide
);
