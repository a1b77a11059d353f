//! The task state word: lifecycle bits and a reference count in one atomic.
//!
//! Bits, low to high:
//! - `RUNNING`: a thread owns the future (polling or cancelling it), or a
//!   carried queue entry does (`raw.rs`: the task woke itself during a poll,
//!   which queued it without clearing the bit). Only the owner may touch the
//!   stage.
//! - `COMPLETE`: the future is gone and the output (or the error) is stored.
//! - `NOTIFIED`: the task is in a plain queue entry, or must be polled again
//!   after the running poll (or the carried entry's next poll) begins. At
//!   most one queue entry exists at a time: only the transition that sets
//!   `NOTIFIED` on an idle task pushes a plain one, and only the owner of
//!   `RUNNING` a carried one.
//! - `JOIN_INTEREST`: a `JoinHandle` exists and will read the output.
//! - `JOIN_WAKER`: the join waker slot holds a waker that the runtime owns; the
//!   handle may only write the slot while this bit is clear.
//! - `CANCELLED`: abort or shutdown was requested; the next owner cancels.
//! - the rest: the reference count. References are held by the owned-tasks
//!   list, the `JoinHandle`, each queue entry and each waker.
//!
//! Every transition is a single CAS loop (or one `fetch_*`) that returns what
//! the caller must now do; nothing else writes the word. A task that wakes
//! itself on the polling thread skips two: the waker only notes it
//! (`weft_base::context`), the poll ends without a transition (its entry
//! carries `RUNNING`), and the next begins with a load
//! ([`State::resume_carried`]) unless a wake or an abort came meanwhile.

use weft_base::loom::{AtomicUsize, Ordering::*};

const RUNNING: usize = 1;
const COMPLETE: usize = 1 << 1;
const NOTIFIED: usize = 1 << 2;
const JOIN_INTEREST: usize = 1 << 3;
const JOIN_WAKER: usize = 1 << 4;
const CANCELLED: usize = 1 << 5;
const LIFECYCLE: usize = RUNNING | COMPLETE;
const REF_SHIFT: u32 = 6;
const REF_ONE: usize = 1 << REF_SHIFT;

/// A new task: referenced by the owned list, the `JoinHandle` and its first
/// queue entry; notified because that entry is about to be pushed.
const INITIAL: usize = (3 * REF_ONE) | JOIN_INTEREST | NOTIFIED;

pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the word at one instant.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

/// What the thread that popped a task from a queue must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// It owns the future: poll it.
    Success,
    /// It owns the future and must cancel it.
    Cancelled,
    /// Someone else owns or finished it: the queue entry's reference was dropped.
    Failed,
    /// As `Failed`, and that was the last reference.
    Dealloc,
}

/// What the thread that polled a task to `Pending` must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Done: the poll's reference was dropped.
    Ok,
    /// Woken during the poll: queue it again, moving the poll's reference.
    OkNotified,
    /// The poll's reference was the last one.
    OkDealloc,
    /// Cancelled during the poll: the poller still owns it and must cancel it.
    Cancelled,
}

/// What a waker (or an abort) must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToNotified {
    /// Push one queue entry; its reference is already counted.
    Submit,
    /// Nothing to do.
    DoNothing,
}

/// What dropping the `JoinHandle` leaves to the handle.
pub(crate) struct JoinHandleDrop {
    pub(crate) drop_waker: bool,
    pub(crate) drop_output: bool,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// The word, read through exclusive access (the cell is being freed):
    /// no atomic operation, so no scheduling point for loom either.
    pub(crate) fn get_mut(&mut self) -> Snapshot {
        #[cfg(not(loom))]
        let word = *self.val.get_mut();
        #[cfg(loom)]
        let word = self.val.with_mut(|word| *word);
        Snapshot(word)
    }

