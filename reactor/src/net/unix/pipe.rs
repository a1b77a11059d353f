//! Unix pipes and FIFOs (tokio's `net::unix::pipe`): [`pipe`] makes an
//! anonymous pair, [`OpenOptions`] opens a FIFO file's end, and the ends,
//! [`Sender`] and [`Receiver`], are registered with the reactor like a
//! socket, with tokio's readiness, `try_*` and I/O-trait methods.
//!
//! Invariants: an end's descriptor is non-blocking while registered (the
//! checked constructors set `O_NONBLOCK`; the `_unchecked` ones leave that
//! to their caller, as tokio's do), and it is the `File` inside a
//! `PollEvented`, so it is deregistered before it closes or is handed
//! back. A `Sender` only writes and a `Receiver` only reads, whatever
//! access mode the descriptor has.

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BufMut;

use crate::io::{Interest, Ready};
use crate::net::stream::{poll_read, poll_read_uninit, poll_write, poll_write_vectored};
use crate::net::stream::{read_into_tokio_buf, read_uninit};
use crate::poll_evented::PollEvented;
use crate::scheduled_io::Direction;

/// A new anonymous pipe: the writing end and the reading end, both
/// registered with the current runtime's reactor (and close-on-exec).
///
/// ```
/// use weft_reactor::io::{AsyncReadExt, AsyncWriteExt};
/// # async fn example() -> std::io::Result<()> {
/// let (mut tx, mut rx) = weft_reactor::net::unix::pipe::pipe()?;
/// tx.write_all(b"hello").await?;
/// drop(tx); // the reader sees end of file after the data
/// let mut got = String::new();
/// rx.read_to_string(&mut got).await?;
/// assert_eq!(got, "hello");
/// # Ok(())
/// # }
/// ```
///
/// # Panics
/// Outside a weft runtime.
#[track_caller]
pub fn pipe() -> io::Result<(Sender, Receiver)> {
    let (read, write) = anonymous_pipe()?;
    Ok((
        Sender::from_owned_fd_unchecked(write)?,
        Receiver::from_owned_fd_unchecked(read)?,
    ))
}

/// How a FIFO file's end is opened: [`new`](Self::new), the options, then
/// [`open_receiver`](Self::open_receiver) or [`open_sender`](Self::open_sender).
/// Both open without blocking: a receiver opens whether or not a writer
/// has the FIFO open; a sender needs a reader there (else `ENXIO`),
/// unless it is opened [`read_write`](Self::read_write).
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    read_write: bool,
    unchecked: bool,
}

impl OpenOptions {
    /// Options that open the end in its own access mode, checking that the
    /// file is a FIFO.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Opens the end for reading and writing (Linux only, where a FIFO
    /// opened so is defined): a receiver that never sees end of file when
    /// the writers leave, and a sender that opens with no reader there.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn read_write(&mut self, value: bool) -> &mut Self {
        self.read_write = value;
        self
    }

    /// Skips the check that the file is a FIFO (one `fstat` less). Opening
    /// something else then gives an end that may block a worker thread or
    /// misbehave.
    pub fn unchecked(&mut self, value: bool) -> &mut Self {
        self.unchecked = value;
        self
    }

    /// Opens the FIFO at `path` as a [`Receiver`].
    ///
    /// # Errors
    /// `InvalidInput` if the file is not a FIFO (unless
    /// [`unchecked`](Self::unchecked)), and whatever `open(2)` reports.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        let file = self.open(path.as_ref(), End::Receiver)?;
        Receiver::from_file_unchecked(file)
    }

    /// Opens the FIFO at `path` as a [`Sender`].
    ///
    /// # Errors
    /// `ENXIO` (`raw_os_error`) if no reader has it open and it is not
    /// opened [`read_write`](Self::read_write); `InvalidInput` if the file
    /// is not a FIFO (unless [`unchecked`](Self::unchecked)); whatever
    /// else `open(2)` reports.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        let file = self.open(path.as_ref(), End::Sender)?;
        Sender::from_file_unchecked(file)
    }

    fn open(&self, path: &Path, end: End) -> io::Result<File> {
        let mut options = std::fs::OpenOptions::new();
        options
            .read(end == End::Receiver)
            .write(end == End::Sender)
            .custom_flags(libc::O_NONBLOCK);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.read_write {
            options.read(true).write(true);
        }
        let file = options.open(path)?;
        if !self.unchecked && !is_pipe(file.as_fd())? {
            return Err(not_a_pipe());
        }
        Ok(file)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Sender,
    Receiver,
}

