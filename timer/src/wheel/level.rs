//! One level of the timing wheel: 64 slots, each the head of an intrusive list of entries, and
//! a 64-bit occupancy bitmap.
//!
//! Level `k` has slots `64^k` ticks wide; slot `s` of level `k` covers the deadlines whose base-64
//! digit `k` is `s` (`(deadline >> 6k) & 63 == s`).
//!
//! Invariant: bit `s` of `occupied` is set if and only if slot `s`'s list is non-empty. All
//! list operations on a level go through [`Level::push`], [`Level::remove`] and
//! [`Level::take`], which keep the bitmap in step.

use super::entry::{Location, Slab};

/// Slots per level.
pub(crate) const SLOTS: usize = 64;
/// log2 of [`SLOTS`]: the number of deadline bits one level consumes.
pub(crate) const SLOT_BITS: u32 = 6;

/// One level of the wheel.
#[derive(Debug)]
pub(crate) struct Level {
    /// This level's index, 0 (1-tick slots) to 5 (64^5-tick slots).
    level: u8,
    /// Bit `s` set iff `heads[s]` is `Some`.
    occupied: u64,
    heads: [Option<u32>; SLOTS],
}

impl Level {
    pub(crate) const fn new(level: u8) -> Self {
        Level {
            level,
            occupied: 0,
            heads: [None; SLOTS],
        }
    }

    /// Width of one slot of this level, in ticks (`64^level`).
    pub(crate) const fn slot_width(&self) -> u64 {
        1 << (SLOT_BITS * self.level as u32)
    }

    /// Width of the whole level (all 64 slots), in ticks (`64^(level + 1)`).
    pub(crate) const fn level_width(&self) -> u64 {
        1 << (SLOT_BITS * (self.level as u32 + 1))
    }

    /// The slot of this level that `time` falls in.
    pub(crate) const fn slot_for(&self, time: u64) -> usize {
        ((time >> (SLOT_BITS * self.level as u32)) & (SLOTS as u64 - 1)) as usize
    }

    /// The head of slot `slot`'s list.
    pub(crate) fn head(&self, slot: usize) -> Option<u32> {
        self.heads[slot]
    }

    /// The first occupied slot at or after `pos`, going round: rotate the bitmap so that `pos`
    /// is bit 0, then `trailing_zeros`.
    pub(crate) fn next_occupied(&self, pos: usize) -> Option<usize> {
        if self.occupied == 0 {
            return None;
        }
        let zeros = self.occupied.rotate_right(pos as u32).trailing_zeros() as usize;
        Some((pos + zeros) % SLOTS)
    }

    /// The start time of the next occupied slot, given the wheel's current time `now`, and that
    /// slot's index; `None` if the level is empty.
    ///
    /// Relies on the wheel's placement invariant: an entry in this level shares every digit
    /// above this level's with `now`, so its slot is at or after `now`'s slot in the current
    /// level-sized window and the start time is computed within that window (no wrap, no
    /// overflow).
    pub(crate) fn next_expiration(&self, now: u64) -> Option<(u64, usize)> {
        let slot = self.next_occupied(self.slot_for(now))?;
        let window = now & !(self.level_width() - 1);
        Some((window + slot as u64 * self.slot_width(), slot))
    }

    /// Links entry `index` into slot `slot`.
    pub(crate) fn push<T>(&mut self, slab: &mut Slab<T>, slot: usize, index: u32) {
        let location = Location::Level {
            level: self.level,
            slot: slot as u8,
        };
        slab.push_front(&mut self.heads[slot], index, location);
        self.occupied |= 1 << slot;
    }

    /// Unlinks entry `index` from slot `slot`.
    pub(crate) fn remove<T>(&mut self, slab: &mut Slab<T>, slot: usize, index: u32) {
        slab.unlink(&mut self.heads[slot], index);
        if self.heads[slot].is_none() {
            self.occupied &= !(1 << slot);
        }
    }

    /// Detaches slot `slot`'s whole list and returns its head; the entries keep their links to
    /// each other and must each be re-linked somewhere by the caller.
    pub(crate) fn take(&mut self, slot: usize) -> Option<u32> {
        self.occupied &= !(1 << slot);
        self.heads[slot].take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_occupied_rotates() {
        let mut l = Level::new(0);
        assert_eq!(l.next_occupied(0), None);
        l.occupied = 1 << 3 | 1 << 60;
        assert_eq!(l.next_occupied(0), Some(3));
        assert_eq!(l.next_occupied(3), Some(3));
        assert_eq!(l.next_occupied(4), Some(60));
        assert_eq!(l.next_occupied(61), Some(3));
        assert_eq!(l.next_occupied(63), Some(3));
    }

    #[test]
    fn widths_and_slots() {
        let l = Level::new(5);
        assert_eq!(l.slot_width(), 1 << 30);
        assert_eq!(l.level_width(), 1 << 36);
        assert_eq!(l.slot_for((1 << 36) - 1), 63);
        assert_eq!(l.slot_for(1 << 36), 0);
        let l = Level::new(1);
        assert_eq!(l.slot_for(64), 1);
        assert_eq!(l.slot_for(4095), 63);
        let mut l = Level::new(1);
        l.occupied = 1 << 5;
        // now = 4096 + 70: window 4096, slot 5 starts at 4096 + 320.
        assert_eq!(l.next_expiration(4096 + 70), Some((4096 + 320, 5)));
    }
}
