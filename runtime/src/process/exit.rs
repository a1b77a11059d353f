//! How a child's exit reaches the reactor, with no thread per child.
//!
//! On Linux, a pidfd (`pidfd_open(2)`) registered for readability: it
//! becomes readable when the child exits, and then `waitpid` reaps it.
//! Where there is no pidfd (kernels before 5.3, seccomp filters that
//! refuse the call, other Unixes), every `SIGCHLD` wakes every waiting
//! child, and each asks `waitpid` (without blocking) whether it was its
//! own. The `SIGCHLD` listener is made at spawn, before the child can
//! exit, so the one delivery that concerns it cannot be missed.
//!
//! The watch belongs to the runtime that polls it: a wait polled in
//! another runtime than the one the watch was made in (say, that one was
//! dropped since) makes a new watch there first. The child is not reaped
//! yet (its `Child` is still running), so its pid still names it, and the
//! new watch looks once (`waitpid`) after it exists, so an exit from
//! before is not missed. The reactor a watch was made with is held, so
//! comparing its identity with the current one's is sound.

use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::sync::Arc;
use std::task::{Context, Poll};

use weft_base::context::{self, Service};
use weft_reactor::{AsyncFd, IoHandle};

use crate::signal::unix::{signal, Signal, SignalKind};

#[derive(Debug)]
pub(crate) struct ExitWatch {
    source: Source,
    /// The reactor of the runtime `source` was made in.
    reactor: Reactor,
}

#[derive(Debug)]
enum Source {
    /// The child's pidfd, readable once it exits.
    Pidfd(AsyncFd<OwnedFd>),
    /// Every `SIGCHLD`, then a look.
    Sigchld(Signal),
}

/// A runtime's reactor, for its identity.
struct Reactor(IoHandle);

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reactor")
    }
}

impl Reactor {
    /// The current runtime's reactor.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    fn current() -> Reactor {
        Reactor(context::expect_current::<IoHandle>())
    }

    /// Whether a runtime is current here and it is not this reactor's.
    fn is_not_current(&self) -> bool {
        let ours = Arc::as_ptr(self.0.shared());
        context::with_current::<IoHandle, _>(|current| {
            current.is_some_and(|current| !std::ptr::eq(current, ours))
        })
    }
}

impl ExitWatch {
    /// A watch on the child `pid`, which nobody has reaped yet, in the
    /// current runtime.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub(crate) fn new(pid: u32) -> io::Result<ExitWatch> {
        let reactor = Reactor::current();
        #[cfg(target_os = "linux")]
        if let Some(fd) = pidfd::open(pid) {
            // SAFETY: the `OwnedFd` keeps the pidfd open while registered;
            // `AsyncFd` deregisters it before dropping it.
            let fd = unsafe { AsyncFd::register(fd)? };
            return Ok(ExitWatch {
                source: Source::Pidfd(fd),
                reactor,
            });
        }
        #[cfg(not(target_os = "linux"))]
        let _ = pid;
        ExitWatch::sigchld()
    }

    /// The fallback watch, on `SIGCHLD`, in the current runtime.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub(crate) fn sigchld() -> io::Result<ExitWatch> {
        Ok(ExitWatch {
            reactor: Reactor::current(),
            source: Source::Sigchld(signal(SignalKind::child())?),
        })
    }

    /// Ready with the exit status once `child` has exited (it is reaped
    /// then). Polled in another runtime than the watch's, it moves the
    /// watch there first.
    pub(crate) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        if self.reactor.is_not_current() {
            // The same kind of watch (the fallback stays the fallback); the
            // old one goes, and deregisters, once the new one is in.
            *self = match self.source {
                Source::Pidfd(_) => ExitWatch::new(child.id())?,
                Source::Sigchld(_) => ExitWatch::sigchld()?,
            };
        }
        let mut try_wait = || match child.try_wait() {
            Ok(Some(status)) => Ok(status),
            Ok(None) => Err(io::ErrorKind::WouldBlock.into()),
            Err(err) => Err(err),
        };
        match &mut self.source {
            // Not exited after all: `WouldBlock` forgets the readiness and
            // waits for the next event.
            Source::Pidfd(fd) => fd.poll_read_io(cx, |_| try_wait()),
            Source::Sigchld(sigchld) => loop {
                match try_wait() {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    done => return Poll::Ready(done),
                }
                match sigchld.poll_recv(cx) {
                    Poll::Ready(Some(())) => {}
                    Poll::Ready(None) => return Poll::Ready(Err(watcher_gone())),
                    Poll::Pending => return Poll::Pending,
                }
            },
        }
    }
}

