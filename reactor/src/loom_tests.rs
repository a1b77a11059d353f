//! Loom models of readiness: an event racing a task that is registering
//! interest, and shutdown racing the same. The poller is the loom-visible
//! fake (`sys/fake.rs`), whose events the model injects. And the same race in a
//! `duplex` pipe: a reader draining, or an end dropped, while the writer
//! finds the pipe full.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p weft-reactor --lib --release loom`

use std::os::fd::AsFd;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::io_driver::IoDriver;
use crate::scheduled_io::{Direction, READABLE};
use crate::sys::IoBackend;
use weft_base::loom::{model, AtomicUsize, Ordering};

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A driver with one registered source; its readiness record and key.
fn registered() -> (IoDriver, Arc<crate::scheduled_io::ScheduledIo>, usize) {
    let driver = IoDriver::new(IoBackend::Native, |_| Ok(())).unwrap();
    let stdin = std::io::stdin();
    // SAFETY: the fake poller never touches the descriptor.
    let (io, key) = unsafe { driver.handle().register(stdin.as_fd()).unwrap() };
    (driver, io, key)
}

#[test]
fn loom_event_racing_a_registering_reader_is_never_lost() {
    model(|| {
        let (mut driver, io, key) = registered();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let task = {
            let io = io.clone();
            let waker = Waker::from(counter.clone());
            loom::thread::spawn(move || {
                let mut cx = Context::from_waker(&waker);
                io.poll_ready(&mut cx, Direction::Read).is_ready()
            })
        };
        driver.handle().inject(key, READABLE);
        assert!(driver.turn(Some(std::time::Duration::ZERO)));
        let saw_it = task.join().unwrap();
        assert!(
            saw_it || counter.0.load(Ordering::SeqCst) == 1,
            "the task went to sleep and the event did not wake it"
        );
    });
}

#[test]
fn loom_event_racing_two_readiness_futures_wakes_both() {
    model(|| {
        let (mut driver, io, key) = registered();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let io = io.clone();
                let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
                let waker = Waker::from(counter.clone());
                let task = loom::thread::spawn(move || {
                    let mut cx = Context::from_waker(&waker);
                    let mut id = None;
                    // Left in the list when pending: the model checks the
                    // wake-up, not the future's drop.
                    io.poll_readiness(&mut cx, Direction::Read.mask(), &mut id)
                        .is_ready()
                });
                (task, counter)
            })
            .collect();
        driver.handle().inject(key, READABLE);
        assert!(driver.turn(Some(std::time::Duration::ZERO)));
        for (task, counter) in waiters {
            let saw_it = task.join().unwrap();
            assert!(
                saw_it || counter.0.load(Ordering::SeqCst) == 1,
                "a readiness future went to sleep and the event did not wake it"
            );
        }
    });
}

#[test]
fn loom_shutdown_racing_a_registering_reader_wakes_it() {
    model(|| {
        let (driver, io, _key) = registered();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let task = {
            let io = io.clone();
            let waker = Waker::from(counter.clone());
            loom::thread::spawn(move || {
                let mut cx = Context::from_waker(&waker);
                match io.poll_ready(&mut cx, Direction::Write) {
                    Poll::Ready(event) => {
                        assert!(event.is_shutdown);
                        true
                    }
                    Poll::Pending => false,
                }
            })
        };
        driver.handle().shutdown();
        let saw_it = task.join().unwrap();
        assert!(saw_it || counter.0.load(Ordering::SeqCst) == 1);
    });
}

/// With no source registered the driver parks on a condvar, not the poller;
/// a registration that races that park must end it, or the driver-holder
/// sleeps in the wrong place while the new source's events wait in the
/// poller. (Here the event is injected after the registration: a driver
/// parked before the registration and never woken deadlocks the model.)
#[test]
fn loom_registration_racing_a_quiet_park_ends_it() {
    model(|| {
        let mut driver = IoDriver::new(IoBackend::Native, |_| Ok(())).unwrap();
        let handle = driver.handle().clone();
        let registrar = loom::thread::spawn(move || {
            let stdin = std::io::stdin();
            // SAFETY: the fake poller never touches the descriptor.
            let (io, key) = unsafe { handle.register(stdin.as_fd()).unwrap() };
            handle.inject(key, READABLE);
            io
        });
        driver.turn(None);
        drop(registrar.join().unwrap());
    });
}

