//! weft's own epoll backend (Linux): one system call per wait.
//!
//! - Sources are added once, edge-triggered, for the directions of their
//!   interest (sockets: both) and with reading for
//!   `EPOLLRDHUP`: a peer's FIN arrives as a read-closed bit, in the same
//!   event as the data before it when they come together, so a short read
//!   is known to have drained the socket and nobody reads again just to
//!   see `EAGAIN`.
//! - A wait is `epoll_pwait2`, with a nanosecond timeout, where the kernel
//!   has it (5.11 on; probed once when the poller is made), else
//!   `epoll_wait` with the timeout rounded *up* to whole milliseconds: a
//!   wait may end late, never before the deadline it was given.
//! - Unpark is an eventfd added edge-triggered under a key no source can
//!   have ([`WAKE_KEY`]). Every write makes a new edge, so it is never read
//!   on the wait path: only when its counter is full (a write fails with
//!   `EAGAIN`, after 2^64 - 2 writes) is it drained. The driver writes it
//!   only while a thread is inside the wait (`driver.rs`), so unparking a
//!   driver-holder that is busy costs no system call.
//! - `EINTR` ends a wait with no events: the caller sees a spurious
//!   wake-up and waits again.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::time::Duration;

use crate::ready::Interest;
use crate::scheduled_io::{ERROR, PRIORITY, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};

/// Events taken per wait.
const EVENTS_CAPACITY: usize = 1024;

/// The eventfd's key. Source keys never take it: the slab's generation
/// wraps before it reaches the top bit (`driver.rs`).
const WAKE_KEY: u64 = u64::MAX;

/// The epoll flags a source with `interest` is registered with. Errors and
/// hang-ups are reported whether asked for or not; an interest in errors
/// alone registers for reading, as epoll needs some event (the reads are
/// not reported to it: its mask has no reading bit).
fn source_flags(interest: Interest) -> u32 {
    let mut flags = libc::EPOLLET;
    if interest.is_readable() || !(interest.is_writable() || interest.is_priority()) {
        flags |= libc::EPOLLIN | libc::EPOLLRDHUP;
    }
    if interest.is_writable() {
        flags |= libc::EPOLLOUT;
    }
    if interest.is_priority() {
        flags |= libc::EPOLLPRI;
    }
    flags as u32
}

pub(crate) struct Poller {
    epoll: OwnedFd,
    /// The eventfd that unparks a wait.
    wake: File,
    /// Whether waits use `epoll_pwait2` (nanosecond timeouts).
    pwait2: bool,
}

pub(crate) struct Events {
    list: Vec<libc::epoll_event>,
    /// Entries of `list` the last wait filled.
    len: usize,
}

impl Poller {
    /// A poller that waits with `epoll_pwait2` if the kernel has it.
    pub(crate) fn new() -> io::Result<Poller> {
        Poller::with_pwait2(true)
    }

    /// A poller that waits with `epoll_pwait2` only if `pwait2` and the
    /// kernel has it (`false` forces the `epoll_wait` fallback, for tests).
    pub(crate) fn with_pwait2(pwait2: bool) -> io::Result<Poller> {
        // SAFETY: `epoll_create1` takes no pointers; on success it returns
        // a new descriptor that nothing else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(cvt(libc::epoll_create1(libc::EPOLL_CLOEXEC))?) };
        // SAFETY: as above, for `eventfd`.
        let wake = unsafe {
            OwnedFd::from_raw_fd(cvt(libc::eventfd(
                0,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK,
            ))?)
        };
        let mut poller = Poller {
            epoll,
            wake: File::from(wake),
            pwait2: false,
        };
        let flags = (libc::EPOLLIN | libc::EPOLLET) as u32;
        poller.ctl(
            libc::EPOLL_CTL_ADD,
            poller.wake.as_raw_fd(),
            flags,
            WAKE_KEY,
        )?;
        poller.pwait2 = pwait2 && poller.probe_pwait2();
        Ok(poller)
    }

    /// Whether `epoll_pwait2` works here: a kernel before 5.11 says
    /// `ENOSYS`, and some seccomp filters `EPERM`.
    fn probe_pwait2(&self) -> bool {
        let mut events = Events::with_capacity(1);
        self.pwait2(&mut events, Some(Duration::ZERO)) >= 0
    }

