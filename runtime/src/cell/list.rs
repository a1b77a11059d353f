//! The owned-tasks list: every live task of a runtime, so that shutdown can
//! cancel the ones that sit in no queue.
//!
//! An intrusive doubly linked list through `Header::owned`, split into
//! shards by task id to keep spawn and completion off one lock. A task is in
//! its shard's list from `bind` until `remove` (completion) or until shutdown
//! pops it; the list holds one reference meanwhile. Once a shard is closed,
//! `bind` refuses new tasks and cancels them on the spot.
//!
//! Invariant: a node is linked iff its `prev` is set or it is the shard's
//! head; `owned` pointers are read and written only under the shard's lock.

use std::ptr::NonNull;

use super::layout::Header;
use super::raw::{Notified, RawTask, Task};
use weft_base::loom::Mutex;

pub(crate) struct OwnedTasks {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
}

struct Shard {
    head: Option<NonNull<Header>>,
    len: usize,
    /// Tasks ever bound to this shard (counted under its lock, which `bind`
    /// takes anyway, so the count costs no shared write of its own).
    bound: u64,
    closed: bool,
}

// SAFETY: the raw pointers are followed only under the shard's lock, and the
// tasks they name are `Send`.
unsafe impl Send for Shard {}

impl OwnedTasks {
    pub(crate) fn new(num_workers: usize) -> OwnedTasks {
        // Under loom, one shard: task ids keep counting across model
        // iterations, and a shard chosen by id would make the model touch
        // different locks each time (loom requires determinism).
        let shards = if cfg!(loom) {
            1
        } else {
            (num_workers * 4).clamp(4, 256).next_power_of_two()
        };
        OwnedTasks {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        head: None,
                        len: 0,
                        bound: 0,
                        closed: false,
                    })
                })
                .collect(),
            mask: shards - 1,
        }
    }

    fn shard(&self, header: &Header) -> &Mutex<Shard> {
        &self.shards[header.id.0.get() as usize & self.mask]
    }

    /// Takes the list's reference of a new task. Returns the queue entry to
    /// schedule, or `None` when the runtime is shutting down: then the task
    /// has already been cancelled.
    pub(crate) fn bind(&self, task: Task, notified: Notified) -> Option<Notified> {
        let mut shard = self.shard(task.header()).lock();
        if shard.closed {
            drop(shard);
            drop(notified);
            task.shutdown();
            return None;
        }
        let node = task.into_raw().header_ptr();
        shard.push_front(node);
        shard.bound += 1;
        Some(notified)
    }

    /// Unlinks a finished task. True when it was linked, i.e. the caller now
    /// owns the list's reference and must drop it.
    pub(crate) fn remove(&self, header: &Header) -> bool {
        self.shard(header).lock().unlink(NonNull::from(header))
    }

    /// Closes every shard, then cancels every task in them. Safe to call
    /// from several threads at once: each task is popped by exactly one.
    pub(crate) fn close_and_shutdown_all(&self, start: usize) {
        for shard in self.shards.iter() {
            shard.lock().closed = true;
        }
        for i in 0..self.shards.len() {
            let shard = &self.shards[(start + i) & self.mask];
            loop {
                let popped = shard.lock().pop_front();
                let Some(node) = popped else { break };
                // SAFETY: popping moved the list's reference to us.
                let task = unsafe { Task::from_raw(RawTask::from_raw(node)) };
                task.shutdown();
            }
        }
    }

    /// Runs `f` on every task in the list, shard by shard, under each
    /// shard's lock (so every header it sees is live): `f` must not spawn,
    /// complete or cancel a task of this list.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            let mut node = shard.head;
            while let Some(current) = node {
                // SAFETY: linked nodes are live (the list holds a reference
                // to each), and the lock we hold guards the links.
                let header = unsafe { current.as_ref() };
                f(header);
                node = header.owned.with(|p| {
                    // SAFETY: as above, under the shard's lock.
                    unsafe { (*p).next }
                });
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }

    /// Runs `f` on the live task with id `id`, if it is in the list, under
    /// its shard's lock (as [`for_each`](Self::for_each), whose rules `f`
    /// follows); walks that one shard only.
    pub(crate) fn find<R>(&self, id: u64, f: impl FnOnce(&Header) -> R) -> Option<R> {
        let shard = self.shards[id as usize & self.mask].lock();
        let mut node = shard.head;
        while let Some(current) = node {
            // SAFETY: linked nodes are live (the list holds a reference to
            // each), and the lock we hold guards the links.
            let header = unsafe { current.as_ref() };
            if header.id.0.get() == id {
                return Some(f(header));
            }
            node = header.owned.with(|p| {
                // SAFETY: as above, under the shard's lock.
                unsafe { (*p).next }
            });
        }
        None
    }

    /// Tasks ever bound to this list (spawned and not refused at shutdown).
    pub(crate) fn bound_count(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().bound).sum()
    }
}

impl Shard {
    fn push_front(&mut self, node: NonNull<Header>) {
        // SAFETY: `node` is a live task we hold a reference to, and the shard
        // lock (held via `&mut self`) guards every `owned` field.
        unsafe {
            node.as_ref().owned.with_mut(|p| {
                (*p).prev = None;
                (*p).next = self.head;
            });
            if let Some(head) = self.head {
                head.as_ref().owned.with_mut(|p| (*p).prev = Some(node));
            }
        }
        self.head = Some(node);
        self.len += 1;
    }

    fn pop_front(&mut self) -> Option<NonNull<Header>> {
        let head = self.head?;
        self.unlink(head);
        Some(head)
    }

    fn unlink(&mut self, node: NonNull<Header>) -> bool {
        // SAFETY: `node` is live (its caller holds a reference), linked nodes
        // are live (the list holds theirs), and the lock guards the links.
        unsafe {
            let (prev, next) = node.as_ref().owned.with(|p| ((*p).prev, (*p).next));
            if prev.is_none() && self.head != Some(node) {
                return false;
            }
            match prev {
                Some(prev) => prev.as_ref().owned.with_mut(|p| (*p).next = next),
                None => self.head = next,
            }
            if let Some(next) = next {
                next.as_ref().owned.with_mut(|p| (*p).prev = prev);
            }
            node.as_ref().owned.with_mut(|p| {
                (*p).prev = None;
                (*p).next = None;
            });
        }
        self.len -= 1;
        true
    }
}
