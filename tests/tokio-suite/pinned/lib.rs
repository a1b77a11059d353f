//! Nothing: this package only pins the sources the suite is made from.
