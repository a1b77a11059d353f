//! Timer entry storage: a slab of entries with generation-checked keys, and intrusive doubly
//! linked lists threaded through slab indices.
//!
//! Invariants:
//! - A slot of the slab is either `Occupied` (holds a live entry) or `Vacant` (on the free list).
//!   Every slot carries a generation; freeing a slot bumps it, so a [`TimerKey`] handed out for
//!   an earlier occupant no longer matches and is rejected by [`Slab::get`] / [`Slab::get_mut`].
//! - Every live entry is linked into exactly one list (a wheel slot, the due list, the overflow
//!   list or the "never" list) and records which one in [`Entry::location`]. Its `prev` / `next`
//!   fields are the links of that list; the list's head is owned by whoever owns the list (a
//!   [`Level`](super::level::Level) or the wheel) and passed in as `&mut Option<u32>`.
//! - No `unsafe`: links are plain indices, checked by the slab's bounds checks.

/// A handle to a timer registered in a [`Wheel`](super::Wheel).
///
/// A key stays valid until its timer fires or is cancelled. After that, the key is *stale*:
/// every operation taking it reports "gone" (`None` / `false`), even once its slab slot has been
/// reused by another timer, because the slot's generation has moved on. (Generations are `u32`
/// and wrap: a key held across 2^32 reuses of the same slot could alias; the runtime never holds
/// keys that long.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerKey {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// Which list a live entry is linked into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// Slot `slot` of level `level` of the wheel.
    Level { level: u8, slot: u8 },
    /// The due list: deadline <= the wheel's `elapsed`; yielded by the next poll.
    Due,
    /// Beyond the wheel's span: re-placed when the wheel's clock reaches the deadline's epoch.
    Overflow,
    /// Deadline `u64::MAX`: never fires.
    Never,
}

/// A list link: a slab index, or none. `u32::MAX` stands for none (the slab
/// never holds that many entries), which keeps an entry's two links in 8
/// bytes rather than 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link(u32);

impl Link {
    pub(crate) const NONE: Link = Link(u32::MAX);

    pub(crate) fn get(self) -> Option<u32> {
        (self.0 != u32::MAX).then_some(self.0)
    }
}

impl From<Option<u32>> for Link {
    fn from(index: Option<u32>) -> Link {
        Link(index.unwrap_or(u32::MAX))
    }
}

/// A live timer.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    /// Absolute deadline, in ticks since the wheel's start.
    pub(crate) deadline: u64,
    /// The list this entry is linked into.
    pub(crate) location: Location,
    pub(crate) prev: Link,
    pub(crate) next: Link,
    pub(crate) value: T,
}

#[derive(Debug)]
enum Slot<T> {
    Occupied {
        generation: u32,
        entry: Entry<T>,
    },
    Vacant {
        generation: u32,
        next_free: Option<u32>,
    },
}

