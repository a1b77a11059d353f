//! What a task has been doing, for the task dump and the slow-poll
//! detector: when it was spawned and when it was last polled (by the coarse
//! clock), and what its last poll was left waiting on, or that it woke
//! itself (a task still `RUNNING` after such a poll is queued, in a carried
//! entry, not being polled).
//!
//! Two words, no more: with a third (a poll count was one) the cell of a
//! small future outgrows glibc's fast bins (`layout.rs` has the test, and
//! `docs/benchmarks.md` the 2x it cost a spawn-heavy row).
//!
//! Invariants: only the thread holding the task's `RUNNING` bit writes
//! these words (at the start and end of a poll; the bit may reach the next
//! holder inside a carried queue entry, whose queue orders the two), so
//! each write is a plain load and store, not a read-modify-write; readers
//! (a dump, on any thread) use relaxed loads and may see a value one poll
//! old, never a torn word. Nothing here orders anything else (so the words
//! are `Stat`s, which loom does not model).

use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;

use super::layout::Header;
use super::state::Snapshot;
use super::Id;
use weft_base::coarse::{self, Millis};
use weft_base::loom::Stat;
use weft_base::wait::WaitOn;

/// The spawn time's half of `Activity::stamps`.
const SPAWNED: u64 = !0 << 32;
/// `Activity::wait` after a poll in which the task woke itself: no
/// `WaitOn` has these bits (its kind byte would be 0xff).
const WOKE_ITSELF: u64 = u64::MAX;

/// A task's activity words; lives in the task header.
pub(crate) struct Activity {
    /// The coarse time the task was spawned (high half) and the time its
    /// last poll began (low half; 0 before the first).
    stamps: Stat,
    /// What the last poll that returned `Pending` noted (`WaitOn` bits),
    /// or `WOKE_ITSELF` until the next poll begins.
    wait: Stat,
}

/// A reading of [`Activity`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub(crate) spawned: Millis,
    /// When the last poll began; `None` before the first.
    pub(crate) last_poll: Option<Millis>,
    pub(crate) wait: WaitOn,
    /// The last poll woke the task itself, and no poll has begun since.
    pub(crate) woke_itself: bool,
}

impl Activity {
    pub(crate) fn new(spawned: Millis) -> Activity {
        Activity {
            stamps: Stat::new(u64::from(spawned.0) << 32),
            wait: Stat::new(0),
        }
    }

    /// A poll begins (called with `RUNNING` held).
    #[inline]
    pub(crate) fn poll_started(&self) {
        let spawned = self.stamps.load() & SPAWNED;
        // 0 means "never polled": the process's first millisecond reads 1.
        let now = u64::from(coarse::now().0.max(1));
        self.stamps.store(spawned | now);
        if self.wait.load() == WOKE_ITSELF {
            self.wait.store(0);
        }
    }

    /// A poll returned `Pending`, having noted `wait`, or having woken the
    /// task itself (with `RUNNING` held).
    #[inline]
    pub(crate) fn poll_pending(&self, wait: WaitOn, woke_itself: bool) {
        let bits = if woke_itself {
            WOKE_ITSELF
        } else {
            wait.to_bits()
        };
        self.wait.store(bits);
    }

    pub(crate) fn read(&self) -> Seen {
        let stamps = self.stamps.load();
        let last = stamps as u32;
        let wait = self.wait.load();
        let woke_itself = wait == WOKE_ITSELF;
        Seen {
            spawned: Millis((stamps >> 32) as u32),
            last_poll: (last != 0).then_some(Millis(last)),
            wait: WaitOn::from_bits(if woke_itself { 0 } else { wait }),
            woke_itself,
        }
    }
}

/// Everything the dump and the detector read of one live task.
#[derive(Clone, Debug)]
pub(crate) struct TaskView {
    pub(crate) id: Id,
    pub(crate) name: Option<Arc<String>>,
    pub(crate) location: &'static Location<'static>,
    /// The future's type name.
    pub(crate) type_name: &'static str,
    pub(crate) state: Snapshot,
    pub(crate) seen: Seen,
}

impl Header {
    /// What can be read of this task now. The caller holds a reference to
    /// it, or a lock that keeps it alive (the owned list's).
    pub(crate) fn view(&self) -> TaskView {
        // SAFETY: the header is live (the caller's reference or lock), and
        // the vtable is the cell's own; the origin is never written after
        // the cell is made, and lives as long as the cell.
        let origin = unsafe { (self.vtable.origin)(NonNull::from(self)).as_ref() };
        TaskView {
            id: self.id,
            name: origin.name().cloned(),
            location: origin.location(),
            type_name: (self.vtable.type_name)(),
            state: self.state.load(),
            seen: self.activity.read(),
        }
    }
}
