//! Child processes driven by the reactor: [`Command`] spawns a [`Child`]
//! whose piped stdin, stdout and stderr are non-blocking pipes registered
//! with the runtime's reactor, and whose exit is awaited there too (a
//! pidfd on Linux, `SIGCHLD` elsewhere; `exit.rs`). No thread per child,
//! and no zombies: a child dropped before it exits is reaped when it does
//! (`orphan.rs`).
//!
//! ```
//! use futures_io::AsyncWrite;
//! use std::process::Stdio;
//! use weft_runtime::process::Command;
//!
//! weft_runtime::run(async {
//!     let mut child = Command::new("cat")
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()
//!         .unwrap();
//!     let mut stdin = child.stdin.take().unwrap();
//!     let written = std::future::poll_fn(|cx| {
//!         std::pin::Pin::new(&mut stdin).poll_write(cx, b"meow")
//!     })
//!     .await
//!     .unwrap();
//!     assert_eq!(written, 4);
//!     drop(stdin); // cat reads end of file and exits
//!     let out = child.wait_with_output().await.unwrap();
//!     assert_eq!(out.stdout, b"meow");
//!     assert!(out.status.success());
//! });
//! ```

mod child;
mod command;
mod exit;
mod orphan;
mod stdio;

pub use child::Child;
pub use command::Command;
pub use std::process::{ExitStatus, Output, Stdio};
pub use stdio::{ChildStderr, ChildStdin, ChildStdout};
