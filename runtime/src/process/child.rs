//! `Child`: a spawned process, its pipes, and the wait for its exit.
//!
//! Invariant: while the state is `Running`, nobody has reaped the child,
//! so its pid is still ours (a zombie at worst) and `kill` cannot hit a
//! stranger. A `Child` dropped while running goes to the orphan queue,
//! killed first if it was spawned with `kill_on_drop(true)`.

use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

use super::exit::ExitWatch;
use super::orphan;
use super::stdio::{ChildStderr, ChildStdin, ChildStdout, ReadToEnd};

/// A child process spawned by [`Command::spawn`](super::Command::spawn).
///
/// Its exit is awaited through the reactor ([`wait`](Self::wait)) of the
/// runtime that waits, which need not be the one it was spawned in (that
/// one may be gone by then); its piped standard streams are the public
/// fields (they stay with the runtime they were made in). Dropping a `Child` does
/// not wait: a child that has not exited yet is reaped in the background
/// when it does (no zombie), and killed first if the command had
/// [`kill_on_drop(true)`](super::Command::kill_on_drop).
#[derive(Debug)]
pub struct Child {
    /// Our end of the child's stdin, if it was `Stdio::piped()`.
    pub stdin: Option<ChildStdin>,
    /// Our end of the child's stdout, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// Our end of the child's stderr, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
    state: State,
}

#[derive(Debug)]
enum State {
    Running {
        std: std::process::Child,
        exit: ExitWatch,
        kill_on_drop: bool,
    },
    Exited(ExitStatus),
}

impl Child {
    /// Takes over a child std just spawned. On error the child is killed
    /// and left to the orphan queue.
    pub(crate) fn new(mut std: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        let (stdin, stdout, stderr) = (std.stdin.take(), std.stdout.take(), std.stderr.take());
        let made = (|| {
            Ok::<_, io::Error>((
                ExitWatch::new(std.id())?,
                stdin.map(ChildStdin::from_std).transpose()?,
                stdout.map(ChildStdout::from_std).transpose()?,
                stderr.map(ChildStderr::from_std).transpose()?,
            ))
        })();
        match made {
            Ok((exit, stdin, stdout, stderr)) => Ok(Child {
                stdin,
                stdout,
                stderr,
                state: State::Running {
                    std,
                    exit,
                    kill_on_drop,
                },
            }),
            Err(err) => {
                let _ = std.kill();
                orphan::push(std);
                Err(err)
            }
        }
    }

    /// The child's process id, or `None` once it has been reaped (its id
    /// may belong to another process by then).
    pub fn id(&self) -> Option<u32> {
        match &self.state {
            State::Running { std, .. } => Some(std.id()),
            State::Exited(_) => None,
        }
    }

    /// Waits for the child to exit and returns its status; at once if it
    /// already has. Closes our end of its stdin first, so a child that
    /// reads until end of file can finish.
    ///
    /// Cancel-safe: dropping the future before it completes loses nothing;
    /// waiting again works.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// The exit status if the child has exited (reaping it), `None` if it
    /// is still running; never waits.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.state {
            State::Running { std, .. } => {
                let status = std.try_wait()?;
                if let Some(status) = status {
                    self.state = State::Exited(status);
                }
                Ok(status)
            }
            State::Exited(status) => Ok(Some(*status)),
        }
    }

    /// Sends `SIGKILL` without waiting for the child to die; `Ok` if it
    /// has already exited.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.state {
            State::Running { std, .. } => std.kill(),
            State::Exited(_) => Ok(()),
        }
    }

    /// Kills the child (`SIGKILL`) and waits until it is reaped.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Waits for the child to exit while reading all of its piped stdout
    /// and stderr, concurrently, so a child that writes more than a pipe
    /// holds cannot deadlock against the wait. Closes stdin first. Streams
    /// that were not piped come back empty.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout = ReadToEnd::new(self.stdout.take().map(ChildStdout::into_pipe));
        let mut stderr = ReadToEnd::new(self.stderr.take().map(ChildStderr::into_pipe));
        let mut status = None;
        poll_fn(|cx| {
            let stdout_done = stdout.poll(cx)?.is_ready();
            let stderr_done = stderr.poll(cx)?.is_ready();
            if status.is_none() {
                if let Poll::Ready(exited) = self.poll_wait(cx)? {
                    status = Some(exited);
                }
            }
            if stdout_done && stderr_done && status.is_some() {
                Poll::Ready(Ok::<_, io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        Ok(Output {
            status: status.expect("the wait completed"),
            stdout: stdout.into_bytes(),
            stderr: stderr.into_bytes(),
        })
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        match &mut self.state {
            State::Running { std, exit, .. } => {
                let status = std::task::ready!(exit.poll_exit(cx, std))?;
                self.state = State::Exited(status);
                Poll::Ready(Ok(status))
            }
            State::Exited(status) => Poll::Ready(Ok(*status)),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let state = std::mem::replace(&mut self.state, State::Exited(ExitStatus::default()));
        if let State::Running {
            mut std,
            kill_on_drop,
            ..
        } = state
        {
            if let Ok(None) = std.try_wait() {
                if kill_on_drop {
                    let _ = std.kill();
                }
                orphan::push(std);
            }
        }
    }
}
