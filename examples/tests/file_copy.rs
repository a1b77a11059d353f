//! Runs the `file_copy` example on a file of a few MiB: the copy is byte
//! for byte the original, and a missing source is an error, not a panic.

use std::path::PathBuf;
use std::process::Command;

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("weft-example-{name}-{}", std::process::id()));
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

fn file_copy(src: &PathBuf, dst: &PathBuf) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_file_copy"))
        .arg(src)
        .arg(dst)
        .output()
        .unwrap()
}

#[test]
fn the_copy_is_byte_identical() {
    let dir = TempDir::new("copy");
    let (src, dst) = (dir.0.join("src"), dir.0.join("dst"));
    // 5 MiB and a bit, so neither the reads nor the windows line up.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let original: Vec<u8> = (0..5 * 1024 * 1024 + 4321)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&src, &original).unwrap();
    let out = file_copy(&src, &dst);
    assert!(out.status.success(), "file_copy failed: {:?}", out);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("copied {} bytes\n", original.len())
    );
    assert!(std::fs::read(&dst).unwrap() == original, "the copy differs");
}

#[test]
fn a_missing_source_is_reported() {
    let dir = TempDir::new("missing");
    let out = file_copy(&dir.0.join("nope"), &dir.0.join("dst"));
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("nope") && stderr.contains("No such file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
