//! Test time: pausing, advancing and resuming the runtime clock.
//!
//! While paused, the clock moves only through [`advance`] or by itself when
//! the runtime has nothing to run: then it jumps straight to the next timer
//! (unless blocking tasks are running, whose work takes real time). A test
//! of a one-hour timeout thus finishes in milliseconds, and deterministically.
//! Pausing needs the current-thread runtime, where "nothing to run" is one
//! thread's decision.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::time_driver::TimeHandle;

/// Pauses the current runtime's clock.
///
/// `#[weft::test(start_paused = true)]` and `Builder::start_paused(true)`
/// start a runtime with its clock paused.
///
/// # Panics
/// Outside a weft runtime, on the multi-thread runtime, or if the clock is
/// already paused.
#[track_caller]
pub fn pause() {
    if let Err(err) = weft_base::context::expect_current::<TimeHandle>().pause() {
        panic!("weft::time::pause: {err}");
    }
}

/// Resumes the current runtime's paused clock: from here on it follows real
/// time again, from the reading it had.
///
/// # Panics
/// Outside a weft runtime, or if the clock is not paused.
#[track_caller]
pub fn resume() {
    if let Err(err) = weft_base::context::expect_current::<TimeHandle>().resume() {
        panic!("weft::time::resume: {err}");
    }
}

/// Moves the current runtime's paused clock `duration` ahead, fires the
/// timers that became due and yields, so their tasks run before the caller
/// goes on.
///
/// # Panics
/// Outside a weft runtime, or if the clock is not paused.
#[track_caller]
pub fn advance(duration: Duration) -> impl Future<Output = ()> {
    if let Err(err) = weft_base::context::expect_current::<TimeHandle>().advance(duration) {
        panic!("weft::time::advance: {err}");
    }
    YieldOnce { yielded: false }
}

struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.yielded, true) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
