//! Example programs built on weft: the `[[bin]]` targets of this package
//! (`echo`, `client`, `chat`, `cpu_offload`, `graceful_shutdown`,
//! `file_copy`, and with hyper `http_server` and `scrape`), each run by an
//! integration test in `tests/`, and the `[[example]]` entries.
//!
//! Code a test needs to run in its own process lives here as a module: the
//! chat server ([`chat`]), which the `chat` binary serves and the soak test
//! (`tests/soak.rs`) runs under load while it samples the runtime's
//! metrics.

pub mod chat;
