//! The join waker slot: the waker of whoever awaits a task's `JoinHandle`,
//! kept in the task's cell, in one word.
//!
//! A `Waker` is two words, and a second word would put the cell of a small
//! future in the next glibc size class (`layout.rs` has the test). Most
//! handles are awaited by weft tasks, whose wakers are the task header and
//! `waker.rs`'s vtable, so the slot keeps such a waker as the header
//! pointer alone; any other waker is boxed, and the pointer's low bit tells
//! the two apart.
//!
//! Invariants: `None` is empty; a pointer with the low bit clear is a task
//! header, and the slot owns one reference to that task (the cloned
//! waker's, forgotten); with the bit set it is a `Box<Waker>` the slot
//! owns. Headers and boxed wakers are aligned to at least 2, so the bit is
//! free (`low_bit.rs`).

use std::ptr::NonNull;
use std::task::Waker;

use super::layout::Header;
use super::low_bit;
use super::raw::RawTask;
use super::waker::{as_task, waker_ref};

// The low bit is free (`low_bit.rs`).
const _: () = assert!(std::mem::align_of::<Header>() > 1);
const _: () = assert!(std::mem::align_of::<Waker>() > 1);

/// One waker or none, in a word: see the module doc.
pub(crate) struct JoinWaker(Option<NonNull<()>>);

/// What the slot holds, borrowed.
enum Held<'a> {
    /// A task, through the reference the slot owns.
    Task(NonNull<Header>),
    Boxed(&'a Waker),
}

impl JoinWaker {
    pub(crate) const fn empty() -> JoinWaker {
        JoinWaker(None)
    }

    /// Stores a clone of `waker`, dropping what the slot held.
    pub(crate) fn set(&mut self, waker: &Waker) {
        self.clear();
        let waker = waker.clone();
        self.0 = Some(match as_task(&waker) {
            Some(header) => {
                // The clone's reference is the slot's now.
                std::mem::forget(waker);
                header.cast()
            }
            None => low_bit::set(NonNull::from(Box::leak(Box::new(waker))).cast()),
        });
    }

    /// Empties the slot, dropping the waker it held.
    pub(crate) fn clear(&mut self) {
        let Some(ptr) = self.0.take() else { return };
        match untag(ptr) {
            // SAFETY: the slot owned this reference (module invariant), and
            // gives it up here, once.
            None => unsafe { RawTask::from_raw(ptr.cast()) }.drop_reference(),
            // SAFETY: the slot owned this box (made by `Box::leak` in `set`,
            // whose unique pointer this is), freed here, once.
            Some(boxed) => drop(unsafe { Box::from_raw(boxed.as_ptr()) }),
        }
    }

    /// Whether waking the slot would wake the same task as `waker`; false
    /// when empty.
    pub(crate) fn will_wake(&self, waker: &Waker) -> bool {
        match self.held() {
            None => false,
            Some(Held::Task(header)) => as_task(waker) == Some(header),
            Some(Held::Boxed(stored)) => stored.will_wake(waker),
        }
    }

    /// Wakes the waker held, which stays in the slot.
    pub(crate) fn wake_by_ref(&self) {
        match self.held() {
            None => debug_assert!(false, "waking an empty join waker slot"),
            // SAFETY: the slot's own reference keeps the task alive while
            // the borrowed waker is used.
            Some(Held::Task(header)) => unsafe { waker_ref(header) }.wake_by_ref(),
            Some(Held::Boxed(waker)) => waker.wake_by_ref(),
        }
    }

    fn held(&self) -> Option<Held<'_>> {
        let ptr = self.0?;
        Some(match untag(ptr) {
            None => Held::Task(ptr.cast()),
            // SAFETY: the slot's box (module invariant), alive until `clear`,
            // which needs `&mut self` and so ends this borrow first.
            Some(boxed) => Held::Boxed(unsafe { boxed.as_ref() }),
        })
    }
}

/// The box a tagged pointer points to, or `None` for a task header.
fn untag(ptr: NonNull<()>) -> Option<NonNull<Waker>> {
    low_bit::is_set(ptr).then(|| low_bit::clear(ptr).cast())
}

impl Drop for JoinWaker {
    fn drop(&mut self) {
        self.clear();
    }
}
