//! Which task holds a lock, for the task dump's deadlock hints.
//!
//! A `Mutex` (and an `RwLock` taken for writing) records the task that took
//! it here when its lock completes, and clears the record when it is
//! unlocked. The records live in a fixed process-wide table rather than in
//! the lock itself: a dump, on any thread, may read a record by the lock's
//! address without ever dereferencing that address (the lock may be gone by
//! the time the dump looks), which no pointer into the lock would allow.
//!
//! Invariants: a slot is one word (a tag drawn from the address, a "held"
//! bit, the task id), so a reader never sees half of a record. A lock's
//! address picks a pair of slots on one cache line; it records in the one
//! that is free or already its own, else over the first. So three locks
//! held at once whose addresses pick the same pair (of 4096) lose a record;
//! a lookup whose tag does not match says "not known", never a wrong
//! holder (short of a tag collision among 2^23 values, which can only blur
//! a diagnostic). Recording costs a relaxed load or two and one relaxed
//! store; clearing the same. The unlock clears before it hands the lock
//! on, so the next holder's record is never overwritten by the previous
//! one's clearing. A lock freed while held (its guard leaked with
//! `mem::forget`) leaves its record behind, and a lock later made at the
//! same address reads as held by that task until it is first unlocked.
//! Plain `std` atomics even under loom, like `coarse`: they order nothing,
//! and loom cannot model a `static`.

use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// log2 of the number of slot pairs.
const PAIR_BITS: u32 = 12;
const SLOTS: usize = 2 << PAIR_BITS;
const HELD: u64 = 1 << 40;
const ID_MASK: u64 = HELD - 1;
const TAG_SHIFT: u32 = 41;

/// The slots, aligned so that no pair straddles a cache line.
#[repr(align(64))]
struct Table([AtomicU64; SLOTS]);

static TABLE: Table = Table([const { AtomicU64::new(0) }; SLOTS]);

const TAG_MASK: u64 = !(HELD | ID_MASK);

/// The pair of slots and the tag of the lock at `addr`.
#[inline]
fn slots_of(addr: usize) -> (&'static [AtomicU64], u64) {
    let hash = (addr as u64 >> 3).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let pair = (hash >> (64 - PAIR_BITS)) as usize;
    let tag = (hash >> 8) & ((1 << (64 - TAG_SHIFT)) - 1);
    (&TABLE.0[pair * 2..pair * 2 + 2], tag << TAG_SHIFT)
}

/// Who holds a lock, as far as the table knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// No record: free, or its record was overwritten by another lock's.
    Unknown,
    /// Taken by the task with this id (task ids fit in 40 bits here).
    Task(NonZeroU64),
    /// Taken outside any task (`blocking_lock`, a plain executor).
    NotATask,
}

/// Records that the task being polled on this thread (if any) has taken
/// the lock at `addr`.
#[inline]
pub fn locked<T: ?Sized>(addr: *const T) {
    let (pair, tag) = slots_of(addr.cast::<()>() as usize);
    let id = crate::context::current_task().map_or(0, |id| id.get() & ID_MASK);
    let usable = |slot: &AtomicU64| {
        let word = slot.load(Relaxed);
        word == 0 || word & TAG_MASK == tag
    };
    let slot = if usable(&pair[0]) || !usable(&pair[1]) {
        &pair[0]
    } else {
        &pair[1]
    };
    slot.store(tag | HELD | id, Relaxed);
}

/// Clears the record of the lock at `addr` (call before handing it on).
#[inline]
pub fn unlocked<T: ?Sized>(addr: *const T) {
    let (pair, tag) = slots_of(addr.cast::<()>() as usize);
    for slot in pair {
        if slot.load(Relaxed) & TAG_MASK == tag {
            slot.store(0, Relaxed);
        }
    }
}

/// The recorded holder of the lock at `addr` (never dereferenced).
pub fn holder(addr: u64) -> Holder {
    let (pair, tag) = slots_of(addr as usize);
    let Some(word) = pair
        .iter()
        .map(|slot| slot.load(Relaxed))
        .find(|word| word & HELD != 0 && word & TAG_MASK == tag)
    else {
        return Holder::Unknown;
    };
    match NonZeroU64::new(word & ID_MASK) {
        Some(id) => Holder::Task(id),
        None => Holder::NotATask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_recorded_until_unlocked() {
        let lock = Box::new(0u64);
        let addr = &*lock as *const u64;
        assert_eq!(holder(addr as u64), Holder::Unknown);
        locked(addr);
        assert_eq!(holder(addr as u64), Holder::NotATask, "no task here");
        let task = NonZeroU64::new(77).unwrap();
        {
            let _task = crate::context::enter_task(task);
            locked(addr);
        }
        assert_eq!(holder(addr as u64), Holder::Task(task));
        unlocked(addr);
        assert_eq!(holder(addr as u64), Holder::Unknown);
    }

    #[test]
    // It hashes thousands of addresses to find three that collide: minutes
    // under miri, which has nothing to check here (no unsafe, no pointer
    // is followed).
    #[cfg_attr(miri, ignore)]
    fn locks_sharing_a_pair_keep_two_records_and_never_read_as_each_other() {
        // Three addresses that pick the same pair, with different tags.
        let base = 0x10_0000usize;
        let (pair, tag) = slots_of(base);
        let mut others = (1..1 << 22).map(|i| base + i * 8).filter(|&a| {
            let (p, t) = slots_of(a);
            std::ptr::eq(p, pair) && t != tag
        });
        let (second, third) = (others.next().unwrap(), others.next().unwrap());
        assert_ne!(slots_of(second).1, slots_of(third).1);
        locked(base as *const u8);
        assert_eq!(holder(second as u64), Holder::Unknown);
        unlocked(second as *const u8);
        assert_eq!(
            holder(base as u64),
            Holder::NotATask,
            "not cleared by another"
        );
        locked(second as *const u8);
        assert_eq!(holder(base as u64), Holder::NotATask, "both recorded");
        assert_eq!(holder(second as u64), Holder::NotATask);
        locked(third as *const u8);
        assert_eq!(
            holder(base as u64),
            Holder::Unknown,
            "overwritten, not wrong"
        );
        assert_eq!(holder(third as u64), Holder::NotATask);
        unlocked(second as *const u8);
        unlocked(third as *const u8);
        assert!(pair.iter().all(|slot| slot.load(Relaxed) == 0));
    }
}
