//! Example programs built on weft: the `[[bin]]` targets of this package
//! (`echo`, `client`, `chat`, `file_copy`), each run by an integration test in `tests/`, and the
//! `[[example]]` entries.
