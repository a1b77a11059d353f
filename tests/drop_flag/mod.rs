//! A guard that records being dropped, for tests that check `join!`,
//! `select!` and friends drop what they should, when they should.

use std::cell::Cell;
use std::rc::Rc;

/// Sets its flag when dropped.
pub struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A guard and the flag it sets when dropped.
pub fn drop_flag() -> (DropFlag, Rc<Cell<bool>>) {
    let flag = Rc::new(Cell::new(false));
    (DropFlag(flag.clone()), flag)
}
