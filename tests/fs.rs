//! `weft::fs` against `std::fs`: a 1 GiB file read back byte for byte in
//! few hops, round trips of the free functions, errors of the right kind,
//! seeks around read-ahead, buffered writes (flushed, failed, dropped),
//! and a directory of 1,000 entries.

use std::collections::HashSet;
use std::fs::Permissions;
use std::io::{self, Read, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use weft::fs::{self, File, OpenOptions};
use weft::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("weft-fs-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), filled a buffer at a
/// time.
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let word = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// Writes `len` pseudo-random bytes to `path` with `std::fs`.
fn write_random(path: &Path, len: usize, seed: u64) {
    let mut file = io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut bytes = Bytes(seed);
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        bytes.fill(&mut chunk[..n]);
        io::Write::write_all(&mut file, &chunk[..n]).unwrap();
        left -= n;
    }
    io::Write::flush(&mut file).unwrap();
}

fn hops() -> u64 {
    weft::runtime::Handle::current()
        .metrics()
        .blocking_tasks_spawned()
}

/// Reads `n` bytes with `weft::fs` (as many reads as it takes) and the same
/// with `std::fs`, and compares them.
async fn compare(
    ours: &mut File,
    theirs: &mut std::fs::File,
    n: usize,
    a: &mut [u8],
    b: &mut [u8],
) {
    ours.read_exact(&mut a[..n]).await.unwrap();
    theirs.read_exact(&mut b[..n]).unwrap();
    assert!(
        a[..n] == b[..n],
        "weft::fs and std::fs read different bytes"
    );
}

const GIB: usize = 1 << 30;

/// Half the file in 8 KiB reads, half in large and odd ones; the 8 KiB
/// half must cost about one hop per MiB, not one per read.
#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gib_file_reads_back_byte_for_byte_in_few_hops() {
    let dir = TempDir::new("gib");
    let path = dir.join("big");
    write_random(&path, GIB, 0x5eed);

    let mut ours = File::open(&path).await.unwrap();
    let mut theirs = std::fs::File::open(&path).unwrap();
    let mut a = vec![0u8; 4 << 20];
    let mut b = vec![0u8; 4 << 20];

    let before = hops();
    for _ in 0..GIB / 2 / 8192 {
        compare(&mut ours, &mut theirs, 8192, &mut a, &mut b).await;
    }
    let small_read_hops = hops() - before;
    // 65,536 reads of 8 KiB; windows of 64, 128, 256, 512 KiB, then 1 MiB.
    assert!(
        small_read_hops <= 520,
        "512 MiB in 8 KiB reads took {small_read_hops} hops"
    );

    let sizes = [3 << 20, 1, 100_003, 4 << 20, 8191, 1 << 20];
    let mut left = GIB / 2;
    for size in sizes.iter().cycle() {
        let n = (*size).min(left);
        if n == 0 {
            break;
        }
        compare(&mut ours, &mut theirs, n, &mut a, &mut b).await;
        left -= n;
    }
    assert_eq!(
        ours.read(&mut a).await.unwrap(),
        0,
        "no end of file after 1 GiB"
    );
    drop(ours);
    std::fs::remove_file(&path).unwrap();
}