/// The writing end of a pipe or FIFO.
///
/// Methods take `&self`: any number of tasks may wait on it at once
/// ([`ready`](Self::ready), [`writable`](Self::writable)). Writes of at
/// most `PIPE_BUF` bytes are atomic. Dropping it closes the end; the
/// reader sees end of file once every writer has.
#[derive(Debug)]
pub struct Sender {
    io: PollEvented<File>,
}

impl Sender {
    /// Takes over a file opened on a pipe or FIFO for writing, making it
    /// non-blocking.
    ///
    /// # Errors
    /// `InvalidInput` if it is not a pipe or FIFO, or not opened for
    /// writing (`O_WRONLY` or `O_RDWR`).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_file(file: File) -> io::Result<Sender> {
        Sender::from_owned_fd(file.into())
    }

    /// [`from_file`](Self::from_file) for an owned descriptor.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_owned_fd(owned_fd: OwnedFd) -> io::Result<Sender> {
        prepare(owned_fd.as_fd(), End::Sender)?;
        Sender::from_owned_fd_unchecked(owned_fd)
    }

    /// Takes over `file` as it is: the caller makes sure it is a pipe or
    /// FIFO, opened for writing, and non-blocking (a blocking one would
    /// block a worker thread).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_file_unchecked(file: File) -> io::Result<Sender> {
        Ok(Sender {
            io: PollEvented::new(file)?,
        })
    }

    /// [`from_file_unchecked`](Self::from_file_unchecked) for an owned
    /// descriptor.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_owned_fd_unchecked(owned_fd: OwnedFd) -> io::Result<Sender> {
        Sender::from_file_unchecked(File::from(owned_fd))
    }

    /// Waits for any of `interest`; says which readiness came. It may be a
    /// false positive or empty (a spurious wake-up): check, and try again.
    ///
    /// # Errors
    /// Once the runtime is gone.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let event = self.io.registration().readiness(interest).await?;
        Ok(Ready::from_bits(event.ready))
    }

    /// Waits until a write may make progress (any number of tasks may wait
    /// at once).
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Polls for write readiness. Only the waker of the last call is woken;
    /// [`writable`](Self::writable) has no such limit.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write)
    }

    /// Writes without waiting; `WouldBlock` if the pipe is full.
    ///
    /// # Errors
    /// `BrokenPipe` once no reader is left.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |file| (&*file).write(buf))
    }

    /// Writes from `bufs` in order without waiting; `WouldBlock` if the
    /// pipe is full.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Write, |file| (&*file).write_vectored(bufs))
    }

    /// Runs `f` (your own non-blocking write on this end) if it is ready
    /// for writing, else reports `WouldBlock` without running it; a
    /// `WouldBlock` from `f` clears the readiness. `f` must report
    /// `WouldBlock` only when its operation did.
    pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.io.registration().try_io(Interest::WRITABLE, f)
    }

    /// Deregisters the end and hands its descriptor back, made blocking
    /// (for a child process's standard stream, say).
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = self.into_nonblocking_fd()?;
        set_blocking(fd.as_fd())?;
        Ok(fd)
    }

    /// Deregisters the end and hands its descriptor back, still
    /// non-blocking.
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        Ok(self.io.into_inner()?.into())
    }
}

