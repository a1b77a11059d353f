//! weft-timer: the hierarchical timing wheel, `Sleep` / `Timeout` / `Interval`, `Instant` and
//! the pausable clock. This crate is a placeholder until the timer issue lands: see
//! `DESIGN.md` (section "Timer").
#![forbid(unsafe_code)]