    fn fetch_update<T>(&self, mut f: impl FnMut(Snapshot) -> (Option<Snapshot>, T)) -> T {
        let mut curr = self.load();
        loop {
            let (next, out) = f(curr);
            let Some(next) = next else { return out };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return out,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Called with the reference of the queue entry that was just popped.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_notified());
            let mut next = curr;
            if !curr.is_idle() {
                next.ref_dec();
                let action = if next.ref_count() == 0 {
                    ToRunning::Dealloc
                } else {
                    ToRunning::Failed
                };
                return (Some(next), action);
            }
            next.0 |= RUNNING;
            next.0 &= !NOTIFIED;
            let action = if next.is_cancelled() {
                ToRunning::Cancelled
            } else {
                ToRunning::Success
            };
            (Some(next), action)
        })
    }

    /// Called with a carried entry just popped, which holds `RUNNING`: the
    /// word is written only if a wake or an abort came since the poll that
    /// carried it (a wake from now on is seen when this poll ends).
    pub(crate) fn resume_carried(&self) -> ToRunning {
        let mut curr = self.load();
        debug_assert!(curr.is_running());
        if curr.is_notified() {
            curr = Snapshot(self.val.fetch_and(!NOTIFIED, AcqRel));
        }
        if curr.is_cancelled() {
            ToRunning::Cancelled
        } else {
            ToRunning::Success
        }
    }

    /// A carried entry is dropped unrun: its holder owns the task and
    /// cancels it.
    pub(crate) fn cancel_carried(&self) {
        let prev = Snapshot(self.val.fetch_or(CANCELLED, AcqRel));
        debug_assert!(prev.is_running());
    }

    /// Called by the poller, holding the poll's reference, after `Pending`;
    /// `woke_itself`: the task woke itself during the poll, on the polling
    /// thread, which set no bit here (its waker left that to this call).
    pub(crate) fn transition_to_idle(&self, woke_itself: bool) -> ToIdle {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_running());
            if curr.is_cancelled() {
                return (None, ToIdle::Cancelled);
            }
            let mut next = curr;
            next.0 &= !RUNNING;
            if woke_itself {
                next.0 |= NOTIFIED;
            }
            let action = if next.is_notified() {
                ToIdle::OkNotified
            } else {
                next.ref_dec();
                if next.ref_count() == 0 {
                    ToIdle::OkDealloc
                } else {
                    ToIdle::Ok
                }
            };
            (Some(next), action)
        })
    }

    /// RUNNING -> COMPLETE. Returns the word as it was just before.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running());
        debug_assert!(!prev.is_complete());
        prev
    }

    /// Drops `count` references after completion; true when the task must be freed.
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        assert!(
            prev.ref_count() >= count,
            "task reference count underflow: {} < {count}",
            prev.ref_count()
        );
        prev.ref_count() == count
    }

    /// A waker wakes its task (by value wakes go through here too, then drop
    /// their reference).
    pub(crate) fn transition_to_notified_by_ref(&self) -> ToNotified {
        self.fetch_update(|curr| {
            let mut next = curr;
            if curr.is_complete() || curr.is_notified() {
                return (None, ToNotified::DoNothing);
            }
            next.0 |= NOTIFIED;
            if curr.is_running() {
                (Some(next), ToNotified::DoNothing)
            } else {
                next.ref_inc();
                (Some(next), ToNotified::Submit)
            }
        })
    }

    /// Abort from any thread: mark cancelled and make sure some thread that
    /// may own the future will look at it.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> ToNotified {
        self.fetch_update(|curr| {
            if curr.is_cancelled() || curr.is_complete() {
                return (None, ToNotified::DoNothing);
            }
            let mut next = curr;
            next.0 |= CANCELLED;
            if curr.is_running() || curr.is_notified() {
                // The poller, or the thread that pops the entry, will see it.
                next.0 |= NOTIFIED;
                (Some(next), ToNotified::DoNothing)
            } else {
                next.0 |= NOTIFIED;
                next.ref_inc();
                (Some(next), ToNotified::Submit)
            }
        })
    }

    /// Shutdown: mark cancelled and take ownership if nobody has it.
    /// True when the caller now owns the future and must cancel it.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.fetch_update(|curr| {
            let mut next = curr;
            next.0 |= CANCELLED;
            let owned = curr.is_idle();
            if owned {
                next.0 |= RUNNING;
            }
            (Some(next), owned)
        })
    }

    /// Fast path of dropping a `JoinHandle` of a task that has not run yet.
    pub(crate) fn drop_join_handle_fast(&self) -> bool {
        self.val
            .compare_exchange(INITIAL, INITIAL - REF_ONE - JOIN_INTEREST, AcqRel, Acquire)
            .is_ok()
    }

    pub(crate) fn transition_to_join_handle_dropped(&self) -> JoinHandleDrop {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested());
            let mut next = curr;
            next.0 &= !JOIN_INTEREST;
            if !curr.is_complete() {
                // Not complete: the runtime will never touch the join waker,
                // so the handle takes it back.
                next.0 &= !JOIN_WAKER;
            }
            let out = JoinHandleDrop {
                drop_waker: !next.is_join_waker_set(),
                drop_output: curr.is_complete(),
            };
            (Some(next), out)
        })
    }

    /// The handle stored a waker in the slot and hands it to the runtime.
    /// Fails (returning the word) if the task completed meanwhile.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested());
            debug_assert!(!curr.is_join_waker_set());
            if curr.is_complete() {
                return (None, Err(curr));
            }
            let next = Snapshot(curr.0 | JOIN_WAKER);
            (Some(next), Ok(next))
        })
    }

    /// The handle takes the slot back to change the waker.
    /// Fails (returning the word) if the task completed meanwhile.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            debug_assert!(curr.is_join_interested());
            debug_assert!(curr.is_join_waker_set());
            if curr.is_complete() {
                return (None, Err(curr));
            }
            let next = Snapshot(curr.0 & !JOIN_WAKER);
            (Some(next), Ok(next))
        })
    }

    /// After waking the join waker, the runtime gives the slot back.
    /// Returns the word as it was before, so the caller can see whether the
    /// handle is gone (then the runtime drops the waker itself).
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete());
        debug_assert!(prev.is_join_waker_set());
        prev
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        // A count this large can only come from leaked wakers: stop before it
        // wraps into the flag bits.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// True when this was the last reference.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        assert!(prev.ref_count() >= 1, "task reference count underflow");
        prev.ref_count() == 1
    }
}

