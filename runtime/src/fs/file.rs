//! `File`: an open file, read and written through the blocking adapter
//! (`io/pool_io.rs`), so that small reads and writes are batched into
//! few hops to the blocking pool.
//!
//! The `std` file is shared (`Arc`) between the adapter, which moves its
//! reference to the pool and back with each read, write, seek or sync, and
//! this struct, whose reference serves the calls that need no order with
//! those (`metadata`, `set_permissions`, `try_clone`).

mod ops;

use std::fs::{File as StdFile, Metadata, Permissions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{asyncify, OpenOptions};
use crate::io::pool_io::{BlockingIo, PoolIo};

/// An open file, for async reads, writes and seeks.
///
/// Reads fetch ahead (64 KiB, growing to 1 MiB while reads go straight
/// on) and small reads are served from what was fetched; writes are
/// buffered and go out a window at a time or on `flush`. So reading or
/// writing in small pieces costs few trips to the blocking pool.
///
/// Because of the write buffer:
/// - a write returns before its bytes reach the OS, and its error comes
///   back from the next operation on the file (a flush, seek, read, write
///   or sync); flush (`AsyncWriteExt::flush`) or [`sync_all`](File::sync_all)
///   to know the bytes are written;
/// - a `File` dropped with bytes still buffered writes them on the
///   dropping thread before closing, ignoring errors (as
///   `std::io::BufWriter`); a write already on its way to the blocking
///   pool finishes there on its own, unless the runtime shuts down first.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::io::SeekFrom;
/// use weft_reactor::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use weft_runtime::fs::File;
///
/// let path = std::env::temp_dir().join(format!("weft-file-doc-{}", std::process::id()));
/// let mut file = File::create(&path).await?;
/// file.write_all(b"hello, world").await?;
/// file.seek(SeekFrom::Start(7)).await?; // writes the buffer first
/// file.write_all(b"weft!").await?;
/// file.sync_all().await?;
///
/// let mut text = String::new();
/// File::open(&path).await?.read_to_string(&mut text).await?;
/// assert_eq!(text, "hello, weft!");
/// # weft_runtime::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct File {
    std: Arc<StdFile>,
    io: PoolIo<Arc<StdFile>>,
    /// A seek started (`AsyncSeek::start_seek`) and not yet completed.
    seek: Option<SeekFrom>,
}

