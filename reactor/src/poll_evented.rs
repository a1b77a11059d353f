//! `PollEvented`: an OS I/O object registered with the reactor, and the
//! loop every async operation on it runs: wait until the reactor says the
//! direction is ready, try the non-blocking call, and on `WouldBlock` forget
//! that readiness and wait again.
//!
//! Invariant: while `io` is `Some`, its descriptor is registered; it is
//! deregistered before the descriptor is closed (drop) or handed back
//! (`into_inner`), which is the contract `IoHandle::register` asks for.
//! `E` owns its descriptor (dropping it closes it): on drop the delete is
//! left to the close where the poller allows (`deregister_closing`), and a
//! descriptor that stayed open would stay registered, its events dropped
//! by the slab's generation check.

use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use crate::registration::Registration;
use crate::scheduled_io::Direction;

pub(crate) struct PollEvented<E: AsFd> {
    io: Option<E>,
    registration: Registration,
}

impl<E: AsFd> PollEvented<E> {
    /// Registers `io` (already non-blocking) with the current reactor.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub(crate) fn new(io: E) -> io::Result<PollEvented<E>> {
        // SAFETY: `io` moves into the returned value, whose drop and
        // `into_inner` deregister it before the descriptor can close.
        let registration = unsafe {
            Registration::new(
                io.as_fd(),
                crate::ready::Interest::READABLE.add(crate::ready::Interest::WRITABLE),
            )?
        };
        Ok(PollEvented {
            io: Some(io),
            registration,
        })
    }

    pub(crate) fn get_ref(&self) -> &E {
        self.io.as_ref().expect("registered I/O present until drop")
    }

    /// The registration: readiness futures, `try_io` and `async_io`.
    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Ready when `direction` may make progress (or the runtime is gone);
    /// spends one unit of the task's cooperative budget when ready.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<()>> {
        self.registration.poll_ready(cx, direction).map_ok(drop)
    }

    /// Runs the non-blocking `op` once `direction` is ready, until it does
    /// not report `WouldBlock`. Each completed operation spends one unit of
    /// the task's cooperative budget.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        self.registration
            .poll_io_until(cx, direction, || op(io), |_| false)
    }

    /// [`poll_io`](Self::poll_io) for a byte stream's read or write of
    /// `len` bytes. Where the poller reports read-closed, a transfer short
    /// of `len` proves the socket drained (or its buffer full), so the
    /// readiness is forgotten at once, as on `WouldBlock`: the next call
    /// waits for the next edge instead of making a system call that
    /// fails. A FIN that came with the data keeps the read side ready
    /// (a short transfer leaves `READ_CLOSED` set), so the EOF is still
    /// seen.
    pub(crate) fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        len: usize,
        mut op: impl FnMut(&E) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let short_is_final = self.registration.short_io_is_final();
        let io = self.get_ref();
        self.registration.poll_io_until(
            cx,
            direction,
            || op(io),
            |&n| short_is_final && n > 0 && n < len,
        )
    }

    /// [`poll_io`](Self::poll_io) as a future that any number of tasks
    /// may await at once (each is woken by an event).
    pub(crate) async fn io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.get_ref();
        self.registration.io(direction, || op(io)).await
    }

    /// Runs `op` once, without waiting; on `WouldBlock` the readiness it
    /// used up is forgotten, so a later wait waits for a new event.
    pub(crate) fn try_io<R>(
        &self,
        direction: Direction,
        op: impl FnOnce(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.get_ref();
        self.registration.try_io_eager(direction, || op(io))
    }

    /// Deregisters and hands the I/O object back.
    pub(crate) fn into_inner(mut self) -> io::Result<E> {
        let io = self.io.take().expect("registered I/O present until drop");
        self.registration.deregister()?;
        Ok(io)
    }
}

impl<E: AsFd> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Deregister first: the descriptor number may be reused by the
            // next `open` the moment it closes.
            self.registration.deregister_closing();
            drop(io);
        }
    }
}

impl<E: AsFd + std::fmt::Debug> std::fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get_ref().fmt(f)
    }
}

#[cfg(all(test, unix, not(any(loom, miri))))]
pub(crate) mod tests {
    use std::io::{Read, Write};
    use std::net::Shutdown;
    use std::os::fd::{AsRawFd, FromRawFd, RawFd};
    use std::os::unix::net::UnixStream;
    use std::task::Waker;
    use std::time::Duration;

    use super::*;
    use crate::io_driver::IoDriver;
    use crate::sys::IoBackend;

    /// A registered non-blocking end of a socket pair, its peer, and the
    /// driver they belong to, for each backend.
    fn each_backend(test: impl Fn(IoBackend, &mut IoDriver, PollEvented<UnixStream>, UnixStream)) {
        for backend in [IoBackend::Native, IoBackend::Portable] {
            let mut driver = IoDriver::new(backend, |_| Ok(())).unwrap();
            let _enter = weft_base::context::enter(driver.handle());
            let (ours, peer) = UnixStream::pair().unwrap();
            ours.set_nonblocking(true).unwrap();
            let io = PollEvented::new(ours).unwrap();
            test(backend.resolve(), &mut driver, io, peer);
        }
    }

