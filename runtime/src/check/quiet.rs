//! Panics inside a check run: kept quiet while schedules are explored (a
//! failing body would otherwise print one panic message per schedule), and
//! recorded when one escapes a task's future, with its message and
//! location, for the report.
//!
//! A process-wide panic hook is installed once, around whatever hook was
//! there: it stays silent only on a thread inside a check run and passes
//! every other panic on unchanged.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use weft_base::loom::{AtomicBool, Ordering};

weft_base::loom::thread_local! {
    /// Whether this thread runs a check schedule (the hook stays silent).
    static QUIET: Cell<bool> = const { Cell::new(false) };
}
weft_base::loom::thread_local! {
    /// Where the latest panic on this thread happened, as the hook saw it.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}
weft_base::loom::thread_local! {
    /// The message of a panic that escaped a task's future.
    static ESCAPED: RefCell<Option<String>> = const { RefCell::new(None) };
}

weft_base::loom::thread_local! {
    /// Whether `ESCAPED` holds a message (checked after every poll).
    static ANY_ESCAPED: Cell<bool> = const { Cell::new(false) };
}

/// Keeps this thread's panics quiet until dropped.
pub(crate) struct QuietGuard {
    was: bool,
}

impl Drop for QuietGuard {
    fn drop(&mut self) {
        QUIET.with(|quiet| quiet.set(self.was));
    }
}

/// Installs the hook (once per process) and silences this thread.
pub(crate) fn quiet() -> QuietGuard {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if !INSTALLED.swap(true, Ordering::AcqRel) {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let location = info.location().map(|l| l.to_string());
                LOCATION.with(|slot| *slot.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    }
    QuietGuard {
        was: QUIET.with(|quiet| quiet.replace(true)),
    }
}

/// The message of the panic that escaped a task since the last call.
pub(crate) fn take_escaped() -> Option<String> {
    if !ANY_ESCAPED.with(|any| any.replace(false)) {
        return None;
    }
    ESCAPED.with(|slot| slot.borrow_mut().take())
}

fn record_escape(payload: &(dyn Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_string());
    let location = LOCATION.with(|slot| slot.borrow_mut().take());
    let message = match location {
        Some(location) => format!("{message} (at {location})"),
        None => message,
    };
    ESCAPED.with(|slot| {
        slot.borrow_mut().get_or_insert(message);
    });
    ANY_ESCAPED.with(|any| any.set(true));
}

pin_project_lite::pin_project! {
    /// A task's future in a check run: a panic out of its poll is recorded
    /// (even for a task nobody joins) and then goes on to the task's
    /// harness as usual.
    pub(crate) struct Watched<F> {
        #[pin]
        future: F,
    }
}

impl<F> Watched<F> {
    pub(crate) fn new(future: F) -> Watched<F> {
        Watched { future }
    }
}

impl<F: Future> Future for Watched<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let future = self.project().future;
        match panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                record_escape(&*payload);
                panic::resume_unwind(payload)
            }
        }
    }
}