#[weft::test]
async fn the_free_functions_round_trip() {
    let dir = TempDir::new("free");
    let nested = dir.join("a/b/c");
    fs::create_dir_all(&nested).await.unwrap();
    fs::create_dir_all(&nested).await.unwrap(); // exists already: fine
    assert!(fs::metadata(&nested).await.unwrap().is_dir());

    let file = nested.join("data.bin");
    let mut contents = vec![0u8; 300_000];
    Bytes(7).fill(&mut contents);
    fs::write(&file, &contents).await.unwrap();
    assert_eq!(fs::read(&file).await.unwrap(), contents);
    let meta = fs::metadata(&file).await.unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.len(), 300_000);

    fs::write(&file, "some text\n").await.unwrap();
    assert_eq!(fs::read_to_string(&file).await.unwrap(), "some text\n");
    fs::write(&file, [0xff, 0xfe]).await.unwrap();
    assert_eq!(
        fs::read_to_string(&file).await.unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );

    let copy = dir.join("copy.bin");
    fs::write(&file, &contents).await.unwrap();
    assert_eq!(fs::copy(&file, &copy).await.unwrap(), 300_000);
    assert_eq!(std::fs::read(&copy).unwrap(), contents);

    let renamed = dir.join("renamed.bin");
    fs::rename(&copy, &renamed).await.unwrap();
    assert!(!fs::try_exists(&copy).await.unwrap());
    assert!(fs::try_exists(&renamed).await.unwrap());

    fs::hard_link(&renamed, dir.join("hard")).await.unwrap();
    assert_eq!(std::fs::read(dir.join("hard")).unwrap(), contents);
    fs::symlink(&renamed, dir.join("soft")).await.unwrap();
    assert_eq!(fs::read_link(dir.join("soft")).await.unwrap(), renamed);
    assert!(fs::symlink_metadata(dir.join("soft"))
        .await
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::canonicalize(dir.join("soft")).await.unwrap(),
        std::fs::canonicalize(&renamed).unwrap()
    );

    let mut perm = fs::metadata(&renamed).await.unwrap().permissions();
    perm.set_readonly(true);
    fs::set_permissions(&renamed, perm).await.unwrap();
    assert!(std::fs::metadata(&renamed)
        .unwrap()
        .permissions()
        .readonly());

    fs::remove_file(&renamed).await.unwrap();
    assert_eq!(
        std::fs::metadata(&renamed).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    fs::create_dir(dir.join("empty")).await.unwrap();
    fs::remove_dir(dir.join("empty")).await.unwrap();
    fs::remove_dir_all(dir.join("a")).await.unwrap();
    assert!(!fs::try_exists(dir.join("a")).await.unwrap());
}

#[weft::test]
async fn a_missing_file_is_not_found() {
    let dir = TempDir::new("missing");
    let missing = dir.join("nope");
    let kind = |res: io::Error| res.kind();
    assert_eq!(
        kind(File::open(&missing).await.unwrap_err()),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(fs::read(&missing).await.unwrap_err()),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(fs::metadata(&missing).await.unwrap_err()),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(fs::remove_file(&missing).await.unwrap_err()),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(fs::read_dir(&missing).await.unwrap_err()),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(fs::copy(&missing, dir.join("x")).await.unwrap_err()),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(fs::rename(&missing, dir.join("x")).await.unwrap_err()),
        io::ErrorKind::NotFound
    );
    assert!(!fs::try_exists(&missing).await.unwrap());
}

#[weft::test]
async fn reading_a_directory_is_the_os_error() {
    let dir = TempDir::new("isdir");
    // Opening a directory for reading succeeds on Unix; reading it fails.
    let mut file = File::open(&dir.0).await.unwrap();
    let err = file.read(&mut [0u8; 16]).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
    assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
    assert_eq!(
        fs::read(&dir.0).await.unwrap_err().kind(),
        io::ErrorKind::IsADirectory
    );
    assert_eq!(
        File::create(&dir.0).await.unwrap_err().kind(),
        io::ErrorKind::IsADirectory
    );
}

const CHILD_ENV: &str = "WEFT_FS_CHILD_DIR";

/// Permission checks need a user they apply to. Tests here may run as
/// root, whom mode bits do not stop, so the checks run in a child process
/// (this test binary again) started as `nobody`; as any other user they
/// run in-process.
#[test]
fn permission_denied_is_permission_denied() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        return denied_checks(Path::new(&dir));
    }
    let dir = TempDir::new("perm");
    // Only the owner may read the file or write in the directory.
    std::fs::write(dir.join("secret"), b"x").unwrap();
    std::fs::set_permissions(dir.join("secret"), Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&dir.0, Permissions::from_mode(0o755)).unwrap();
    // SAFETY: `geteuid` only reads the process's effective user id.
    if unsafe { libc::geteuid() } != 0 {
        return denied_checks(&dir.0);
    }
    let nobody = 65534;
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "permission_denied_is_permission_denied",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &dir.0)
        .uid(nobody)
        .gid(nobody)
        .status()
        .unwrap();
    assert!(status.success(), "the checks as nobody failed: {status}");
}

