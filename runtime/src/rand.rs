//! Cheap pseudo-random numbers (xorshift64*): which victim a worker steals
//! from first, and which branch `select!` polls first. Neither needs more
//! than "not always the same one", so speed wins over quality.
//!
//! Workers keep their own generator in their core; everything else (the
//! `select!` macro, inside or outside a runtime) shares one per thread.

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};

/// A xorshift64* generator; its state is never zero.
#[derive(Debug)]
pub(crate) struct FastRand(u64);

impl FastRand {
    pub(crate) fn new(seed: u64) -> FastRand {
        FastRand(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..n`; `n` must not be zero.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize) % n
    }
}

// This thread's generator state; zero until first used.
weft_base::loom::thread_local! {
    static THREAD_RNG: Cell<u64> = const { Cell::new(0) };
}

/// A number in `0..n` from this thread's generator, seeded on first use
/// from std's per-thread hash keys (different on every thread and run).
///
/// # Panics
/// If `n` is zero.
pub fn thread_rng_n(n: u32) -> u32 {
    assert!(n > 0, "thread_rng_n: empty range");
    // Inside a `weft::check` run the checker picks (`select!`'s first
    // branch is one of its scheduling choices).
    #[cfg(not(loom))]
    if let Some(choice) = crate::check::choose(n) {
        return choice;
    }
    THREAD_RNG.with(|state| {
        let mut rng = match state.get() {
            0 => {
                let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
                hasher.write_usize(state as *const Cell<u64> as usize);
                FastRand::new(hasher.finish())
            }
            seeded => FastRand(seeded),
        };
        let out = rng.below(n as usize) as u32;
        state.set(rng.0);
        out
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn every_value_in_range_comes_up() {
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            seen[thread_rng_n(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&count| count > 500), "{seen:?}");
    }

    #[test]
    fn threads_do_not_share_a_sequence() {
        let here: Vec<u32> = (0..32).map(|_| thread_rng_n(1 << 20)).collect();
        let there: Vec<u32> =
            std::thread::spawn(|| (0..32).map(|_| thread_rng_n(1 << 20)).collect())
                .join()
                .unwrap();
        assert_ne!(here, there);
    }
}
