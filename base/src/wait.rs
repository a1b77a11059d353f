//! What a task is waiting on, as far as weft can tell.
//!
//! A weft future that returns `Pending` (a timer, a socket, a sync
//! primitive, a `JoinHandle`, a signal) notes what it waits on in the
//! thread's context ([`note`]); when the task's poll ends, the runtime
//! keeps the note in the task for the task dump. A task whose poll noted nothing waits on
//! something weft cannot see (a future from outside weft), and the dump says
//! so.
//!
//! Invariants: a note is one word (kind, a flag, a sub-kind and a 48-bit
//! payload), so a task holds it in one atomic and a reader never sees half
//! of one. The first note of a poll wins (in `timeout(d, lock)` the lock,
//! not the timeout's timer, is what the task is stuck on); later different
//! ones only set the "and more" flag. Addresses and file descriptors fit in
//! 48 bits on every platform weft runs on; larger payloads are truncated,
//! which can only blur a diagnostic.

use std::fmt;

/// What one poll of a task was left waiting on: see the module doc.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct WaitOn(u64);

const KIND_SHIFT: u32 = 56;
const MORE: u64 = 1 << 55;
const SUB_SHIFT: u32 = 48;
const SUB_MASK: u64 = 0x7f;
const PAYLOAD: u64 = (1 << 48) - 1;

/// The kinds of primitive a note can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum SyncKind {
    /// `Mutex::lock`.
    Mutex = 1,
    /// `RwLock::read`.
    RwLockRead,
    /// `RwLock::write`.
    RwLockWrite,
    /// `Semaphore::acquire`.
    Semaphore,
    /// `Notify::notified`.
    Notify,
    /// A bounded `mpsc` sender waiting for room.
    MpscSend,
    /// An `mpsc` receiver waiting for a message.
    MpscRecv,
    /// A `oneshot` receiver.
    OneshotRecv,
    /// A `oneshot` sender waiting for the receiver to close.
    OneshotClosed,
    /// A `broadcast` receiver.
    BroadcastRecv,
    /// A `watch` receiver waiting for a change.
    WatchChanged,
    /// A `Barrier`.
    Barrier,
    /// A `OnceCell` being initialised by another task.
    OnceCell,
}

impl SyncKind {
    const ALL: [SyncKind; 13] = [
        SyncKind::Mutex,
        SyncKind::RwLockRead,
        SyncKind::RwLockWrite,
        SyncKind::Semaphore,
        SyncKind::Notify,
        SyncKind::MpscSend,
        SyncKind::MpscRecv,
        SyncKind::OneshotRecv,
        SyncKind::OneshotClosed,
        SyncKind::BroadcastRecv,
        SyncKind::WatchChanged,
        SyncKind::Barrier,
        SyncKind::OnceCell,
    ];

    /// How a report names it.
    pub fn describe(self) -> &'static str {
        match self {
            SyncKind::Mutex => "Mutex::lock",
            SyncKind::RwLockRead => "RwLock::read",
            SyncKind::RwLockWrite => "RwLock::write",
            SyncKind::Semaphore => "Semaphore::acquire",
            SyncKind::Notify => "Notify::notified",
            SyncKind::MpscSend => "mpsc send (channel full)",
            SyncKind::MpscRecv => "mpsc recv",
            SyncKind::OneshotRecv => "oneshot recv",
            SyncKind::OneshotClosed => "oneshot Sender::closed",
            SyncKind::BroadcastRecv => "broadcast recv",
            SyncKind::WatchChanged => "watch changed",
            SyncKind::Barrier => "Barrier::wait",
            SyncKind::OnceCell => "OnceCell init by another task",
        }
    }

    fn from_u8(n: u8) -> Option<SyncKind> {
        SyncKind::ALL.into_iter().find(|kind| *kind as u8 == n)
    }
}

/// A note, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Nothing weft can see.
    Unknown,
    /// A timer due at `deadline`, in milliseconds of the runtime's timer
    /// clock (the one `weft::time::pause` stops).
    Timer {
        /// Due time, in the timer clock's milliseconds since it started.
        deadline: u64,
    },
    /// An I/O resource becoming readable.
    Readable {
        /// Its file descriptor (a handle's low bits elsewhere).
        fd: u64,
    },
    /// An I/O resource becoming writable.
    Writable {
        /// Its file descriptor.
        fd: u64,
    },
    /// A sync primitive.
    Sync {
        /// Which operation.
        kind: SyncKind,
        /// The primitive's address, to tell two apart and match a holder.
        addr: u64,
    },
    /// The `JoinHandle` of a task.
    Join {
        /// The awaited task's id.
        task: u64,
    },
    /// The `JoinHandle` of a blocking job (`spawn_blocking`).
    BlockingJob {
        /// The job's task id.
        task: u64,
    },
    /// A Unix signal (`signal::unix::Signal::recv`, `ctrl_c`).
    Signal {
        /// The signal's number.
        signum: u64,
    },
}

/// Kind tags; 0 is "nothing noted".
#[repr(u8)]
enum Kind {
    Timer = 1,
    Readable,
    Writable,
    Sync,
    Join,
    Signal,
}

impl WaitOn {
    /// No note.
    pub const NOTHING: WaitOn = WaitOn(0);

    fn new(kind: Kind, sub: u8, payload: u64) -> WaitOn {
        WaitOn(
            (kind as u64) << KIND_SHIFT
                | (u64::from(sub) & SUB_MASK) << SUB_SHIFT
                | (payload & PAYLOAD),
        )
    }

