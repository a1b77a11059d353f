//! The intrusive waiter list every blocking primitive queues on.
//!
//! A [`Waiter`] lives inside a pinned wait future (an `Acquire`, a
//! `Notified`); a [`WaitList`] lives inside the primitive's mutex. Waiting
//! therefore allocates nothing: the list only links nodes the futures own.
//!
//! Invariants (the proof obligations of this module):
//!
//! - Every pointer reachable from a list (its `head`/`tail` and the
//!   `prev`/`next` of its nodes) points at a live, pinned [`Waiter`] that is
//!   linked into *that* list.
//! - A linked node is read and written only by a holder of `&mut WaitList`,
//!   which the primitives obtain only through their mutex: the list's lock is
//!   the node's lock.
//! - A node's owner keeps it alive until it has seen, under the lock, that
//!   the node is unlinked, or has seen its `served` flag set; that is the
//!   contract of [`WaitList::push_back`]. The waker side pops nodes it hands
//!   a permit or wakeup to, and sets `served` (Release) as its very last
//!   touch of the node: an owner that reads it set (Acquire) owns the node
//!   again, with no lock, and knows it was served. A cancelled owner unlinks
//!   itself with [`WaitList::remove`].
//! - A primitive may also let waiters queue without its lock, on a stack of
//!   arrivals in an atomic word of its own ([`Waiter::prepare_push`]); a
//!   lock holder takes the stack whole and links it
//!   ([`WaitList::append_stack`]). A stacked node counts as linked into the
//!   list, and lock holders take the stack in before touching the list.
//!
//! All node access goes through the shim's `UnsafeCell`, so loom checks it.

use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;

use weft_base::loom::{AtomicBool, Ordering, UnsafeCell};

/// A node of a [`WaitList`], embedded in (and pinned with) a wait future.
pub(crate) struct Waiter<T> {
    node: UnsafeCell<Node<T>>,
    /// Set by a pop, after its last access to the node (see module doc).
    /// Outside the cell: the owner reads it without the lock.
    served: AtomicBool,
    /// Linked nodes are pointed at: they must never move.
    _pin: PhantomPinned,
}

struct Node<T> {
    prev: Option<NonNull<Waiter<T>>>,
    next: Option<NonNull<Waiter<T>>>,
    linked: bool,
    value: T,
}

// SAFETY: a `Waiter` is a `T` plus links that are only followed under the
// list's lock (module invariants), so it may move between threads with its `T`.
unsafe impl<T: Send> Send for Waiter<T> {}
// SAFETY: through `&Waiter` the node is reached only under the list's lock
// (or by the sole owner before it is linked), so shared references to it
// across threads never touch the node concurrently.
unsafe impl<T: Send> Sync for Waiter<T> {}

impl<T> Waiter<T> {
    /// An unlinked node holding `value`.
    pub(crate) fn new(value: T) -> Waiter<T> {
        Waiter {
            node: UnsafeCell::new(Node {
                prev: None,
                next: None,
                linked: false,
                value,
            }),
            served: AtomicBool::new(false),
            _pin: PhantomPinned,
        }
    }

    /// Runs `f` on the node's value.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the list this waiter is or may be linked
    /// into (`list` is that list, borrowed through the lock's guard), or the
    /// waiter has never been linked and the caller owns it.
    pub(crate) unsafe fn with_value<R>(
        self: Pin<&Self>,
        _list: &mut WaitList<T>,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        // SAFETY: the caller holds the lock that guards this node (or owns an
        // unlinked node), so no other reference to the node exists now.
        self.node.with_mut(|node| f(unsafe { &mut (*node).value }))
    }

    /// Whether a pop has handed this waiter over and is done with it. Once
    /// true, the node is unlinked and nobody but the owner touches it.
    pub(crate) fn is_served(self: Pin<&Self>) -> bool {
        self.served.load(Ordering::Acquire)
    }

