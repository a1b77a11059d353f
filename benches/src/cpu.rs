//! The process's CPU time (user + system, every thread), read around each
//! sample beside its wall time.
//!
//! All three runtimes' threads live in the bench process, so the process
//! total is what a sample cost: the bench thread in `block_on` and every
//! worker, blocking-pool and reactor thread. That is fair only while the
//! runtimes not under test are parked (a parked thread costs nothing) and
//! nothing left over from the previous sample is still running, so the
//! bench waits for the process to go idle ([`wait_idle`]) before each
//! sample. The clock is `getrusage(RUSAGE_SELF)`: on Linux it counts every
//! thread, exited ones included, to the microsecond (`/proc/self/stat`
//! counts in clock ticks, 10 ms, longer than a quick sample).

use std::time::Duration;

/// The CPU time (user + system) this process's threads have used so far;
/// `None` where the platform does not say.
pub fn process_time() -> Option<Duration> {
    imp::process_time()
}

/// The CPU time the calling thread has used so far; `None` where the
/// platform does not say.
pub fn thread_time() -> Option<Duration> {
    imp::thread_time()
}

/// The CPU time every thread but the calling one has used so far: what
/// [`wait_idle`] watches, so its own reading of the clocks (with a thousand
/// threads in the process, as after `fs_read`, `getrusage` sums a thousand
/// threads' counters) does not count as the process being busy.
fn others_time() -> Option<Duration> {
    let own = thread_time()?;
    Some(process_time()?.saturating_sub(own))
}

#[cfg(unix)]
mod imp {
    use std::time::Duration;

    pub fn process_time() -> Option<Duration> {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
        // SAFETY: `usage` is a valid, writable `rusage` for the call to fill;
        // it is read only after the call reported success.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: getrusage returned 0, so it filled the whole struct.
        let usage = unsafe { usage.assume_init() };
        Some(timeval(usage.ru_utime)? + timeval(usage.ru_stime)?)
    }

    pub fn thread_time() -> Option<Duration> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable `timespec` for the call to fill.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc != 0 {
            return None;
        }
        let secs = u64::try_from(ts.tv_sec).ok()?;
        let nanos = u32::try_from(ts.tv_nsec).ok()?;
        Some(Duration::new(secs, nanos))
    }

    fn timeval(tv: libc::timeval) -> Option<Duration> {
        let secs = u64::try_from(tv.tv_sec).ok()?;
        let micros = u64::try_from(tv.tv_usec).ok()?;
        Some(Duration::from_secs(secs) + Duration::from_micros(micros))
    }
}

#[cfg(not(unix))]
mod imp {
    pub fn process_time() -> Option<std::time::Duration> {
        None
    }

    pub fn thread_time() -> Option<std::time::Duration> {
        None
    }
}

/// One look at the process: how long the bench thread sleeps while the
/// others' CPU time is watched.
const IDLE_WINDOW: Duration = Duration::from_micros(500);

/// The process counts as idle when its threads used less than this share
/// of one core over a window (a parked runtime uses none; the watchdog's
/// quarter-second tick and a reactor's timed park are well under it).
const IDLE_SHARE: f64 = 0.05;

/// Waits until the process's other threads have gone quiet: one window of
/// [`IDLE_WINDOW`] in which they used under [`IDLE_SHARE`] of a core. A
/// runtime that just finished a sample may still be winding down (workers
/// spinning before they park, tasks being dropped, smol's reactor thread
/// polling on its back-off); that CPU is not the next sample's, and on a
/// small machine it would also take cores from it. Gives up after about
/// `limit` (that many windows) and says whether the process went idle
/// (always `true` where there is no CPU clock: nothing to wait for).
pub fn wait_idle(limit: Duration) -> bool {
    settle(limit, others_time, std::thread::sleep)
}

/// [`wait_idle`] on any clock and any way of passing time.
fn settle(
    limit: Duration,
    mut clock: impl FnMut() -> Option<Duration>,
    mut sleep: impl FnMut(Duration),
) -> bool {
    let windows = (limit.as_nanos() / IDLE_WINDOW.as_nanos()).max(1);
    let quiet = IDLE_WINDOW.mul_f64(IDLE_SHARE);
    for _ in 0..windows {
        let Some(before) = clock() else {
            return true;
        };
        sleep(IDLE_WINDOW);
        let Some(after) = clock() else {
            return true;
        };
        if after.saturating_sub(before) < quiet {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Instant;

    /// Work done on another thread shows up in the process's CPU time and
    /// in the others' time, not in this thread's.
    #[test]
    fn counts_every_thread() {
        let Some(own_before) = thread_time() else {
            return;
        };
        let others_before = others_time().unwrap();
        let Some(before) = process_time() else {
            return; // no CPU clock on this platform
        };
        std::thread::spawn(move || {
            let start = Instant::now();
            // On a busy machine the thread may be off its core for a
            // while; it is the clock that has to move, not the wall.
            while process_time().unwrap() - before < Duration::from_millis(10) {
                std::hint::black_box(0u64);
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "the CPU clock does not move"
                );
            }
        })
        .join()
        .unwrap();
        assert!(process_time().unwrap() >= before + Duration::from_millis(10));
        assert!(others_time().unwrap() >= others_before + Duration::from_millis(9));
        // This thread only waited (and read clocks).
        assert!(thread_time().unwrap() - own_before < Duration::from_millis(9));
    }

    /// A fake process that is busy for `busy` windows, then idle; the
    /// clock advances by `busy_per_window` in each busy window.
    fn fake(busy: u32, limit: Duration) -> (bool, u32) {
        let now = Cell::new(Duration::ZERO);
        let windows = Cell::new(0u32);
        let idle = settle(
            limit,
            || Some(now.get()),
            |d| {
                assert_eq!(d, IDLE_WINDOW);
                if windows.get() < busy {
                    now.set(now.get() + d / 2);
                }
                windows.set(windows.get() + 1);
            },
        );
        (idle, windows.get())
    }

    #[test]
    fn waits_out_the_busy_windows_and_gives_up_at_the_limit() {
        assert_eq!(fake(0, Duration::from_millis(10)), (true, 1));
        assert_eq!(fake(3, Duration::from_millis(10)), (true, 4));
        // 10 ms is 20 windows of 500 µs: all busy, so not idle.
        assert_eq!(fake(100, Duration::from_millis(10)), (false, 20));
        // No clock: nothing to wait for.
        assert!(settle(
            Duration::from_millis(10),
            || None,
            |_| panic!("slept")
        ));
    }
}
