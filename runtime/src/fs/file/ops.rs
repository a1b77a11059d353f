//! tokio's `File` methods that `file.rs` does not have: the per-operation
//! buffer cap, timestamps, and the raw descriptor conversions. A child
//! module of `file.rs`, so it reaches the fields without widening them.

use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use super::File;
use crate::fs::asyncify;

impl File {
    /// Caps how many bytes one read or write moves through the blocking
    /// pool (the read-ahead and write buffer never grow past it; 1 MiB
    /// unless set).
    ///
    /// # Panics
    /// If `max_buf_size` is 0 (as tokio).
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        assert!(max_buf_size > 0, "`max_buf_size` must be greater than 0");
        self.io.set_max_window(max_buf_size);
    }

    /// The cap [`set_max_buf_size`](Self::set_max_buf_size) set: the most
    /// bytes one read or write moves through the blocking pool (1 MiB
    /// unless set).
    pub fn max_buf_size(&self) -> usize {
        self.io.max_window()
    }

    /// Sets the file's access and modification times. Bytes this `File`
    /// still buffers are written later and move the modification time
    /// again: flush first.
    pub async fn set_times(&self, times: std::fs::FileTimes) -> io::Result<()> {
        let std = Arc::clone(&self.std);
        asyncify(move || std.set_times(times)).await
    }

    /// Sets the file's modification time (as [`set_times`](Self::set_times)).
    pub async fn set_modified(&self, time: SystemTime) -> io::Result<()> {
        self.set_times(std::fs::FileTimes::new().set_modified(time))
            .await
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::FromRawFd for File {
    /// Takes over `fd`, an open file.
    ///
    /// # Safety
    /// `fd` must be open and owned by nothing else.
    unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> File {
        // SAFETY: passed on from our caller.
        File::from_std(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}
