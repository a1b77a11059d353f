//! Unit tests of the wheel (small enough for miri) and a property test against a `BTreeMap`
//! model.

use super::*;

/// Fires everything due at `now`, returning the payloads sorted, after checking invariants.
fn fire(wheel: &mut Wheel<u64>, now: u64) -> Vec<u64> {
    let mut fired = Vec::new();
    wheel.advance(now, &mut |v| fired.push(v));
    wheel.check_invariants();
    fired.sort_unstable();
    fired
}

/// Every level boundary, plus the overflow boundary and the extremes.
fn boundaries() -> Vec<u64> {
    let mut v = vec![1, 2];
    for k in 1..=LEVELS as u32 {
        let b = 1u64 << (6 * k);
        v.extend([b - 1, b, b + 1]);
    }
    v.extend([1 << 40, 1 << 63, u64::MAX - 1, u64::MAX]);
    v
}

#[test]
fn boundaries_fire_exactly_at_deadline() {
    // Miri is slow: one base there.
    let bases: &[u64] = if cfg!(miri) {
        &[12_345]
    } else {
        &[0, 12_345, SPAN_TICKS - 7]
    };
    for &base in bases {
        for off in boundaries() {
            let deadline = base.saturating_add(off);
            let mut w = Wheel::new();
            w.advance(base, &mut |_: u64| {});
            let k = w.insert(deadline, deadline);
            w.check_invariants();
            if deadline == NEVER {
                assert_eq!(w.next_deadline(), None);
                assert_eq!(w.next_expiration(), None);
                assert!(fire(&mut w, u64::MAX).is_empty());
                assert_eq!(w.len(), 1);
                assert_eq!(w.cancel(k), Some(NEVER));
                continue;
            }
            assert_eq!(w.next_deadline(), Some(deadline), "base {base} off {off}");
            let exp = w.next_expiration().unwrap();
            assert!(exp > base && exp <= deadline);
            assert!(fire(&mut w, deadline - 1).is_empty(), "early: {deadline}");
            assert_eq!(w.elapsed(), deadline - 1);
            assert_eq!(w.next_deadline(), Some(deadline));
            assert_eq!(fire(&mut w, deadline), vec![deadline]);
            assert!(w.is_empty());
            assert_eq!(w.cancel(k), None);
        }
    }
}

#[test]
fn driving_by_next_expiration_fires_each_timer_at_its_deadline() {
    let mut w = Wheel::new();
    let mut deadlines: Vec<u64> = boundaries()
        .into_iter()
        .chain([5, 5, 70, 70, 4100, 300_000, 1 << 37, (1 << 37) + 3])
        .collect();
    for &d in &deadlines {
        w.insert(d, d);
    }
    deadlines.retain(|&d| d != NEVER);
    deadlines.sort_unstable();
    let mut fired = Vec::new();
    let mut wakeups = 0;
    while let Some(t) = w.next_expiration() {
        assert!(t > w.elapsed());
        assert!(t <= w.next_deadline().unwrap());
        wakeups += 1;
        w.advance(t, &mut |d| {
            assert_eq!(d, t, "fired at the wrong time");
            fired.push(d);
        });
        w.check_invariants();
    }
    assert_eq!(fired, deadlines);
    // At most one wake-up per level per timer on top of the firing one.
    assert!(wakeups <= deadlines.len() * (LEVELS + 2));
    assert_eq!(w.len(), 1); // the NEVER timer
}

#[test]
fn cascading_through_every_level() {
    let mut w = Wheel::new();
    // One timer per level, each due 1 ms after a level boundary, so that each cascades.
    let deadlines: Vec<u64> = (0..LEVELS as u32)
        .map(|k| (1u64 << (6 * k)) * 3 + 1)
        .collect();
    for &d in &deadlines {
        w.insert(d, d);
    }
    for &d in &deadlines {
        assert_eq!(w.next_deadline(), Some(d));
        assert!(fire(&mut w, d - 1).is_empty());
        assert_eq!(fire(&mut w, d), vec![d]);
    }
    assert!(w.is_empty());
}

