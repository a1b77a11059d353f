//! Example programs built on weft: see the `[[example]]` entries of this package.
