//! `duplex` and `simplex`: in-memory, bounded pipes, for tests and for
//! connecting two pieces of code that each want a byte stream.
//!
//! A duplex is two pipes, one per direction; each end reads from one and
//! writes to the other. A simplex is one pipe, read and written through
//! one value (or its two `split` halves). A pipe is a byte queue of at most `max_buf_size` bytes
//! behind a lock, with the waker of its one reader and its one writer.
//! Invariants: the queue never holds more than `max_buf_size` bytes; a task
//! stores its waker only under the lock, after finding under that same
//! lock that it cannot proceed, and every change that lets the other side
//! proceed (bytes in, bytes out, a close) takes that side's waker under
//! the lock and wakes it after, so no wake-up is lost. No waker is woken
//! or dropped under the lock: either can run arbitrary code (poll the
//! other end inline, or drop it, which takes this same lock). Ready reads and
//! writes spend the cooperative budget, as a socket's do.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

use weft_base::coop;
use weft_base::loom::Mutex;

/// Creates an in-memory pipe whose two ends are connected: what one end
/// writes, the other reads. Each direction buffers at most `max_buf_size`
/// bytes; a writer that finds its direction full waits until the reader
/// takes some.
///
/// Shutting an end down (`AsyncWriteExt::shutdown`) ends its direction: the other
/// end reads what was written, then EOF. Dropping an end closes both
/// directions: the other end reads EOF once it has read what is buffered,
/// and its writes fail with [`BrokenPipe`](io::ErrorKind::BrokenPipe).
///
/// Nothing here needs a runtime.
///
/// # Panics
/// If `max_buf_size` is 0 (no write could ever finish).
///
/// ```
/// use weft_reactor::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// # futures_executor::block_on(async {
/// let (mut a, mut b) = io::duplex(1024);
/// a.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
///
/// drop(a);
/// assert_eq!(b.read(&mut buf).await?, 0); // EOF
/// let err = b.write_all(b"pong").await.unwrap_err();
/// assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
/// # io::Result::Ok(()) }).unwrap();
/// ```
#[track_caller]
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    assert!(max_buf_size > 0, "duplex requires max_buf_size > 0");
    let one = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    let two = Arc::new(Mutex::new(Pipe::new(max_buf_size)));
    (
        DuplexStream {
            read: one.clone(),
            write: two.clone(),
        },
        DuplexStream {
            read: two,
            write: one,
        },
    )
}

/// One end of a [`duplex`] pipe: `AsyncRead` and `AsyncWrite` (tokio's, and
/// futures-io's). Dropping it closes both directions.
pub struct DuplexStream {
    read: Arc<Mutex<Pipe>>,
    write: Arc<Mutex<Pipe>>,
}

