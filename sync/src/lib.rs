//! weft-sync: runtime-agnostic async synchronisation primitives (locks, semaphores, notify,
//! channels). This crate is a placeholder until the synchronisation issue lands.
#![forbid(unsafe_code)]
