//! `PoolIo`, the adapter behind `fs::File` and the standard streams: async
//! reads, writes and seeks over a blocking handle (a file, stdin, stdout,
//! stderr), batched so that each trip to the blocking pool (a *hop*) moves
//! a lot of bytes.
//!
//! The handle and one buffer travel together (a `Load`): while idle they sit here; a
//! hop moves both to a pool thread and back with its result. The buffer is
//! what batches:
//!
//! - A read hop fetches a whole *window* (at least the caller's buffer),
//!   and later reads are served from it without a hop. The window starts
//!   at 64 KiB (a small file is one hop; a thousand open files cost 64 MiB
//!   at most) and doubles each time a hop fills it, up to 1 MiB: a hop
//!   costs some microseconds of thread hand-off, and copying 1 MiB out of
//!   the page cache takes tens, so past 1 MiB the hops are noise while the
//!   memory is not. A seek starts again at 64 KiB (random access should not
//!   drag 1 MiB per small read).
//! - Writes are copied into the buffer and return at once; a window's worth
//!   (or a flush, seek, read, `sync_all`, ...) goes out in one hop, which
//!   grows the window the same way.
//!
//! Invariants: at most one hop is in flight, and while one is, nothing
//! else touches the handle. The buffer holds either read-ahead (bytes the
//! OS has handed over and the caller has not) or bytes written to us and
//! not yet to the OS, never both. Every hop first *settles* the handle:
//! it writes the pending bytes and moves the OS position back over any
//! read-ahead, so that the operation proper starts at the logical position
//! (a seek relative to the current position needs no arithmetic here).
//!
//! Errors: a read's or a seek's error is returned by that call. A write
//! hop's error has no caller left (the write returned already), so it is
//! kept and returned by the next operation on the handle, a flush included;
//! the bytes of a failed write are dropped. If the runtime shuts down while
//! a hop is in flight, the handle is gone with it, and every later
//! operation says so.

use std::future::{poll_fn, Future};
use std::io::{self, SeekFrom};
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::runtime::Handle;
use crate::task::JoinHandle;

/// The first read-ahead / write window, and the one after a seek.
const MIN_WINDOW: usize = 64 * 1024;
/// The largest window a hop moves.
const MAX_WINDOW: usize = 1024 * 1024;

/// A blocking handle the adapter can drive: the three calls a hop makes.
/// A handle that cannot seek or write answers with an error (the public
/// types never ask it to).
pub(crate) trait BlockingIo: Send + 'static {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes all of `buf` and flushes whatever buffer the handle has.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64>;
}

/// An async handle over the blocking `T`.
pub(crate) struct PoolIo<T> {
    state: State<T>,
    /// The error of a write hop, for the next operation.
    write_err: Option<io::Error>,
    /// How much a read hop fetches and how much a write hop gathers.
    window: usize,
    /// The most `window` may grow to (`MAX_WINDOW` unless the user set
    /// less).
    max_window: usize,
}

enum State<T> {
    Idle(Load<T>),
    /// A hop is in flight with the load; `Op` says what it does.
    Busy(JoinHandle<(Load<T>, io::Result<u64>)>, Op),
    /// The runtime shut down with a hop in flight (or the owner took the
    /// handle apart): no handle any more.
    Lost,
}

/// What a hop does after settling, and so who takes its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Reads up to this many bytes into the buffer.
    Read(usize),
    /// Writes this many buffered bytes (the settling does it).
    Write(usize),
    Seek(SeekFrom),
    /// `run`: an operation of the owner's (sync, set_len, ...).
    Other,
}

/// The handle and its buffer: what a hop takes to the pool thread.
struct Load<T> {
    io: T,
    buf: Buf,
}

/// One buffer for both directions. `data` only grows and stays
/// initialised, so a read hop does not zero it again.
struct Buf {
    data: Vec<u8>,
    /// `data[start..end]` is read-ahead, or pending writes if `writing`.
    start: usize,
    end: usize,
    writing: bool,
    /// How far the OS position is ahead of the logical one because of
    /// read-ahead given back (to make room for writes).
    rewind: u64,
}

impl Buf {
    fn new() -> Buf {
        Buf {
            data: Vec::new(),
            start: 0,
            end: 0,
            writing: false,
            rewind: 0,
        }
    }

    fn unread(&self) -> &[u8] {
        if self.writing {
            &[]
        } else {
            &self.data[self.start..self.end]
        }
    }

