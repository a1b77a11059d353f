//! The timers of one runtime: a wheel per worker, each behind its own lock,
//! the clock, and how the thread that drives the runtime parks until the
//! next deadline.
//!
//! A [`Sleep`](crate::Sleep) puts its task's waker in a wheel on its first
//! pending poll and keeps the entry's key, its shard, the wheel time it was
//! put at and a clone of the waker. The driver fires due entries of every
//! shard by waking their wakers.
//!
//! Shards: a new entry goes in the shard of the worker whose thread
//! registers it (`weft_base::context::worker_thread`; shard 0 on other
//! threads), and stays in that shard until it leaves the wheel, so workers
//! registering timers at once do not wait on one lock (tokio shards its
//! wheel the same way). Each shard's lock and words sit on cache lines of
//! their own.
//!
//! Invariants (all under the shard's `timers` lock unless said otherwise):
//! - An entry is inserted only at a wheel time later than its wheel's
//!   clock, so it waits in the levels, never in the due list.
//! - `processed` is the wheel's clock after the last firing pass that
//!   emptied everything due. An entry put at `at_tick <= processed` has fired
//!   and left the wheel, which lets a Sleep skip the lock to learn that
//!   (`has_fired`); and since a wheel's clock is a past reading of the
//!   clock, a deadline at such a tick has passed (no clock read needed).
//! - `firing` is the wheel time the latest firing pass fires up to, stored
//!   before the pass takes its first entry (`u64::MAX` from shutdown). An
//!   entry put later than `firing` has not been taken: its waker will be
//!   woken, which lets a re-poll return `Pending` without reading the clock
//!   (`may_have_fired`). `processed` alone cannot say that: a pass wakes its
//!   first batches before it stores `processed`.
//! - `next_wake` (one for all shards) is the wheel time the parked driver
//!   will look at the wheels again (`u64::MAX`: only when unparked; 0: the
//!   driver is not parked). An insert earlier than it unparks the driver.
//!   Before the driver looks at the shards to decide how long to park, it
//!   stores `u64::MAX`, so an insert into a shard it has already looked at
//!   (ordered after that look by the shard's lock) unparks it; after the
//!   look it lowers the word to the earliest expiration unless an insert
//!   already did. The store of 0 after parking may race an insert, which
//!   then unparks a driver that is awake (a spurious wake-up, nothing lost).
//! - Lock order: one shard's `timers` (never two at once), then the clock's
//!   own lock; never the reverse.
//! - Wakers are woken and dropped only after the lock is released: a waker
//!   can hold the last reference to a task whose output holds a Sleep, and
//!   that Sleep's drop takes the lock.

use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant as StdInstant};

use crate::clock::{Clock, ClockError};
use crate::wheel::{TimerKey, Wheel};
use weft_base::context::{Service, Slot};
use weft_base::loom::{AtomicU64, Mutex, Ordering};
use weft_base::wake_list::WakeList;

/// Panic message for a timer used after its runtime shut down.
const SHUT_DOWN: &str = "the weft runtime this timer belongs to has shut down: \
                         timers cannot be awaited after `Runtime` is dropped";

/// A reference to the timers of one runtime.
///
/// Every timer holds one. The runtime makes it current on its threads
/// (`weft_base::context::enter`), which is how [`sleep`](crate::sleep) finds it.
#[derive(Clone)]
pub struct TimeHandle {
    pub(crate) inner: Arc<Inner>,
}

impl Service for TimeHandle {
    type Shared = Inner;
    const SLOT: Slot = Slot::Time;
    const MISSING: &'static str = "there is no weft runtime here, and timers (sleep, timeout, \
                                   interval, Instant::now's paused clock) need one: call this \
                                   from a task, from `#[weft::main]` or `#[weft::test]`, inside \
                                   `Runtime::block_on`, or while a `Runtime::enter()` / \
                                   `Handle::enter()` guard is alive";

    fn shared(&self) -> &Arc<Inner> {
        &self.inner
    }

    fn from_shared(inner: Arc<Inner>) -> TimeHandle {
        TimeHandle { inner }
    }
}

