//! Readers and writers with nothing behind them: [`empty`] (EOF at once,
//! takes every write), [`repeat`] (one byte forever) and [`sink`] (takes
//! and drops every write).
//!
//! Each is always ready, so each spends the cooperative budget on every
//! operation: a task that loops on one still yields to the others on its
//! worker (a `select!` of `repeat` against a timer or `yield_now` ends).

use std::fmt;
use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};
use weft_base::coop;

/// Spends one unit of budget, made good at once: every operation here
/// succeeds.
fn proceed(cx: &mut Context<'_>) -> Poll<()> {
    ready!(coop::poll_proceed(cx)).made_progress();
    Poll::Ready(())
}

/// `AsyncWrite` for a writer that takes every byte (and every vectored
/// slice whole) and keeps none, spending a unit of budget per call.
macro_rules! discards_writes {
    ($t:ty) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                ready!(proceed(cx));
                Poll::Ready(Ok(buf.len()))
            }

            /// Takes every slice whole.
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                ready!(proceed(cx));
                Poll::Ready(Ok(bufs.iter().map(|buf| buf.len()).sum()))
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                ready!(proceed(cx));
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                ready!(proceed(cx));
                Poll::Ready(Ok(()))
            }
        }
    };
}

/// A reader at EOF and a writer that takes everything: see [`empty`].
#[derive(Clone, Copy, Default)]
pub struct Empty {
    _private: (),
}

/// A reader that is always at EOF, and a writer that accepts and drops
/// every byte (`/dev/null` both ways).
///
/// ```
/// use weft_reactor::io::{self, AsyncReadExt};
///
/// # futures_executor::block_on(async {
/// let mut buf = Vec::new();
/// assert_eq!(io::empty().read_to_end(&mut buf).await?, 0);
/// # io::Result::Ok(()) }).unwrap();
/// ```
pub fn empty() -> Empty {
    Empty { _private: () }
}

impl AsyncRead for Empty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for Empty {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        ready!(proceed(cx));
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, _: usize) {}
}

discards_writes!(Empty);

/// Every seek lands at 0, the only position an empty stream has.
impl AsyncSeek for Empty {
    fn start_seek(self: Pin<&mut Self>, _: SeekFrom) -> io::Result<()> {
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(0))
    }
}

impl fmt::Debug for Empty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Empty { .. }")
    }
}

/// A reader that yields one byte forever: see [`repeat`].
#[derive(Clone, Copy, Debug)]
pub struct Repeat {
    byte: u8,
}

/// A reader that fills every read with `byte`, endlessly.
///
/// ```
/// use weft_reactor::io::{self, AsyncReadExt};
///
/// # futures_executor::block_on(async {
/// let mut buf = [0u8; 3];
/// io::repeat(b'z').read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"zzz");
/// # io::Result::Ok(()) }).unwrap();
/// ```
pub fn repeat(byte: u8) -> Repeat {
    Repeat { byte }
}

impl AsyncRead for Repeat {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(proceed(cx));
        let unfilled = buf.initialize_unfilled();
        unfilled.fill(self.byte);
        let n = unfilled.len();
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// A writer that accepts and drops every byte: see [`sink`].
#[derive(Clone, Copy, Default)]
pub struct Sink {
    _private: (),
}

/// A writer that accepts every write in full and keeps nothing.
///
/// ```
/// use weft_reactor::io::{self, AsyncWriteExt};
///
/// # futures_executor::block_on(async {
/// let mut sink = io::sink();
/// assert_eq!(sink.write(b"gone").await?, 4);
/// # io::Result::Ok(()) }).unwrap();
/// ```
pub fn sink() -> Sink {
    Sink { _private: () }
}

discards_writes!(Sink);

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sink { .. }")
    }
}