impl File {
    /// Opens `path` for reading.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`, ... as the OS reports them. Opening
    /// a directory succeeds on Unix; reading it fails with `IsADirectory`.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` for writing, creating it or truncating it first.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates `path` and opens it for reading and writing; fails with
    /// `AlreadyExists` if it exists (atomically).
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// Options to open a file with; the same as [`OpenOptions::new`].
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std` file. Needs no runtime until the first
    /// operation.
    pub fn from_std(std: StdFile) -> File {
        File::from_shared(Arc::new(std))
    }

    fn from_shared(std: Arc<StdFile>) -> File {
        File {
            io: PoolIo::new(std.clone()),
            std,
            seek: None,
        }
    }

    /// Gives up the adapter's reference; what is left is ours and any
    /// `metadata`-like call still running.
    fn into_shared(mut self) -> Arc<StdFile> {
        self.io.close();
        self.std.clone()
    }

    /// The `std` file, once the operation in flight has finished and the
    /// buffered bytes are written (an error doing so is lost, as at drop:
    /// flush first to see it). The position is the logical one, read-ahead
    /// given back.
    pub async fn into_std(mut self) -> StdFile {
        if self.io.run(|_| Ok(0)).await.is_err() {
            // No runtime to hop to: the bytes still buffered are written
            // here (a failed hop has dropped its own).
            self.io.write_pending_now();
        }
        let mut std = self.into_shared();
        loop {
            match Arc::try_unwrap(std) {
                Ok(file) => return file,
                // A `metadata`, `set_permissions` or `try_clone` whose
                // future was dropped still holds the file for one system
                // call on the pool; let it finish.
                Err(shared) => {
                    std = shared;
                    crate::task::yield_now().await;
                }
            }
        }
    }

    /// The `std` file at once, or this `File` back if an operation is in
    /// flight or written bytes are still buffered. Read-ahead is given
    /// back to the OS position on this thread (one `lseek`).
    pub fn try_into_std(mut self) -> Result<StdFile, File> {
        if self.io.is_busy() || self.io.settle_now().is_err() {
            return Err(self);
        }
        Arc::try_unwrap(self.into_shared()).map_err(File::from_shared)
    }

    /// Writes the buffered bytes and waits until the data and metadata are
    /// on disk (`fsync`).
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.io
            .run(|file| file.sync_all().map(|()| 0))
            .await
            .map(drop)
    }

    /// As [`sync_all`](File::sync_all), without the metadata that reading
    /// the data does not need (`fdatasync`).
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.io
            .run(|file| file.sync_data().map(|()| 0))
            .await
            .map(drop)
    }

    /// Truncates or extends the file to `size` bytes (buffered bytes are
    /// written first); the position does not move.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.io
            .run(move |file| file.set_len(size).map(|()| 0))
            .await
            .map(drop)
    }

    /// The file's metadata as the OS has it: bytes this `File` still
    /// buffers are not counted (flush first).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// Sets the file's permissions.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let std = self.std.clone();
        asyncify(move || std.set_permissions(perm)).await
    }

    /// A new `File` for the same open file (`dup`), with the same
    /// [`max_buf_size`](File::max_buf_size): it shares the OS position,
    /// which is past this `File`'s own by whatever it has read ahead, and
    /// it does not see bytes this one still buffers.
    pub async fn try_clone(&self) -> io::Result<File> {
        let std = self.std.clone();
        let max_buf_size = self.max_buf_size();
        let mut file = asyncify(move || std.try_clone())
            .await
            .map(File::from_std)?;
        file.set_max_buf_size(max_buf_size);
        Ok(file)
    }
}

/// Reads are served from the read-ahead, copied into the unfilled part of
/// the `ReadBuf`.
impl tokio::io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_read_buf(cx, buf)
    }
}

impl tokio::io::AsyncBufRead for File {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().io.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().io.consume(amt);
    }
}

/// Writes are buffered: see the type's docs for when the bytes reach the
/// OS and where a write's error comes back.
impl tokio::io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_write(cx, buf)
    }

    /// Buffers the slices' bytes in order, as one write.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Waits for the operation in flight and writes the buffered bytes;
    /// the error of any earlier write comes back here. (The bytes are with
    /// the OS, not necessarily on disk: see [`File::sync_all`].)
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_flush(cx)
    }

    /// Flushes; the file closes when dropped.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_flush(cx)
    }
}

/// A seek writes the buffered bytes first and gives read-ahead back.
impl tokio::io::AsyncSeek for File {
    /// # Errors
    /// `Other` if a seek started earlier has not completed.
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        if this.seek.is_some() {
            return Err(io::Error::other(
                "a seek is already in progress: complete it before starting another",
            ));
        }
        this.seek = Some(pos);
        Ok(())
    }

    /// The position after the started seek, or the current position when
    /// none was started.
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let pos = this.seek.unwrap_or(SeekFrom::Current(0));
        let res = std::task::ready!(this.io.poll_seek(cx, pos));
        this.seek = None;
        Poll::Ready(res)
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_read(cx, buf)
    }
}

impl futures_io::AsyncBufRead for File {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().io.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().io.consume(amt);
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_flush(cx)
    }
}

impl futures_io::AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().io.poll_seek(cx, pos)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        self.io.write_pending_now();
    }
}

impl From<StdFile> for File {
    fn from(std: StdFile) -> File {
        File::from_std(std)
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("weft::fs::File")
            .field("std", &self.std)
            .field("io", &self.io)
            .finish()
    }
}

impl BlockingIo for Arc<StdFile> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&**self).read(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&**self).write_all(buf)
    }

    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&**self).seek(pos)
    }
}