/// What every handle to one runtime's timers shares.
pub struct Inner {
    pub(crate) clock: Clock,
    shards: Box<[Shard]>,
    next_wake: AtomicU64,
    unpark: Box<dyn Fn() + Send + Sync>,
}

/// One wheel, its lock and its progress words (see the module doc), on
/// cache lines no other shard writes.
#[repr(align(128))]
struct Shard {
    timers: Mutex<Timers>,
    processed: AtomicU64,
    firing: AtomicU64,
}

struct Timers {
    wheel: Wheel<Waker>,
    is_shutdown: bool,
}

/// A registered timer, as its Sleep remembers it.
#[derive(Debug)]
pub(crate) struct Entry {
    key: TimerKey,
    /// The wheel time it was put at (the low `SHARD_SHIFT` bits) and the
    /// shard whose wheel holds it (the bits above): one word, so that a
    /// Sleep is no bigger for knowing its shard.
    at: u64,
    /// The waker the wheel holds a clone of.
    pub(crate) waker: Waker,
}

/// Where an entry's shard starts in its `at` word. Wheel times end below
/// 2^45 (the clock's end of time), and shards are at most `MAX_SHARDS`.
const SHARD_SHIFT: u32 = 48;
const MAX_SHARDS: usize = 1 << (64 - SHARD_SHIFT);
const _: () = assert!(crate::clock::END_OF_TIME_TICKS < 1 << SHARD_SHIFT);

impl Entry {
    fn new(key: TimerKey, shard: usize, at_tick: u64, waker: Waker) -> Entry {
        Entry {
            key,
            at: (shard as u64) << SHARD_SHIFT | at_tick,
            waker,
        }
    }

    /// The wheel time it was put at.
    #[inline]
    pub(crate) fn at_tick(&self) -> u64 {
        self.at & ((1 << SHARD_SHIFT) - 1)
    }

    fn set_at_tick(&mut self, at_tick: u64) {
        self.at = self.at & !((1 << SHARD_SHIFT) - 1) | at_tick;
    }

    fn shard(&self) -> usize {
        (self.at >> SHARD_SHIFT) as usize
    }
}

/// The runtime's side of the timers: parks the driving thread until the next
/// deadline and fires what is due.
///
/// The runtime owns exactly one, in the slot only one parked worker holds.
pub struct TimeDriver {
    handle: TimeHandle,
}

impl TimeDriver {
    /// Timers whose clock can be paused if `pausable`, in one wheel per
    /// worker (`workers`, from one to 65,536); `unpark` wakes the thread parked in
    /// [`park`](Self::park) (a new timer is due before the one it is waiting
    /// for, or a paused clock may jump again).
    pub fn new(
        pausable: bool,
        workers: usize,
        unpark: impl Fn() + Send + Sync + 'static,
    ) -> TimeDriver {
        let shards = (0..workers.clamp(1, MAX_SHARDS))
            .map(|_| Shard {
                timers: Mutex::new(Timers {
                    wheel: Wheel::new(),
                    is_shutdown: false,
                }),
                processed: AtomicU64::new(0),
                firing: AtomicU64::new(0),
            })
            .collect();
        TimeDriver {
            handle: TimeHandle {
                inner: Arc::new(Inner {
                    clock: Clock::new(pausable),
                    shards,
                    next_wake: AtomicU64::new(0),
                    unpark: Box::new(unpark),
                }),
            },
        }
    }

    /// The handle timers use to register with this driver.
    pub fn handle(&self) -> &TimeHandle {
        &self.handle
    }

    /// Parks the driving thread with `wait` for no longer than `limit` and
    /// the next timer allow, then fires the timers that are due.
    ///
    /// `wait(timeout)` blocks until the thread is unparked or the timeout
    /// passes (`None`: no limit) and returns whether it was woken by
    /// something (work or I/O), as opposed to timing out.
    ///
    /// With a paused clock and nothing else to do, time jumps to the next
    /// timer instead of waiting for it: a test of a one-hour timeout
    /// finishes at once. A zero `limit` (a non-blocking poll) never jumps.
    pub fn park(&self, limit: Option<Duration>, mut wait: impl FnMut(Option<Duration>) -> bool) {
        let inner = &*self.handle.inner;
        if limit != Some(Duration::ZERO) && inner.clock.can_auto_advance() {
            // The runtime is idle unless a non-blocking look says otherwise.
            if wait(Some(Duration::ZERO)) {
                inner.process();
                return;
            }
            if inner.auto_advance() {
                return;
            }
        }
        let timeout = inner.park_timeout(limit);
        wait(timeout);
        inner.next_wake.store(0, Ordering::Relaxed);
        inner.process();
    }
}

