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
//! bit, the task id), so a reader never sees half of a record. Two locks
//! whose addresses share a slot overwrite each other's record; a lookup
//! whose tag does not match says "not known", never a wrong holder (short of
//! a tag collision among 2^23 values, which can only blur a diagnostic).
//! Recording costs one relaxed store, clearing one relaxed load and store.
//! The unlock clears before it hands the lock on, so the next holder's
//! record is never overwritten by the previous one's clearing. Plain `std`
//! atomics even under loom, like `coarse`: they order nothing, and loom
//! cannot model a `static`.

use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const SLOT_BITS: u32 = 10;
const SLOTS: usize = 1 << SLOT_BITS;
const HELD: u64 = 1 << 40;
const ID_MASK: u64 = HELD - 1;
const TAG_SHIFT: u32 = 41;

static TABLE: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

/// The slot and the tag of the lock at `addr`.
#[inline]
fn slot_of(addr: usize) -> (&'static AtomicU64, u64) {
    let hash = (addr as u64 >> 3).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let index = (hash >> (64 - SLOT_BITS)) as usize;
    let tag = (hash >> 8) & ((1 << (64 - TAG_SHIFT)) - 1);
    (&TABLE[index], tag << TAG_SHIFT)
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
    let (slot, tag) = slot_of(addr.cast::<()>() as usize);
    let id = crate::context::current_task().map_or(0, |id| id.get() & ID_MASK);
    slot.store(tag | HELD | id, Relaxed);
}

/// Clears the record of the lock at `addr` (call before handing it on).
#[inline]
pub fn unlocked<T: ?Sized>(addr: *const T) {
    let (slot, tag) = slot_of(addr.cast::<()>() as usize);
    if slot.load(Relaxed) & !(HELD | ID_MASK) == tag {
        slot.store(0, Relaxed);
    }
}

/// The recorded holder of the lock at `addr` (never dereferenced).
pub fn holder(addr: u64) -> Holder {
    let (slot, tag) = slot_of(addr as usize);
    let word = slot.load(Relaxed);
    if word & HELD == 0 || word & !(HELD | ID_MASK) != tag {
        return Holder::Unknown;
    }
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
    fn another_lock_in_the_same_slot_never_reads_as_the_holder() {
        // Find two addresses that share a slot but not a tag.
        let base = 0x10_0000usize;
        let (slot, tag) = slot_of(base);
        let other = (1..1 << 20)
            .map(|i| base + i * 8)
            .find(|&a| {
                let (s, t) = slot_of(a);
                std::ptr::eq(s, slot) && t != tag
            })
            .expect("some address shares the slot");
        locked(base as *const u8);
        assert_eq!(holder(other as u64), Holder::Unknown);
        unlocked(other as *const u8);
        assert_eq!(
            holder(base as u64),
            Holder::NotATask,
            "not cleared by the other"
        );
        locked(other as *const u8);
        assert_eq!(
            holder(base as u64),
            Holder::Unknown,
            "overwritten, not wrong"
        );
        unlocked(other as *const u8);
    }
}
