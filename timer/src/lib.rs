//! weft-timer: timers for the weft runtime (see `DESIGN.md`, section "Timer").
//!
//! What exists so far: the hierarchical timing wheel ([`wheel::Wheel`]), a standalone data
//! structure of 6 levels x 64 slots at 1 ms resolution, with per-level occupancy bitmaps,
//! O(1) insert / cancel / reset through a generational slab, cascading as time advances, an
//! overflow list for deadlines beyond its ~2.2-year span, and a deadline (`u64::MAX`, what
//! `Duration::MAX` maps to) that never fires. The runtime will drive it; the module is public
//! only for that and hidden from the docs.
//!
//! Still to come: `sleep` / `timeout` / `interval`, `Instant` and the pausable clock.
#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod wheel;