    /// `fd`'s file under descriptor `number`, owned by the stream returned.
    pub(crate) fn dup_onto(fd: &impl AsRawFd, number: RawFd) -> UnixStream {
        // SAFETY: `dup2` takes two integers and no pointer.
        let duplicated = unsafe { libc::dup2(fd.as_raw_fd(), number) };
        assert_eq!(duplicated, number);
        // SAFETY: `number` is a new descriptor of `fd`'s file that nothing
        // else owns (no other code in the process uses these numbers).
        unsafe { UnixStream::from_raw_fd(number) }
    }

    fn read(io: &PollEvented<UnixStream>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        let mut cx = Context::from_waker(Waker::noop());
        io.poll_stream_io(&mut cx, Direction::Read, len, |s| (&*s).read(buf))
    }

    #[test]
    fn a_short_read_forgets_readiness_only_where_the_poller_reports_closed() {
        each_backend(|backend, driver, io, mut peer| {
            peer.write_all(b"hi").unwrap();
            assert!(driver.turn(Some(Duration::from_secs(5))));
            let mut buf = [0; 64];
            assert!(matches!(read(&io, &mut buf), Poll::Ready(Ok(2))));
            let still_ready = io
                .registration()
                .scheduled()
                .ready_now(Direction::Read)
                .is_some();
            // Native: drained, no read that fails with `WouldBlock` to learn
            // it. Portable: the next read finds out.
            assert_eq!(still_ready, backend == IoBackend::Portable);
            assert!(read(&io, &mut buf).is_pending());
        });
    }

    #[test]
    fn data_and_fin_in_one_event_are_both_read_without_another_event() {
        each_backend(|_, driver, io, mut peer| {
            peer.write_all(b"last").unwrap();
            peer.shutdown(Shutdown::Write).unwrap();
            assert!(driver.turn(Some(Duration::from_secs(5))));
            let mut buf = [0; 64];
            assert!(matches!(read(&io, &mut buf), Poll::Ready(Ok(4))));
            // No turn in between: the EOF must come from what the first
            // event said.
            assert!(matches!(read(&io, &mut buf), Poll::Ready(Ok(0))));
            assert!(matches!(read(&io, &mut buf), Poll::Ready(Ok(0))));
        });
    }

    #[test]
    fn an_error_reported_once_does_not_make_the_next_read_spin() {
        for backend in [IoBackend::Native, IoBackend::Portable] {
            let mut driver = IoDriver::new(backend, |_| Ok(())).unwrap();
            let _enter = weft_base::context::enter(driver.handle());
            let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = closed.local_addr().unwrap();
            drop(closed);
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.connect(port).unwrap();
            socket.set_nonblocking(true).unwrap();
            let io = PollEvented::new(socket).unwrap();
            io.get_ref().send(b"anyone?").unwrap();
            // The port-unreachable error arrives as an event.
            assert!(driver.turn(Some(Duration::from_secs(5))));
            // A read that keeps finding the source ready while the socket
            // blocks would loop inside one poll: count the calls.
            let mut calls = 0;
            let mut recv = |s: &std::net::UdpSocket| {
                calls += 1;
                if calls > 10 {
                    return Err(io::Error::other("spinning"));
                }
                s.recv(&mut [0; 16])
            };
            let mut cx = Context::from_waker(Waker::noop());
            match io.poll_io(&mut cx, Direction::Read, &mut recv) {
                Poll::Ready(Err(err)) => {
                    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{backend:?}")
                }
                other => panic!("{backend:?}: {other:?}"),
            }
            let next = io.poll_io(&mut cx, Direction::Read, &mut recv);
            assert!(next.is_pending(), "{backend:?}: {next:?}");
        }
    }

    #[test]
    fn one_descriptor_registered_twice_is_an_error_but_a_left_behind_one_is_taken_over() {
        for backend in [IoBackend::Native, IoBackend::Portable] {
            let mut driver = IoDriver::new(backend, |_| Ok(())).unwrap();
            let _enter = weft_base::context::enter(driver.handle());
            let (pair, mut peer) = UnixStream::pair().unwrap();
            pair.set_nonblocking(true).unwrap();
            // A number no other test of this process holds, so the close
            // below cannot hand it to someone else before we take it back.
            let number = 900;
            let first = PollEvented::new(dup_onto(&pair, number)).unwrap();
            // SAFETY: the error path registers nothing to delete.
            let twice = unsafe { driver.handle().register(first.get_ref().as_fd()) };
            assert!(twice.is_err(), "{backend:?}: a live registration was taken");
            // Closed (no delete on epoll) while the dup keeps the file open;
            // the number comes back for the same file.
            drop(first);
            let io = PollEvented::new(dup_onto(&pair, number)).unwrap();
            driver.turn(Some(Duration::ZERO));
            peer.write_all(b"x").unwrap();
            assert!(driver.turn(Some(Duration::from_secs(5))));
            let mut buf = [0; 8];
            assert!(
                matches!(read(&io, &mut buf), Poll::Ready(Ok(1))),
                "{backend:?}"
            );
        }
    }

    #[test]
    fn a_full_read_keeps_readiness_for_what_is_left() {
        each_backend(|_, driver, io, mut peer| {
            peer.write_all(&[7; 100]).unwrap();
            assert!(driver.turn(Some(Duration::from_secs(5))));
            let mut buf = [0; 60];
            assert!(matches!(read(&io, &mut buf), Poll::Ready(Ok(60))));
            assert!(matches!(read(&io, &mut buf), Poll::Ready(Ok(40))));
        });
    }
}
