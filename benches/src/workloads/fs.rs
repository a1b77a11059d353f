//! File workloads, each runtime on its own async file type (weft's and
//! tokio's `fs::File`, smol's `async_fs::File`).
//!
//! - `fs_read`: 1,000 tasks at once each open one of 1,000 files of
//!   64 KiB and read it to the end in 8 KiB reads, the way code reads a
//!   file through a buffer. The files are written once, before the first
//!   sample (they sit in the page cache, so this measures the runtimes'
//!   trips to their blocking pools, not the disk), and removed at the end.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::{time_iters, Countdown, Timing, Visitor, Workload};
use crate::rt::Runtime;

const FILES: usize = 1_000;
const FILE_SIZE: usize = 64 * 1024;
const READ_SIZE: usize = 8 * 1024;

pub fn register(v: &mut impl Visitor) {
    v.visit(FsRead {
        files: OnceLock::new(),
    });
}

/// The files of `fs_read`: file `i` is `FILE_SIZE` bytes of `i as u8`.
struct Files {
    dir: PathBuf,
    paths: Arc<[PathBuf]>,
}

impl Files {
    fn create() -> Files {
        let dir = std::env::temp_dir().join(format!("weft-bench-fs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fs_read: creating the directory");
        let paths: Arc<[PathBuf]> = (0..FILES)
            .map(|i| {
                let path = dir.join(format!("{i}"));
                std::fs::write(&path, vec![i as u8; FILE_SIZE]).expect("fs_read: writing a file");
                path
            })
            .collect();
        Files { dir, paths }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct FsRead {
    /// Made by the first sample, so a filtered-out row writes nothing.
    files: OnceLock<Files>,
}

impl Workload for FsRead {
    fn name(&self) -> &'static str {
        "fs_read"
    }

    fn sample<R: Runtime>(&self, rt: &R, iters: u64) -> Timing {
        let paths = self.files.get_or_init(Files::create).paths.clone();
        time_iters(iters, || {
            let (countdown, done) = Countdown::new(FILES);
            let countdown = Arc::new(countdown);
            for i in 0..FILES {
                let countdown = countdown.clone();
                let path = paths[i].clone();
                rt.spawn_detached(async move {
                    let mut file = R::file_open(path).await.expect("fs_read: open");
                    let mut buf = [0u8; READ_SIZE];
                    let mut total = 0;
                    loop {
                        let n = R::file_read(&mut file, &mut buf)
                            .await
                            .expect("fs_read: read");
                        if n == 0 {
                            break;
                        }
                        assert_eq!(buf[n - 1], i as u8, "fs_read: wrong bytes");
                        total += n;
                    }
                    assert_eq!(total, FILE_SIZE, "fs_read: wrong length");
                    countdown.tick();
                });
            }
            rt.block_on(done).expect("fs_read: completion signal lost");
        })
    }
}
