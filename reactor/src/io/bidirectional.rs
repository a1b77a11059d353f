//! `copy_bidirectional`: two copies, one per direction, driven by one
//! future, for proxies.
//!
//! Each direction owns a buffer: it reads into it, writes all of it out,
//! and only then reads again, so bytes leave in the order they came. When
//! its reader stalls it flushes its writer (a buffered writer must not sit
//! on a request whose answer the proxy waits for). At EOF it closes its
//! writer, which for a socket is a half-close, and is done; the other
//! direction goes on. The first error ends both.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// Per-direction buffer, as `futures_util::io::copy` uses.
const BUF_SIZE: usize = 8 * 1024;

/// Copies from `a` to `b` and from `b` to `a` at the same time, until
/// both have reached EOF; returns the bytes copied `(a to b, b to a)`.
///
/// When one side reaches EOF, the other side's write half is closed
/// (`poll_close`: a TCP stream shuts its write side down, so its peer
/// reads EOF) and the other direction keeps copying. Written bytes are
/// flushed whenever a reader has nothing more for the moment, and before
/// the close.
///
/// # Errors
/// The first error either way, from a read, a write, a flush or a close,
/// ends the copy in both directions; a write that takes no bytes is
/// [`WriteZero`](io::ErrorKind::WriteZero). How many bytes had been
/// copied is then unknown.
///
/// ```
/// use weft_reactor::io::{self, AsyncReadExt, AsyncWriteExt};
///
/// # futures_executor::block_on(async {
/// // A proxy between a client and a server, all in memory.
/// let (mut client, mut proxy_front) = io::duplex(64);
/// let (mut proxy_back, mut server) = io::duplex(64);
/// let proxy = io::copy_bidirectional(&mut proxy_front, &mut proxy_back);
/// let talk = async {
///     client.write_all(b"request").await?;
///     client.close().await?; // done sending: the server reads EOF
///     let mut request = Vec::new();
///     server.read_to_end(&mut request).await?;
///     server.write_all(b"response!").await?;
///     drop(server);
///     let mut response = Vec::new();
///     client.read_to_end(&mut response).await?;
///     assert_eq!((&request[..], &response[..]), (&b"request"[..], &b"response!"[..]));
///     io::Result::Ok(())
/// };
/// let (copied, talked) = futures_util::future::join(proxy, talk).await;
/// talked?;
/// assert_eq!(copied?, (7, 9));
/// # io::Result::Ok(()) }).unwrap();
/// ```
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = Transfer::new();
    let mut b_to_a = Transfer::new();
    poll_fn(|cx| {
        let a_to_b = a_to_b.poll(cx, &mut *a, &mut *b)?;
        let b_to_a = b_to_a.poll(cx, &mut *b, &mut *a)?;
        match (a_to_b, b_to_a) {
            (Poll::Ready(a_to_b), Poll::Ready(b_to_a)) => Poll::Ready(Ok((a_to_b, b_to_a))),
            _ => Poll::Pending,
        }
    })
    .await
}

/// One direction's progress.
struct Transfer {
    buf: Box<[u8]>,
    /// `buf[pos..cap]` is read and not yet written.
    pos: usize,
    cap: usize,
    /// Bytes written so far.
    written: u64,
    /// Something was written since the last flush.
    need_flush: bool,
    state: State,
}

enum State {
    Copying,
    /// The reader is at EOF and everything read is written.
    Closing,
    Done,
}

impl Transfer {
    fn new() -> Transfer {
        Transfer {
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            cap: 0,
            written: 0,
            need_flush: false,
            state: State::Copying,
        }
    }

    /// Copies until `reader` is at EOF and `writer` is closed; ready with
    /// the bytes written, again on every later poll.
    fn poll<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: &mut R,
        writer: &mut W,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        loop {
            match self.state {
                State::Copying if self.pos < self.cap => {
                    let unwritten = &self.buf[self.pos..self.cap];
                    match ready!(Pin::new(&mut *writer).poll_write(cx, unwritten)) {
                        Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                        Ok(n) => {
                            self.pos += n;
                            self.written += n as u64;
                            self.need_flush = true;
                        }
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(err) => return Poll::Ready(Err(err)),
                    }
                }
                State::Copying => match Pin::new(&mut *reader).poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(0)) => self.state = State::Closing,
                    Poll::Ready(Ok(n)) => (self.pos, self.cap) = (0, n),
                    Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                    Poll::Pending => {
                        if self.need_flush {
                            ready!(Pin::new(&mut *writer).poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                },
                State::Closing => {
                    ready!(Pin::new(&mut *writer).poll_close(cx))?;
                    self.state = State::Done;
                }
                State::Done => return Poll::Ready(Ok(self.written)),
            }
        }
    }
}