    fn pending(&self) -> usize {
        if self.writing {
            self.end - self.start
        } else {
            0
        }
    }

    fn consume(&mut self, n: usize) {
        debug_assert!(!self.writing || n == 0);
        self.start = (self.start + n).min(self.end);
    }

    /// Buffers up to `limit` pending bytes of `src`; read-ahead is given
    /// back first (the next hop rewinds over it).
    fn append(&mut self, src: &[u8], limit: usize) -> usize {
        if !self.writing {
            self.rewind += (self.end - self.start) as u64;
            self.start = 0;
            self.end = 0;
            self.writing = true;
        }
        let n = src.len().min(limit.saturating_sub(self.end));
        let end = self.end + n;
        if self.data.len() < end {
            // Grow by the bytes themselves, not by zeroes first.
            self.data.truncate(self.end);
            self.data.extend_from_slice(&src[..n]);
        } else {
            self.data[self.end..end].copy_from_slice(&src[..n]);
        }
        self.end = end;
        n
    }
}

impl<T: BlockingIo> Load<T> {
    /// Brings the OS position to the logical one: moves back over
    /// read-ahead, then writes the pending bytes (dropped if that fails).
    fn settle(&mut self) -> io::Result<()> {
        let buf = &mut self.buf;
        let back = buf.rewind + buf.unread().len() as u64;
        let pending = buf.pending();
        let (start, end) = (buf.start, buf.end);
        *buf = Buf {
            data: mem::take(&mut buf.data),
            ..Buf::new()
        };
        if back > 0 {
            let back = i64::try_from(back).map_err(|_| io::ErrorKind::InvalidInput)?;
            self.io.seek(SeekFrom::Current(-back))?;
        }
        if pending > 0 {
            self.io.write_all(&self.buf.data[start..end])?;
        }
        Ok(())
    }

    /// One `read` of up to `len` bytes into the (settled, empty) buffer.
    fn read(&mut self, len: usize) -> io::Result<u64> {
        let buf = &mut self.buf;
        if buf.data.len() < len {
            // Settled, so empty: a fresh zeroed allocation (pages the OS
            // zeroes) instead of writing zeroes over the old one.
            buf.data = vec![0; len];
        }
        let n = loop {
            match self.io.read(&mut buf.data[..len]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                res => break res?,
            }
        };
        buf.start = 0;
        buf.end = n;
        Ok(n as u64)
    }
}

impl<T: BlockingIo> PoolIo<T> {
    pub(crate) fn new(io: T) -> PoolIo<T> {
        PoolIo {
            state: State::Idle(Load {
                io,
                buf: Buf::new(),
            }),
            write_err: None,
            window: MIN_WINDOW,
            max_window: MAX_WINDOW,
        }
    }

    /// Caps the window: no hop moves more than `max` bytes, so no read or
    /// write call does either. `max` must be at least 1.
    pub(crate) fn set_max_window(&mut self, max: usize) {
        debug_assert!(max > 0);
        self.max_window = max;
        self.window = self.window.min(max);
    }

    /// The cap [`set_max_window`](Self::set_max_window) set (1 MiB unless
    /// set).
    pub(crate) fn max_window(&self) -> usize {
        self.max_window
    }

    /// Waits for the hop in flight, if any, and takes the load back with
    /// the hop's result. A write hop's error moves to `write_err`.
    fn poll_hop(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Op, io::Result<u64>)>> {
        let State::Busy(join, op) = &mut self.state else {
            return Poll::Ready(None);
        };
        let op = *op;
        let (load, mut res) = match ready!(Pin::new(join).poll(cx)) {
            Ok(done) => done,
            Err(cancelled) => {
                // The handle went with the hop: closed. This operation
                // reports why (the OS's error if the pool could start no
                // thread for the hop); later ones that it is lost.
                self.state = State::Lost;
                let err = cancelled.into_cause().unwrap_or_else(|_| lost());
                return Poll::Ready(Some((op, Err(err))));
            }
        };
        self.state = State::Idle(load);
        match (op, &res) {
            (Op::Read(len), Ok(n)) if *n == len as u64 => self.grow(),
            (Op::Write(len), Ok(_)) if len >= self.window => self.grow(),
            (Op::Write(_), Err(_)) => {
                self.write_err = res.err();
                res = Ok(0);
            }
            (Op::Seek(_), _) => self.window = MIN_WINDOW.min(self.max_window),
            _ => {}
        }
        Poll::Ready(Some((op, res)))
    }