impl Inner {
    /// How long the driver may block: until the next expiration or `limit`.
    /// Decided together with publishing `next_wake`, so an insert either is
    /// seen here or sees the driver parked and unparks it.
    fn park_timeout(&self, limit: Option<Duration>) -> Option<Duration> {
        // From here an insert unparks: one into a shard already looked at
        // below takes that shard's lock after the look, and so sees this.
        self.next_wake.store(u64::MAX, Ordering::Relaxed);
        let next = self.next_expiration();
        if self.clock.is_paused() {
            // Real time does not move a paused clock: only an unpark helps,
            // unless a timer arrived since `auto_advance` looked.
            if next.is_some() && self.clock.can_auto_advance() {
                return Some(Duration::ZERO);
            }
            return limit;
        }
        let Some(tick) = next else {
            return limit;
        };
        // An insert that lowered the word since has unparked the driver.
        let _ = self.next_wake.compare_exchange(
            u64::MAX,
            tick.max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        let until = self
            .clock
            .instant_of_tick(tick)
            .saturating_duration_since(self.clock.now());
        Some(limit.map_or(until, |limit| limit.min(until)))
    }

    /// The earliest expiration in any shard.
    fn next_expiration(&self) -> Option<u64> {
        self.shards
            .iter()
            .filter_map(|shard| shard.timers.lock().wheel.next_expiration())
            .min()
    }

    /// The shard a new entry registered on this thread goes in.
    fn thread_shard(&self) -> usize {
        let worker = weft_base::context::worker_thread().unwrap_or(0);
        worker % self.shards.len()
    }

    fn shard_of(&self, entry: &Entry) -> &Shard {
        &self.shards[entry.shard()]
    }

    /// Fires the timers due now in every shard; returns how many fired.
    pub(crate) fn process(&self) -> usize {
        let mut now_tick = None;
        self.shards
            .iter()
            .map(|shard| shard.process(&self.clock, &mut now_tick))
            .sum()
    }

    /// Jumps a paused clock to the next expiration, again and again until a
    /// timer fires; false when no timer is pending.
    fn auto_advance(&self) -> bool {
        loop {
            let Some(tick) = self.next_expiration() else {
                return false;
            };
            self.clock.advance_to_tick(tick);
            if self.process() > 0 {
                return true;
            }
        }
    }

    /// Whether the entry has fired (and so left the wheel).
    pub(crate) fn has_fired(&self, entry: &Entry) -> bool {
        entry.at_tick() <= self.shard_of(entry).processed.load(Ordering::Acquire)
    }

    /// Whether the entry may have been taken to fire; when false, it is in
    /// the wheel and its waker will be woken.
    pub(crate) fn may_have_fired(&self, entry: &Entry) -> bool {
        entry.at_tick() <= self.shard_of(entry).firing.load(Ordering::Acquire)
    }

    /// Whether a wheel's clock has passed `at_tick`, and so the clock has
    /// (see the module doc): the look of a Sleep that reads no clock.
    pub(crate) fn has_passed(&self, at_tick: u64) -> bool {
        let shard = &self.shards[self.thread_shard()];
        at_tick <= shard.processed.load(Ordering::Acquire)
    }

    /// Registers `waker` to be woken at wheel time `at_tick`, moving the entry
    /// in `slot` there if it is still in the wheel; `Ready` if the wheel's
    /// clock has already passed `at_tick` (the deadline is behind us).
    ///
    /// # Panics
    /// After [`TimeHandle::shutdown`].
    pub(crate) fn register(
        &self,
        slot: &mut Option<Entry>,
        at_tick: u64,
        waker: &Waker,
    ) -> Poll<()> {
        // An entry stays in its shard; a new one goes in this thread's.
        let index = slot
            .as_ref()
            .map_or_else(|| self.thread_shard(), Entry::shard);
        let shard = &self.shards[index];
        let mut timers = shard.timers.lock();
        if timers.is_shutdown {
            drop(timers);
            panic!("{SHUT_DOWN}");
        }
        if timers.wheel.is_empty() {
            // An empty wheel's clock stands still (`process` skips it):
            // catch it up, so the entry lands in the slot its deadline
            // warrants and the driver does not wake early for it.
            let _ = timers.wheel.poll(self.clock.now_tick());
            shard
                .processed
                .store(timers.wheel.elapsed(), Ordering::Release);
        }
        let live = slot
            .as_ref()
            .is_some_and(|e| timers.wheel.get(e.key).is_some());
        if at_tick <= timers.wheel.elapsed() {
            // The driver's clock read a time past the deadline.
            let entry = slot.take();
            let held = entry.as_ref().and_then(|e| timers.wheel.cancel(e.key));
            drop(timers);
            drop((entry, held));
            return Poll::Ready(());
        }
        let mut stale = None;
        match slot {
            Some(entry) if live => {
                if entry.at_tick() != at_tick {
                    timers.wheel.reset(entry.key, at_tick);
                    entry.set_at_tick(at_tick);
                }
                if !entry.waker.will_wake(waker) {
                    let held = timers.wheel.get_mut(entry.key).expect("live entry");
                    stale = Some(std::mem::replace(held, waker.clone()));
                    entry.waker = waker.clone();
                }
            }
            _ => {
                let key = timers.wheel.insert(at_tick, waker.clone());
                let old = slot.replace(Entry::new(key, index, at_tick, waker.clone()));
                stale = old.map(|e| e.waker);
            }
        }
        let unpark = at_tick < self.next_wake.load(Ordering::Relaxed);
        if unpark {
            self.next_wake.store(at_tick, Ordering::Relaxed);
        }
        drop(timers);
        drop(stale);
        if unpark {
            (self.unpark)();
        }
        Poll::Pending
    }

    /// Moves a registered entry to the earlier wheel time `at_tick` now, so it
    /// fires then even if its task does not poll again first; wakes it at
    /// once if that time has passed.
    pub(crate) fn move_earlier(&self, slot: &mut Option<Entry>, at_tick: u64) {
        let Some(entry) = slot.as_ref() else { return };
        if self.has_fired(entry) {
            return;
        }
        let waker = entry.waker.clone();
        if self.register(slot, at_tick, &waker).is_ready() {
            waker.wake();
        }
    }

    /// Takes the entry in `slot` out of the wheel, if it is still there.
    pub(crate) fn cancel(&self, slot: &mut Option<Entry>) {
        let Some(entry) = slot.take() else { return };
        if self.has_fired(&entry) {
            return;
        }
        let held = self.shard_of(&entry).timers.lock().wheel.cancel(entry.key);
        drop(held);
    }
}

impl Shard {
    /// Fires this shard's timers due at the clock's tick, read once for all
    /// shards (into `now_tick`) when a shard first needs it; returns how
    /// many fired.
    fn process(&self, clock: &Clock, now_tick: &mut Option<u64>) -> usize {
        let mut fired = 0;
        loop {
            let mut batch = WakeList::new();
            let mut n = 0;
            {
                let mut timers = self.timers.lock();
                if timers.wheel.is_empty() {
                    // No clock read for a shard without timers: its wheel
                    // catches up with the clock when one is next inserted.
                    return fired;
                }
                let now_tick = *now_tick.get_or_insert_with(|| clock.now_tick());
                // Under the lock, so every writer is serialised.
                if now_tick > self.firing.load(Ordering::Relaxed) {
                    self.firing.store(now_tick, Ordering::Release);
                }
                while !batch.is_full() {
                    let Some((_, waker)) = timers.wheel.poll(now_tick) else {
                        break;
                    };
                    batch.push(Some(waker));
                    n += 1;
                }
                if !batch.is_full() {
                    let elapsed = timers.wheel.elapsed();
                    self.processed.store(elapsed, Ordering::Release);
                }
            }
            fired += n;
            let more = batch.is_full();
            batch.wake_all();
            if !more {
                return fired;
            }
        }
    }
}

impl TimeHandle {
    /// Fires every registered timer and refuses new ones; awaiting a timer
    /// of this runtime from now on panics.
    pub fn shutdown(&self) {
        let mut wakers = Vec::new();
        for shard in self.inner.shards.iter() {
            let mut timers = shard.timers.lock();
            timers.is_shutdown = true;
            shard.firing.store(u64::MAX, Ordering::Release);
            let wheel = std::mem::take(&mut timers.wheel);
            wakers.extend(wheel.into_values());
        }
        for waker in wakers {
            waker.wake();
        }
    }