    /// Runs `f` on the node's value without the lock.
    ///
    /// # Safety
    ///
    /// [`Waiter::is_served`] returned true since the waiter was last linked
    /// (or it was never linked), and the caller owns the waiter.
    pub(crate) unsafe fn with_value_served<R>(self: Pin<&Self>, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: served: the pop that unlinked it is done with the node
        // (its Release store, our Acquire load), so we are its only user.
        self.node.with_mut(|node| f(unsafe { &mut (*node).value }))
    }

    /// Readies an unlinked waiter to be pushed, without the lock, onto a
    /// stack of arrivals whose top is `next` (a primitive's atomic word; see
    /// [`WaitList::append_stack`]). From here on the waiter counts as linked:
    /// the caller either publishes it with a Release CAS of that word, or
    /// calls [`Waiter::withdraw_push`] before giving up.
    ///
    /// # Safety
    ///
    /// The waiter is not linked, and the caller owns it (as for
    /// [`Waiter::with_value_served`]). Once published, the waiter is under
    /// [`WaitList::push_back`]'s contract for the list the stack drains into.
    pub(crate) unsafe fn prepare_push(self: Pin<&Self>, next: Option<NonNull<Waiter<T>>>) {
        // Only the owner reads it, and the node is not shared yet.
        self.served.store(false, Ordering::Relaxed);
        // SAFETY: unlinked and ours (caller's contract): nobody else can
        // reach the node until the caller publishes it.
        self.node.with_mut(|node| unsafe {
            assert!(!(*node).linked, "a waiter was linked twice");
            (*node).prev = None;
            (*node).next = next;
            (*node).linked = true;
        });
    }

    /// Undoes [`Waiter::prepare_push`] for a waiter that was not published.
    ///
    /// # Safety
    ///
    /// `prepare_push` was called and its CAS failed, so nobody else has seen
    /// the waiter.
    pub(crate) unsafe fn withdraw_push(self: Pin<&Self>) {
        // SAFETY: unpublished, so still ours alone.
        self.node.with_mut(|node| unsafe { (*node).linked = false });
    }

    /// Whether the waiter is in a list.
    ///
    /// # Safety
    ///
    /// As for [`Waiter::with_value`].
    pub(crate) unsafe fn is_linked(self: Pin<&Self>, _list: &mut WaitList<T>) -> bool {
        // SAFETY: as in `with_value`: the caller holds the node's lock.
        self.node.with(|node| unsafe { (*node).linked })
    }
}

impl<T> Drop for Waiter<T> {
    fn drop(&mut self) {
        // A linked node being freed would leave the list pointing at freed
        // memory: the owner broke `push_back`'s contract. Nothing sound can
        // follow, so stop here rather than corrupt memory.
        let linked = self.node.get_mut().linked;
        if linked {
            eprintln!("weft-sync: a linked waiter was dropped; aborting");
            std::process::abort();
        }
    }
}

/// A FIFO of [`Waiter`]s; lives inside the primitive's mutex.
pub(crate) struct WaitList<T> {
    head: Option<NonNull<Waiter<T>>>,
    tail: Option<NonNull<Waiter<T>>>,
    len: usize,
}

// SAFETY: the list only holds pointers to `Waiter<T>`s, which are `Send` when
// `T` is; the list is reached through its mutex only.
unsafe impl<T: Send> Send for WaitList<T> {}
// SAFETY: `&WaitList` gives no access to any node (every node method needs
// `&mut WaitList`), so sharing it is harmless.
unsafe impl<T: Send> Sync for WaitList<T> {}

