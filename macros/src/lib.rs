//! weft-macros: the `#[weft::main]` and `#[weft::test]` attributes, and the
//! code generators behind `weft::select!`, `weft::join!` and
//! `weft::try_join!`.
//!
//! The attributes turn an `async fn` into a plain function that builds a
//! weft runtime and blocks on the function's body. Use them through the
//! `weft` crate (`#[weft::main]`, `#[weft::test]`), which re-exports them;
//! this crate is an implementation detail.
//!
//! The three function-like macros are reached through `macro_rules!` fronts
//! in weft-runtime, which pass `$crate` in first (a proc macro cannot name
//! the crate that re-exports it, however the user renamed it). They are
//! proc macros rather than `macro_rules!` because checking whether a
//! branch's output matches its pattern without moving it needs the pattern
//! rewritten (bindings lose `ref`/`mut`), which `macro_rules!` cannot do, and
//! because syn gives every syntax error a span and a sentence.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attr;
mod branches;
mod check;
mod expand;
mod join;
mod select;

use proc_macro::TokenStream;

/// Marks an `async fn` as the program's entry point, run on a weft runtime.
///
/// The function becomes a synchronous one that builds a runtime and blocks
/// on the original body. The return type is kept, so `main` may return a
/// `Result`; `return` inside the body works as usual. Any name is accepted,
/// so the attribute can also produce a helper that runs async code to
/// completion; such a function (not `main`) may take arguments, `self`
/// included, as with tokio: they are moved into the body's future.
///
/// # Arguments
///
/// - `flavor = "multi_thread"` (the default) runs tasks on a pool of worker
///   threads; `flavor = "current_thread"` runs every task on the thread that
///   calls `main`.
/// - `worker_threads = N` (multi-threaded flavor only, `N >= 1`) sets the
///   number of worker threads; without it the runtime picks its default.
/// - `crate = "path"` names the weft crate when it is renamed in
///   `Cargo.toml` or re-exported, e.g. `crate = "my_crate::weft"`.
///
/// # Examples
///
/// ```ignore
/// #[weft::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let answer = weft::spawn(async { 6 * 7 }).await?;
///     println!("{answer}");
///     Ok(())
/// }
/// ```
///
/// expands to roughly
///
/// ```ignore
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let body = async move {
///         let answer = weft::spawn(async { 6 * 7 }).await?;
///         println!("{answer}");
///         Ok(())
///     };
///     let rt = ::weft::runtime::Builder::new_multi_thread()
///         .build()
///         .expect("Failed building the weft runtime");
///     rt.block_on(body)
/// }
/// ```
///
/// With two workers, or on the calling thread only:
///
/// ```ignore
/// #[weft::main(worker_threads = 2)]
/// async fn main() {}
///
/// #[weft::main(flavor = "current_thread")]
/// async fn main() {}
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(attr::Kind::Main, args.into(), item.into()).into()
}

/// Marks an `async fn` as a test, run on a weft runtime.
///
/// Like [`macro@main`], but the function is also marked `#[test]`, and the
/// default flavor is `current_thread`: the test body and every task it
/// spawns run on the test's own thread. Other attributes such as
/// `#[should_panic]` or `#[ignore]` are kept. Do not add `#[test]` yourself.
///
/// It accepts the same arguments as [`macro@main`]: `flavor`,
/// `worker_threads` (which requires `flavor = "multi_thread"`) and `crate`.
///
/// # Examples
///
/// ```ignore
/// #[weft::test]
/// async fn adds() {
///     let sum = weft::spawn(async { 1 + 1 }).await.unwrap();
///     assert_eq!(sum, 2);
/// }
///
/// #[weft::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn two_workers() -> Result<(), Box<dyn std::error::Error>> {
///     let n = weft::runtime::Handle::current().metrics().num_workers();
///     assert_eq!(n, 2);
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(attr::Kind::Test, args.into(), item.into()).into()
}

/// Marks an `async fn` as a `weft::check` test: a `#[test]` whose body is
/// run under many schedules, each on a deterministic one-thread runtime
/// where the checker makes every scheduling choice; a failing schedule
/// panics with a report and a schedule string that replays it.
///
/// # Arguments
///
/// - `schedules = N`: how many schedules (default 1,000);
/// - `seed = N`: the seed of the random strategies (default 0, or
///   `WEFT_CHECK_SEED`);
/// - `strategy = "random" | "pct" | "exhaustive"` (default `"random"`),
///   with `depth = D` for `"pct"` (default 3) and `max_preemptions = P` for
///   `"exhaustive"` (default 2);
/// - `max_steps = N`: polls per schedule before it fails as a livelock;
/// - `crate = "path"`: the weft crate's path when renamed.
///
/// The function takes no arguments and returns `()`.
///
/// # Examples
///
/// ```ignore
/// #[weft::check(schedules = 10_000, strategy = "pct", depth = 2)]
/// async fn withdrawals_never_overdraw() {
///     let account = std::sync::Arc::new(weft::sync::Mutex::new(100));
///     let a = weft::spawn(withdraw(account.clone(), 60));
///     let b = weft::spawn(withdraw(account.clone(), 60));
///     let _ = weft::join!(a, b);
///     assert!(*account.lock().await >= 0);
/// }
/// ```
#[proc_macro_attribute]
pub fn check(args: TokenStream, item: TokenStream) -> TokenStream {
    check::expand(args.into(), item.into()).into()
}

/// The code behind `weft::select!`; use that.
#[doc(hidden)]
#[proc_macro]
pub fn select_internal(input: TokenStream) -> TokenStream {
    select::expand(input.into()).into()
}

/// The code behind `weft::join!`; use that.
#[doc(hidden)]
#[proc_macro]
pub fn join_internal(input: TokenStream) -> TokenStream {
    join::expand(join::Kind::Join, input.into()).into()
}

/// The code behind `weft::try_join!`; use that.
#[doc(hidden)]
#[proc_macro]
pub fn try_join_internal(input: TokenStream) -> TokenStream {
    join::expand(join::Kind::TryJoin, input.into()).into()
}
