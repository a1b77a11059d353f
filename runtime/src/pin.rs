//! `pin!`: pins values to the stack, in tokio's syntax (which differs from
//! `std::pin::pin!`: it rebinds variables in place, and declares several).

/// Pins each named variable to the stack in place, so that `&mut x` can be
/// polled (say, in `select!` in a loop); or declares and pins variables
/// with `pin! { let x = expr; ... }`. After it, each `x` is a
/// `Pin<&mut T>`.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// async fn work() -> u32 { 7 }
///
/// let future = work();
/// weft_runtime::pin!(future);
/// assert_eq!((&mut future).await, 7);
///
/// weft_runtime::pin! {
///     let a = work();
///     let b = work();
/// }
/// assert_eq!(a.await + b.await, 14);
/// # });
/// ```
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => { $(
        // `std`'s macro keeps the value alive, pinned, for the enclosing
        // block: the moved-in value can no longer be reached unpinned.
        #[allow(unused_mut)]
        let mut $x = ::std::pin::pin!($x);
    )* };
    ($(let $x:ident = $init:expr;)*) => { $(
        let $x = $init;
        $crate::pin!($x);
    )* };
}