fn denied_checks(dir: &Path) {
    weft::run(async {
        let denied = io::ErrorKind::PermissionDenied;
        let secret = dir.join("secret");
        assert_eq!(File::open(&secret).await.unwrap_err().kind(), denied);
        assert_eq!(fs::read(&secret).await.unwrap_err().kind(), denied);
        assert_eq!(
            OpenOptions::new()
                .write(true)
                .open(&secret)
                .await
                .unwrap_err()
                .kind(),
            denied
        );
        assert_eq!(
            fs::write(dir.join("new"), b"x").await.unwrap_err().kind(),
            denied
        );
        assert_eq!(fs::remove_file(&secret).await.unwrap_err().kind(), denied);
        assert_eq!(
            fs::create_dir(dir.join("sub")).await.unwrap_err().kind(),
            denied
        );
    });
}

/// A 300,000-byte file whose byte at offset `i` is `i % 251`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[weft::test]
async fn seek_and_read_after_read_ahead_return_the_right_bytes() {
    let dir = TempDir::new("seek");
    let path = dir.join("pattern");
    let expect = pattern(300_000);
    std::fs::write(&path, &expect).unwrap();

    let mut file = File::open(&path).await.unwrap();
    let mut buf = [0u8; 10];
    file.read_exact(&mut buf).await.unwrap(); // fetched 64 KiB ahead
    assert_eq!(&buf, &expect[..10]);
    // Relative to where the reader is, not to the read-ahead.
    assert_eq!(file.seek(SeekFrom::Current(5)).await.unwrap(), 15);
    file.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, &expect[15..25]);
    assert_eq!(file.seek(SeekFrom::Current(-20)).await.unwrap(), 5);
    file.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, &expect[5..15]);
    assert_eq!(file.seek(SeekFrom::Start(200_000)).await.unwrap(), 200_000);
    file.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, &expect[200_000..200_010]);
    assert_eq!(file.seek(SeekFrom::End(-3)).await.unwrap(), 299_997);
    let mut rest = Vec::new();
    assert_eq!(file.read_to_end(&mut rest).await.unwrap(), 3);
    assert_eq!(rest, &expect[299_997..]);
    assert_eq!(
        file.seek(SeekFrom::Current(-400_000))
            .await
            .unwrap_err()
            .kind(),
        io::ErrorKind::InvalidInput
    );

    // The futures-io trait does the same.
    let mut file = File::open(&path).await.unwrap();
    file.read_exact(&mut buf).await.unwrap();
    let pos = weft::io::AsyncSeekExt::seek(&mut file, SeekFrom::Current(0))
        .await
        .unwrap();
    assert_eq!(pos, 10);
    // Handing the file back gives the logical position to the OS.
    file.read_exact(&mut buf).await.unwrap();
    let mut std_file = file.try_into_std().unwrap();
    std_file.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, &expect[20..30]);
}

#[weft::test]
async fn writes_are_seen_by_later_reads_and_seeks() {
    let dir = TempDir::new("rw");
    let path = dir.join("rw");
    let mut file = File::create_new(&path).await.unwrap();
    file.write_all(b"hello, world").await.unwrap();
    assert_eq!(file.seek(SeekFrom::Start(0)).await.unwrap(), 0);
    let mut buf = [0u8; 12];
    file.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"hello, world");

    // A write after read-ahead lands where the reader is.
    std::fs::write(&path, pattern(100_000)).unwrap();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .await
        .unwrap();
    let mut ten = [0u8; 10];
    file.read_exact(&mut ten).await.unwrap();
    file.write_all(b"XYZ").await.unwrap();
    // A read after the write: the write goes first, the read goes on after it.
    file.read_exact(&mut ten).await.unwrap();
    let mut expect = pattern(100_000);
    expect[10..13].copy_from_slice(b"XYZ");
    assert_eq!(&ten, &expect[13..23]);
    file.sync_all().await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), expect);

    // set_len after writing: the buffer goes first; the position stays.
    file.seek(SeekFrom::Start(0)).await.unwrap();
    file.write_all(b"abc").await.unwrap();
    file.set_len(5).await.unwrap();
    assert_eq!(file.metadata().await.unwrap().len(), 5);
    assert_eq!(std::fs::read(&path).unwrap(), [b'a', b'b', b'c', 3, 4]);
    assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 3);
}

