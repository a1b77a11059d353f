//! hyper's timer on weft (feature `hyper`): [`Timer`] implements
//! `hyper::rt::Timer` with weft's [`Sleep`], so hyper's timeouts
//! (`header_read_timeout`, HTTP/2 keep-alive) run on the runtime's wheel and
//! clock. Public as `weft::hyper::Timer`.
//!
//! Where hyper keeps a sleep and moves it (HTTP/2's keep-alive timer, at
//! every ping), it calls `Timer::reset`, whose default makes a new boxed
//! sleep each time; [`Timer`]'s `reset` finds weft's `Sleep` inside the box
//! and moves its deadline in place instead: no allocation, and the wheel
//! entry is kept when the deadline moves later.

use std::pin::Pin;
use std::time::Duration;

use ::hyper::rt;

use crate::{Instant, Sleep};

/// `hyper::rt::Timer` on weft: sleeps on the timer wheel of the runtime
/// current where hyper asks for them, and the time on that runtime's clock
/// (so hyper's deadlines stand still while a test's clock is paused).
///
/// Give it to hyper's connection builders, e.g.
/// `hyper::server::conn::http1::Builder::new().timer(Timer::new())`; the
/// `weft::hyper` module shows a whole server.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer {
    _private: (),
}

impl Timer {
    /// A timer for hyper; which runtime's wheel it uses is decided at each
    /// sleep, by the current runtime.
    pub fn new() -> Timer {
        Timer { _private: () }
    }
}

impl rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(crate::sleep(duration))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn rt::Sleep>> {
        Box::pin(crate::sleep_until(Instant::from_std(deadline)))
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    /// Moves a sleep this timer made to `new_deadline` in place (no new
    /// allocation); one from elsewhere is replaced.
    fn reset(&self, sleep: &mut Pin<Box<dyn rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(ours) => ours.reset(Instant::from_std(new_deadline)),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

impl rt::Sleep for Sleep {}
