//! weft-timer: time for the weft runtime, re-exported as `weft::time`.
//!
//! - [`sleep`], [`sleep_until`] and [`Sleep`]; [`timeout`], [`timeout_at`]
//!   and [`Timeout`] with [`error::Elapsed`] (asyncio's `wait_for`);
//!   [`interval`], [`interval_at`] and [`Interval`] with
//!   [`MissedTickBehavior`]; [`Instant`], which follows the runtime clock.
//! - Test time: [`pause`], [`advance`], [`resume`], and runtimes that start
//!   paused, whose clock jumps to the next timer when there is nothing to
//!   run.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::time::Duration;
//! use weft_timer::{interval, sleep, timeout};
//!
//! sleep(Duration::from_millis(10)).await;
//! let answer = timeout(Duration::from_secs(1), async { 42 }).await?;
//! let mut ticks = interval(Duration::from_millis(100));
//! ticks.tick().await;
//! # let _ = answer; Ok(())
//! # }
//! ```
//!
//! Every timer belongs to the runtime that was current when it was made,
//! and creating one outside a runtime panics with a message saying so.
//!
//! Inside: one hierarchical timing wheel per runtime ([`wheel::Wheel`]: 6
//! levels x 64 slots at 1/16 ms, O(1) insert and cancel) behind a lock, which a
//! timer takes only to register, to move its deadline earlier and to cancel
//! before firing. The runtime's parked driver sleeps until the next
//! expiration and fires what is due ([`TimeDriver`]). The crate knows nothing
//! of the scheduler: the runtime hands it a way to unpark the driver and
//! makes its [`TimeHandle`] current on its threads.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
pub mod error;
mod time_driver;
// Public through the facade as `weft::hyper`, its one documented path.
#[cfg(feature = "hyper")]
#[doc(hidden)]
pub mod hyper;
mod instant;
mod interval;
mod paused;
mod sleep;
mod timeout;
mod trace;
#[doc(hidden)]
pub mod wheel;

pub use std::time::Duration;

#[doc(hidden)]
pub use clock::ClockError;
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use paused::{advance, pause, resume};
pub use sleep::{sleep, sleep_until, Sleep};
#[doc(hidden)]
pub use time_driver::{AutoAdvanceGuard, TimeDriver, TimeHandle};
pub use timeout::{timeout, timeout_at, Timeout};