#[weft::test]
async fn small_writes_gather_into_few_hops() {
    let dir = TempDir::new("gather");
    let path = dir.join("log");
    let mut file = File::create(&path).await.unwrap();
    let before = hops();
    let line = [b'x'; 100];
    for _ in 0..10_000 {
        file.write_all(&line).await.unwrap();
    }
    file.flush().await.unwrap();
    // 1,000,000 bytes: windows of 64, 128, 256, 512 KiB, and the rest.
    let spent = hops() - before;
    assert!(spent <= 5, "10,000 writes of 100 bytes took {spent} hops");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 1_000_000);
}

#[weft::test]
async fn a_write_error_comes_back_from_flush_and_the_next_write() {
    let mut full = OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .await
        .unwrap();
    // Buffered: nothing has reached the device yet.
    full.write_all(b"no room").await.unwrap();
    let err = full.flush().await.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    // Reported once; the failed bytes are dropped.
    full.flush().await.unwrap();

    // A window's worth goes out on its own; its error comes back from the
    // next operation.
    full.write_all(&vec![0u8; 64 * 1024]).await.unwrap();
    let err = full.write_all(b"more").await.unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));

    full.write_all(b"and more").await.unwrap();
    assert_eq!(
        full.sync_all().await.unwrap_err().raw_os_error(),
        Some(libc::ENOSPC)
    );
}

#[weft::test]
async fn a_dropped_file_writes_what_it_buffered() {
    let dir = TempDir::new("drop");
    let path = dir.join("dropped");
    let mut file = File::create(&path).await.unwrap();
    file.write_all(b"written before the drop").await.unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"",
        "the bytes are still buffered"
    );
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), b"written before the drop");

    // into_std hands the bytes to the OS too.
    let mut file = File::create(&path).await.unwrap();
    file.write_all(b"then into std").await.unwrap();
    let std_file = file.into_std().await;
    assert_eq!(std_file.metadata().unwrap().len(), 13);
    // try_into_std refuses while bytes are buffered, and gives the file back.
    let mut file = File::from_std(std_file);
    file.write_all(b"!").await.unwrap();
    let mut file = file.try_into_std().unwrap_err();
    file.flush().await.unwrap();
    assert!(file.try_into_std().is_ok());
    assert_eq!(std::fs::read(&path).unwrap(), b"then into std!");
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_dir_yields_each_of_1000_entries_once() {
    let dir = TempDir::new("readdir");
    for i in 0..1000 {
        std::fs::write(dir.join(&format!("entry-{i}")), b"").unwrap();
    }
    std::fs::create_dir(dir.join("a-directory")).unwrap();
    let before = hops();
    let mut entries = fs::read_dir(&dir.0).await.unwrap();
    let mut seen = HashSet::new();
    let mut dirs = 0;
    while let Some(entry) = entries.next_entry().await.unwrap() {
        let name = entry.file_name().into_string().unwrap();
        assert_eq!(entry.path(), dir.join(&name));
        if entry.file_type().await.unwrap().is_dir() {
            dirs += 1;
        }
        assert!(seen.insert(name), "an entry came twice");
    }
    assert!(
        entries.next_entry().await.unwrap().is_none(),
        "the end is the end"
    );
    assert_eq!(seen.len(), 1001);
    assert_eq!(dirs, 1);
    assert!((0..1000).all(|i| seen.contains(&format!("entry-{i}"))));
    // One hop to open, 32 entries per hop after that (the file types came
    // with the listing: no hop each).
    let spent = hops() - before;
    assert!(spent <= 1 + 1001 / 32 + 1, "read_dir took {spent} hops");
}

#[weft::test]
async fn read_dir_is_a_stream() {
    let dir = TempDir::new("stream");
    for i in 0..40 {
        std::fs::write(dir.join(&format!("{i}")), b"").unwrap();
    }
    let mut entries = fs::read_dir(&dir.0).await.unwrap();
    let mut count = 0;
    while let Some(entry) = std::future::poll_fn(|cx| {
        futures_core::Stream::poll_next(std::pin::Pin::new(&mut entries), cx)
    })
    .await
    {
        entry.unwrap();
        count += 1;
    }
    assert_eq!(count, 40);
}

#[test]
fn the_types_can_move_between_tasks() {
    fn send_sync<T: Send + Sync + Unpin + 'static>() {}
    send_sync::<File>();
    send_sync::<OpenOptions>();
    send_sync::<fs::ReadDir>();
    send_sync::<fs::DirEntry>();
}