/// A generational slab of entries with a free list.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Option<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: None,
            len: 0,
        }
    }

    /// Number of live entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `entry` and returns its key.
    ///
    /// # Panics
    /// If more than `u32::MAX` entries are live at once.
    pub(crate) fn insert(&mut self, entry: Entry<T>) -> TimerKey {
        self.len += 1;
        if let Some(index) = self.free {
            let slot = &mut self.slots[index as usize];
            let (generation, next_free) = match *slot {
                Slot::Vacant {
                    generation,
                    next_free,
                } => (generation, next_free),
                Slot::Occupied { .. } => unreachable!("occupied slot on the free list"),
            };
            self.free = next_free;
            *slot = Slot::Occupied { generation, entry };
            TimerKey { index, generation }
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != u32::MAX)
                .expect("weft timer wheel: more than u32::MAX - 1 timers registered at once");
            self.slots.push(Slot::Occupied {
                generation: 0,
                entry,
            });
            TimerKey {
                index,
                generation: 0,
            }
        }
    }

    /// The live entries' values, in slot order.
    pub(crate) fn into_values(self) -> impl Iterator<Item = T> {
        self.slots.into_iter().filter_map(|slot| match slot {
            Slot::Occupied { entry, .. } => Some(entry.value),
            Slot::Vacant { .. } => None,
        })
    }

    /// Removes a live entry by index (not key) and returns it; bumps the slot's generation.
    /// The entry must already be unlinked from its list.
    pub(crate) fn remove_index(&mut self, index: u32) -> Entry<T> {
        let slot = &mut self.slots[index as usize];
        let generation = match *slot {
            Slot::Occupied { generation, .. } => generation,
            Slot::Vacant { .. } => unreachable!("removing a vacant slab slot"),
        };
        let old = std::mem::replace(
            slot,
            Slot::Vacant {
                generation: generation.wrapping_add(1),
                next_free: self.free,
            },
        );
        self.free = Some(index);
        self.len -= 1;
        match old {
            Slot::Occupied { entry, .. } => entry,
            Slot::Vacant { .. } => unreachable!(),
        }
    }

    /// The live entry for `key`, if the key is not stale.
    pub(crate) fn get(&self, key: TimerKey) -> Option<&Entry<T>> {
        match self.slots.get(key.index as usize)? {
            Slot::Occupied { generation, entry } if *generation == key.generation => Some(entry),
            _ => None,
        }
    }

    /// Like [`get`](Self::get), mutably.
    pub(crate) fn get_mut(&mut self, key: TimerKey) -> Option<&mut Entry<T>> {
        match self.slots.get_mut(key.index as usize)? {
            Slot::Occupied { generation, entry } if *generation == key.generation => Some(entry),
            _ => None,
        }
    }

    /// The key of the live entry at `index`.
    pub(crate) fn key_of(&self, index: u32) -> TimerKey {
        match self.slots[index as usize] {
            Slot::Occupied { generation, .. } => TimerKey { index, generation },
            Slot::Vacant { .. } => unreachable!("key of a vacant slab slot"),
        }
    }

    /// The live entry at `index` (an index taken from a list link).
    pub(crate) fn at(&self, index: u32) -> &Entry<T> {
        match &self.slots[index as usize] {
            Slot::Occupied { entry, .. } => entry,
            Slot::Vacant { .. } => unreachable!("list link to a vacant slab slot"),
        }
    }

    /// Like [`at`](Self::at), mutably.
    pub(crate) fn at_mut(&mut self, index: u32) -> &mut Entry<T> {
        match &mut self.slots[index as usize] {
            Slot::Occupied { entry, .. } => entry,
            Slot::Vacant { .. } => unreachable!("list link to a vacant slab slot"),
        }
    }

    /// Links entry `index` at the front of the list whose head is `head`, recording `location`.
    pub(crate) fn push_front(&mut self, head: &mut Option<u32>, index: u32, location: Location) {
        let old = *head;
        {
            let e = self.at_mut(index);
            e.prev = Link::NONE;
            e.next = old.into();
            e.location = location;
        }
        if let Some(old) = old {
            self.at_mut(old).prev = Some(index).into();
        }
        *head = Some(index);
    }

    /// Unlinks entry `index` from the list whose head is `head`. O(1).
    pub(crate) fn unlink(&mut self, head: &mut Option<u32>, index: u32) {
        let (prev, next) = {
            let e = self.at_mut(index);
            let links = (e.prev.get(), e.next.get());
            e.prev = Link::NONE;
            e.next = Link::NONE;
            links
        };
        match prev {
            Some(p) => self.at_mut(p).next = next.into(),
            None => {
                debug_assert_eq!(
                    *head,
                    Some(index),
                    "unlinking an entry that is not the head"
                );
                *head = next;
            }
        }
        if let Some(n) = next {
            self.at_mut(n).prev = prev.into();
        }
    }

    /// Iterates over the indices of a list, from its head. The list must not change meanwhile.
    pub(crate) fn iter_list(&self, head: Option<u32>) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(head, move |&i| self.at(i).next.get())
    }
}