/// One direction of a duplex pipe.
struct Pipe {
    buf: VecDeque<u8>,
    max_buf_size: usize,
    /// The writing end closed this direction or was dropped: the reader
    /// gets EOF once `buf` is empty, and writes fail.
    write_closed: bool,
    /// The reading end was dropped: writes fail.
    read_closed: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Pipe {
    fn new(max_buf_size: usize) -> Pipe {
        Pipe {
            buf: VecDeque::new(),
            max_buf_size,
            write_closed: false,
            read_closed: false,
            reader: None,
            writer: None,
        }
    }

    /// Moves up to `room` buffered bytes out through `put` (called with the
    /// bytes in order, in one or two pieces); 0 at EOF or when `room` is 0.
    /// Also returns the writer's waker when bytes left.
    fn read(
        &mut self,
        cx: &Context<'_>,
        room: usize,
        mut put: impl FnMut(&[u8]),
    ) -> (Poll<usize>, Outside) {
        if room == 0 {
            return (Poll::Ready(0), Outside::NOTHING);
        }
        if self.buf.is_empty() {
            if self.write_closed {
                return (Poll::Ready(0), Outside::NOTHING);
            }
            return (Poll::Pending, register(&mut self.reader, cx.waker()));
        }
        let n = room.min(self.buf.len());
        let (front, back) = self.buf.as_slices();
        let from_front = n.min(front.len());
        put(&front[..from_front]);
        if n > from_front {
            put(&back[..n - from_front]);
        }
        self.buf.drain(..n);
        (Poll::Ready(n), Outside::wake(self.writer.take()))
    }

    /// Buffers as much of `bufs` as fits, in order; pending when nothing
    /// does. Also returns the reader's waker when bytes arrived.
    fn write(
        &mut self,
        cx: &Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> (Poll<io::Result<usize>>, Outside) {
        if self.write_closed {
            let closed = broken_pipe("this end was closed");
            return (Poll::Ready(Err(closed)), Outside::NOTHING);
        }
        if self.read_closed {
            let dropped = broken_pipe("the other end was dropped");
            return (Poll::Ready(Err(dropped)), Outside::NOTHING);
        }
        if bufs.iter().all(|buf| buf.is_empty()) {
            return (Poll::Ready(Ok(0)), Outside::NOTHING);
        }
        let room = self.max_buf_size - self.buf.len();
        if room == 0 {
            return (Poll::Pending, register(&mut self.writer, cx.waker()));
        }
        let mut n = 0;
        for buf in bufs {
            let take = (room - n).min(buf.len());
            self.buf.extend(&buf[..take]);
            n += take;
        }
        (Poll::Ready(Ok(n)), Outside::wake(self.reader.take()))
    }

    /// Ends this direction for the writer; returns the reader's waker.
    fn close_write(&mut self) -> Option<Waker> {
        self.write_closed = true;
        self.reader.take()
    }

    /// The reader is gone: drops what it will never read; returns the
    /// writer's waker.
    fn close_read(&mut self) -> Option<Waker> {
        self.read_closed = true;
        self.buf = VecDeque::new();
        self.writer.take()
    }
}

/// Keeps `waker` in `slot`, cloning only when it would wake another task;
/// the waker it replaces is dropped outside the lock.
fn register(slot: &mut Option<Waker>, waker: &Waker) -> Outside {
    match slot {
        Some(stored) if stored.will_wake(waker) => Outside::NOTHING,
        _ => Outside {
            wake: None,
            drop: slot.replace(waker.clone()),
        },
    }
}

/// What a pipe operation leaves to do once the lock is released: a waker
/// to wake (the other side can proceed) and a replaced waker to drop.
#[must_use = "wakers must be woken and dropped outside the lock"]
struct Outside {
    wake: Option<Waker>,
    drop: Option<Waker>,
}

impl Outside {
    const NOTHING: Outside = Outside {
        wake: None,
        drop: None,
    };

    fn wake(waker: Option<Waker>) -> Outside {
        Outside {
            wake: waker,
            drop: None,
        }
    }

    /// Call with the lock released.
    fn run(self) {
        wake(self.wake);
        drop(self.drop);
    }
}

fn broken_pipe(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, why)
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Reads from `pipe` through `put`, spending budget when ready; the lock is
/// released before the writer is woken.
fn poll_read_with(
    pipe: &Mutex<Pipe>,
    cx: &mut Context<'_>,
    room: usize,
    put: impl FnMut(&[u8]),
) -> Poll<io::Result<()>> {
    let budget = ready!(coop::poll_proceed(cx));
    let (poll, outside) = pipe.lock().read(cx, room, put);
    outside.run();
    ready!(poll);
    budget.made_progress();
    Poll::Ready(Ok(()))
}

/// Reads from `pipe` into a `ReadBuf`'s unfilled part, which need not be
/// initialised first.
fn poll_read_buf(
    pipe: &Mutex<Pipe>,
    cx: &mut Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    poll_read_with(pipe, cx, buf.remaining(), |bytes| buf.put_slice(bytes))
}

/// Reads from `pipe` into a plain slice.
fn poll_read_slice(
    pipe: &Mutex<Pipe>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let mut filled = 0;
    ready!(poll_read_with(pipe, cx, buf.len(), |bytes| {
        buf[filled..filled + bytes.len()].copy_from_slice(bytes);
        filled += bytes.len();
    }))?;
    Poll::Ready(Ok(filled))
}

/// Writes to `pipe`, spending budget when ready.
fn poll_write(pipe: &Mutex<Pipe>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
    poll_write_vectored(pipe, cx, &[IoSlice::new(data)])
}

/// Writes as much of `bufs` to `pipe` as fits, spending budget when ready.
fn poll_write_vectored(
    pipe: &Mutex<Pipe>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    let budget = ready!(coop::poll_proceed(cx));
    let (poll, outside) = pipe.lock().write(cx, bufs);
    outside.run();
    let result = ready!(poll);
    budget.made_progress();
    Poll::Ready(result)
}

/// Ends `pipe`'s writing side: its reader gets EOF after the buffered bytes.
fn close(pipe: &Mutex<Pipe>) {
    let reader = pipe.lock().close_write();
    wake(reader);
}

/// tokio's `AsyncRead` and `AsyncWrite` for a pipe end that reads from its
/// field `$read` and writes to `$write`. Reads copy straight into the
/// unfilled part of the `ReadBuf`, so it need not be initialised first;
/// shutdown ends the writing direction (the reader gets EOF after the
/// buffered bytes, and later writes here fail with `BrokenPipe`).
macro_rules! tokio_pipe_io {
    ($t:ty, $read:ident, $write:ident) => {
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read_buf(&self.$read, cx, buf)
            }
        }

        impl tokio::io::AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                poll_write(&self.$write, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                poll_write_vectored(&self.$write, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                close(&self.$write);
                Poll::Ready(Ok(()))
            }
        }
    };
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        let reader = self.write.lock().close_write();
        let writer = self.read.lock().close_read();
        wake(reader);
        wake(writer);
    }
}

