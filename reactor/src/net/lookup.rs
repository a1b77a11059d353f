//! Host-name resolution, and the other calls that can only block, on the
//! runtime's blocking pool.
//!
//! The system resolver (`getaddrinfo`) blocks, sometimes for seconds, so it
//! never runs on a worker: the runtime gives the reactor a way to run a
//! closure on its blocking pool, and the calling task waits for the answer
//! like for any other readiness ([`on_blocking_pool`]).

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Poll, Waker};

use super::addr::ToSocketAddrs;
use crate::io_driver::IoHandle;
use weft_base::loom::Mutex;

/// Resolves `host` to its addresses, without blocking the worker thread.
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// for addr in weft_reactor::net::lookup_host("localhost:8080").await? {
///     println!("{addr}");
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// What the system resolver reports: no such host, no network, ...
///
/// # Panics
/// Outside a weft runtime, when `host` is a name that needs resolving.
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(host.into_addrs().resolve().await?.into_iter())
}

struct Slot<T> {
    result: Option<io::Result<T>>,
    waker: Option<Waker>,
    /// The pool's end has answered (the result may be taken since).
    answered: bool,
}

/// The pool's end of a call: answers with the closure's result or, if the
/// pool drops the closure without running it (it could start no thread
/// for it), with an error, so the waiting task never waits forever.
struct Reply<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Reply<T> {
    fn answer(&self, result: io::Result<T>) {
        let waker = {
            let mut slot = self.slot.lock();
            if slot.answered {
                return;
            }
            slot.answered = true;
            slot.result = Some(result);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        self.answer(Err(io::Error::other(
            "the runtime's blocking pool dropped the call without running it \
             (it could start no thread, or the runtime shut down)",
        )));
    }
}

pub(crate) async fn resolve(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    on_blocking_pool(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map(Iterator::collect)
    })
    .await
}

/// Runs `f` on the current runtime's blocking pool and waits for its
/// result without blocking the worker. Dropping the future leaves `f` to
/// finish on its own; its result is dropped. If the pool drops `f` unrun,
/// the result is an error.
pub(crate) async fn on_blocking_pool<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let slot = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
        answered: false,
    }));
    let reply = Reply { slot: slot.clone() };
    weft_base::context::expect_current::<IoHandle>()
        .spawn_blocking(Box::new(move || reply.answer(f())))?;
    poll_fn(|cx| {
        let mut slot = slot.lock();
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await
}
