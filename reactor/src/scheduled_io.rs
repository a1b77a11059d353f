//! What the reactor knows about one registered source: its readiness, the
//! (at most one) reader and (one) writer polling it (`poll_*` methods keep
//! only the last waker of each direction, as tokio's do), and a list of
//! readiness futures (`ready(interest)`, `readable()`...), any number of
//! them from any number of tasks.
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
//! - A readiness future in the list is notified once (its waker taken, the
//!   entry left in place): when polled next it completes with the readiness
//!   of that moment, even if another task cleared it in between (then
//!   empty: a spurious wake-up its caller allows). So one event wakes every
//!   future waiting for it, and none waits again for an event it was
//!   already given.
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
/// A priority event (`EPOLLPRI`: out-of-band data).
pub(crate) const PRIORITY: usize = 1 << 5;
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
    pub(crate) fn mask(self) -> usize {
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
    pub(crate) ready: usize,
    pub(crate) is_shutdown: bool,
}

#[derive(Default)]
struct Waiters {
    reader: Option<Waker>,
    writer: Option<Waker>,
    /// The readiness futures waiting now.
    list: Vec<Waiter>,
    /// The id the next future in `list` gets.
    next_id: u64,
}

/// One readiness future's entry.
struct Waiter {
    id: u64,
    /// The ready bits it waits for.
    mask: usize,
    /// `None` once an event (or shutdown) notified it.
    waker: Option<Waker>,
}

pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

