//! Files and directories, async: the `aiofiles` (or `tokio::fs`) of weft.
//!
//! Operating systems offer no readiness for regular files, so every call
//! here runs on the runtime's blocking pool, and the task awaiting it stays
//! free. The free functions are one hop (one trip to the pool) each:
//! `read` a whole file, `write` one, `copy`, `rename`, `metadata`, ...
//!
//! [`File`] batches: a read hop fetches a window ahead (64 KiB, growing to
//! 1 MiB while reads go straight on) and serves small reads from it, and
//! writes gather in the same buffer until a window's worth, a `flush`, a
//! seek, a read or `sync_all` sends them out in one hop. Reading a 1 GiB
//! file in 8 KiB reads costs about a thousand hops, not 131,072.
//! [`ReadDir`] fetches 32 entries per hop.
//!
//! Because writes are buffered, a write's error comes back from the *next*
//! operation on the file (`flush`, `sync_all`, a read, a seek, a write);
//! `flush` (or `sync_all`) before dropping a file to see it. A `File`
//! dropped with bytes still buffered writes them on the dropping thread
//! (as `std::io::BufWriter` does) and ignores errors.
//!
//! ```
//! # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use weft_runtime::fs;
//!
//! let dir = std::env::temp_dir().join(format!("weft-fs-doc-{}", std::process::id()));
//! fs::create_dir_all(&dir).await?;
//! fs::write(dir.join("hello.txt"), "hello, file").await?;
//! assert_eq!(fs::read_to_string(dir.join("hello.txt")).await?, "hello, file");
//! fs::remove_dir_all(&dir).await?;
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```

mod dir_builder;
mod file;
mod open_options;
mod read_dir;

pub use dir_builder::DirBuilder;
pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};
/// Access and modification times for [`File::set_times`] (std's type).
pub use std::fs::FileTimes;

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use crate::runtime::Handle;

/// Runs `f` on the blocking pool: one hop.
pub(crate) async fn asyncify<F, R>(f: F) -> io::Result<R>
where
    F: FnOnce() -> io::Result<R> + Send + 'static,
    R: Send + 'static,
{
    match Handle::current_for_io()?.spawn_blocking(f).await {
        Ok(res) => res,
        Err(cancelled) => Err(match cancelled.into_cause() {
            // The pool could start no thread for it: the OS's error, and
            // the operation did not happen.
            Ok(cause) => cause,
            // Cancelled by a runtime shutting down (`std::fs` does not
            // panic): the operation may or may not have happened.
            Err(_) => weft_base::gone::RuntimeGone::error(
                "weft::fs: the runtime shut down before the operation finished; it may or may \
                 not have happened",
            ),
        }),
    }
}

/// Reads the whole file at `path`.
///
/// # Errors
/// `NotFound`, `PermissionDenied`, `IsADirectory`, ... as the OS reports
/// them.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Reads the whole file at `path` as UTF-8; `InvalidData` if it is not.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Writes `contents` as the whole file at `path`, creating it or
/// truncating it first.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// Copies the contents and permissions of the file `from` to `to`
/// (replacing it); returns the number of bytes copied. On Linux the kernel
/// copies (`copy_file_range`), so the bytes never pass through this
/// process.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// Renames `from` to `to`, replacing `to` if it is a file.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Removes the file (or symbolic link) at `path`.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Removes the empty directory at `path`.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Removes the directory at `path` and everything in it.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// Creates the directory `path`; its parent must exist.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Creates the directory `path` and any missing parents; fine if it
/// exists already.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// The metadata of what `path` names, following symbolic links.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// The metadata of `path` itself, not following a symbolic link.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path)).await
}

/// The absolute form of `path`, with every symbolic link resolved.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// Makes `link` a new name (hard link) for the file `original`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::fs::hard_link(original, link)).await
}

/// Makes `link` a symbolic link to `original`.
#[cfg(unix)]
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    asyncify(move || std::os::unix::fs::symlink(original, link)).await
}

/// What the symbolic link at `path` points to.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_link(path)).await
}

/// Sets the permissions of what `path` names.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, perm)).await
}

/// Whether `path` names something (following symbolic links): `Ok(false)`
/// when it does not, an error when that cannot be told (a permission
/// denied on the way, say).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify(move || path.try_exists()).await
}
