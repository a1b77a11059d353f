//! What a [`Sleep`](crate::Sleep) tells `tracing` (feature `tracing`), in
//! the shapes of tokio's timer instrumentation, so that tokio-console lists
//! weft's sleeps as timer resources:
//!
//! - a `runtime.resource` span (`concrete_type = "Sleep"`, `kind =
//!   "timer"`, the creation site as `loc.file` / `loc.line` / `loc.col`),
//!   with a `runtime.resource.async_op` span inside it (`source` says what
//!   made or last reset the deadline) and its `runtime.resource.async_op.poll`
//!   span; all three are entered around each poll;
//! - a `runtime::resource::poll_op` event per poll (`op_name =
//!   "poll_elapsed"`, `is_ready`), and a `runtime::resource::state_update`
//!   event with the time left (`duration`, in ms) when the Sleep first
//!   registers and when it is reset.
//!
//! Without the feature [`SleepTrace`] is zero-sized and every method is
//! empty, so `Sleep` carries and does nothing.

pub(crate) use imp::SleepTrace;

#[cfg(feature = "tracing")]
mod imp {
    use std::panic::Location;
    use std::time::Duration;

    /// The spans of one Sleep.
    #[derive(Debug)]
    pub(crate) struct SleepTrace {
        resource: tracing::Span,
        async_op: tracing::Span,
        async_op_poll: tracing::Span,
    }

    /// The three spans entered, outermost first; dropped in reverse.
    pub(crate) struct Entered {
        _poll: tracing::span::EnteredSpan,
        _async_op: tracing::span::EnteredSpan,
        _resource: tracing::span::EnteredSpan,
    }

    impl SleepTrace {
        /// The spans of a Sleep made at the caller's location.
        #[track_caller]
        pub(crate) fn new() -> SleepTrace {
            let location = Location::caller();
            let resource = tracing::trace_span!(
                parent: None,
                "runtime.resource",
                concrete_type = "Sleep",
                kind = "timer",
                loc.file = location.file(),
                loc.line = location.line(),
                loc.col = location.column(),
            );
            let (async_op, async_op_poll) = async_op(&resource, "Sleep::new_timeout");
            SleepTrace {
                resource,
                async_op,
                async_op_poll,
            }
        }

        /// Moves the spans out, leaving disabled ones.
        pub(crate) fn take(&mut self) -> SleepTrace {
            std::mem::replace(
                self,
                SleepTrace {
                    resource: tracing::Span::none(),
                    async_op: tracing::Span::none(),
                    async_op_poll: tracing::Span::none(),
                },
            )
        }

        /// Enters the spans for one poll.
        pub(crate) fn enter(&self) -> Entered {
            Entered {
                _resource: self.resource.clone().entered(),
                _async_op: self.async_op.clone().entered(),
                _poll: self.async_op_poll.clone().entered(),
            }
        }

        /// Reports the outcome of a poll (call it with the spans entered).
        pub(crate) fn poll_op(&self, ready: bool) {
            tracing::trace!(
                target: "runtime::resource::poll_op",
                op_name = "poll_elapsed",
                is_ready = ready,
            );
        }

        /// Reports the time left until the deadline (with the resource
        /// span entered). `left` reads the clock: only called when traced.
        pub(crate) fn state_update(&self, left: impl FnOnce() -> Duration) {
            if self.resource.is_disabled() {
                return;
            }
            let left = left();
            tracing::trace!(
                target: "runtime::resource::state_update",
                duration = u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
                duration.unit = "ms",
                duration.op = "override",
            );
        }

        /// The deadline moved: a new async op, and the new time left.
        pub(crate) fn reset(&mut self, left: impl FnOnce() -> Duration) {
            (self.async_op, self.async_op_poll) = async_op(&self.resource, "Sleep::reset");
            // The resource alone: entering the async op would count a poll.
            self.resource.in_scope(|| self.state_update(left));
        }
    }

    /// An async op span of `resource`, and its poll span.
    /// Made with `resource` entered: console ties an async op to the
    /// resource span entered when the op's span is made, not to its parent.
    fn async_op(resource: &tracing::Span, source: &'static str) -> (tracing::Span, tracing::Span) {
        resource.in_scope(|| {
            let async_op = tracing::trace_span!(
                parent: resource,
                "runtime.resource.async_op",
                source = source,
                inherits_child_attrs = false,
            );
            // Not made inside `async_op`: console counts each entry of an
            // async op span as one of its polls.
            let poll = tracing::trace_span!(parent: &async_op, "runtime.resource.async_op.poll");
            (async_op, poll)
        })
    }
}

#[cfg(not(feature = "tracing"))]
mod imp {
    use std::time::Duration;

    /// No spans: zero-sized, and every method does nothing.
    #[derive(Debug)]
    pub(crate) struct SleepTrace;

    /// Nothing entered.
    pub(crate) struct Entered;

    impl SleepTrace {
        #[inline(always)]
        pub(crate) fn new() -> SleepTrace {
            SleepTrace
        }

        #[inline(always)]
        pub(crate) fn take(&mut self) -> SleepTrace {
            SleepTrace
        }

        #[inline(always)]
        pub(crate) fn enter(&self) -> Entered {
            Entered
        }

        #[inline(always)]
        pub(crate) fn poll_op(&self, _ready: bool) {}

        #[inline(always)]
        pub(crate) fn state_update(&self, _left: impl FnOnce() -> Duration) {}

        #[inline(always)]
        pub(crate) fn reset(&mut self, _left: impl FnOnce() -> Duration) {}
    }
}