// A socket shared with a task that panicked is still usable, as tokio's
// are (its net types are `RefUnwindSafe`): the auto trait is lost only to
// the `Mutex<Waiters>`, and no panic can leave `Waiters` half-updated. The
// only foreign code run under that lock is `Waker::clone` / `will_wake`,
// and each runs before the mutation it feeds (a waker is cloned, then
// stored), so a panic there unlocks (parking_lot releases on unwind) with
// the list as it was, at worst with `next_id` advanced past an id no entry
// holds; wakers are woken and dropped outside the lock.
impl std::panic::RefUnwindSafe for ScheduledIo {}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Marks `ready` as there before the driver has reported anything, for
    /// a source whose state is known at birth (an accepted connection is
    /// readable and writable as far as anyone knows; a socket pair is
    /// writable). Its first operation then tries the system call instead
    /// of waiting a driver turn for the registration's first event; a
    /// wrong guess costs one `WouldBlock`, which clears it.
    pub(crate) fn assume_ready(&self, ready: usize) {
        self.readiness
            .fetch_or(ready & READY_MASK, Ordering::AcqRel);
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
        for waiter in &mut waiters.list {
            if waiter.mask & ready != 0 {
                wakers.extend(waiter.waker.take());
            }
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
        self.ready_mask(direction.mask())
    }

    /// The readiness among `mask` now, if any (or the reactor is gone).
    pub(crate) fn ready_mask(&self, mask: usize) -> Option<ReadyEvent> {
        let event = self.snapshot(mask);
        (event.ready != 0 || event.is_shutdown).then_some(event)
    }

    /// The readiness among `mask` now, empty or not.
    fn snapshot(&self, mask: usize) -> ReadyEvent {
        let current = self.readiness.load(Ordering::Acquire);
        ReadyEvent {
            tick: ((current & TICK_MASK) >> TICK_SHIFT) as u16,
            ready: current & mask,
            is_shutdown: current & SHUTDOWN != 0,
        }
    }

    /// Polls the readiness future whose entry id is in `id` (`None`: not
    /// yet in the list) for any of `mask`. Ready with the readiness seen,
    /// which is empty if the future was notified but another task cleared
    /// the readiness before this poll; `id` is `None` again then.
    pub(crate) fn poll_readiness(
        &self,
        cx: &mut Context<'_>,
        mask: usize,
        id: &mut Option<u64>,
    ) -> Poll<ReadyEvent> {
        if id.is_none() {
            if let Some(event) = self.ready_mask(mask) {
                return Poll::Ready(event);
            }
        }
        let mut waiters = self.waiters.lock();
        let replaced = match *id {
            None => {
                if let Some(event) = self.ready_mask(mask) {
                    return Poll::Ready(event);
                }
                let new = waiters.next_id;
                waiters.next_id += 1;
                waiters.list.push(Waiter {
                    id: new,
                    mask,
                    waker: Some(cx.waker().clone()),
                });
                *id = Some(new);
                None
            }
            Some(current) => {
                let index = waiters.list.iter().position(|w| w.id == current);
                let notified = index.is_none_or(|i| waiters.list[i].waker.is_none());
                let event = self.ready_mask(mask);
                if notified || event.is_some() {
                    let removed = index.map(|i| waiters.list.swap_remove(i));
                    *id = None;
                    drop(waiters);
                    drop(removed);
                    return Poll::Ready(event.unwrap_or_else(|| self.snapshot(mask)));
                }
                let slot = &mut waiters.list[index.expect("not notified, so present")].waker;
                match slot {
                    Some(waker) if waker.will_wake(cx.waker()) => None,
                    _ => slot.replace(cx.waker().clone()),
                }
            }
        };
        drop(waiters);
        drop(replaced);
        Poll::Pending
    }

    /// Takes the readiness future `id` out of the list (it was dropped).
    pub(crate) fn cancel_readiness(&self, id: u64) {
        let mut waiters = self.waiters.lock();
        let removed = waiters
            .list
            .iter()
            .position(|w| w.id == id)
            .map(|i| waiters.list.swap_remove(i));
        drop(waiters);
        drop(removed);
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

    /// Forgets `bits` of what a task saw (its guard's
    /// `clear_ready_matching`), unless a newer event arrived since.
    pub(crate) fn clear_matching(&self, event: ReadyEvent, bits: usize) {
        self.clear(event, event.ready & bits);
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
        for waiter in &mut waiters.list {
            wakers.extend(waiter.waker.take());
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    struct Count(StdAtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(StdAtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn one_event_wakes_every_readiness_future_of_its_direction_only() {
        let io = ScheduledIo::new();
        let (readers, reader_waker) = counting();
        let (writers, writer_waker) = counting();
        let mut ids = [None, None, None];
        for id in &mut ids[..2] {
            let mut cx = Context::from_waker(&reader_waker);
            assert!(io
                .poll_readiness(&mut cx, Direction::Read.mask(), id)
                .is_pending());
        }
        let mut cx = Context::from_waker(&writer_waker);
        assert!(io
            .poll_readiness(&mut cx, Direction::Write.mask(), &mut ids[2])
            .is_pending());

        let mut wakers = Vec::new();
        io.dispatch(1, READABLE, &mut wakers);
        wakers.drain(..).for_each(Waker::wake);
        assert_eq!(readers.0.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(writers.0.load(std::sync::atomic::Ordering::SeqCst), 0);

        // The first reader clears the readiness; the second, notified
        // before that, still completes (empty) rather than wait again.
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(first) = io.poll_readiness(&mut cx, Direction::Read.mask(), &mut ids[0])
        else {
            panic!("notified reader pending");
        };
        assert_eq!(first.ready, READABLE);
        io.clear_readiness(first);
        let Poll::Ready(second) = io.poll_readiness(&mut cx, Direction::Read.mask(), &mut ids[1])
        else {
            panic!("notified reader pending");
        };
        assert_eq!(second.ready, 0);
        assert_eq!(ids[..2], [None, None]);
        io.cancel_readiness(ids[2].take().unwrap());
        assert!(io.waiters.lock().list.is_empty());
    }

    #[test]
    fn a_cancelled_future_is_not_woken() {
        let io = ScheduledIo::new();
        let (count, waker) = counting();
        let mut id = None;
        let mut cx = Context::from_waker(&waker);
        assert!(io
            .poll_readiness(&mut cx, Direction::Read.mask(), &mut id)
            .is_pending());
        io.cancel_readiness(id.unwrap());
        let mut wakers = Vec::new();
        io.dispatch(1, READABLE, &mut wakers);
        assert!(wakers.is_empty());
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn shutdown_wakes_readiness_futures_and_they_see_it() {
        let io = ScheduledIo::new();
        let (count, waker) = counting();
        let mut id = None;
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_readiness(&mut cx, PRIORITY, &mut id).is_pending());
        let mut wakers = Vec::new();
        io.shutdown(&mut wakers);
        wakers.drain(..).for_each(Waker::wake);
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        let Poll::Ready(event) = io.poll_readiness(&mut cx, PRIORITY, &mut id) else {
            panic!("pending after shutdown");
        };
        assert!(event.is_shutdown);
    }
}
