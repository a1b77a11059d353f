//! `DirBuilder`: creates a directory with options (its parents too, a
//! mode on Unix), on the blocking pool, as `std::fs::DirBuilder` does on
//! the calling thread.

use std::io;
use std::path::Path;

use super::asyncify;

/// Options for creating a directory (tokio's `fs::DirBuilder`).
///
/// ```
/// # weft_runtime::run(async {
/// let base = std::env::temp_dir().join(format!("weft-dirbuilder-doc-{}", std::process::id()));
/// weft_runtime::fs::DirBuilder::new()
///     .recursive(true)
///     .create(base.join("a/b"))
///     .await
///     .unwrap();
/// assert!(base.join("a/b").is_dir());
/// # std::fs::remove_dir_all(base).unwrap();
/// # });
/// ```
#[derive(Debug, Default, Clone)]
pub struct DirBuilder {
    recursive: bool,
    #[cfg(unix)]
    mode: Option<u32>,
}

impl DirBuilder {
    /// Options that create one directory, whose parent must exist, with
    /// the default mode.
    pub fn new() -> DirBuilder {
        DirBuilder::default()
    }

    /// Whether missing parents are created too (and an existing directory
    /// is not an error).
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// The permission bits of the new directories (before the umask).
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = Some(mode);
        self
    }

    /// Creates the directory `path`.
    ///
    /// # Errors
    /// `AlreadyExists` (unless recursive), `NotFound` for a missing parent
    /// (unless recursive), and what else the OS reports.
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_owned();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(self.recursive);
        #[cfg(unix)]
        if let Some(mode) = self.mode {
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, mode);
        }
        asyncify(move || builder.create(path)).await
    }
}