    /// Registers `fd` for `interest` under `key`; `EEXIST` if it is
    /// registered already (see [`take_over`](Self::take_over)).
    ///
    /// # Safety
    /// None for epoll, which holds no reference to `fd`; `unsafe` for the
    /// seam's contract (other backends need the delete).
    pub(crate) unsafe fn add(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
    ) -> io::Result<()> {
        #[cfg(all(feature = "fault-injection", not(loom)))]
        crate::fault::fail_register()?;
        self.ctl(
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            source_flags(interest),
            key as u64,
        )
    }

    /// Moves the registration `fd` already has to `key`. A descriptor
    /// closed without [`delete`](Self::delete) leaves its registration
    /// behind if another descriptor shares its file (a `dup`); should its
    /// number come back for that same file, the add meets it (`EEXIST`).
    pub(crate) fn take_over(
        &self,
        fd: BorrowedFd<'_>,
        key: usize,
        interest: Interest,
    ) -> io::Result<()> {
        self.ctl(
            libc::EPOLL_CTL_MOD,
            fd.as_raw_fd(),
            source_flags(interest),
            key as u64,
        )
    }

    /// Yes: closing a descriptor removes it from the interest list, unless
    /// another descriptor shares its file, in which case its events come
    /// with a key the driver no longer knows and are dropped.
    pub(crate) fn close_deletes(&self) -> bool {
        true
    }

    /// Never: sources stay armed (edge-triggered).
    pub(crate) fn needs_rearm(&self) -> bool {
        false
    }

    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd.as_raw_fd(), 0, 0)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, flags: u32, key: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: flags,
            u64: key,
        };
        // SAFETY: `event` is valid for the call (the kernel copies it, and
        // ignores it for `EPOLL_CTL_DEL`); a stale or foreign `fd` is an
        // error (`EBADF`, `ENOENT`), not undefined behaviour.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Waits for events or an unpark for at most `timeout` (`None`: no
    /// limit).
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.len = 0;
        match self.wait_call(events, timeout) {
            Ok(n) => {
                events.len = n;
                Ok(())
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// The wait's system call: how many entries of `events.list` it
    /// filled, or the error `errno` names.
    fn wait_call(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        #[cfg(all(feature = "fault-injection", not(loom)))]
        crate::fault::fail(crate::fault::Fault::WaitInterrupted)?;
        let n = if self.pwait2 {
            self.pwait2(events, timeout)
        } else {
            // SAFETY: `list` is valid for writes of `list.len()` entries,
            // and the kernel writes at most that many.
            unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.list.as_mut_ptr(),
                    capacity(&events.list),
                    millis_rounded_up(timeout),
                )
            }
        };
        Ok(cvt(n)? as usize)
    }

    /// `epoll_pwait2` into `events.list`; its raw result.
    fn pwait2(&self, events: &mut Events, timeout: Option<Duration>) -> libc::c_int {
        let timeout = timeout.map(KernelTimespec::from);
        let timeout_ptr = timeout
            .as_ref()
            .map_or(ptr::null(), |t| t as *const KernelTimespec);
        // SAFETY: the kernel writes at most `list.len()` entries of `list`;
        // `timeout_ptr` is null or points at `timeout`, alive for the call;
        // a null signal mask leaves the mask alone (its size is ignored).
        let n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                self.epoll.as_raw_fd(),
                events.list.as_mut_ptr(),
                capacity(&events.list),
                timeout_ptr,
                ptr::null::<libc::sigset_t>(),
                0usize,
            )
        };
        n as libc::c_int
    }

    /// Makes the wait in progress (or the next one) return.
    pub(crate) fn notify(&self) -> io::Result<()> {
        loop {
            match (&self.wake).write(&1u64.to_ne_bytes()) {
                Ok(_) => return Ok(()),
                // The counter is full: drain it, then write again.
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    let mut count = [0; 8];
                    match (&self.wake).read(&mut count) {
                        Ok(_) => {}
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                        Err(err) => return Err(err),
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Whether events wait in the epoll ready list (see
    /// [`readable_now`](super::readable_now)).
    pub(crate) fn has_pending_events(&self) -> bool {
        super::readable_now(self.epoll.as_fd())
    }

    /// Whether waits use `epoll_pwait2`.
    #[cfg(test)]
    pub(crate) fn uses_pwait2(&self) -> bool {
        self.pwait2
    }
}

impl Events {
    pub(crate) fn new() -> Events {
        Events::with_capacity(EVENTS_CAPACITY)
    }

    fn with_capacity(capacity: usize) -> Events {
        Events {
            list: vec![libc::epoll_event { events: 0, u64: 0 }; capacity],
            len: 0,
        }
    }

    /// `(key, ready bits)` of each source's event; unparks are left out.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.list[..self.len].iter().filter_map(|event| {
            // Copies: `epoll_event` is packed on x86-64.
            let (key, flags) = (event.u64, event.events);
            (key != WAKE_KEY).then(|| (key as usize, ready(flags)))
        })
    }
}

/// The ready bits of an event's epoll flags.
fn ready(flags: u32) -> usize {
    let has = |flag: libc::c_int| flags & flag as u32 != 0;
    let mut ready = 0;
    if has(libc::EPOLLIN) {
        ready |= READABLE;
    }
    if has(libc::EPOLLOUT) {
        ready |= WRITABLE;
    }
    // Hang-up: both directions are closed, whichever bits came with it.
    if has(libc::EPOLLRDHUP) || has(libc::EPOLLHUP) {
        ready |= READ_CLOSED;
    }
    if has(libc::EPOLLHUP) {
        ready |= WRITE_CLOSED;
    }
    if has(libc::EPOLLERR) {
        ready |= ERROR;
    }
    if has(libc::EPOLLPRI) {
        ready |= PRIORITY;
    }
    ready
}

fn capacity(list: &[libc::epoll_event]) -> libc::c_int {
    libc::c_int::try_from(list.len()).unwrap_or(libc::c_int::MAX)
}

/// The kernel's `struct __kernel_timespec`, which `epoll_pwait2` takes on
/// every architecture: 64-bit fields even where libc's `timespec` has
/// 32-bit ones.
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

impl From<Duration> for KernelTimespec {
    fn from(timeout: Duration) -> KernelTimespec {
        KernelTimespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: timeout.subsec_nanos().into(),
        }
    }
}

