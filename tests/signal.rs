//! `weft::signal`: signals the test process sends itself reach listeners
//! through the reactor. Signals are process-wide, so this is a test binary
//! of its own, each test uses a signal no other test here sends, and the
//! tests run one at a time, each on a runtime it drops before the next
//! starts (`serial`): any runtime's signal driver may drain the shared
//! pipe, and the coalescing test needs to know that only its own does.

use std::future::{poll_fn, Future};
use std::io;
use std::task::Poll;

use weft::runtime::Builder;
use weft::signal::unix::{signal, SignalKind};

/// Holds the other tests off until dropped.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `test` on a fresh runtime, alone, and drops the runtime before
/// the next test may start.
fn run<F: Future>(multi_thread: bool, test: F) -> F::Output {
    let _serial = serial();
    let rt = if multi_thread {
        Builder::new_multi_thread().worker_threads(2).build()
    } else {
        Builder::new_current_thread().build()
    }
    .unwrap();
    rt.block_on(test)
}

/// Sends `signum` to the whole process (any thread may take it).
fn send(signum: libc::c_int) {
    // SAFETY: `kill` and `getpid` have no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signum) }, 0);
}

/// Sends `signum` to this thread; the handler has run when this returns.
fn raise(signum: libc::c_int) {
    // SAFETY: `raise` has no memory-safety preconditions.
    assert_eq!(unsafe { libc::raise(signum) }, 0);
}

#[test]
fn ctrl_c_resolves_on_sigint() {
    run(true, async {
        // Listening starts at the call, so a SIGINT right after it counts
        // (and does not kill the test process).
        let ctrl_c = weft::signal::ctrl_c();
        send(libc::SIGINT);
        ctrl_c.await.unwrap();
    })
}

#[test]
fn two_listeners_both_receive_one_delivery() {
    run(true, async {
        let mut first = signal(SignalKind::user_defined2()).unwrap();
        let mut second = signal(SignalKind::user_defined2()).unwrap();
        let waiters = [
            weft::spawn(async move { first.recv().await }),
            weft::spawn(async move { second.recv().await }),
        ];
        send(libc::SIGUSR2);
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), Some(()));
        }
    })
}

#[test]
fn a_stream_receives_each_of_n_sends_it_waits_for() {
    run(true, async {
        let mut hangups = signal(SignalKind::hangup()).unwrap();
        assert_eq!(hangups.kind(), SignalKind::hangup());
        for _ in 0..50 {
            send(libc::SIGHUP);
            let item = hangups.recv().await;
            assert_eq!(item, Some(()));
        }
    })
}

#[test]
fn deliveries_before_the_listener_looks_are_coalesced() {
    run(false, async {
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        // Five handler runs before this (only) thread can drive the reactor.
        for _ in 0..5 {
            raise(libc::SIGUSR1);
        }
        assert_eq!(usr1.recv().await, Some(()));
        // Everything is drained: no second event queued behind the first.
        weft::task::yield_now().await;
        assert!(poll_fn(|cx| Poll::Ready(usr1.poll_recv(cx).is_pending())).await);
        raise(libc::SIGUSR1);
        assert_eq!(usr1.recv().await, Some(()));
    })
}

#[test]
fn several_runtimes_each_drive_their_listeners() {
    let _serial = serial();
    let a = Builder::new_current_thread().build().unwrap();
    let b = Builder::new_current_thread().build().unwrap();
    let kind = SignalKind::window_change();
    let mut on_a = a.block_on(async { signal(kind) }).unwrap();
    let mut on_b = b.block_on(async { signal(kind) }).unwrap();
    raise(libc::SIGWINCH);
    assert_eq!(a.block_on(on_a.recv()), Some(()));
    assert_eq!(b.block_on(on_b.recv()), Some(()));

    // With `a` gone, the listener made on it ends, and `b`'s own
    // registration of the pipe still delivers.
    drop(a);
    assert_eq!(b.block_on(on_a.recv()), None);
    raise(libc::SIGWINCH);
    assert_eq!(b.block_on(on_b.recv()), Some(()));
}

#[test]
fn uncatchable_and_fault_signals_are_invalid_input() {
    run(false, async {
        for signum in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGBUS,
            libc::SIGRTMIN() - 1, // the C library's own
            0,
            -1,
            1000,
        ] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "signal {signum}");
        }
    })
}