    fn grow(&mut self) {
        self.window = (self.window * 2).min(self.max_window);
    }

    /// The idle load, or the error the next operation must report.
    fn load(&mut self) -> io::Result<&mut Load<T>> {
        if let Some(err) = self.write_err.take() {
            return Err(err);
        }
        match &mut self.state {
            State::Idle(load) => Ok(load),
            State::Lost => Err(lost()),
            // Callers wait for the hop first.
            State::Busy(..) => Err(io::Error::other("an operation is still in flight")),
        }
    }

    /// Sends the idle load on a hop that settles it and then does `work`.
    fn spawn<F>(&mut self, handle: &Handle, op: Op, work: F)
    where
        F: FnOnce(&mut Load<T>) -> io::Result<u64> + Send + 'static,
    {
        // Callers check that the handle is idle; were it not, nothing is
        // sent and their next look at `load()` reports it.
        let mut load = match mem::replace(&mut self.state, State::Lost) {
            State::Idle(load) => load,
            other => {
                self.state = other;
                return;
            }
        };
        let join = handle.spawn_blocking(move || {
            let res = load.settle().and_then(|()| work(&mut load));
            (load, res)
        });
        self.state = State::Busy(join, op);
    }

    /// Read-ahead, empty while a hop is in flight or at end of file.
    pub(crate) fn unread(&self) -> &[u8] {
        match &self.state {
            State::Idle(load) => load.buf.unread(),
            _ => &[],
        }
    }

    /// Marks `n` bytes of read-ahead as read.
    pub(crate) fn consume(&mut self, n: usize) {
        if let State::Idle(load) = &mut self.state {
            load.buf.consume(n);
        }
    }

