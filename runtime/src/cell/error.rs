//! `JoinError`: why a task produced no output.

use std::any::Any;
use std::fmt;
use std::io;
use std::sync::Arc;

use super::id::Id;
use weft_base::loom::Mutex;

/// A task did not finish: it was cancelled (aborted, or its runtime shut
/// down) or it panicked.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let err = weft_runtime::spawn(async { panic!("boom") }).await.unwrap_err();
/// assert!(err.is_panic());
/// assert!(err.to_string().contains("boom"));
/// # });
/// ```
pub struct JoinError {
    /// One pointer, so that a finished task's stage (`Result<T, JoinError>`)
    /// is no larger than a small future: see `cell/layout.rs`.
    inner: Box<Inner>,
}

struct Inner {
    id: Id,
    name: Option<Arc<String>>,
    panic: Option<Panic>,
    /// Why a cancelled task never ran, where the runtime knows (the
    /// blocking pool could start no thread for it).
    cause: Option<io::Error>,
}

struct Panic {
    message: Option<String>,
    // Behind a mutex only so that `JoinError` is `Sync`; it is taken once.
    payload: Mutex<Option<Box<dyn Any + Send + 'static>>>,
}

impl JoinError {
    pub(crate) fn cancelled(id: Id, name: Option<Arc<String>>) -> JoinError {
        JoinError {
            inner: Box::new(Inner {
                id,
                name,
                panic: None,
                cause: None,
            }),
        }
    }

    pub(crate) fn panic(
        id: Id,
        name: Option<Arc<String>>,
        payload: Box<dyn Any + Send + 'static>,
    ) -> JoinError {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        JoinError {
            inner: Box::new(Inner {
                id,
                name,
                panic: Some(Panic {
                    message,
                    payload: Mutex::new(Some(payload)),
                }),
                cause: None,
            }),
        }
    }

    /// A cancellation with `cause` (if any) as its reason; a panic stays
    /// as it is.
    pub(crate) fn with_cause(mut self, cause: Option<io::Error>) -> JoinError {
        if self.inner.panic.is_none() {
            self.inner.cause = cause;
        }
        self
    }

    /// The OS error that kept a cancelled task from running, taken out,
    /// or the error back if there was none (an abort, a shutdown, a
    /// panic).
    pub(crate) fn into_cause(mut self) -> Result<io::Error, JoinError> {
        self.inner.cause.take().ok_or(self)
    }

    /// True when the task was aborted or its runtime shut down first (or,
    /// for `spawn_blocking`, no thread could be started to run it: then
    /// the OS's error is the [`source`](std::error::Error::source)).
    pub fn is_cancelled(&self) -> bool {
        self.inner.panic.is_none()
    }

    /// True when the task panicked.
    pub fn is_panic(&self) -> bool {
        self.inner.panic.is_some()
    }

    /// The panic payload, to resume the panic with
    /// `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task was cancelled; see [`try_into_panic`](Self::try_into_panic).
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self
            .inner
            .panic
            .as_ref()
            .and_then(|p| p.payload.lock().take())
        {
            Some(payload) => Ok(payload),
            None => Err(self),
        }
    }

    /// The panic message, when the payload was a string.
    pub fn panic_message(&self) -> Option<&str> {
        self.inner.panic.as_ref()?.message.as_deref()
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.inner.id
    }

    /// The task's name, if it was spawned with one.
    pub fn task_name(&self) -> Option<&str> {
        self.inner.name.as_deref().map(String::as_str)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.inner.id)?;
        if let Some(name) = &self.inner.name {
            write!(f, " ({name:?})")?;
        }
        match &self.inner.panic {
            None => match &self.inner.cause {
                None => write!(f, " was cancelled"),
                Some(cause) => write!(f, " was cancelled: {cause}"),
            },
            Some(p) => match &p.message {
                Some(message) => write!(f, " panicked with message {message:?}"),
                None => write!(f, " panicked"),
            },
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f)
    }
}

/// tokio's form: `JoinError::Cancelled(Id(7))`,
/// `JoinError::Panic(Id(7), "message", ...)`.
impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.panic {
            None => write!(f, "JoinError::Cancelled({:?})", self.inner.id),
            Some(p) => match &p.message {
                Some(message) => {
                    write!(f, "JoinError::Panic({:?}, {message:?}, ...)", self.inner.id)
                }
                None => write!(f, "JoinError::Panic({:?}, ...)", self.inner.id),
            },
        }
    }
}

impl std::error::Error for JoinError {
    /// The OS error that kept a cancelled task from running, where there
    /// was one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let cause = self.inner.cause.as_ref()?;
        Some(cause)
    }
}

impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        io::Error::other(err)
    }
}
