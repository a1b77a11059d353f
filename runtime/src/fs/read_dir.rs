//! `read_dir`: the entries of a directory as a stream, fetched 32 per hop
//! to the blocking pool.
//!
//! The `std` iterator and a batch of entries travel together to the pool
//! and back; the stream hands the batch out one entry at a time and sends
//! the iterator for more only when the batch is empty. Once the iterator
//! has ended it is dropped (closing the directory) and the stream stays at
//! its end.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{FileType, Metadata};
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::asyncify;
use crate::runtime::Handle;
use crate::task::JoinHandle;

/// Entries fetched per hop.
const BATCH: usize = 32;

/// The entries of the directory `path`, as a stream (and
/// [`ReadDir::next_entry`]). `.` and `..` are not among them; the order is
/// the file system's.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut entries = weft_runtime::fs::read_dir(".").await?;
/// while let Some(entry) = entries.next_entry().await? {
///     let kind = entry.file_type().await?;
///     println!("{} ({})", entry.path().display(), if kind.is_dir() { "dir" } else { "file" });
/// }
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
///
/// # Errors
/// `NotFound`, `PermissionDenied`, `NotADirectory`, ... as the OS reports
/// them when opening; an entry that cannot be read is an `Err` item.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = asyncify(move || std::fs::read_dir(path)).await?;
    Ok(ReadDir {
        state: State::Idle(Some(Batch {
            entries: VecDeque::with_capacity(BATCH),
            std: Some(std),
        })),
    })
}

/// The entries of a directory; see [`read_dir`]. A
/// `futures_core::Stream` of `io::Result<DirEntry>`.
#[derive(Debug)]
pub struct ReadDir {
    state: State,
}

#[derive(Debug)]
enum State {
    /// `None` once the stream has ended for good.
    Idle(Option<Batch>),
    Busy(JoinHandle<Batch>),
}

#[derive(Debug)]
struct Batch {
    entries: VecDeque<io::Result<DirEntry>>,
    /// `None` once the directory has no more entries.
    std: Option<std::fs::ReadDir>,
}

impl Batch {
    /// Fetches up to `BATCH` entries (blocking).
    fn fill(&mut self) {
        let Some(std) = &mut self.std else { return };
        for _ in 0..BATCH {
            match std.next() {
                Some(Ok(entry)) => self.entries.push_back(Ok(DirEntry::new(entry))),
                Some(Err(err)) => {
                    // Where an entry could not be read, the OS's iterator
                    // may not move on: report it and end there.
                    self.entries.push_back(Err(err));
                    self.std = None;
                    return;
                }
                None => {
                    self.std = None;
                    return;
                }
            }
        }
    }
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry; `Ok(None)` at the end.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle(None) => return Poll::Ready(Ok(None)),
                State::Idle(Some(batch)) => {
                    if let Some(entry) = batch.entries.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    if batch.std.is_none() {
                        self.state = State::Idle(None);
                        continue;
                    }
                    let handle = Handle::current_for_io()?;
                    let State::Idle(Some(mut batch)) =
                        std::mem::replace(&mut self.state, State::Idle(None))
                    else {
                        continue;
                    };
                    self.state = State::Busy(handle.spawn_blocking(move || {
                        batch.fill();
                        batch
                    }));
                }
                State::Busy(join) => match ready!(Pin::new(join).poll(cx)) {
                    Ok(batch) => self.state = State::Idle(Some(batch)),
                    Err(cancelled) => {
                        self.state = State::Idle(None);
                        // The OS's error if the pool could start no thread
                        // for the batch, else a shutdown.
                        return Poll::Ready(Err(cancelled.into_cause().unwrap_or_else(|_| {
                            weft_base::gone::RuntimeGone::error(
                                "weft::fs::read_dir: the runtime shut down while reading the \
                                 directory",
                            )
                        })));
                    }
                },
            }
        }
    }
}

impl futures_core::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

/// One entry of a directory, from [`ReadDir`].
#[derive(Debug)]
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// Read with the entry where the directory listing carries it (no
    /// extra system call on most Unix file systems).
    file_type: Option<FileType>,
}

impl DirEntry {
    fn new(std: std::fs::DirEntry) -> DirEntry {
        let file_type = std.file_type().ok();
        DirEntry {
            std: Arc::new(std),
            file_type,
        }
    }

    /// The directory's path joined with the entry's name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name, without the directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's inode number.
    #[cfg(unix)]
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }

    /// The entry's metadata, not following a symbolic link (one hop).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// What the entry is (file, directory, symbolic link, ...), not
    /// following a symbolic link: at once where the listing said, else one
    /// hop.
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(file_type) = self.file_type {
            return Ok(file_type);
        }
        let std = self.std.clone();
        asyncify(move || std.file_type()).await
    }
}
