//! `Interest` (what a task waits for) and `Ready` (what the reactor saw),
//! re-exported as `weft::io::{Interest, Ready}` with tokio's names and
//! shapes.
//!
//! Both are bit sets over the reactor's own readiness bits
//! (`scheduled_io.rs`), so turning one into the other is a mask, never a
//! table: an interest's [`Interest::mask`] is the set of ready bits that
//! satisfy it. Reading interest also wakes on `ERROR` and `READ_CLOSED`,
//! writing interest on `ERROR` and `WRITE_CLOSED`: the next operation then
//! reports the error or the end, as the stream operations expect.

use std::fmt;
use std::ops;

use crate::scheduled_io::{ERROR, PRIORITY, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};

/// The readiness a task waits for on a source: any mix of
/// [`READABLE`](Self::READABLE), [`WRITABLE`](Self::WRITABLE),
/// [`ERROR`](Self::ERROR) and, on Linux and Android,
/// [`PRIORITY`](Self::PRIORITY). Combine them with `|` or
/// [`add`](Self::add).
///
/// ```
/// use weft_reactor::io::Interest;
///
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert_eq!(both.remove(Interest::WRITABLE), Some(Interest::READABLE));
/// assert_eq!(Interest::READABLE.remove(Interest::READABLE), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(usize);

impl Interest {
    /// Interest in reading (and in the peer closing its side).
    pub const READABLE: Interest = Interest(READABLE);

    /// Interest in writing.
    pub const WRITABLE: Interest = Interest(WRITABLE);

    /// Interest in error readiness only (a socket's error queue, say): the
    /// poller reports errors whatever a source registered for.
    pub const ERROR: Interest = Interest(ERROR);

    /// Interest in priority events (`EPOLLPRI`: TCP out-of-band data, a
    /// pseudo-terminal's state change).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const PRIORITY: Interest = Interest(PRIORITY);

    /// Whether this includes reading.
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// Whether this includes writing.
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// Whether this includes errors.
    pub const fn is_error(self) -> bool {
        self.0 & ERROR != 0
    }

    /// Whether this includes priority events.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const fn is_priority(self) -> bool {
        self.0 & PRIORITY != 0
    }

    /// This interest and `other` together (`self | other`, usable in
    /// constants).
    #[must_use = "this returns the result of the operation, without modifying the original"]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// This interest without `other`; `None` if nothing is left (an
    /// interest is never empty).
    #[must_use = "this returns the result of the operation, without modifying the original"]
    pub fn remove(self, other: Interest) -> Option<Interest> {
        let left = self.0 & !other.0;
        (left != 0).then_some(Interest(left))
    }

    /// The ready bits that satisfy this interest.
    pub(crate) const fn mask(self) -> usize {
        let mut mask = self.0 & ERROR;
        if self.0 & READABLE != 0 {
            mask |= READABLE | READ_CLOSED | ERROR;
        }
        if self.0 & WRITABLE != 0 {
            mask |= WRITABLE | WRITE_CLOSED | ERROR;
        }
        if self.0 & PRIORITY != 0 {
            mask |= PRIORITY | READ_CLOSED;
        }
        mask
    }
}

impl ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (PRIORITY, "PRIORITY"),
            (ERROR, "ERROR"),
        ];
        let mut first = true;
        for (bit, name) in names {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// The readiness the reactor reported for a source: what a wait
/// ([`TcpStream::ready`](crate::net::TcpStream::ready),
/// `AsyncFd::ready`, ...) returns. It may be a false positive: the
/// operation it promises can still report `WouldBlock`.
///
/// ```
/// use weft_reactor::io::Ready;
///
/// let ready = Ready::READABLE | Ready::READ_CLOSED;
/// assert!(ready.is_readable() && ready.is_read_closed());
/// assert!(!ready.is_writable());
/// assert_eq!(ready - Ready::READ_CLOSED, Ready::READABLE);
/// assert!(Ready::EMPTY.is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ready(usize);

impl Ready {
    /// Nothing is ready.
    pub const EMPTY: Ready = Ready(0);

    /// Readable.
    pub const READABLE: Ready = Ready(READABLE);

    /// Writable.
    pub const WRITABLE: Ready = Ready(WRITABLE);

    /// The read side is closed (the peer shut its write side down, or hung
    /// up): reads end at EOF.
    pub const READ_CLOSED: Ready = Ready(READ_CLOSED);

    /// The write side is closed: writes fail.
    pub const WRITE_CLOSED: Ready = Ready(WRITE_CLOSED);

    /// A priority event (`EPOLLPRI`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const PRIORITY: Ready = Ready(PRIORITY);

    /// An error is pending on the source.
    pub const ERROR: Ready = Ready(ERROR);

    /// Every kind of readiness.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const ALL: Ready =
        Ready(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | ERROR | PRIORITY);

    /// Every kind of readiness.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub const ALL: Ready = Ready(READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | ERROR);

    /// The ready bits the reactor keeps, as a `Ready`.
    pub(crate) const fn from_bits(bits: usize) -> Ready {
        Ready(bits & Ready::ALL.0)
    }

    /// The reactor's bits.
    pub(crate) const fn bits(self) -> usize {
        self.0
    }

    /// Whether nothing is ready.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether it is readable.
    pub fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// Whether it is writable.
    pub fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// Whether the read side is closed.
    pub fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }

    /// Whether the write side is closed.
    pub fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }

    /// Whether a priority event came.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn is_priority(self) -> bool {
        self.0 & PRIORITY != 0
    }

    /// Whether an error is pending.
    pub fn is_error(self) -> bool {
        self.0 & ERROR != 0
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;

    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, other: Ready) {
        self.0 |= other.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;

    fn bitand(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;

    fn sub(self, other: Ready) -> Ready {
        Ready(self.0 & !other.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Ready");
        s.field("is_readable", &self.is_readable())
            .field("is_writable", &self.is_writable())
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .field("is_error", &self.is_error());
        #[cfg(any(target_os = "linux", target_os = "android"))]
        s.field("is_priority", &self.is_priority());
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interest_is_satisfied_by_its_direction_its_end_and_errors() {
        let read = Interest::READABLE.mask();
        assert_eq!(read, READABLE | READ_CLOSED | ERROR);
        let write = Interest::WRITABLE.mask();
        assert_eq!(write, WRITABLE | WRITE_CLOSED | ERROR);
        assert_eq!(Interest::ERROR.mask(), ERROR);
        assert_eq!(
            (Interest::READABLE | Interest::WRITABLE).mask(),
            read | write
        );
    }

    #[test]
    fn debug_names_the_parts() {
        assert_eq!(
            format!("{:?}", Interest::READABLE | Interest::ERROR),
            "READABLE | ERROR"
        );
        let ready = format!("{:?}", Ready::WRITABLE);
        assert!(ready.contains("is_writable: true"), "{ready}");
        assert!(ready.contains("is_readable: false"), "{ready}");
    }

    #[test]
    fn ready_set_operations() {
        let mut ready = Ready::READABLE;
        ready |= Ready::ERROR;
        assert_eq!(ready & Ready::ERROR, Ready::ERROR);
        assert_eq!(ready - Ready::ALL, Ready::EMPTY);
        assert_eq!(Ready::from_bits(usize::MAX), Ready::ALL);
    }
}
