//! The `weft::check` catalogue: classic async bugs, each a small realistic
//! program in a buggy and a fixed version. For each, every strategy finds
//! the bug, the printed schedule replays it exactly (twice, same trace),
//! and the fixed version passes the full budget.
//!
//! `schedules_to_first_failure` (ignored; run with `--ignored --nocapture`)
//! prints the table in `docs/checking.md`.

/// What every entry ends with, given the failure its buggy version must
/// end in: `first_failure` (for the table), `found` (every strategy finds
/// it and replays it) and `fixed_passes`. An entry defines `buggy` and
/// `fixed`.
macro_rules! entry {
    ($expect:expr) => {
        pub fn first_failure(builder: &mut weft::check::Builder) -> Option<usize> {
            builder.check(buggy).err().map(|f| f.found_at())
        }

        #[test]
        fn found() {
            use super::Expect;
            super::finds_and_replays(buggy, $expect);
        }

        #[test]
        fn fixed_passes() {
            super::passes(fixed);
        }
    };
}

mod deadlock_lock_order;
mod join_set_cleanup;
mod lock_across_send;
mod lost_update;
mod notify_lost_wakeup;
mod select_cancel;
mod shutdown_signal_lost;
mod timeout_retry;

use std::future::Future;

use weft::check::{Builder, FailureKind};

/// Schedules each strategy may spend finding a bug or passing a fixed
/// version.
pub const BUDGET: usize = 2_000;

/// The strategies every entry is checked with.
pub fn strategies() -> Vec<(&'static str, Builder)> {
    vec![
        ("random", Builder::new().random().clone()),
        ("pct(3)", Builder::new().pct(3).clone()),
        ("exhaustive(2)", Builder::new().exhaustive(2).clone()),
    ]
}

/// What failure a buggy version must end in.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// A panic whose message holds this text.
    Panic(&'static str),
    /// A deadlock.
    Deadlock,
}

impl Expect {
    fn matches(self, kind: &FailureKind) -> bool {
        match (self, kind) {
            (Expect::Panic(text), FailureKind::Panic { message, .. }) => message.contains(text),
            (Expect::Deadlock, FailureKind::Deadlock { .. }) => true,
            _ => false,
        }
    }
}

/// Every strategy finds the bug; its printed schedule, replayed twice,
/// fails the same way with the same trace.
pub fn finds_and_replays<B, Fut>(body: B, expect: Expect)
where
    B: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for (name, mut builder) in strategies() {
        let failure = builder
            .schedules(BUDGET)
            .check(&body)
            .expect_err(&format!("{name} misses the bug"));
        assert!(expect.matches(failure.kind()), "{name}: {failure}");
        for _ in 0..2 {
            let again = Builder::new()
                .replay(failure.schedule())
                .check(&body)
                .expect_err("the replay fails too");
            assert_eq!(again.trace(), failure.trace(), "{name}: {failure}");
            assert!(expect.matches(again.kind()), "{name}: {again}");
        }
    }
}

/// The fixed version passes every strategy's full budget.
pub fn passes<B, Fut>(body: B)
where
    B: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for (name, mut builder) in strategies() {
        if let Err(failure) = builder.schedules(BUDGET).check(&body) {
            panic!("{name} fails the fixed version:\n{failure}");
        }
    }
}

/// Schedules to first failure, median over 20 seeds, per strategy and
/// entry: the table of `docs/checking.md`.
#[test]
#[ignore = "prints the docs table; run with --ignored --nocapture"]
fn schedules_to_first_failure() {
    type Entry = (&'static str, fn(&mut Builder) -> Option<usize>);
    let entries: [Entry; 8] = [
        ("1 lost update", |b| lost_update::first_failure(b)),
        ("2 lock order", |b| deadlock_lock_order::first_failure(b)),
        ("3 notify_waiters", |b| notify_lost_wakeup::first_failure(b)),
        ("4 lock across send", |b| lock_across_send::first_failure(b)),
        ("5 select! cancel", |b| select_cancel::first_failure(b)),
        ("6 timeout retry", |b| timeout_retry::first_failure(b)),
        ("7 JoinSet cleanup", |b| join_set_cleanup::first_failure(b)),
        ("8 shutdown lost", |b| {
            shutdown_signal_lost::first_failure(b)
        }),
    ];
    println!("| bug | random | pct(3) | exhaustive(2) |");
    println!("|---|---|---|---|");
    for (name, first) in entries {
        let mut row = format!("| {name} |");
        for (_, builder) in strategies() {
            let mut found: Vec<Option<usize>> = (0..20u64)
                .map(|seed| first(builder.clone().seed(seed).schedules(10_000).shrink(false)))
                .collect();
            found.sort_by_key(|f| f.unwrap_or(usize::MAX));
            let median = found[10].map_or("not found".to_string(), |n| n.to_string());
            row.push_str(&format!(" {median} |"));
        }
        println!("{row}");
    }
}