impl Snapshot {
    pub(crate) fn is_idle(self) -> bool {
        self.0 & LIFECYCLE == 0
    }
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
    fn ref_inc(&mut self) {
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        debug_assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wake_while_running_requeues_after_poll() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_idle(false), ToIdle::OkNotified);
        assert!(s.load().is_notified());
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn a_poll_that_woke_itself_requeues_with_the_polls_reference() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_idle(true), ToIdle::OkNotified);
        assert!(s.load().is_notified() && s.load().is_idle());
        assert_eq!(s.load().ref_count(), 3);
        assert_eq!(s.transition_to_running(), ToRunning::Success);
    }

    #[test]
    fn a_poll_that_woke_itself_and_was_aborted_is_cancelled() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_idle(true), ToIdle::Cancelled);
    }

    #[test]
    fn wake_while_queued_pushes_nothing() {
        let s = State::new();
        s.ref_inc(); // a waker
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.load().ref_count(), 4);
    }

    #[test]
    fn wake_while_idle_submits_once() {
        let s = State::new();
        s.ref_inc(); // a waker
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_idle(false), ToIdle::Ok);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::Submit);
        assert_eq!(s.transition_to_notified_by_ref(), ToNotified::DoNothing);
        assert_eq!(s.load().ref_count(), 4);
    }

    #[test]
    fn abort_while_running_is_seen_at_idle() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::DoNothing);
        assert_eq!(s.transition_to_idle(false), ToIdle::Cancelled);
    }

    #[test]
    fn shutdown_of_queued_task_makes_the_pop_fail() {
        let s = State::new();
        assert!(s.transition_to_shutdown());
        s.transition_to_complete();
        assert_eq!(s.transition_to_running(), ToRunning::Failed);
    }

    #[test]
    fn abort_of_a_queued_task_adds_no_queue_entry() {
        let s = State::new();
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::DoNothing);
        let word = s.load();
        assert!(word.is_cancelled() && word.is_notified());
        assert_eq!(word.ref_count(), 3, "the queued entry will see it");
        assert_eq!(s.transition_to_running(), ToRunning::Cancelled);
    }

    #[test]
    fn abort_of_a_finished_task_does_nothing() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        s.transition_to_complete();
        let before = s.load();
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::DoNothing);
        assert_eq!(s.load(), before, "no queue entry, no reference, no mark");
    }

    #[test]
    fn abort_of_an_idle_task_queues_it_once() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert_eq!(s.transition_to_idle(false), ToIdle::Ok);
        assert_eq!(s.load().ref_count(), 2);
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::Submit);
        assert_eq!(s.load().ref_count(), 3, "the new entry's reference");
        assert_eq!(s.transition_to_notified_and_cancel(), ToNotified::DoNothing);
        assert_eq!(s.load().ref_count(), 3);
    }

    #[test]
    fn the_fast_join_handle_drop_works_only_on_an_untouched_task() {
        let s = State::new();
        assert!(s.drop_join_handle_fast());
        let word = s.load();
        assert!(!word.is_join_interested() && !word.is_join_waker_set());
        assert!(word.is_notified() && word.is_idle() && !word.is_cancelled());
        assert_eq!(
            word.ref_count(),
            2,
            "the owned list's and the queue entry's"
        );

        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        assert!(
            !s.drop_join_handle_fast(),
            "it has run: the slow path decides"
        );
        assert!(s.load().is_join_interested());
    }

    #[test]
    fn the_join_waker_slot_changes_hands_until_completion() {
        let s = State::new();
        let set = s.set_join_waker().expect("not complete");
        assert!(set.is_join_waker_set() && set.is_join_interested());
        let unset = s.unset_join_waker().expect("not complete");
        assert!(!unset.is_join_waker_set(), "the handle owns the slot again");
        assert!(unset.is_join_interested() && unset.is_notified());
        assert_eq!(unset.ref_count(), 3);
        assert_eq!(s.load(), unset);

        s.set_join_waker().expect("not complete");
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        let before = s.transition_to_complete();
        assert!(before.is_join_waker_set());
        let err = s
            .unset_join_waker()
            .expect_err("complete: the runtime owns the slot");
        assert!(err.is_complete() && err.is_join_waker_set());
        let prev = s.unset_waker_after_complete();
        assert!(prev.is_join_waker_set());
        assert!(!s.load().is_join_waker_set());
    }

    #[test]
    fn a_snapshot_prints_its_bits_and_count() {
        let s = State::new();
        let printed = format!("{:?}", s.load());
        assert_eq!(
            printed,
            "Snapshot { running: false, complete: false, notified: true, cancelled: false, \
             join_interest: true, join_waker: false, refs: 3 }"
        );
    }

    #[test]
    fn join_handle_drop_after_complete_drops_output() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), ToRunning::Success);
        s.transition_to_complete();
        let d = s.transition_to_join_handle_dropped();
        assert!(d.drop_output);
        assert!(d.drop_waker);
    }
}