impl fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DuplexStream").finish_non_exhaustive()
    }
}

tokio_pipe_io!(DuplexStream, read, write);

impl futures_io::AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read_slice(&self.read, cx, buf)
    }
}

impl futures_io::AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.write, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        close(&self.write);
        Poll::Ready(Ok(()))
    }
}

/// Creates a one-way in-memory pipe of at most `max_buf_size` buffered
/// bytes and splits it: what the write half writes, the read half reads.
/// Shutting the write half down gives the reader EOF after the buffered
/// bytes.
///
/// # Panics
/// If `max_buf_size` is 0.
///
/// ```
/// use weft_reactor::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// # futures_executor::block_on(async {
/// let (mut rx, mut tx) = io::simplex(16);
/// tx.write_all(b"one way").await?;
/// tx.shutdown().await?;
/// let mut got = String::new();
/// rx.read_to_string(&mut got).await?;
/// assert_eq!(got, "one way");
/// # io::Result::Ok(()) }).unwrap();
/// ```
#[track_caller]
pub fn simplex(
    max_buf_size: usize,
) -> (
    tokio::io::ReadHalf<SimplexStream>,
    tokio::io::WriteHalf<SimplexStream>,
) {
    tokio::io::split(SimplexStream::new_unsplit(max_buf_size))
}

/// A one-way in-memory pipe read and written through the same value (see
/// [`simplex`] for the split form). Shutting it down ends the writing:
/// reads give EOF once the buffered bytes are read.
pub struct SimplexStream {
    pipe: Mutex<Pipe>,
}

impl SimplexStream {
    /// A pipe buffering at most `max_buf_size` bytes, not split.
    ///
    /// # Panics
    /// If `max_buf_size` is 0.
    #[track_caller]
    pub fn new_unsplit(max_buf_size: usize) -> SimplexStream {
        assert!(max_buf_size > 0, "simplex requires max_buf_size > 0");
        SimplexStream {
            pipe: Mutex::new(Pipe::new(max_buf_size)),
        }
    }
}

impl fmt::Debug for SimplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimplexStream").finish_non_exhaustive()
    }
}

