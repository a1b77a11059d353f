//! The hierarchical timing wheel: a standalone data structure that the runtime drives.
//!
//! Time is a `u64` count of ticks since the wheel's start; the caller converts `Instant`s (the
//! runtime's tick is 1/16 ms, see `clock.rs`). The wheel has [`LEVELS`] = 6 levels of 64 slots; a
//! slot of level `k` is `64^k` ticks wide, so the wheel spans [`SPAN_TICKS`] = 64^6 = 2^36 ticks
//! (about 50 days at 1/16 ms).
//!
//! # Placement
//!
//! An entry with deadline `d`, when the wheel's clock reads `elapsed`, lives in:
//! - the **never** list if `d == u64::MAX`: it never fires, whatever the clock (the runtime's
//!   clock never asks for it: it moves deadlines past its end of time to that end);
//! - the **due** list if `d <= elapsed`: the next [`Wheel::poll`] / [`Wheel::advance`] yields it;
//! - level `k`, slot `(d >> 6k) & 63`, where `k` is the index of the highest base-64 digit in
//!   which `d` and `elapsed` differ (`(elapsed ^ d) | 63`, highest set bit, divided by 6);
//! - the **overflow** list if that digit is above level 5, i.e. `d` is in a later 2^36-tick
//!   *epoch* than `elapsed` (a deadline more than a span out, or one just across an epoch
//!   boundary).
//!
//! So every entry of level `k` shares all digits above `k` with `elapsed`, and its digit `k` is
//! greater than `elapsed`'s. Consequences: all entries of level `k` are due before all entries of
//! level `k + 1`; within a level, the next slot to expire is the first occupied slot after the
//! current position (found with one rotate + `trailing_zeros` on the occupancy bitmap); and
//! every level-`k` entry is due no earlier than the start of its slot.
//!
//! # Advancing
//!
//! The *next expiration* is the start time of the first occupied slot of the lowest non-empty
//! level, or, if the levels are empty, the start of the epoch of (a lower bound of) the earliest
//! overflow deadline. Advancing to `now` repeatedly moves the clock to the next expiration while
//! it is `<= now` and re-places that slot's entries (or the whole overflow list) under the new
//! clock: entries due now go to the due list, the others *cascade* to a lower level (or stay in
//! the overflow list). Only non-empty slots are visited, so a jump of any size costs
//! O(entries × levels), not O(time). Then the clock is set to `now`, which keeps every
//! placement valid because no slot starts in `(old clock, now]`.
//!
//! Time never goes backwards: a `now` earlier than [`Wheel::elapsed`] is treated as `elapsed`
//! (the clock does not move; only entries already due fire).
//!
//! # Storage
//!
//! Entries live in a generational slab (see the `entry` module): insert and cancel are O(1)
//! and a stale [`TimerKey`] is detected by its generation. No `unsafe`.

mod entry;
mod level;

#[cfg(test)]
mod tests;

pub use entry::TimerKey;

use entry::{Entry, Link, Location, Slab};
use level::{Level, SLOTS, SLOT_BITS};

/// Number of levels of the wheel.
pub const LEVELS: usize = 6;

/// The span of the wheel in ticks: 64^6 = 2^36. Deadlines in a later span-aligned
/// epoch than the clock wait in an overflow list.
pub const SPAN_TICKS: u64 = 1 << (SLOT_BITS as usize * LEVELS);

/// The deadline that never fires.
pub const NEVER: u64 = u64::MAX;

/// The level an entry with `deadline` belongs in when the clock reads `elapsed`
/// (`deadline > elapsed`); `>= LEVELS` means the overflow list.
fn level_for(elapsed: u64, deadline: u64) -> usize {
    let masked = (elapsed ^ deadline) | (SLOTS as u64 - 1);
    let highest_bit = 63 - masked.leading_zeros();
    (highest_bit / SLOT_BITS) as usize
}

/// Start of the span-aligned epoch that `time` falls in.
const fn epoch_start(time: u64) -> u64 {
    time & !(SPAN_TICKS - 1)
}

