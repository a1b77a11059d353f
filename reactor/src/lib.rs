//! weft-reactor: the shared `polling` reactor, I/O registrations and readiness, and the
//! network types. This crate is a placeholder until the reactor issue lands: see
//! `DESIGN.md` (section "Reactor").
#![forbid(unsafe_code)]
