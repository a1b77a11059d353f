//! `AsyncFd`: any non-blocking descriptor registered with the reactor, so a
//! task can wait until it is readable or writable and then do its own
//! non-blocking I/O on it. Public as `weft::io::unix::{AsyncFd, ...}`, with
//! tokio's shape; weft's own child pipes, pidfds and signal pipe use it too.
//!
//! Invariants:
//! - While `inner` is `Some`, its descriptor is registered; it leaves the
//!   poller (a delete, never left to a close: `T` need not own the
//!   descriptor) before `inner` is dropped or handed back.
//! - A guard holds the readiness it was given (with the driver tick it was
//!   seen at); clearing through it forgets only that, never an event that
//!   came later.

use std::error::Error;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use crate::ready::{Interest, Ready};
use crate::registration::Registration;
use crate::scheduled_io::{Direction, ReadyEvent};

/// A descriptor (any `T: AsRawFd` in non-blocking mode) registered with the
/// current runtime's reactor, to wait for readiness on.
///
/// The reactor is edge-triggered: readiness, once reported, stays until a
/// task says it is used up ([`AsyncFdReadyGuard::clear_ready`], or a
/// `try_io` whose operation reports `WouldBlock`).
///
/// ```no_run
/// use std::io::Read;
/// use weft_reactor::io::unix::AsyncFd;
///
/// # async fn example(pipe: std::fs::File) -> std::io::Result<()> {
/// // SAFETY: the file owns its descriptor and keeps it while registered.
/// let fd = unsafe { AsyncFd::register(pipe)? };
/// let mut buf = [0; 64];
/// let n = loop {
///     let mut guard = fd.readable().await?;
///     match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///         Ok(result) => break result?,
///         Err(_would_block) => continue,
///     }
/// };
/// # let _ = n; Ok(())
/// # }
/// ```
pub struct AsyncFd<T: AsRawFd> {
    registration: Registration,
    /// Always `Some` but in `drop` and `into_inner`.
    inner: Option<T>,
}

/// Readiness an [`AsyncFd`] reported and nobody has cleared yet, with a
/// shared reference to it. Dropping the guard keeps the readiness (as
/// [`retain_ready`](Self::retain_ready)).
#[must_use = "you must choose whether to clear the readiness: call a method on the guard"]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    async_fd: &'a AsyncFd<T>,
    event: Option<ReadyEvent>,
}

