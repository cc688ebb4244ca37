//! The operating system's CSPRNG, read in batches: one `getrandom` system call serves many
//! tokens, secrets and nonces instead of one call each (issue 11, P3: an issuance made one
//! call for its token, and the broker's request ids one more per request).
//!
//! # Design note
//!
//! Every byte handed out still comes straight from the OS CSPRNG (`getrandom`), exactly once:
//! a thread's pool is refilled whole when it runs short, and each byte is zeroed in the pool as
//! it is handed out, so the pool never holds a byte of a value already issued. What the pool
//! holds is only what is yet to be issued, in the process's own memory, where the pepper and
//! the keys derived from it already are. The pool is per thread (no lock, no sharing). A process
//! that forked would share its parent's pool; Tessera never forks without `exec`.
//!
//! Requests larger than a quarter of the pool go to the OS directly.

use std::cell::RefCell;

const POOL_BYTES: usize = 1024;

struct Pool {
    buf: [u8; POOL_BYTES],
    /// Bytes before `next` were handed out (and zeroed).
    next: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { buf: [0; POOL_BYTES], next: POOL_BYTES })
    };
}

/// Fills `out` with bytes from the OS CSPRNG, through this thread's pool.
pub(super) fn fill(out: &mut [u8]) -> Result<(), getrandom::Error> {
    if out.len() > POOL_BYTES / 4 {
        return getrandom::fill(out);
    }
    // A thread whose locals are being torn down (a draw from another local's destructor) has
    // no pool any more: it reads the OS directly rather than panicking.
    POOL.try_with(|cell| {
        let mut pool = cell.borrow_mut();
        if POOL_BYTES - pool.next < out.len() {
            getrandom::fill(&mut pool.buf)?;
            pool.next = 0;
        }
        let taken = pool.next..pool.next + out.len();
        out.copy_from_slice(&pool.buf[taken.clone()]);
        pool.buf[taken.clone()].fill(0);
        pool.next = taken.end;
        Ok(())
    })
    .unwrap_or_else(|_| getrandom::fill(out))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_draw_is_fresh_across_refills_and_zeroed_in_the_pool() {
        // 24-byte draws (a token's random part) through several refills: all distinct.
        let mut seen = HashSet::new();
        for _ in 0..(4 * POOL_BYTES / 24) {
            let mut b = [0u8; 24];
            fill(&mut b).unwrap();
            assert_ne!(b, [0u8; 24]);
            assert!(seen.insert(b), "a draw came twice");
        }
        POOL.with_borrow(|pool| assert!(pool.buf[..pool.next].iter().all(|&b| b == 0)));
        // Large draws bypass the pool.
        let mut big = [0u8; POOL_BYTES];
        fill(&mut big).unwrap();
        assert!(big.iter().any(|&b| b != 0));
    }
}
