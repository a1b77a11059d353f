//! Helpers for polling futures by hand: a waker that records wake-ups, and
//! `poll` with it, so tests can drop futures at every await point.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Counts how often it was woken.
#[derive(Default)]
pub struct Flag(AtomicUsize);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future polled by hand with its own counting waker.
pub struct Task<F: Future> {
    pub fut: Pin<Box<F>>,
    flag: Arc<Flag>,
}

impl<F: Future> Task<F> {
    pub fn new(fut: F) -> Task<F> {
        Task {
            fut: Box::pin(fut),
            flag: Arc::new(Flag::default()),
        }
    }

    pub fn poll(&mut self) -> Poll<F::Output> {
        let waker = Waker::from(self.flag.clone());
        self.fut.as_mut().poll(&mut Context::from_waker(&waker))
    }

    /// Polls, expecting `Pending`.
    pub fn pending(&mut self) {
        assert!(self.poll().is_pending(), "expected Pending");
    }

    /// Polls, expecting `Ready`, and returns the output.
    pub fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("expected Ready"),
        }
    }

    /// The same future, from now on polled with a new waker of its own.
    pub fn with_new_waker(self) -> Task<F> {
        Task {
            fut: self.fut,
            flag: Arc::new(Flag::default()),
        }
    }

    /// A handle on this task's wake count that outlives the task.
    pub fn flag_handle(&self) -> Wakes {
        Wakes(self.flag.clone())
    }

    /// How often the waker was woken.
    pub fn wakes(&self) -> usize {
        self.flag.0.load(Ordering::SeqCst)
    }

    pub fn woken(&self) -> bool {
        self.wakes() > 0
    }
}

/// How often a [`Task`]'s waker was woken, kept apart from the task.
pub struct Wakes(Arc<Flag>);

impl Wakes {
    pub fn wakes(&self) -> usize {
        self.0 .0.load(Ordering::SeqCst)
    }
}
