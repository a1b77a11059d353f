//! "tokio code ports by renaming", checked: the guide's tokio program,
//! with `tokio::` replaced by `weft::` and nothing else, builds and runs
//! (trybuild compiles it against the facade and runs its `main`).

use std::path::PathBuf;

/// The first code block in the guide that opens with the marker line,
/// after that line.
fn guide_program(marker: &str) -> String {
    let guide = include_str!("../docs/guide.md");
    let open = format!("```rust,ignore\n{marker}\n");
    let start = guide.find(&open).expect("the guide has the tokio program") + open.len();
    let len = guide[start..].find("```").expect("the block is closed");
    guide[start..start + len].to_string()
}

#[test]
fn the_guides_tokio_program_runs_on_weft_after_a_rename() {
    let program = guide_program(
        "// A tokio program: a line server that answers in upper case, and a client.",
    );
    assert!(program.contains("tokio::"), "the program is tokio's");
    let ported = program.replace("tokio::", "weft::");
    assert!(!ported.contains("tokio"), "the rename is all it takes");

    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("port_from_tokio.rs");
    std::fs::write(&path, ported).unwrap();
    trybuild::TestCases::new().pass(&path);
}