    /// The clock's current reading.
    #[doc(hidden)]
    pub fn now(&self) -> StdInstant {
        self.inner.clock.now()
    }

    /// The clock's current reading in whole milliseconds since it started:
    /// the unit of the deadlines timers note for the task dump
    /// (`weft_base::wait::WaitOn::timer`).
    #[doc(hidden)]
    pub fn now_millis(&self) -> u64 {
        self.inner.clock.now_tick() / crate::clock::TICKS_PER_MS
    }

    /// Pauses the clock (what `Builder::start_paused` does).
    pub fn pause(&self) -> Result<(), ClockError> {
        self.inner.clock.pause()
    }

    /// Resumes the clock.
    pub(crate) fn resume(&self) -> Result<(), ClockError> {
        self.inner.clock.resume()
    }

    /// Moves a paused clock ahead and fires what became due.
    #[doc(hidden)]
    pub fn advance(&self, duration: Duration) -> Result<(), ClockError> {
        self.inner.clock.advance(duration)?;
        self.inner.process();
        Ok(())
    }

    /// Jumps a paused clock to the next timer and fires what is due then
    /// (the idle step of `weft::check`'s executor, which drives time
    /// itself); false when no timer is pending or the clock runs.
    #[doc(hidden)]
    pub fn fire_next(&self) -> bool {
        self.inner.clock.is_paused() && self.inner.auto_advance()
    }