/// [`AsyncFdReadyGuard`] with a mutable reference to the [`AsyncFd`].
#[must_use = "you must choose whether to clear the readiness: call a method on the guard"]
pub struct AsyncFdReadyMutGuard<'a, T: AsRawFd> {
    async_fd: &'a mut AsyncFd<T>,
    event: Option<ReadyEvent>,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner` for reading and writing with the current runtime's
    /// reactor. On failure the error hands `inner` back.
    ///
    /// # Safety
    /// `inner.as_raw_fd()` must be an open descriptor, and stay open and
    /// refer to the same open file for as long as this `AsyncFd` holds
    /// `inner` (until it is dropped, [`into_inner`](Self::into_inner)ed or
    /// forgotten), and return that same descriptor on every call.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub unsafe fn register(inner: T) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        // SAFETY: passed on from our caller.
        unsafe { AsyncFd::register_with_interest(inner, Interest::READABLE | Interest::WRITABLE) }
    }

    /// [`register`](Self::register) for the readiness of `interest` only.
    ///
    /// # Safety
    /// As [`register`](Self::register).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub unsafe fn register_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        let fd = inner.as_raw_fd();
        if fd < 0 {
            return Err(AsyncFdRegisterError {
                inner,
                cause: io::Error::from_raw_os_error(libc::EBADF),
            });
        }
        // SAFETY: `fd` is not -1 (checked), and our caller promises it is
        // open, and stays open while `inner` is registered; this value
        // deregisters it before handing `inner` back or dropping it.
        let registered = unsafe { Registration::new(BorrowedFd::borrow_raw(fd), interest) };
        match registered {
            Ok(registration) => Ok(AsyncFd {
                registration,
                inner: Some(inner),
            }),
            Err(cause) => Err(AsyncFdRegisterError { inner, cause }),
        }
    }

    /// [`register`](Self::register), as tokio had it before 1.54.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[deprecated(
        note = "unsound without I/O safety: the descriptor could be closed while registered; \
                use the unsafe `AsyncFd::register`"
    )]
    #[track_caller]
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        // SAFETY: not upheld here; the reason this is deprecated (as in
        // tokio). A violation confuses the reactor's bookkeeping of other
        // descriptors, it does not touch memory.
        Ok(unsafe { AsyncFd::register(inner)? })
    }

    /// [`register_with_interest`](Self::register_with_interest), as tokio
    /// had it before 1.54.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[deprecated(
        note = "unsound without I/O safety; use the unsafe `AsyncFd::register_with_interest`"
    )]
    #[track_caller]
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        // SAFETY: not upheld here, as for `new`.
        Ok(unsafe { AsyncFd::register_with_interest(inner, interest)? })
    }

    /// [`register`](Self::register), as tokio had it before 1.54.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[deprecated(note = "unsound without I/O safety; use the unsafe `AsyncFd::register`")]
    #[track_caller]
    pub fn try_new(inner: T) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        // SAFETY: not upheld here, as for `new`.
        unsafe { AsyncFd::register(inner) }
    }

    /// [`register_with_interest`](Self::register_with_interest), as tokio
    /// had it before 1.54.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[deprecated(
        note = "unsound without I/O safety; use the unsafe `AsyncFd::register_with_interest`"
    )]
    #[track_caller]
    pub fn try_with_interest(
        inner: T,
        interest: Interest,
    ) -> Result<AsyncFd<T>, AsyncFdRegisterError<T>> {
        // SAFETY: not upheld here, as for `new`.
        unsafe { AsyncFd::register_with_interest(inner, interest) }
    }

    /// The I/O object.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("present until drop")
    }

    /// The I/O object, mutably. Replacing its descriptor breaks the
    /// contract of [`register`](Self::register).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("present until drop")
    }

    /// Deregisters the descriptor and hands the I/O object back (its
    /// descriptor stays open).
    pub fn into_inner(mut self) -> T {
        self.take_inner().expect("present until drop")
    }

    fn take_inner(&mut self) -> Option<T> {
        let inner = self.inner.take()?;
        // An error (the descriptor was closed behind our back: `EBADF`)
        // leaves nothing to undo; the slot is freed either way.
        let _ = self.registration.deregister();
        Some(inner)
    }

    /// Polls for read readiness. Only the waker of the last call (of this
    /// or [`poll_read_ready_mut`](Self::poll_read_ready_mut)) is woken;
    /// [`readable`](Self::readable) has no such limit.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let event = std::task::ready!(self.registration.poll_ready(cx, Direction::Read))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            async_fd: self,
            event: Some(event),
        }))
    }

    /// [`poll_read_ready`](Self::poll_read_ready) with a mutable guard.
    pub fn poll_read_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let event = std::task::ready!(self.registration.poll_ready(cx, Direction::Read))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            event: Some(event),
        }))
    }

    /// Polls for write readiness; only the last call's waker is woken
    /// (independently of the read side's).
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let event = std::task::ready!(self.registration.poll_ready(cx, Direction::Write))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            async_fd: self,
            event: Some(event),
        }))
    }

    /// [`poll_write_ready`](Self::poll_write_ready) with a mutable guard.
    pub fn poll_write_ready_mut<'a>(
        &'a mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyMutGuard<'a, T>>> {
        let event = std::task::ready!(self.registration.poll_ready(cx, Direction::Write))?;
        Poll::Ready(Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            event: Some(event),
        }))
    }

    /// Waits for any of `interest`. The guard's [`ready`](AsyncFdReadyGuard::ready)
    /// says which; it may be empty (a spurious wake-up: check and wait
    /// again).
    ///
    /// # Errors
    /// Once the runtime is gone.
    pub async fn ready(&self, interest: Interest) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.registration.readiness(interest).await?;
        Ok(AsyncFdReadyGuard {
            async_fd: self,
            event: Some(event),
        })
    }

    /// [`ready`](Self::ready) with a mutable guard.
    pub async fn ready_mut(
        &mut self,
        interest: Interest,
    ) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let event = self.registration.readiness(interest).await?;
        Ok(AsyncFdReadyMutGuard {
            async_fd: self,
            event: Some(event),
        })
    }

    /// Waits until readable.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::READABLE).await
    }

    /// Waits until readable, with a mutable guard.
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::READABLE).await
    }

    /// Waits until writable.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Interest::WRITABLE).await
    }

    /// Waits until writable, with a mutable guard.
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        self.ready_mut(Interest::WRITABLE).await
    }

    /// Waits for `interest` and runs `f`, again after each `WouldBlock`
    /// (which clears the readiness), until it reports anything else. `f`
    /// must return `WouldBlock` only when its operation did.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let inner = self.get_ref();
        self.registration.async_io(interest, || f(inner)).await
    }

    /// [`async_io`](Self::async_io) with mutable access to the I/O object.
    pub async fn async_io_mut<R>(
        &mut self,
        interest: Interest,
        mut f: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let inner = self.inner.as_mut().expect("present until drop");
        self.registration.async_io(interest, || f(inner)).await
    }

    /// Runs `f` if any of `interest` is ready, else reports `WouldBlock`
    /// without running it. A `WouldBlock` from `f` clears the readiness.
    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let inner = self.get_ref();
        self.registration.try_io(interest, || f(inner))
    }

    /// [`try_io`](Self::try_io) with mutable access to the I/O object.
    pub fn try_io_mut<R>(
        &mut self,
        interest: Interest,
        f: impl FnOnce(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let inner = self.inner.as_mut().expect("present until drop");
        self.registration.try_io(interest, || f(inner))
    }

    /// Runs the non-blocking read `op` once readable, until it does not
    /// report `WouldBlock` (weft's own pipes and signal pipe).
    #[doc(hidden)]
    pub fn poll_read_io<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let inner = self.get_ref();
        self.registration
            .poll_io_until(cx, Direction::Read, || op(inner), |_| false)
    }

    /// Runs the non-blocking write `op` once writable, until it does not
    /// report `WouldBlock`.
    #[doc(hidden)]
    pub fn poll_write_io<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let inner = self.get_ref();
        self.registration
            .poll_io_until(cx, Direction::Write, || op(inner), |_| false)
    }

    /// Reads into the unfilled part of `buf` without initialising it
    /// (`tokio::io::AsyncRead`). Reads until `WouldBlock` before it waits:
    /// a short read proves nothing on an arbitrary descriptor (a terminal
    /// returns a line at a time).
    #[doc(hidden)]
    pub fn poll_read_buf(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        use crate::net::stream::{read_into_tokio_buf, read_uninit};
        read_into_tokio_buf(buf, |b| {
            self.registration
                .poll_io_until(cx, Direction::Read, || read_uninit(self, b), |_| false)
        })
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the contract of `register` keeps the descriptor open
        // while this value holds `inner`, which it does for all of `&self`.
        unsafe { BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        drop(self.take_inner());
    }
}

/// The readiness a guard holds, as a [`Ready`].
/// A guard's `clear_ready`: forgets the readiness it holds (an event
/// that came after it was made is kept).
fn clear(registration: &Registration, event: &mut Option<ReadyEvent>) {
    if let Some(event) = event.take() {
        registration.clear_readiness(event);
    }
}

/// A guard's `clear_ready_matching`: forgets the `ready` part only, there
/// and in what the guard holds.
fn clear_matching(registration: &Registration, event: &mut Option<ReadyEvent>, ready: Ready) {
    if let Some(event) = event {
        registration.clear_matching(*event, ready.bits());
        event.ready &= !ready.bits();
    }
}

fn ready_of(event: Option<ReadyEvent>) -> Ready {
    Ready::from_bits(event.map_or(0, |event| event.ready))
}

impl<'a, Inner: AsRawFd> AsyncFdReadyGuard<'a, Inner> {
    /// Forgets this readiness: the next wait waits for a new event. Call it
    /// only after an operation reported `WouldBlock` (a successful read
    /// proves nothing). An event that came after this guard was made is
    /// kept.
    pub fn clear_ready(&mut self) {
        clear(&self.async_fd.registration, &mut self.event);
    }

    /// Forgets the `ready` part of this readiness only (say, writing
    /// blocked but reading may not).
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        clear_matching(&self.async_fd.registration, &mut self.event, ready);
    }

    /// Keeps the readiness (what dropping the guard does too).
    pub fn retain_ready(&mut self) {
        self.event = None;
    }

    /// The readiness this guard holds.
    pub fn ready(&self) -> Ready {
        ready_of(self.event)
    }

    /// Runs `f`; if it reports `WouldBlock`, clears the readiness and
    /// returns `Err(TryIoError)`, else its result.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<Inner>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.async_fd) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The [`AsyncFd`].
    pub fn get_ref(&self) -> &'a AsyncFd<Inner> {
        self.async_fd
    }

    /// The I/O object.
    pub fn get_inner(&self) -> &'a Inner {
        self.async_fd.get_ref()
    }
}

impl<Inner: AsRawFd> AsyncFdReadyMutGuard<'_, Inner> {
    /// As [`AsyncFdReadyGuard::clear_ready`].
    pub fn clear_ready(&mut self) {
        clear(&self.async_fd.registration, &mut self.event);
    }

    /// As [`AsyncFdReadyGuard::clear_ready_matching`].
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        clear_matching(&self.async_fd.registration, &mut self.event, ready);
    }

    /// Keeps the readiness (what dropping the guard does too).
    pub fn retain_ready(&mut self) {
        self.event = None;
    }

    /// The readiness this guard holds.
    pub fn ready(&self) -> Ready {
        ready_of(self.event)
    }

    /// As [`AsyncFdReadyGuard::try_io`], with mutable access.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<Inner>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.async_fd) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The [`AsyncFd`].
    pub fn get_ref(&self) -> &AsyncFd<Inner> {
        self.async_fd
    }

    /// The [`AsyncFd`], mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<Inner> {
        self.async_fd
    }

    /// The I/O object.
    pub fn get_inner(&self) -> &Inner {
        self.async_fd.get_ref()
    }

    /// The I/O object, mutably.
    pub fn get_inner_mut(&mut self) -> &mut Inner {
        self.async_fd.get_mut()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("async_fd", &self.async_fd)
            .field("ready", &self.ready())
            .finish()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("async_fd", &self.async_fd)
            .field("ready", &self.ready())
            .finish()
    }
}

/// A guard's `try_io` operation reported `WouldBlock` (and the readiness
/// was cleared): wait again.
#[derive(Debug)]
pub struct TryIoError(());

/// Registering with the reactor failed; holds the I/O object, handed back.
pub struct AsyncFdRegisterError<T> {
    inner: T,
    cause: io::Error,
}

/// tokio's older name of [`AsyncFdRegisterError`].
pub type AsyncFdTryNewError<T> = AsyncFdRegisterError<T>;

impl<T> AsyncFdRegisterError<T> {
    /// The I/O object and the error.
    pub fn into_parts(self) -> (T, io::Error) {
        (self.inner, self.cause)
    }
}

impl<T> fmt::Display for AsyncFdRegisterError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "registering a descriptor with the reactor failed: {}",
            self.cause
        )
    }
}

impl<T> fmt::Debug for AsyncFdRegisterError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdRegisterError")
            .field("cause", &self.cause)
            .finish_non_exhaustive()
    }
}

impl<T> Error for AsyncFdRegisterError<T> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.cause)
    }
}

impl<T> From<AsyncFdRegisterError<T>> for io::Error {
    fn from(error: AsyncFdRegisterError<T>) -> io::Error {
        error.cause
    }
}