#[test]
fn big_jump_fires_everything_in_one_advance() {
    let mut w = Wheel::new();
    let ds = [
        3,
        64,
        4096,
        1 << 20,
        1 << 35,
        1 << 36,
        1 << 50,
        u64::MAX - 1,
    ];
    for d in ds {
        w.insert(d, d);
    }
    w.insert(NEVER, NEVER);
    assert_eq!(
        fire(&mut w, 1 << 36),
        vec![3, 64, 4096, 1 << 20, 1 << 35, 1 << 36]
    );
    assert_eq!(fire(&mut w, u64::MAX), vec![1 << 50, u64::MAX - 1]);
    assert_eq!(w.elapsed(), u64::MAX);
    assert_eq!(w.len(), 1);
    // At the end of time, NEVER still does not fire, and a past deadline is due.
    w.insert(5, 5);
    assert_eq!(w.next_deadline(), Some(5));
    assert_eq!(fire(&mut w, u64::MAX), vec![5]);
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn cancel_in_every_list() {
    let mut w = Wheel::new();
    w.advance(1000, &mut |_: u64| {});
    let offsets = [
        0,
        1,
        63,
        64,
        4095,
        4096,
        1 << 18,
        1 << 24,
        1 << 30,
        1 << 35,
        1 << 40,
    ];
    let mut keys: Vec<_> = offsets
        .iter()
        .map(|&o| (w.insert(1000 + o, o), o))
        .collect();
    keys.push((w.insert(3, 3), 3)); // past: due list
    keys.push((w.insert(NEVER, NEVER), NEVER));
    w.check_invariants();
    let n = keys.len();
    for (i, (k, v)) in keys.into_iter().enumerate() {
        assert_eq!(w.cancel(k), Some(v));
        assert_eq!(w.cancel(k), None);
        assert!(!w.reset(k, 5));
        assert_eq!(w.len(), n - i - 1);
        w.check_invariants();
    }
    assert_eq!(w.next_deadline(), None);
    assert!(fire(&mut w, u64::MAX).is_empty());
}

#[test]
fn reset_same_slot_later_earlier_never() {
    let mut w = Wheel::new();
    let a = w.insert(100, 1);
    let b = w.insert(101, 2); // same level-1 slot as `a`
    assert!(w.reset(a, 102)); // same slot
    w.check_invariants();
    assert_eq!(w.deadline(a), Some(102));
    assert_eq!(w.next_deadline(), Some(101));
    assert!(w.reset(b, 5000)); // later, another level
    assert_eq!(w.next_deadline(), Some(102));
    assert!(w.reset(a, 102)); // unchanged
    assert!(w.reset(b, NEVER));
    assert_eq!(w.next_deadline(), Some(102));
    assert_eq!(fire(&mut w, 50), Vec::<u64>::new());
    assert!(w.reset(a, 10)); // earlier, into the past: due now
    assert_eq!(w.next_deadline(), Some(10));
    assert_eq!(w.next_expiration(), Some(50));
    assert_eq!(fire(&mut w, 50), vec![1]);
    assert!(!w.reset(a, 60)); // fired: stale
    assert!(w.reset(b, 1 << 40)); // from never to overflow
    assert_eq!(w.next_deadline(), Some(1 << 40));
    assert!(w.reset(b, 51)); // overflow to level 0
    assert_eq!(fire(&mut w, 51), vec![2]);
    assert!(w.is_empty());
}

#[test]
fn stale_keys_never_touch_the_new_occupant() {
    let mut w = Wheel::new();
    let a = w.insert(10, 1);
    assert_eq!(w.cancel(a), Some(1));
    let b = w.insert(20, 2);
    assert_eq!(a.index, b.index, "slot reused");
    assert_ne!(a, b);
    assert_eq!(w.cancel(a), None);
    assert!(!w.reset(a, 1));
    assert_eq!(w.get(a), None);
    assert_eq!(w.get_mut(a), None);
    assert_eq!(w.deadline(a), None);
    assert_eq!(w.get(b), Some(&2));
    *w.get_mut(b).unwrap() = 3;
    // `b` fires, then its slot is reused by `c`; `b` is stale too.
    let (kb, vb) = {
        w.advance(19, &mut |_| panic!("early"));
        w.poll(20).unwrap()
    };
    assert_eq!((kb, vb), (b, 3));
    assert_eq!(w.poll(20), None);
    let c = w.insert(30, 4);
    assert_eq!(c.index, b.index);
    for stale in [a, b] {
        assert_eq!(w.cancel(stale), None);
        assert!(!w.reset(stale, 21));
    }
    assert_eq!(w.next_deadline(), Some(30));
    assert_eq!(fire(&mut w, 30), vec![4]);
}

#[test]
fn next_deadline_is_exact_in_higher_levels() {
    let mut w = Wheel::new();
    let k1 = w.insert(4500, 0);
    let _k2 = w.insert(4200, 0);
    let k3 = w.insert(4150, 0);
    w.insert(9000, 0);
    // 4096..8191 differ from 0 first in digit 2: level 2, slot 1 (9000 is in slot 2).
    assert_eq!(w.next_deadline(), Some(4150));
    assert_eq!(w.next_expiration(), Some(4096));
    w.cancel(k3);
    assert_eq!(w.next_deadline(), Some(4200));
    w.reset(k1, 4100);
    assert_eq!(w.next_deadline(), Some(4100));
    fire(&mut w, 4096);
    // Cascaded into level 0 / 1: now exact and cheap.
    assert_eq!(w.next_expiration(), Some(4100));
    assert_eq!(w.next_deadline(), Some(4100));
    // Overflow only.
    let mut w = Wheel::new();
    w.insert(NEVER, 0);
    w.insert(1 << 41, 0);
    let k = w.insert((1 << 40) + 5, 0);
    assert_eq!(w.next_deadline(), Some((1 << 40) + 5));
    assert_eq!(w.next_expiration(), Some(1 << 40));
    w.cancel(k);
    // The overflow lower bound is stale but still a valid lower bound.
    assert_eq!(w.next_deadline(), Some(1 << 41));
    assert!(w.next_expiration().unwrap() <= 1 << 41);
    assert!(fire(&mut w, (1 << 41) - 1).is_empty());
    assert_eq!(fire(&mut w, 1 << 41), vec![0]);
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn time_never_goes_backwards() {
    let mut w = Wheel::new();
    w.advance(100, &mut |_: u64| {});
    let k = w.insert(50, 1);
    w.insert(150, 2);
    assert_eq!(w.next_deadline(), Some(50));
    assert_eq!(w.next_expiration(), Some(100));
    // An earlier `now` does not move the clock; the already-due timer fires.
    assert_eq!(fire(&mut w, 10), vec![1]);
    assert_eq!(w.elapsed(), 100);
    assert_eq!(w.cancel(k), None);
    assert!(fire(&mut w, 149).is_empty());
    assert_eq!(fire(&mut w, 150), vec![2]);
}

#[test]
fn insert_while_polling() {
    let mut w = Wheel::new();
    w.insert(10, 1);
    w.insert(20, 2);
    assert_eq!(w.poll(30).map(|(_, v)| v), Some(1));
    // The clock is mid-way (at 10): a timer inserted for 15 still fires in this loop.
    w.insert(15, 3);
    w.insert(31, 4);
    assert_eq!(w.poll(30).map(|(_, v)| v), Some(3));
    assert_eq!(w.poll(30).map(|(_, v)| v), Some(2));
    assert_eq!(w.poll(30), None);
    assert_eq!(w.elapsed(), 30);
    assert_eq!(w.next_deadline(), Some(31));
}

mod prop {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap};

    /// Distances of various scales, around each level boundary.
    fn scale() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            Just(1u64),
            Just(63u64),
            Just(64u64),
            Just(65u64),
            0..64u64,
            0..4096u64,
            Just(4095u64),
            Just(4096u64),
            0..(1u64 << 20),
            Just(1u64 << 20),
            0..(1u64 << 36),
            Just(SPAN_TICKS - 1),
            Just(SPAN_TICKS),
            Just(SPAN_TICKS + 1),
            0..(1u64 << 44),
            any::<u64>(),
            Just(u64::MAX),
        ]
    }

    #[derive(Clone, Debug)]
    enum When {
        After(u64),
        Before(u64),
        Never,
    }

    fn when() -> impl Strategy<Value = When> {
        prop_oneof![
            6 => scale().prop_map(When::After),
            1 => scale().prop_map(When::Before),
            1 => Just(When::Never),
        ]
    }

    impl When {
        fn at(&self, now: u64) -> u64 {
            match *self {
                When::After(d) => now.saturating_add(d),
                When::Before(d) => now.saturating_sub(d),
                When::Never => NEVER,
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(When),
        /// Cancel the n-th key ever issued (modulo): live or stale.
        Cancel(usize),
        Reset(usize, When),
        Advance(When),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => when().prop_map(Op::Insert),
            1 => any::<usize>().prop_map(Op::Cancel),
            2 => (any::<usize>(), when()).prop_map(|(i, w)| Op::Reset(i, w)),
            3 => when().prop_map(Op::Advance),
        ]
    }

    struct Model {
        now: u64,
        by_deadline: BTreeMap<(u64, u64), TimerKey>,
        by_key: HashMap<TimerKey, (u64, u64)>,
    }

    impl Model {
        fn earliest(&self) -> Option<u64> {
            self.by_deadline
                .keys()
                .map(|&(d, _)| d)
                .find(|&d| d != NEVER)
        }
    }

    fn check(wheel: &Wheel<u64>, model: &Model) {
        wheel.check_invariants();
        assert_eq!(wheel.len(), model.by_key.len());
        assert_eq!(wheel.elapsed(), model.now);
        let next = wheel.next_deadline();
        assert_eq!(next, model.earliest());
        match (wheel.next_expiration(), next) {
            (None, None) => {}
            (Some(e), Some(n)) => {
                assert!(e <= n.max(model.now), "expiration {e} after deadline {n}");
                assert!(e >= model.now);
            }
            other => panic!("next_expiration / next_deadline disagree: {other:?}"),
        }
    }

    fn run(ops: Vec<Op>) {
        let mut wheel = Wheel::new();
        let mut model = Model {
            now: 0,
            by_deadline: BTreeMap::new(),
            by_key: HashMap::new(),
        };
        let mut keys: Vec<TimerKey> = Vec::new();
        let mut seq = 0u64;
        for op in ops {
            match op {
                Op::Insert(when) => {
                    let d = when.at(model.now);
                    seq += 1;
                    let key = wheel.insert(d, seq);
                    assert!(model.by_key.insert(key, (d, seq)).is_none(), "key reused");
                    model.by_deadline.insert((d, seq), key);
                    keys.push(key);
                }
                Op::Cancel(i) if !keys.is_empty() => {
                    let key = keys[i % keys.len()];
                    let expected = model.by_key.remove(&key).map(|(d, s)| {
                        model.by_deadline.remove(&(d, s));
                        s
                    });
                    assert_eq!(wheel.cancel(key), expected);
                }
                Op::Reset(i, when) if !keys.is_empty() => {
                    let key = keys[i % keys.len()];
                    let d = when.at(model.now);
                    let live = match model.by_key.get_mut(&key) {
                        Some(entry) => {
                            model.by_deadline.remove(&*entry);
                            entry.0 = d;
                            model.by_deadline.insert(*entry, key);
                            true
                        }
                        None => false,
                    };
                    assert_eq!(wheel.reset(key, d), live);
                    if live {
                        assert_eq!(wheel.deadline(key), Some(d));
                    }
                }
                Op::Advance(when) => {
                    let now = when.at(model.now).max(model.now);
                    model.now = now;
                    let mut fired = Vec::new();
                    while let Some((key, s)) = wheel.poll(now) {
                        let (d, s2) = model.by_key.remove(&key).expect("fired a dead key");
                        assert_eq!(s, s2, "key / payload mismatch");
                        assert!(d <= now && d != NEVER, "fired early: {d} > {now}");
                        model.by_deadline.remove(&(d, s));
                        fired.push(s);
                    }
                    // Nothing due is left behind.
                    let due = model
                        .by_deadline
                        .range(..(now.saturating_add(1), 0))
                        .filter(|((d, _), _)| *d != NEVER && *d <= now)
                        .count();
                    assert_eq!(due, 0, "{due} due timers did not fire at {now}");
                    if let Some(n) = wheel.next_deadline() {
                        assert!(n > now);
                    }
                }
                _ => {}
            }
            check(&wheel, &model);
        }
    }

    /// 2000 cases unless `PROPTEST_CASES` says otherwise (mutation testing
    /// runs fewer, per mutant).
    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2000)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        #[cfg_attr(miri, ignore)]
        fn wheel_agrees_with_model(ops in proptest::collection::vec(op(), 1..80)) {
            run(ops);
        }
    }
}

#[test]
fn is_empty_and_into_values_see_every_registered_timer() {
    let mut w = Wheel::new();
    assert!(w.is_empty());
    for (i, deadline) in boundaries().into_iter().enumerate() {
        w.insert(deadline, i as u64);
    }
    assert!(!w.is_empty());
    let n = boundaries().len() as u64;
    let mut values: Vec<u64> = w.into_values().collect();
    values.sort_unstable();
    assert_eq!(values, (0..n).collect::<Vec<_>>());
}
