//! What a task has been doing, for the task dump and the slow-poll
//! detector: how many times it was polled, when it was last polled (by the
//! coarse clock), and what its last poll was left waiting on.
//!
//! Invariants: only the thread holding the task's `RUNNING` bit writes
//! these words (at the start and end of a poll), so each write is a plain
//! load and store, not a read-modify-write; readers (a dump, on any thread)
//! use relaxed loads and may see a value one poll old, never a torn word.
//! Nothing here orders anything else (so the words are `Stat`s, which
//! loom does not model).

use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;

use super::layout::Header;
use super::state::Snapshot;
use super::Id;
use weft_base::coarse::{self, Millis};
use weft_base::loom::Stat;
use weft_base::wait::WaitOn;

/// The poll count's half of `Activity::polls`, and one poll in it.
const COUNT: u64 = !0 << 32;
const ONE_POLL: u64 = 1 << 32;

/// A task's activity words; lives in the task header.
pub(crate) struct Activity {
    /// Polls so far (high half) and the coarse time the last began (low).
    polls: Stat,
    /// What the last poll that returned `Pending` noted (`WaitOn` bits).
    wait: Stat,
}

/// A reading of [`Activity`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub(crate) polls: u32,
    /// When the last poll began; `None` before the first.
    pub(crate) last_poll: Option<Millis>,
    pub(crate) wait: WaitOn,
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            polls: Stat::new(0),
            wait: Stat::new(0),
        }
    }

    /// A poll begins (called with `RUNNING` held). The count wraps after
    /// 2^32 polls, which only a dump of such a task would show.
    #[inline]
    pub(crate) fn poll_started(&self) {
        let polls = self.polls.load() & COUNT;
        let now = u64::from(coarse::now().0);
        self.polls.store(polls.wrapping_add(ONE_POLL) | now);
    }

    /// A poll returned `Pending`, having noted `wait` (with `RUNNING` held).
    #[inline]
    pub(crate) fn poll_pending(&self, wait: WaitOn) {
        self.wait.store(wait.to_bits());
    }

    pub(crate) fn read(&self) -> Seen {
        let polls = self.polls.load();
        let count = (polls >> 32) as u32;
        Seen {
            polls: count,
            last_poll: (count > 0).then_some(Millis(polls as u32)),
            wait: WaitOn::from_bits(self.wait.load()),
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
    pub(crate) spawned: Millis,
    pub(crate) state: Snapshot,
    pub(crate) seen: Seen,
}

impl Header {
    /// What can be read of this task now. The caller holds a reference to
    /// it, or a lock that keeps it alive (the owned list's).
    pub(crate) fn view(&self) -> TaskView {
        // SAFETY: the header is live (the caller's reference or lock), and
        // the vtable is the cell's own; the meta is never written after the
        // cell is made, and lives as long as the cell.
        let meta = unsafe { (self.vtable.meta)(NonNull::from(self)).as_ref() };
        TaskView {
            id: self.id,
            name: meta.name.clone(),
            location: meta.location,
            type_name: (self.vtable.type_name)(),
            spawned: meta.spawned,
            state: self.state.load(),
            seen: self.activity.read(),
        }
    }
}
