//! `weft::fs` with tokio's names: `DirBuilder`, `File::set_max_buf_size`,
//! `File::set_times`, and the raw descriptor conversions.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use weft::fs::{self, DirBuilder, File};
use weft::io::{AsyncReadExt, AsyncWriteExt};

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("weft-fs-tokio-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[weft::test]
async fn dir_builder_creates_parents_only_when_recursive() {
    let dir = TempDir::new("dirbuilder");
    let deep = dir.0.join("a").join("b");
    let err = DirBuilder::new().create(&deep).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    DirBuilder::new()
        .recursive(true)
        .create(&deep)
        .await
        .unwrap();
    assert!(deep.is_dir());
    // Recursive: an existing directory is fine; otherwise it is not.
    DirBuilder::new()
        .recursive(true)
        .create(&deep)
        .await
        .unwrap();
    let err = DirBuilder::new().create(&deep).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(fs::try_exists(&deep).await.unwrap());
}

#[cfg(unix)]
#[weft::test]
async fn dir_builder_mode_sets_the_permission_bits() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("mode");
    let path = dir.0.join("private");
    DirBuilder::new().mode(0o700).create(&path).await.unwrap();
    let mode = fs::metadata(&path).await.unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[weft::test]
async fn a_max_buf_size_of_one_moves_one_byte_per_operation() {
    let dir = TempDir::new("maxbuf");
    let path = dir.0.join("f");
    std::fs::write(&path, b"hello world").unwrap();
    let mut file = File::open(&path).await.unwrap();
    file.set_max_buf_size(1);
    let mut buf = [0; 64];
    assert_eq!(file.read(&mut buf).await.unwrap(), 1);
    assert_eq!(file.read(&mut buf).await.unwrap(), 1);
    assert_eq!(&buf[..1], b"e");

    let mut file = File::create(dir.0.join("g")).await.unwrap();
    file.set_max_buf_size(1);
    assert_eq!(file.write(b"hello").await.unwrap(), 1);
    file.write_all(b"ello").await.unwrap();
    file.flush().await.unwrap();
    assert_eq!(std::fs::read(dir.0.join("g")).unwrap(), b"hello");
}

#[weft::test]
#[should_panic(expected = "`max_buf_size` must be greater than 0")]
async fn a_max_buf_size_of_zero_is_refused() {
    let dir = TempDir::new("maxbuf0");
    let mut file = File::create(dir.0.join("f")).await.unwrap();
    file.set_max_buf_size(0);
}

#[weft::test]
async fn set_times_sets_access_and_modification_times() {
    let dir = TempDir::new("times");
    let file = File::create(dir.0.join("f")).await.unwrap();
    let accessed = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    let times = fs::FileTimes::new()
        .set_accessed(accessed)
        .set_modified(modified);
    file.set_times(times).await.unwrap();
    let metadata = file.metadata().await.unwrap();
    assert_eq!(metadata.accessed().unwrap(), accessed);
    assert_eq!(metadata.modified().unwrap(), modified);
}

#[cfg(unix)]
#[weft::test]
async fn a_file_round_trips_through_its_raw_descriptor() {
    use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
    let dir = TempDir::new("rawfd");
    let mut file = File::create(dir.0.join("f")).await.unwrap();
    assert!(file.as_raw_fd() >= 0);
    file.write_all(b"raw").await.unwrap();
    let raw = file.into_std().await.into_raw_fd();
    // SAFETY: `raw` came out of `into_raw_fd` just above: open, owned by
    // nothing else.
    let file = unsafe { File::from_raw_fd(raw) };
    assert_eq!(file.as_raw_fd(), raw);
    drop(file);
    assert_eq!(std::fs::read(dir.0.join("f")).unwrap(), b"raw");
}