/// An unpark racing a quiet park is never lost: the turn returns and says
/// it was unparked.
#[test]
fn loom_unpark_racing_a_quiet_park_ends_it() {
    model(|| {
        let mut driver = IoDriver::new(IoBackend::Native, |_| Ok(())).unwrap();
        let handle = driver.handle().clone();
        let unparker = loom::thread::spawn(move || handle.unpark());
        assert!(driver.turn(None), "the unpark was lost");
        unparker.join().unwrap();
    });
}

/// An unpark racing a turn that is entering the poller's wait, or leaving
/// it, is never lost. The fake poller stands for the eventfd: poked only
/// while the turn says it waits (`waiting`), and a poke is kept until a wait
/// takes it. The unparker publishes work first, as a waker does; the driver
/// turns until it sees the work, so a lost unpark is an untimed wait that
/// deadlocks the model. With `event`, the first turn returns on an event
/// (the unpark races it leaving) and the second enters again.
#[test]
fn loom_unpark_racing_a_turn_entering_or_leaving_its_wait() {
    use loom::sync::atomic::AtomicBool;

    for event in [false, true] {
        model(move || {
            let (mut driver, _io, key) = registered();
            if event {
                driver.handle().inject(key, READABLE);
            }
            let work = Arc::new(AtomicBool::new(false));
            let unparker = {
                let (handle, work) = (driver.handle().clone(), work.clone());
                loom::thread::spawn(move || {
                    work.store(true, Ordering::Release);
                    handle.unpark();
                })
            };
            while !work.load(Ordering::Acquire) {
                driver.turn(None);
            }
            unparker.join().unwrap();
        });
    }
}

/// A source closed (and its slot reused by a new registration) while the
/// driver dispatches an event for it: the event reaches the old record or
/// nobody, never the new source.
#[test]
fn loom_an_event_for_a_closed_source_never_reaches_the_one_reusing_its_slot() {
    model(|| {
        let (mut driver, old, key) = registered();
        driver.handle().inject(key, READABLE);
        let closer = {
            let handle = driver.handle().clone();
            loom::thread::spawn(move || {
                let stdin = std::io::stdin();
                handle.deregister(stdin.as_fd(), key).unwrap();
                // SAFETY: the fake poller never touches the descriptor.
                let (new, new_key) = unsafe { handle.register(stdin.as_fd()).unwrap() };
                assert_ne!(new_key, key, "a reused slot gets a new generation");
                new
            })
        };
        driver.turn(Some(std::time::Duration::ZERO));
        let new = closer.join().unwrap();
        assert!(
            new.ready_now(Direction::Read).is_none(),
            "the old event reached the new source"
        );
        drop(old);
    });
}

/// A writer that finds the pipe full while another thread drains it, or
/// drops the reading end, either gets in or is woken.
#[test]
fn loom_a_writer_finding_a_full_duplex_is_woken_by_the_drain_or_the_drop() {
    use futures_io::{AsyncRead, AsyncWrite};
    use std::pin::Pin;

    for drop_reader in [false, true] {
        model(move || {
            let (mut a, mut b) = crate::io::duplex(1);
            let waker = Waker::from(Arc::new(CountingWaker(AtomicUsize::new(0))));
            assert!(Pin::new(&mut a)
                .poll_write(&mut Context::from_waker(&waker), b"x")
                .is_ready());
            // The reading end comes back from its thread, so its drop
            // cannot stand in for the wake-up a drain owes.
            let reader = loom::thread::spawn(move || {
                if drop_reader {
                    drop(b);
                    None
                } else {
                    let mut buf = [0u8; 1];
                    let poll =
                        Pin::new(&mut b).poll_read(&mut Context::from_waker(&waker), &mut buf);
                    assert!(matches!(poll, Poll::Ready(Ok(1))));
                    Some(b)
                }
            });
            let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
            let waker = Waker::from(counter.clone());
            let got_in = Pin::new(&mut a)
                .poll_write(&mut Context::from_waker(&waker), b"y")
                .is_ready();
            let b = reader.join().unwrap();
            assert!(
                got_in || counter.0.load(Ordering::SeqCst) == 1,
                "the writer went to sleep and the reader did not wake it"
            );
            drop(b);
        });
    }
}
