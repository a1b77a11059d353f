//! Fault injection (feature `fault-injection`): makes the system calls
//! under the runtime fail the way the OS may make them fail, on demand, so
//! tests can show the runtime keeps serving when they do.
//!
//! A [`Fault`] is armed for its next `n` occurrences with [`arm`]; each
//! hook (one call at the place the real system call is made) takes one
//! occurrence, if any is left, and then behaves as the OS would have: the
//! error comes back as [`io::Error::from_raw_os_error`] of the OS's code,
//! exactly as a failed call reports it. Unarmed, a hook is one relaxed
//! load and changes nothing, so the feature may stay on in a whole test
//! run; without the feature none of this is compiled.
//!
//! Invariants: the armed counts are process-global (every runtime of the
//! process sees them), decremented only by a compare-and-swap that never
//! goes below zero and counts the failure in the same word, so an armed
//! `n` fires exactly `n` times however many threads reach the hook at
//! once, and a fault seen disarmed has all its failures counted. Tests that arm faults share the process
//! with each other: each holds the [`exclusive`] guard for its duration,
//! which also disarms everything when dropped (a failed assertion too).

use std::io;

use weft_base::loom::{AtomicU64, Mutex, MutexGuard, Ordering};

/// A failure the runtime's system calls can be made to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// The reactor's wait returns at once without waiting, and reports
    /// every registered source readable and writable whether it is or
    /// not: a spurious wake-up, as a level- or edge-triggered poller may
    /// give. Tasks find their sources not ready (`WouldBlock`) and wait
    /// again.
    SpuriousWakeup,
    /// The reactor's wait fails with `EINTR`, as when a signal lands on
    /// the waiting thread. (The `polling` crate retries `EINTR` inside its
    /// own wait, so on the portable backend this stands for any error its
    /// wait could return.)
    WaitInterrupted,
    /// Registering a source with the poller (`epoll_ctl(ADD)`) fails with
    /// `ENOMEM`.
    RegisterNoMemory,
    /// Registering a source with the poller fails with `ENOSPC` (the
    /// user's limit on epoll watches, `max_user_watches`, is reached).
    RegisterNoSpace,
    /// A listener's `accept` fails with `EMFILE` (the process has no
    /// descriptor left); the connection waits in the backlog.
    AcceptTooManyFiles,
    /// A stream's write takes only the first half of what it is given (at
    /// least one byte), as a kernel may.
    ShortWrite,
    /// Starting a thread for the blocking pool fails with `EAGAIN`, as
    /// `pthread_create` does at the system's thread limit.
    BlockingSpawnFails,
}

impl Fault {
    /// Every fault, in declaration order.
    pub const ALL: [Fault; 7] = [
        Fault::SpuriousWakeup,
        Fault::WaitInterrupted,
        Fault::RegisterNoMemory,
        Fault::RegisterNoSpace,
        Fault::AcceptTooManyFiles,
        Fault::ShortWrite,
        Fault::BlockingSpawnFails,
    ];

    /// The OS error code this fault makes a call fail with, if it makes
    /// one fail (a spurious wake-up and a short write are successes).
    pub fn os_error(self) -> Option<i32> {
        match self {
            Fault::SpuriousWakeup | Fault::ShortWrite => None,
            Fault::WaitInterrupted => Some(libc::EINTR),
            Fault::RegisterNoMemory => Some(libc::ENOMEM),
            Fault::RegisterNoSpace => Some(libc::ENOSPC),
            Fault::AcceptTooManyFiles => Some(libc::EMFILE),
            Fault::BlockingSpawnFails => Some(libc::EAGAIN),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Per fault, one word: the occurrences failed so far in the high half
/// (wrapping), those still armed to fail in the low half. One word, so a
/// caller that sees a fault disarmed sees every occurrence it failed
/// counted.
struct Switches([AtomicU64; Fault::ALL.len()]);

const ARMED_MASK: u64 = u32::MAX as u64;
const ONE_FIRED: u64 = 1 << 32;

/// The process's switches, which the hooks read.
static SWITCHES: Switches = Switches::new();

impl Switches {
    const fn new() -> Switches {
        Switches([const { AtomicU64::new(0) }; Fault::ALL.len()])
    }

    fn arm(&self, fault: Fault, times: usize) {
        let times = u64::try_from(times).map_or(ARMED_MASK, |times| times.min(ARMED_MASK));
        let _ = self.0[fault.index()].fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
            Some(state & !ARMED_MASK | times)
        });
    }

    fn armed(&self, fault: Fault) -> usize {
        (self.0[fault.index()].load(Ordering::SeqCst) & ARMED_MASK) as usize
    }

    fn fired(&self, fault: Fault) -> u64 {
        self.0[fault.index()].load(Ordering::SeqCst) >> 32
    }

    #[inline]
    fn fire(&self, fault: Fault) -> bool {
        let state = &self.0[fault.index()];
        if state.load(Ordering::Relaxed) & ARMED_MASK == 0 {
            return false;
        }
        state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |state| {
                (state & ARMED_MASK != 0).then(|| (state - 1).wrapping_add(ONE_FIRED))
            })
            .is_ok()
    }

    #[inline]
    fn fail(&self, fault: Fault) -> io::Result<()> {
        if self.fire(fault) {
            let code = fault
                .os_error()
                .expect("`fail` is called only for faults with an OS error");
            return Err(io::Error::from_raw_os_error(code));
        }
        Ok(())
    }

