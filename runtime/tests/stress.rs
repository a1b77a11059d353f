//! Release-mode stress: a million wakes from other threads racing polls.

mod support;

use support::{multi_thread, within};

/// 1,000,000 wakes with 2 workers, many of them landing while the task is
/// still being polled: each must lead to exactly one more poll.
#[test]
#[cfg_attr(miri, ignore)]
fn a_million_cross_thread_wakes_with_two_workers() {
    within(300, || {
        let rt = multi_thread(2);
        support::cross_thread_wakes(&rt, 8, 125_000);
    });
}