impl<T> WaitList<T> {
    /// An empty list.
    pub(crate) const fn new() -> WaitList<T> {
        WaitList {
            head: None,
            tail: None,
            len: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Runs `f` on the node behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is reachable from this list (so it is live and guarded by the
    /// lock `&mut self` proves is held) or is a pinned waiter the caller is
    /// linking now.
    unsafe fn node<R>(&mut self, ptr: NonNull<Waiter<T>>, f: impl FnOnce(&mut Node<T>) -> R) -> R {
        // SAFETY: by this function's contract the waiter is live and only
        // reached under the lock we hold.
        let waiter = unsafe { ptr.as_ref() };
        // SAFETY: as above: no other reference to the node exists now.
        waiter.node.with_mut(|node| f(unsafe { &mut *node }))
    }

    /// Links `waiter` at the back.
    ///
    /// # Safety
    ///
    /// `waiter` is not linked into any list, and it stays valid (pinned,
    /// not dropped) until its owner has seen, under this list's lock, that
    /// it is unlinked again ([`WaitList::remove`] returning, or
    /// [`Waiter::is_linked`] being false). Every access to it while linked
    /// happens under this list's lock.
    pub(crate) unsafe fn push_back(&mut self, waiter: Pin<&Waiter<T>>) {
        let ptr = NonNull::from(&*waiter);
        let tail = self.tail;
        // Only the owner reads it, and the owner is linking it now.
        waiter.served.store(false, Ordering::Relaxed);
        // SAFETY: the caller hands us a pinned waiter it keeps alive.
        unsafe {
            self.node(ptr, |node| {
                assert!(!node.linked, "a waiter was linked twice");
                node.prev = tail;
                node.next = None;
                node.linked = true;
            });
        }
        match tail {
            // SAFETY: `tail` is reachable from this list.
            Some(tail) => unsafe { self.node(tail, |node| node.next = Some(ptr)) },
            None => self.head = Some(ptr),
        }
        self.tail = Some(ptr);
        self.len += 1;
    }

    /// Links a stack of arrivals at the back, oldest first: `top` is the
    /// newest waiter, and each one's `next` (from
    /// [`Waiter::prepare_push`]) the one pushed before it.
    ///
    /// # Safety
    ///
    /// The caller took the stack whole from its atomic word (with Acquire,
    /// after the pushers' Release), under this list's lock, so the waiters
    /// on it are now this list's and nobody else walks the stack.
    pub(crate) unsafe fn append_stack(&mut self, top: NonNull<Waiter<T>>) {
        // Reverse the chain in place, then link it oldest first.
        let mut oldest_first = None;
        let mut cur = Some(top);
        while let Some(ptr) = cur {
            // SAFETY: a stacked waiter is this list's (caller's contract).
            cur = unsafe { self.node(ptr, |node| std::mem::replace(&mut node.next, oldest_first)) };
            oldest_first = Some(ptr);
        }
        while let Some(ptr) = oldest_first {
            let tail = self.tail;
            // SAFETY: as above.
            oldest_first = unsafe {
                self.node(ptr, |node| {
                    node.prev = tail;
                    node.next.take()
                })
            };
            match tail {
                // SAFETY: `tail` is reachable from this list.
                Some(tail) => unsafe { self.node(tail, |node| node.next = Some(ptr)) },
                None => self.head = Some(ptr),
            }
            self.tail = Some(ptr);
            self.len += 1;
        }
    }

    /// Unlinks `ptr`, which is linked into this list.
    ///
    /// # Safety
    ///
    /// `ptr` is reachable from this list.
    unsafe fn unlink(&mut self, ptr: NonNull<Waiter<T>>) {
        // SAFETY: `ptr` is reachable from this list (caller's contract).
        let (prev, next) = unsafe {
            self.node(ptr, |node| {
                node.linked = false;
                (node.prev.take(), node.next.take())
            })
        };
        match prev {
            // SAFETY: the neighbours of a linked node are linked here too.
            Some(prev) => unsafe { self.node(prev, |node| node.next = next) },
            None => self.head = next,
        }
        match next {
            // SAFETY: as above.
            Some(next) => unsafe { self.node(next, |node| node.prev = prev) },
            None => self.tail = prev,
        }
        self.len -= 1;
    }

    /// Runs `f` on the front waiter's value, leaving it linked.
    pub(crate) fn front_with<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let head = self.head?;
        // SAFETY: `head` is reachable from this list.
        Some(unsafe { self.node(head, |node| f(&mut node.value)) })
    }

    /// Unlinks the front waiter and runs `f` on its value. The node stays
    /// valid during `f`: its owner cannot see it unlinked before the lock
    /// (the `&mut self` borrow) is released.
    pub(crate) fn pop_front_with<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let head = self.head?;
        // SAFETY: `head` is reachable from this list; after unlinking, the
        // owner still waits for our lock or our `served` store before it may
        // free the node.
        unsafe {
            self.unlink(head);
            let out = self.node(head, |node| f(&mut node.value));
            Self::mark_served(head);
            Some(out)
        }
    }

    /// Unlinks the back waiter and runs `f` on its value (see
    /// [`WaitList::pop_front_with`]).
    pub(crate) fn pop_back_with<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let tail = self.tail?;
        // SAFETY: as in `pop_front_with`.
        unsafe {
            self.unlink(tail);
            let out = self.node(tail, |node| f(&mut node.value));
            Self::mark_served(tail);
            Some(out)
        }
    }