    /// Timers registered in the wheel (pending sleeps that have been polled).
    pub fn num_timers(&self) -> usize {
        let shards = self.inner.shards.iter();
        shards.map(|shard| shard.timers.lock().wheel.len()).sum()
    }

    /// Keeps a paused clock from jumping ahead by itself until the guard
    /// drops: blocking work is running, and it takes real time.
    pub fn inhibit_auto_advance(&self) -> AutoAdvanceGuard {
        self.inner.clock.inhibit_auto_advance();
        AutoAdvanceGuard {
            handle: self.clone(),
        }
    }
}

/// Keeps a paused clock from auto-advancing while it lives; see
/// [`TimeHandle::inhibit_auto_advance`].
pub struct AutoAdvanceGuard {
    handle: TimeHandle,
}

impl Drop for AutoAdvanceGuard {
    fn drop(&mut self) {
        let inner = &*self.handle.inner;
        if inner.clock.allow_auto_advance() && inner.clock.is_paused() {
            // The idle driver may now jump: let it look again.
            (inner.unpark)();
        }
    }
}

impl std::fmt::Debug for TimeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeHandle").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TimeDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeDriver").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn an_entry_keeps_its_shard_and_wheel_time_in_one_word() {
        let key = TimerKey {
            index: 7,
            generation: 3,
        };
        let last = MAX_SHARDS - 1;
        let end = crate::clock::END_OF_TIME_TICKS;
        let mut entry = Entry::new(key, last, end, Waker::noop().clone());
        assert_eq!((entry.shard(), entry.at_tick()), (last, end));
        entry.set_at_tick(5);
        assert_eq!((entry.shard(), entry.at_tick()), (last, 5));
        let entry = Entry::new(key, 0, end, Waker::noop().clone());
        assert_eq!((entry.shard(), entry.at_tick()), (0, end));
        // Knowing its shard made no Sleep bigger: a Sleep is its handle, its
        // deadline, this entry and a flag, in 64 bytes.
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 32);
        #[cfg(not(feature = "tracing"))]
        assert!(std::mem::size_of::<crate::Sleep>() <= 64);
    }
}
