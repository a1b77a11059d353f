//! The thread's current reactor handle: the runtime makes its own current on
//! every thread it runs code on, and sockets made there register with it.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::driver::Handle;

std::thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

const NO_RUNTIME: &str = "there is no weft runtime here, and sockets need one to wait for \
                          readiness: create or convert them in a task, in `#[weft::main]` or \
                          `#[weft::test]`, inside `Runtime::block_on`, or while a \
                          `Runtime::enter()` / `Handle::enter()` guard is alive";

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
        match CURRENT.try_with(|c| c.borrow().clone()).ok().flatten() {
            Some(handle) => handle,
            None => panic!("{NO_RUNTIME}"),
        }
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
