//! The thread's current timer handle: the runtime makes its own current on
//! every thread it runs code on (workers, blocking threads, `block_on`,
//! `enter`), and free functions such as [`sleep`](crate::sleep) find it
//! here. Guards nest and restore what was current before them.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::driver::Handle;

std::thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

const NO_RUNTIME: &str = "there is no weft runtime here, and timers (sleep, timeout, interval, \
                          Instant::now's paused clock) need one: call this from a task, from \
                          `#[weft::main]` or `#[weft::test]`, inside `Runtime::block_on`, or \
                          while a `Runtime::enter()` / `Handle::enter()` guard is alive";

impl Handle {
    /// Makes this handle the thread's current one until the guard drops.
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The thread's current handle.
    ///
    /// # Panics
    /// Outside a runtime, with a message that says how to get one.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(handle) => handle,
            None => panic!("{NO_RUNTIME}"),
        }
    }

    /// The thread's current handle, if there is one.
    pub fn try_current() -> Option<Handle> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }
}

/// Runs `f` with the current handle, if any, without cloning it.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
    let mut f = Some(f);
    let out = CURRENT.try_with(|c| (f.take().expect("called once"))(c.borrow().as_ref()));
    match out {
        Ok(out) => out,
        // The thread is exiting and its locals are gone.
        Err(_) => (f.take().expect("not called yet"))(None),
    }
}

/// Restores the previous current handle on drop. See [`Handle::enter`].
pub struct EnterGuard {
    prev: Option<Handle>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl std::fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
