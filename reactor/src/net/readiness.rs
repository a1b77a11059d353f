//! The readiness methods every socket type shares (tokio's names):
//! `ready(interest)`, `poll_read_ready` / `poll_write_ready`, `try_io` and
//! `async_io`, written once as a macro for any type with an `io:
//! PollEvented<_>` field; and the reads into a `bytes::BufMut` that
//! `try_read_buf` / `recv_buf` share.
//!
//! `ready` waits through the source's waiter list, so any number of tasks
//! may wait on one socket at once; the `poll_*` forms keep only the last
//! waker of each direction, as tokio's do.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsFd;

use bytes::BufMut;

/// The readiness methods, on a type with an `io: PollEvented<_>` field.
/// `$read_ready` / `$write_ready` name the two `poll_*` methods (a UDP
/// socket's are `poll_recv_ready` / `poll_send_ready`).
macro_rules! readiness_methods {
    ($read_ready:ident, $write_ready:ident) => {
        /// Waits for any of `interest`; says which readiness came. It may
        /// be a false positive (the operation still reports `WouldBlock`)
        /// or empty (a spurious wake-up): check, and try again.
        ///
        /// # Errors
        /// Once the runtime is gone.
        pub async fn ready(
            &self,
            interest: $crate::io::Interest,
        ) -> std::io::Result<$crate::io::Ready> {
            let event = self.io.registration().readiness(interest).await?;
            Ok($crate::io::Ready::from_bits(event.ready))
        }

        /// Polls for read readiness. Only the waker of the last call is
        /// woken; `readable` has no such limit.
        pub fn $read_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.io
                .poll_ready(cx, $crate::scheduled_io::Direction::Read)
        }

        /// Polls for write readiness. Only the waker of the last call is
        /// woken.
        pub fn $write_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            self.io
                .poll_ready(cx, $crate::scheduled_io::Direction::Write)
        }

        /// Runs `f` (your own non-blocking operation on this socket) if any
        /// of `interest` is ready, else reports `WouldBlock` without
        /// running it; a `WouldBlock` from `f` clears the readiness. `f`
        /// must report `WouldBlock` only when its operation did.
        pub fn try_io<R>(
            &self,
            interest: $crate::io::Interest,
            f: impl FnOnce() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            self.io.registration().try_io(interest, f)
        }

        /// Waits for `interest` and runs `f`, again after each
        /// `WouldBlock` (which clears the readiness), until it reports
        /// anything else.
        pub async fn async_io<R>(
            &self,
            interest: $crate::io::Interest,
            f: impl FnMut() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            self.io.registration().async_io(interest, f).await
        }
    };
}
pub(crate) use readiness_methods;

/// The reads a byte stream adds to `try_read` / `try_write` (tokio's
/// names), on a type with an `io: PollEvented<_>` field.
macro_rules! stream_try_methods {
    () => {
        /// Reads into `bufs` in order without waiting; `WouldBlock` if
        /// nothing is there.
        pub fn try_read_vectored(
            &self,
            bufs: &mut [std::io::IoSliceMut<'_>],
        ) -> std::io::Result<usize> {
            use std::io::Read as _;
            self.io.try_io($crate::scheduled_io::Direction::Read, |s| {
                (&*s).read_vectored(bufs)
            })
        }

        /// Reads into the spare capacity of `buf` (advancing it) without
        /// waiting; `WouldBlock` if nothing is there.
        pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            self.io.try_io($crate::scheduled_io::Direction::Read, |s| {
                $crate::net::readiness::recv_buf(s, buf, 0)
            })
        }

        /// Writes from `bufs` in order without waiting; `WouldBlock` if
        /// the send buffer is full.
        pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
            use std::io::Write as _;
            self.io.try_io($crate::scheduled_io::Direction::Write, |s| {
                (&*s).write_vectored(bufs)
            })
        }
    };
}
pub(crate) use stream_try_methods;

/// The spare capacity of `buf` as uninitialised bytes.
fn spare(buf: &mut impl BufMut) -> &mut [MaybeUninit<u8>] {
    let chunk = buf.chunk_mut();
    let (ptr, len) = (chunk.as_mut_ptr(), chunk.len());
    // SAFETY: `chunk_mut` hands out `len` bytes valid for writes (possibly
    // uninitialised) for as long as `buf` is borrowed; `MaybeUninit<u8>`
    // makes no claim that they are initialised.
    unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<u8>>(), len) }
}

/// Marks the first `n` spare bytes of `buf` filled.
fn filled(buf: &mut impl BufMut, n: usize) {
    // SAFETY: the socket call that returned `n` initialised the first `n`
    // bytes of the spare capacity it was given.
    unsafe { buf.advance_mut(n) };
}

/// `recv(2)` with `flags` into the spare capacity of `buf`, advancing it.
pub(crate) fn recv_buf(
    s: &impl AsFd,
    buf: &mut impl BufMut,
    flags: libc::c_int,
) -> io::Result<usize> {
    if !buf.has_remaining_mut() {
        return Ok(0);
    }
    let n = socket2::SockRef::from(s).recv_with_flags(spare(buf), flags)?;
    filled(buf, n);
    Ok(n)
}

/// `recvfrom(2)` into the spare capacity of `buf`, advancing it; the
/// sender's address as socket2 gives it.
pub(crate) fn recv_buf_from(
    s: &impl AsFd,
    buf: &mut impl BufMut,
) -> io::Result<(usize, socket2::SockAddr)> {
    let (n, from) = socket2::SockRef::from(s).recv_from(spare(buf))?;
    filled(buf, n);
    Ok((n, from))
}

/// A received IP address, or an error for another family.
pub(crate) fn ip_addr(addr: socket2::SockAddr) -> io::Result<std::net::SocketAddr> {
    addr.as_socket()
        .ok_or_else(|| io::Error::other("received from a non-IP address"))
}

/// `recv(2)` with `flags` into `buf`, for `ReadBuf`-taking polls: reads
/// into the unfilled part without initialising it.
pub(crate) fn recv_read_buf(
    s: &impl AsFd,
    buf: &mut tokio::io::ReadBuf<'_>,
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: `unfilled_mut` hands out memory we must not de-initialise;
    // `recv` only writes bytes into it.
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = socket2::SockRef::from(s).recv_with_flags(unfilled, flags)?;
    // SAFETY: `recv` initialised the first `n` unfilled bytes.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(n)
}

/// `recvfrom(2)` with `flags` into `buf`'s unfilled part (as
/// [`recv_read_buf`]); the sender's address.
pub(crate) fn recv_from_read_buf(
    s: &impl AsFd,
    buf: &mut tokio::io::ReadBuf<'_>,
    flags: libc::c_int,
) -> io::Result<socket2::SockAddr> {
    // SAFETY: as in `recv_read_buf`.
    let unfilled = unsafe { buf.unfilled_mut() };
    let (n, from) = socket2::SockRef::from(s).recv_from_with_flags(unfilled, flags)?;
    // SAFETY: `recvfrom` initialised the first `n` unfilled bytes.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(from)
}