tokio_pipe_io!(SimplexStream, pipe, pipe);

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use futures_io::{AsyncRead, AsyncWrite};

    use super::close as close_write;
    use super::*;

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        (counter.clone(), Waker::from(counter))
    }

    fn read(end: &mut DuplexStream, waker: &Waker, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(end).poll_read(&mut Context::from_waker(waker), buf)
    }

    fn write(end: &mut DuplexStream, waker: &Waker, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(end).poll_write(&mut Context::from_waker(waker), buf)
    }

    #[test]
    fn a_write_takes_only_what_fits_and_a_read_only_what_is_there() {
        let (mut a, mut b) = duplex(4);
        let (_, w) = waker();
        assert!(matches!(write(&mut a, &w, b"abcdef"), Poll::Ready(Ok(4))));
        let mut buf = [0u8; 3];
        assert!(matches!(read(&mut b, &w, &mut buf), Poll::Ready(Ok(3))));
        assert_eq!(&buf, b"abc");
        assert!(matches!(write(&mut a, &w, b"ef"), Poll::Ready(Ok(2))));
        let mut buf = [0u8; 8];
        assert!(matches!(read(&mut b, &w, &mut buf), Poll::Ready(Ok(3))));
        assert_eq!(&buf[..3], b"def");
    }

    #[test]
    fn each_direction_wakes_only_its_own_waiter_and_only_on_change() {
        let (mut a, mut b) = duplex(2);
        let (reader_wakes, reader) = waker();
        let (writer_wakes, writer) = waker();
        let mut buf = [0u8; 8];
        // b waits to read; a reads nothing from the other direction.
        assert!(read(&mut b, &reader, &mut buf).is_pending());
        assert!(read(&mut a, &writer, &mut buf).is_pending());
        assert!(matches!(write(&mut a, &writer, b"xy"), Poll::Ready(Ok(2))));
        assert_eq!(reader_wakes.0.load(Ordering::SeqCst), 1);
        assert!(write(&mut a, &writer, b"z").is_pending());
        assert_eq!(writer_wakes.0.load(Ordering::SeqCst), 0);
        // An empty read takes nothing and so wakes nobody.
        assert!(matches!(read(&mut b, &reader, &mut []), Poll::Ready(Ok(0))));
        assert_eq!(writer_wakes.0.load(Ordering::SeqCst), 0);
        assert!(matches!(
            read(&mut b, &reader, &mut buf[..1]),
            Poll::Ready(Ok(1))
        ));
        assert_eq!(writer_wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(reader_wakes.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn closing_keeps_buffered_bytes_readable_then_gives_eof() {
        let (mut a, mut b) = duplex(8);
        let (wakes, w) = waker();
        let mut buf = [0u8; 8];
        assert!(read(&mut b, &w, &mut buf).is_pending());
        assert!(matches!(write(&mut a, &w, b"last"), Poll::Ready(Ok(4))));
        close_write(&a.write);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert!(matches!(read(&mut b, &w, &mut buf), Poll::Ready(Ok(4))));
        assert!(matches!(read(&mut b, &w, &mut buf), Poll::Ready(Ok(0))));
        // The closed end may not write, but the other direction is open.
        let err = match write(&mut a, &w, b"more") {
            Poll::Ready(Err(err)) => err,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(matches!(write(&mut b, &w, b"back"), Poll::Ready(Ok(4))));
        assert!(matches!(read(&mut a, &w, &mut buf), Poll::Ready(Ok(4))));
    }

    #[test]
    fn dropping_an_end_wakes_a_blocked_writer_with_broken_pipe() {
        let (mut a, b) = duplex(1);
        let (wakes, w) = waker();
        assert!(matches!(write(&mut a, &w, b"ab"), Poll::Ready(Ok(1))));
        assert!(write(&mut a, &w, b"b").is_pending());
        drop(b);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        match write(&mut a, &w, b"b") {
            Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::BrokenPipe),
            other => panic!("expected BrokenPipe, got {other:?}"),
        }
        assert!(matches!(
            read(&mut a, &w, &mut [0u8; 4]),
            Poll::Ready(Ok(0))
        ));
    }

    /// A waker that owns the other end: replacing it drops that end, whose
    /// drop takes the pipe's lock, so the replaced waker must be dropped
    /// after the lock is released (or the read deadlocks).
    #[test]
    fn a_replaced_waker_that_owns_the_other_end_is_dropped_outside_the_lock() {
        struct Owner(#[allow(dead_code)] DuplexStream);
        impl Wake for Owner {
            fn wake(self: Arc<Self>) {}
        }

        let (mut a, peer) = duplex(1);
        let owner = Waker::from(Arc::new(Owner(peer)));
        let mut buf = [0u8; 1];
        assert!(read(&mut a, &owner, &mut buf).is_pending());
        drop(owner);
        let (wakes, other) = waker();
        assert!(read(&mut a, &other, &mut buf).is_pending());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the dropped end woke us");
        assert!(matches!(read(&mut a, &other, &mut buf), Poll::Ready(Ok(0))));

        let (mut a, peer) = duplex(1);
        assert!(matches!(write(&mut a, &other, b"x"), Poll::Ready(Ok(1))));
        let owner = Waker::from(Arc::new(Owner(peer)));
        assert!(write(&mut a, &owner, b"y").is_pending());
        drop(owner);
        assert!(write(&mut a, &other, b"y").is_pending());
        assert!(matches!(write(&mut a, &other, b"y"), Poll::Ready(Err(_))));
    }

    #[test]
    #[should_panic(expected = "max_buf_size > 0")]
    fn a_zero_sized_pipe_is_refused() {
        let _ = duplex(0);
    }
}