    /// Makes sure there is read-ahead, fetching up to `want` bytes (at
    /// least a window's worth) if there is none. Ready with no read-ahead
    /// means end of file.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<()>> {
        loop {
            let finished = ready!(self.poll_hop(cx));
            let load = self.load()?;
            if let Some((Op::Read(_), res)) = finished {
                return Poll::Ready(res.map(drop));
            }
            if !load.buf.unread().is_empty() {
                return Poll::Ready(Ok(()));
            }
            let handle = Handle::current_for_io()?;
            let len = want.clamp(self.window, self.max_window);
            self.spawn(&handle, Op::Read(len), move |load| load.read(len));
        }
    }

    /// `AsyncBufRead::poll_fill_buf`: the read-ahead, fetched if there is
    /// none; empty at end of file.
    pub(crate) fn poll_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        ready!(self.poll_fill(cx, 0))?;
        Poll::Ready(Ok(self.unread()))
    }

    /// Reads up to `room` bytes of read-ahead (fetching some if there is
    /// none), handing them to `put`; returns how many.
    fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        room: usize,
        put: impl FnOnce(&[u8]),
    ) -> Poll<io::Result<usize>> {
        if room == 0 {
            return Poll::Ready(Ok(0));
        }
        ready!(self.poll_fill(cx, room))?;
        let unread = self.unread();
        let n = unread.len().min(room);
        put(&unread[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, dst.len(), |bytes| {
            dst[..bytes.len()].copy_from_slice(bytes)
        })
    }

    /// `tokio::io::AsyncRead::poll_read`: copies into the unfilled part.
    pub(crate) fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let room = dst.remaining();
        ready!(self.poll_read_with(cx, room, |bytes| dst.put_slice(bytes)))?;
        Poll::Ready(Ok(()))
    }

    /// Buffers (some of) `src`; a full window goes out in a hop that this
    /// call does not wait for.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(src)])
    }

    /// Buffers (some of) the bytes of `bufs`, in order, as one write: as
    /// [`poll_write`](Self::poll_write), up to a window in all.
    pub(crate) fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_hop(cx));
        let window = self.window;
        let load = self.load()?;
        let len = bufs.iter().map(|buf| buf.len()).sum::<usize>();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        // Find the runtime before buffering, so that an error leaves
        // nothing behind.
        let handle = if load.buf.pending() + len >= window {
            Some(Handle::current_for_io()?)
        } else {
            None
        };
        let mut n = 0;
        for buf in bufs {
            let taken = load.buf.append(buf, window);
            n += taken;
            if taken < buf.len() {
                break;
            }
        }
        let pending = load.buf.pending();
        if let Some(handle) = handle {
            self.spawn(&handle, Op::Write(pending), |_| Ok(0));
        }
        Poll::Ready(Ok(n))
    }

    /// Sends the pending bytes on a hop if none is in flight, without
    /// waiting (the standard streams write through, as tokio's do).
    pub(crate) fn start_flush(&mut self) {
        let pending = match &self.state {
            State::Idle(load) => load.buf.pending(),
            _ => 0,
        };
        if pending > 0 {
            // Without a runtime the bytes wait for the next flush, which
            // reports the error.
            if let Ok(handle) = Handle::current_for_io() {
                self.spawn(&handle, Op::Write(pending), |_| Ok(0));
            }
        }
    }

    /// Waits for the hop in flight and writes the pending bytes.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_hop(cx));
            let pending = self.load()?.buf.pending();
            if pending == 0 {
                return Poll::Ready(Ok(()));
            }
            let handle = Handle::current_for_io()?;
            self.spawn(&handle, Op::Write(pending), |_| Ok(0));
        }
    }

    /// Moves the logical position (pending bytes are written first).
    pub(crate) fn poll_seek(
        &mut self,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        loop {
            // A seek finished here is ours unless it went elsewhere (a
            // poll_seek given up on for another one).
            if let Some((Op::Seek(to), res)) = ready!(self.poll_hop(cx)) {
                if to == pos {
                    return Poll::Ready(res);
                }
            }
            self.load()?;
            let handle = Handle::current_for_io()?;
            self.spawn(&handle, Op::Seek(pos), move |load| load.io.seek(pos));
        }
    }

    /// Waits for the hop in flight, then runs `f` on the settled handle in
    /// one hop and returns its result.
    pub(crate) async fn run<F>(&mut self, f: F) -> io::Result<u64>
    where
        F: FnOnce(&mut T) -> io::Result<u64> + Send + 'static,
    {
        poll_fn(|cx| self.poll_hop(cx)).await;
        self.load()?;
        let handle = Handle::current_for_io()?;
        self.spawn(&handle, Op::Other, move |load| f(&mut load.io));
        match poll_fn(|cx| self.poll_hop(cx)).await {
            Some((_, res)) => res,
            // Not reached: `spawn` left a hop in flight.
            None => Ok(0),
        }
    }

    /// Writes the pending bytes on this thread, ignoring errors: what a
    /// dropped handle does with bytes it was given.
    pub(crate) fn write_pending_now(&mut self) {
        if let State::Idle(load) = &mut self.state {
            if load.buf.pending() > 0 {
                let _ = load.settle();
            }
        }
    }

    /// True while a hop is in flight or written bytes wait in the buffer.
    pub(crate) fn is_busy(&self) -> bool {
        match &self.state {
            State::Idle(load) => load.buf.pending() > 0,
            State::Busy(..) => true,
            State::Lost => false,
        }
    }

    /// Moves the OS position back over read-ahead on this thread (one
    /// `lseek`; for handing the handle over). Only when not busy.
    pub(crate) fn settle_now(&mut self) -> io::Result<()> {
        match &mut self.state {
            State::Idle(load) if load.buf.pending() == 0 => load.settle(),
            _ => Ok(()),
        }
    }

    /// Drops the handle (after `run` or `settle_now`, to take it apart).
    pub(crate) fn close(&mut self) {
        self.state = State::Lost;
    }
}

impl<T> std::fmt::Debug for PoolIo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Idle(load) if load.buf.writing => "writing",
            State::Idle(_) => "idle",
            State::Busy(_, op) => match op {
                Op::Read(_) => "reading",
                Op::Write(_) => "flushing",
                Op::Seek(_) => "seeking",
                Op::Other => "busy",
            },
            State::Lost => "closed",
        };
        f.debug_struct("PoolIo")
            .field("state", &state)
            .field("window", &self.window)
            .finish()
    }
}

