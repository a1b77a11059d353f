//! `task::Builder`: spawn with options (a name, for diagnostics).

use std::future::Future;
use std::io;
use std::sync::Arc;

use super::{JoinHandle, LocalSet};
use crate::runtime::Handle;

/// Spawns a task with a name, which appears in `JoinError` messages.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = weft_runtime::task::Builder::new()
///     .name("conn-handler")
///     .spawn(async { panic!("bad frame") })
///     .unwrap();
/// let err = handle.await.unwrap_err();
/// assert_eq!(err.task_name(), Some("conn-handler"));
/// # });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no options set.
    pub fn new() -> Builder<'a> {
        Builder::default()
    }

    /// The task's name.
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    fn owned_name(&self) -> Option<Arc<String>> {
        self.name.map(|n| Arc::new(n.to_string()))
    }

    /// Spawns onto the current runtime.
    ///
    /// # Errors
    /// When there is no current runtime (instead of panicking like
    /// `weft::spawn`).
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = Handle::try_current().map_err(io::Error::other)?;
        Ok(self.spawn_on(future, &handle))
    }

    /// Spawns onto the runtime of `handle`.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.services.spawn(future, self.owned_name())
    }

    /// Spawns a `!Send` task onto the current `LocalSet` (or
    /// `LocalRuntime`).
    ///
    /// # Errors
    /// Where no local set is current (instead of panicking like
    /// `spawn_local`).
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        super::local::try_spawn_local_named(future, self.owned_name()).map_err(io::Error::other)
    }

    /// Spawns a `!Send` task onto `local_set`.
    #[track_caller]
    pub fn spawn_local_on<F>(self, future: F, local_set: &LocalSet) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        local_set.spawn_local_named(future, self.owned_name())
    }

    /// Runs a blocking closure on the current runtime's blocking pool.
    ///
    /// # Errors
    /// When there is no current runtime.
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let handle = Handle::try_current().map_err(io::Error::other)?;
        Ok(handle.spawn_blocking_named(f, self.owned_name()))
    }
}
