//! `join_all` and `try_join_all`: a collection of futures awaited together
//! on the current task — the `asyncio.gather` of weft.
//!
//! Each future is boxed (pinned without `unsafe`) and gets a waker of its
//! own that queues it on a ready list (`ready.rs`), so a wake-up costs one
//! poll of the future that was woken, not a poll of all N. Outputs wait in
//! input order; a future is dropped as soon as it completes.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::ready::ReadyList;

/// Awaits every future of `futures` concurrently on the current task and
/// returns their outputs in input order.
///
/// Which tool when:
///
/// - `join!`: a fixed handful of futures, known when
///   writing the code; no allocation.
/// - `join_all`: a collection, run on the current task (concurrently, not
///   in parallel). The futures may borrow from the caller and need not be
///   `Send`; outputs come back in input order.
/// - [`JoinSet`](super::JoinSet): spawned tasks, running in parallel on
///   the workers, each `Send + 'static`, collected in completion order,
///   abortable. Its `join_all` also returns completion order.
///
/// Cost: two allocations per future (the future boxed, its waker), and
/// N + W polls of the futures in all, for W wake-ups: a wake-up polls the
/// future that was woken and no other.
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let names = ["a", "bb", "ccc"];
/// let lengths = weft_runtime::task::join_all(names.iter().map(|n| async move { n.len() })).await;
/// assert_eq!(lengths, [1, 2, 3]);
/// # });
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    JoinAll {
        group: Group::new(futures),
    }
}

/// Awaits every future of `futures` concurrently on the current task: the
/// `Ok` values in input order, or the first `Err` to arrive, as soon as it
/// arrives; the futures still running are dropped before it is returned.
///
/// "First" is in time, not in input order. Costs as [`join_all`].
///
/// ```
/// # weft_runtime::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use weft_runtime::task::try_join_all;
///
/// let parse = |s: &'static str| async move { s.parse::<u32>() };
/// assert_eq!(try_join_all(["1", "2"].map(parse)).await, Ok(vec![1, 2]));
/// assert!(try_join_all(["1", "x"].map(parse)).await.is_err());
/// # });
/// ```
pub fn try_join_all<I, T, E>(futures: I) -> TryJoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    TryJoinAll {
        group: Group::new(futures),
    }
}

/// The future of [`join_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct JoinAll<F: Future> {
    group: Group<F>,
}

/// The future of [`try_join_all`].
#[must_use = "futures do nothing unless awaited"]
pub struct TryJoinAll<F: Future> {
    group: Group<F>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        self.get_mut()
            .group
            .poll(cx, |_| false)
            .map(|outputs| outputs.unwrap_or_else(|_| unreachable!("join_all stops for nothing")))
    }
}

impl<F, T, E> Future for TryJoinAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Vec<T>, E>> {
        match self.get_mut().group.poll(cx, Result::is_err) {
            // All `Ok`: collecting cannot meet an `Err`.
            Poll::Ready(Ok(outputs)) => Poll::Ready(outputs.into_iter().collect()),
            Poll::Ready(Err(error)) => Poll::Ready(error.map(|_| Vec::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}

// Nothing is pinned in place: the futures are boxed, and outputs are only
// ever moved.
impl<F: Future> Unpin for JoinAll<F> {}
impl<F: Future> Unpin for TryJoinAll<F> {}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.group.fmt("JoinAll", f)
    }
}

impl<F: Future> fmt::Debug for TryJoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.group.fmt("TryJoinAll", f)
    }
}

/// The futures, their outputs so far, and who asked to be polled.
struct Group<F: Future> {
    /// `None` once completed (or dropped after a stop).
    futures: Vec<Option<Pin<Box<F>>>>,
    outputs: Vec<Option<F::Output>>,
    wakers: Vec<Waker>,
    ready: Arc<ReadyList>,
    running: usize,
    finished: bool,
}

impl<F: Future> Group<F> {
    fn new<I>(futures: I) -> Group<F>
    where
        I: IntoIterator,
        I::Item: IntoFuture<IntoFuture = F>,
    {
        let futures: Vec<_> = futures
            .into_iter()
            .map(|f| Some(Box::pin(f.into_future())))
            .collect();
        let ready = ReadyList::new();
        let wakers = (0..futures.len())
            .map(|index| {
                // Every future is polled once to begin with.
                ready.schedule(index);
                ready.waker(index)
            })
            .collect();
        Group {
            outputs: futures.iter().map(|_| None).collect(),
            running: futures.len(),
            futures,
            wakers,
            ready,
            finished: false,
        }
    }

    /// Polls the futures that asked to be. `Ready(Ok(outputs))` in input
    /// order once all have completed; `Ready(Err(output))` as soon as one
    /// completes with an output `stop` picks out, every other future
    /// dropped first.
    ///
    /// # Panics
    /// When polled again after it returned `Ready`.
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        stop: impl Fn(&F::Output) -> bool,
    ) -> Poll<Result<Vec<F::Output>, F::Output>> {
        assert!(
            !self.finished,
            "a join_all or try_join_all future was polled after it completed"
        );
        let Group {
            futures,
            outputs,
            wakers,
            ready,
            running,
            ..
        } = self;
        let stopped = if *running == 0 {
            ControlFlow::Break(None)
        } else {
            ready.drain(Some(cx.waker()), |index| {
                // A late wake-up of a completed future: nothing to do.
                let Some(future) = &mut futures[index] else {
                    return ControlFlow::Continue(());
                };
                let mut member_cx = Context::from_waker(&wakers[index]);
                let Poll::Ready(output) = future.as_mut().poll(&mut member_cx) else {
                    return ControlFlow::Continue(());
                };
                if stop(&output) {
                    return ControlFlow::Break(Some(output));
                }
                futures[index] = None;
                outputs[index] = Some(output);
                *running -= 1;
                if *running == 0 {
                    ControlFlow::Break(None)
                } else {
                    ControlFlow::Continue(())
                }
            })
        };
        match stopped {
            ControlFlow::Continue(()) => Poll::Pending,
            ControlFlow::Break(stopped) => {
                self.finished = true;
                self.futures = Vec::new();
                self.wakers = Vec::new();
                let outputs = std::mem::take(&mut self.outputs);
                Poll::Ready(match stopped {
                    Some(output) => Err(output),
                    // All completed: every output is there.
                    None => Ok(outputs.into_iter().flatten().collect()),
                })
            }
        }
    }

    fn fmt(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("len", &self.outputs.len())
            .field("running", &self.running)
            .finish()
    }
}