    #[inline]
    fn write_len(&self, len: usize) -> usize {
        if len > 1 && self.fire(Fault::ShortWrite) {
            len / 2
        } else {
            len
        }
    }
}

/// Makes the next `times` occurrences of `fault` fail (replacing what was
/// armed for it before; 0 disarms it; at most `u32::MAX`).
pub fn arm(fault: Fault, times: usize) {
    SWITCHES.arm(fault, times);
}

/// Disarms `fault`: its hook behaves normally again.
pub fn disarm(fault: Fault) {
    arm(fault, 0);
}

/// Disarms every fault.
pub fn disarm_all() {
    for fault in Fault::ALL {
        disarm(fault);
    }
}

/// Occurrences of `fault` still armed to fail.
pub fn armed(fault: Fault) -> usize {
    SWITCHES.armed(fault)
}

/// Occurrences of `fault` that have failed since the process started
/// (modulo 2^32).
pub fn fired(fault: Fault) -> u64 {
    SWITCHES.fired(fault)
}

/// Serialises the tests of one process that arm faults.
static EXCLUSIVE: Mutex<()> = Mutex::new(());

/// Exclusive use of the fault switches until the guard drops; then every
/// fault is disarmed. Tests that arm faults take it first, so that tests
/// of one binary running in parallel do not see each other's faults.
pub fn exclusive() -> Exclusive {
    let guard = EXCLUSIVE.lock();
    disarm_all();
    Exclusive { _guard: guard }
}

/// The guard of [`exclusive`]: disarms every fault when dropped.
#[must_use = "the faults are yours only while the guard lives"]
pub struct Exclusive {
    _guard: MutexGuard<'static, ()>,
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        disarm_all();
    }
}

impl std::fmt::Debug for Exclusive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exclusive").finish_non_exhaustive()
    }
}

/// Takes one armed occurrence of `fault`: true if this call must fail.
#[inline]
pub(crate) fn fire(fault: Fault) -> bool {
    SWITCHES.fire(fault)
}

/// The OS's error for `fault` if one occurrence of it is armed, for a hook
/// written `fault::fail(Fault::X)?` before the real call.
#[doc(hidden)]
#[inline]
pub fn fail(fault: Fault) -> io::Result<()> {
    SWITCHES.fail(fault)
}

/// The error of a poller registration (`epoll_ctl(ADD)`) under an armed
/// [`Fault::RegisterNoMemory`] or [`Fault::RegisterNoSpace`].
#[inline]
pub(crate) fn fail_register() -> io::Result<()> {
    fail(Fault::RegisterNoMemory)?;
    fail(Fault::RegisterNoSpace)
}

/// How many of `len` bytes a write may take: all of them, or under an armed
/// [`Fault::ShortWrite`] the first half (at least one byte).
#[inline]
pub(crate) fn write_len(len: usize) -> usize {
    SWITCHES.write_len(len)
}

// The tests use switches of their own: the process's would reach the
// other tests of this crate, which run alongside.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_fault_fires_exactly_its_count_then_calls_succeed() {
        let switches = Switches::new();
        switches.arm(Fault::RegisterNoSpace, 2);
        for _ in 0..2 {
            let err = switches.fail(Fault::RegisterNoSpace).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
        }
        assert!(switches.fail(Fault::RegisterNoSpace).is_ok());
        assert_eq!(switches.fired(Fault::RegisterNoSpace), 2);
        assert_eq!(switches.armed(Fault::RegisterNoSpace), 0);
        assert_eq!(
            switches.fired(Fault::RegisterNoMemory),
            0,
            "one fault's count"
        );
    }

    #[test]
    fn arming_again_replaces_the_count_and_keeps_what_fired() {
        let switches = Switches::new();
        switches.arm(Fault::WaitInterrupted, 5);
        assert!(switches.fire(Fault::WaitInterrupted));
        switches.arm(Fault::WaitInterrupted, 1);
        assert_eq!(switches.armed(Fault::WaitInterrupted), 1);
        assert!(switches.fire(Fault::WaitInterrupted));
        assert!(!switches.fire(Fault::WaitInterrupted));
        assert_eq!(switches.fired(Fault::WaitInterrupted), 2);
        switches.arm(Fault::WaitInterrupted, usize::MAX);
        assert_eq!(switches.armed(Fault::WaitInterrupted), u32::MAX as usize);
        assert_eq!(switches.fired(Fault::WaitInterrupted), 2);
    }

    #[test]
    fn a_short_write_halves_and_never_empties_the_write() {
        let switches = Switches::new();
        switches.arm(Fault::ShortWrite, 3);
        assert_eq!(switches.write_len(1), 1, "one byte stays whole");
        assert_eq!(switches.write_len(10), 5);
        assert_eq!(switches.write_len(3), 1);
        assert_eq!(switches.write_len(2), 1);
        assert_eq!(switches.write_len(10), 10, "disarmed after three");
    }

    #[test]
    fn every_fault_but_the_two_successes_has_an_os_error() {
        let errors: Vec<_> = Fault::ALL.iter().map(|fault| fault.os_error()).collect();
        assert_eq!(errors.iter().filter(|error| error.is_none()).count(), 2);
        assert_eq!(Fault::WaitInterrupted.os_error(), Some(libc::EINTR));
    }
}