/// A wait polled outside any runtime, on a watch whose runtime is gone.
fn watcher_gone() -> io::Error {
    weft_base::gone::RuntimeGone::error(
        "the weft runtime watching this child's exit has shut down; wait for it in a running one",
    )
}

#[cfg(target_os = "linux")]
mod pidfd {
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};

    use weft_base::loom::{AtomicBool, Ordering};

    /// Set once the kernel said pidfds are not to be had here.
    static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

    /// A pidfd for `pid`, or `None` where the kernel will not make one
    /// (the caller falls back to `SIGCHLD`).
    pub(super) fn open(pid: u32) -> Option<OwnedFd> {
        if UNSUPPORTED.load(Ordering::Relaxed) {
            return None;
        }
        let pid = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: `pidfd_open` takes a pid and flags and returns a new
        // descriptor or -1; no memory is passed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            let err = std::io::Error::last_os_error();
            if matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) {
                UNSUPPORTED.store(true, Ordering::Relaxed);
            }
            return None;
        }
        // SAFETY: the kernel just made this descriptor (close-on-exec) for
        // us; nothing else owns it.
        Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}

#[cfg(all(test, not(miri)))]
mod tests {
    use std::future::poll_fn;
    use std::process::Stdio;

    use super::ExitWatch;

    /// The fallback, forced: a child that exits only when we close its
    /// stdin is awaited through `SIGCHLD` alone.
    #[test]
    fn the_sigchld_fallback_sees_the_exit() {
        let rt = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut child = std::process::Command::new("sh")
                .args(["-c", "read line; exit 7"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            let mut watch = ExitWatch::sigchld().unwrap();
            assert!(matches!(watch.source, super::Source::Sigchld(_)));
            let mut stdin = child.stdin.take();
            let mut polls = 0;
            let status = poll_fn(|cx| {
                polls += 1;
                let polled = watch.poll_exit(cx, &mut child);
                if polls == 1 {
                    assert!(polled.is_pending(), "exited before its stdin closed");
                    drop(stdin.take()); // now it may exit
                }
                polled
            })
            .await
            .unwrap();
            assert_eq!(status.code(), Some(7));
            assert!(polls >= 2);
        });
    }

    /// The fallback's watch, made in a runtime since dropped, moves to the
    /// runtime that polls it and sees the exit there.
    #[test]
    fn a_sigchld_watch_moves_to_the_runtime_that_polls_it() {
        let first = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut child = std::process::Command::new("sh")
            .args(["-c", "read line; exit 9"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut watch = first.block_on(async { ExitWatch::sigchld().unwrap() });
        drop(first);
        let second = crate::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut stdin = child.stdin.take();
        let mut polls = 0;
        let status = second
            .block_on(poll_fn(|cx| {
                polls += 1;
                let polled = watch.poll_exit(cx, &mut child);
                assert!(!watch.reactor.is_not_current(), "not moved here");
                if polls == 1 {
                    assert!(polled.is_pending(), "{polled:?}");
                    drop(stdin.take());
                }
                polled
            }))
            .unwrap();
        assert_eq!(status.code(), Some(9));
        assert!(matches!(watch.source, super::Source::Sigchld(_)));
    }
}
