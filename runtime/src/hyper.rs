//! hyper's executor on weft (feature `hyper`): [`Executor`] implements
//! `hyper::rt::Executor` by spawning onto one weft runtime, for the tasks
//! hyper starts itself (HTTP/2 streams, a client's background connection
//! tasks). Public as `weft::hyper::Executor`.

use std::future::Future;

use crate::runtime::Handle;

/// `hyper::rt::Executor` on weft: spawns each future hyper hands it onto
/// the runtime it was made for, as a detached task.
///
/// ```
/// use hyper::rt::Executor as _;
///
/// let rt = weft_runtime::runtime::Runtime::new().unwrap();
/// let exec = weft_runtime::hyper::Executor::new(rt.handle().clone());
/// let (tx, rx) = std::sync::mpsc::channel();
/// exec.execute(async move { tx.send(7).unwrap() });
/// assert_eq!(rx.recv().unwrap(), 7);
/// ```
#[derive(Clone, Debug)]
pub struct Executor {
    handle: Handle,
}

impl Executor {
    /// An executor spawning onto the runtime this thread is in.
    ///
    /// # Panics
    /// Outside a runtime; [`new`](Self::new) takes a [`Handle`] instead.
    #[track_caller]
    pub fn current() -> Executor {
        Executor::new(Handle::current())
    }

    /// An executor spawning onto `handle`'s runtime, from any thread.
    pub fn new(handle: Handle) -> Executor {
        Executor { handle }
    }
}

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // Detached: hyper watches its own tasks through channels.
        drop(self.handle.spawn(future));
    }
}
