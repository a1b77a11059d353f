//! `select!`, `join!` and `try_join!`: several futures on the current task.
//!
//! These are `macro_rules!` fronts: each passes `$crate` (this crate, under
//! whatever name the user reaches it) and the user's tokens to a proc macro
//! in weft-macros, which parses them with syn and generates the code. The
//! split is forced: a proc macro cannot name the crate that re-exports it,
//! and `macro_rules!` alone can neither rewrite a pattern (needed to test an
//! output against it without moving it) nor give a syntax error a sentence.
//! They live here rather than in the facade because `$crate` must name a
//! crate that holds the support items (`__private`); the facade re-exports
//! them.
//!
//! No `unsafe` and no `FusedFuture`: each future is `pin!`ned inside an
//! `Option` on the caller's stack and set to `None` when it completes or is
//! disabled.

/// Waits on several futures at once and runs the handler of the first to
/// complete; the others are dropped, unfinished.
///
/// ```text
/// select! {
///     biased;                                    // optional
///     <pattern> = <future> => <handler>,
///     <pattern> = <future>, if <condition> => <handler>,
///     ...
///     else => <expression>                       // optional, last
/// }
/// ```
///
/// The syntax and behaviour are tokio's. In order:
///
/// 1. Every `<condition>` is evaluated. A branch whose condition is false
///    is disabled for this `select!`.
/// 2. Every `<future>` expression is evaluated (a disabled branch's too)
///    and turned into a future with `IntoFuture`. Disabled ones are dropped
///    at once, never polled.
/// 3. The enabled futures are polled on the current task, concurrently (not
///    in parallel: use [`spawn`](crate::spawn) for that), starting each
///    time at a random branch, so in a loop a branch that is always ready
///    does not starve the others.
/// 4. When a future completes, its output is tested against `<pattern>`.
///    If it does not match (a `Some(x)` pattern and a `None` output), that
///    branch is disabled and the others go on.
/// 5. When an output matches, every other future is dropped, and then the
///    `<handler>` runs with the pattern's bindings; its value is the value
///    of the `select!`. Since the futures are gone by then, the handler may
///    use whatever they borrowed (a branch `v = rx.recv()` and a handler
///    that calls `rx` again).
/// 6. When every branch is disabled, the `else` expression is the value;
///    without an `else` branch, `select!` panics.
///
/// The test in step 4 matches a reference to the output (so that a
/// mismatch loses nothing it would have to move), which is why a named
/// constant inside a pattern does not compile, as in tokio: literals do;
/// for a constant, bind the value and compare in the handler.
///
/// Handlers run in the surrounding code, not in a closure: `break`,
/// `continue`, `return`, `?` and `.await` in them behave as they would
/// outside the macro. A handler is an expression followed by a comma, or a
/// block (comma optional), as in a `match`.
///
/// `biased;` first polls the branches in the order written, which saves
/// the random number and makes the order a contract (say, a shutdown
/// signal first); fairness is then the caller's business.
///
/// At most 64 branches (a compile error says so): every wake-up polls each
/// enabled branch, so for more futures, use [`task::JoinSet`] or
/// [`task::join_all`].
///
/// A future that is dropped unfinished must be cancel-safe for a `select!`
/// in a loop not to lose data: receiving from a channel or accepting a
/// connection is; `write_all` (part of the data may have gone) is not.
///
/// [`task::JoinSet`]: crate::task::JoinSet
/// [`task::join_all`]: crate::task::join_all
///
/// # Examples
///
/// The first of a task and a deadline:
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::Duration;
///
/// let job = weft_runtime::spawn(async { 6 * 7 });
/// let answer = weft_runtime::select! {
///     out = job => out.unwrap(),
///     () = weft_timer::sleep(Duration::from_secs(60)) => 0,
/// };
/// assert_eq!(answer, 42);
/// # });
/// ```
///
/// Draining two sources until both are done: a pattern that does not match
/// (`Some(_)` when a source has ended) disables its branch, and `else` ends
/// the loop once both are.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (mut evens, mut odds) = ((0..6).step_by(2), (1..6).step_by(2));
/// let mut sum = 0;
/// loop {
///     weft_runtime::select! {
///         Some(n) = async { evens.next() } => sum += n,
///         Some(n) = async { odds.next() } => sum += n,
///         else => break,
///     }
/// }
/// assert_eq!(sum, 15);
/// # });
/// ```
///
/// # Panics
/// When every branch is disabled and there is no `else` branch.
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__private::select_internal! { $crate; $($tokens)* }
    };
}

/// Runs several futures concurrently on the current task and waits for all
/// of them: `join!(a, b, c)` is `(a.await, b.await, c.await)` with the
/// waiting overlapped.
///
/// The outputs come back as a tuple in argument order, whatever the order
/// of completion. A future that completes is dropped then, before the
/// others finish. Each poll starts at the next branch round-robin, so no
/// branch always goes first. `join!()` is `()`.
///
/// The futures run concurrently, not in parallel: they share the current
/// task (use [`spawn`](crate::spawn) for parallelism). At most 64 futures;
/// for more, or for a number known only at run time, use
/// [`task::join_all`](crate::task::join_all).
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (a, b) = weft_runtime::join!(async { 1 }, async { "two" });
/// assert_eq!((a, b), (1, "two"));
/// # });
/// ```
#[macro_export]
macro_rules! join {
    ($($tokens:tt)*) => {
        $crate::__private::join_internal! { $crate; $($tokens)* }
    };
}

/// Like [`join!`] for futures that return `Result`s with one error type:
/// `Ok` with the tuple of the `Ok` values when all succeed, or the first
/// `Err` as soon as it arrives, with the futures still running dropped.
///
/// "First" is in time, not in argument order. `try_join!()` is `Ok(())`.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let parse = |s: &'static str| async move { s.parse::<u8>() };
/// assert_eq!(weft_runtime::try_join!(parse("1"), parse("2")), Ok((1, 2)));
/// assert!(weft_runtime::try_join!(parse("1"), parse("x")).is_err());
/// # });
/// ```
#[macro_export]
macro_rules! try_join {
    ($($tokens:tt)*) => {
        $crate::__private::try_join_internal! { $crate; $($tokens)* }
    };
}