/// `epoll_wait`'s timeout: whole milliseconds, rounded up (`-1`: no limit).
fn millis_rounded_up(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(timeout) => {
            let millis = timeout.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(millis).unwrap_or(libc::c_int::MAX)
        }
    }
}

/// A system call's result, or the error `errno` names.
fn cvt(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    use super::*;

    const SOCKET: Interest = Interest::READABLE.add(Interest::WRITABLE);

    fn poller(pwait2: bool) -> Poller {
        Poller::with_pwait2(pwait2).unwrap()
    }

    /// The ready bits of `key`'s events in one wait of at most `timeout`.
    fn wait_for(poller: &Poller, key: usize, timeout: Duration) -> usize {
        let mut events = Events::new();
        poller.wait(&mut events, Some(timeout)).unwrap();
        events
            .iter()
            .filter(|&(k, _)| k == key)
            .fold(0, |ready, (_, bits)| ready | bits)
    }

    #[test]
    fn this_kernel_has_epoll_pwait2_and_the_fallback_can_be_forced() {
        // The CI machine runs a kernel newer than 5.11.
        assert!(poller(true).uses_pwait2());
        assert!(!poller(false).uses_pwait2());
    }

    #[test]
    fn data_and_a_half_close_arrive_as_one_event_on_both_wait_calls() {
        for pwait2 in [true, false] {
            let poller = poller(pwait2);
            let (a, b) = UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            // SAFETY: `a` outlives the poller's use of it (deleted below).
            unsafe { poller.add(a.as_fd(), 7, SOCKET).unwrap() };
            // Writable at once: the first edge.
            assert_ne!(wait_for(&poller, 7, Duration::ZERO) & WRITABLE, 0);
            (&b).write_all(b"bye").unwrap();
            b.shutdown(std::net::Shutdown::Write).unwrap();
            let ready = wait_for(&poller, 7, Duration::from_secs(5));
            assert_eq!(ready & (READABLE | READ_CLOSED), READABLE | READ_CLOSED);
            // Edge-triggered: nothing new, nothing reported.
            assert_eq!(wait_for(&poller, 7, Duration::ZERO), 0);
            poller.delete(a.as_fd()).unwrap();
        }
    }

    #[test]
    fn pending_events_are_seen_without_being_taken() {
        let poller = poller(true);
        assert!(!poller.has_pending_events(), "a new poller has none");
        let (a, b) = UnixStream::pair().unwrap();
        // SAFETY: `a` is deleted before it closes.
        unsafe { poller.add(a.as_fd(), 3, SOCKET).unwrap() };
        wait_for(&poller, 3, Duration::ZERO);
        assert!(!poller.has_pending_events(), "the writable edge was taken");
        (&b).write_all(b"x").unwrap();
        assert!(poller.has_pending_events());
        // Looking took nothing: the wait still gets the event.
        assert!(poller.has_pending_events());
        assert_ne!(wait_for(&poller, 3, Duration::ZERO) & READABLE, 0);
        assert!(!poller.has_pending_events());
        // An unpark waits for the next wait too.
        poller.notify().unwrap();
        assert!(poller.has_pending_events());
        poller.delete(a.as_fd()).unwrap();
    }

    #[test]
    fn a_hang_up_closes_both_directions() {
        let poller = poller(true);
        let (a, b) = UnixStream::pair().unwrap();
        // SAFETY: `a` is deleted before it closes.
        unsafe { poller.add(a.as_fd(), 1, SOCKET).unwrap() };
        wait_for(&poller, 1, Duration::ZERO);
        drop(b);
        let ready = wait_for(&poller, 1, Duration::from_secs(5));
        assert_eq!(
            ready & (READ_CLOSED | WRITE_CLOSED),
            READ_CLOSED | WRITE_CLOSED
        );
        poller.delete(a.as_fd()).unwrap();
    }

    #[test]
    fn notify_ends_a_wait_and_is_not_reported_as_an_event() {
        for pwait2 in [true, false] {
            let poller = poller(pwait2);
            poller.notify().unwrap();
            let mut events = Events::new();
            let start = Instant::now();
            poller
                .wait(&mut events, Some(Duration::from_secs(10)))
                .unwrap();
            assert!(start.elapsed() < Duration::from_secs(5));
            assert_eq!(events.iter().count(), 0);
            // Consumed: the next wait times out.
            poller
                .wait(&mut events, Some(Duration::from_millis(1)))
                .unwrap();
            assert_eq!(events.len, 0);
        }
    }

    #[test]
    fn a_full_wake_counter_is_drained_and_the_write_lands() {
        let poller = poller(true);
        // Fill the counter to its maximum, 2^64 - 2.
        (&poller.wake)
            .write_all(&(u64::MAX - 1).to_ne_bytes())
            .unwrap();
        poller.notify().unwrap();
        let mut count = [0; 8];
        (&poller.wake).read_exact(&mut count).unwrap();
        assert_eq!(u64::from_ne_bytes(count), 1);
    }

    #[test]
    fn a_sub_millisecond_timeout_is_kept_by_pwait2_and_rounded_up_without_it() {
        // Not a timing assertion on the runtime: a check that each call
        // waits at least what it was asked (rounded up, never down).
        for pwait2 in [true, false] {
            let poller = poller(pwait2);
            let mut events = Events::new();
            let start = Instant::now();
            poller
                .wait(&mut events, Some(Duration::from_micros(250)))
                .unwrap();
            let waited = start.elapsed();
            let floor = if pwait2 { 250 } else { 1000 };
            assert!(waited >= Duration::from_micros(floor), "{waited:?}");
        }
        assert_eq!(millis_rounded_up(Some(Duration::from_micros(1))), 1);
        assert_eq!(millis_rounded_up(Some(Duration::from_micros(1001))), 2);
        assert_eq!(millis_rounded_up(Some(Duration::ZERO)), 0);
        assert_eq!(millis_rounded_up(None), -1);
        assert_eq!(millis_rounded_up(Some(Duration::MAX)), libc::c_int::MAX);
        assert_eq!(KernelTimespec::from(Duration::MAX).tv_sec, i64::MAX);
    }

    #[test]
    fn a_registration_left_behind_by_a_dup_can_be_taken_over() {
        let poller = poller(true);
        let (pair, b) = UnixStream::pair().unwrap();
        let a = crate::poll_evented::tests::dup_onto(&pair, 901);
        // SAFETY: epoll holds no reference to the descriptor.
        unsafe { poller.add(a.as_fd(), 1, SOCKET).unwrap() };
        drop(a); // closed without a delete: `pair` keeps the file open
        let again = crate::poll_evented::tests::dup_onto(&pair, 901);
        // SAFETY: as above.
        let err = unsafe { poller.add(again.as_fd(), 2, SOCKET).unwrap_err() };
        assert_eq!(err.raw_os_error(), Some(libc::EEXIST));
        poller.take_over(again.as_fd(), 2, SOCKET).unwrap();
        wait_for(&poller, 2, Duration::ZERO);
        (&b).write_all(b"x").unwrap();
        let mut events = Events::new();
        poller
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let keys: Vec<usize> = events.iter().map(|(key, _)| key).collect();
        assert_eq!(keys, [2]);
    }

    #[test]
    fn deleting_a_descriptor_never_added_is_an_error_not_a_crash() {
        let poller = poller(true);
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(poller.delete(a.as_fd()).is_err());
    }
}