    /// Hands a popped node back to its owner: our last touch of it.
    ///
    /// # Safety
    ///
    /// `ptr` was just unlinked by this list's pop, under the lock.
    unsafe fn mark_served(ptr: NonNull<Waiter<T>>) {
        // SAFETY: the owner keeps the waiter alive until it sees this store
        // (or our lock); after it, we never touch `ptr` again.
        unsafe { ptr.as_ref() }
            .served
            .store(true, Ordering::Release);
    }

    /// Unlinks `waiter` if it is linked; true when it was.
    ///
    /// # Safety
    ///
    /// If `waiter` is linked, it is linked into this list.
    pub(crate) unsafe fn remove(&mut self, waiter: Pin<&Waiter<T>>) -> bool {
        let ptr = NonNull::from(&*waiter);
        // SAFETY: we hold the lock guarding the waiter's node (caller).
        let linked = unsafe { self.node(ptr, |node| node.linked) };
        if linked {
            // SAFETY: linked, hence (caller's contract) linked here.
            unsafe { self.unlink(ptr) };
        }
        linked
    }
}

impl<T> Drop for WaitList<T> {
    fn drop(&mut self) {
        // Every wait future borrows (or holds an `Arc` to) its primitive, so
        // a list is only dropped once no future can be linked into it.
        debug_assert!(self.is_empty(), "a wait list was dropped with waiters");
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn pinned(v: u32) -> Pin<Box<Waiter<u32>>> {
        Box::pin(Waiter::new(v))
    }

    #[test]
    fn fifo_order_and_len() {
        let (a, b, c) = (pinned(1), pinned(2), pinned(3));
        let mut list = WaitList::new();
        // SAFETY: the boxes outlive the list's use of them; all are popped.
        unsafe {
            list.push_back(a.as_ref());
            list.push_back(b.as_ref());
            list.push_back(c.as_ref());
        }
        assert_eq!(list.len(), 3);
        assert_eq!(list.front_with(|v| *v), Some(1));
        assert_eq!(list.pop_front_with(|v| *v), Some(1));
        assert_eq!(list.pop_back_with(|v| *v), Some(3));
        assert_eq!(list.pop_front_with(|v| *v), Some(2));
        assert_eq!(list.pop_front_with(|v| *v), None);
        assert!(list.is_empty());
    }

    #[test]
    fn a_stack_of_arrivals_joins_the_back_oldest_first() {
        let nodes = [pinned(0), pinned(1), pinned(2), pinned(3)];
        let mut list = WaitList::new();
        // SAFETY: `nodes` outlives the list's use of them; the stack is
        // built and handed over on this thread (no atomic word needed).
        unsafe {
            list.push_back(nodes[0].as_ref());
            nodes[1].as_ref().prepare_push(None);
            nodes[2]
                .as_ref()
                .prepare_push(Some(NonNull::from(&*nodes[1])));
            nodes[3]
                .as_ref()
                .prepare_push(Some(NonNull::from(&*nodes[2])));
            list.append_stack(NonNull::from(&*nodes[3]));
        }
        assert_eq!(list.len(), 4);
        // Linked both ways: a removal from the middle keeps the order.
        // SAFETY: linked into `list`.
        assert!(unsafe { list.remove(nodes[2].as_ref()) });
        assert_eq!(list.pop_back_with(|v| *v), Some(3));
        assert_eq!(list.pop_front_with(|v| *v), Some(0));
        assert_eq!(list.pop_front_with(|v| *v), Some(1));
        assert!(list.is_empty());
    }

    #[test]
    fn remove_from_every_position() {
        for victim in 0..3 {
            let nodes = [pinned(0), pinned(1), pinned(2)];
            let mut list = WaitList::new();
            for n in &nodes {
                // SAFETY: `nodes` outlives the list's use of them.
                unsafe { list.push_back(n.as_ref()) };
            }
            // SAFETY: linked (if at all) into `list`.
            assert!(unsafe { list.remove(nodes[victim].as_ref()) });
            // SAFETY: as above; a second remove is a no-op.
            assert!(!unsafe { list.remove(nodes[victim].as_ref()) });
            // SAFETY: we hold the (only) list.
            assert!(!unsafe { nodes[victim].as_ref().is_linked(&mut list) });
            let mut rest = Vec::new();
            while let Some(v) = list.pop_front_with(|v| *v) {
                rest.push(v);
            }
            let expected: Vec<u32> = (0..3).filter(|&v| v != victim as u32).collect();
            assert_eq!(rest, expected);
        }
    }

    #[test]
    fn relink_after_pop_and_values_are_mutable() {
        let a = pinned(5);
        let mut list = WaitList::new();
        for round in 0..3 {
            // SAFETY: `a` outlives the list's use; it is unlinked each round.
            unsafe { list.push_back(a.as_ref()) };
            list.front_with(|v| *v += 1);
            assert_eq!(list.pop_front_with(|v| *v), Some(6 + round));
        }
        // SAFETY: unlinked, we own it.
        assert_eq!(unsafe { a.as_ref().with_value(&mut list, |v| *v) }, 8);
    }

    #[test]
    fn a_popped_waiter_reads_as_served_and_a_relinked_one_not() {
        let a = pinned(1);
        let mut list = WaitList::new();
        // SAFETY: `a` outlives the list's use; it is popped below.
        unsafe { list.push_back(a.as_ref()) };
        assert!(!a.as_ref().is_served());
        assert_eq!(list.pop_front_with(|v| *v), Some(1));
        assert!(a.as_ref().is_served());
        // SAFETY: as above.
        unsafe { list.push_back(a.as_ref()) };
        assert!(!a.as_ref().is_served(), "linking again resets it");
        // SAFETY: linked into `list`.
        assert!(unsafe { list.remove(a.as_ref()) });
    }

    /// A list dropped with a waiter still in it is a primitive's bug; debug
    /// builds say so. (The waiter is leaked: dropping it linked aborts.)
    #[test]
    #[cfg(all(debug_assertions, not(miri)))]
    fn a_list_dropped_with_a_waiter_in_it_is_caught_in_debug_builds() {
        let leaked: Pin<&'static Waiter<u32>> = Box::leak(Box::new(pinned(1))).as_ref();
        let mut list = WaitList::new();
        // SAFETY: the waiter lives forever.
        unsafe { list.push_back(leaked) };
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(list)));
        assert!(dropped.is_err());
    }

    /// Freeing a waiter that is still linked would leave the list pointing
    /// at freed memory: the process stops instead. Checked in a child
    /// process, this test's own binary run again.
    #[test]
    #[cfg(all(unix, not(miri)))]
    fn a_linked_waiter_dropped_stops_the_process() {
        use std::os::unix::process::ExitStatusExt;
        const CHILD: &str = "WEFT_SYNC_DROP_LINKED_WAITER";
        if std::env::var_os(CHILD).is_some() {
            let waiter = pinned(1);
            let mut list = WaitList::new();
            // SAFETY: deliberately broken below: the waiter is dropped linked.
            unsafe { list.push_back(waiter.as_ref()) };
            drop(waiter);
            unreachable!("dropping a linked waiter returned");
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "waiters::tests::a_linked_waiter_dropped_stops_the_process",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(6), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("a linked waiter was dropped"));
    }
}
