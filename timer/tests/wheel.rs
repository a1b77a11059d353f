//! The wheel through its public path, as the runtime will use it.

use weft_timer::wheel::{Wheel, NEVER};

#[test]
fn public_api_round_trip() {
    let mut w: Wheel<&str> = Wheel::new();
    let a = w.insert(10, "a");
    let b = w.insert(2000, "b");
    let never = w.insert(NEVER, "never");
    assert_eq!(w.len(), 3);
    assert_eq!(w.next_deadline(), Some(10));
    assert!(w.reset(b, 5));
    let mut fired = Vec::new();
    assert_eq!(w.advance(10, &mut |v| fired.push(v)), 2);
    fired.sort_unstable();
    assert_eq!(fired, ["a", "b"]);
    assert_eq!(w.cancel(a), None);
    assert_eq!(w.next_deadline(), None);
    assert_eq!(w.advance(u64::MAX, &mut |_| panic!("fired")), 0);
    assert_eq!(w.cancel(never), Some("never"));
    assert!(w.is_empty());
}