/// What the next expiration is.
#[derive(Clone, Copy, Debug)]
enum Expiry {
    Slot { level: usize, slot: usize },
    Overflow,
}

/// A hierarchical timing wheel holding timers with payloads of type `T` (later: a waker).
///
/// See the [module documentation](self) for the placement rules and invariants.
#[derive(Debug)]
pub struct Wheel<T> {
    /// The wheel's clock, in ticks since its start. Never decreases.
    elapsed: u64,
    levels: [Level; LEVELS],
    slab: Slab<T>,
    /// Entries with `deadline <= elapsed`, yielded by the next poll.
    due: Option<u32>,
    /// Entries in a later epoch than `elapsed` (but not `NEVER`).
    overflow: Option<u32>,
    /// A lower bound of the overflow deadlines (exact, unless the minimum was cancelled or reset
    /// since the overflow list was last re-placed); `u64::MAX` when the overflow list is empty.
    /// Invariant: when the list is non-empty, `epoch_start(overflow_min) > elapsed`.
    overflow_min: u64,
    /// Entries with deadline `NEVER`.
    never: Option<u32>,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Wheel<T> {
    /// An empty wheel whose clock reads 0.
    pub const fn new() -> Self {
        Wheel {
            elapsed: 0,
            levels: [
                Level::new(0),
                Level::new(1),
                Level::new(2),
                Level::new(3),
                Level::new(4),
                Level::new(5),
            ],
            slab: Slab::new(),
            due: None,
            overflow: None,
            overflow_min: u64::MAX,
            never: None,
        }
    }

    /// The wheel's current time, in ticks since its start: the largest `now` it was advanced to.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of registered timers (including those that never fire).
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether no timer is registered.
    pub fn is_empty(&self) -> bool {
        self.slab.len() == 0
    }

    /// Registers a timer with `deadline_tick` (ticks since the wheel's start) and returns its key.
    /// O(1).
    ///
    /// A deadline at or before [`elapsed`](Self::elapsed) fires on the next
    /// [`poll`](Self::poll) / [`advance`](Self::advance); [`NEVER`] (`u64::MAX`) never fires.
    ///
    /// # Panics
    /// If more than `u32::MAX - 1` timers are registered at once.
    pub fn insert(&mut self, deadline_tick: u64, value: T) -> TimerKey {
        let key = self.slab.insert(Entry {
            deadline: deadline_tick,
            location: Location::Due,
            prev: Link::NONE,
            next: Link::NONE,
            value,
        });
        self.place(key.index);
        key
    }

    /// Removes the timer `key` and returns its payload; `None` if it already fired or was
    /// cancelled (the key is stale). O(1).
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        self.slab.get(key)?;
        self.unlink(key.index);
        Some(self.slab.remove_index(key.index).value)
    }

    /// Moves the timer `key` to `new_deadline_tick` (earlier, later or the same); `false` if it
    /// already fired or was cancelled. O(1).
    pub fn reset(&mut self, key: TimerKey, new_deadline_tick: u64) -> bool {
        if self.slab.get(key).is_none() {
            return false;
        }
        self.unlink(key.index);
        self.slab.at_mut(key.index).deadline = new_deadline_tick;
        self.place(key.index);
        true
    }