/// The reading end of a pipe or FIFO.
///
/// Methods take `&self`: any number of tasks may wait on it at once
/// ([`ready`](Self::ready), [`readable`](Self::readable)). Reads end at
/// end of file (`Ok(0)`) once every writer has closed its end (never, for
/// a FIFO opened [`read_write`](OpenOptions::read_write)); a FIFO opened
/// again by a new writer is read on after that.
#[derive(Debug)]
pub struct Receiver {
    io: PollEvented<File>,
}

impl Receiver {
    /// Takes over a file opened on a pipe or FIFO for reading, making it
    /// non-blocking.
    ///
    /// # Errors
    /// `InvalidInput` if it is not a pipe or FIFO, or not opened for
    /// reading (`O_RDONLY` or `O_RDWR`).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_file(file: File) -> io::Result<Receiver> {
        Receiver::from_owned_fd(file.into())
    }

    /// [`from_file`](Self::from_file) for an owned descriptor.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_owned_fd(owned_fd: OwnedFd) -> io::Result<Receiver> {
        prepare(owned_fd.as_fd(), End::Receiver)?;
        Receiver::from_owned_fd_unchecked(owned_fd)
    }

    /// Takes over `file` as it is: the caller makes sure it is a pipe or
    /// FIFO, opened for reading, and non-blocking (a blocking one would
    /// block a worker thread).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_file_unchecked(file: File) -> io::Result<Receiver> {
        Ok(Receiver {
            io: PollEvented::new(file)?,
        })
    }

    /// [`from_file_unchecked`](Self::from_file_unchecked) for an owned
    /// descriptor.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn from_owned_fd_unchecked(owned_fd: OwnedFd) -> io::Result<Receiver> {
        Receiver::from_file_unchecked(File::from(owned_fd))
    }

    /// Waits for any of `interest`; says which readiness came
    /// ([`Ready::is_read_closed`] once the writers are gone). It may be a
    /// false positive or empty (a spurious wake-up): check, and try again.
    ///
    /// # Errors
    /// Once the runtime is gone.
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        let event = self.io.registration().readiness(interest).await?;
        Ok(Ready::from_bits(event.ready))
    }

    /// Waits until a read may make progress (any number of tasks may wait
    /// at once).
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Interest::READABLE).await.map(drop)
    }

    /// Polls for read readiness. Only the waker of the last call is woken;
    /// [`readable`](Self::readable) has no such limit.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read)
    }

    /// Reads without waiting; `WouldBlock` if the pipe is empty, `Ok(0)`
    /// at end of file (or for an empty `buf`).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |file| (&*file).read(buf))
    }

    /// Reads into `bufs` in order without waiting; `WouldBlock` if the pipe
    /// is empty.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |file| (&*file).read_vectored(bufs))
    }

    /// Reads into the spare capacity of `buf` (advancing it) without
    /// waiting; `WouldBlock` if the pipe is empty.
    pub fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |file| read_into_buf_mut(file, buf))
    }

    /// Runs `f` (your own non-blocking read on this end) if it is ready for
    /// reading, else reports `WouldBlock` without running it; a
    /// `WouldBlock` from `f` clears the readiness. `f` must report
    /// `WouldBlock` only when its operation did.
    pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.io.registration().try_io(Interest::READABLE, f)
    }

    /// Deregisters the end and hands its descriptor back, made blocking.
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = self.into_nonblocking_fd()?;
        set_blocking(fd.as_fd())?;
        Ok(fd)
    }

    /// Deregisters the end and hands its descriptor back, still
    /// non-blocking.
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        Ok(self.io.into_inner()?.into())
    }
}

impl tokio::io::AsyncWrite for Sender {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.io, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_write_vectored(&self.io, cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do: a pipe has no half-close; drop the `Sender` to close
    /// it.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl futures_io::AsyncWrite for Sender {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.io, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_write_vectored(&self.io, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do, as tokio's `poll_shutdown`: drop the `Sender` to
    /// close it.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncRead for Receiver {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        read_into_tokio_buf(buf, |b| poll_read_uninit(&self.io, cx, b))
    }
}

