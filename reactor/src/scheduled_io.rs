//! What the reactor knows about one registered source: its readiness and
//! the (at most one) reader and (one) writer waiting on it.
//!
//! `readiness` packs the ready bits (bits 0..8), the driver tick of the
//! event that last set them (bits 8..24: a clear by a task descheduled
//! between seeing readiness and clearing it lands wrongly only if a
//! multiple of 65,536 turns with events passed meanwhile) and a shutdown
//! flag (bit 24).
//!
//! Invariants:
//! - The driver sets bits first and then takes the wakers of the directions
//!   it made ready, under the `waiters` lock. A task that finds its direction
//!   not ready stores its waker under the same lock and reads readiness
//!   again before it returns `Pending`. So an event that lands between the
//!   task's first look and its store is seen by the second look or by the
//!   driver's take: no wake-up is lost (the loom model of the reactor checks
//!   this).
//! - A task clears readiness only with the tick it observed when it found
//!   the source ready: if the driver delivered a newer event since, the
//!   clear does nothing, and the task will find the source ready again.
//! - Wakers are dropped and woken outside the lock: dropping one may free a
//!   task that owns this very source.

use std::task::{Context, Poll, Waker};

use weft_base::loom::{AtomicUsize, Mutex, Ordering};

pub(crate) const READABLE: usize = 1;
pub(crate) const WRITABLE: usize = 1 << 1;
pub(crate) const ERROR: usize = 1 << 2;
/// The peer will send nothing more (FIN or hang-up): reads end at EOF.
pub(crate) const READ_CLOSED: usize = 1 << 3;
/// Nothing more can be written (hang-up): writes fail.
pub(crate) const WRITE_CLOSED: usize = 1 << 4;
/// Bits a short transfer does not use up: a FIN or an error that came
/// with the data is still there after it. Only an operation that would
/// block clears them (it proves there is no error or EOF left to report).
const FINAL: usize = ERROR | READ_CLOSED | WRITE_CLOSED;
const READY_MASK: usize = 0xff;
const TICK_SHIFT: u32 = 8;
const TICK_MASK: usize = 0xffff << TICK_SHIFT;
const SHUTDOWN: usize = 1 << 24;

/// Which way a task wants to move data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The ready bits that let this direction make progress (an error
    /// lets both report it; a closed direction ends at once).
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
}

/// Readiness as a task observed it, to clear it later.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: u16,
    ready: usize,
    pub(crate) is_shutdown: bool,
}

#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Marks `ready` as delivered by the driver's turn `tick` and collects
    /// the wakers of the directions that can now move into `wakers`.
    pub(crate) fn dispatch(&self, tick: u16, ready: usize, wakers: &mut Vec<Waker>) {
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                let bits = (current & READY_MASK) | ready;
                Some(bits | (usize::from(tick) << TICK_SHIFT) | (current & SHUTDOWN))
            });
        let mut waiters = self.waiters.lock();
        if ready & Direction::Read.mask() != 0 {
            wakers.extend(waiters.reader.take());
        }
        if ready & Direction::Write.mask() != 0 {
            wakers.extend(waiters.writer.take());
        }
    }

    /// Ready (with the readiness seen) if `direction` can move or the
    /// reactor is gone; otherwise the task's waker is stored and `Pending`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<ReadyEvent> {
        if let Some(event) = self.ready(direction) {
            return Poll::Ready(event);
        }
        let mut waiters = self.waiters.lock();
        let slot = match direction {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        let replaced = match slot {
            Some(waker) if waker.will_wake(cx.waker()) => None,
            _ => slot.replace(cx.waker().clone()),
        };
        let event = self.ready(direction);
        drop(waiters);
        drop(replaced);
        match event {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }

    /// The readiness of `direction` now, if any, without registering.
    pub(crate) fn ready_now(&self, direction: Direction) -> Option<ReadyEvent> {
        self.ready(direction)
    }

    fn ready(&self, direction: Direction) -> Option<ReadyEvent> {
        let current = self.readiness.load(Ordering::Acquire);
        let ready = current & direction.mask();
        let is_shutdown = current & SHUTDOWN != 0;
        (ready != 0 || is_shutdown).then_some(ReadyEvent {
            tick: ((current & TICK_MASK) >> TICK_SHIFT) as u16,
            ready,
            is_shutdown,
        })
    }

    /// Forgets all the readiness a task saw, its operation would block,
    /// unless a newer event arrived since. Error and closed bits go too: an
    /// operation that blocks had no error or EOF to report (the error was
    /// reported and consumed, a FIFO got a new writer), and keeping them
    /// would make the task find the source ready and block again forever.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.clear(event, event.ready);
    }

    /// Forgets what a short read or write used up: the data readiness, not
    /// the error or closed bits the same event brought, which the next
    /// operation reports.
    pub(crate) fn clear_drained(&self, event: ReadyEvent) {
        self.clear(event, event.ready & !FINAL);
    }

    fn clear(&self, event: ReadyEvent, clear: usize) {
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                let tick = ((current & TICK_MASK) >> TICK_SHIFT) as u16;
                (tick == event.tick).then_some(current & !clear)
            });
    }

    /// The reactor is gone: every waiter wakes and finds out.
    pub(crate) fn shutdown(&self, wakers: &mut Vec<Waker>) {
        self.readiness.fetch_or(SHUTDOWN, Ordering::AcqRel);
        let mut waiters = self.waiters.lock();
        wakers.extend(waiters.reader.take());
        wakers.extend(waiters.writer.take());
    }
}