    /// The deadline of timer `key`; `None` if the key is stale.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.slab.get(key).map(|e| e.deadline)
    }

    /// The payload of timer `key`; `None` if the key is stale.
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        self.slab.get(key).map(|e| &e.value)
    }

    /// The payload of timer `key`, mutably (to swap a waker, say); `None` if the key is stale.
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.slab.get_mut(key).map(|e| &mut e.value)
    }

    /// Empties the wheel, returning every registered timer's payload (in no
    /// particular order).
    pub fn into_values(self) -> impl Iterator<Item = T> {
        self.slab.into_values()
    }

    /// The exact earliest deadline of the registered timers, ignoring those that never fire;
    /// `None` if nothing will ever fire.
    ///
    /// If a timer is already due (inserted with a past deadline and not yet polled), the result
    /// is `<= elapsed()`: the caller should not park at all. Otherwise it is `> elapsed()`.
    ///
    /// Cost: O(levels) plus a walk of one list: the due list, or the first occupied slot of the
    /// lowest non-empty level when that is above level 0 (its entries' deadlines spread over the
    /// slot's width), or the overflow list. For a cheap O(levels) lower bound, use
    /// [`next_expiration`](Self::next_expiration).
    pub fn next_deadline(&self) -> Option<u64> {
        if self.due.is_some() {
            return self.min_deadline(self.due);
        }
        for (k, level) in self.levels.iter().enumerate() {
            if let Some((start, slot)) = level.next_expiration(self.elapsed) {
                if k == 0 {
                    // A level-0 slot is 1 tick wide: its start is its entries' deadline.
                    return Some(start);
                }
                return self.min_deadline(level.head(slot));
            }
        }
        self.min_deadline(self.overflow)
    }

    /// When the wheel next needs to be advanced: a lower bound of
    /// [`next_deadline`](Self::next_deadline), computed in O(levels); `None` if nothing will
    /// ever fire.
    ///
    /// It is `elapsed()` if a timer is already due, the exact deadline if the earliest timer is
    /// in level 0 (due within the current 64-tick window), and otherwise the start of the slot
    /// (or of the overflow epoch) holding the earliest timer. Parking until this time and then
    /// advancing is always correct: no timer is late, and advancing to a slot start cascades
    /// that slot so the next call is more precise (at most one extra wake-up per level).
    pub fn next_expiration(&self) -> Option<u64> {
        if self.due.is_some() {
            return Some(self.elapsed);
        }
        self.next_expiry().map(|(time, _)| time)
    }

    /// Advances the clock to `now_tick` and removes and returns one timer whose deadline is
    /// `<= now_tick`, with its (now stale) key; `None` once there are no more (the clock then
    /// reads `now_tick`). Call it in a loop to fire everything due.
    ///
    /// Higher-level entries cascade down as the clock passes their slots' starts. A `now_tick`
    /// earlier than [`elapsed`](Self::elapsed) is treated as `elapsed` (time never goes
    /// backwards). Timers with deadline [`NEVER`] are never returned, even for
    /// `now_tick == u64::MAX`.
    ///
    /// Inserting between calls is fine: a timer inserted with a deadline `<= now_tick` is
    /// returned by a later call of the same loop.
    pub fn poll(&mut self, now_tick: u64) -> Option<(TimerKey, T)> {
        loop {
            if let Some(index) = self.due {
                self.slab.unlink(&mut self.due, index);
                let key = self.slab.key_of(index);
                return Some((key, self.slab.remove_index(index).value));
            }
            match self.next_expiry() {
                Some((time, expiry)) if time <= now_tick => {
                    debug_assert!(time >= self.elapsed, "expiration in the past");
                    self.elapsed = time;
                    self.expire(expiry);
                }
                _ => {
                    self.elapsed = self.elapsed.max(now_tick);
                    return None;
                }
            }
        }
    }

    /// Advances the clock to `now_tick`, calling `fired` with the payload of every timer whose
    /// deadline is `<= now_tick`; returns how many fired. Same rules as [`poll`](Self::poll).
    pub fn advance(&mut self, now_tick: u64, fired: &mut impl FnMut(T)) -> usize {
        let mut count = 0;
        while let Some((_, value)) = self.poll(now_tick) {
            fired(value);
            count += 1;
        }
        count
    }

    /// The next expiration of the levels / overflow list (not the due list), lowest first.
    fn next_expiry(&self) -> Option<(u64, Expiry)> {
        for (level, l) in self.levels.iter().enumerate() {
            if let Some((time, slot)) = l.next_expiration(self.elapsed) {
                return Some((time, Expiry::Slot { level, slot }));
            }
        }
        if self.overflow.is_some() {
            let time = epoch_start(self.overflow_min);
            debug_assert!(time > self.elapsed, "overflow epoch not in the future");
            return Some((time, Expiry::Overflow));
        }
        None
    }

    /// Re-places the entries of an expiration under the current clock (which has just been set
    /// to the expiration's time).
    fn expire(&mut self, expiry: Expiry) {
        let mut cursor = match expiry {
            Expiry::Slot { level, slot } => self.levels[level].take(slot),
            Expiry::Overflow => {
                self.overflow_min = u64::MAX;
                self.overflow.take()
            }
        };
        while let Some(index) = cursor {
            cursor = self.slab.at(index).next.get();
            self.place(index);
        }
    }

    /// Links entry `index` (currently in no list) into the list its deadline calls for.
    fn place(&mut self, index: u32) {
        let deadline = self.slab.at(index).deadline;
        if deadline == NEVER {
            self.slab
                .push_front(&mut self.never, index, Location::Never);
        } else if deadline <= self.elapsed {
            self.slab.push_front(&mut self.due, index, Location::Due);
        } else {
            let level = level_for(self.elapsed, deadline);
            if level < LEVELS {
                let l = &mut self.levels[level];
                let slot = l.slot_for(deadline);
                l.push(&mut self.slab, slot, index);
            } else {
                self.slab
                    .push_front(&mut self.overflow, index, Location::Overflow);
                self.overflow_min = self.overflow_min.min(deadline);
            }
        }
    }

    /// Unlinks live entry `index` from whatever list it is in.
    fn unlink(&mut self, index: u32) {
        match self.slab.at(index).location {
            Location::Level { level, slot } => {
                self.levels[level as usize].remove(&mut self.slab, slot as usize, index)
            }
            Location::Due => self.slab.unlink(&mut self.due, index),
            Location::Never => self.slab.unlink(&mut self.never, index),
            Location::Overflow => {
                self.slab.unlink(&mut self.overflow, index);
                if self.overflow.is_none() {
                    self.overflow_min = u64::MAX;
                }
            }
        }
    }

    /// The smallest deadline in a list.
    fn min_deadline(&self, head: Option<u32>) -> Option<u64> {
        self.slab
            .iter_list(head)
            .map(|i| self.slab.at(i).deadline)
            .min()
    }

    /// Checks every structural invariant; panics on a violation. For tests.
    #[cfg(test)]
    fn check_invariants(&self) {
        let mut count = 0;
        let mut check_list = |head: Option<u32>, location: Location| {
            let mut prev = None;
            for i in self.slab.iter_list(head) {
                let e = self.slab.at(i);
                assert_eq!(e.location, location);
                assert_eq!(e.prev.get(), prev);
                prev = Some(i);
                count += 1;
            }
        };
        for (k, l) in self.levels.iter().enumerate() {
            for s in 0..SLOTS {
                let head = l.head(s);
                check_list(
                    head,
                    Location::Level {
                        level: k as u8,
                        slot: s as u8,
                    },
                );
                for i in self.slab.iter_list(head) {
                    let d = self.slab.at(i).deadline;
                    assert!(d > self.elapsed && d != NEVER);
                    assert_eq!(level_for(self.elapsed, d), k);
                    assert_eq!(l.slot_for(d), s);
                }
            }
        }
        check_list(self.due, Location::Due);
        check_list(self.overflow, Location::Overflow);
        check_list(self.never, Location::Never);
        assert_eq!(count, self.slab.len());
        for i in self.slab.iter_list(self.due) {
            let d = self.slab.at(i).deadline;
            assert!(d <= self.elapsed && d != NEVER);
        }
        for i in self.slab.iter_list(self.never) {
            assert_eq!(self.slab.at(i).deadline, NEVER);
        }
        for i in self.slab.iter_list(self.overflow) {
            let d = self.slab.at(i).deadline;
            assert!(d != NEVER && level_for(self.elapsed, d) >= LEVELS);
            assert!(self.overflow_min <= d);
        }
        if self.overflow.is_some() {
            assert!(epoch_start(self.overflow_min) > self.elapsed);
        } else {
            assert_eq!(self.overflow_min, u64::MAX);
        }
        for l in &self.levels {
            for s in 0..SLOTS {
                // The bitmap agrees with the list heads.
                assert_eq!(l.head(s).is_some(), l.next_occupied(s) == Some(s));
            }
        }
    }
}