impl futures_io::AsyncRead for Receiver {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read(&self.io, cx, buf)
    }
}

/// `AsRawFd` and `AsFd` for an end.
macro_rules! fd_traits {
    ($t:ty) => {
        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }
    };
}

fd_traits!(Sender);
fd_traits!(Receiver);

/// A new pipe, both ends non-blocking and close-on-exec: (read, write).
fn anonymous_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
    ))]
    {
        // SAFETY: `fds` is a valid, writable array of two `c_int`s for the
        // whole call.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just made both descriptors for us; nothing
        // else owns them.
        Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
    )))]
    {
        // SAFETY: as above.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        for fd in [&read, &write] {
            // SAFETY: `fd` is open for the whole call; F_SETFD takes an int.
            if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
                return Err(io::Error::last_os_error());
            }
            let flags = file_flags(fd.as_fd())?;
            set_flags(fd.as_fd(), flags | libc::O_NONBLOCK)?;
        }
        Ok((read, write))
    }
}

fn not_a_pipe() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a pipe")
}

/// Checks that `fd` is a pipe or FIFO opened for `end`, and makes it
/// non-blocking.
fn prepare(fd: BorrowedFd<'_>, end: End) -> io::Result<()> {
    if !is_pipe(fd)? {
        return Err(not_a_pipe());
    }
    let flags = file_flags(fd)?;
    let mode = flags & libc::O_ACCMODE;
    let (wanted, message) = match end {
        End::Sender => (libc::O_WRONLY, "not in O_WRONLY or O_RDWR access mode"),
        End::Receiver => (libc::O_RDONLY, "not in O_RDONLY or O_RDWR access mode"),
    };
    if mode != wanted && mode != libc::O_RDWR {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    }
    if flags & libc::O_NONBLOCK == 0 {
        set_flags(fd, flags | libc::O_NONBLOCK)?;
    }
    Ok(())
}

/// Whether `fd` is a pipe or a FIFO.
fn is_pipe(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fd` is open for the whole call and `stat` is valid for a
    // write of one `libc::stat`.
    if unsafe { libc::fstat(fd.as_raw_fd(), stat.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fstat` succeeded, so it filled `stat` in.
    let mode = unsafe { stat.assume_init() }.st_mode;
    Ok(mode & libc::S_IFMT == libc::S_IFIFO)
}

/// `fd`'s file status flags (`F_GETFL`).
fn file_flags(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: `fd` is open for the whole call; F_GETFL takes no argument.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(flags)
    }
}

/// Sets `fd`'s file status flags (`F_SETFL`).
fn set_flags(fd: BorrowedFd<'_>, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `fd` is open for the whole call; F_SETFL takes an int.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) } < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Clears `O_NONBLOCK` on `fd`.
fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = file_flags(fd)?;
    if flags & libc::O_NONBLOCK != 0 {
        set_flags(fd, flags & !libc::O_NONBLOCK)?;
    }
    Ok(())
}

/// `read(2)` into the spare capacity of `buf`, advancing it.
fn read_into_buf_mut(file: &File, buf: &mut impl BufMut) -> io::Result<usize> {
    if !buf.has_remaining_mut() {
        return Ok(0);
    }
    let chunk = buf.chunk_mut();
    let (ptr, len) = (chunk.as_mut_ptr(), chunk.len());
    // SAFETY: `chunk_mut` hands out `len` bytes valid for writes (possibly
    // uninitialised) while `buf` is borrowed, which it is until `advance_mut`
    // below; `MaybeUninit<u8>` claims nothing about their contents.
    let spare = unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<u8>>(), len) };
    let n = read_uninit(file, spare)?;
    // SAFETY: `read(2)` initialised the first `n` bytes of the spare
    // capacity.
    unsafe { buf.advance_mut(n) };
    Ok(n)
}
