//! How a child's exit reaches the reactor, with no thread per child.
//!
//! On Linux, a pidfd (`pidfd_open(2)`) registered for readability: it
//! becomes readable when the child exits, and then `waitpid` reaps it.
//! Where there is no pidfd (kernels before 5.3, seccomp filters that
//! refuse the call, other Unixes), every `SIGCHLD` wakes every waiting
//! child, and each asks `waitpid` (without blocking) whether it was its
//! own. The `SIGCHLD` listener is made at spawn, before the child can
//! exit, so the one delivery that concerns it cannot be missed.

use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::task::{Context, Poll};

use weft_reactor::AsyncFd;

use crate::signal::unix::{signal, Signal, SignalKind};

#[derive(Debug)]
pub(crate) enum ExitWatch {
    /// The child's pidfd, readable once it exits.
    Pidfd(AsyncFd<OwnedFd>),
    /// Every `SIGCHLD`, then a look.
    Sigchld(Signal),
}

impl ExitWatch {
    /// A watch on the child `pid`, which nobody has reaped yet.
    pub(crate) fn new(pid: u32) -> io::Result<ExitWatch> {
        #[cfg(target_os = "linux")]
        if let Some(fd) = pidfd::open(pid) {
            // SAFETY: the `OwnedFd` keeps the pidfd open while registered;
            // `AsyncFd` deregisters it before dropping it.
            return Ok(ExitWatch::Pidfd(unsafe { AsyncFd::register(fd)? }));
        }
        #[cfg(not(target_os = "linux"))]
        let _ = pid;
        ExitWatch::sigchld()
    }

    /// The fallback watch, on `SIGCHLD`.
    pub(crate) fn sigchld() -> io::Result<ExitWatch> {
        Ok(ExitWatch::Sigchld(signal(SignalKind::child())?))
    }

    /// Ready with the exit status once `child` has exited (it is reaped
    /// then).
    pub(crate) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        let mut try_wait = || match child.try_wait() {
            Ok(Some(status)) => Ok(status),
            Ok(None) => Err(io::ErrorKind::WouldBlock.into()),
            Err(err) => Err(err),
        };
        match self {
            // Not exited after all: `WouldBlock` forgets the readiness and
            // waits for the next event.
            ExitWatch::Pidfd(fd) => fd.poll_read_io(cx, |_| try_wait()),
            ExitWatch::Sigchld(sigchld) => loop {
                match try_wait() {
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                    done => return Poll::Ready(done),
                }
                match sigchld.poll_recv(cx) {
                    Poll::Ready(Some(())) => {}
                    Poll::Ready(None) => {
                        return Poll::Ready(Err(io::Error::other(
                            "the weft runtime this child was spawned on has shut down",
                        )))
                    }
                    Poll::Pending => return Poll::Pending,
                }
            },
        }
    }
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
            assert!(matches!(watch, ExitWatch::Sigchld(_)));
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
}