    /// A timer due at `deadline` milliseconds of the timer clock.
    pub fn timer(deadline: u64) -> WaitOn {
        WaitOn::new(Kind::Timer, 0, deadline)
    }

    /// An I/O resource becoming readable.
    pub fn readable(fd: u64) -> WaitOn {
        WaitOn::new(Kind::Readable, 0, fd)
    }

    /// An I/O resource becoming writable.
    pub fn writable(fd: u64) -> WaitOn {
        WaitOn::new(Kind::Writable, 0, fd)
    }

    /// A sync primitive at `addr`.
    pub fn sync<T: ?Sized>(kind: SyncKind, addr: *const T) -> WaitOn {
        WaitOn::new(Kind::Sync, kind as u8, addr.cast::<()>() as usize as u64)
    }

    /// The `JoinHandle` of task `task`.
    pub fn join(task: u64) -> WaitOn {
        WaitOn::new(Kind::Join, 0, task)
    }

    /// The `JoinHandle` of the blocking job (`spawn_blocking`) with task
    /// id `task`.
    pub fn blocking_job(task: u64) -> WaitOn {
        WaitOn::new(Kind::Join, 1, task)
    }

    /// A Unix signal, by number.
    pub fn signal(signum: u64) -> WaitOn {
        WaitOn::new(Kind::Signal, 0, signum)
    }

    /// The note decoded.
    pub fn waiting(self) -> Waiting {
        let payload = self.0 & PAYLOAD;
        let sub = ((self.0 >> SUB_SHIFT) & SUB_MASK) as u8;
        match (self.0 >> KIND_SHIFT) as u8 {
            k if k == Kind::Timer as u8 => Waiting::Timer { deadline: payload },
            k if k == Kind::Readable as u8 => Waiting::Readable { fd: payload },
            k if k == Kind::Writable as u8 => Waiting::Writable { fd: payload },
            k if k == Kind::Sync as u8 => match SyncKind::from_u8(sub) {
                Some(kind) => Waiting::Sync {
                    kind,
                    addr: payload,
                },
                None => Waiting::Unknown,
            },
            k if k == Kind::Join as u8 && sub == 1 => Waiting::BlockingJob { task: payload },
            k if k == Kind::Join as u8 => Waiting::Join { task: payload },
            k if k == Kind::Signal as u8 => Waiting::Signal { signum: payload },
            _ => Waiting::Unknown,
        }
    }

    /// Whether the poll noted more than this one thing.
    pub fn and_more(self) -> bool {
        self.0 & MORE != 0
    }

    /// True for [`NOTHING`](Self::NOTHING).
    pub fn is_nothing(self) -> bool {
        self.0 == 0
    }

    /// The note as one word, for an atomic.
    pub fn to_bits(self) -> u64 {
        self.0
    }

    /// A note from [`to_bits`](Self::to_bits).
    pub fn from_bits(bits: u64) -> WaitOn {
        WaitOn(bits)
    }

    /// `self` with `later` noted after it (see the module doc).
    pub(crate) fn then(self, later: WaitOn) -> WaitOn {
        if self.is_nothing() {
            later
        } else if self.0 & !MORE == later.0 & !MORE {
            self
        } else {
            WaitOn(self.0 | MORE)
        }
    }
}

impl fmt::Debug for WaitOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOn")
            .field("waiting", &self.waiting())
            .field("and_more", &self.and_more())
            .finish()
    }
}

/// Notes, for the task being polled on this thread, that it waits on
/// `what` (nothing happens outside a task).
#[inline]
pub fn note(what: WaitOn) {
    crate::context::note_wait(what);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip_through_a_word() {
        let cases = [
            (WaitOn::timer(1234), Waiting::Timer { deadline: 1234 }),
            (WaitOn::readable(7), Waiting::Readable { fd: 7 }),
            (WaitOn::writable(9), Waiting::Writable { fd: 9 }),
            (WaitOn::join(42), Waiting::Join { task: 42 }),
            (WaitOn::blocking_job(43), Waiting::BlockingJob { task: 43 }),
            (WaitOn::signal(10), Waiting::Signal { signum: 10 }),
            (
                WaitOn::sync(SyncKind::OnceCell, 0x7f00_1234_5678 as *const u8),
                Waiting::Sync {
                    kind: SyncKind::OnceCell,
                    addr: 0x7f00_1234_5678,
                },
            ),
            (WaitOn::NOTHING, Waiting::Unknown),
        ];
        for (note, waiting) in cases {
            assert_eq!(WaitOn::from_bits(note.to_bits()).waiting(), waiting);
            assert!(!note.and_more());
        }
        for kind in SyncKind::ALL {
            let note = WaitOn::sync(kind, 8 as *const u8);
            assert_eq!(note.waiting(), Waiting::Sync { kind, addr: 8 });
        }
    }

    #[test]
    fn the_first_note_wins_and_others_set_the_flag() {
        let lock = WaitOn::sync(SyncKind::Mutex, 64 as *const u8);
        let timer = WaitOn::timer(5);
        let noted = WaitOn::NOTHING.then(lock).then(lock);
        assert_eq!(noted, lock, "the same note twice is one note");
        let noted = noted.then(timer);
        assert!(noted.and_more());
        assert_eq!(noted.waiting(), lock.waiting());
    }
}
