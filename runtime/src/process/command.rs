//! `Command`: std's process builder, spawning children whose pipes and
//! exit the reactor drives.

use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::child::Child;

/// A process builder with `std::process::Command`'s methods, whose
/// children are awaited rather than blocked on.
///
/// ```
/// use weft_runtime::process::Command;
///
/// weft_runtime::run(async {
///     let out = Command::new("sh").args(["-c", "echo hi; exit 3"]).output().await.unwrap();
///     assert_eq!(out.stdout, b"hi\n");
///     assert_eq!(out.status.code(), Some(3));
/// });
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Whether stdin, stdout, stderr were set by the caller (`output`
    /// picks its own defaults for the others).
    stdio_set: [bool; 3],
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` if it has no
    /// slash), with no arguments, the parent's environment and working
    /// directory, and inherited standard streams.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin: `Stdio::piped()` gives a [`ChildStdin`](super::ChildStdin).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdio_set[0] = true;
        self
    }

    /// The child's stdout: `Stdio::piped()` gives a [`ChildStdout`](super::ChildStdout).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdio_set[1] = true;
        self
    }

    /// The child's stderr: `Stdio::piped()` gives a [`ChildStderr`](super::ChildStderr).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stdio_set[2] = true;
        self
    }

    /// Whether dropping the [`Child`] before it exits kills it (`SIGKILL`).
    /// Either way a dropped child is reaped when it exits. Off by default,
    /// as in std.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Whether [`kill_on_drop`](Self::kill_on_drop) is set.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// The std builder inside, for what it has beyond these methods.
    /// Standard streams set through it count as unset for
    /// [`output`](Self::output)'s defaults.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The std builder inside, to read its settings (`get_program`,
    /// `get_args`, `get_envs`, `get_current_dir`).
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std builder inside, given up (the
    /// [`kill_on_drop`](Self::kill_on_drop) setting is lost).
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    /// Starts the child, with inherited standard streams unless set.
    ///
    /// # Errors
    /// What the OS reports: `NotFound` for a program that does not exist,
    /// `PermissionDenied` for one that may not be run, ...
    ///
    /// # Panics
    /// Outside a weft runtime (checked before the child is started).
    #[track_caller]
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.spawn_with(None)
    }

    /// Runs the child to its exit and collects its output, reading stdout
    /// and stderr concurrently with the wait (a child that writes more
    /// than a pipe holds cannot deadlock). Unless set, stdin is
    /// `Stdio::null()` and stdout and stderr are piped, as in std; the
    /// command is left as it was.
    ///
    /// The child is spawned here, when this is called (as tokio's is); the
    /// future returned borrows nothing, and waits.
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn), and I/O errors on the pipes.
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send + 'static {
        let child = self.spawn_with(Some([Stdio::null, Stdio::piped, Stdio::piped]));
        async move { child?.wait_with_output().await }
    }

    /// Runs the child to its exit, with inherited standard streams unless
    /// set (pipes set here are closed at once).
    ///
    /// The child is spawned here, when this is called (as tokio's is); the
    /// future returned borrows nothing, and waits.
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn).
    ///
    /// # Panics
    /// Outside a weft runtime.
    #[track_caller]
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send + 'static {
        let child = self.spawn();
        async move {
            let mut child = child?;
            drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
            child.wait().await
        }
    }

    /// Spawns with `defaults` for the streams the caller did not set, then
    /// puts those back to std's default (inherit).
    #[track_caller]
    fn spawn_with(&mut self, defaults: Option<[fn() -> Stdio; 3]>) -> io::Result<Child> {
        // Panic (outside a runtime) before the child exists, not after.
        let handle = crate::runtime::Handle::current();
        // Nor is a child started inside a `weft::check` run.
        if handle.services.check.get().is_some() {
            return Err(crate::check::real_io_refused());
        }
        drop(handle);
        let unset = |i: usize| defaults.filter(|_| !self.stdio_set[i]).map(|d| d[i]);
        let (stdin, stdout, stderr) = (unset(0), unset(1), unset(2));
        if let Some(stdin) = stdin {
            self.std.stdin(stdin());
        }
        if let Some(stdout) = stdout {
            self.std.stdout(stdout());
        }
        if let Some(stderr) = stderr {
            self.std.stderr(stderr());
        }
        let spawned = self.std.spawn();
        if stdin.is_some() {
            self.std.stdin(Stdio::inherit());
        }
        if stdout.is_some() {
            self.std.stdout(Stdio::inherit());
        }
        if stderr.is_some() {
            self.std.stderr(Stdio::inherit());
        }
        Child::new(spawned?, self.kill_on_drop)
    }
}

/// Unix's `CommandExt` settings, with tokio's names.
#[cfg(unix)]
impl Command {
    /// Runs the child as user `id` (`setuid`); fails at spawn without the
    /// privilege.
    pub fn uid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::uid(&mut self.std, id);
        self
    }

    /// Runs the child as group `id` (`setgid`).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::gid(&mut self.std, id);
        self
    }

    /// Sets the child's `argv[0]`, the name it sees itself run as (the
    /// program run is still the one given to [`new`](Self::new)).
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        std::os::unix::process::CommandExt::arg0(&mut self.std, arg);
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group whose id is
    /// the child's pid), so a terminal's `SIGINT` to our group does not
    /// reach it.
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        std::os::unix::process::CommandExt::process_group(&mut self.std, pgroup);
        self
    }

    /// Runs `f` in the child after `fork` and before `exec`; an error from
    /// it fails the spawn with that error.
    ///
    /// # Safety
    /// As [`std::os::unix::process::CommandExt::pre_exec`]: `f` runs in a
    /// forked copy of this process where only async-signal-safe operations
    /// are allowed (no allocation, no locks another thread may hold).
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: passed on from our caller.
        unsafe { std::os::unix::process::CommandExt::pre_exec(&mut self.std, f) };
        self
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdio_set: [false; 3],
        }
    }
}
