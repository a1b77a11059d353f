//! Example programs built on weft: the `[[bin]]` targets of this package
//! (`echo`, `client`, `chat`, `cpu_offload`, `graceful_shutdown`,
//! `file_copy`, and with hyper `http_server` and `scrape`), each run by an
//! integration test in `tests/`, and the `[[example]]` entries.