fn lost() -> io::Error {
    weft_base::gone::RuntimeGone::error(
        "the weft runtime shut down while an operation on this handle was in flight: the handle \
         is closed",
    )
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::poll_fn;
    use std::io::{self, SeekFrom};
    use std::sync::Arc;
    use std::task::Poll;

    use super::{BlockingIo, PoolIo, MAX_WINDOW, MIN_WINDOW};
    use crate::runtime::{Builder, Runtime};
    use weft_base::loom::{Condvar, Mutex};

    /// The byte-stream calls the tests make, as the I/O traits' extension
    /// methods would make them.
    impl<T: BlockingIo> PoolIo<T> {
        async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            poll_fn(|cx| self.poll_read(cx, buf)).await
        }

        async fn read_exact(&mut self, mut buf: &mut [u8]) -> io::Result<()> {
            while !buf.is_empty() {
                match self.read(buf).await? {
                    0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                    n => buf = &mut buf[n..],
                }
            }
            Ok(())
        }

        async fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
            let before = out.len();
            let mut buf = [0u8; 4096];
            loop {
                match self.read(&mut buf).await? {
                    0 => return Ok(out.len() - before),
                    n => out.extend_from_slice(&buf[..n]),
                }
            }
        }

        async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
            while !buf.is_empty() {
                buf = &buf[poll_fn(|cx| self.poll_write(cx, buf)).await?..];
            }
            Ok(())
        }
    }

    /// An in-memory handle that records what hops asked of it, can fail
    /// once on demand, and can hold a hop until released.
    #[derive(Clone, Default)]
    struct Fake(Arc<Shared>);

    #[derive(Default)]
    struct Shared {
        state: Mutex<State>,
        released: Condvar,
    }

    #[derive(Default)]
    struct State {
        data: Vec<u8>,
        pos: usize,
        /// The length of each `read` call.
        reads: Vec<usize>,
        fail_next_read: Option<io::ErrorKind>,
        held: bool,
    }

    impl Fake {
        fn with(data: Vec<u8>) -> Fake {
            let fake = Fake::default();
            fake.0.state.lock().data = data;
            fake
        }

        fn state(&self) -> weft_base::loom::MutexGuard<'_, State> {
            self.0.state.lock()
        }

        fn hold(&self) {
            self.state().held = true;
        }

        fn release(&self) {
            self.state().held = false;
            self.0.released.notify_all();
        }

        fn wait_released(&self) -> weft_base::loom::MutexGuard<'_, State> {
            let mut state = self.state();
            while state.held {
                self.0.released.wait(&mut state);
            }
            state
        }
    }

    impl BlockingIo for Fake {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut state = self.wait_released();
            state.reads.push(buf.len());
            if let Some(kind) = state.fail_next_read.take() {
                return Err(kind.into());
            }
            let pos = state.pos.min(state.data.len());
            let n = buf.len().min(state.data.len() - pos);
            buf[..n].copy_from_slice(&state.data[pos..pos + n]);
            state.pos = pos + n;
            Ok(n)
        }

        fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
            let mut state = self.wait_released();
            let end = state.pos + buf.len();
            if state.data.len() < end {
                state.data.resize(end, 0);
            }
            let pos = state.pos;
            state.data[pos..end].copy_from_slice(buf);
            state.pos = end;
            Ok(())
        }

        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            let mut state = self.wait_released();
            let to = match pos {
                SeekFrom::Start(n) => Some(n),
                SeekFrom::Current(d) => (state.pos as u64).checked_add_signed(d),
                SeekFrom::End(d) => (state.data.len() as u64).checked_add_signed(d),
            };
            let to = to.ok_or(io::ErrorKind::InvalidInput)?;
            state.pos = to as usize;
            Ok(to)
        }
    }

    fn rt() -> Runtime {
        Builder::new_current_thread().build().unwrap()
    }

    #[test]
    fn small_reads_come_from_one_window_and_end_of_file_is_asked_again() {
        let fake = Fake::with(vec![7; 100 * 1024]);
        let mut io = PoolIo::new(fake.clone());
        rt().block_on(async {
            let mut buf = [0u8; 1024];
            for _ in 0..64 {
                assert_eq!(io.read(&mut buf).await.unwrap(), 1024);
            }
            assert_eq!(fake.state().reads, [MIN_WINDOW]);
            // The window doubled (the first one came back full); 36 KiB
            // are left.
            let mut rest = Vec::new();
            assert_eq!(io.read_to_end(&mut rest).await.unwrap(), 36 * 1024);
            assert_eq!(io.read(&mut buf).await.unwrap(), 0);
            // End of file is not remembered: the file may grow.
            fake.state().data.extend_from_slice(b"more");
            assert_eq!(io.read(&mut buf).await.unwrap(), 4);
            let reads = fake.state().reads.clone();
            assert_eq!(reads[1], 2 * MIN_WINDOW);
            assert_eq!(reads.len(), 5, "{reads:?}");
        });
    }

    #[test]
    fn the_window_grows_to_the_cap_and_a_seek_shrinks_it() {
        let fake = Fake::with(vec![1; 4 << 20]);
        let mut io = PoolIo::new(fake.clone());
        rt().block_on(async {
            // Take the read-ahead as it comes, for six hops (no copies out:
            // miri is slow enough at the ones into the buffer).
            while fake.state().reads.len() < 6 {
                poll_fn(|cx| io.poll_fill(cx, 0)).await.unwrap();
                io.consume(io.unread().len());
            }
            let reads = std::mem::take(&mut fake.state().reads);
            let kib = |n: usize| n << 10;
            assert_eq!(
                reads,
                [kib(64), kib(128), kib(256), kib(512), kib(1024), kib(1024)]
            );
            assert_eq!((MIN_WINDOW, MAX_WINDOW), (kib(64), kib(1024)));
            let mut buf = vec![0u8; 8192];
            // A read larger than the window asks for as much (up to the cap).
            io.seek_to(SeekFrom::Start(0)).await;
            let mut big = vec![0u8; 200 << 10];
            io.read_exact(&mut big).await.unwrap();
            io.seek_to(SeekFrom::Current(0)).await;
            io.read_exact(&mut buf).await.unwrap();
            assert_eq!(fake.state().reads, [200 << 10, MIN_WINDOW]);
        });
    }

    #[test]
    fn interrupted_reads_are_retried_and_errors_go_to_the_reader() {
        let fake = Fake::with((0..=255).collect());
        let mut io = PoolIo::new(fake.clone());
        rt().block_on(async {
            let mut buf = [0u8; 4];
            fake.state().fail_next_read = Some(io::ErrorKind::Interrupted);
            io.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [0, 1, 2, 3]);
            io.seek_to(SeekFrom::Start(100)).await;
            fake.state().fail_next_read = Some(io::ErrorKind::TimedOut);
            let err = io.read(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            // The next read goes on from where the failed one started.
            io.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [100, 101, 102, 103]);
        });
    }

    #[test]
    fn writes_and_a_read_after_them_share_one_hop() {
        let fake = Fake::with(b"0123456789".to_vec());
        let mut io = PoolIo::new(fake.clone());
        rt().block_on(async {
            let mut two = [0u8; 2];
            io.read_exact(&mut two).await.unwrap(); // read-ahead to the end
            io.write_all(b"ab").await.unwrap();
            io.write_all(b"cd").await.unwrap();
            assert_eq!(fake.state().data, b"0123456789", "still buffered");
            io.read_exact(&mut two).await.unwrap();
            assert_eq!(&two, b"67");
            let state = fake.state();
            assert_eq!(state.data, b"01abcd6789");
            // One read before the writes, one hop for the writes and the
            // read after them.
            assert_eq!(state.reads.len(), 2);
        });
    }

    #[test]
    fn a_seek_given_up_on_does_not_answer_the_next_one() {
        let fake = Fake::with(vec![0; 100]);
        let mut io = PoolIo::new(fake.clone());
        rt().block_on(async {
            fake.hold();
            poll_fn(|cx| {
                assert!(io.poll_seek(cx, SeekFrom::Start(10)).is_pending());
                Poll::Ready(())
            })
            .await;
            fake.release();
            let pos = poll_fn(|cx| io.poll_seek(cx, SeekFrom::Start(20))).await;
            assert_eq!(pos.unwrap(), 20);
            assert_eq!(fake.state().pos, 20);
        });
    }

    #[test]
    fn a_hop_cancelled_by_shutdown_closes_the_handle() {
        let fake = Fake::with(vec![0; 100]);
        let mut io = PoolIo::new(fake.clone());
        let rt = Builder::new_current_thread()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        // The pool's one thread is busy, so the read hop waits in its queue.
        fake.hold();
        let occupied = fake.clone();
        drop(rt.spawn_blocking(move || drop(occupied.wait_released())));
        rt.block_on(poll_fn(|cx| {
            assert!(io.poll_read(cx, &mut [0u8; 8]).is_pending());
            Poll::Ready(())
        }));
        rt.shutdown_timeout(std::time::Duration::ZERO);
        fake.release();
        let err = rt_read(&mut io);
        assert!(err.to_string().contains("shut down"), "{err}");
        let err = rt_read(&mut io);
        assert!(err.to_string().contains("shut down"), "{err}");
    }

    fn rt_read(io: &mut PoolIo<Fake>) -> io::Error {
        rt().block_on(io.read(&mut [0u8; 8])).unwrap_err()
    }

    impl PoolIo<Fake> {
        async fn seek_to(&mut self, pos: SeekFrom) {
            poll_fn(|cx| self.poll_seek(cx, pos)).await.unwrap();
        }
    }
}
