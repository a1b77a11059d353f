//! Tests for `#[weft::main]` and `#[weft::test]`: how the generated
//! functions behave at run time, and (in `ui`) the compile errors for misuse
//! of every weft macro (`select!` and `join!` too), checked against the
//! snapshots in `tests/ui/`.

// `crate = "..."` support: the facade under another name, as a user who
// renames the dependency (or re-exports it) would have it.
extern crate weft as renamed;

mod reexport {
    pub use ::weft as inner;
}

use std::error::Error;
use std::thread::{self, ThreadId};

use weft::runtime::Handle;

fn num_workers() -> usize {
    Handle::current().metrics().num_workers()
}

// ---------------------------------------------------------------------------
// #[weft::test]
// ---------------------------------------------------------------------------

#[weft::test]
async fn test_defaults_to_current_thread() {
    let test_thread = thread::current().id();
    let task_thread = weft::spawn(async { thread::current().id() })
        .await
        .expect("the spawned task failed");
    assert_eq!(task_thread, test_thread);
    assert_eq!(num_workers(), 1);
}

#[weft::test(flavor = "current_thread")]
async fn test_explicit_current_thread() {
    let test_thread = thread::current().id();
    let task_thread = weft::spawn(async { thread::current().id() })
        .await
        .expect("the spawned task failed");
    assert_eq!(task_thread, test_thread);
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_multi_thread_with_two_workers() {
    assert_eq!(num_workers(), 2);
    let test_thread = thread::current().id();
    let task_thread = weft::spawn(async { thread::current().id() })
        .await
        .expect("the spawned task failed");
    assert_ne!(task_thread, test_thread, "tasks run on worker threads");
}

#[weft::test(flavor = "multi_thread")]
async fn test_multi_thread_default_workers() {
    assert!(num_workers() >= 1);
}

#[weft::test]
async fn test_returns_result() -> Result<(), Box<dyn Error>> {
    let n: u32 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}

#[weft::test]
async fn test_return_leaves_the_body_early() -> Result<(), String> {
    let done = weft::spawn(async { true })
        .await
        .map_err(|e| e.to_string())?;
    if done {
        return Ok(());
    }
    Err("`return` did not leave the body".to_string())
}

#[weft::test]
async fn test_unit_return_statement() {
    let stop = weft::spawn(async { true })
        .await
        .expect("the spawned task failed");
    if stop {
        return;
    }
    panic!("`return` did not leave the body");
}

#[weft::test]
#[should_panic(expected = "boom from the body")]
async fn test_should_panic_is_kept() {
    panic!("boom from the body");
}

#[weft::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "boom on the multi-threaded runtime")]
async fn test_should_panic_multi_thread() {
    panic!("boom on the multi-threaded runtime");
}

/// Doc comments and `#[ignore]` are kept on the generated test.
#[weft::test]
#[ignore = "only checks that #[ignore] survives the expansion"]
async fn test_ignore_is_kept() {}

#[weft::test(crate = "renamed")]
async fn test_crate_renamed() {
    assert_eq!(
        renamed::runtime::Handle::current().metrics().num_workers(),
        1
    );
}

#[weft::test(
    crate = "crate::reexport::inner",
    flavor = "multi_thread",
    worker_threads = 3
)]
async fn test_crate_reexported_path() {
    assert_eq!(num_workers(), 3);
}

#[weft::test]
async fn test_locals_do_not_clash_with_the_expansion() {
    // The expansion has its own `body` and `rt`; hygiene keeps them apart.
    let body = 40;
    let rt = 2;
    assert_eq!(body + rt, 42);
}

// ---------------------------------------------------------------------------
// #[weft::main] on functions with other names, called from plain tests
// ---------------------------------------------------------------------------

#[weft::main]
async fn not_main() -> usize {
    42
}

#[test]
fn main_returns_the_body_value() {
    assert_eq!(not_main(), 42);
}

#[weft::main(worker_threads = 3)]
async fn main_with_three_workers() -> usize {
    num_workers()
}

#[test]
fn main_worker_threads() {
    assert_eq!(main_with_three_workers(), 3);
}

#[weft::main(flavor = "current_thread")]
async fn main_current_thread() -> (ThreadId, ThreadId) {
    let task_thread = weft::spawn(async { thread::current().id() })
        .await
        .expect("the spawned task failed");
    (thread::current().id(), task_thread)
}

#[test]
fn main_current_thread_runs_on_the_caller() {
    let caller = thread::current().id();
    assert_eq!(main_current_thread(), (caller, caller));
}

#[weft::main]
async fn main_multi_thread_default() -> usize {
    num_workers()
}

#[test]
fn main_defaults_to_multi_thread() {
    assert!(main_multi_thread_default() >= 1);
}

#[weft::main(flavor = "current_thread")]
async fn main_propagates_errors() -> Result<u32, Box<dyn Error>> {
    let n: u32 = "not a number".parse()?;
    Ok(n)
}

#[test]
fn main_question_mark_returns_the_error() {
    let err = main_propagates_errors().expect_err("parsing must fail");
    assert!(err.to_string().contains("invalid digit"), "{err}");
}

mod visibility {
    #[weft::main(flavor = "current_thread")]
    pub async fn answer() -> u32 {
        42
    }
}

#[test]
fn main_keeps_visibility() {
    assert_eq!(visibility::answer(), 42);
}

#[weft::main(crate = "renamed")]
async fn main_crate_renamed() -> usize {
    renamed::runtime::Handle::current().metrics().num_workers()
}

#[test]
fn main_crate_renamed_works() {
    assert!(main_crate_renamed() >= 1);
}

// ---------------------------------------------------------------------------
// Compile errors
// ---------------------------------------------------------------------------

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

// ---------------------------------------------------------------------------
// tokio's `name` and `flavor = "local"`
// ---------------------------------------------------------------------------

#[weft::test(name = "named-by-the-attribute")]
async fn test_name_reaches_the_runtime() {
    assert_eq!(Handle::current().name(), Some("named-by-the-attribute"));
}

#[weft::test(flavor = "local")]
async fn test_local_flavor_runs_spawn_local() {
    let shared = std::rc::Rc::new(5);
    let task = weft::task::spawn_local({
        let shared = shared.clone();
        async move { *shared + 1 }
    });
    assert_eq!(task.await.unwrap(), 6);
    assert_eq!(num_workers(), 1);
}
