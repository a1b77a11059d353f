//! What weft tells `tracing` about its tasks (feature `tracing`), in the
//! shapes tokio's own instrumentation uses, so that tokio-console's
//! `console-subscriber` layer shows weft's tasks as it shows tokio's.
//!
//! - Each task gets a span named `runtime.spawn` (target `runtime::task`, no
//!   parent), with `kind`, `task.name`, `task.id`, `size.bytes` and the spawn
//!   location as `loc.file` / `loc.line` / `loc.col`. The span wraps the
//!   task's future ([`Traced`]): it is entered around each poll and nothing
//!   else (console counts one poll per enter), and it closes when the future
//!   is dropped, that is when the task completes or is cancelled, as tokio's
//!   does.
//! - The cell's header keeps the span's id ([`SpanId`]), so the task's
//!   wakers, which see only the header, emit `waker.clone`, `waker.drop`,
//!   `waker.wake` and `waker.wake_by_ref` events (target `runtime::waker`)
//!   with `task.id` set to that span id, which is how console ties a wake to
//!   its task.
//! - `block_on`'s future gets a span of kind `block_on`, as tokio's does.
//!
//! Without the feature the same functions exist and do nothing: the span id
//! is a zero-sized type and `task` hands the future back as it is, so the
//! call sites need no `cfg` and the build has no span, no field and no cost.
//!
//! The names are runtime-neutral where console accepts them (`runtime.*`
//! span names, `runtime::*` targets): console-subscriber's own filter
//! (`ConsoleLayer::builder().spawn()`) keeps spans whose name starts with
//! `runtime.` and events whose target starts with `runtime` or `tokio`, and
//! a user's `RUST_LOG`-style filter for console is `tokio=trace,runtime=trace`.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::cell::{Header, Id};

pub(crate) use imp::{SpanId, Task};

/// Wraps a task's future in its span and returns the span's id for the
/// task's header. `kind` is tokio's: `task`, `local` or `blocking`.
#[inline]
pub(crate) fn task<F: Future>(
    future: F,
    kind: &'static str,
    id: Id,
    name: &Option<Arc<String>>,
    location: &'static Location<'static>,
) -> (Task<F>, SpanId) {
    imp::task(future, kind, id, name, location)
}

/// Wraps the future of a `block_on` in a span of kind `block_on`, made
/// with a task id of its own (as tokio's is).
#[inline]
pub(crate) fn block_on<F: Future>(future: F, location: &'static Location<'static>) -> Task<F> {
    imp::block_on(future, location)
}

/// Reports one operation (`waker.clone`, `waker.drop`, `waker.wake`,
/// `waker.wake_by_ref`) on a waker of the task whose header this is.
#[inline]
pub(crate) fn waker_op(header: &Header, op: &'static str) {
    imp::waker_op(header, op);
}

#[cfg(feature = "tracing")]
mod imp {
    use std::future::Future;
    use std::panic::Location;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use crate::cell::{Header, Id};

    /// The id of the task's span, kept in the cell's header; `None` when no
    /// subscriber wanted the span.
    pub(crate) type SpanId = Option<tracing::Id>;

    /// A task's future as the cell holds it: wrapped in its span.
    pub(crate) type Task<F> = Traced<F>;

    pin_project_lite::pin_project! {
        /// A future whose span is entered for each of its polls. The future
        /// is declared first so that it is dropped first: the span closes
        /// after the future's destructor has run.
        pub(crate) struct Traced<F> {
            #[pin]
            future: F,
            span: tracing::Span,
        }
    }

    impl<F: Future> Future for Traced<F> {
        type Output = F::Output;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            let this = self.project();
            let _entered = this.span.enter();
            this.future.poll(cx)
        }
    }

    pub(crate) fn task<F: Future>(
        future: F,
        kind: &'static str,
        id: Id,
        name: &Option<Arc<String>>,
        location: &'static Location<'static>,
    ) -> (Traced<F>, SpanId) {
        let span = tracing::trace_span!(
            target: "runtime::task",
            parent: None,
            "runtime.spawn",
            kind = %kind,
            task.name = %name.as_deref().map_or("", String::as_str),
            task.id = id.as_u64(),
            size.bytes = std::mem::size_of::<F>(),
            loc.file = location.file(),
            loc.line = location.line(),
            loc.col = location.column(),
        );
        let span_id = span.id();
        (Traced { future, span }, span_id)
    }

    pub(crate) fn block_on<F: Future>(
        future: F,
        location: &'static Location<'static>,
    ) -> Traced<F> {
        task(future, "block_on", Id::next(), &None, location).0
    }

    pub(crate) fn waker_op(header: &Header, op: &'static str) {
        if let Some(id) = &header.span_id {
            tracing::trace!(target: "runtime::waker", op = op, task.id = id.into_u64());
        }
    }
}

#[cfg(not(feature = "tracing"))]
mod imp {
    use std::future::Future;
    use std::panic::Location;
    use std::sync::Arc;

    use crate::cell::{Header, Id};

    /// No span, no id: a zero-sized stand-in.
    #[derive(Clone, Copy, Debug, Default)]
    pub(crate) struct SpanId;

    /// The future as it is.
    pub(crate) type Task<F> = F;

    #[inline(always)]
    pub(crate) fn task<F: Future>(
        future: F,
        _kind: &'static str,
        _id: Id,
        _name: &Option<Arc<String>>,
        _location: &'static Location<'static>,
    ) -> (F, SpanId) {
        (future, SpanId)
    }

    #[inline(always)]
    pub(crate) fn block_on<F: Future>(future: F, _location: &'static Location<'static>) -> F {
        future
    }

    #[inline(always)]
    pub(crate) fn waker_op(_header: &Header, _op: &'static str) {}
}
